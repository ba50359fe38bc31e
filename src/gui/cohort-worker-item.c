/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-worker-item.c: what the worker table shows of a worker, as
 * properties the table's cells bind to. Survivors are updated in place at
 * every sample (a property changes only when its text does), never
 * rebuilt, so the table does not flicker or lose its selection. */

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "cohort-process-worker.h"
#include "cohort-thread-worker.h"
#include "cohort-worker-item.h"

struct _CohortWorkerItem
{
  GObject        parent_instance;

  CohortWorker  *worker;
  CohortSampler *sampler;

  char          *pid;
  char          *state;
  char          *state_class;
  char          *uptime;
  char          *restarts;
  char          *cpu;
  char          *memory;
  char          *messages;
  char          *last_exit;
  char          *color;
};

G_DEFINE_FINAL_TYPE (CohortWorkerItem, cohort_worker_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_WORKER,
  PROP_ID,
  PROP_PID,
  PROP_STATE,
  PROP_STATE_CLASS,
  PROP_UPTIME,
  PROP_RESTARTS,
  PROP_CPU,
  PROP_MEMORY,
  PROP_MESSAGES,
  PROP_LAST_EXIT,
  PROP_COLOR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
set_text (CohortWorkerItem  *self,
          char             **field,
          char              *value,  /* owned */
          guint              prop)
{
  if (g_strcmp0 (*field, value) == 0)
    {
      g_free (value);
      return;
    }
  g_free (*field);
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static char *
format_duration (double seconds)
{
  if (seconds <= 0)
    return g_strdup ("—");
  if (seconds < 60)
    return g_strdup_printf ("%.0f s", seconds);
  if (seconds < 3600)
    return g_strdup_printf ("%.0f min", floor (seconds / 60));
  if (seconds < 86400)
    return g_strdup_printf ("%.0f h %02.0f", floor (seconds / 3600), fmod (floor (seconds / 60), 60));
  return g_strdup_printf ("%.1f d", seconds / 86400);
}

static const char *
state_class (CohortWorkerState state)
{
  switch (state)
    {
    case COHORT_WORKER_STATE_ONLINE:   return "state-online";
    case COHORT_WORKER_STATE_STARTING:
    case COHORT_WORKER_STATE_STOPPING:
    case COHORT_WORKER_STATE_WAITING:  return "state-busy";
    case COHORT_WORKER_STATE_ERRORED:
    case COHORT_WORKER_STATE_KILLED:   return "state-error";
    case COHORT_WORKER_STATE_STOPPED:
    case COHORT_WORKER_STATE_EXITED:
    default:                           return "state-stopped";
    }
}

/* Refreshes every text from the worker and the last sample. */
void
cohort_worker_item_update (CohortWorkerItem *self)
{
  CohortWorker *worker = self->worker;
  CohortWorkerState state = cohort_worker_get_state (worker);
  double cpu = cohort_sampler_get_current (self->sampler, worker, COHORT_METRIC_CPU);
  double rss = cohort_sampler_get_current (self->sampler, worker, COHORT_METRIC_RSS);
  const char *last_exit = cohort_worker_get_last_exit (worker);
  const char *state_text = cohort_worker_state_to_string (state);
  int os_id = 0;

  g_return_if_fail (COHORT_IS_WORKER_ITEM (self));

  if (COHORT_IS_PROCESS_WORKER (worker))
    os_id = cohort_process_worker_get_pid (COHORT_PROCESS_WORKER (worker));
  else if (COHORT_IS_THREAD_WORKER (worker))
    {
      os_id = cohort_thread_worker_get_tid (COHORT_THREAD_WORKER (worker));
      if (state == COHORT_WORKER_STATE_ONLINE)
        state_text = cohort_thread_worker_get_busy (COHORT_THREAD_WORKER (worker)) ? "busy" : "idle";
    }

  set_text (self, &self->pid, os_id > 0 ? g_strdup_printf ("%d", os_id) : g_strdup ("—"), PROP_PID);
  set_text (self, &self->state, g_strdup (state_text), PROP_STATE);
  set_text (self, &self->state_class, g_strdup (state_class (state)), PROP_STATE_CLASS);
  set_text (self, &self->uptime, format_duration (cohort_worker_get_uptime (worker)), PROP_UPTIME);
  set_text (self, &self->restarts, g_strdup_printf ("%u", cohort_worker_get_restarts (worker)), PROP_RESTARTS);
  set_text (self, &self->cpu, isnan (cpu) ? g_strdup ("—") : g_strdup_printf ("%.0f %%", cpu), PROP_CPU);
  set_text (self, &self->memory, isnan (rss) ? g_strdup ("—") : g_format_size_full ((guint64) rss, G_FORMAT_SIZE_IEC_UNITS),
            PROP_MEMORY);
  set_text (self, &self->messages,
            g_strdup_printf ("%" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT,
                             cohort_worker_get_messages_in (worker), cohort_worker_get_messages_out (worker)),
            PROP_MESSAGES);
  set_text (self, &self->last_exit, g_strdup (last_exit != NULL ? last_exit : "—"), PROP_LAST_EXIT);
}

static void
worker_changed_cb (CohortWorkerItem *self)
{
  cohort_worker_item_update (self);
}

static void
cohort_worker_item_dispose (GObject *object)
{
  CohortWorkerItem *self = (CohortWorkerItem *) object;

  g_clear_object (&self->worker);
  g_clear_object (&self->sampler);

  G_OBJECT_CLASS (cohort_worker_item_parent_class)->dispose (object);
}

static void
cohort_worker_item_finalize (GObject *object)
{
  CohortWorkerItem *self = (CohortWorkerItem *) object;

  g_free (self->pid);
  g_free (self->state);
  g_free (self->state_class);
  g_free (self->uptime);
  g_free (self->restarts);
  g_free (self->cpu);
  g_free (self->memory);
  g_free (self->messages);
  g_free (self->last_exit);
  g_free (self->color);

  G_OBJECT_CLASS (cohort_worker_item_parent_class)->finalize (object);
}

static void
cohort_worker_item_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  CohortWorkerItem *self = COHORT_WORKER_ITEM (object);

  switch (prop_id)
    {
    case PROP_WORKER:      g_value_set_object (value, self->worker); break;
    case PROP_ID:          g_value_set_uint (value, cohort_worker_get_id (self->worker)); break;
    case PROP_PID:         g_value_set_string (value, self->pid); break;
    case PROP_STATE:       g_value_set_string (value, self->state); break;
    case PROP_STATE_CLASS: g_value_set_string (value, self->state_class); break;
    case PROP_UPTIME:      g_value_set_string (value, self->uptime); break;
    case PROP_RESTARTS:    g_value_set_string (value, self->restarts); break;
    case PROP_CPU:         g_value_set_string (value, self->cpu); break;
    case PROP_MEMORY:      g_value_set_string (value, self->memory); break;
    case PROP_MESSAGES:    g_value_set_string (value, self->messages); break;
    case PROP_LAST_EXIT:   g_value_set_string (value, self->last_exit); break;
    case PROP_COLOR:       g_value_set_string (value, self->color); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cohort_worker_item_class_init (CohortWorkerItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cohort_worker_item_dispose;
  object_class->finalize = cohort_worker_item_finalize;
  object_class->get_property = cohort_worker_item_get_property;

#define TEXT_PROP(id, name) \
  properties[id] = g_param_spec_string (name, NULL, NULL, NULL, \
                                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)

  properties[PROP_WORKER] =
    g_param_spec_object ("worker", NULL, NULL, COHORT_TYPE_WORKER,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_ID] =
    g_param_spec_uint ("id", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  TEXT_PROP (PROP_PID, "pid");
  TEXT_PROP (PROP_STATE, "state");
  TEXT_PROP (PROP_STATE_CLASS, "state-class");
  TEXT_PROP (PROP_UPTIME, "uptime");
  TEXT_PROP (PROP_RESTARTS, "restarts");
  TEXT_PROP (PROP_CPU, "cpu");
  TEXT_PROP (PROP_MEMORY, "memory");
  TEXT_PROP (PROP_MESSAGES, "messages");
  TEXT_PROP (PROP_LAST_EXIT, "last-exit");
  TEXT_PROP (PROP_COLOR, "color");
#undef TEXT_PROP

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cohort_worker_item_init (CohortWorkerItem *self)
{
}

CohortWorkerItem *
cohort_worker_item_new (CohortWorker  *worker,
                        CohortSampler *sampler)
{
  CohortWorkerItem *self;

  g_return_val_if_fail (COHORT_IS_WORKER (worker), NULL);

  self = g_object_new (COHORT_TYPE_WORKER_ITEM, NULL);
  self->worker = g_object_ref (worker);
  self->sampler = g_object_ref (sampler);
  g_signal_connect_object (worker, "notify::state", G_CALLBACK (worker_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (worker, "notify::restarts", G_CALLBACK (worker_changed_cb), self, G_CONNECT_SWAPPED);
  cohort_worker_item_update (self);
  return self;
}

CohortWorker *
cohort_worker_item_get_worker (CohortWorkerItem *self)
{
  g_return_val_if_fail (COHORT_IS_WORKER_ITEM (self), NULL);
  return self->worker;
}
