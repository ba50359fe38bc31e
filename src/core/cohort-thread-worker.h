/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-thread-worker.h: a worker that is one thread of its cluster's
 * GThreadPool, running built-in tasks. */

#pragma once

#include "cohort-task-queue.h"
#include "cohort-worker.h"

G_BEGIN_DECLS

#define COHORT_TYPE_THREAD_WORKER (cohort_thread_worker_get_type ())

G_DECLARE_FINAL_TYPE (CohortThreadWorker, cohort_thread_worker, COHORT, THREAD_WORKER, CohortWorker)

CohortWorker *cohort_thread_worker_new           (CohortCluster       *cluster,
                                                  CohortClusterSpec   *spec,
                                                  guint                id);
int           cohort_thread_worker_get_tid       (CohortThreadWorker  *self);
gboolean      cohort_thread_worker_get_busy      (CohortThreadWorker  *self);
gint64        cohort_thread_worker_get_cpu_time  (CohortThreadWorker  *self);
guint64       cohort_thread_worker_get_memory    (CohortThreadWorker  *self);
guint64       cohort_thread_worker_get_tasks_done (CohortThreadWorker *self);
char         *cohort_thread_worker_dup_task      (CohortThreadWorker  *self);

void          cohort_thread_worker_pool_func     (gpointer             data,
                                                  gpointer             user_data);
gboolean      cohort_thread_worker_queue_task    (CohortClusterSpec   *spec,
                                                  CohortTaskQueue     *queue,
                                                  JsonNode            *message,
                                                  int                  worker,
                                                  GError             **error);

G_END_DECLS
