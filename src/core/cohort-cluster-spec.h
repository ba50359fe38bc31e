/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-cluster-spec.h: what one [Cluster NAME] group of a profile asks
 * for, parsed and checked. Immutable once built, shared by reference: an
 * editor changes a copy. */

#pragma once

#include <glib-object.h>

#include "cohort-enums.h"

G_BEGIN_DECLS

#define COHORT_TYPE_CLUSTER_SPEC (cohort_cluster_spec_get_type ())

/* Instances= max */
#define COHORT_INSTANCES_MAX (-1)

typedef struct _CohortClusterSpec CohortClusterSpec;

struct _CohortClusterSpec
{
  char                *name;
  CohortClusterKind    kind;

  /* Command= as written, and split like a shell would */
  char                *command;
  char               **argv;
  /* expanded (~) and made absolute against the profile's folder; NULL for
   * Cohort's own working directory */
  char                *working_directory;
  /* Environment= as KEY=VALUE strings, in order */
  char               **environment;
  /* Listen= as written, NULL when the cluster shares no socket */
  char                *listen;

  int                  instances;      /* > 0, or COHORT_INSTANCES_MAX */
  CohortChannelMode    channel;
  CohortRestartPolicy  restart;
  guint                restart_delay_ms;
  guint                restart_delay_max_ms;
  double               min_uptime_s;
  guint                max_restarts;
  char                *stop_message;   /* JSON text; NULL or "" skips the step */
  int                  stop_signal;
  double               stop_timeout_s;
  double               ready_timeout_s;
  guint64              max_memory_mib;

  /* Kind=threads */
  char                *task;           /* Task=, NULL when tasks come as messages only */
  char                *arguments;      /* Arguments=, compact JSON object */
  gboolean             repeat;
  double               task_timeout_s; /* 0: none */

  /*< private >*/
  gatomicrefcount      ref_count;
};

GType               cohort_cluster_spec_get_type          (void) G_GNUC_CONST;
CohortClusterSpec  *cohort_cluster_spec_new               (const char              *name,
                                                           CohortClusterKind        kind);
CohortClusterSpec  *cohort_cluster_spec_copy              (const CohortClusterSpec *self);
CohortClusterSpec  *cohort_cluster_spec_ref               (CohortClusterSpec       *self);
void                cohort_cluster_spec_unref             (CohortClusterSpec       *self);
gboolean            cohort_cluster_spec_equal             (const CohortClusterSpec *a,
                                                           const CohortClusterSpec *b);
guint               cohort_cluster_spec_resolve_instances (const CohortClusterSpec *self);

const char * const *cohort_cluster_spec_list_keys         (CohortClusterKind        kind);
char               *cohort_cluster_spec_describe          (const CohortClusterSpec *spec);
char               *cohort_cluster_spec_value_text        (const CohortClusterSpec *spec,
                                                           const char              *key);
char               *cohort_cluster_spec_format_value      (const CohortClusterSpec *spec,
                                                           const char              *key);

const char         *cohort_signal_to_name                 (int                      signum);
gboolean            cohort_signal_from_name               (const char              *name,
                                                           int                     *signum);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CohortClusterSpec, cohort_cluster_spec_unref)

G_END_DECLS
