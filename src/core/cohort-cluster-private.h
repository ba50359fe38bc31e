/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-cluster-private.h: what a cluster's workers (and its sampler)
 * use of it. */

#pragma once

#include "cohort-cluster.h"
#include "cohort-task-queue.h"

G_BEGIN_DECLS

CohortWorker * const *
                 _cohort_cluster_peek_workers  (CohortCluster *self,
                                                guint         *n_workers);
GThreadPool     *_cohort_cluster_get_pool      (CohortCluster *self);
CohortTaskQueue *_cohort_cluster_get_queue     (CohortCluster *self);
void             _cohort_cluster_record_timing (CohortCluster *self,
                                                double         wait_ms,
                                                double         run_ms);

G_END_DECLS
