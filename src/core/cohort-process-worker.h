/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-process-worker.h: a worker that is a child process. */

#pragma once

#include "cohort-worker.h"

G_BEGIN_DECLS

#define COHORT_TYPE_PROCESS_WORKER (cohort_process_worker_get_type ())

G_DECLARE_FINAL_TYPE (CohortProcessWorker, cohort_process_worker, COHORT, PROCESS_WORKER, CohortWorker)

CohortWorker *cohort_process_worker_new     (CohortCluster       *cluster,
                                             CohortClusterSpec   *spec,
                                             guint                id);
GPid          cohort_process_worker_get_pid (CohortProcessWorker *self);
guint64       cohort_process_worker_get_rss (CohortProcessWorker *self);

G_END_DECLS
