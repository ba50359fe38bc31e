/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-trust.h: whether a profile's text is the one Cohort last saved
 * at its path on this machine. */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean cohort_trust_check    (const char *path,
                                const char *data,
                                gsize       length);
void     cohort_trust_remember (const char *path,
                                const char *data,
                                gsize       length);

G_END_DECLS
