/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-supervisor.c: owns the clusters of the open profile, starts and
 * stops them all, and makes Cohort the subreaper of their process trees.
 *
 * Clusters can be added, replaced and removed while others run. A removed
 * cluster leaves the list at once (its name is free, nothing samples or
 * shows it) while its workers stop gracefully in the background: the
 * supervisor holds it, and counts as running, until the last of them has
 * exited; a kill of everything reaches it too. */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "cohort-reaper.h"
#include "cohort-sampler.h"
#include "cohort-supervisor.h"

struct _CohortSupervisor
{
  GObject     parent_instance;

  char          *profile_name;
  GListStore    *clusters;
  GPtrArray     *leaving;     /* removed clusters still stopping */
  gboolean       running;
  CohortSampler *sampler;
};

G_DEFINE_FINAL_TYPE (CohortSupervisor, cohort_supervisor, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PROFILE_NAME,
  PROP_RUNNING,
  N_PROPS
};

enum {
  CLUSTER_ERROR,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
update_running (CohortSupervisor *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->clusters));
  gboolean running = FALSE;

  for (guint i = 0; i < n && !running; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (G_LIST_MODEL (self->clusters), i);

      running = cohort_cluster_get_state (cluster) != COHORT_CLUSTER_STATE_STOPPED;
    }
  running |= self->leaving->len > 0;

  if (running != self->running)
    {
      self->running = running;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
    }
}

static void
cohort_supervisor_dispose (GObject *object)
{
  CohortSupervisor *self = (CohortSupervisor *) object;

  g_clear_object (&self->sampler);
  if (self->clusters != NULL)
    g_list_store_remove_all (self->clusters);
  g_clear_object (&self->clusters);
  if (self->leaving != NULL)
    g_ptr_array_set_size (self->leaving, 0);

  G_OBJECT_CLASS (cohort_supervisor_parent_class)->dispose (object);
}

static void
cohort_supervisor_finalize (GObject *object)
{
  CohortSupervisor *self = (CohortSupervisor *) object;

  g_clear_pointer (&self->profile_name, g_free);
  g_clear_pointer (&self->leaving, g_ptr_array_unref);

  G_OBJECT_CLASS (cohort_supervisor_parent_class)->finalize (object);
}

static void
cohort_supervisor_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  CohortSupervisor *self = COHORT_SUPERVISOR (object);

  switch (prop_id)
    {
    case PROP_PROFILE_NAME:
      g_value_set_string (value, self->profile_name);
      break;
    case PROP_RUNNING:
      g_value_set_boolean (value, self->running);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cohort_supervisor_class_init (CohortSupervisorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cohort_supervisor_dispose;
  object_class->finalize = cohort_supervisor_finalize;
  object_class->get_property = cohort_supervisor_get_property;

  properties[PROP_PROFILE_NAME] =
    g_param_spec_string ("profile-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CohortSupervisor::cluster-error:
   * @cluster: the cluster that could not start
   * @message: why
   */
  signals[CLUSTER_ERROR] =
    g_signal_new ("cluster-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, COHORT_TYPE_CLUSTER, G_TYPE_STRING);
}

static void
cohort_supervisor_init (CohortSupervisor *self)
{
  self->clusters = g_list_store_new (COHORT_TYPE_CLUSTER);
  self->leaving = g_ptr_array_new_with_free_func (g_object_unref);
  cohort_reaper_init ();
}

CohortSupervisor *
cohort_supervisor_new (void)
{
  CohortSupervisor *self = g_object_new (COHORT_TYPE_SUPERVISOR, NULL);

  self->sampler = cohort_sampler_new (self);
  return self;
}

/* Returns: (transfer none): the live figures and history of the workers */
CohortSampler *
cohort_supervisor_get_sampler (CohortSupervisor *self)
{
  g_return_val_if_fail (COHORT_IS_SUPERVISOR (self), NULL);
  return self->sampler;
}

static CohortCluster *
new_cluster (CohortSupervisor  *self,
             CohortClusterSpec *spec)
{
  CohortCluster *cluster = cohort_cluster_new (spec);

  g_signal_connect_object (cluster, "notify::state", G_CALLBACK (update_running),
                           self, G_CONNECT_SWAPPED);
  return cluster;
}

/**
 * cohort_supervisor_load:
 *
 * Replaces the clusters with those of @profile. Refused while anything
 * runs, and for a profile with errors.
 */
gboolean
cohort_supervisor_load (CohortSupervisor  *self,
                        CohortProfile     *profile,
                        GError           **error)
{
  GPtrArray *specs;

  g_return_val_if_fail (COHORT_IS_SUPERVISOR (self), FALSE);
  g_return_val_if_fail (COHORT_IS_PROFILE (profile), FALSE);

  if (self->running)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   _("Stop the running clusters before opening another profile"));
      return FALSE;
    }

  specs = cohort_profile_get_clusters (profile);
  if (specs == NULL)
    {
      g_set_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID,
                   _("The profile has errors; nothing was started"));
      return FALSE;
    }

  g_list_store_remove_all (self->clusters);
  for (guint i = 0; i < specs->len; i++)
    {
      g_autoptr(CohortCluster) cluster = new_cluster (self, g_ptr_array_index (specs, i));

      g_list_store_append (self->clusters, cluster);
    }

  g_free (self->profile_name);
  self->profile_name = g_strdup (cohort_profile_get_name (profile));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROFILE_NAME]);
  return TRUE;
}

const char *
cohort_supervisor_get_profile_name (CohortSupervisor *self)
{
  g_return_val_if_fail (COHORT_IS_SUPERVISOR (self), NULL);
  return self->profile_name;
}

/**
 * cohort_supervisor_get_clusters:
 *
 * Returns: (transfer none): a #GListModel of #CohortCluster, in profile order
 */
GListModel *
cohort_supervisor_get_clusters (CohortSupervisor *self)
{
  g_return_val_if_fail (COHORT_IS_SUPERVISOR (self), NULL);
  return G_LIST_MODEL (self->clusters);
}

CohortCluster *
cohort_supervisor_lookup (CohortSupervisor *self,
                          const char       *name)
{
  guint n;

  g_return_val_if_fail (COHORT_IS_SUPERVISOR (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  n = g_list_model_get_n_items (G_LIST_MODEL (self->clusters));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (G_LIST_MODEL (self->clusters), i);

      if (g_str_equal (cohort_cluster_get_name (cluster), name))
        return cluster;
    }
  return NULL;
}

/* Whether any cluster is running or still stopping. */
gboolean
cohort_supervisor_get_running (CohortSupervisor *self)
{
  g_return_val_if_fail (COHORT_IS_SUPERVISOR (self), FALSE);
  return self->running;
}

/**
 * cohort_supervisor_start:
 *
 * Starts every cluster; one that cannot start is reported through
 * #CohortSupervisor::cluster-error and the others run.
 *
 * Returns: how many clusters could not start
 */
guint
cohort_supervisor_start (CohortSupervisor *self)
{
  guint n;
  guint failed = 0;

  g_return_val_if_fail (COHORT_IS_SUPERVISOR (self), 0);

  n = g_list_model_get_n_items (G_LIST_MODEL (self->clusters));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (G_LIST_MODEL (self->clusters), i);
      g_autoptr(GError) error = NULL;

      if (!cohort_cluster_start (cluster, &error))
        {
          failed++;
          g_signal_emit (self, signals[CLUSTER_ERROR], 0, cluster, error->message);
        }
    }
  update_running (self);
  return failed;
}

static void
for_each_cluster (CohortSupervisor *self,
                  void            (*func) (CohortCluster *))
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->clusters));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (G_LIST_MODEL (self->clusters), i);

      func (cluster);
    }
  update_running (self);
}

/**
 * cohort_supervisor_stop:
 *
 * Stops every cluster gracefully; #CohortSupervisor:running turns %FALSE
 * once every worker is gone.
 */
void
cohort_supervisor_stop (CohortSupervisor *self)
{
  g_return_if_fail (COHORT_IS_SUPERVISOR (self));
  for_each_cluster (self, cohort_cluster_stop);
}

/* SIGKILL to every worker, those of removed clusters still stopping
 * included. */
void
cohort_supervisor_kill (CohortSupervisor *self)
{
  g_autoptr(GPtrArray) leaving = NULL;

  g_return_if_fail (COHORT_IS_SUPERVISOR (self));

  /* A copy: a cluster whose workers are gone at once leaves the array. */
  leaving = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < self->leaving->len; i++)
    g_ptr_array_add (leaving, g_object_ref (g_ptr_array_index (self->leaving, i)));
  for (guint i = 0; i < leaving->len; i++)
    cohort_cluster_kill (g_ptr_array_index (leaving, i));
  for_each_cluster (self, cohort_cluster_kill);
}

/* Editing */

static gboolean
check_spec (CohortSupervisor   *self,
            CohortClusterSpec  *spec,
            CohortCluster      *replacing,
            GError            **error)
{
  CohortCluster *same_name;

  if (!cohort_cluster_check_spec (spec, error))
    return FALSE;
  same_name = cohort_supervisor_lookup (self, spec->name);
  if (same_name != NULL && same_name != replacing)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _("There is already a cluster named %s"), spec->name);
      return FALSE;
    }
  return TRUE;
}

/* Any cluster running (not merely stopping): what decides whether a new
 * cluster starts at once. */
static gboolean
any_cluster_running (CohortSupervisor *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->clusters));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (G_LIST_MODEL (self->clusters), i);

      if (cohort_cluster_get_state (cluster) == COHORT_CLUSTER_STATE_RUNNING)
        return TRUE;
    }
  return FALSE;
}

/* As cohort_supervisor_start() does for each cluster. */
static void
start_cluster (CohortSupervisor *self,
               CohortCluster    *cluster)
{
  g_autoptr(GError) error = NULL;

  if (!cohort_cluster_start (cluster, &error))
    g_signal_emit (self, signals[CLUSTER_ERROR], 0, cluster, error->message);
}

static void
leaving_state_cb (CohortSupervisor *self,
                  GParamSpec       *pspec,
                  CohortCluster    *cluster)
{
  if (cohort_cluster_get_state (cluster) != COHORT_CLUSTER_STATE_STOPPED)
    return;
  g_signal_handlers_disconnect_by_func (cluster, leaving_state_cb, self);
  g_ptr_array_remove (self->leaving, cluster);
  update_running (self);
}

/* @cluster has left the list: it stops gracefully, held until its last
 * worker has exited. */
static void
let_go (CohortSupervisor *self,
        CohortCluster    *cluster)
{
  cohort_cluster_stop (cluster);
  if (cohort_cluster_get_state (cluster) != COHORT_CLUSTER_STATE_STOPPED)
    {
      g_ptr_array_add (self->leaving, g_object_ref (cluster));
      g_signal_connect_object (cluster, "notify::state", G_CALLBACK (leaving_state_cb),
                               self, G_CONNECT_SWAPPED);
    }
}

static gboolean
find_cluster (CohortSupervisor  *self,
              const char        *name,
              CohortCluster    **cluster,
              guint             *position,
              GError           **error)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->clusters));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortCluster) item = g_list_model_get_item (G_LIST_MODEL (self->clusters), i);

      if (g_str_equal (cohort_cluster_get_name (item), name))
        {
          *cluster = g_steal_pointer (&item);
          *position = i;
          return TRUE;
        }
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("No cluster is named %s"), name);
  return FALSE;
}

/**
 * cohort_supervisor_add_cluster:
 * @spec: the new cluster's spec; its name must be free
 *
 * Appends a cluster to the list, and starts it when another cluster runs,
 * as starting the profile would have. One that cannot start (its port is
 * taken) is added all the same, with its error, and reported through
 * #CohortSupervisor::cluster-error, as cohort_supervisor_start() does.
 *
 * Returns: (transfer none) (nullable): the cluster, or %NULL when the name
 *   is taken or the spec cannot run at all
 */
CohortCluster *
cohort_supervisor_add_cluster (CohortSupervisor   *self,
                               CohortClusterSpec  *spec,
                               GError            **error)
{
  g_autoptr(CohortCluster) cluster = NULL;
  gboolean start;

  g_return_val_if_fail (COHORT_IS_SUPERVISOR (self), NULL);
  g_return_val_if_fail (spec != NULL, NULL);

  if (!check_spec (self, spec, NULL, error))
    return NULL;

  start = any_cluster_running (self);
  cluster = new_cluster (self, spec);
  g_list_store_append (self->clusters, cluster);
  if (start)
    start_cluster (self, cluster);
  update_running (self);
  return cluster;
}

/**
 * cohort_supervisor_remove_cluster:
 *
 * Takes the cluster out of the list at once, and stops its workers
 * gracefully (StopMessage, StopSignal, SIGKILL) in the background; the
 * supervisor stays #CohortSupervisor:running until they have all exited.
 */
gboolean
cohort_supervisor_remove_cluster (CohortSupervisor  *self,
                                  const char        *name,
                                  GError           **error)
{
  g_autoptr(CohortCluster) cluster = NULL;
  guint position;

  g_return_val_if_fail (COHORT_IS_SUPERVISOR (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  if (!find_cluster (self, name, &cluster, &position, error))
    return FALSE;

  g_list_store_remove (self->clusters, position);
  let_go (self, cluster);
  cohort_sampler_forget_cluster (self->sampler, name);
  update_running (self);
  return TRUE;
}

/**
 * cohort_supervisor_replace_cluster:
 * @name: the cluster to change
 * @spec: its new spec; a new name must be free
 *
 * Applies @spec to the cluster @name in place (cohort_cluster_set_spec()),
 * or, for a change between processes and threads, puts a new cluster in
 * its place in the list: the old one stops gracefully in the background
 * (as cohort_supervisor_remove_cluster() does) and the new one starts if
 * the old one was running.
 */
gboolean
cohort_supervisor_replace_cluster (CohortSupervisor   *self,
                                   const char         *name,
                                   CohortClusterSpec  *spec,
                                   GError            **error)
{
  g_autoptr(CohortCluster) old = NULL;
  g_autoptr(CohortCluster) cluster = NULL;
  gboolean start;
  guint position;

  g_return_val_if_fail (COHORT_IS_SUPERVISOR (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);

  if (!find_cluster (self, name, &old, &position, error) ||
      !check_spec (self, spec, old, error))
    return FALSE;

  if (cohort_cluster_get_spec (old)->kind == spec->kind)
    {
      g_autofree char *old_name = g_strdup (name);

      if (!cohort_cluster_set_spec (old, spec, error))
        return FALSE;
      /* The same workers under a new name keep their graphs. */
      cohort_sampler_rename_cluster (self->sampler, old_name, spec->name);
      return TRUE;
    }

  /* Another kind is another cluster: its history starts afresh. */
  cohort_sampler_forget_cluster (self->sampler, name);
  start = cohort_cluster_get_state (old) == COHORT_CLUSTER_STATE_RUNNING;
  cluster = new_cluster (self, spec);
  g_list_store_splice (self->clusters, position, 1, (gpointer *) &cluster, 1);
  let_go (self, old);
  if (start)
    start_cluster (self, cluster);
  update_running (self);
  return TRUE;
}
