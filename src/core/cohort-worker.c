/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-worker.c: the life of one worker slot, whatever runs in it.
 *
 * The base class owns what is the same for processes and threads: the
 * state machine, the restart policy with its back-off, the graceful-stop
 * ladder and the captured output. A subclass only launches, carries out
 * stop steps, and reports the end of what it launched. */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/wait.h>

#include "cohort-channel.h"
#include "cohort-cluster.h"
#include "cohort-json.h"
#include "cohort-worker-private.h"

#define MAX_OUTPUT_LINES   1000
#define BEGUN_POLL_MS      1      /* until a process has exec'd (begun_cb) */
#define MAX_MESSAGES       100
/* A kept message is for people to read; a larger one is summarized. */
#define MAX_KEPT_MESSAGE   (16 * 1024)
/* The send buffer is kept for the next message up to this size. */
#define MAX_SEND_BUFFER    (256 * 1024)

/* One place of the message history, reused: its text buffer is
 * overwritten in place by the next message that fits, so that keeping a
 * message costs no allocation once the ring has been round. */
typedef struct
{
  CohortMessage  message;
  gsize          size;     /* bytes allocated at message.json */
} KeptMessage;

typedef struct
{
  CohortCluster      *cluster;     /* weak: the cluster owns its workers */
  CohortClusterSpec  *spec;
  guint               id;

  CohortWorkerState   state;
  guint               restarts;
  char               *last_exit;   /* "exit 3", "signal 9" … */
  char               *reason;      /* why it is waiting, errored or stopped */
  gint64              started_at;  /* monotonic µs; 0 when not running */

  /* restart policy */
  guint               quick_crashes;
  guint               next_delay_ms;
  guint               restart_source;

  /* graceful stop */
  CohortStopStep      stop_step;
  gint64              stop_deadline;
  guint               stop_source;
  gboolean            start_after_stop;
  char               *restart_reason;
  gboolean            retiring;
  gboolean            incoming;    /* a reload's replacement, not yet online */

  /* readiness */
  guint               ready_source;
  gboolean            ready_timed_out;

  GQueue              output;

  /* messages */
  guint64             messages_in;
  guint64             messages_out;
  guint64             bytes_in;
  guint64             bytes_out;
  guint64             bad_messages;
  char               *last_bad_message;
  /* the newest MAX_MESSAGES, oldest at messages[first] */
  KeptMessage        *messages;
  guint               messages_first;
  guint               messages_count;
  /* what cohort_worker_send() serializes into, reused */
  GString            *send_buffer;
} CohortWorkerPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (CohortWorker, cohort_worker, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CLUSTER,
  PROP_SPEC,
  PROP_ID,
  PROP_STATE,
  PROP_RESTARTS,
  PROP_LAST_EXIT,
  PROP_REASON,
  PROP_STOP_STEP,
  N_PROPS
};

enum {
  OUTPUT,
  RESTART_SCHEDULED,
  MESSAGE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];
/* The details of CohortWorker::message. */
static GQuark quark_received;
static GQuark quark_sent;

/* Changes of what a sampler's tick reads of a worker besides its
 * counters: any worker's state, incoming or retiring flag, and any
 * cluster's list of workers (_cohort_worker_note_sample_change()). */
static guint sample_changes;
/* Messages in and out of any worker, and counters inherited: while it
 * stays the same, so do every worker's counters. */
static guint64 traffic;

void
cohort_output_line_free (CohortOutputLine *line)
{
  if (line == NULL)
    return;
  g_free (line->text);
  g_free (line);
}

static void
set_state (CohortWorker      *self,
           CohortWorkerState  state)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  if (priv->state == state)
    return;
  priv->state = state;
  _cohort_worker_note_sample_change ();
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_string (CohortWorker  *self,
            char         **field,
            const char    *value,
            guint          prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_stop_step (CohortWorker   *self,
               CohortStopStep  step)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  if (priv->stop_step == step)
    return;
  priv->stop_step = step;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STOP_STEP]);
}

static void
cohort_worker_dispose (GObject *object)
{
  CohortWorker *self = (CohortWorker *) object;
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_clear_handle_id (&priv->restart_source, g_source_remove);
  g_clear_handle_id (&priv->stop_source, g_source_remove);
  g_clear_handle_id (&priv->ready_source, g_source_remove);
  g_clear_weak_pointer (&priv->cluster);

  G_OBJECT_CLASS (cohort_worker_parent_class)->dispose (object);
}

static void
cohort_worker_finalize (GObject *object)
{
  CohortWorker *self = (CohortWorker *) object;
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_clear_pointer (&priv->spec, cohort_cluster_spec_unref);
  g_clear_pointer (&priv->last_exit, g_free);
  g_clear_pointer (&priv->reason, g_free);
  g_clear_pointer (&priv->restart_reason, g_free);
  g_queue_clear_full (&priv->output, (GDestroyNotify) cohort_output_line_free);
  if (priv->messages != NULL)
    for (guint i = 0; i < MAX_MESSAGES; i++)
      g_free (priv->messages[i].message.json);
  g_clear_pointer (&priv->messages, g_free);
  if (priv->send_buffer != NULL)
    g_string_free (priv->send_buffer, TRUE);
  g_clear_pointer (&priv->last_bad_message, g_free);

  G_OBJECT_CLASS (cohort_worker_parent_class)->finalize (object);
}

static void
cohort_worker_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  CohortWorker *self = COHORT_WORKER (object);
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_CLUSTER:
      g_value_set_object (value, priv->cluster);
      break;
    case PROP_SPEC:
      g_value_set_boxed (value, priv->spec);
      break;
    case PROP_ID:
      g_value_set_uint (value, priv->id);
      break;
    case PROP_STATE:
      g_value_set_int (value, priv->state);
      break;
    case PROP_RESTARTS:
      g_value_set_uint (value, priv->restarts);
      break;
    case PROP_LAST_EXIT:
      g_value_set_string (value, priv->last_exit);
      break;
    case PROP_REASON:
      g_value_set_string (value, priv->reason);
      break;
    case PROP_STOP_STEP:
      g_value_set_int (value, priv->stop_step);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cohort_worker_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  CohortWorker *self = COHORT_WORKER (object);
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_CLUSTER:
      g_set_weak_pointer (&priv->cluster, g_value_get_object (value));
      break;
    case PROP_SPEC:
      priv->spec = g_value_dup_boxed (value);
      break;
    case PROP_ID:
      priv->id = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cohort_worker_class_init (CohortWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cohort_worker_dispose;
  object_class->finalize = cohort_worker_finalize;
  object_class->get_property = cohort_worker_get_property;
  object_class->set_property = cohort_worker_set_property;

  properties[PROP_CLUSTER] =
    g_param_spec_object ("cluster", NULL, NULL, G_TYPE_OBJECT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SPEC] =
    g_param_spec_boxed ("spec", NULL, NULL, COHORT_TYPE_CLUSTER_SPEC,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                        G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ID] =
    g_param_spec_uint ("id", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL,
                      COHORT_WORKER_STATE_STARTING, COHORT_WORKER_STATE_ERRORED,
                      COHORT_WORKER_STATE_STOPPED,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_RESTARTS] =
    g_param_spec_uint ("restarts", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LAST_EXIT] =
    g_param_spec_string ("last-exit", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_REASON] =
    g_param_spec_string ("reason", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STOP_STEP] =
    g_param_spec_int ("stop-step", NULL, NULL,
                      COHORT_STOP_STEP_NONE, COHORT_STOP_STEP_KILL, COHORT_STOP_STEP_NONE,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CohortWorker::output:
   * @stream: a #CohortOutputStream
   * @line: one line of output, without its newline
   */
  signals[OUTPUT] =
    g_signal_new ("output", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_STRING);

  /**
   * CohortWorker::restart-scheduled:
   * @delay_ms: how long the worker waits before it starts again
   * @reason: what ended it ("exit 1", "signal 9" …)
   */
  signals[RESTART_SCHEDULED] =
    g_signal_new ("restart-scheduled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);

  /**
   * CohortWorker::message:
   * @message: the #CohortMessage, valid during the emission
   *
   * A message sent to the worker or received from it. Detailed:
   * "message::received" and "message::sent" see one direction only.
   * A handler that wants only replies should say so: then a send emits
   * to nobody, and a short round trip costs one emission, not two.
   */
  signals[MESSAGE] =
    g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  quark_received = g_quark_from_static_string ("received");
  quark_sent = g_quark_from_static_string ("sent");
}

static void
cohort_worker_init (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  priv->state = COHORT_WORKER_STATE_STOPPED;
  g_queue_init (&priv->output);
}

/* Accessors */

guint
cohort_worker_get_id (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), 0);
  return priv->id;
}

CohortCluster *
cohort_worker_get_cluster (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), NULL);
  return priv->cluster;
}

CohortClusterSpec *
cohort_worker_get_spec (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), NULL);
  return priv->spec;
}

CohortWorkerState
cohort_worker_get_state (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), COHORT_WORKER_STATE_STOPPED);
  return priv->state;
}

/* Something was launched and has not yet been seen to end. */
gboolean
cohort_worker_is_running (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), FALSE);
  return priv->state == COHORT_WORKER_STATE_STARTING ||
         priv->state == COHORT_WORKER_STATE_ONLINE ||
         priv->state == COHORT_WORKER_STATE_STOPPING;
}

guint
cohort_worker_get_restarts (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), 0);
  return priv->restarts;
}

const char *
cohort_worker_get_last_exit (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), NULL);
  return priv->last_exit;
}

/* Why the worker is waiting, errored or stopped: "restart in 400 ms after
 * exit 1", "cannot execute: …", "crashed 16 times within 1 s". */
const char *
cohort_worker_get_reason (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), NULL);
  return priv->reason;
}

CohortStopStep
cohort_worker_get_stop_step (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), COHORT_STOP_STEP_NONE);
  return priv->stop_step;
}

/* Monotonic µs at which the ladder takes its next step; 0 when none. */
gint64
cohort_worker_get_stop_deadline (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), 0);
  return priv->stop_deadline;
}

double
cohort_worker_get_uptime (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), 0);
  if (priv->started_at == 0)
    return 0;
  return (g_get_monotonic_time () - priv->started_at) / (double) G_USEC_PER_SEC;
}

guint
cohort_worker_get_next_restart_delay (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), 0);
  return priv->next_delay_ms;
}

/* Lifecycle */

void
_cohort_worker_set_online (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_clear_handle_id (&priv->ready_source, g_source_remove);
  if (priv->state == COHORT_WORKER_STATE_STARTING)
    set_state (self, COHORT_WORKER_STATE_ONLINE);
}

static void advance_stop (CohortWorker *self, CohortStopStep step);

/* Not ready in time: stopped like any other worker, then restarted under
 * the restart policy, with "timeout" as its exit. */
static gboolean
ready_timeout_cb (gpointer data)
{
  CohortWorker *self = data;
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  priv->ready_source = 0;
  if (priv->state != COHORT_WORKER_STATE_STARTING)
    return G_SOURCE_REMOVE;

  priv->ready_timed_out = TRUE;
  set_state (self, COHORT_WORKER_STATE_STOPPING);
  advance_stop (self, COHORT_STOP_STEP_MESSAGE);
  return G_SOURCE_REMOVE;
}

/* Not retried: a program that cannot be executed will not be on the
 * next try either. */
void
_cohort_worker_launch_failed (CohortWorker *self,
                              const GError *error)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);
  g_autofree char *reason = g_strdup_printf (_("cannot start: %s"), error->message);

  g_clear_handle_id (&priv->stop_source, g_source_remove);
  g_clear_handle_id (&priv->ready_source, g_source_remove);
  priv->ready_timed_out = FALSE;
  priv->started_at = 0;
  priv->stop_deadline = 0;
  priv->stop_step = COHORT_STOP_STEP_NONE;
  priv->start_after_stop = FALSE;
  set_string (self, &priv->last_exit, _("not started"), PROP_LAST_EXIT);
  set_string (self, &priv->reason, reason, PROP_REASON);
  set_state (self, COHORT_WORKER_STATE_ERRORED);
}

static gboolean
has_begun (CohortWorker *self)
{
  CohortWorkerClass *klass = COHORT_WORKER_GET_CLASS (self);

  return klass->has_begun == NULL || klass->has_begun (self);
}

/* A worker without a handshake, until its program runs: well under a
 * millisecond after launch (an exec). An exit meanwhile (a failed exec)
 * clears the source with the handshake's. */
static gboolean
begun_cb (gpointer data)
{
  CohortWorker *self = data;
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  if (cohort_worker_get_state (self) == COHORT_WORKER_STATE_STARTING && !has_begun (self))
    return G_SOURCE_CONTINUE;
  priv->ready_source = 0;
  if (cohort_worker_get_state (self) == COHORT_WORKER_STATE_STARTING)
    set_state (self, COHORT_WORKER_STATE_ONLINE);
  return G_SOURCE_REMOVE;
}

static void
launch (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);
  g_autoptr(GError) error = NULL;

  g_clear_handle_id (&priv->restart_source, g_source_remove);
  priv->stop_step = COHORT_STOP_STEP_NONE;
  priv->stop_deadline = 0;
  priv->started_at = g_get_monotonic_time ();
  set_string (self, &priv->reason, NULL, PROP_REASON);
  set_state (self, COHORT_WORKER_STATE_STARTING);

  if (!COHORT_WORKER_GET_CLASS (self)->launch (self, &error))
    {
      _cohort_worker_launch_failed (self, error);
      return;
    }

  /* Without a readiness handshake, a worker whose program runs is online:
   * for a process, once it has exec'd (cohort_spawn() does not wait for
   * that), so that one whose exec fails goes from starting to errored and
   * a reload never takes it for a working replacement. */
  g_clear_handle_id (&priv->ready_source, g_source_remove);
  if (priv->spec->ready_timeout_s <= 0)
    {
      if (begun_cb (self) == G_SOURCE_CONTINUE)
        priv->ready_source = g_timeout_add (BEGUN_POLL_MS, begun_cb, self);
    }
  else
    {
      priv->ready_timed_out = FALSE;
      priv->ready_source = g_timeout_add ((guint) (priv->spec->ready_timeout_s * 1000),
                                          ready_timeout_cb, self);
    }
}

/**
 * cohort_worker_start:
 *
 * Starts a worker that is not running, with a fresh restart budget.
 */
void
cohort_worker_start (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_if_fail (COHORT_IS_WORKER (self));

  if (cohort_worker_is_running (self))
    return;

  priv->quick_crashes = 0;
  priv->next_delay_ms = 0;
  priv->start_after_stop = FALSE;
  launch (self);
}

static gboolean
stop_timeout_cb (gpointer data)
{
  CohortWorker *self = data;
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  priv->stop_source = 0;
  advance_stop (self, priv->stop_step + 1);
  return G_SOURCE_REMOVE;
}

/* Take @step, or the first later step that applies; each but the last
 * waits StopTimeout for the worker to end. */
static void
advance_stop (CohortWorker   *self,
              CohortStopStep  step)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);
  CohortWorkerClass *klass = COHORT_WORKER_GET_CLASS (self);

  g_clear_handle_id (&priv->stop_source, g_source_remove);

  for (; step <= COHORT_STOP_STEP_KILL; step++)
    if (klass->stop_step (self, step))
      break;

  if (step > COHORT_STOP_STEP_KILL)
    return;

  set_stop_step (self, step);
  if (step < COHORT_STOP_STEP_KILL)
    {
      guint timeout_ms = (guint) (priv->spec->stop_timeout_s * 1000);

      priv->stop_deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
      priv->stop_source = g_timeout_add (timeout_ms, stop_timeout_cb, self);
    }
  else
    priv->stop_deadline = 0;
}

static void
begin_stop (CohortWorker   *self,
            CohortStopStep  first_step)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  switch (priv->state)
    {
    case COHORT_WORKER_STATE_WAITING:
      g_clear_handle_id (&priv->restart_source, g_source_remove);
      if (priv->start_after_stop)
        {
          priv->start_after_stop = FALSE;
          launch (self);
          return;
        }
      set_string (self, &priv->reason, NULL, PROP_REASON);
      set_state (self, COHORT_WORKER_STATE_STOPPED);
      return;

    case COHORT_WORKER_STATE_STARTING:
    case COHORT_WORKER_STATE_ONLINE:
      set_state (self, COHORT_WORKER_STATE_STOPPING);
      advance_stop (self, first_step);
      return;

    case COHORT_WORKER_STATE_STOPPING:
      /* A kill during a graceful stop skips the rest of the ladder. */
      if (first_step > priv->stop_step)
        advance_stop (self, first_step);
      return;

    case COHORT_WORKER_STATE_STOPPED:
    case COHORT_WORKER_STATE_EXITED:
    case COHORT_WORKER_STATE_KILLED:
    case COHORT_WORKER_STATE_ERRORED:
    default:
      return;
    }
}

/**
 * cohort_worker_stop:
 *
 * Stops the worker gracefully: StopMessage, then StopSignal, then SIGKILL,
 * each after StopTimeout. A worker waiting to restart simply stays down.
 */
void
cohort_worker_stop (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_if_fail (COHORT_IS_WORKER (self));

  priv->start_after_stop = FALSE;
  priv->ready_timed_out = FALSE;
  begin_stop (self, COHORT_STOP_STEP_MESSAGE);
}

/**
 * cohort_worker_kill:
 *
 * SIGKILL now (to the whole process group), no restart.
 */
void
cohort_worker_kill (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_if_fail (COHORT_IS_WORKER (self));

  priv->start_after_stop = FALSE;
  priv->ready_timed_out = FALSE;
  begin_stop (self, COHORT_STOP_STEP_KILL);
}

/**
 * cohort_worker_restart:
 * @reason: (nullable): why, kept as the worker's reason
 *
 * Stops the worker gracefully and starts it again; counts a restart.
 */
void
cohort_worker_restart (CohortWorker *self,
                       const char   *reason)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_if_fail (COHORT_IS_WORKER (self));

  g_free (priv->restart_reason);
  priv->restart_reason = g_strdup (reason);

  if (!cohort_worker_is_running (self))
    {
      g_clear_handle_id (&priv->restart_source, g_source_remove);
      priv->quick_crashes = 0;
      priv->next_delay_ms = 0;
      priv->restarts++;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESTARTS]);
      launch (self);
      return;
    }

  priv->start_after_stop = TRUE;
  begin_stop (self, COHORT_STOP_STEP_MESSAGE);
}

static gboolean
restart_timeout_cb (gpointer data)
{
  CohortWorker *self = data;
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  priv->restart_source = 0;
  priv->restarts++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESTARTS]);
  launch (self);
  return G_SOURCE_REMOVE;
}

char *
_cohort_describe_wait_status (int wait_status)
{
  if (WIFEXITED (wait_status))
    return g_strdup_printf ("exit %d", WEXITSTATUS (wait_status));
  if (WIFSIGNALED (wait_status))
    return g_strdup_printf ("signal %d", WTERMSIG (wait_status));
  return g_strdup_printf ("status %d", wait_status);
}

/* The restart policy: a worker that lived MinUptime starts afresh after
 * RestartDelay; a quick crash doubles the delay (up to RestartDelayMax),
 * and more than MaxRestarts quick crashes in a row leave it errored. */
static void
apply_restart_policy (CohortWorker *self,
                      int           wait_status,
                      double        uptime)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);
  const CohortClusterSpec *spec = priv->spec;
  gboolean clean_exit = WIFEXITED (wait_status) && WEXITSTATUS (wait_status) == 0;
  g_autofree char *reason = NULL;
  guint64 delay;

  if (spec->restart == COHORT_RESTART_NEVER ||
      (spec->restart == COHORT_RESTART_ON_FAILURE && clean_exit))
    {
      set_state (self, WIFSIGNALED (wait_status) ? COHORT_WORKER_STATE_KILLED
                                                 : COHORT_WORKER_STATE_EXITED);
      return;
    }

  if (uptime >= spec->min_uptime_s)
    priv->quick_crashes = 0;
  else
    priv->quick_crashes++;

  if (priv->quick_crashes > spec->max_restarts)
    {
      reason = g_strdup_printf (ngettext ("gave up after %u quick crash in a row (last: %s)",
                                          "gave up after %u quick crashes in a row (last: %s)",
                                          priv->quick_crashes),
                                priv->quick_crashes, priv->last_exit);
      priv->next_delay_ms = 0;
      set_string (self, &priv->reason, reason, PROP_REASON);
      set_state (self, COHORT_WORKER_STATE_ERRORED);
      return;
    }

  delay = spec->restart_delay_ms;
  for (guint i = 1; i < priv->quick_crashes && delay < spec->restart_delay_max_ms; i++)
    delay *= 2;
  delay = MIN (delay, spec->restart_delay_max_ms);
  priv->next_delay_ms = (guint) delay;

  reason = g_strdup_printf (_("restarting in %u ms after %s"), priv->next_delay_ms, priv->last_exit);
  set_string (self, &priv->reason, reason, PROP_REASON);
  set_state (self, COHORT_WORKER_STATE_WAITING);
  priv->restart_source = g_timeout_add (priv->next_delay_ms, restart_timeout_cb, self);
  g_signal_emit (self, signals[RESTART_SCHEDULED], 0, priv->next_delay_ms, priv->last_exit);
}

void
_cohort_worker_exited (CohortWorker *self,
                       int           wait_status)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);
  g_autofree char *last_exit = _cohort_describe_wait_status (wait_status);
  double uptime = cohort_worker_get_uptime (self);
  g_autoptr(CohortWorker) hold = g_object_ref (self);

  g_clear_handle_id (&priv->stop_source, g_source_remove);
  g_clear_handle_id (&priv->ready_source, g_source_remove);
  priv->started_at = 0;
  priv->stop_deadline = 0;

  if (priv->ready_timed_out)
    {
      priv->ready_timed_out = FALSE;
      priv->stop_step = COHORT_STOP_STEP_NONE;
      set_string (self, &priv->last_exit, "timeout", PROP_LAST_EXIT);
      /* As a failure: a worker that never gets ready must not loop. */
      apply_restart_policy (self, 1 << 8, uptime);
      if (priv->state == COHORT_WORKER_STATE_WAITING || priv->state == COHORT_WORKER_STATE_ERRORED)
        {
          g_autofree char *reason =
            g_strdup_printf (_("not ready within %g s; %s"), priv->spec->ready_timeout_s, priv->reason);

          set_string (self, &priv->reason, reason, PROP_REASON);
        }
      return;
    }

  set_string (self, &priv->last_exit, last_exit, PROP_LAST_EXIT);

  if (priv->state == COHORT_WORKER_STATE_STOPPING)
    {
      g_autofree char *reason = NULL;

      if (priv->start_after_stop)
        {
          priv->start_after_stop = FALSE;
          priv->quick_crashes = 0;
          priv->next_delay_ms = 0;
          priv->restarts++;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESTARTS]);
          launch (self);
          if (priv->restart_reason != NULL)
            set_string (self, &priv->reason, priv->restart_reason, PROP_REASON);
          return;
        }

      reason = g_strdup_printf (_("stopped by %s"),
                                cohort_stop_step_to_string (priv->stop_step));
      set_string (self, &priv->reason, reason, PROP_REASON);
      set_state (self, COHORT_WORKER_STATE_STOPPED);
      return;
    }

  priv->stop_step = COHORT_STOP_STEP_NONE;
  apply_restart_policy (self, wait_status, uptime);
}

void
_cohort_worker_set_retiring (CohortWorker *self,
                             gboolean      retiring)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  priv->retiring = retiring;
  _cohort_worker_note_sample_change ();
}

gboolean
_cohort_worker_get_retiring (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  return priv->retiring;
}

/* Output */

/* Copies of the newest @max items of @queue (all for 0), oldest first. */
static GPtrArray *
copy_tail (GQueue         *queue,
           guint           max,
           GBoxedCopyFunc  copy,
           GDestroyNotify  free_func)
{
  GPtrArray *items = g_ptr_array_new_with_free_func (free_func);
  guint skip = max > 0 && queue->length > max ? queue->length - max : 0;
  GList *l = g_queue_peek_nth_link (queue, skip);

  for (; l != NULL; l = l->next)
    g_ptr_array_add (items, copy (l->data));
  return items;
}

static CohortOutputLine *
output_line_copy (const CohortOutputLine *line)
{
  CohortOutputLine *copy = g_memdup2 (line, sizeof *line);

  copy->text = g_strdup (line->text);
  return copy;
}

static CohortMessage *
message_copy (const CohortMessage *message)
{
  CohortMessage *copy = g_memdup2 (message, sizeof *message);

  copy->json = g_strdup (message->json);
  return copy;
}

void
_cohort_worker_append_output (CohortWorker       *self,
                              CohortOutputStream  stream,
                              const char         *text,
                              gsize               length)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);
  CohortOutputLine *line;

  line = g_new0 (CohortOutputLine, 1);
  line->time = g_get_real_time ();
  line->stream = stream;
  /* Output is bytes; what is kept and shown is text. */
  line->text = g_utf8_make_valid (text, length);

  g_queue_push_tail (&priv->output, line);
  if (priv->output.length > MAX_OUTPUT_LINES)
    cohort_output_line_free (g_queue_pop_head (&priv->output));

  g_signal_emit (self, signals[OUTPUT], 0, (int) stream, line->text);
}

/**
 * cohort_worker_dup_output:
 * @max_lines: at most this many of the newest lines; 0 for all kept
 *
 * Returns: (transfer container) (element-type CohortOutputLine): the
 *   newest captured lines, oldest first
 */
GPtrArray *
cohort_worker_dup_output (CohortWorker *self,
                          guint         max_lines)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), NULL);
  return copy_tail (&priv->output, max_lines, (GBoxedCopyFunc) output_line_copy,
                    (GDestroyNotify) cohort_output_line_free);
}

/* Messages */

void
cohort_message_free (CohortMessage *message)
{
  if (message == NULL)
    return;
  g_free (message->json);
  g_free (message);
}

/* The place of the @i-th oldest kept message. */
static inline KeptMessage *
kept_message (CohortWorkerPrivate *priv,
              guint                i)
{
  return &priv->messages[(priv->messages_first + i) % MAX_MESSAGES];
}

/* The place for a new message: a free one, or the oldest. */
static KeptMessage *
take_place (CohortWorkerPrivate *priv)
{
  KeptMessage *kept;

  if (priv->messages == NULL)
    priv->messages = g_new0 (KeptMessage, MAX_MESSAGES);
  if (priv->messages_count < MAX_MESSAGES)
    return kept_message (priv, priv->messages_count++);
  kept = kept_message (priv, 0);
  priv->messages_first = (priv->messages_first + 1) % MAX_MESSAGES;
  return kept;
}

/* Room for @size bytes at @kept's text; what was there is not kept. */
static void
make_room (KeptMessage *kept,
           gsize        size)
{
  if (kept->size >= size)
    return;
  g_assert (size <= MAX_KEPT_MESSAGE + 1);
  /* Powers of two from 64 (up to the largest kept message): messages of
   * similar sizes reuse the buffer. */
  kept->size = CLAMP ((gsize) 1 << g_bit_storage (size - 1), 64, MAX_KEPT_MESSAGE + 1);
  g_free (kept->message.json);
  kept->message.json = g_malloc (kept->size);
}

/* {"not_kept":true,"bytes":LENGTH} into @out (64 bytes at least), what
 * the history keeps of a long message: by hand, since g_snprintf() cost a
 * long message's round trip as much as a percent. */
static void
write_not_kept (char  *out,
                gsize  length)
{
  static const char head[] = "{\"not_kept\":true,\"bytes\":";
  char digits[24];
  guint n = 0;

  do
    {
      digits[n++] = (char) ('0' + length % 10);
      length /= 10;
    }
  while (length > 0);
  memcpy (out, head, sizeof head - 1);
  out += sizeof head - 1;
  while (n > 0)
    *out++ = digits[--n];
  *out++ = '}';
  *out = '\0';
}

static void
record_message (CohortWorker *self,
                gboolean      outgoing,
                const char   *json,
                gsize         length)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);
  KeptMessage *kept = take_place (priv);
  CohortMessage *message = &kept->message;

  message->time = g_get_real_time ();
  message->worker = priv->id;
  message->outgoing = outgoing;
  if (length <= MAX_KEPT_MESSAGE)
    {
      make_room (kept, length + 1);
      memcpy (message->json, json, length);
      message->json[length] = '\0';
    }
  else
    {
      make_room (kept, 64);
      write_not_kept (message->json, length);
    }

  /* With the direction as detail, a send emits to nobody when only
   * "message::received" handlers are connected: GLib finds no handler of
   * that detail and returns at once (20 ns here, against 100 ns for an
   * emission with one handler). */
  g_signal_emit (self, signals[MESSAGE], outgoing ? quark_sent : quark_received, message);
}

/* @node is NULL for a message the channel did not parse: valid JSON that
 * cannot be "ready" nor {"ready": true}. */
static gboolean
is_ready_message (JsonNode *node)
{
  if (node == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_VALUE (node))
    return json_node_get_value_type (node) == G_TYPE_STRING &&
           g_strcmp0 (json_node_get_string (node), "ready") == 0;
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonNode *ready = json_object_get_member (json_node_get_object (node), "ready");

      return ready != NULL && JSON_NODE_HOLDS_VALUE (ready) &&
             json_node_get_value_type (ready) == G_TYPE_BOOLEAN &&
             json_node_get_boolean (ready);
    }
  return FALSE;
}

void
_cohort_worker_received (CohortWorker *self,
                         JsonNode     *node,
                         const char   *text,
                         guint64       bytes)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);
  g_autoptr(CohortWorker) hold = NULL;

  priv->messages_in++;
  priv->bytes_in += bytes + 1;
  traffic++;
  /* A handler of the message may drop the last reference to the worker:
   * past the emission it is touched only while it starts, under a
   * reference held for that (not for every message). */
  if (priv->state == COHORT_WORKER_STATE_STARTING)
    hold = g_object_ref (self);
  record_message (self, FALSE, text, bytes);

  /* "ready" is the handshake; without one, any message shows that the
   * program runs (nothing else writes to the channel), sooner than
   * begun_cb() would. */
  if (hold != NULL && priv->state == COHORT_WORKER_STATE_STARTING &&
      (priv->spec->ready_timeout_s <= 0 || is_ready_message (node)))
    _cohort_worker_set_online (self);
}

void
_cohort_worker_bad_message (CohortWorker *self,
                            const char   *reason)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  priv->bad_messages++;
  if (g_strcmp0 (priv->last_bad_message, reason) != 0)
    {
      g_free (priv->last_bad_message);
      priv->last_bad_message = g_strdup (reason);
    }
}

/* The one way out of cohort_worker_send() and cohort_worker_send_prepared():
 * counted and kept as sent once the worker has taken it. */
static gboolean
send_text (CohortWorker  *self,
           const char    *json,
           gsize          length,
           GError       **error)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);
  CohortWorkerClass *klass = COHORT_WORKER_GET_CLASS (self);

  if (klass->send_line == NULL || !cohort_worker_is_running (self))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   _("worker %u is not running"), priv->id);
      return FALSE;
    }
  if (!klass->send_line (self, json, length, error))
    return FALSE;
  _cohort_worker_record_sent (self, json, length);
  return TRUE;
}

/**
 * cohort_worker_send:
 * @message: any JSON value but an object whose "cmd" starts with NODE_
 *   (those are Node's own)
 *
 * Serializes @message and sends it. A message sent to many workers, or
 * many times, is better prepared once (cohort_message_prepare()).
 *
 * Returns: %FALSE if the worker has no open channel, or does not read
 *   what it is sent (its queue is full): nothing is silently lost
 */
gboolean
cohort_worker_send (CohortWorker  *self,
                    JsonNode      *message,
                    GError       **error)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);
  g_autoptr(CohortWorker) hold = NULL;
  GString *json;
  gboolean sent;

  g_return_val_if_fail (COHORT_IS_WORKER (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  /* The send buffer is put back after the "message" emission, whose
   * handler may drop the last reference to the worker. */
  hold = g_object_ref (self);

  /* The buffer of the last send, unless a handler of this one is
   * sending (then it is in use). Serializing first also tells Node's
   * internal messages, without a lookup of their own. */
  json = g_steal_pointer (&priv->send_buffer);
  if (json == NULL)
    json = g_string_sized_new (256);
  sent = cohort_json_append_sendable (json, message, error) &&
         send_text (self, json->str, json->len, error);

  if (json->allocated_len <= MAX_SEND_BUFFER && priv->send_buffer == NULL)
    priv->send_buffer = g_string_truncate (json, 0);
  else
    g_string_free (json, TRUE);
  return sent;
}

/**
 * cohort_worker_send_prepared:
 * @message: from cohort_message_prepare()
 *
 * cohort_worker_send() without the serialization: the prepared text goes
 * out as it is. Counted and kept in the history the same way.
 *
 * Returns: %FALSE as cohort_worker_send() does
 */
gboolean
cohort_worker_send_prepared (CohortWorker           *self,
                             CohortPreparedMessage  *message,
                             GError                **error)
{
  const char *json;
  gsize length;

  g_return_val_if_fail (COHORT_IS_WORKER (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  json = cohort_prepared_message_get_text (message, &length);
  return send_text (self, json, length, error);
}

guint64
cohort_worker_get_messages_in (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), 0);
  return priv->messages_in;
}

guint64
cohort_worker_get_messages_out (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), 0);
  return priv->messages_out;
}

guint64
cohort_worker_get_bytes_in (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), 0);
  return priv->bytes_in;
}

guint64
cohort_worker_get_bytes_out (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), 0);
  return priv->bytes_out;
}

guint64
cohort_worker_get_bad_messages (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), 0);
  return priv->bad_messages;
}

/* Why the last bad message was dropped, or NULL. */
const char *
cohort_worker_get_last_bad_message (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_return_val_if_fail (COHORT_IS_WORKER (self), NULL);
  return priv->last_bad_message;
}

/**
 * cohort_worker_dup_messages:
 * @max_messages: at most this many of the newest; 0 for all kept
 *
 * Returns: (transfer container) (element-type CohortMessage): recent
 *   messages in and out, oldest first
 */
GPtrArray *
cohort_worker_dup_messages (CohortWorker *self,
                            guint         max_messages)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);
  GPtrArray *messages;
  guint skip;

  g_return_val_if_fail (COHORT_IS_WORKER (self), NULL);

  messages = g_ptr_array_new_full (priv->messages_count, (GDestroyNotify) cohort_message_free);
  skip = max_messages > 0 && priv->messages_count > max_messages ? priv->messages_count - max_messages : 0;
  for (guint i = skip; i < priv->messages_count; i++)
    g_ptr_array_add (messages, message_copy (&kept_message (priv, i)->message));
  return messages;
}

/* Reload */

/* Older messages first, then whatever the replacement already exchanged;
 * @old keeps none. */
static void
inherit_messages (CohortWorkerPrivate *priv,
                  CohortWorkerPrivate *old)
{
  guint total = old->messages_count + priv->messages_count;
  guint skip = total > MAX_MESSAGES ? total - MAX_MESSAGES : 0;
  KeptMessage *merged;

  if (old->messages_count == 0)
    return;

  merged = g_new0 (KeptMessage, MAX_MESSAGES);
  for (guint i = 0; i < total; i++)
    {
      KeptMessage *kept = i < old->messages_count ? kept_message (old, i)
                                                  : kept_message (priv, i - old->messages_count);

      if (i >= skip)
        merged[i - skip] = *kept;
      else
        g_free (kept->message.json);
      *kept = (KeptMessage) { 0, };
    }
  /* The places never used, or emptied above, hold no buffer now. */
  for (guint i = 0; priv->messages != NULL && i < MAX_MESSAGES; i++)
    g_free (priv->messages[i].message.json);
  for (guint i = 0; i < MAX_MESSAGES; i++)
    g_free (old->messages[i].message.json);
  g_free (priv->messages);
  priv->messages = merged;
  priv->messages_first = 0;
  priv->messages_count = total - skip;
  g_clear_pointer (&old->messages, g_free);
  old->messages_first = 0;
  old->messages_count = 0;
}

/* A reload's replacement takes over the slot's history: its restarts (one
 * more), counters, output and messages. */
void
_cohort_worker_inherit (CohortWorker *self,
                        CohortWorker *predecessor)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);
  CohortWorkerPrivate *old = cohort_worker_get_instance_private (predecessor);

  priv->restarts = old->restarts + 1;
  priv->messages_in = old->messages_in;
  priv->messages_out = old->messages_out;
  priv->bytes_in = old->bytes_in;
  priv->bytes_out = old->bytes_out;
  traffic++;
  priv->bad_messages = old->bad_messages;
  g_free (priv->last_bad_message);
  priv->last_bad_message = g_strdup (old->last_bad_message);

  /* Older lines first, then whatever the replacement already said. */
  while (old->output.length > 0)
    g_queue_push_head (&priv->output, g_queue_pop_tail (&old->output));
  while (priv->output.length > MAX_OUTPUT_LINES)
    cohort_output_line_free (g_queue_pop_head (&priv->output));
  inherit_messages (priv, old);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESTARTS]);
}

void
_cohort_worker_set_incoming (CohortWorker *self,
                             gboolean      incoming)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  priv->incoming = incoming;
  _cohort_worker_note_sample_change ();
}

gboolean
_cohort_worker_get_incoming (CohortWorker *self)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  return priv->incoming;
}

/* How many times any worker's state, incoming or retiring flag has
 * changed: while it stays the same, what a sampler noted of them holds. */
guint
_cohort_worker_get_sample_changes (void)
{
  return sample_changes;
}

/* A worker's state or reload flag changed, or a cluster's list of
 * workers is about to (counted before the list's own signal, so that a
 * tick taken from any handler of it notes the workers afresh instead of
 * reading one just dropped). */
void
_cohort_worker_note_sample_change (void)
{
  sample_changes++;
}

/* Changes of any worker's counters (_cohort_worker_peek_counters()): a
 * sampler's tick that finds it as it was at the last tick, with the same
 * workers, reads no worker's counters. */
guint64
_cohort_worker_get_traffic (void)
{
  return traffic;
}

/* Messages and bytes in and out, in that order: all that a sampler's
 * tick reads of a worker object (32 bytes side by side), with no type
 * check. */
void
_cohort_worker_peek_counters (CohortWorker *self,
                              guint64       counters[4])
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  counters[0] = priv->messages_in;
  counters[1] = priv->messages_out;
  counters[2] = priv->bytes_in;
  counters[3] = priv->bytes_out;
}

/* The cluster's spec was edited. The restart policy, the stop ladder, the
 * readiness timeout and the rest are read from the spec when they are
 * needed, so they follow the new one from now on; what a launch uses
 * (argv, environment …) reaches the process or thread at its next start. */
void
_cohort_worker_set_spec (CohortWorker      *self,
                         CohortClusterSpec *spec)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  g_assert (spec != NULL);

  if (priv->spec == spec)
    return;
  cohort_cluster_spec_ref (spec);
  g_clear_pointer (&priv->spec, cohort_cluster_spec_unref);
  priv->spec = spec;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPEC]);
}

/* A thread worker's task failed or timed out: the thread goes on with the
 * next task, but the failure counts as a restart, with its reason. */
void
_cohort_worker_count_restart (CohortWorker *self,
                              const char   *last_exit,
                              const char   *reason)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  priv->restarts++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESTARTS]);
  set_string (self, &priv->last_exit, last_exit, PROP_LAST_EXIT);
  set_string (self, &priv->reason, reason, PROP_REASON);
}

/* A message that reached the worker other than through send_line (a
 * thread worker picking a task from its cluster's queue). */
void
_cohort_worker_record_sent (CohortWorker *self,
                            const char   *json,
                            gsize         length)
{
  CohortWorkerPrivate *priv = cohort_worker_get_instance_private (self);

  priv->messages_out++;
  priv->bytes_out += length + 1;
  traffic++;
  record_message (self, TRUE, json, length);
}
