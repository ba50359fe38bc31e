/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-supervisor.c: owns the clusters of the open profile, starts and
 * stops them all, and makes Cohort the subreaper of their process trees. */

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

  G_OBJECT_CLASS (cohort_supervisor_parent_class)->dispose (object);
}

static void
cohort_supervisor_finalize (GObject *object)
{
  CohortSupervisor *self = (CohortSupervisor *) object;

  g_clear_pointer (&self->profile_name, g_free);

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
      g_autoptr(CohortCluster) cluster = cohort_cluster_new (g_ptr_array_index (specs, i));

      g_signal_connect_object (cluster, "notify::state", G_CALLBACK (update_running),
                               self, G_CONNECT_SWAPPED);
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

void
cohort_supervisor_kill (CohortSupervisor *self)
{
  g_return_if_fail (COHORT_IS_SUPERVISOR (self));
  for_each_cluster (self, cohort_cluster_kill);
}
