/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-control.h: the command line that controls a running Cohort. */

#pragma once

#include <gio/gio.h>

#include "cohort-supervisor.h"

G_BEGIN_DECLS

#define COHORT_EXIT_USAGE 2

#define COHORT_TYPE_CONTROL (cohort_control_get_type ())

G_DECLARE_FINAL_TYPE (CohortControl, cohort_control, COHORT, CONTROL, GObject)

void           cohort_control_add_options          (GApplication            *application);
gboolean       cohort_control_wants_instance       (GVariantDict            *options);
int            cohort_control_handle_local_options (GApplication            *application,
                                                    GVariantDict            *options);
int            cohort_control_become_instance      (GApplication            *application);
void           cohort_control_add_platform_data    (GVariantBuilder         *builder);

CohortControl *cohort_control_new                  (CohortSupervisor        *supervisor);
int            cohort_control_run                  (CohortControl           *self,
                                                    GApplicationCommandLine *command_line);
void           cohort_control_finish_all           (CohortControl           *self);

char          *cohort_control_default_profile      (void);

G_END_DECLS
