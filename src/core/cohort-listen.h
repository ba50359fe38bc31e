/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-listen.h: the shared listening socket of a Listen= cluster. */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

GSocketAddress *cohort_listen_parse (const char  *spec,
                                     GError     **error);
int             cohort_listen_open  (const char  *spec,
                                     guint16     *bound_port,
                                     GError     **error);

G_END_DECLS
