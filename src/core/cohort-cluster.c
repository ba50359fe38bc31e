/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-cluster.c: a named group of workers that share a spec and,
 * optionally, one listening socket.
 *
 * Worker ids are stable slot indices 0..N-1: scaling up adds the next
 * ids, scaling down retires the highest ones (stopped gracefully, then
 * removed from the list once they have exited), and a restarted worker
 * keeps its id. */

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <unistd.h>

#include "cohort-channel.h"
#include "cohort-cluster-private.h"
#include "cohort-json.h"
#include "cohort-listen.h"
#include "cohort-process-worker.h"
#include "cohort-thread-worker.h"
#include "cohort-worker-private.h"

/* Whole seconds: GLib fires such timers together, so the check shares the
 * sampler's wake-up instead of adding one a second. */
#define MEMORY_CHECK_S 1
#define MAX_SCALE       4096
/* Task timings kept for the percentiles of a thread cluster. */
#define MAX_TIMINGS     1024

struct _CohortCluster
{
  GObject             parent_instance;

  CohortClusterSpec  *spec;
  GListStore         *workers;
  GPtrArray          *worker_array; /* the same workers, borrowed: a walk without refs */
  CohortClusterState  state;
  guint               desired;
  guint               n_online;
  char               *error;

  int                 listen_fd;
  guint16             listen_port;
  guint               memory_check;

  GTask              *reload;

  /* Kind=threads */
  GThreadPool        *pool;
  CohortTaskQueue    *queue;
  GArray             *wait_ms;     /* ring of the last MAX_TIMINGS */
  GArray             *run_ms;
  guint               next_timing;
};

G_DEFINE_FINAL_TYPE (CohortCluster, cohort_cluster, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_SPEC,
  PROP_STATE,
  PROP_DESIRED,
  PROP_N_ONLINE,
  PROP_ERROR,
  N_PROPS
};

enum {
  EVENT,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
set_state (CohortCluster      *self,
           CohortClusterState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_error (CohortCluster *self,
           const char    *error)
{
  if (g_strcmp0 (self->error, error) == 0)
    return;
  g_free (self->error);
  self->error = g_strdup (error);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

static void
close_listen_socket (CohortCluster *self)
{
  if (self->listen_fd >= 0)
    {
      close (self->listen_fd);
      self->listen_fd = -1;
      self->listen_port = 0;
    }
}

static void
end_pool (CohortCluster *self)
{
  /* Every loop has ended by now: the threads are idle, and freeing the
   * pool waits for them. */
  if (self->pool != NULL)
    {
      g_thread_pool_free (self->pool, TRUE, TRUE);
      self->pool = NULL;
    }
  g_clear_pointer (&self->queue, cohort_task_queue_unref);
}

static gboolean
any_running (CohortCluster *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);

      if (cohort_worker_is_running (worker))
        return TRUE;
    }
  return FALSE;
}

static void
update_n_online (CohortCluster *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));
  guint online = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);

      if (cohort_worker_get_state (worker) == COHORT_WORKER_STATE_ONLINE &&
          !_cohort_worker_get_retiring (worker) && !_cohort_worker_get_incoming (worker))
        online++;
    }

  if (online != self->n_online)
    {
      self->n_online = online;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ONLINE]);
    }
}

static void
remove_worker (CohortCluster *self,
               CohortWorker  *worker)
{
  guint position;

  if (g_list_store_find (self->workers, worker, &position))
    {
      _cohort_worker_note_sample_change ();
      g_ptr_array_remove_index (self->worker_array, position);
      g_list_store_remove (self->workers, position);
    }
}

static void
worker_state_cb (CohortCluster *self,
                 GParamSpec    *pspec,
                 CohortWorker  *worker)
{
  gboolean running = cohort_worker_is_running (worker);

  update_n_online (self);

  if (!running && _cohort_worker_get_retiring (worker))
    remove_worker (self, worker);

  if (self->state == COHORT_CLUSTER_STATE_STOPPING && !any_running (self))
    {
      close_listen_socket (self);
      end_pool (self);
      g_clear_handle_id (&self->memory_check, g_source_remove);
      set_state (self, COHORT_CLUSTER_STATE_STOPPED);
    }
}

static int
compare_workers (gconstpointer a,
                 gconstpointer b,
                 gpointer      user_data)
{
  guint id_a = cohort_worker_get_id ((CohortWorker *) a);
  guint id_b = cohort_worker_get_id ((CohortWorker *) b);

  return id_a < id_b ? -1 : id_a > id_b;
}

static CohortWorker *
add_worker (CohortCluster *self,
            guint          id)
{
  g_autoptr(CohortWorker) worker = NULL;
  guint lo = 0;
  guint hi = self->worker_array->len;

  if (self->spec->kind == COHORT_CLUSTER_KIND_THREADS)
    worker = cohort_thread_worker_new (self, self->spec, id);
  else
    worker = cohort_process_worker_new (self, self->spec, id);

  g_signal_connect_object (worker, "notify::state", G_CALLBACK (worker_state_cb),
                           self, G_CONNECT_SWAPPED);
  /* In id order, after a worker of the same id (a reload's replacement
   * comes after the worker it replaces); the array first, so that the
   * store's listeners see both the same. A binary search: a cluster of
   * thousands starts without a quadratic walk. */
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (compare_workers (g_ptr_array_index (self->worker_array, mid), worker, NULL) <= 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  _cohort_worker_note_sample_change ();
  g_ptr_array_insert (self->worker_array, (gint) lo, worker);
  g_list_store_insert (self->workers, lo, worker);
  return worker;
}

/* One pool thread per worker in the list (retiring ones still finish on
 * theirs), so a new worker's loop never waits for a thread. */
static void
workers_changed_cb (CohortCluster *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));

  if (self->pool != NULL && n > 0)
    g_thread_pool_set_max_threads (self->pool, (int) n, NULL);
}

/* MaxMemory: a worker whose resident memory passes the limit is restarted
 * gracefully, as PM2's max_memory_restart does. */
static gboolean
memory_check_cb (gpointer data)
{
  CohortCluster *self = data;
  guint64 limit = self->spec->max_memory_mib * 1024 * 1024;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);
      guint64 rss;

      if (cohort_worker_get_state (worker) != COHORT_WORKER_STATE_ONLINE ||
          !COHORT_IS_PROCESS_WORKER (worker))
        continue;
      rss = cohort_process_worker_get_rss (COHORT_PROCESS_WORKER (worker));
      if (rss > limit)
        {
          g_autofree char *reason =
            g_strdup_printf (_("memory %" G_GUINT64_FORMAT " MiB passed MaxMemory=%" G_GUINT64_FORMAT " MiB"),
                             rss / (1024 * 1024), self->spec->max_memory_mib);

          cohort_worker_restart (worker, reason);
        }
    }
  return G_SOURCE_CONTINUE;
}

static void reload_end (CohortCluster *self, GError *error);

/* GObject */

static void
cohort_cluster_dispose (GObject *object)
{
  CohortCluster *self = (CohortCluster *) object;

  g_clear_handle_id (&self->memory_check, g_source_remove);
  if (self->reload != NULL)
    reload_end (self, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cluster disposed"));
  if (self->workers != NULL)
    {
      _cohort_worker_note_sample_change ();
      g_ptr_array_set_size (self->worker_array, 0);
      g_list_store_remove_all (self->workers);
    }
  g_clear_object (&self->workers);
  close_listen_socket (self);
  end_pool (self);

  G_OBJECT_CLASS (cohort_cluster_parent_class)->dispose (object);
}

static void
cohort_cluster_finalize (GObject *object)
{
  CohortCluster *self = (CohortCluster *) object;

  g_clear_pointer (&self->spec, cohort_cluster_spec_unref);
  g_clear_pointer (&self->worker_array, g_ptr_array_unref);
  g_clear_pointer (&self->error, g_free);
  g_clear_pointer (&self->wait_ms, g_array_unref);
  g_clear_pointer (&self->run_ms, g_array_unref);

  G_OBJECT_CLASS (cohort_cluster_parent_class)->finalize (object);
}

static void
cohort_cluster_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  CohortCluster *self = COHORT_CLUSTER (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->spec->name);
      break;
    case PROP_SPEC:
      g_value_set_boxed (value, self->spec);
      break;
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_DESIRED:
      g_value_set_uint (value, self->desired);
      break;
    case PROP_N_ONLINE:
      g_value_set_uint (value, self->n_online);
      break;
    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cohort_cluster_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  CohortCluster *self = COHORT_CLUSTER (object);

  switch (prop_id)
    {
    case PROP_SPEC:
      self->spec = g_value_dup_boxed (value);
      self->desired = cohort_cluster_spec_resolve_instances (self->spec);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cohort_cluster_class_init (CohortClusterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cohort_cluster_dispose;
  object_class->finalize = cohort_cluster_finalize;
  object_class->get_property = cohort_cluster_get_property;
  object_class->set_property = cohort_cluster_set_property;

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SPEC] =
    g_param_spec_boxed ("spec", NULL, NULL, COHORT_TYPE_CLUSTER_SPEC,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL,
                      COHORT_CLUSTER_STATE_STOPPED, COHORT_CLUSTER_STATE_STOPPING,
                      COHORT_CLUSTER_STATE_STOPPED,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DESIRED] =
    g_param_spec_uint ("desired", NULL, NULL, 0, G_MAXUINT, 1,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_ONLINE] =
    g_param_spec_uint ("n-online", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR] =
    g_param_spec_string ("error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CohortCluster::event:
   * @kind: "scale" or "reload"
   * @text: what happened, for people
   *
   * Something happened to the cluster as a whole; graphs mark it.
   */
  signals[EVENT] =
    g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
cohort_cluster_init (CohortCluster *self)
{
  self->workers = g_list_store_new (COHORT_TYPE_WORKER);
  self->worker_array = g_ptr_array_new ();
  self->listen_fd = -1;
  self->state = COHORT_CLUSTER_STATE_STOPPED;
  self->wait_ms = g_array_sized_new (FALSE, FALSE, sizeof (double), MAX_TIMINGS);
  self->run_ms = g_array_sized_new (FALSE, FALSE, sizeof (double), MAX_TIMINGS);
  g_signal_connect_object (self->workers, "items-changed", G_CALLBACK (workers_changed_cb),
                           self, G_CONNECT_SWAPPED);
}

CohortCluster *
cohort_cluster_new (CohortClusterSpec *spec)
{
  g_return_val_if_fail (spec != NULL, NULL);

  return g_object_new (COHORT_TYPE_CLUSTER, "spec", spec, NULL);
}

const char *
cohort_cluster_get_name (CohortCluster *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER (self), NULL);
  return self->spec->name;
}

CohortClusterSpec *
cohort_cluster_get_spec (CohortCluster *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER (self), NULL);
  return self->spec;
}

/**
 * cohort_cluster_get_workers:
 *
 * Returns: (transfer none): the workers, a #GListModel of #CohortWorker
 *   sorted by id. Workers of a stopped cluster stay, with their last exit,
 *   until it starts again.
 */
GListModel *
cohort_cluster_get_workers (CohortCluster *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER (self), NULL);
  return G_LIST_MODEL (self->workers);
}

/* The workers of cohort_cluster_get_workers() as an array, borrowed:
 * valid until the list changes. For a walk on every tick (the sampler),
 * without a reference taken and dropped on each worker. */
CohortWorker * const *
_cohort_cluster_peek_workers (CohortCluster *self,
                              guint         *n_workers)
{
  *n_workers = self->worker_array->len;
  return (CohortWorker * const *) self->worker_array->pdata;
}

CohortClusterState
cohort_cluster_get_state (CohortCluster *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER (self), COHORT_CLUSTER_STATE_STOPPED);
  return self->state;
}

guint
cohort_cluster_get_desired (CohortCluster *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER (self), 0);
  return self->desired;
}

guint
cohort_cluster_get_n_online (CohortCluster *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER (self), 0);
  return self->n_online;
}

/* Why the cluster could not start (its port is taken …), or NULL. */
const char *
cohort_cluster_get_error (CohortCluster *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER (self), NULL);
  return self->error;
}

int
cohort_cluster_get_listen_fd (CohortCluster *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER (self), -1);
  return self->listen_fd;
}

/* The port actually bound (useful with Listen=…:0), or 0. */
guint16
cohort_cluster_get_listen_port (CohortCluster *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER (self), 0);
  return self->listen_port;
}

/* The worker that holds slot @id (not one retiring from it), or NULL. */
CohortWorker *
cohort_cluster_lookup_worker (CohortCluster *self,
                              guint          id)
{
  guint n;

  g_return_val_if_fail (COHORT_IS_CLUSTER (self), NULL);

  n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);

      if (cohort_worker_get_id (worker) == id &&
          !_cohort_worker_get_retiring (worker) && !_cohort_worker_get_incoming (worker))
        return worker;
    }
  return NULL;
}

/**
 * cohort_cluster_start:
 *
 * Starts the desired number of workers. A stopped cluster's old workers
 * (kept to show their last exit) are replaced by fresh ones.
 *
 * Returns: %FALSE if the cluster cannot run at all (its Listen= address
 *   cannot be bound); a worker that cannot start is errored instead.
 */
gboolean
cohort_cluster_start (CohortCluster  *self,
                      GError        **error)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER (self), FALSE);

  if (self->state == COHORT_CLUSTER_STATE_RUNNING)
    return TRUE;
  if (self->state == COHORT_CLUSTER_STATE_STOPPING)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   _("Cluster %s is still stopping"), self->spec->name);
      return FALSE;
    }

  if (self->spec->listen != NULL && self->listen_fd < 0)
    {
      g_autoptr(GError) local_error = NULL;

      self->listen_fd = cohort_listen_open (self->spec->listen, &self->listen_port, &local_error);
      if (self->listen_fd < 0)
        {
          set_error (self, local_error->message);
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }

  if (self->spec->kind == COHORT_CLUSTER_KIND_THREADS && self->pool == NULL)
    {
      g_autoptr(GError) local_error = NULL;

      /* GLib keeps threads of freed pools around for reuse; a stopped
       * cluster's threads should be gone, as a user watching them expects. */
      g_thread_pool_set_max_unused_threads (0);
      self->queue = cohort_task_queue_new ();
      /* Each worker's loop holds its pool thread for the worker's whole
       * life, so a worker is one stable thread either way. The pool is
       * not exclusive because GLib never releases an exclusive pool's
       * threads when it is scaled down: they would idle until the
       * cluster stops. These leave half a second after their worker. */
      self->pool = g_thread_pool_new (cohort_thread_worker_pool_func, self->queue,
                                      (int) MAX (1, self->desired), FALSE, &local_error);
      if (self->pool == NULL)
        {
          g_clear_pointer (&self->queue, cohort_task_queue_unref);
          set_error (self, local_error->message);
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_array_set_size (self->wait_ms, 0);
      g_array_set_size (self->run_ms, 0);
      self->next_timing = 0;
    }

  set_error (self, NULL);
  _cohort_worker_note_sample_change ();
  g_ptr_array_set_size (self->worker_array, 0);
  g_list_store_remove_all (self->workers);
  set_state (self, COHORT_CLUSTER_STATE_RUNNING);

  for (guint id = 0; id < self->desired; id++)
    cohort_worker_start (add_worker (self, id));

  if (self->spec->max_memory_mib > 0 && self->memory_check == 0)
    self->memory_check = g_timeout_add_seconds (MEMORY_CHECK_S, memory_check_cb, self);

  update_n_online (self);
  return TRUE;
}

static void
end_workers (CohortCluster *self,
             void         (*end) (CohortWorker *))
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));
  g_autoptr(GPtrArray) workers = g_ptr_array_new_with_free_func (g_object_unref);

  /* Copy first: ending a waiting worker changes the list. */
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (workers, g_list_model_get_item (G_LIST_MODEL (self->workers), i));

  if (self->state == COHORT_CLUSTER_STATE_RUNNING)
    set_state (self, COHORT_CLUSTER_STATE_STOPPING);

  if (self->reload != NULL)
    reload_end (self, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                   _("%s was stopped during the reload"), self->spec->name));

  for (guint i = 0; i < workers->len; i++)
    end (g_ptr_array_index (workers, i));

  if (self->state == COHORT_CLUSTER_STATE_STOPPING && !any_running (self))
    {
      close_listen_socket (self);
      end_pool (self);
      g_clear_handle_id (&self->memory_check, g_source_remove);
      set_state (self, COHORT_CLUSTER_STATE_STOPPED);
    }
}

/**
 * cohort_cluster_stop:
 *
 * Stops every worker gracefully; the cluster is stopped once all have
 * exited.
 */
void
cohort_cluster_stop (CohortCluster *self)
{
  g_return_if_fail (COHORT_IS_CLUSTER (self));

  end_workers (self, cohort_worker_stop);
}

/* SIGKILL to every worker's group now. */
void
cohort_cluster_kill (CohortCluster *self)
{
  g_return_if_fail (COHORT_IS_CLUSTER (self));

  end_workers (self, cohort_worker_kill);
}

/**
 * cohort_cluster_scale:
 *
 * Changes the number of workers at run time without touching the others:
 * new ids are started, the highest ids are stopped gracefully and leave
 * the list once they have exited.
 */
gboolean
cohort_cluster_scale (CohortCluster  *self,
                      guint           instances,
                      GError        **error)
{
  g_autoptr(GPtrArray) retiring = NULL;
  guint n;

  g_return_val_if_fail (COHORT_IS_CLUSTER (self), FALSE);

  if (instances > MAX_SCALE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("%u workers is more than Cohort runs in one cluster (%d)"),
                   instances, MAX_SCALE);
      return FALSE;
    }

  if (self->desired != instances)
    {
      g_autofree char *text = g_strdup_printf (_("scaled from %u to %u workers"), self->desired, instances);

      self->desired = instances;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DESIRED]);
      g_signal_emit (self, signals[EVENT], 0, "scale", text);
    }

  /* A stopped cluster only remembers the number for its next start. */
  if (self->state != COHORT_CLUSTER_STATE_RUNNING)
    return TRUE;

  retiring = g_ptr_array_new_with_free_func (g_object_unref);
  n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));
  for (guint i = 0; i < n; i++)
    {
      CohortWorker *worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);

      if (cohort_worker_get_id (worker) >= instances && !_cohort_worker_get_retiring (worker))
        g_ptr_array_add (retiring, worker);
      else
        g_object_unref (worker);
    }

  for (guint id = 0; id < instances; id++)
    if (cohort_cluster_lookup_worker (self, id) == NULL)
      cohort_worker_start (add_worker (self, id));

  for (guint i = 0; i < retiring->len; i++)
    {
      CohortWorker *worker = g_ptr_array_index (retiring, i);

      _cohort_worker_set_retiring (worker, TRUE);
      if (cohort_worker_is_running (worker))
        cohort_worker_stop (worker);
      else
        {
          cohort_worker_stop (worker); /* cancels a pending restart */
          remove_worker (self, worker);
        }
    }

  update_n_online (self);
  return TRUE;
}

/* Messages */

/**
 * cohort_cluster_send:
 * @id: a worker's id, or -1 for every running worker
 * @n_sent: (out) (optional): how many workers the message was queued for
 *
 * Returns: %FALSE if any worker could not take the message (no channel,
 *   not running, not reading); @error says which and why
 */
gboolean
cohort_cluster_send (CohortCluster  *self,
                     int             id,
                     JsonNode       *message,
                     guint          *n_sent,
                     GError        **error)
{
  g_autoptr(GString) failures = g_string_new (NULL);
  g_autoptr(CohortPreparedMessage) prepared = NULL;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));
  guint sent = 0;
  guint tried = 0;

  g_return_val_if_fail (COHORT_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  if (n_sent != NULL)
    *n_sent = 0;

  if (!cohort_message_check (message, error))
    return FALSE;

  /* A task (or a batch) sent to a thread cluster is one task, for
   * whichever worker is free first. */
  if (id < 0 && self->spec->kind == COHORT_CLUSTER_KIND_THREADS)
    {
      if (self->queue == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                       _("no worker of %s is running"), self->spec->name);
          return FALSE;
        }
      if (!cohort_thread_worker_queue_task (self->spec, self->queue, message, -1, error))
        return FALSE;
      if (n_sent != NULL)
        *n_sent = 1;
      return TRUE;
    }

  if (id >= 0)
    {
      CohortWorker *worker = cohort_cluster_lookup_worker (self, (guint) id);

      if (worker == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       _("%s has no worker %d"), self->spec->name, id);
          return FALSE;
        }
      if (!cohort_worker_send (worker, message, error))
        return FALSE;
      if (n_sent != NULL)
        *n_sent = 1;
      return TRUE;
    }

  /* Serialized once, whatever the number of workers. */
  prepared = cohort_message_prepare (message, error);
  if (prepared == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);
      g_autoptr(GError) local_error = NULL;

      if (!cohort_worker_is_running (worker) ||
          _cohort_worker_get_retiring (worker) || _cohort_worker_get_incoming (worker))
        continue;
      tried++;
      if (cohort_worker_send_prepared (worker, prepared, &local_error))
        sent++;
      else
        g_string_append_printf (failures, "%s%u: %s", failures->len > 0 ? "; " : "",
                                cohort_worker_get_id (worker), local_error->message);
    }

  if (n_sent != NULL)
    *n_sent = sent;
  if (tried == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   _("no worker of %s is running"), self->spec->name);
      return FALSE;
    }
  if (failures->len > 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                   _("sent to %u of %u workers; worker %s"), sent, tried, failures->str);
      return FALSE;
    }
  return TRUE;
}

/* Reload: one worker at a time, the replacement first.
 *
 * For each slot, a new worker starts beside the old one; only once it is
 * online (ready, with ReadyTimeout) is the old one stopped gracefully, and
 * the next slot waits until the old one has exited, so at most one extra
 * process runs and the shared socket always has a worker accepting. A
 * replacement that fails before it is online ends the reload with the old
 * worker still serving. */

typedef struct
{
  GArray            *ids;
  guint              next;
  guint              replaced;
  CohortWorker      *incoming;
  CohortWorker      *outgoing;
  /* the spec was edited since the replacement started: it runs settings
   * that no longer hold, and its slot is queued again */
  gboolean           superseded;
} Reload;

static void
reload_free (gpointer data)
{
  Reload *reload = data;

  g_array_unref (reload->ids);
  g_clear_object (&reload->incoming);
  g_clear_object (&reload->outgoing);
  g_free (reload);
}

static void reload_next (CohortCluster *self);
static void incoming_state_cb (CohortCluster *self, GParamSpec *pspec, CohortWorker *incoming);
static void outgoing_state_cb (CohortCluster *self, GParamSpec *pspec, CohortWorker *outgoing);

static void
reload_end (CohortCluster *self,
            GError        *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->reload);
  Reload *reload = g_task_get_task_data (task);

  if (reload->incoming != NULL)
    g_signal_handlers_disconnect_by_func (reload->incoming, incoming_state_cb, self);
  if (reload->outgoing != NULL)
    g_signal_handlers_disconnect_by_func (reload->outgoing, outgoing_state_cb, self);

  {
    g_autofree char *text =
      error != NULL ? g_strdup_printf (_("reload failed: %s"), error->message)
                    : g_strdup_printf (_("reloaded %u workers"), reload->replaced);

    g_signal_emit (self, signals[EVENT], 0, "reload", text);
  }

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_int (task, reload->replaced);
}

static void
outgoing_state_cb (CohortCluster *self,
                   GParamSpec    *pspec,
                   CohortWorker  *outgoing)
{
  Reload *reload;

  if (self->reload == NULL || cohort_worker_is_running (outgoing))
    return;
  reload = g_task_get_task_data (self->reload);
  g_signal_handlers_disconnect_by_func (outgoing, outgoing_state_cb, self);
  g_clear_object (&reload->outgoing);
  reload_next (self);
}

static void
incoming_state_cb (CohortCluster *self,
                   GParamSpec    *pspec,
                   CohortWorker  *incoming)
{
  CohortWorkerState state = cohort_worker_get_state (incoming);
  Reload *reload;
  CohortWorker *outgoing;

  if (self->reload == NULL || state == COHORT_WORKER_STATE_STARTING)
    return;
  reload = g_task_get_task_data (self->reload);
  outgoing = reload->outgoing;
  g_signal_handlers_disconnect_by_func (incoming, incoming_state_cb, self);

  if (state != COHORT_WORKER_STATE_ONLINE)
    {
      const char *why = cohort_worker_get_reason (incoming);
      g_autofree char *last = g_strdup (cohort_worker_get_last_exit (incoming));
      gboolean superseded = reload->superseded;

      /* The old worker keeps serving; the failed replacement goes. */
      _cohort_worker_set_incoming (incoming, FALSE);
      _cohort_worker_set_retiring (incoming, TRUE);
      cohort_worker_kill (incoming);
      if (!cohort_worker_is_running (incoming))
        remove_worker (self, incoming);
      g_clear_object (&reload->incoming);
      g_clear_object (&reload->outgoing);

      /* It ran settings that were edited meanwhile; its slot is queued
       * again with the new ones, and those decide. */
      if (superseded)
        {
          reload_next (self);
          return;
        }
      reload_end (self, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                                     _("the replacement of worker %u did not come online (%s); "
                                       "%u of %u replaced, the rest unchanged"),
                                     cohort_worker_get_id (incoming),
                                     why != NULL ? why : last != NULL ? last : cohort_worker_state_to_string (state),
                                     reload->replaced, reload->ids->len));
      return;
    }

  /* Online: it takes over the slot, and the old worker leaves. */
  _cohort_worker_inherit (incoming, outgoing);
  _cohort_worker_set_incoming (incoming, FALSE);
  _cohort_worker_set_retiring (outgoing, TRUE);
  g_clear_object (&reload->incoming);
  reload->replaced++;
  update_n_online (self);

  if (cohort_worker_is_running (outgoing))
    {
      g_signal_connect_object (outgoing, "notify::state", G_CALLBACK (outgoing_state_cb),
                               self, G_CONNECT_SWAPPED);
      cohort_worker_stop (outgoing);
    }
  else
    {
      cohort_worker_stop (outgoing); /* cancels a pending restart */
      remove_worker (self, outgoing);
      g_clear_object (&reload->outgoing);
      reload_next (self);
    }
}

static void
reload_next (CohortCluster *self)
{
  Reload *reload = g_task_get_task_data (self->reload);

  while (reload->next < reload->ids->len)
    {
      guint id = g_array_index (reload->ids, guint, reload->next++);
      CohortWorker *outgoing = cohort_cluster_lookup_worker (self, id);
      CohortWorker *incoming;

      /* Scaled away meanwhile. */
      if (outgoing == NULL)
        continue;

      incoming = add_worker (self, id);
      _cohort_worker_set_incoming (incoming, TRUE);
      reload->incoming = g_object_ref (incoming);
      reload->outgoing = g_object_ref (outgoing);
      reload->superseded = FALSE;
      g_signal_connect_object (incoming, "notify::state", G_CALLBACK (incoming_state_cb),
                               self, G_CONNECT_SWAPPED);
      cohort_worker_start (incoming);
      /* It may be online (or errored) already. */
      if (reload->incoming == incoming && cohort_worker_get_state (incoming) != COHORT_WORKER_STATE_STARTING)
        incoming_state_cb (self, NULL, incoming);
      return;
    }

  reload_end (self, NULL);
}

/* Takes @task and @ids (the slots to replace, in order). */
static void
reload_begin (CohortCluster *self,
              GTask         *task,
              GArray        *ids,
              const char    *text)
{
  Reload *reload = g_new0 (Reload, 1);

  g_assert (self->reload == NULL);

  reload->ids = ids;
  g_task_set_task_data (task, reload, reload_free);
  self->reload = task;
  g_signal_emit (self, signals[EVENT], 0, "reload", text);
  reload_next (self);
}

gboolean
cohort_cluster_get_reloading (CohortCluster *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER (self), FALSE);
  return self->reload != NULL;
}

/**
 * cohort_cluster_reload_async:
 *
 * Replaces every worker, one at a time (see above). Completes when the
 * last old worker has exited, or at the first replacement that fails.
 */
void
cohort_cluster_reload_async (CohortCluster       *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GArray *ids;
  guint n;

  g_return_if_fail (COHORT_IS_CLUSTER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cohort_cluster_reload_async);

  if (self->state != COHORT_CLUSTER_STATE_RUNNING)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                               _("%s is not running"), self->spec->name);
      return;
    }
  if (self->reload != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_BUSY,
                               _("%s is already reloading"), self->spec->name);
      return;
    }

  ids = g_array_new (FALSE, FALSE, sizeof (guint));
  n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);
      guint id = cohort_worker_get_id (worker);

      if (!_cohort_worker_get_retiring (worker) && !_cohort_worker_get_incoming (worker))
        g_array_append_val (ids, id);
    }
  reload_begin (self, g_steal_pointer (&task), ids, _("reload started"));
}

gboolean
cohort_cluster_reload_finish (CohortCluster  *self,
                              GAsyncResult   *result,
                              guint          *n_replaced,
                              GError        **error)
{
  gssize replaced;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  replaced = g_task_propagate_int (G_TASK (result), error);
  if (replaced < 0)
    return FALSE;
  if (n_replaced != NULL)
    *n_replaced = (guint) replaced;
  return TRUE;
}

/* Editing: a new spec for a cluster that exists, maybe running.
 *
 * Running workers follow at once what is read from the spec when it is
 * needed: the restart policy and its delays, MinUptime, MaxRestarts, the
 * stop ladder (message, signal, timeout), ReadyTimeout (at a worker's next
 * start), MaxMemory, a thread cluster's TaskTimeout, and the Task and
 * Arguments that messages without their own default to. What a process or
 * a thread was started with — argv, working directory, environment,
 * Listen=, Channel=, and for Repeat=true threads the Task, Arguments and
 * Repeat they loop on — takes a new start: those workers are replaced one
 * at a time, as a reload does. Instances= scales. A new name is the
 * cluster's at once (lookups, status, COHORT_CLUSTER of workers started
 * from then on); the running workers keep the old one in their
 * environment. Process ↔ threads is a different cluster altogether: the
 * supervisor replaces it. */

typedef struct
{
  gboolean kind;       /* process ↔ threads */
  gboolean restart;    /* what a launch uses changed */
  gboolean live;       /* what running workers read when they need it changed */
  gboolean instances;  /* Instances= changed: the cluster scales */
  gboolean listen;     /* a new listening socket is needed */
  gboolean rename;
} SpecDiff;

static gboolean
strv_equal0 (char **a,
             char **b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_strv_equal ((const char * const *) a, (const char * const *) b);
}

/* "8080" and "127.0.0.1:8080" are the same socket: keep it. */
static gboolean
same_listen (const char *a,
             const char *b)
{
  g_autoptr(GSocketAddress) x = NULL;
  g_autoptr(GSocketAddress) y = NULL;
  GInetSocketAddress *ix;
  GInetSocketAddress *iy;

  if (g_strcmp0 (a, b) == 0)
    return TRUE;
  if (a == NULL || b == NULL)
    return FALSE;
  x = cohort_listen_parse (a, NULL);
  y = cohort_listen_parse (b, NULL);
  if (x == NULL || y == NULL)
    return FALSE;
  ix = G_INET_SOCKET_ADDRESS (x);
  iy = G_INET_SOCKET_ADDRESS (y);
  return g_inet_socket_address_get_port (ix) == g_inet_socket_address_get_port (iy) &&
         g_inet_address_equal (g_inet_socket_address_get_address (ix),
                               g_inet_socket_address_get_address (iy));
}

static void
diff_specs (const CohortClusterSpec *old,
            const CohortClusterSpec *new,
            SpecDiff                *diff)
{
  memset (diff, 0, sizeof *diff);

  diff->rename = g_strcmp0 (old->name, new->name) != 0;
  diff->instances = old->instances != new->instances;
  if (old->kind != new->kind)
    {
      diff->kind = TRUE;
      return;
    }

  if (new->kind == COHORT_CLUSTER_KIND_PROCESS)
    {
      diff->listen = !same_listen (old->listen, new->listen);
      diff->restart = !strv_equal0 (old->argv, new->argv) ||
                      g_strcmp0 (old->working_directory, new->working_directory) != 0 ||
                      !strv_equal0 (old->environment, new->environment) ||
                      old->channel != new->channel ||
                      diff->listen;
      /* The same argv written otherwise. */
      diff->live = g_strcmp0 (old->command, new->command) != 0;
    }
  else
    {
      gboolean task_changed = g_strcmp0 (old->task, new->task) != 0 ||
                              g_strcmp0 (old->arguments, new->arguments) != 0;

      /* Repeat=true threads loop on the task they started with; without
       * Repeat, Task and Arguments are only defaults for messages. */
      diff->restart = old->repeat != new->repeat || (new->repeat && task_changed);
      diff->live = task_changed || old->task_timeout_s != new->task_timeout_s;
    }

  diff->live |= old->restart != new->restart ||
                old->restart_delay_ms != new->restart_delay_ms ||
                old->restart_delay_max_ms != new->restart_delay_max_ms ||
                old->min_uptime_s != new->min_uptime_s ||
                old->max_restarts != new->max_restarts ||
                g_strcmp0 (old->stop_message, new->stop_message) != 0 ||
                old->stop_signal != new->stop_signal ||
                old->stop_timeout_s != new->stop_timeout_s ||
                old->ready_timeout_s != new->ready_timeout_s ||
                old->max_memory_mib != new->max_memory_mib;
}

/* A spec that scaled at run time keeps its count unless Instances= itself
 * was edited. */
static guint
planned_desired (CohortCluster           *self,
                 const CohortClusterSpec *spec,
                 const SpecDiff          *diff)
{
  return diff->instances ? cohort_cluster_spec_resolve_instances (spec) : self->desired;
}

/* The slots a running cluster's edit restarts: running workers that stay. */
static GArray *
slots_to_restart (CohortCluster *self,
                  guint          desired)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint));
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);
      CohortWorkerState state = cohort_worker_get_state (worker);
      guint id = cohort_worker_get_id (worker);

      if (!_cohort_worker_get_retiring (worker) && !_cohort_worker_get_incoming (worker) &&
          id < desired &&
          (state == COHORT_WORKER_STATE_STARTING || state == COHORT_WORKER_STATE_ONLINE))
        g_array_append_val (ids, id);
    }
  return ids;
}

/**
 * cohort_cluster_plan_spec:
 * @spec: the edited spec
 * @plan: (out caller-allocates): what cohort_cluster_set_spec() (or, for
 *   a change of kind, cohort_supervisor_replace_cluster()) would do
 *
 * Says, before anything is applied, what applying @spec would do to the
 * running workers; cohort_apply_plan_describe() puts it in words.
 */
void
cohort_cluster_plan_spec (CohortCluster           *self,
                          const CohortClusterSpec *spec,
                          CohortApplyPlan         *plan)
{
  SpecDiff diff;
  guint desired;
  guint n;

  g_return_if_fail (COHORT_IS_CLUSTER (self));
  g_return_if_fail (spec != NULL);
  g_return_if_fail (plan != NULL);

  memset (plan, 0, sizeof *plan);
  diff_specs (self->spec, spec, &diff);
  plan->running = self->state == COHORT_CLUSTER_STATE_RUNNING;
  plan->rename = diff.rename;
  plan->kind_change = diff.kind;
  plan->live = diff.live;
  desired = planned_desired (self, spec, &diff);
  n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));

  if (diff.kind)
    {
      /* The supervisor stops this cluster and starts the new one if this
       * one runs. */
      for (guint i = 0; i < n && plan->running; i++)
        {
          g_autoptr(CohortWorker) worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);

          if (cohort_worker_is_running (worker) && !_cohort_worker_get_incoming (worker))
            plan->remove++;
        }
      if (plan->running)
        plan->add = cohort_cluster_spec_resolve_instances (spec);
      else
        plan->later = TRUE;
      return;
    }

  if (!plan->running)
    {
      plan->later = diff.restart || diff.instances;
      return;
    }

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);
      guint id = cohort_worker_get_id (worker);

      if (_cohort_worker_get_retiring (worker) || _cohort_worker_get_incoming (worker))
        continue;
      if (id >= desired)
        plan->remove++;
      else if (diff.restart && cohort_worker_is_running (worker) &&
               cohort_worker_get_state (worker) != COHORT_WORKER_STATE_STOPPING)
        plan->restart++;
      else if (diff.restart)
        plan->later = TRUE;  /* waiting or ended: it starts with the new spec */
    }
  for (guint id = 0; id < desired; id++)
    if (cohort_cluster_lookup_worker (self, id) == NULL)
      plan->add++;
}

/**
 * cohort_apply_plan_describe:
 *
 * Returns: (transfer full): one sentence for people, such as “Restarts 2
 *   workers and adds 3”
 */
char *
cohort_apply_plan_describe (const CohortApplyPlan *plan)
{
  g_autofree char *first = NULL;
  g_autofree char *sentence = NULL;

  g_return_val_if_fail (plan != NULL, NULL);

  if (plan->kind_change)
    {
      if (plan->remove > 0 && plan->add > 0)
        {
          first = g_strdup_printf (ngettext ("Stops %u worker", "Stops %u workers", plan->remove),
                                   plan->remove);
          /* Translators: %s is “Stops 2 workers”; %u counts the new ones */
          return g_strdup_printf (ngettext ("%s and starts %u new one", "%s and starts %u new ones",
                                            plan->add),
                                  first, plan->add);
        }
      if (plan->add > 0)
        return g_strdup_printf (ngettext ("Starts %u new worker", "Starts %u new workers", plan->add),
                                plan->add);
      return g_strdup (_("Replaces the cluster; the new kind runs from its next start"));
    }

  if (plan->restart > 0 || plan->add > 0 || plan->remove > 0)
    {
      if (plan->restart > 0)
        {
          first = g_strdup_printf (ngettext ("Restarts %u worker", "Restarts %u workers", plan->restart),
                                   plan->restart);
          if (plan->add > 0)
            /* Translators: %s is “Restarts 2 workers”; %u counts the workers added */
            sentence = g_strdup_printf (ngettext ("%s and adds %u", "%s and adds %u", plan->add),
                                        first, plan->add);
          else if (plan->remove > 0)
            /* Translators: %s is “Restarts 2 workers”; %u counts the workers removed */
            sentence = g_strdup_printf (ngettext ("%s and removes %u", "%s and removes %u", plan->remove),
                                        first, plan->remove);
          else
            sentence = g_steal_pointer (&first);
        }
      else if (plan->add > 0)
        sentence = g_strdup_printf (ngettext ("Adds %u worker", "Adds %u workers", plan->add), plan->add);
      else
        sentence = g_strdup_printf (ngettext ("Removes %u worker", "Removes %u workers", plan->remove),
                                    plan->remove);

      if (plan->rename)
        /* Translators: %s is “Restarts 2 workers and adds 3” */
        return g_strdup_printf (_("%s, and renames the cluster"), sentence);
      return g_steal_pointer (&sentence);
    }

  if (!plan->running)
    {
      if (plan->rename && (plan->live || plan->later))
        return g_strdup (_("Renames the cluster; the rest applies at its next start"));
      if (plan->rename)
        return g_strdup (_("Renames the cluster"));
      if (plan->live || plan->later)
        return g_strdup (_("Applies at the next start"));
      return g_strdup (_("No changes"));
    }

  if (plan->later)
    return g_strdup (plan->rename ? _("Renames the cluster; the rest applies to the next restart")
                                  : _("Applies to the next restart"));
  if (plan->rename)
    return g_strdup (_("Renames the cluster; running workers keep the old name until they restart"));
  if (plan->live)
    return g_strdup (_("Nothing restarts; the new settings apply at once"));
  return g_strdup (_("No changes"));
}

/* Replaces @ids one at a time with the cluster's (new) spec, through the
 * reload machinery. A reload under way takes them on: slots it has
 * replaced already run the previous settings, so they are queued again,
 * and a replacement starting now is superseded. */
static void
restart_slots (CohortCluster *self,
               GArray        *ids)
{
  g_autofree char *text = NULL;
  Reload *reload;
  GTask *task;

  if (ids->len == 0)
    return;

  text = g_strdup_printf (ngettext ("restarting %u worker for the edited settings",
                                    "restarting %u workers for the edited settings", ids->len),
                          ids->len);
  if (self->reload == NULL)
    {
      task = g_task_new (self, NULL, NULL, NULL);
      g_task_set_source_tag (task, cohort_cluster_set_spec);
      reload_begin (self, task, g_array_ref (ids), text);
      return;
    }

  reload = g_task_get_task_data (self->reload);
  if (reload->incoming != NULL)
    reload->superseded = TRUE;
  for (guint i = 0; i < ids->len; i++)
    {
      guint id = g_array_index (ids, guint, i);
      gboolean queued = FALSE;

      for (guint j = reload->next; j < reload->ids->len && !queued; j++)
        queued = g_array_index (reload->ids, guint, j) == id;
      if (!queued)
        g_array_append_val (reload->ids, id);
    }
  g_signal_emit (self, signals[EVENT], 0, "reload", text);
}

/**
 * cohort_cluster_check_spec:
 *
 * Whether a cluster could be made of @spec at all: it has a name, and a
 * process cluster has a command. (A profile's reader checks much more; an
 * editor's spec is checked here again before it replaces a running one.)
 */
gboolean
cohort_cluster_check_spec (const CohortClusterSpec  *spec,
                           GError                  **error)
{
  g_return_val_if_fail (spec != NULL, FALSE);

  if (spec->name == NULL || spec->name[0] == '\0')
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("A cluster needs a name"));
      return FALSE;
    }
  if (spec->kind == COHORT_CLUSTER_KIND_PROCESS && (spec->argv == NULL || spec->argv[0] == NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("%s has no command to run"), spec->name);
      return FALSE;
    }
  return TRUE;
}

/**
 * cohort_cluster_set_spec:
 * @spec: the edited spec, of the same kind
 *
 * Applies @spec to the cluster, running or not, as
 * cohort_cluster_plan_spec() says: live settings at once, Instances= by
 * scaling, the rest by replacing the running workers one at a time (each
 * replacement online before its predecessor is stopped gracefully, as
 * cohort_cluster_reload_async() does; the outcome comes as an
 * #CohortCluster::event). Instances= scales only when it differs from
 * the old spec's: a count scaled at run time stays otherwise. A new
 * Listen= is bound before anything changes:
 * the old port stays with the workers still running on it, and closes
 * when the last of them has been replaced. The caller checks that a new
 * name is free (cohort_supervisor_replace_cluster() does).
 *
 * Returns: %FALSE, with nothing changed, for a change between processes
 *   and threads, a process cluster without a command, too many instances,
 *   or a Listen= address that cannot be bound
 */
gboolean
cohort_cluster_set_spec (CohortCluster      *self,
                         CohortClusterSpec  *spec,
                         GError            **error)
{
  g_autoptr(CohortClusterSpec) old = NULL;
  g_autoptr(GArray) restart_ids = NULL;
  gboolean running;
  SpecDiff diff;
  guint desired;
  int listen_fd = -1;
  guint16 listen_port = 0;
  guint n;

  g_return_val_if_fail (COHORT_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);

  if (spec == self->spec)
    return TRUE;

  diff_specs (self->spec, spec, &diff);
  if (diff.kind)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("%s cannot change from %s to %s in place: it has to be replaced"),
                   self->spec->name, cohort_cluster_kind_to_string (self->spec->kind),
                   cohort_cluster_kind_to_string (spec->kind));
      return FALSE;
    }
  if (!cohort_cluster_check_spec (spec, error))
    return FALSE;
  desired = planned_desired (self, spec, &diff);
  if (desired > MAX_SCALE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("%u workers is more than Cohort runs in one cluster (%d)"),
                   desired, MAX_SCALE);
      return FALSE;
    }

  running = self->state == COHORT_CLUSTER_STATE_RUNNING;
  if (running && diff.listen && spec->listen != NULL)
    {
      listen_fd = cohort_listen_open (spec->listen, &listen_port, error);
      if (listen_fd < 0)
        return FALSE;
    }
  if (running && diff.restart)
    restart_ids = slots_to_restart (self, desired);

  old = g_steal_pointer (&self->spec);
  self->spec = cohort_cluster_spec_ref (spec);
  n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);

      _cohort_worker_set_spec (worker, spec);
    }

  /* The workers started on the old socket keep their own copies of it. */
  if (diff.listen)
    {
      close_listen_socket (self);
      self->listen_fd = listen_fd;
      self->listen_port = listen_port;
    }

  if (running && spec->max_memory_mib > 0 && self->memory_check == 0)
    self->memory_check = g_timeout_add_seconds (MEMORY_CHECK_S, memory_check_cb, self);
  else if (spec->max_memory_mib == 0)
    g_clear_handle_id (&self->memory_check, g_source_remove);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPEC]);
  if (diff.rename)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);

  if (diff.instances && !cohort_cluster_scale (self, desired, NULL))
    g_assert_not_reached ();
  if (restart_ids != NULL)
    restart_slots (self, restart_ids);
  return TRUE;
}

/* Thread clusters */

GThreadPool *
_cohort_cluster_get_pool (CohortCluster *self)
{
  return self->pool;
}

CohortTaskQueue *
_cohort_cluster_get_queue (CohortCluster *self)
{
  return self->queue;
}

void
_cohort_cluster_record_timing (CohortCluster *self,
                               double         wait_ms,
                               double         run_ms)
{
  if (self->wait_ms->len < MAX_TIMINGS)
    {
      g_array_append_val (self->wait_ms, wait_ms);
      g_array_append_val (self->run_ms, run_ms);
    }
  else
    {
      g_array_index (self->wait_ms, double, self->next_timing) = wait_ms;
      g_array_index (self->run_ms, double, self->next_timing) = run_ms;
    }
  self->next_timing = (self->next_timing + 1) % MAX_TIMINGS;
}

/* Tasks waiting in a thread cluster's queue. */
guint
cohort_cluster_get_queue_depth (CohortCluster *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER (self), 0);
  return self->queue != NULL ? cohort_task_queue_get_length (self->queue) : 0;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/**
 * cohort_cluster_get_task_percentiles:
 * @wait: (out caller-allocates) (array fixed-size=3): p50, p90 and p99 of
 *   the time tasks waited in the queue, in ms
 * @run: (out caller-allocates) (array fixed-size=3): the same of their
 *   run time
 *
 * Over the last 1024 tasks of a thread cluster.
 *
 * Returns: the number of tasks the figures are over (0: none yet)
 */
guint
cohort_cluster_get_task_percentiles (CohortCluster *self,
                                     double        *wait,
                                     double        *run)
{
  static const double quantiles[] = { 0.5, 0.9, 0.99 };
  g_autoptr(GArray) w = NULL;
  g_autoptr(GArray) r = NULL;
  guint n;

  g_return_val_if_fail (COHORT_IS_CLUSTER (self), 0);

  n = self->run_ms->len;
  for (guint i = 0; i < 3; i++)
    wait[i] = run[i] = 0;
  if (n == 0)
    return 0;

  w = g_array_copy (self->wait_ms);
  r = g_array_copy (self->run_ms);
  g_array_sort (w, compare_doubles);
  g_array_sort (r, compare_doubles);
  for (guint i = 0; i < 3; i++)
    {
      guint index = MIN (n - 1, (guint) (quantiles[i] * n));

      wait[i] = g_array_index (w, double, index);
      run[i] = g_array_index (r, double, index);
    }
  return n;
}
