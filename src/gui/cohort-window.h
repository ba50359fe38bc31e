/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-window.h: the main window. */

#pragma once

#include <adwaita.h>

#include "cohort-profile.h"
#include "cohort-supervisor.h"

G_BEGIN_DECLS

#define COHORT_TYPE_WINDOW (cohort_window_get_type ())

G_DECLARE_FINAL_TYPE (CohortWindow, cohort_window, COHORT, WINDOW, AdwApplicationWindow)

CohortWindow *cohort_window_new             (GtkApplication   *application,
                                             CohortSupervisor *supervisor);
void          cohort_window_show_profile    (CohortWindow     *self,
                                             CohortProfile    *profile,
                                             const char       *path);
void          cohort_window_show_problems   (CohortWindow     *self,
                                             CohortProfile    *profile);
void          cohort_window_select_cluster  (CohortWindow     *self,
                                             const char       *name);
GtkWidget    *cohort_window_get_visible_page (CohortWindow    *self);
CohortProfile *cohort_window_get_profile    (CohortWindow     *self);
void          cohort_window_ask_trust       (CohortWindow     *self);
void          cohort_window_show_open_error (CohortWindow     *self,
                                             CohortProfile    *profile,
                                             const char       *path);
void          cohort_window_update_recent   (CohortWindow     *self);

G_END_DECLS
