/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-enums.c: stable names of the core's enumerations, as used in
 * profiles, --status --json and the headless table. */

#include "config.h"

#include "cohort-enums.h"

const char *
cohort_worker_state_to_string (CohortWorkerState state)
{
  switch (state)
    {
    case COHORT_WORKER_STATE_STARTING: return "starting";
    case COHORT_WORKER_STATE_ONLINE:   return "online";
    case COHORT_WORKER_STATE_STOPPING: return "stopping";
    case COHORT_WORKER_STATE_STOPPED:  return "stopped";
    case COHORT_WORKER_STATE_EXITED:   return "exited";
    case COHORT_WORKER_STATE_KILLED:   return "killed";
    case COHORT_WORKER_STATE_WAITING:  return "waiting";
    case COHORT_WORKER_STATE_ERRORED:  return "errored";
    default:                           break;
    }
  g_return_val_if_reached ("unknown");
}

const char *
cohort_stop_step_to_string (CohortStopStep step)
{
  switch (step)
    {
    case COHORT_STOP_STEP_NONE:    return "none";
    case COHORT_STOP_STEP_MESSAGE: return "message";
    case COHORT_STOP_STEP_SIGNAL:  return "signal";
    case COHORT_STOP_STEP_KILL:    return "kill";
    default:                       break;
    }
  g_return_val_if_reached ("unknown");
}

const char *
cohort_cluster_state_to_string (CohortClusterState state)
{
  switch (state)
    {
    case COHORT_CLUSTER_STATE_STOPPED:  return "stopped";
    case COHORT_CLUSTER_STATE_RUNNING:  return "running";
    case COHORT_CLUSTER_STATE_STOPPING: return "stopping";
    default:                            break;
    }
  g_return_val_if_reached ("unknown");
}

const char *
cohort_cluster_kind_to_string (CohortClusterKind kind)
{
  switch (kind)
    {
    case COHORT_CLUSTER_KIND_PROCESS: return "process";
    case COHORT_CLUSTER_KIND_THREADS: return "threads";
    default:                          break;
    }
  g_return_val_if_reached ("unknown");
}

const char *
cohort_restart_policy_to_string (CohortRestartPolicy policy)
{
  switch (policy)
    {
    case COHORT_RESTART_ON_FAILURE: return "on-failure";
    case COHORT_RESTART_ALWAYS:     return "always";
    case COHORT_RESTART_NEVER:      return "never";
    default:                        break;
    }
  g_return_val_if_reached ("unknown");
}

const char *
cohort_channel_mode_to_string (CohortChannelMode mode)
{
  switch (mode)
    {
    case COHORT_CHANNEL_AUTO:   return "auto";
    case COHORT_CHANNEL_NDJSON: return "ndjson";
    case COHORT_CHANNEL_NODE:   return "node";
    case COHORT_CHANNEL_NONE:   return "none";
    default:                    break;
    }
  g_return_val_if_reached ("unknown");
}
