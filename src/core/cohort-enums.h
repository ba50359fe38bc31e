/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-enums.h: the enumerations shared by the core's objects. */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  COHORT_CLUSTER_KIND_PROCESS,
  COHORT_CLUSTER_KIND_THREADS,
} CohortClusterKind;

typedef enum
{
  COHORT_RESTART_ON_FAILURE,
  COHORT_RESTART_ALWAYS,
  COHORT_RESTART_NEVER,
} CohortRestartPolicy;

typedef enum
{
  COHORT_CHANNEL_AUTO,
  COHORT_CHANNEL_NDJSON,
  COHORT_CHANNEL_NODE,
  COHORT_CHANNEL_NONE,
} CohortChannelMode;

/* The order is used by sort models: running states first. */
typedef enum
{
  COHORT_WORKER_STATE_STARTING,
  COHORT_WORKER_STATE_ONLINE,
  COHORT_WORKER_STATE_STOPPING,
  COHORT_WORKER_STATE_STOPPED,
  COHORT_WORKER_STATE_EXITED,
  COHORT_WORKER_STATE_KILLED,
  COHORT_WORKER_STATE_WAITING,
  COHORT_WORKER_STATE_ERRORED,
} CohortWorkerState;

/* Which step of the graceful-stop ladder a worker is in, or which one
 * ended it. */
typedef enum
{
  COHORT_STOP_STEP_NONE,
  COHORT_STOP_STEP_MESSAGE,
  COHORT_STOP_STEP_SIGNAL,
  COHORT_STOP_STEP_KILL,
} CohortStopStep;

typedef enum
{
  COHORT_CLUSTER_STATE_STOPPED,
  COHORT_CLUSTER_STATE_RUNNING,
  COHORT_CLUSTER_STATE_STOPPING,
} CohortClusterState;

typedef enum
{
  COHORT_OUTPUT_STDOUT,
  COHORT_OUTPUT_STDERR,
} CohortOutputStream;

const char *cohort_worker_state_to_string  (CohortWorkerState  state);
const char *cohort_stop_step_to_string     (CohortStopStep     step);
const char *cohort_cluster_state_to_string (CohortClusterState state);
const char *cohort_cluster_kind_to_string  (CohortClusterKind  kind);
const char *cohort_restart_policy_to_string (CohortRestartPolicy policy);
const char *cohort_channel_mode_to_string  (CohortChannelMode  mode);

G_END_DECLS
