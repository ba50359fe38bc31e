/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-headless.c: the headless runner, Cohort's `pm2-runtime` or
 * `supervisord -n`: every cluster started, workers' output prefixed
 * `name.id |`, a compact status table whenever states change (at most once
 * a second), and a graceful stop of everything on SIGINT or SIGTERM. */

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <stdio.h>

#include "cohort-headless.h"
#include "cohort-process-worker.h"

#define TABLE_INTERVAL_US G_USEC_PER_SEC

typedef struct
{
  CohortSupervisor *supervisor;
  GMainLoop        *loop;
  guint             n_signals;
  gint64            last_table;
  guint             table_source;
  int               status;
} Headless;

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
print_table (Headless *self)
{
  GListModel *clusters = cohort_supervisor_get_clusters (self->supervisor);
  g_autoptr(GString) out = g_string_new (NULL);
  guint n = g_list_model_get_n_items (clusters);
  gsize name_width = strlen ("cluster");

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);

      name_width = MAX (name_width, strlen (cohort_cluster_get_name (cluster)));
    }

  g_string_append_printf (out, "%-*s %4s %8s  %-9s %7s %8s  %s\n",
                          (int) name_width, "cluster", "id", "pid", "state",
                          "uptime", "restarts", "last exit");

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);
      GListModel *workers = cohort_cluster_get_workers (cluster);
      guint n_workers = g_list_model_get_n_items (workers);

      if (n_workers == 0)
        g_string_append_printf (out, "%-*s %4s %8s  %-9s %7s %8s  %s\n",
                                (int) name_width, cohort_cluster_get_name (cluster),
                                "-", "-",
                                cohort_cluster_state_to_string (cohort_cluster_get_state (cluster)),
                                "-", "-",
                                cohort_cluster_get_error (cluster) != NULL
                                  ? cohort_cluster_get_error (cluster) : "-");

      for (guint j = 0; j < n_workers; j++)
        {
          g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, j);
          const char *last_exit = cohort_worker_get_last_exit (worker);
          const char *reason = cohort_worker_get_reason (worker);
          GPid pid = COHORT_IS_PROCESS_WORKER (worker)
            ? cohort_process_worker_get_pid (COHORT_PROCESS_WORKER (worker)) : 0;
          char pid_text[16];
          char uptime[16];

          if (pid > 0)
            g_snprintf (pid_text, sizeof pid_text, "%d", pid);
          else
            g_strlcpy (pid_text, "-", sizeof pid_text);
          format_duration (uptime, sizeof uptime, cohort_worker_get_uptime (worker));

          g_string_append_printf (out, "%-*s %4u %8s  %-9s %7s %8u  %s%s%s%s\n",
                                  (int) name_width, cohort_cluster_get_name (cluster),
                                  cohort_worker_get_id (worker), pid_text,
                                  cohort_worker_state_to_string (cohort_worker_get_state (worker)),
                                  uptime, cohort_worker_get_restarts (worker),
                                  last_exit != NULL ? last_exit : "-",
                                  reason != NULL ? " (" : "",
                                  reason != NULL ? reason : "",
                                  reason != NULL ? ")" : "");
        }
    }

  fputs (out->str, stdout);
  fflush (stdout);
  self->last_table = g_get_monotonic_time ();
}

static gboolean
table_timeout_cb (gpointer data)
{
  Headless *self = data;

  self->table_source = 0;
  print_table (self);
  return G_SOURCE_REMOVE;
}

/* States change in bursts (a cluster of 64 starting): one table now, or
 * one a second later with everything that changed meanwhile. */
static void
queue_table (Headless *self)
{
  gint64 wait = self->last_table + TABLE_INTERVAL_US - g_get_monotonic_time ();

  if (self->table_source != 0)
    return;
  if (wait <= 0)
    self->table_source = g_idle_add (table_timeout_cb, self);
  else
    self->table_source = g_timeout_add ((guint) (wait / 1000) + 1, table_timeout_cb, self);
}

static void
worker_output_cb (CohortWorker *worker,
                  int           stream,
                  const char   *line,
                  gpointer      user_data)
{
  CohortCluster *cluster = cohort_worker_get_cluster (worker);
  FILE *file = stream == COHORT_OUTPUT_STDERR ? stderr : stdout;

  fprintf (file, "%s.%u | %s\n",
           cluster != NULL ? cohort_cluster_get_name (cluster) : "?",
           cohort_worker_get_id (worker), line);
  fflush (file);
}

static void
worker_state_cb (CohortWorker *worker,
                 GParamSpec   *pspec,
                 Headless     *self)
{
  queue_table (self);
}

static void
workers_changed_cb (GListModel *workers,
                    guint       position,
                    guint       removed,
                    guint       added,
                    Headless   *self)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      g_signal_connect (worker, "output", G_CALLBACK (worker_output_cb), self);
      g_signal_connect (worker, "notify::state", G_CALLBACK (worker_state_cb), self);
    }
  queue_table (self);
}

static void
running_cb (CohortSupervisor *supervisor,
            GParamSpec       *pspec,
            Headless         *self)
{
  if (self->n_signals > 0 && !cohort_supervisor_get_running (supervisor))
    {
      g_clear_handle_id (&self->table_source, g_source_remove);
      print_table (self);
      g_printerr (_("Every worker has stopped.\n"));
      g_main_loop_quit (self->loop);
    }
}

static gboolean
stop_signal_cb (gpointer data)
{
  Headless *self = data;

  self->n_signals++;
  if (self->n_signals == 1)
    {
      g_printerr (_("Stopping every worker gracefully (send the signal again to kill them now)…\n"));
      cohort_supervisor_stop (self->supervisor);
    }
  else
    {
      g_printerr (_("Killing every worker now…\n"));
      cohort_supervisor_kill (self->supervisor);
    }

  if (!cohort_supervisor_get_running (self->supervisor))
    g_main_loop_quit (self->loop);
  return G_SOURCE_CONTINUE;
}

static void
cluster_error_cb (CohortSupervisor *supervisor,
                  CohortCluster    *cluster,
                  const char       *message,
                  Headless         *self)
{
  g_printerr (_("%s: cannot start: %s\n"), cohort_cluster_get_name (cluster), message);
}

/**
 * cohort_headless_run:
 * @supervisor: a supervisor with a profile loaded
 *
 * Returns: the exit status: 0 after a graceful stop, 1 if nothing could
 *   start, 2 if there was nothing to run
 */
int
cohort_headless_run (CohortSupervisor *supervisor,
                     const char       *path)
{
  GListModel *clusters = cohort_supervisor_get_clusters (supervisor);
  Headless self = { 0 };
  guint n = g_list_model_get_n_items (clusters);
  guint sigint;
  guint sigterm;

  if (n == 0)
    {
      g_printerr (_("%s: the profile has no cluster: nothing to run\n"), path);
      return 2;
    }

  self.supervisor = supervisor;
  self.loop = g_main_loop_new (NULL, FALSE);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);

      g_signal_connect (cohort_cluster_get_workers (cluster), "items-changed",
                        G_CALLBACK (workers_changed_cb), &self);
    }
  g_signal_connect (supervisor, "cluster-error", G_CALLBACK (cluster_error_cb), &self);
  g_signal_connect (supervisor, "notify::running", G_CALLBACK (running_cb), &self);
  sigint = g_unix_signal_add (SIGINT, stop_signal_cb, &self);
  sigterm = g_unix_signal_add (SIGTERM, stop_signal_cb, &self);

  g_print (_("Cohort %s: profile “%s” (%s)\n"), PACKAGE_VERSION,
           cohort_supervisor_get_profile_name (supervisor), path);

  if (cohort_supervisor_start (supervisor) == n)
    {
      g_printerr (_("No cluster could start.\n"));
      self.status = 1;
    }
  else
    {
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);
          guint16 port = cohort_cluster_get_listen_port (cluster);

          const char *listen = cohort_cluster_get_spec (cluster)->listen;
          g_autofree char *suffix = g_strdup_printf (":%u", port);

          if (port == 0)
            continue;
          if (g_str_has_suffix (listen, suffix))
            g_print (_("%s: listening on %s\n"), cohort_cluster_get_name (cluster), listen);
          else
            g_print (_("%s: listening on %s (port %u)\n"), cohort_cluster_get_name (cluster),
                     listen, port);
        }
      g_main_loop_run (self.loop);
    }

  g_clear_handle_id (&sigint, g_source_remove);
  g_clear_handle_id (&sigterm, g_source_remove);
  g_clear_handle_id (&self.table_source, g_source_remove);
  g_signal_handlers_disconnect_by_data (supervisor, &self);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);
      GListModel *workers = cohort_cluster_get_workers (cluster);

      g_signal_handlers_disconnect_by_data (workers, &self);
      for (guint j = 0; j < g_list_model_get_n_items (workers); j++)
        {
          g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, j);

          g_signal_handlers_disconnect_by_data (worker, &self);
        }
    }
  g_main_loop_unref (self.loop);
  return self.status;
}
