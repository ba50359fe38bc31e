/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-thread-worker.c: a worker that is one thread of its cluster's
 * GThreadPool, the worker-threads half of the story.
 *
 * While the worker runs, one pool thread is its own: it runs the task
 * back to back (Repeat=true) or takes tasks from the cluster's queue. The
 * thread never touches GObject state: it reports to the main context with
 * events, and the main thread turns them into messages, counts and
 * restarts. Stopping sets a flag, cancels the running task (tasks check
 * their GCancellable every few ms) and wakes the queue; the loop ends and
 * the thread goes back to the pool.
 *
 * Events reach the main context through one queue per worker, drained by
 * one source: a thread that finishes tiny tasks back to back wakes the
 * main loop once per drain, not once per task.
 *
 * The thread reads the spec it was launched with (loop_spec), never the
 * worker's own: an edit of the cluster swaps that one on the main thread
 * at any time. TaskTimeout is the exception, read live: it applies to the
 * next task without restarting the thread. */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cohort-cluster-private.h"
#include "cohort-json.h"
#include "cohort-task.h"
#include "cohort-thread-worker.h"
#include "cohort-worker-private.h"

/* Repeat=true: at most one report to the main thread per interval. */
#define REPORT_INTERVAL_US  (100 * 1000)
/* Repeat=true: a task that fails waits this long before the next run,
 * so a broken set-up does not spin. */
#define FAILURE_PAUSE_US    G_USEC_PER_SEC

struct _CohortThreadWorker
{
  CohortWorker      parent_instance;

  GMainContext     *context;

  /* shared with the worker's thread */
  volatile gint     stop;
  volatile gint     tid;
  volatile gint     busy;
  volatile gint     have_clock;
  volatile gint     task_timeout_ms; /* 0: none */
  clockid_t         clock;
  CohortClusterSpec *loop_spec;     /* written only while no loop runs */
  GMutex            lock;           /* guards the three below */
  GCancellable     *cancellable;    /* of the running loop */
  CohortTaskContext *task_context;
  char             *task;
  /* While the queue holds events, a drain is due, with a ref on the
   * worker. */
  GMutex            events_lock;    /* guards the queue */
  GQueue            events;         /* for the main context, oldest first */
  GSource          *events_source;

  /* main thread only */
  guint64           tasks_done;
};

G_DEFINE_FINAL_TYPE (CohortThreadWorker, cohort_thread_worker, COHORT_TYPE_WORKER)

/* Events from the worker's thread to the main context */

typedef enum
{
  EVENT_PICKED,    /* took a task sent to the whole cluster */
  EVENT_RESULT,    /* a task from the queue ended */
  EVENT_STATS,     /* Repeat=true: tasks done since the last report */
  EVENT_FAILED,    /* Repeat=true: a run failed */
  EVENT_EXITED,    /* the loop has ended */
} EventKind;

typedef struct
{
  EventKind           kind;
  char               *text;     /* PICKED: the task message; RESULT: the result message */
  gsize               length;
  gboolean            failed;
  gboolean            timed_out;
  char               *error;
  guint64             count;    /* RESULT: tasks in it; STATS: tasks done */
  double              wait_ms;
  double              run_ms;
} Event;

static void
event_free (gpointer data)
{
  Event *event = data;

  g_free (event->text);
  g_free (event->error);
  g_free (event);
}

static void
count_failure (CohortThreadWorker *self,
               Event              *event)
{
  g_autofree char *reason = NULL;

  if (event->timed_out)
    reason = g_strdup_printf (_("task timed out: %s"), event->error);
  else
    reason = g_strdup_printf (_("task failed: %s"), event->error);
  _cohort_worker_count_restart (COHORT_WORKER (self), event->timed_out ? "timeout" : "error", reason);
}

static void
event_dispatch (CohortThreadWorker *self,
                Event              *event)
{
  CohortWorker *worker = COHORT_WORKER (self);
  CohortCluster *cluster = cohort_worker_get_cluster (worker);

  switch (event->kind)
    {
    case EVENT_PICKED:
      _cohort_worker_record_sent (worker, event->text, event->length);
      break;

    case EVENT_RESULT:
      self->tasks_done += event->count;
      if (cluster != NULL)
        _cohort_cluster_record_timing (cluster, event->wait_ms, event->run_ms);
      /* Not parsed: a result ({"task": …}) is never a ready message. */
      _cohort_worker_received (worker, NULL, event->text, event->length);
      if (event->failed)
        count_failure (self, event);
      break;

    case EVENT_STATS:
      self->tasks_done += event->count;
      if (cluster != NULL)
        _cohort_cluster_record_timing (cluster, event->wait_ms, event->run_ms);
      break;

    case EVENT_FAILED:
      self->tasks_done++;
      count_failure (self, event);
      break;

    case EVENT_EXITED:
      _cohort_worker_exited (worker, 0);
      break;

    default:
      g_assert_not_reached ();
    }
}

/* Everything the thread posted since the last drain, in order. The ref
 * that post() took keeps the worker alive until its events are handled
 * (an exit event most of all). */
typedef struct
{
  GSource             source;
  CohortThreadWorker *self;   /* weak: the worker owns the source */
} EventsSource;

static gboolean
events_dispatch (GSource     *source,
                 GSourceFunc  callback,
                 gpointer     user_data)
{
  CohortThreadWorker *self = ((EventsSource *) source)->self;
  GQueue events = G_QUEUE_INIT;
  Event *event;

  /* Before the queue is taken: a post that comes after it schedules the
   * next drain, one that comes before is in this one. */
  g_source_set_ready_time (source, -1);
  g_mutex_lock (&self->events_lock);
  events = self->events;
  g_queue_init (&self->events);
  g_mutex_unlock (&self->events_lock);

  while ((event = g_queue_pop_head (&events)) != NULL)
    {
      event_dispatch (self, event);
      event_free (event);
    }
  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs events_source_funcs = {
  .dispatch = events_dispatch,
};

/* Always through the source attached to the main context, never
 * g_main_context_invoke(): from a pool thread, invoke would run the event
 * right there whenever it can acquire the context (the main thread busy
 * elsewhere), and the worker's state would change on the wrong thread. */
static void
post (CohortThreadWorker *self,
      Event              *event)
{
  gboolean schedule;

  g_mutex_lock (&self->events_lock);
  /* An empty queue has no drain due: this event schedules one. */
  schedule = g_queue_is_empty (&self->events);
  g_queue_push_tail (&self->events, event);
  g_mutex_unlock (&self->events_lock);

  if (schedule)
    {
      g_object_ref (self);
      /* Thread-safe, and wakes the context. */
      g_source_set_ready_time (self->events_source, 0);
    }
}

/* The worker's thread */

typedef struct
{
  JsonNode *result;
  GError   *error;
  double    run_ms;
} Run;

static void
run_task (CohortThreadWorker   *self,
          const CohortTaskArgs *args,
          Run                  *run)
{
  const char *task = cohort_task_args_get_name (args);
  gint task_timeout_ms = g_atomic_int_get (&self->task_timeout_ms);
  gint64 deadline = 0;
  CohortTaskContext *context;
  gint64 start;

  if (task_timeout_ms > 0)
    deadline = g_get_monotonic_time () + (gint64) task_timeout_ms * 1000;
  /* The loop's cancellable: a stop ends the loop, so it is never reset. */
  context = cohort_task_context_new (self->cancellable, deadline);

  g_mutex_lock (&self->lock);
  self->task_context = context;
  if (g_strcmp0 (self->task, task) != 0)
    {
      g_free (self->task);
      self->task = g_strdup (task);
    }
  g_mutex_unlock (&self->lock);

  g_atomic_int_set (&self->busy, 1);
  start = g_get_monotonic_time ();
  run->result = cohort_task_args_run (args, context, &run->error);
  run->run_ms = (g_get_monotonic_time () - start) / 1000.0;
  g_atomic_int_set (&self->busy, 0);

  g_mutex_lock (&self->lock);
  self->task_context = NULL;
  g_mutex_unlock (&self->lock);
  cohort_task_context_free (context);
}

/* {"task": NAME, "result": …, "ms": …} or {"task": NAME, "error": "…"} */
static char *
result_message (const char *task,
                Run        *run,
                gsize      *length)
{
  GString *out = g_string_sized_new (64);

  g_string_append (out, "{\"task\":\"");
  g_string_append (out, task);
  if (run->result != NULL)
    {
      g_string_append (out, "\",\"result\":");
      cohort_json_append (out, run->result);
      g_string_append (out, ",\"ms\":");
      cohort_json_append_double (out, run->run_ms);
    }
  else
    {
      g_string_append (out, "\",\"error\":");
      cohort_json_append_string (out, run->error->message);
    }
  g_string_append_c (out, '}');
  *length = out->len;
  return g_string_free (out, FALSE);
}

static gboolean
is_stop (CohortThreadWorker *self,
         GError             *error)
{
  return error != NULL && g_atomic_int_get (&self->stop) &&
         g_error_matches (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_CANCELLED);
}

/* A mistake of the sender's, not a failure of the worker. */
static gboolean
is_bad_arguments (GError *error)
{
  return g_error_matches (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_ARGUMENTS) ||
         g_error_matches (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_UNKNOWN_TASK);
}

static void
set_failure (Event  *event,
             GError *error)
{
  event->failed = TRUE;
  event->timed_out = g_error_matches (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_TIMED_OUT);
  event->error = g_strdup (error->message);
}

/* Runs every task of a batch in order, into one result message:
 * {"task": NAME, "results": [{"result": …} or {"error": "…"}, …], "ms": …}.
 * A bad item is an error entry and the others still run; the first
 * failure of a task that did run counts once for the batch. FALSE when a
 * stop cancelled it: like a stopped task, it has no result. */
static gboolean
run_batch (CohortThreadWorker *self,
           CohortQueuedTask   *item,
           Event              *event)
{
  guint n = item->n_items;
  GString *out = g_string_sized_new (64 + 32 * (gsize) n);
  double total_ms = 0;

  g_string_append (out, "{\"task\":\"");
  g_string_append (out, item->task);
  g_string_append (out, "\",\"results\":[");
  for (guint i = 0; i < n; i++)
    {
      Run run = { NULL, NULL, 0 };

      if (item->items[i] != NULL)
        run_task (self, item->items[i], &run);
      else
        run.error = g_error_new_literal (COHORT_TASK_ERROR, COHORT_TASK_ERROR_ARGUMENTS, item->errors[i]);
      if (is_stop (self, run.error))
        {
          g_clear_error (&run.error);
          g_string_free (out, TRUE);
          return FALSE;
        }
      total_ms += run.run_ms;
      if (i > 0)
        g_string_append_c (out, ',');
      if (run.result != NULL)
        {
          g_string_append (out, "{\"result\":");
          cohort_json_append (out, run.result);
        }
      else
        {
          g_string_append (out, "{\"error\":");
          cohort_json_append_string (out, run.error->message);
          if (!event->failed && !is_bad_arguments (run.error))
            set_failure (event, run.error);
        }
      g_string_append_c (out, '}');
      g_clear_pointer (&run.result, json_node_unref);
      g_clear_error (&run.error);
    }
  g_string_append (out, "],\"ms\":");
  cohort_json_append_double (out, total_ms);
  g_string_append_c (out, '}');

  event->count = n;
  /* One timing per batch: the mean of its tasks. */
  event->run_ms = n > 0 ? total_ms / n : 0;
  event->length = out->len;
  event->text = g_string_free (out, FALSE);
  return TRUE;
}

/* Runs one task, or one batch, from the queue and reports it; FALSE when
 * a stop cancelled it. */
static gboolean
run_queued (CohortThreadWorker *self,
            CohortQueuedTask   *item)
{
  Event *event = g_new0 (Event, 1);

  event->kind = EVENT_RESULT;
  event->wait_ms = (g_get_monotonic_time () - item->queued_at) / 1000.0;

  /* A task sent to the cluster reaches this worker only now. */
  if (item->worker < 0)
    {
      Event *picked = g_new0 (Event, 1);

      picked->kind = EVENT_PICKED;
      picked->length = item->length;
      picked->text = g_steal_pointer (&item->message);
      post (self, picked);
    }

  if (item->n_items > 0)
    {
      if (!run_batch (self, item, event))
        {
          event_free (event);
          return FALSE;
        }
    }
  else
    {
      Run run = { NULL, NULL, 0 };

      run_task (self, item->args, &run);
      if (is_stop (self, run.error))
        {
          g_clear_error (&run.error);
          event_free (event);
          return FALSE;
        }
      event->count = 1;
      event->run_ms = run.run_ms;
      event->text = result_message (item->task, &run, &event->length);
      if (run.error != NULL)
        set_failure (event, run.error);
      g_clear_pointer (&run.result, json_node_unref);
      g_clear_error (&run.error);
    }
  post (self, event);
  return TRUE;
}

static void
run_queue (CohortThreadWorker *self,
           CohortTaskQueue    *queue)
{
  guint id = cohort_worker_get_id (COHORT_WORKER (self));
  CohortQueuedTask *item;

  while ((item = cohort_task_queue_pop (queue, id, TRUE, &self->stop)) != NULL)
    {
      g_autoptr(CohortQueuedTask) owned = item;

      if (!run_queued (self, item))
        break;
    }
}

static void
run_repeat (CohortThreadWorker *self,
            CohortClusterSpec  *spec,
            CohortTaskQueue    *queue)
{
  guint id = cohort_worker_get_id (COHORT_WORKER (self));
  g_autoptr(JsonNode) node = json_from_string (spec->arguments, NULL);
  g_autoptr(GError) args_error = NULL;
  g_autoptr(CohortTaskArgs) args = NULL;
  gint64 last_report = g_get_monotonic_time ();
  guint64 done = 0;
  double last_run_ms = 0;

  /* Checked once: a profile with errors starts nothing, but an error here
   * is every run's, reported like a failing task. */
  if (spec->task != NULL)
    args = cohort_task_args_new (spec->task, node, &args_error);
  else
    g_set_error_literal (&args_error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_UNKNOWN_TASK,
                         _("Repeat=true needs a Task to repeat"));

  while (!g_atomic_int_get (&self->stop))
    {
      Run run = { NULL, NULL, 0 };
      g_autoptr(CohortQueuedTask) item = NULL;
      gint64 now;

      /* Tasks sent meanwhile go first: a busy cluster still answers. */
      item = cohort_task_queue_pop (queue, id, FALSE, &self->stop);
      if (item != NULL)
        {
          if (!run_queued (self, item))
            break;
          continue;
        }

      if (args != NULL)
        run_task (self, args, &run);
      else
        run.error = g_error_copy (args_error);
      if (is_stop (self, run.error))
        {
          g_clear_error (&run.error);
          break;
        }

      if (run.error != NULL)
        {
          Event *event = g_new0 (Event, 1);

          event->kind = EVENT_FAILED;
          event->timed_out = g_error_matches (run.error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_TIMED_OUT);
          event->error = g_strdup (run.error->message);
          post (self, event);
          g_clear_error (&run.error);

          /* Pause, but hear a stop at once. */
          for (gint64 until = g_get_monotonic_time () + FAILURE_PAUSE_US;
               g_get_monotonic_time () < until && !g_atomic_int_get (&self->stop);)
            g_usleep (10 * 1000);
          continue;
        }

      g_clear_pointer (&run.result, json_node_unref);
      done++;
      last_run_ms = run.run_ms;
      now = g_get_monotonic_time ();
      if (now - last_report >= REPORT_INTERVAL_US)
        {
          Event *event = g_new0 (Event, 1);

          event->kind = EVENT_STATS;
          event->count = done;
          event->run_ms = last_run_ms;
          post (self, event);
          done = 0;
          last_report = now;
        }
    }

  if (done > 0)
    {
      Event *event = g_new0 (Event, 1);

      event->kind = EVENT_STATS;
      event->count = done;
      event->run_ms = last_run_ms;
      post (self, event);
    }
}

/**
 * cohort_thread_worker_pool_func:
 *
 * The GThreadPool function of thread clusters: @data is a worker (a
 * reference that this function releases), whose loop it runs until the
 * worker is stopped.
 */
void
cohort_thread_worker_pool_func (gpointer data,
                                gpointer user_data)
{
  CohortThreadWorker *self = data;
  CohortClusterSpec *spec = self->loop_spec;
  CohortTaskQueue *queue = user_data;
  GCancellable *cancellable = g_cancellable_new ();
  Event *event;

  g_atomic_int_set (&self->tid, (gint) syscall (SYS_gettid));
  if (pthread_getcpuclockid (pthread_self (), &self->clock) == 0)
    g_atomic_int_set (&self->have_clock, 1);

  /* One cancellable for the whole loop (a GObject per tiny task would be
   * a good part of its cost): a stop cancels it and ends the loop. */
  g_mutex_lock (&self->lock);
  self->cancellable = cancellable;
  g_mutex_unlock (&self->lock);
  /* A stop that came before the cancellable was visible. */
  if (g_atomic_int_get (&self->stop))
    g_cancellable_cancel (cancellable);

  if (spec->repeat)
    run_repeat (self, spec, queue);
  else
    run_queue (self, queue);

  g_mutex_lock (&self->lock);
  self->cancellable = NULL;
  g_mutex_unlock (&self->lock);
  g_object_unref (cancellable);

  g_atomic_int_set (&self->have_clock, 0);
  g_atomic_int_set (&self->tid, 0);
  event = g_new0 (Event, 1);
  event->kind = EVENT_EXITED;
  post (self, event);
  g_object_unref (self);
}

/* The main thread's side */

static void
update_task_timeout (CohortThreadWorker *self)
{
  double timeout_s = cohort_worker_get_spec (COHORT_WORKER (self))->task_timeout_s;
  double timeout_ms = timeout_s > 0 ? MAX (1.0, timeout_s * 1000) : 0;

  g_atomic_int_set (&self->task_timeout_ms, (gint) MIN (timeout_ms, G_MAXINT));
}

static void
spec_changed_cb (CohortThreadWorker *self,
                 GParamSpec         *pspec,
                 gpointer            user_data)
{
  update_task_timeout (self);
}

static gboolean
cohort_thread_worker_launch (CohortWorker  *worker,
                             GError       **error)
{
  CohortThreadWorker *self = COHORT_THREAD_WORKER (worker);
  CohortCluster *cluster = cohort_worker_get_cluster (worker);
  GThreadPool *pool = cluster != NULL ? _cohort_cluster_get_pool (cluster) : NULL;

  if (pool == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                           _("the cluster's thread pool is not running"));
      return FALSE;
    }

  /* The previous loop, if any, has ended: its thread no longer reads
   * loop_spec. */
  g_clear_pointer (&self->loop_spec, cohort_cluster_spec_unref);
  self->loop_spec = cohort_cluster_spec_ref (cohort_worker_get_spec (worker));
  update_task_timeout (self);
  g_atomic_int_set (&self->stop, 0);
  return g_thread_pool_push (pool, g_object_ref (self), error);
}

static gboolean
cohort_thread_worker_stop_step (CohortWorker   *worker,
                                CohortStopStep  step)
{
  CohortThreadWorker *self = COHORT_THREAD_WORKER (worker);
  CohortCluster *cluster = cohort_worker_get_cluster (worker);

  /* A thread hears no message and cannot be killed: the signal and kill
   * steps both cancel its task and end its loop. */
  if (step != COHORT_STOP_STEP_SIGNAL && step != COHORT_STOP_STEP_KILL)
    return FALSE;

  g_atomic_int_set (&self->stop, 1);
  g_mutex_lock (&self->lock);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_mutex_unlock (&self->lock);
  if (cluster != NULL && _cohort_cluster_get_queue (cluster) != NULL)
    cohort_task_queue_wake (_cohort_cluster_get_queue (cluster));
  return TRUE;
}

/**
 * cohort_thread_worker_queue_task:
 * @message: {"task": NAME, "args": {…}}, one task: without "task", the
 *   cluster's Task, and without "args", the cluster's Arguments for that
 *   task; or {"task": NAME, "batch": [{…}, …]}, up to
 *   COHORT_TASK_BATCH_MAX tasks that one thread runs in order, answered
 *   by one message
 * @worker: the worker it is for, or -1 for whichever is free first
 *
 * Checks a task message and queues it, so a bad one is an error for its
 * sender, not a task that fails later. The items of a batch are checked
 * by the thread that runs them: a bad one is an error entry among the
 * results, and the others run.
 */
gboolean
cohort_thread_worker_queue_task (CohortClusterSpec  *spec,
                                 CohortTaskQueue    *queue,
                                 JsonNode           *message,
                                 int                 worker,
                                 GError            **error)
{
  g_autoptr(JsonNode) default_args = NULL;
  CohortQueuedTask *item;
  JsonObject *object;
  JsonNode *task_node;
  JsonNode *args_node;
  JsonNode *batch_node;
  const char *name;

  if (message == NULL || !JSON_NODE_HOLDS_OBJECT (message))
    {
      g_autofree char *names = g_strjoinv (", ", (char **) cohort_task_list_names ());

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("a thread cluster takes tasks: {\"task\": NAME, \"args\": {…}} with NAME one of %s"),
                   names);
      return FALSE;
    }

  object = json_node_get_object (message);
  task_node = json_object_get_member (object, "task");
  args_node = json_object_get_member (object, "args");
  batch_node = json_object_get_member (object, "batch");
  if (task_node == NULL && spec->task != NULL)
    name = spec->task;
  else if (task_node != NULL && JSON_NODE_HOLDS_VALUE (task_node) &&
           json_node_get_value_type (task_node) == G_TYPE_STRING)
    name = json_node_get_string (task_node);
  else
    {
      g_autofree char *names = g_strjoinv (", ", (char **) cohort_task_list_names ());

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“task” must name one of %s"), names);
      return FALSE;
    }

  if (!cohort_task_exists (name))
    {
      g_autofree char *names = g_strjoinv (", ", (char **) cohort_task_list_names ());

      g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_UNKNOWN_TASK,
                   _("no task named “%s”; the tasks are %s"), name, names);
      return FALSE;
    }

  if (batch_node != NULL)
    {
      guint n;

      if (args_node != NULL)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("give “args” (one task) or “batch” (an array of them), not both"));
          return FALSE;
        }
      if (!JSON_NODE_HOLDS_ARRAY (batch_node))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("“batch” must be an array of task arguments"));
          return FALSE;
        }
      n = json_array_get_length (json_node_get_array (batch_node));
      if (n == 0 || n > COHORT_TASK_BATCH_MAX)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("a batch holds 1 to %d tasks, not %u"), COHORT_TASK_BATCH_MAX, n);
          return FALSE;
        }
      item = cohort_queued_task_new (name, NULL, batch_node, worker, error);
    }
  else
    {
      if (args_node == NULL)
        args_node = default_args = json_from_string (g_strcmp0 (name, spec->task) == 0 ? spec->arguments : "{}",
                                                     NULL);
      item = cohort_queued_task_new (name, args_node, NULL, worker, error);
    }

  return item != NULL && cohort_task_queue_push (queue, item, error);
}

static gboolean
cohort_thread_worker_send_line (CohortWorker  *worker,
                                const char    *json,
                                gsize          length,
                                GError       **error)
{
  CohortCluster *cluster = cohort_worker_get_cluster (worker);
  CohortTaskQueue *queue = cluster != NULL ? _cohort_cluster_get_queue (cluster) : NULL;
  g_autoptr(JsonNode) message = json_from_string (json, NULL);

  if (queue == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   _("worker %u is not running"), cohort_worker_get_id (worker));
      return FALSE;
    }
  return cohort_thread_worker_queue_task (cohort_worker_get_spec (worker), queue, message,
                                          (int) cohort_worker_get_id (worker), error);
}

static void
cohort_thread_worker_dispose (GObject *object)
{
  CohortThreadWorker *self = (CohortThreadWorker *) object;

  if (self->events_source != NULL)
    {
      g_source_destroy (self->events_source);
      g_clear_pointer (&self->events_source, g_source_unref);
    }
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (cohort_thread_worker_parent_class)->dispose (object);
}

static void
cohort_thread_worker_finalize (GObject *object)
{
  CohortThreadWorker *self = (CohortThreadWorker *) object;

  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->events_lock);
  /* Pending events hold a ref: none is left by now. */
  g_queue_clear_full (&self->events, event_free);
  g_free (self->task);
  g_clear_pointer (&self->loop_spec, cohort_cluster_spec_unref);

  G_OBJECT_CLASS (cohort_thread_worker_parent_class)->finalize (object);
}

static void
cohort_thread_worker_class_init (CohortThreadWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  CohortWorkerClass *worker_class = COHORT_WORKER_CLASS (klass);

  object_class->dispose = cohort_thread_worker_dispose;
  object_class->finalize = cohort_thread_worker_finalize;
  worker_class->launch = cohort_thread_worker_launch;
  worker_class->stop_step = cohort_thread_worker_stop_step;
  worker_class->send_line = cohort_thread_worker_send_line;
}

static void
cohort_thread_worker_init (CohortThreadWorker *self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->events_lock);
  g_queue_init (&self->events);
  self->context = g_main_context_ref_thread_default ();
  /* post() takes a ref on the worker while events wait. */
  self->events_source = g_source_new (&events_source_funcs, sizeof (EventsSource));
  ((EventsSource *) self->events_source)->self = self;
  g_source_set_priority (self->events_source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (self->events_source, "[cohort] thread worker events");
  g_source_set_ready_time (self->events_source, -1);
  g_source_attach (self->events_source, self->context);
  g_signal_connect (self, "notify::spec", G_CALLBACK (spec_changed_cb), NULL);
}

CohortWorker *
cohort_thread_worker_new (CohortCluster     *cluster,
                          CohortClusterSpec *spec,
                          guint              id)
{
  return g_object_new (COHORT_TYPE_THREAD_WORKER,
                       "cluster", cluster,
                       "spec", spec,
                       "id", id,
                       NULL);
}

/* The kernel's id of the worker's thread, or 0 when it is not running. */
int
cohort_thread_worker_get_tid (CohortThreadWorker *self)
{
  g_return_val_if_fail (COHORT_IS_THREAD_WORKER (self), 0);
  return g_atomic_int_get (&self->tid);
}

/* Running a task (busy) or waiting for one (idle). */
gboolean
cohort_thread_worker_get_busy (CohortThreadWorker *self)
{
  g_return_val_if_fail (COHORT_IS_THREAD_WORKER (self), FALSE);
  return g_atomic_int_get (&self->busy) != 0;
}

/* CPU time of the worker's thread in ns, from its own clock; -1 when it
 * is not running. */
gint64
cohort_thread_worker_get_cpu_time (CohortThreadWorker *self)
{
  struct timespec ts;

  g_return_val_if_fail (COHORT_IS_THREAD_WORKER (self), -1);

  if (!g_atomic_int_get (&self->have_clock) || clock_gettime (self->clock, &ts) != 0)
    return -1;
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The bytes the running task holds. */
guint64
cohort_thread_worker_get_memory (CohortThreadWorker *self)
{
  guint64 memory = 0;

  g_return_val_if_fail (COHORT_IS_THREAD_WORKER (self), 0);

  g_mutex_lock (&self->lock);
  if (self->task_context != NULL)
    memory = cohort_task_context_get_memory (self->task_context);
  g_mutex_unlock (&self->lock);
  return memory;
}

guint64
cohort_thread_worker_get_tasks_done (CohortThreadWorker *self)
{
  g_return_val_if_fail (COHORT_IS_THREAD_WORKER (self), 0);
  return self->tasks_done;
}

/* The task running now, or NULL. */
char *
cohort_thread_worker_dup_task (CohortThreadWorker *self)
{
  char *task = NULL;

  g_return_val_if_fail (COHORT_IS_THREAD_WORKER (self), NULL);

  g_mutex_lock (&self->lock);
  if (self->task_context != NULL)
    task = g_strdup (self->task);
  g_mutex_unlock (&self->lock);
  return task;
}
