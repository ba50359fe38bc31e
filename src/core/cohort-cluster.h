/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-cluster.h: one named group of workers. */

#pragma once

#include <gio/gio.h>

#include "cohort-cluster-spec.h"
#include "cohort-worker.h"

G_BEGIN_DECLS

#define COHORT_TYPE_CLUSTER (cohort_cluster_get_type ())

/* What applying an edited spec to a cluster will do (see
 * cohort_cluster_plan_spec()). */
typedef struct
{
  guint    restart;      /* running workers replaced one at a time */
  guint    add;          /* workers started */
  guint    remove;       /* workers stopped gracefully and removed */
  gboolean rename;
  gboolean kind_change;  /* process ↔ threads: the cluster is replaced */
  gboolean live;         /* settings running workers follow at once changed */
  gboolean later;        /* changes that wait for a worker's next start */
  gboolean running;      /* the cluster runs; else it all waits for its start */
} CohortApplyPlan;

G_DECLARE_FINAL_TYPE (CohortCluster, cohort_cluster, COHORT, CLUSTER, GObject)

CohortCluster      *cohort_cluster_new            (CohortClusterSpec  *spec);
const char         *cohort_cluster_get_name       (CohortCluster      *self);
CohortClusterSpec  *cohort_cluster_get_spec       (CohortCluster      *self);
GListModel         *cohort_cluster_get_workers    (CohortCluster      *self);
CohortClusterState  cohort_cluster_get_state      (CohortCluster      *self);
guint               cohort_cluster_get_desired    (CohortCluster      *self);
guint               cohort_cluster_get_n_online   (CohortCluster      *self);
const char         *cohort_cluster_get_error      (CohortCluster      *self);
int                 cohort_cluster_get_listen_fd  (CohortCluster      *self);
guint16             cohort_cluster_get_listen_port (CohortCluster     *self);
CohortWorker       *cohort_cluster_lookup_worker  (CohortCluster      *self,
                                                   guint               id);

gboolean            cohort_cluster_start          (CohortCluster      *self,
                                                   GError            **error);
void                cohort_cluster_stop           (CohortCluster      *self);
void                cohort_cluster_kill           (CohortCluster      *self);
gboolean            cohort_cluster_scale          (CohortCluster      *self,
                                                   guint               instances,
                                                   GError            **error);
gboolean            cohort_cluster_send           (CohortCluster      *self,
                                                   int                 id,
                                                   JsonNode           *message,
                                                   guint              *n_sent,
                                                   GError            **error);
gboolean            cohort_cluster_get_reloading  (CohortCluster      *self);
guint               cohort_cluster_get_queue_depth (CohortCluster     *self);
guint               cohort_cluster_get_task_percentiles (CohortCluster *self,
                                                   double             *wait,
                                                   double             *run);
void                cohort_cluster_reload_async   (CohortCluster      *self,
                                                   GCancellable       *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer            user_data);
gboolean            cohort_cluster_reload_finish  (CohortCluster      *self,
                                                   GAsyncResult       *result,
                                                   guint              *n_replaced,
                                                   GError            **error);

void                cohort_cluster_plan_spec      (CohortCluster            *self,
                                                   const CohortClusterSpec  *spec,
                                                   CohortApplyPlan          *plan);
gboolean            cohort_cluster_check_spec     (const CohortClusterSpec  *spec,
                                                   GError                  **error);
gboolean            cohort_cluster_set_spec       (CohortCluster      *self,
                                                   CohortClusterSpec  *spec,
                                                   GError            **error);
char               *cohort_apply_plan_describe    (const CohortApplyPlan *plan);

G_END_DECLS
