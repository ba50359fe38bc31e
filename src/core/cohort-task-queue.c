/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-task-queue.c: one queue per thread cluster, the classic pattern of
 * a fixed pool fed from a queue. A task sent to the cluster goes to
 * whichever worker is free first; one sent to a worker waits for that
 * worker. Bounded: a full queue refuses tasks with an error. */

#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "cohort-json.h"
#include "cohort-task-queue.h"

struct _CohortTaskQueue
{
  gatomicrefcount  ref_count;
  GMutex           lock;
  GCond            cond;
  GQueue           tasks;
};

void
cohort_queued_task_free (CohortQueuedTask *task)
{
  if (task == NULL)
    return;
  g_free (task->task);
  g_clear_pointer (&task->args, json_node_unref);
  g_free (task);
}

CohortTaskQueue *
cohort_task_queue_new (void)
{
  CohortTaskQueue *self = g_new0 (CohortTaskQueue, 1);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->tasks);
  return self;
}

CohortTaskQueue *
cohort_task_queue_ref (CohortTaskQueue *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
cohort_task_queue_unref (CohortTaskQueue *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_queue_clear_full (&self->tasks, (GDestroyNotify) cohort_queued_task_free);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self);
}

gboolean
cohort_task_queue_push (CohortTaskQueue  *self,
                        const char       *task,
                        JsonNode         *args,
                        int               worker,
                        GError          **error)
{
  CohortQueuedTask *item;

  g_mutex_lock (&self->lock);
  if (self->tasks.length >= COHORT_TASK_QUEUE_MAX)
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                   _("%d tasks are already waiting; task refused"), COHORT_TASK_QUEUE_MAX);
      return FALSE;
    }

  item = g_new0 (CohortQueuedTask, 1);
  item->task = g_strdup (task);
  /* A deep copy: json_node_copy () shares the objects inside, and
   * json-glib counts their references without atomics, so a tree touched
   * by two threads would be freed too early. The queued task's tree
   * belongs to whichever thread runs it, and to no other. */
  if (args != NULL)
    {
      g_autofree char *text = cohort_json_to_string (args, NULL);

      item->args = json_from_string (text, NULL);
    }
  item->worker = worker;
  item->queued_at = g_get_monotonic_time ();
  g_queue_push_tail (&self->tasks, item);
  /* Any worker may be the one it waits for. */
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/* Blocks (when @wait) until a task for @worker (or for any) is there, or
 * *stop is set.
 * Returns: (transfer full) (nullable): the task, or NULL when stopped or,
 *   without @wait, when there is none */
CohortQueuedTask *
cohort_task_queue_pop (CohortTaskQueue *self,
                       guint            worker,
                       gboolean         wait,
                       volatile gint   *stop)
{
  CohortQueuedTask *found = NULL;

  g_mutex_lock (&self->lock);
  while (found == NULL && !g_atomic_int_get (stop))
    {
      for (GList *l = self->tasks.head; l != NULL; l = l->next)
        {
          CohortQueuedTask *item = l->data;

          if (item->worker < 0 || (guint) item->worker == worker)
            {
              found = item;
              g_queue_delete_link (&self->tasks, l);
              break;
            }
        }
      if (found == NULL && !wait)
        break;
      if (found == NULL)
        g_cond_wait (&self->cond, &self->lock);
    }
  g_mutex_unlock (&self->lock);
  return found;
}

/* Wakes every waiting worker, to look at its stop flag. */
void
cohort_task_queue_wake (CohortTaskQueue *self)
{
  g_mutex_lock (&self->lock);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

guint
cohort_task_queue_get_length (CohortTaskQueue *self)
{
  guint length;

  g_mutex_lock (&self->lock);
  length = self->tasks.length;
  g_mutex_unlock (&self->lock);
  return length;
}

void
cohort_task_queue_clear (CohortTaskQueue *self)
{
  g_mutex_lock (&self->lock);
  g_queue_clear_full (&self->tasks, (GDestroyNotify) cohort_queued_task_free);
  g_queue_init (&self->tasks);
  g_mutex_unlock (&self->lock);
}
