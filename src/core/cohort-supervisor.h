/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-supervisor.h: the clusters of the open profile. */

#pragma once

#include <gio/gio.h>

#include "cohort-cluster.h"
#include "cohort-profile.h"
#include "cohort-sampler.h"

G_BEGIN_DECLS

#define COHORT_TYPE_SUPERVISOR (cohort_supervisor_get_type ())

G_DECLARE_FINAL_TYPE (CohortSupervisor, cohort_supervisor, COHORT, SUPERVISOR, GObject)

CohortSupervisor *cohort_supervisor_new              (void);
gboolean          cohort_supervisor_load             (CohortSupervisor  *self,
                                                      CohortProfile     *profile,
                                                      GError           **error);
const char       *cohort_supervisor_get_profile_name (CohortSupervisor  *self);
GListModel       *cohort_supervisor_get_clusters     (CohortSupervisor  *self);
CohortCluster    *cohort_supervisor_lookup           (CohortSupervisor  *self,
                                                      const char        *name);
gboolean          cohort_supervisor_get_running      (CohortSupervisor  *self);
guint             cohort_supervisor_start            (CohortSupervisor  *self);
void              cohort_supervisor_stop             (CohortSupervisor  *self);
void              cohort_supervisor_kill             (CohortSupervisor  *self);
CohortSampler    *cohort_supervisor_get_sampler      (CohortSupervisor  *self);

CohortCluster    *cohort_supervisor_add_cluster      (CohortSupervisor   *self,
                                                      CohortClusterSpec  *spec,
                                                      GError            **error);
gboolean          cohort_supervisor_remove_cluster   (CohortSupervisor   *self,
                                                      const char         *name,
                                                      GError            **error);
gboolean          cohort_supervisor_replace_cluster  (CohortSupervisor   *self,
                                                      const char         *name,
                                                      CohortClusterSpec  *spec,
                                                      GError            **error);

G_END_DECLS
