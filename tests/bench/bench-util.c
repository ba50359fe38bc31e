/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-util.c: see bench-util.h. */

#include "config.h"

#include <glib/gstdio.h>
#include <sys/resource.h>

#include "bench-util.h"
#include "cohort-profile.h"

/* This process's user + system time, every thread, in seconds. */
double
bench_cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
         usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static gboolean
timed_out_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the default main context until cond() or the timeout; one timer
 * for the whole wait, so the loop being measured carries nothing extra.
 * FALSE when it timed out. */
gboolean
bench_iterate_until (gboolean (*cond) (gpointer),
                     gpointer   data,
                     gint64     timeout_us)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add ((guint) (timeout_us / 1000), timed_out_cb, &timed_out);

  while (!cond (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return !timed_out;
}

static gboolean
supervisor_stopped (gpointer data)
{
  return !cohort_supervisor_get_running (data);
}

/* A supervisor running PROFILE_TEXT (written to a temporary file, loaded
 * as a real profile), every cluster started; NULL with a message on stderr
 * naming PROGRAM. Waiting for the workers is the caller's. */
CohortSupervisor *
bench_start_supervisor (const char *program,
                        const char *profile_text)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(CohortProfile) profile = NULL;
  g_autoptr(CohortSupervisor) supervisor = NULL;
  gboolean loaded;

  dir = g_dir_make_tmp ("cohort-bench-XXXXXX", &error);
  if (dir == NULL)
    {
      g_printerr ("%s: %s\n", program, error->message);
      return NULL;
    }
  path = g_build_filename (dir, "bench.cohort", NULL);
  if (!g_file_set_contents (path, profile_text, -1, &error))
    {
      g_printerr ("%s: %s\n", program, error->message);
      g_rmdir (dir);
      return NULL;
    }

  profile = cohort_profile_new ();
  supervisor = cohort_supervisor_new ();
  loaded = cohort_profile_load_file (profile, path, &error) &&
           cohort_supervisor_load (supervisor, profile, &error);
  g_unlink (path);
  g_rmdir (dir);
  if (!loaded)
    {
      g_printerr ("%s: the profile: %s\n", program, error != NULL ? error->message : "errors");
      return NULL;
    }

  if (cohort_supervisor_start (supervisor) != 0)
    {
      g_printerr ("%s: a cluster did not start\n", program);
      bench_stop_supervisor (program, supervisor);
      return NULL;
    }
  return g_steal_pointer (&supervisor);
}

/* Kills every worker and waits until they are gone; FALSE (said on
 * stderr) when they were not within BENCH_STOP_TIMEOUT. */
gboolean
bench_stop_supervisor (const char       *program,
                       CohortSupervisor *supervisor)
{
  cohort_supervisor_kill (supervisor);
  if (bench_iterate_until (supervisor_stopped, supervisor, BENCH_STOP_TIMEOUT))
    return TRUE;
  g_printerr ("%s: the supervisor did not stop\n", program);
  return FALSE;
}
