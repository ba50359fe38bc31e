/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-task-queue.h: the queue that feeds a thread cluster's workers. */

#pragma once

#include <json-glib/json-glib.h>

#include "cohort-task.h"

G_BEGIN_DECLS

/* At most this many tasks wait, a batch counting as its items; more are
 * refused with an error. */
#define COHORT_TASK_QUEUE_MAX 10000
/* At most this many tasks in one {"task": NAME, "batch": [...]} message. */
#define COHORT_TASK_BATCH_MAX 1000

/* A task, or a batch of tasks, checked and held as plain values: no JSON
 * tree goes from the sender's thread to the worker's. */
typedef struct
{
  char            *task;
  char            *message;   /* sent to any worker: the message, for its log */
  gsize            length;
  CohortTaskArgs  *args;      /* one task */
  CohortTaskArgs **items;     /* or a batch: its tasks, NULL for a bad one */
  char           **errors;    /* and why a bad one is */
  guint            n_items;   /* 0: one task; else a batch of this many */
  int              worker;    /* the worker it was sent to, or -1 for any */
  gint64           queued_at; /* monotonic µs */
} CohortQueuedTask;

typedef struct _CohortTaskQueue CohortTaskQueue;

CohortTaskQueue  *cohort_task_queue_new        (void);
CohortTaskQueue  *cohort_task_queue_ref        (CohortTaskQueue  *self);
void              cohort_task_queue_unref      (CohortTaskQueue  *self);
gboolean          cohort_task_queue_push       (CohortTaskQueue  *self,
                                                CohortQueuedTask *item,
                                                GError          **error);
CohortQueuedTask *cohort_task_queue_pop        (CohortTaskQueue  *self,
                                                guint             worker,
                                                gboolean          wait,
                                                volatile gint    *stop);
void              cohort_task_queue_wake       (CohortTaskQueue  *self);
guint             cohort_task_queue_get_length (CohortTaskQueue  *self);
void              cohort_task_queue_clear      (CohortTaskQueue  *self);
CohortQueuedTask *cohort_queued_task_new       (const char       *task,
                                                JsonNode         *args,
                                                JsonNode         *batch,
                                                int               worker,
                                                GError          **error);
void              cohort_queued_task_free      (CohortQueuedTask *task);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CohortQueuedTask, cohort_queued_task_free)

G_END_DECLS
