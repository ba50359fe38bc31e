/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-task-queue.h: the queue that feeds a thread cluster's workers. */

#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* At most this many tasks wait; more are refused with an error. */
#define COHORT_TASK_QUEUE_MAX 10000

typedef struct
{
  char     *task;
  JsonNode *args;
  int       worker;     /* the worker it was sent to, or -1 for any */
  gint64    queued_at;  /* monotonic µs */
} CohortQueuedTask;

typedef struct _CohortTaskQueue CohortTaskQueue;

CohortTaskQueue  *cohort_task_queue_new        (void);
CohortTaskQueue  *cohort_task_queue_ref        (CohortTaskQueue  *self);
void              cohort_task_queue_unref      (CohortTaskQueue  *self);
gboolean          cohort_task_queue_push       (CohortTaskQueue  *self,
                                                const char       *task,
                                                JsonNode         *args,
                                                int               worker,
                                                GError          **error);
CohortQueuedTask *cohort_task_queue_pop        (CohortTaskQueue  *self,
                                                guint             worker,
                                                gboolean          wait,
                                                volatile gint    *stop);
void              cohort_task_queue_wake       (CohortTaskQueue  *self);
guint             cohort_task_queue_get_length (CohortTaskQueue  *self);
void              cohort_task_queue_clear      (CohortTaskQueue  *self);
void              cohort_queued_task_free      (CohortQueuedTask *task);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CohortQueuedTask, cohort_queued_task_free)

G_END_DECLS
