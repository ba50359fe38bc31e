/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-task-queue.c: one queue per thread cluster, the classic pattern of
 * a fixed pool fed from a queue. A task sent to the cluster goes to
 * whichever worker is free first; one sent to a worker waits for that
 * worker. Bounded: a full queue refuses tasks with an error.
 *
 * A push wakes one waiting thread, and only when one waits: with tasks in
 * flight the threads find the next one without sleeping, and every futex
 * wake-up saved is a few µs of a tiny task's cost. */

#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "cohort-json.h"
#include "cohort-task.h"
#include "cohort-task-queue.h"

struct _CohortTaskQueue
{
  gatomicrefcount  ref_count;
  GMutex           lock;
  GCond            cond;
  GQueue           tasks;
  guint            n_tasks;   /* a batch counts as its items */
  guint            waiting;   /* threads in g_cond_wait () */
};

static guint
weight (CohortQueuedTask *item)
{
  return MAX (1, item->n_items);
}

/**
 * cohort_queued_task_new:
 * @task: a task that exists
 * @args: (nullable): the arguments of one task
 * @batch: (nullable): or an array of them, one per task
 * @worker: the worker it is for, or -1 for any
 *
 * Checks the arguments of one task (an error here refuses it), or of
 * every task of a batch (a bad one is kept as its error, for its entry
 * among the results).
 *
 * Returns: (transfer full) (nullable): the task, or NULL with @error set
 */
CohortQueuedTask *
cohort_queued_task_new (const char  *task,
                        JsonNode    *args,
                        JsonNode    *batch,
                        int          worker,
                        GError     **error)
{
  g_autoptr(CohortQueuedTask) item = g_new0 (CohortQueuedTask, 1);

  g_assert (cohort_task_exists (task));
  g_assert ((args == NULL) != (batch == NULL));

  item->task = g_strdup (task);
  item->worker = worker;
  if (args != NULL)
    {
      item->args = cohort_task_args_new (task, args, error);
      if (item->args == NULL)
        return NULL;
    }
  else
    {
      JsonArray *array = json_node_get_array (batch);

      item->n_items = json_array_get_length (array);
      item->items = g_new0 (CohortTaskArgs *, item->n_items);
      item->errors = g_new0 (char *, item->n_items);
      for (guint i = 0; i < item->n_items; i++)
        {
          g_autoptr(GError) local_error = NULL;

          item->items[i] = cohort_task_args_new (task, json_array_get_element (array, i), &local_error);
          if (item->items[i] == NULL)
            item->errors[i] = g_strdup (local_error->message);
        }
    }

  /* Whichever worker takes it logs it as sent to it. */
  if (worker < 0)
    {
      GString *out = g_string_sized_new (64);

      /* A task's name is one of the registry's: nothing in it to escape. */
      g_string_append (out, "{\"task\":\"");
      g_string_append (out, task);
      g_string_append (out, args != NULL ? "\",\"args\":" : "\",\"batch\":");
      cohort_json_append (out, args != NULL ? args : batch);
      g_string_append_c (out, '}');
      item->length = out->len;
      item->message = g_string_free (out, FALSE);
    }
  return g_steal_pointer (&item);
}

void
cohort_queued_task_free (CohortQueuedTask *task)
{
  if (task == NULL)
    return;
  g_free (task->task);
  g_free (task->message);
  cohort_task_args_free (task->args);
  for (guint i = 0; i < task->n_items; i++)
    {
      cohort_task_args_free (task->items[i]);
      g_free (task->errors[i]);
    }
  g_free (task->items);
  g_free (task->errors);
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

/* Takes @item (transfer full), queued or freed. */
gboolean
cohort_task_queue_push (CohortTaskQueue   *self,
                        CohortQueuedTask  *item,
                        GError           **error)
{
  g_mutex_lock (&self->lock);
  if (self->n_tasks + weight (item) > COHORT_TASK_QUEUE_MAX)
    {
      guint n_tasks = self->n_tasks;

      g_mutex_unlock (&self->lock);
      if (item->n_items > 0)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                     _("%u tasks are already waiting and at most %d may; batch of %u refused"),
                     n_tasks, COHORT_TASK_QUEUE_MAX, item->n_items);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                     _("%d tasks are already waiting; task refused"), COHORT_TASK_QUEUE_MAX);
      cohort_queued_task_free (item);
      return FALSE;
    }

  item->queued_at = g_get_monotonic_time ();
  g_queue_push_tail (&self->tasks, item);
  self->n_tasks += weight (item);
  /* Any waiting thread can take a task for any; one sent to a worker
   * must reach that worker, whichever of them the signal would wake. */
  if (self->waiting > 0 && item->worker < 0)
    g_cond_signal (&self->cond);
  else if (self->waiting > 0)
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
              self->n_tasks -= weight (item);
              break;
            }
        }
      if (found == NULL && !wait)
        break;
      if (found == NULL)
        {
          self->waiting++;
          g_cond_wait (&self->cond, &self->lock);
          self->waiting--;
        }
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

/* Tasks waiting, a batch counting as its items. */
guint
cohort_task_queue_get_length (CohortTaskQueue *self)
{
  guint length;

  g_mutex_lock (&self->lock);
  length = self->n_tasks;
  g_mutex_unlock (&self->lock);
  return length;
}

void
cohort_task_queue_clear (CohortTaskQueue *self)
{
  g_mutex_lock (&self->lock);
  g_queue_clear_full (&self->tasks, (GDestroyNotify) cohort_queued_task_free);
  g_queue_init (&self->tasks);
  self->n_tasks = 0;
  g_mutex_unlock (&self->lock);
}
