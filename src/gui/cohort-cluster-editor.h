/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-cluster-editor.h: the New Cluster / Edit Cluster dialog. */

#pragma once

#include <adwaita.h>

#include "cohort-cluster.h"

G_BEGIN_DECLS

#define COHORT_TYPE_CLUSTER_EDITOR (cohort_cluster_editor_get_type ())

G_DECLARE_FINAL_TYPE (CohortClusterEditor, cohort_cluster_editor, COHORT, CLUSTER_EDITOR, AdwWindow)

CohortClusterEditor *cohort_cluster_editor_new             (GtkWindow           *parent,
                                                            CohortClusterSpec   *spec,
                                                            CohortCluster       *cluster,
                                                            const char          *base_dir,
                                                            const char * const  *taken_names);
CohortClusterSpec   *cohort_cluster_editor_get_spec        (CohortClusterEditor *self);
const char          *cohort_cluster_editor_get_problem     (CohortClusterEditor *self);
const char          *cohort_cluster_editor_get_plan        (CohortClusterEditor *self);
void                 cohort_cluster_editor_add_variable    (CohortClusterEditor *self,
                                                            const char          *name,
                                                            const char          *value);
gboolean             cohort_cluster_editor_apply           (CohortClusterEditor *self);
void                 cohort_cluster_editor_set_apply_error (CohortClusterEditor *self,
                                                            const char          *message);

char                *cohort_cluster_editor_unique_name     (const char          *base,
                                                            const char * const  *taken);
char                *cohort_cluster_editor_replace_program (const char          *command,
                                                            const char          *path);

G_END_DECLS
