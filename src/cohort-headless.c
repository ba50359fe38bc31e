/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-headless.c: the headless runner, Cohort's `pm2-runtime` or
 * `supervisord -n`: every cluster started, workers' output prefixed
 * `name.id |`, a compact status table whenever states change (at most once
 * a second), a graceful stop of everything on SIGINT or SIGTERM, and the
 * instance that `cohort --status` and the other commands reach on the
 * session bus. */

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <stdio.h>

#include "cohort-control.h"
#include "cohort-headless.h"
#include "cohort-pm2.h"
#include "cohort-profile.h"
#include "cohort-status.h"
#include "cohort-supervisor.h"

#define TABLE_INTERVAL_US G_USEC_PER_SEC

struct _CohortHeadless
{
  GApplication      parent_instance;

  char             *path;
  CohortProfile    *profile;
  CohortSupervisor *supervisor;
  CohortControl    *control;
  gboolean          running;    /* holding the application */
  guint             n_signals;
  gint64            last_table;
  guint             table_source;
  guint             sigint;
  guint             sigterm;
  int               exit_status;
};

G_DEFINE_FINAL_TYPE (CohortHeadless, cohort_headless, G_TYPE_APPLICATION)

static void
print_diagnostics (CohortProfile *profile)
{
  for (guint i = 0; i < cohort_profile_get_n_diagnostics (profile); i++)
    {
      g_autofree char *text =
        cohort_profile_format_diagnostic (profile, cohort_profile_get_diagnostic (profile, i));

      g_printerr ("%s\n", text);
    }
}

/* --check: every problem with its line; exit 2 if any is an error. */
static int
check_profile (const char *path)
{
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  gboolean ok = cohort_profile_load_file (profile, path, NULL);
  guint n_clusters;

  print_diagnostics (profile);
  if (!ok)
    return COHORT_EXIT_USAGE;

  n_clusters = cohort_profile_get_clusters (profile)->len;
  g_print (ngettext ("%s: OK, profile “%s” with %u cluster\n",
                     "%s: OK, profile “%s” with %u clusters\n", n_clusters),
           path, cohort_profile_get_name (profile), n_clusters);
  return EXIT_SUCCESS;
}

/* --import FILE -o FILE.cohort: warnings say what was not carried over;
 * an error writes nothing. */
static int
import_ecosystem (const char *path,
                  const char *output)
{
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GError) error = NULL;
  guint n_clusters = 0;

  if (output == NULL)
    {
      g_printerr (_("cohort: --import needs -o FILE.cohort, the profile to write\n"));
      return COHORT_EXIT_USAGE;
    }
  if (!cohort_pm2_convert (path, output, &warnings, &n_clusters, &error))
    {
      g_printerr ("%s\n", error->message);
      return COHORT_EXIT_USAGE;
    }
  for (guint i = 0; i < warnings->len; i++)
    g_printerr (_("%s: warning: %s\n"), path, (char *) g_ptr_array_index (warnings, i));
  g_print (ngettext ("%s: %u app imported into %s\n", "%s: %u apps imported into %s\n",
                     n_clusters),
           path, n_clusters, output);
  return EXIT_SUCCESS;
}

/* The table */

static void
print_table (CohortHeadless *self)
{
  g_autofree char *table = cohort_status_format_table (self->supervisor);

  fputs (table, stdout);
  fflush (stdout);
  self->last_table = g_get_monotonic_time ();
}

static gboolean
table_timeout_cb (gpointer data)
{
  CohortHeadless *self = data;

  self->table_source = 0;
  print_table (self);
  return G_SOURCE_REMOVE;
}

/* States change in bursts (a cluster of 64 starting): one table now, or
 * one a second later with everything that changed meanwhile. */
static void
queue_table (CohortHeadless *self)
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
workers_changed_cb (GListModel     *workers,
                    guint           position,
                    guint           removed,
                    guint           added,
                    CohortHeadless *self)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      g_signal_connect_object (worker, "output", G_CALLBACK (worker_output_cb), self, 0);
      g_signal_connect_object (worker, "notify::state", G_CALLBACK (queue_table), self,
                               G_CONNECT_SWAPPED);
    }
  queue_table (self);
}

/* Stopping */

static void
finish (CohortHeadless *self)
{
  if (!self->running)
    return;
  self->running = FALSE;
  g_clear_handle_id (&self->table_source, g_source_remove);
  g_clear_handle_id (&self->sigint, g_source_remove);
  g_clear_handle_id (&self->sigterm, g_source_remove);
  print_table (self);
  g_printerr (_("Every worker has stopped.\n"));
  cohort_control_finish_all (self->control);
  g_application_release (G_APPLICATION (self));
}

static void
running_cb (CohortHeadless *self)
{
  if (self->n_signals > 0 && !cohort_supervisor_get_running (self->supervisor))
    finish (self);
}

static gboolean
stop_signal_cb (gpointer data)
{
  CohortHeadless *self = data;

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
    finish (self);
  return G_SOURCE_CONTINUE;
}

static void
quit_requested_cb (CohortHeadless *self)
{
  self->n_signals = MAX (self->n_signals, 1);
  finish (self);
}

static void
cluster_error_cb (CohortHeadless *self,
                  CohortCluster  *cluster,
                  const char     *message)
{
  g_printerr (_("%s: cannot start: %s\n"), cohort_cluster_get_name (cluster), message);
}

static void
start_running (CohortHeadless *self)
{
  GListModel *clusters = cohort_supervisor_get_clusters (self->supervisor);
  guint n = g_list_model_get_n_items (clusters);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);

      g_signal_connect_object (cohort_cluster_get_workers (cluster), "items-changed",
                               G_CALLBACK (workers_changed_cb), self, 0);
    }
  g_signal_connect_object (self->supervisor, "cluster-error", G_CALLBACK (cluster_error_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->supervisor, "notify::running", G_CALLBACK (running_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->control, "quit-requested", G_CALLBACK (quit_requested_cb),
                           self, G_CONNECT_SWAPPED);
  self->sigint = g_unix_signal_add (SIGINT, stop_signal_cb, self);
  self->sigterm = g_unix_signal_add (SIGTERM, stop_signal_cb, self);

  g_print (_("Cohort %s: profile “%s” (%s)\n"), PACKAGE_VERSION,
           cohort_supervisor_get_profile_name (self->supervisor), self->path);

  if (cohort_supervisor_start (self->supervisor) == n)
    {
      g_printerr (_("No cluster could start.\n"));
      self->exit_status = 1;
      g_clear_handle_id (&self->sigint, g_source_remove);
      g_clear_handle_id (&self->sigterm, g_source_remove);
      return;
    }

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

  self->running = TRUE;
  g_application_hold (G_APPLICATION (self));
}

/* GApplication */

static int
cohort_headless_handle_local_options (GApplication *application,
                                      GVariantDict *options)
{
  CohortHeadless *self = COHORT_HEADLESS (application);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_auto(GStrv) files = NULL;
  gboolean implicit = FALSE;
  g_autofree char *check = NULL;
  g_autofree char *import = NULL;
  g_autofree char *output = NULL;
  int status;

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("cohort %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (g_variant_dict_lookup (options, "check", "^ay", &check))
    return check_profile (check);
  g_variant_dict_lookup (options, "output", "^ay", &output);
  if (g_variant_dict_lookup (options, "import", "^ay", &import))
    return import_ecosystem (import, output);
  if (output != NULL)
    {
      g_printerr (_("cohort: -o goes with --import\n"));
      return COHORT_EXIT_USAGE;
    }

  status = cohort_control_handle_local_options (application, options);
  if (status >= 0 || cohort_control_wants_instance (options))
    return status;

  /* Running a profile. */
  g_variant_dict_lookup (options, G_OPTION_REMAINING, "^as", &files);
  if ((files == NULL || files[0] == NULL) && !g_variant_dict_contains (options, "headless"))
    {
      /* `cohort` with no display: what the window would have opened. */
      g_strfreev (files);
      files = g_new0 (char *, 2);
      files[0] = cohort_control_default_profile ();
      implicit = TRUE;
      g_printerr (_("cohort: running %s\n"), files[0]);
    }
  if (files == NULL || files[0] == NULL)
    {
      g_printerr (_("cohort: name a profile to run, for example: cohort --headless data/demo.cohort\n"));
      return COHORT_EXIT_USAGE;
    }
  if (files[1] != NULL)
    {
      g_printerr (_("cohort: one profile at a time\n"));
      return COHORT_EXIT_USAGE;
    }
  self->path = g_strdup (files[0]);

  self->profile = cohort_profile_new ();
  if (!cohort_profile_load_file (self->profile, self->path, NULL))
    {
      print_diagnostics (self->profile);
      g_printerr (_("Nothing was started.\n"));
      return COHORT_EXIT_USAGE;
    }
  /* Warnings still deserve to be seen. */
  print_diagnostics (self->profile);
  /* A profile named on the command line is the user's own choice; one
   * picked for them (`cohort` alone) must be one Cohort saved here. */
  if (implicit && !cohort_profile_get_trusted (self->profile))
    {
      GPtrArray *clusters = cohort_profile_get_clusters (self->profile);

      g_printerr (_("cohort: %s was not saved by Cohort on this computer; it would run:\n"), self->path);
      for (guint i = 0; i < clusters->len; i++)
        {
          g_autofree char *description = cohort_cluster_spec_describe (g_ptr_array_index (clusters, i));

          g_printerr ("  %s\n", description);
        }
      g_printerr (_("Nothing was started. To run it: cohort --headless %s\n"), self->path);
      return COHORT_EXIT_USAGE;
    }
  if (cohort_profile_get_clusters (self->profile)->len == 0)
    {
      g_printerr (_("%s: the profile has no cluster: nothing to run\n"), self->path);
      return COHORT_EXIT_USAGE;
    }

  /* Without a session bus the profile still runs; only the remote
   * commands cannot reach it. */
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL)
    {
      g_printerr (_("cohort: no session bus (%s): cohort --status and the other commands "
                    "cannot reach this instance\n"), error->message);
      g_application_set_flags (application,
                               g_application_get_flags (application) | G_APPLICATION_NON_UNIQUE);
      return -1;
    }

  return cohort_control_become_instance (application);
}

static int
cohort_headless_command_line (GApplication            *application,
                              GApplicationCommandLine *command_line)
{
  CohortHeadless *self = COHORT_HEADLESS (application);
  g_autoptr(GError) error = NULL;

  if (g_application_command_line_get_is_remote (command_line))
    {
      if (self->control == NULL)
        {
          g_application_command_line_printerr (command_line, _("cohort: this instance runs no profile\n"));
          return COHORT_EXIT_USAGE;
        }
      return cohort_control_run (self->control, command_line);
    }

  /* Our own invocation: run the profile loaded in handle-local-options. */
  g_assert (self->profile != NULL);
  self->supervisor = cohort_supervisor_new ();
  if (!cohort_supervisor_load (self->supervisor, self->profile, &error))
    {
      g_printerr ("%s: %s\n", self->path, error->message);
      self->exit_status = COHORT_EXIT_USAGE;
      return COHORT_EXIT_USAGE;
    }
  self->control = cohort_control_new (self->supervisor);
  start_running (self);
  return self->exit_status;
}

static void
cohort_headless_add_platform_data (GApplication    *application,
                                   GVariantBuilder *builder)
{
  G_APPLICATION_CLASS (cohort_headless_parent_class)->add_platform_data (application, builder);
  cohort_control_add_platform_data (builder);
}

static void
cohort_headless_dispose (GObject *object)
{
  CohortHeadless *self = (CohortHeadless *) object;

  g_clear_handle_id (&self->table_source, g_source_remove);
  g_clear_handle_id (&self->sigint, g_source_remove);
  g_clear_handle_id (&self->sigterm, g_source_remove);
  g_clear_object (&self->control);
  g_clear_object (&self->supervisor);
  g_clear_object (&self->profile);

  G_OBJECT_CLASS (cohort_headless_parent_class)->dispose (object);
}

static void
cohort_headless_finalize (GObject *object)
{
  CohortHeadless *self = (CohortHeadless *) object;

  g_free (self->path);

  G_OBJECT_CLASS (cohort_headless_parent_class)->finalize (object);
}

static void
cohort_headless_class_init (CohortHeadlessClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = cohort_headless_dispose;
  object_class->finalize = cohort_headless_finalize;
  app_class->handle_local_options = cohort_headless_handle_local_options;
  app_class->command_line = cohort_headless_command_line;
  app_class->add_platform_data = cohort_headless_add_platform_data;
}

static void
cohort_headless_init (CohortHeadless *self)
{
  cohort_control_add_options (G_APPLICATION (self));
}

CohortHeadless *
cohort_headless_new (void)
{
  return g_object_new (COHORT_TYPE_HEADLESS,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_COMMAND_LINE,
                       NULL);
}

int
cohort_headless_get_exit_status (CohortHeadless *self)
{
  g_return_val_if_fail (COHORT_IS_HEADLESS (self), 1);
  return self->exit_status;
}
