/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-headless.h: the instance that runs a profile with no window. */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define COHORT_TYPE_HEADLESS (cohort_headless_get_type ())

G_DECLARE_FINAL_TYPE (CohortHeadless, cohort_headless, COHORT, HEADLESS, GApplication)

CohortHeadless *cohort_headless_new             (void);
int             cohort_headless_get_exit_status (CohortHeadless *self);

G_END_DECLS
