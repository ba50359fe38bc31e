/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-application.h: the GUI instance. */

#pragma once

#include <adwaita.h>

#include "cohort-supervisor.h"

G_BEGIN_DECLS

#define COHORT_TYPE_APPLICATION (cohort_application_get_type ())

G_DECLARE_FINAL_TYPE (CohortApplication, cohort_application, COHORT, APPLICATION, AdwApplication)

CohortApplication *cohort_application_new          (void);
gboolean           cohort_application_open_profile (CohortApplication *self,
                                                    const char        *path);
GtkWindow         *cohort_application_get_main_window (CohortApplication *self);
void               cohort_application_new_profile  (CohortApplication *self);
void               cohort_application_request_quit (CohortApplication *self);
CohortSupervisor  *cohort_application_get_supervisor (CohortApplication *self);
GStrv              cohort_application_dup_recent   (CohortApplication *self);
void               cohort_application_add_recent   (CohortApplication *self,
                                                    const char        *path);
gboolean           cohort_save_window_png          (GtkWidget         *widget,
                                                    const char        *path,
                                                    GError           **error);

G_END_DECLS
