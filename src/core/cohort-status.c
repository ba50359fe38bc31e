/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-status.c: the status of every cluster and worker, as JSON for
 * scripts (`cohort --status --json`, documented in the README) and as a
 * table for people, like `pm2 ls`. */

#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "cohort-process-worker.h"
#include "cohort-status.h"
#include "cohort-thread-worker.h"

/* A process's resident memory; a thread's, the bytes its task holds. */
static guint64
worker_rss (CohortWorker *worker)
{
  if (COHORT_IS_PROCESS_WORKER (worker))
    return cohort_process_worker_get_rss (COHORT_PROCESS_WORKER (worker));
  if (COHORT_IS_THREAD_WORKER (worker))
    return cohort_thread_worker_get_memory (COHORT_THREAD_WORKER (worker));
  return 0;
}

/* The process id, or the thread id of a thread worker; 0 when none. */
static int
worker_id_of_os (CohortWorker *worker)
{
  if (COHORT_IS_PROCESS_WORKER (worker))
    return cohort_process_worker_get_pid (COHORT_PROCESS_WORKER (worker));
  if (COHORT_IS_THREAD_WORKER (worker))
    return cohort_thread_worker_get_tid (COHORT_THREAD_WORKER (worker));
  return 0;
}

/* What the table shows as the state: a running thread is idle or busy. */
static const char *
worker_state_text (CohortWorker *worker)
{
  CohortWorkerState state = cohort_worker_get_state (worker);

  if (state == COHORT_WORKER_STATE_ONLINE && COHORT_IS_THREAD_WORKER (worker))
    return cohort_thread_worker_get_busy (COHORT_THREAD_WORKER (worker)) ? "busy" : "idle";
  return cohort_worker_state_to_string (state);
}

static void
add_figure (JsonBuilder *b,
            const char  *name,
            double       value,
            gboolean     integer)
{
  json_builder_set_member_name (b, name);
  if (isnan (value))
    json_builder_add_null_value (b);
  else if (integer)
    json_builder_add_int_value (b, (gint64) value);
  else
    json_builder_add_double_value (b, round (value * 10) / 10);
}

JsonNode *
cohort_status_worker_json (CohortSampler *sampler,
                           CohortWorker  *worker)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  CohortWorkerState state = cohort_worker_get_state (worker);
  gboolean thread = COHORT_IS_THREAD_WORKER (worker);
  int pid = worker_id_of_os (worker);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, cohort_worker_get_id (worker));
  json_builder_set_member_name (b, thread ? "tid" : "pid");
  if (pid > 0)
    json_builder_add_int_value (b, pid);
  else
    json_builder_add_null_value (b);
  if (thread)
    {
      CohortThreadWorker *tw = COHORT_THREAD_WORKER (worker);
      g_autofree char *task = cohort_thread_worker_dup_task (tw);

      json_builder_set_member_name (b, "busy");
      json_builder_add_boolean_value (b, cohort_thread_worker_get_busy (tw));
      json_builder_set_member_name (b, "task");
      if (task != NULL)
        json_builder_add_string_value (b, task);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "tasks_done");
      json_builder_add_int_value (b, (gint64) cohort_thread_worker_get_tasks_done (tw));
    }
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, cohort_worker_state_to_string (state));
  json_builder_set_member_name (b, "restarts");
  json_builder_add_int_value (b, cohort_worker_get_restarts (worker));
  json_builder_set_member_name (b, "uptime");
  json_builder_add_double_value (b, cohort_worker_get_uptime (worker));
  /* CPU needs two samples over time: null until the sampler has them. */
  add_figure (b, "cpu", cohort_sampler_get_current (sampler, worker, COHORT_METRIC_CPU), FALSE);
  json_builder_set_member_name (b, "rss");
  if (pid > 0 || (thread && cohort_worker_is_running (worker)))
    json_builder_add_int_value (b, (gint64) worker_rss (worker));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "messages_in");
  json_builder_add_int_value (b, (gint64) cohort_worker_get_messages_in (worker));
  json_builder_set_member_name (b, "messages_out");
  json_builder_add_int_value (b, (gint64) cohort_worker_get_messages_out (worker));
  json_builder_set_member_name (b, "bytes_in");
  json_builder_add_int_value (b, (gint64) cohort_worker_get_bytes_in (worker));
  json_builder_set_member_name (b, "bytes_out");
  json_builder_add_int_value (b, (gint64) cohort_worker_get_bytes_out (worker));
  json_builder_set_member_name (b, "bad_messages");
  json_builder_add_int_value (b, (gint64) cohort_worker_get_bad_messages (worker));
  json_builder_set_member_name (b, "last_exit");
  if (cohort_worker_get_last_exit (worker) != NULL)
    json_builder_add_string_value (b, cohort_worker_get_last_exit (worker));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "reason");
  if (cohort_worker_get_reason (worker) != NULL)
    json_builder_add_string_value (b, cohort_worker_get_reason (worker));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "stop_step");
  json_builder_add_string_value (b, cohort_stop_step_to_string (cohort_worker_get_stop_step (worker)));
  add_figure (b, "messages_in_per_s",
              cohort_sampler_get_current (sampler, worker, COHORT_METRIC_MESSAGES_IN), FALSE);
  add_figure (b, "messages_out_per_s",
              cohort_sampler_get_current (sampler, worker, COHORT_METRIC_MESSAGES_OUT), FALSE);

  /* A worker with children of its own (a Node cluster primary,
   * gunicorn): the whole tree, and the children listed. */
  if (COHORT_IS_PROCESS_WORKER (worker))
    {
      g_autoptr(GPtrArray) children = cohort_sampler_dup_children (sampler, worker);

      if (children->len > 0)
        {
          json_builder_set_member_name (b, "tree");
          json_builder_begin_object (b);
          add_figure (b, "cpu", cohort_sampler_get_current (sampler, worker, COHORT_METRIC_TREE_CPU), FALSE);
          add_figure (b, "rss", cohort_sampler_get_current (sampler, worker, COHORT_METRIC_TREE_RSS), TRUE);
          json_builder_set_member_name (b, "children");
          json_builder_begin_array (b);
          for (guint i = 0; i < children->len; i++)
            {
              CohortProcessSample *child = g_ptr_array_index (children, i);

              json_builder_begin_object (b);
              json_builder_set_member_name (b, "pid");
              json_builder_add_int_value (b, child->pid);
              json_builder_set_member_name (b, "ppid");
              json_builder_add_int_value (b, child->ppid);
              json_builder_set_member_name (b, "command");
              json_builder_add_string_value (b, child->command);
              add_figure (b, "cpu", child->cpu, FALSE);
              add_figure (b, "rss", child->rss, TRUE);
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
          json_builder_end_object (b);
        }
    }
  json_builder_end_object (b);

  return json_builder_get_root (b);
}

JsonNode *
cohort_status_to_json (CohortSupervisor *supervisor)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  GListModel *clusters = cohort_supervisor_get_clusters (supervisor);
  CohortSampler *sampler = cohort_supervisor_get_sampler (supervisor);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "profile");
  json_builder_add_string_value (b, cohort_supervisor_get_profile_name (supervisor));
  json_builder_set_member_name (b, "cohort");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "pid");
  json_builder_add_int_value (b, getpid ());
  add_figure (b, "cpu", cohort_series_get_last (cohort_sampler_get_self_series (sampler, COHORT_SELF_CPU)), FALSE);
  add_figure (b, "rss", cohort_series_get_last (cohort_sampler_get_self_series (sampler, COHORT_SELF_RSS)), TRUE);
  add_figure (b, "lag_ms", cohort_series_get_last (cohort_sampler_get_self_series (sampler, COHORT_SELF_LAG)), FALSE);
  json_builder_set_member_name (b, "sample_interval_ms");
  json_builder_add_int_value (b, cohort_sampler_get_interval (sampler));
  json_builder_end_object (b);
  json_builder_set_member_name (b, "clusters");
  json_builder_begin_array (b);

  for (guint i = 0; i < g_list_model_get_n_items (clusters); i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);
      CohortClusterSpec *spec = cohort_cluster_get_spec (cluster);
      GListModel *workers = cohort_cluster_get_workers (cluster);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, cohort_cluster_get_name (cluster));
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, cohort_cluster_kind_to_string (spec->kind));
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, cohort_cluster_state_to_string (cohort_cluster_get_state (cluster)));
      json_builder_set_member_name (b, "desired");
      json_builder_add_int_value (b, cohort_cluster_get_desired (cluster));
      json_builder_set_member_name (b, "online");
      json_builder_add_int_value (b, cohort_cluster_get_n_online (cluster));
      json_builder_set_member_name (b, "reloading");
      json_builder_add_boolean_value (b, cohort_cluster_get_reloading (cluster));
      json_builder_set_member_name (b, "listen_port");
      if (cohort_cluster_get_listen_port (cluster) > 0)
        json_builder_add_int_value (b, cohort_cluster_get_listen_port (cluster));
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "error");
      if (cohort_cluster_get_error (cluster) != NULL)
        json_builder_add_string_value (b, cohort_cluster_get_error (cluster));
      else
        json_builder_add_null_value (b);
      if (spec->kind == COHORT_CLUSTER_KIND_THREADS)
        {
          static const char * const names[] = { "p50", "p90", "p99" };
          double wait[3];
          double run[3];
          guint n = cohort_cluster_get_task_percentiles (cluster, wait, run);

          json_builder_set_member_name (b, "task");
          if (spec->task != NULL)
            json_builder_add_string_value (b, spec->task);
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "queue_depth");
          json_builder_add_int_value (b, cohort_cluster_get_queue_depth (cluster));
          json_builder_set_member_name (b, "timed_tasks");
          json_builder_add_int_value (b, n);
          json_builder_set_member_name (b, "wait_ms");
          json_builder_begin_object (b);
          for (guint k = 0; k < 3; k++)
            {
              json_builder_set_member_name (b, names[k]);
              json_builder_add_double_value (b, wait[k]);
            }
          json_builder_end_object (b);
          json_builder_set_member_name (b, "run_ms");
          json_builder_begin_object (b);
          for (guint k = 0; k < 3; k++)
            {
              json_builder_set_member_name (b, names[k]);
              json_builder_add_double_value (b, run[k]);
            }
          json_builder_end_object (b);
        }
      json_builder_set_member_name (b, "workers");
      json_builder_begin_array (b);
      for (guint j = 0; j < g_list_model_get_n_items (workers); j++)
        {
          g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, j);

          json_builder_add_value (b, cohort_status_worker_json (sampler, worker));
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }

  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
format_duration (char   *buf,
                 gsize   size,
                 double  seconds)
{
  if (seconds <= 0)
    g_strlcpy (buf, "-", size);
  else if (seconds < 60)
    g_snprintf (buf, size, "%.0fs", seconds);
  else if (seconds < 3600)
    g_snprintf (buf, size, "%.0fm", seconds / 60);
  else if (seconds < 86400)
    g_snprintf (buf, size, "%.1fh", seconds / 3600);
  else
    g_snprintf (buf, size, "%.1fd", seconds / 86400);
}

static void
format_bytes (char    *buf,
              gsize    size,
              guint64  bytes)
{
  if (bytes == 0)
    g_strlcpy (buf, "-", size);
  else if (bytes < 1024 * 1024)
    g_snprintf (buf, size, "%.0f KiB", bytes / 1024.0);
  else
    g_snprintf (buf, size, "%.1f MiB", bytes / (1024.0 * 1024.0));
}

/* One line a worker (and a line for a cluster without any), columns
 * aligned; the reason of a waiting, errored or stopped worker last. */
char *
cohort_status_format_table (CohortSupervisor *supervisor)
{
  GListModel *clusters = cohort_supervisor_get_clusters (supervisor);
  CohortSampler *sampler = cohort_supervisor_get_sampler (supervisor);
  g_autoptr(GString) out = g_string_new (NULL);
  guint n = g_list_model_get_n_items (clusters);
  int name_width = strlen ("cluster");

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);

      name_width = MAX (name_width, (int) strlen (cohort_cluster_get_name (cluster)));
    }

  g_string_append_printf (out, "%-*s %4s %8s  %-9s %7s %8s %6s %9s %13s %4s  %s\n",
                          name_width, "cluster", "id", "pid/tid", "state", "uptime",
                          "restarts", "cpu", "memory", "msgs in/out", "bad", "last exit");

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);
      GListModel *workers = cohort_cluster_get_workers (cluster);
      guint n_workers = g_list_model_get_n_items (workers);
      const char *error = cohort_cluster_get_error (cluster);

      if (n_workers == 0)
        g_string_append_printf (out, "%-*s %4s %8s  %-9s %7s %8s %6s %9s %13s %4s  %s\n",
                                name_width, cohort_cluster_get_name (cluster), "-", "-",
                                cohort_cluster_state_to_string (cohort_cluster_get_state (cluster)),
                                "-", "-", "-", "-", "-", "-", error != NULL ? error : "-");

      for (guint j = 0; j < n_workers; j++)
        {
          g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, j);
          const char *last_exit = cohort_worker_get_last_exit (worker);
          const char *reason = cohort_worker_get_reason (worker);
          int pid = worker_id_of_os (worker);
          char pid_text[16];
          char uptime[16];
          char memory[24];
          char messages[32];
          char cpu_text[16];
          double cpu = cohort_sampler_get_current (sampler, worker, COHORT_METRIC_CPU);

          if (pid > 0)
            g_snprintf (pid_text, sizeof pid_text, "%d", pid);
          else
            g_strlcpy (pid_text, "-", sizeof pid_text);
          format_duration (uptime, sizeof uptime, cohort_worker_get_uptime (worker));
          format_bytes (memory, sizeof memory, worker_rss (worker));
          if (isnan (cpu))
            g_strlcpy (cpu_text, "-", sizeof cpu_text);
          else
            g_snprintf (cpu_text, sizeof cpu_text, "%.0f%%", cpu);
          g_snprintf (messages, sizeof messages, "%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                      cohort_worker_get_messages_in (worker),
                      cohort_worker_get_messages_out (worker));

          g_string_append_printf (out, "%-*s %4u %8s  %-9s %7s %8u %6s %9s %13s %4" G_GUINT64_FORMAT "  %s%s%s%s\n",
                                  name_width, cohort_cluster_get_name (cluster),
                                  cohort_worker_get_id (worker), pid_text,
                                  worker_state_text (worker),
                                  uptime, cohort_worker_get_restarts (worker), cpu_text, memory, messages,
                                  cohort_worker_get_bad_messages (worker),
                                  last_exit != NULL ? last_exit : "-",
                                  reason != NULL ? " (" : "",
                                  reason != NULL ? reason : "",
                                  reason != NULL ? ")" : "");
        }
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ISO 8601 in UTC with milliseconds: 2026-11-26T20:45:01.123Z */
char *
cohort_status_format_time (gint64 wall_usec)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (wall_usec / G_USEC_PER_SEC);
  g_autofree char *base = NULL;

  if (time == NULL)
    return g_strdup ("?");
  base = g_date_time_format (time, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%03dZ", base, (int) ((wall_usec % G_USEC_PER_SEC) / 1000));
}
