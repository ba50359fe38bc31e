/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-test-util.c: waiting on real processes and files, bounded. */

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cohort-process-worker.h"
#include "cohort-test-util.h"
#include "cohort-trust.h"

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until @condition holds, or @timeout_ms passes. */
gboolean
cohort_test_wait_until (CohortTestCondition condition,
                        gpointer            data,
                        guint               timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!condition (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      /* Wake at least every 10 ms: some conditions are about files and
       * processes, which no source reports. */
      {
        GSource *tick = g_timeout_source_new (10);

        g_source_set_callback (tick, tick_cb, NULL, NULL);
        g_source_attach (tick, NULL);
        g_main_context_iteration (NULL, TRUE);
        g_source_destroy (tick);
        g_source_unref (tick);
      }
    }
  return TRUE;
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

/* Runs the main loop for @ms. */
void
cohort_test_sleep (guint ms)
{
  cohort_test_wait_until (never, NULL, ms);
}

const char *
cohort_test_worker_path (void)
{
  return cohort_test_binary ("COHORT_TEST_WORKER");
}

const char *
cohort_test_binary (const char *variable)
{
  const char *path = g_getenv (variable);

  if (path == NULL)
    g_error ("%s is not set: run the tests with meson test", variable);
  return path;
}

char *
cohort_test_make_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("cohort-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

void
cohort_test_remove_dir (const char *dir)
{
  g_autoptr(GFile) file = NULL;
  GDir *d;
  const char *name;

  if (dir == NULL)
    return;
  d = g_dir_open (dir, 0, NULL);
  if (d != NULL)
    {
      while ((name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = g_build_filename (dir, name, NULL);

          if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
            cohort_test_remove_dir (path);
          else
            g_unlink (path);
        }
      g_dir_close (d);
    }
  g_rmdir (dir);
}

CohortProfile *
cohort_test_profile (const char *dir,
                     const char *text)
{
  g_autofree char *path = g_build_filename (dir, "test.cohort", NULL);
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  cohort_profile_load_file (profile, path, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&profile);
}

/* Writes the profile @format as @dir/@name and returns its path; trusted:
 * as if Cohort had saved it, so it starts without asking. */
char *
cohort_test_write_profile (const char *dir,
                           const char *name,
                           gboolean    trusted,
                           const char *format,
                           ...)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  if (trusted)
    cohort_trust_remember (path, text, strlen (text));
  return path;
}

CohortSupervisor *
cohort_test_supervisor (const char *dir,
                        const char *text)
{
  g_autoptr(CohortProfile) profile = cohort_test_profile (dir, text);
  g_autoptr(CohortSupervisor) supervisor = cohort_supervisor_new ();
  g_autoptr(GError) error = NULL;

  cohort_supervisor_load (supervisor, profile, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&supervisor);
}

typedef struct
{
  const char *path;
} FileWait;

static gboolean
file_exists (gpointer data)
{
  return g_file_test (((FileWait *) data)->path, G_FILE_TEST_EXISTS);
}

/* Waits (5 s at most) for the file, then parses it. */
JsonObject *
cohort_test_read_json (const char *path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  FileWait wait = { path };
  JsonNode *root;

  g_assert_true (cohort_test_wait_until (file_exists, &wait, 5000));
  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_object_ref (json_node_get_object (root));
}

GPid
cohort_test_read_pid (const char *path)
{
  g_autofree char *text = NULL;
  FileWait wait = { path };

  if (!cohort_test_wait_until (file_exists, &wait, 5000))
    return 0;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  return (GPid) atoi (text);
}

/* The process exists and is not a zombie. */
gboolean
cohort_test_pid_exists (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  const char *paren;

  if (pid <= 0 || !g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  paren = strrchr (text, ')');
  return paren != NULL && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

/* Zombies whose parent is this process. */
guint
cohort_test_count_zombies (void)
{
  GDir *dir = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint zombies = 0;
  GPid self = getpid ();

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *text = NULL;
      const char *paren;
      char state;
      int ppid;

      if (!g_ascii_isdigit (name[0]))
        continue;
      path = g_build_filename ("/proc", name, "stat", NULL);
      if (!g_file_get_contents (path, &text, NULL, NULL))
        continue;
      paren = strrchr (text, ')');
      if (paren == NULL || sscanf (paren + 1, " %c %d", &state, &ppid) != 2)
        continue;
      if (state == 'Z' && ppid == self)
        zombies++;
    }
  g_dir_close (dir);
  return zombies;
}

GPid
cohort_test_worker_pid (CohortCluster *cluster,
                        guint          id)
{
  CohortWorker *worker = cohort_cluster_lookup_worker (cluster, id);

  if (worker == NULL || !COHORT_IS_PROCESS_WORKER (worker))
    return 0;
  return cohort_process_worker_get_pid (COHORT_PROCESS_WORKER (worker));
}

guint
cohort_test_count_state (CohortCluster     *cluster,
                         CohortWorkerState  state)
{
  GListModel *workers = cohort_cluster_get_workers (cluster);
  guint count = 0;

  for (guint i = 0; i < g_list_model_get_n_items (workers); i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      count += cohort_worker_get_state (worker) == state;
    }
  return count;
}

/* A plain HTTP/1.0 GET / on 127.0.0.1; the body. */
char *
cohort_test_http_get (guint16   port,
                      GError  **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GString) response = g_string_new (NULL);
  const char *request = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  GOutputStream *out;
  GInputStream *in;
  const char *body;
  char buf[4096];
  gssize n;

  g_socket_client_set_timeout (client, 5);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, error);
  if (connection == NULL)
    return NULL;
  out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  if (!g_output_stream_write_all (out, request, strlen (request), NULL, NULL, error))
    return NULL;
  while ((n = g_input_stream_read (in, buf, sizeof buf, NULL, error)) > 0)
    g_string_append_len (response, buf, n);
  if (n < 0)
    return NULL;
  body = strstr (response->str, "\r\n\r\n");
  return g_strdup (body != NULL ? body + 4 : response->str);
}

static gboolean
supervisor_stopped (gpointer data)
{
  return !cohort_supervisor_get_running (data);
}

/* Every test ends with this: nothing it started outlives it. */
void
cohort_test_stop_all (CohortSupervisor *supervisor)
{
  cohort_supervisor_kill (supervisor);
  g_assert_true (cohort_test_wait_until (supervisor_stopped, supervisor, 5000));
}

void
cohort_test_fixture_setup (CohortTestFixture *f,
                           gconstpointer      data)
{
  f->dir = cohort_test_make_dir ();
  f->worker = g_shell_quote (cohort_test_worker_path ());
}

/* Stops what the test started, then checks that every worker was reaped
 * (GLib's child watches and the reaper) and that every output pipe,
 * channel and listening socket was closed. */
void
cohort_test_fixture_teardown (CohortTestFixture *f,
                              gconstpointer      data)
{
  if (f->supervisor != NULL)
    {
      cohort_test_stop_all (f->supervisor);
      cohort_test_sleep (50);
      g_assert_cmpuint (cohort_test_count_zombies (), ==, 0);
    }
  g_clear_object (&f->supervisor);
  g_assert_cmpuint (cohort_test_count_fds (), ==, 0);
  cohort_test_remove_dir (f->dir);
  g_free (f->dir);
  g_free (f->worker);
}

/* The end of a test without worker checks: stops and frees the supervisor
 * (if one was started) and removes and frees the directory. */
void
cohort_test_release (char             **dir,
                     CohortSupervisor **supervisor)
{
  if (*supervisor != NULL)
    cohort_test_stop_all (*supervisor);
  g_clear_object (supervisor);
  cohort_test_remove_dir (*dir);
  g_clear_pointer (dir, g_free);
}

/* Loads @text as a profile, starts it, and returns its first cluster. */
CohortCluster *
cohort_test_start (const char        *dir,
                   const char        *text,
                   CohortSupervisor **supervisor)
{
  *supervisor = cohort_test_supervisor (dir, text);
  g_assert_cmpuint (cohort_supervisor_start (*supervisor), ==, 0);
  return g_list_model_get_item (cohort_supervisor_get_clusters (*supervisor), 0);
}

CohortCluster *
cohort_test_startf (const char        *dir,
                    CohortSupervisor **supervisor,
                    const char        *format,
                    ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  return cohort_test_start (dir, text, supervisor);
}

typedef struct
{
  CohortCluster     *cluster;
  CohortWorkerState  state;
  guint              count;
} StateWait;

static gboolean
has_state_count (gpointer data)
{
  StateWait *w = data;

  return cohort_test_count_state (w->cluster, w->state) == w->count;
}

void
cohort_test_reload_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      data)
{
  CohortTestReload *r = data;

  cohort_cluster_reload_finish (COHORT_CLUSTER (source), result, &r->replaced, &r->error);
  r->done = TRUE;
}

gboolean
cohort_test_reload_done (gpointer data)
{
  return ((CohortTestReload *) data)->done;
}

void
cohort_test_wait_state (CohortCluster     *cluster,
                        CohortWorkerState  state,
                        guint              count,
                        guint              timeout_ms)
{
  StateWait w = { cluster, state, count };

  if (!cohort_test_wait_until (has_state_count, &w, timeout_ms))
    {
      GListModel *workers = cohort_cluster_get_workers (cluster);

      /* Say what the workers did instead. */
      for (guint i = 0; i < g_list_model_get_n_items (workers); i++)
        {
          g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);
          g_autoptr(GPtrArray) output = cohort_worker_dup_output (worker, 20);

          g_printerr ("worker %u: %s, %s, %s\n", cohort_worker_get_id (worker),
                      cohort_worker_state_to_string (cohort_worker_get_state (worker)),
                      cohort_worker_get_last_exit (worker), cohort_worker_get_reason (worker));
          for (guint j = 0; j < output->len; j++)
            g_printerr ("  | %s\n", ((CohortOutputLine *) g_ptr_array_index (output, j))->text);
        }
      g_error ("waited %u ms for %u workers %s; have %u", timeout_ms, count,
               cohort_worker_state_to_string (state),
               cohort_test_count_state (cluster, state));
    }
}

/* This process's resident memory, in bytes. */
guint64
cohort_test_self_rss (void)
{
  g_autofree char *text = NULL;
  unsigned long size = 0;
  unsigned long resident = 0;

  g_assert_true (g_file_get_contents ("/proc/self/statm", &text, NULL, NULL));
  g_assert_cmpint (sscanf (text, "%lu %lu", &size, &resident), ==, 2);
  return (guint64) resident * (guint64) sysconf (_SC_PAGESIZE);
}

/* If the test dies (a failed assertion aborts it), the child gets SIGTERM. */
static void
die_with_test (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

typedef struct
{
  gboolean  done;
  char     *out;
  char     *err;
  GError   *error;
} Run;

static void
run_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  Run *run = data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result,
                                        &run->out, &run->err, &run->error);
  run->done = TRUE;
}

static gboolean
run_finished (gpointer data)
{
  return ((Run *) data)->done;
}

/**
 * cohort_test_run:
 * @argv: the program and its arguments
 * @out: (out) (optional): its stdout
 * @err: (out) (optional): its stderr
 *
 * Runs @argv to its end with LC_ALL=C.UTF-8 and no stdin, dying with the
 * test; a run longer than @timeout_ms is killed and fails the test.
 *
 * Returns: its exit status, or 128 + the signal that ended it
 */
int
cohort_test_run (const char * const  *argv,
                 char               **out,
                 char               **err,
                 guint                timeout_ms)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { FALSE, NULL, NULL, NULL };

  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);

  g_subprocess_communicate_utf8_async (process, NULL, NULL, run_done_cb, &run);
  if (!cohort_test_wait_until (run_finished, &run, timeout_ms))
    {
      g_autofree char *command = g_strjoinv (" ", (char **) argv);

      g_subprocess_force_exit (process);
      /* The callback still holds &run: let it come before failing. */
      cohort_test_wait_until (run_finished, &run, 5000);
      g_error ("“%s” did not finish within %u ms", command, timeout_ms);
    }
  g_assert_no_error (run.error);

  if (out != NULL)
    *out = g_steal_pointer (&run.out);
  if (err != NULL)
    *err = g_steal_pointer (&run.err);
  g_free (run.out);
  g_free (run.err);

  if (g_subprocess_get_if_signaled (process))
    return 128 + g_subprocess_get_term_sig (process);
  return g_subprocess_get_exit_status (process);
}

static GHashTable *inherited_fds;

/* Descriptors the test process was started with are not its own leaks. */
void
cohort_test_note_inherited_fds (void)
{
  GDir *dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  inherited_fds = g_hash_table_new (NULL, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_hash_table_add (inherited_fds, GINT_TO_POINTER (atoi (name)));
  g_dir_close (dir);
}

/* Pipes and sockets this process has open beyond 0-2: what leaked
 * channels, output pipes and listening sockets would be. (GLib opens
 * eventfds of its own, lazily; those do not count.) */
guint
cohort_test_count_fds (void)
{
  GDir *dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (path, NULL);

      if (atoi (name) > 2 && target != NULL &&
          (inherited_fds == NULL || !g_hash_table_contains (inherited_fds, GINT_TO_POINTER (atoi (name)))) &&
          (g_str_has_prefix (target, "socket:") || g_str_has_prefix (target, "pipe:")))
        {
          g_test_message ("open: fd %s → %s", name, target);
          n++;
        }
    }
  g_dir_close (dir);
  return n;
}
