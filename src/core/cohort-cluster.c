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
#include <stdio.h>
#include <unistd.h>

#include "cohort-cluster.h"
#include "cohort-listen.h"
#include "cohort-process-worker.h"
#include "cohort-worker-private.h"

#define MEMORY_CHECK_MS 1000
#define MAX_SCALE       4096

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

static GParamSpec *properties[N_PROPS];

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
          !_cohort_worker_get_retiring (worker))
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
  g_autoptr(CohortWorker) worker = cohort_process_worker_new (self, self->spec, id);

  g_signal_connect_object (worker, "notify::state", G_CALLBACK (worker_state_cb),
                           self, G_CONNECT_SWAPPED);
  g_list_store_insert_sorted (self->workers, worker, compare_workers, NULL);
  return worker;
}

/* MaxMemory: a worker whose resident memory passes the limit is restarted
 * gracefully, as PM2's max_memory_restart does. */
static guint64
read_rss_bytes (GPid pid)
{
  char path[64];
  unsigned long size;
  unsigned long resident;
  FILE *file;
  int n;

  g_snprintf (path, sizeof path, "/proc/%d/statm", (int) pid);
  file = fopen (path, "re");
  if (file == NULL)
    return 0;
  n = fscanf (file, "%lu %lu", &size, &resident);
  fclose (file);
  return n == 2 ? (guint64) resident * (guint64) sysconf (_SC_PAGESIZE) : 0;
}

static gboolean
memory_check_cb (gpointer data)
{
  CohortCluster *self = data;
  guint64 limit = self->spec->max_memory_mib * 1024 * 1024;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->workers));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (G_LIST_MODEL (self->workers), i);
      GPid pid;
      guint64 rss;

      if (cohort_worker_get_state (worker) != COHORT_WORKER_STATE_ONLINE ||
          !COHORT_IS_PROCESS_WORKER (worker))
        continue;
      pid = cohort_process_worker_get_pid (COHORT_PROCESS_WORKER (worker));
      rss = read_rss_bytes (pid);
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

/* GObject */

static void
cohort_cluster_dispose (GObject *object)
{
  CohortCluster *self = (CohortCluster *) object;

  g_clear_handle_id (&self->memory_check, g_source_remove);
  if (self->workers != NULL)
    g_list_store_remove_all (self->workers);
  g_clear_object (&self->workers);
  close_listen_socket (self);

  G_OBJECT_CLASS (cohort_cluster_parent_class)->dispose (object);
}

static void
cohort_cluster_finalize (GObject *object)
{
  CohortCluster *self = (CohortCluster *) object;

  g_clear_pointer (&self->spec, cohort_cluster_spec_unref);
  g_clear_pointer (&self->error, g_free);

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
}

static void
cohort_cluster_init (CohortCluster *self)
{
  self->workers = g_list_store_new (COHORT_TYPE_WORKER);
  self->listen_fd = -1;
  self->state = COHORT_CLUSTER_STATE_STOPPED;
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

      if (cohort_worker_get_id (worker) == id && !_cohort_worker_get_retiring (worker))
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

  for (guint i = 0; i < workers->len; i++)
    end (g_ptr_array_index (workers, i));

  if (self->state == COHORT_CLUSTER_STATE_STOPPING && !any_running (self))
    {
      close_listen_socket (self);
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
      self->desired = instances;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DESIRED]);
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
