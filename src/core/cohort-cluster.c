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
#include <unistd.h>

#include "cohort-channel.h"
#include "cohort-cluster-private.h"
#include "cohort-listen.h"
#include "cohort-process-worker.h"
#include "cohort-thread-worker.h"
#include "cohort-worker-private.h"

#define MEMORY_CHECK_MS 1000
#define MAX_SCALE       4096
/* Task timings kept for the percentiles of a thread cluster. */
#define MAX_TIMINGS     1024

struct _CohortCluster
{
  GObject             parent_instance;

  CohortClusterSpec  *spec;
  GListStore         *workers;
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
    g_list_store_remove (self->workers, position);
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

  if (self->spec->kind == COHORT_CLUSTER_KIND_THREADS)
    worker = cohort_thread_worker_new (self, self->spec, id);
  else
    worker = cohort_process_worker_new (self, self->spec, id);

  g_signal_connect_object (worker, "notify::state", G_CALLBACK (worker_state_cb),
                           self, G_CONNECT_SWAPPED);
  g_list_store_insert_sorted (self->workers, worker, compare_workers, NULL);
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
    g_list_store_remove_all (self->workers);
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
  g_list_store_remove_all (self->workers);
  set_state (self, COHORT_CLUSTER_STATE_RUNNING);

  for (guint id = 0; id < self->desired; id++)
    cohort_worker_start (add_worker (self, id));

  if (self->spec->max_memory_mib > 0 && self->memory_check == 0)
    self->memory_check = g_timeout_add (MEMORY_CHECK_MS, memory_check_cb, self);

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
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));
  guint sent = 0;
  guint tried = 0;

  g_return_val_if_fail (COHORT_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  if (n_sent != NULL)
    *n_sent = 0;

  if (cohort_message_is_internal (message))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("objects whose “cmd” starts with NODE_ are Node's own and cannot be sent"));
      return FALSE;
    }

  /* A task sent to a thread cluster is one task, for whichever worker is
   * free first. */
  if (id < 0 && self->spec->kind == COHORT_CLUSTER_KIND_THREADS)
    {
      g_autoptr(JsonNode) args = NULL;
      g_autofree char *task = NULL;

      if (self->queue == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                       _("no worker of %s is running"), self->spec->name);
          return FALSE;
        }
      if (!cohort_thread_worker_parse_task (self->spec, message, &task, &args, error) ||
          !cohort_task_queue_push (self->queue, task, args, -1, error))
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

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);
      g_autoptr(GError) local_error = NULL;

      if (!cohort_worker_is_running (worker) ||
          _cohort_worker_get_retiring (worker) || _cohort_worker_get_incoming (worker))
        continue;
      tried++;
      if (cohort_worker_send (worker, message, &local_error))
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
  GArray       *ids;
  guint         next;
  guint         replaced;
  CohortWorker *incoming;
  CohortWorker *outgoing;
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

      /* The old worker keeps serving; the failed replacement goes. */
      _cohort_worker_set_incoming (incoming, FALSE);
      _cohort_worker_set_retiring (incoming, TRUE);
      cohort_worker_kill (incoming);
      if (!cohort_worker_is_running (incoming))
        remove_worker (self, incoming);
      g_clear_object (&reload->incoming);
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
  Reload *reload;
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

  reload = g_new0 (Reload, 1);
  reload->ids = g_array_new (FALSE, FALSE, sizeof (guint));
  n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);
      guint id = cohort_worker_get_id (worker);

      if (!_cohort_worker_get_retiring (worker) && !_cohort_worker_get_incoming (worker))
        g_array_append_val (reload->ids, id);
    }
  g_task_set_task_data (task, reload, reload_free);
  self->reload = g_steal_pointer (&task);
  g_signal_emit (self, signals[EVENT], 0, "reload", _("reload started"));
  reload_next (self);
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
