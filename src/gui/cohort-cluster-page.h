/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-cluster-page.h: one cluster, its graphs, workers and messages. */

#pragma once

#include <adwaita.h>

#include "cohort-cluster.h"
#include "cohort-sampler.h"

G_BEGIN_DECLS

#define COHORT_TYPE_CLUSTER_PAGE (cohort_cluster_page_get_type ())

G_DECLARE_FINAL_TYPE (CohortClusterPage, cohort_cluster_page, COHORT, CLUSTER_PAGE, GtkWidget)

CohortClusterPage *cohort_cluster_page_new         (CohortCluster     *cluster,
                                                    CohortSampler     *sampler);
CohortCluster     *cohort_cluster_page_get_cluster (CohortClusterPage *self);
GListModel        *cohort_cluster_page_get_rows    (CohortClusterPage *self);
guint              cohort_cluster_page_get_n_graph_samples (CohortClusterPage *self);

G_END_DECLS
