/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-sampler.h: live figures of every worker, and their history. */

#pragma once

#include <gio/gio.h>

#include "cohort-series.h"
#include "cohort-worker.h"

G_BEGIN_DECLS

typedef struct _CohortSupervisor CohortSupervisor;

typedef enum
{
  COHORT_METRIC_CPU,        /* percent of one core */
  COHORT_METRIC_RSS,        /* bytes */
  COHORT_METRIC_MESSAGES_IN,   /* per second */
  COHORT_METRIC_MESSAGES_OUT,
  COHORT_METRIC_BYTES_IN,      /* per second */
  COHORT_METRIC_BYTES_OUT,
  COHORT_METRIC_TREE_CPU,   /* the worker and its descendants */
  COHORT_METRIC_TREE_RSS,
  COHORT_N_METRICS
} CohortMetric;

typedef enum
{
  COHORT_SELF_CPU,          /* Cohort's own, percent of one core */
  COHORT_SELF_RSS,          /* bytes */
  COHORT_SELF_LAG,          /* ms the sampling timer fired late: the main loop's lag */
  COHORT_N_SELF_METRICS
} CohortSelfMetric;

/* A thread cluster's tasks. The times are percentiles over its last 1024
 * tasks (cohort_cluster_get_task_percentiles()), NAN before the first. */
typedef enum
{
  COHORT_TASK_METRIC_QUEUE,     /* tasks waiting in the queue */
  COHORT_TASK_METRIC_RUN_P50,   /* ms */
  COHORT_TASK_METRIC_WAIT_P50,  /* ms in the queue */
  COHORT_N_TASK_METRICS
} CohortTaskMetric;

typedef struct
{
  GPid    pid;
  GPid    ppid;
  double  cpu;
  guint64 rss;
  char   *command;
} CohortProcessSample;

typedef struct
{
  gint64  time;      /* wall clock µs */
  char   *cluster;
  int     worker;    /* -1 for a cluster-wide event */
  char   *kind;      /* "restart", "scale", "reload" */
  char   *text;
} CohortEvent;

#define COHORT_TYPE_SAMPLER (cohort_sampler_get_type ())

G_DECLARE_FINAL_TYPE (CohortSampler, cohort_sampler, COHORT, SAMPLER, GObject)

CohortSampler *cohort_sampler_new                (CohortSupervisor *supervisor);
guint          cohort_sampler_get_interval       (CohortSampler    *self);
void           cohort_sampler_set_interval       (CohortSampler    *self,
                                                  guint             interval_ms);
guint          cohort_sampler_get_history        (CohortSampler    *self);
void           cohort_sampler_set_history        (CohortSampler    *self,
                                                  guint             seconds);
void           cohort_sampler_set_watched        (CohortSampler    *self,
                                                  gboolean          watched);
void           cohort_sampler_sample_now         (CohortSampler    *self);

CohortSeries  *cohort_sampler_get_series         (CohortSampler    *self,
                                                  const char       *cluster,
                                                  guint             worker,
                                                  CohortMetric      metric);
CohortSeries  *cohort_sampler_get_cluster_series (CohortSampler    *self,
                                                  const char       *cluster,
                                                  CohortMetric      metric);
CohortSeries  *cohort_sampler_get_self_series    (CohortSampler    *self,
                                                  CohortSelfMetric  metric);
CohortSeries  *cohort_sampler_get_task_series    (CohortSampler    *self,
                                                  const char       *cluster,
                                                  CohortTaskMetric  metric);
double         cohort_sampler_get_current        (CohortSampler    *self,
                                                  CohortWorker     *worker,
                                                  CohortMetric      metric);
GPtrArray     *cohort_sampler_dup_children       (CohortSampler    *self,
                                                  CohortWorker     *worker);
GPtrArray     *cohort_sampler_dup_events         (CohortSampler    *self);
gboolean       cohort_sampler_export_csv         (CohortSampler    *self,
                                                  const char       *path,
                                                  GError          **error);

void           cohort_process_sample_free        (CohortProcessSample *sample);
void           cohort_event_free                 (CohortEvent         *event);
const char    *cohort_metric_to_string           (CohortMetric         metric);

void           cohort_sampler_rename_cluster (CohortSampler *self,
                                             const char    *old_name,
                                             const char    *new_name);
void           cohort_sampler_forget_cluster (CohortSampler *self,
                                             const char    *name);

G_END_DECLS
