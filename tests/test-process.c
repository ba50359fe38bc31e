/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-process.c: process clusters with real child processes: what a
 * worker receives, a shared port, restart back-off, graceful stop,
 * scaling, output capture, and no zombie or orphan left at any point. */

#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cohort-process-worker.h"
#include "cohort-reaper.h"
#include "cohort-test-util.h"

typedef CohortTestFixture Fixture;

#define fixture_setup cohort_test_fixture_setup
#define fixture_teardown cohort_test_fixture_teardown

#define wait_state cohort_test_wait_state

static gboolean
cluster_stopped (gpointer data)
{
  return cohort_cluster_get_state (data) == COHORT_CLUSTER_STATE_STOPPED;
}

static JsonArray *
member_array (JsonObject *object,
              const char *name)
{
  g_assert_true (json_object_has_member (object, name));
  return json_object_get_array_member (object, name);
}

/* What a worker receives */

static void
test_environment (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *spaced = g_build_filename (f->dir, "two words", NULL);
  g_autofree char *report = g_build_filename (spaced, "report.json", NULL);
  g_autofree char *quoted_report = g_shell_quote (report);
  g_autofree char *home_report = g_build_filename (f->dir, "home.json", NULL);
  g_autofree char *wd = g_build_filename (f->dir, "wd", NULL);
  g_autoptr(JsonObject) r = NULL;
  g_autoptr(JsonObject) h = NULL;
  g_autoptr(CohortCluster) home = NULL;
  g_autoptr(CohortCluster) cluster = NULL;
  JsonObject *env;
  JsonObject *fd3;
  JsonArray *argv;
  JsonArray *fds;
  GPid pid;
  int leaked;

  g_assert_cmpint (g_mkdir (wd, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (spaced, 0755), ==, 0);

  /* What Cohort was handed must not reach workers: a descriptor without
   * close-on-exec, an ignored SIGPIPE, a systemd or Node variable. */
  leaked = open ("/dev/null", O_RDONLY);
  g_assert_cmpint (leaked, >, 2);
  signal (SIGPIPE, SIG_IGN);
  g_setenv ("LISTEN_FDS", "7", TRUE);
  g_setenv ("NODE_CHANNEL_FD", "9", TRUE);

  cluster = start (f,
                   "[Cluster env]\n"
                   "Command=%s --report %s --after 0\n"
                   "WorkingDirectory=wd\n"
                   "Environment=FOO=bar;GREETING=hello world;\n"
                   "Listen=127.0.0.1:0\n"
                   "[Cluster home]\n"
                   "Command=%s --report %s\n"
                   "WorkingDirectory=~\n",
                   f->worker, quoted_report, f->worker, home_report);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);

  r = cohort_test_read_json (report);
  pid = cohort_test_worker_pid (cluster, 0);
  g_assert_cmpint (json_object_get_int_member (r, "pid"), ==, pid);

  argv = member_array (r, "argv");
  g_assert_cmpuint (json_array_get_length (argv), ==, 5);
  g_assert_cmpstr (json_array_get_string_element (argv, 0), ==, cohort_test_worker_path ());
  g_assert_cmpstr (json_array_get_string_element (argv, 1), ==, "--report");
  /* Split like a shell would, with no shell: the quoted space stays. */
  g_assert_cmpstr (json_array_get_string_element (argv, 2), ==, report);
  g_assert_cmpstr (json_array_get_string_element (argv, 4), ==, "0");
  g_assert_cmpstr (json_object_get_string_member (r, "cwd"), ==, wd);

  env = json_object_get_object_member (r, "env");
  g_assert_cmpstr (json_object_get_string_member (env, "COHORT_CLUSTER"), ==, "env");
  g_assert_cmpstr (json_object_get_string_member (env, "COHORT_WORKER_ID"), ==, "0");
  g_assert_cmpstr (json_object_get_string_member (env, "NODE_APP_INSTANCE"), ==, "0");
  g_assert_cmpstr (json_object_get_string_member (env, "FOO"), ==, "bar");
  g_assert_cmpstr (json_object_get_string_member (env, "GREETING"), ==, "hello world");
  g_assert_cmpstr (json_object_get_string_member (env, "LISTEN_FDS"), ==, "1");
  g_assert_cmpint (g_ascii_strtoll (json_object_get_string_member (env, "LISTEN_PID"), NULL, 10), ==, pid);
  g_assert_cmpstr (json_object_get_string_member (env, "LISTEN_FDNAMES"), ==, "env");
  g_assert_false (json_object_has_member (env, "NODE_CHANNEL_FD"));
  /* Cohort's own environment is inherited. */
  g_assert_cmpstr (json_object_get_string_member (env, "PATH"), ==, g_getenv ("PATH"));

  /* Exactly 0, 1, 2, the listening socket and the channel. */
  fds = member_array (r, "fds");
  g_assert_cmpuint (json_array_get_length (fds), ==, 5);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpint (json_array_get_int_element (fds, i), ==, i);
  g_assert_cmpstr (json_object_get_string_member (env, "COHORT_CHANNEL_FD"), ==, "4");
  fd3 = json_object_get_object_member (r, "fd3");
  g_assert_true (json_object_get_boolean_member (fd3, "socket"));
  g_assert_true (json_object_get_boolean_member (fd3, "listening"));
  g_assert_cmpint (json_object_get_int_member (fd3, "port"), ==, cohort_cluster_get_listen_port (cluster));
  g_assert_cmpint (cohort_cluster_get_listen_port (cluster), >, 0);

  /* Its own process group, death with Cohort, default signals. */
  g_assert_cmpint (json_object_get_int_member (r, "pgid"), ==, pid);
  g_assert_cmpint (json_object_get_int_member (r, "ppid"), ==, getpid ());
  g_assert_cmpint (json_object_get_int_member (r, "pdeathsig"), ==, SIGKILL);
  g_assert_true (json_object_get_boolean_member (r, "sigpipe_default"));
  g_assert_true (json_object_get_boolean_member (r, "sigmask_empty"));

  /* No Listen=: the channel is fd 3, no LISTEN_* at all; ~ is the home
   * folder. */
  home = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  h = cohort_test_read_json (home_report);
  g_assert_cmpstr (json_object_get_string_member (h, "cwd"), ==, g_get_home_dir ());
  g_assert_cmpuint (json_array_get_length (member_array (h, "fds")), ==, 4);
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (h, "fd3"), "socket"));
  g_assert_false (json_object_get_boolean_member (json_object_get_object_member (h, "fd3"), "listening"));
  env = json_object_get_object_member (h, "env");
  g_assert_cmpstr (json_object_get_string_member (env, "COHORT_CHANNEL_FD"), ==, "3");
  g_assert_false (json_object_has_member (env, "LISTEN_FDS"));
  g_assert_false (json_object_has_member (env, "LISTEN_PID"));
  g_assert_cmpstr (json_object_get_string_member (env, "COHORT_CLUSTER"), ==, "home");

  close (leaked);
  signal (SIGPIPE, SIG_DFL);
  g_unsetenv ("LISTEN_FDS");
  g_unsetenv ("NODE_CHANNEL_FD");
}

static GSocketConnection *
connect_port (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection;

  g_socket_client_set_timeout (client, 5);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  return connection;
}

static char *
request (GSocketConnection *connection)
{
  const char *text = "GET / HTTP/1.0\r\n\r\n";
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr(GString) response = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  char buf[1024];
  gssize n;

  g_output_stream_write_all (out, text, strlen (text), NULL, NULL, &error);
  g_assert_no_error (error);
  while ((n = g_input_stream_read (in, buf, sizeof buf, NULL, &error)) > 0)
    g_string_append_len (response, buf, n);
  g_assert_no_error (error);
  return g_strdup (strstr (response->str, "\r\n\r\n") + 4);
}

static void
test_shared_port (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(GSocketConnection) a = NULL;
  g_autoptr(GSocketConnection) b = NULL;
  g_autofree char *answer_a = NULL;
  g_autofree char *answer_b = NULL;
  g_autofree char *expect_0 = NULL;
  g_autofree char *expect_1 = NULL;
  guint16 port;

  cluster = start (f,
                   "[Cluster web]\n"
                   "Command=%s --serve\n"
                   "Instances=2\n"
                   "Listen=127.0.0.1:0\n",
                   f->worker);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  port = cohort_cluster_get_listen_port (cluster);

  /* Each fixture serves one connection at a time: while one worker holds
   * connection a (no request sent yet), only the other can take b. */
  for (guint i = 0; i < 10; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *body = cohort_test_http_get (port, &error);

      g_assert_no_error (error);
      g_assert_true (g_str_has_prefix (body, "worker "));
    }

  a = connect_port (port);
  g_usleep (200 * 1000);
  b = connect_port (port);
  g_usleep (200 * 1000);
  answer_b = request (b);
  answer_a = request (a);

  expect_0 = g_strdup_printf ("worker 0 pid %d\n", cohort_test_worker_pid (cluster, 0));
  expect_1 = g_strdup_printf ("worker 1 pid %d\n", cohort_test_worker_pid (cluster, 1));
  g_test_message ("a: %s b: %s", answer_a, answer_b);
  g_assert_true ((g_str_equal (answer_a, expect_0) && g_str_equal (answer_b, expect_1)) ||
                 (g_str_equal (answer_a, expect_1) && g_str_equal (answer_b, expect_0)));
}

/* Restart policy */

typedef struct
{
  GArray *delays;     /* guint ms, as scheduled */
  GArray *launches;   /* gint64 µs, when the worker was started */
} Restarts;

static void
restart_scheduled_cb (CohortWorker *worker,
                      guint         delay_ms,
                      const char   *reason,
                      Restarts     *r)
{
  g_array_append_val (r->delays, delay_ms);
}

static void
state_cb (CohortWorker *worker,
          GParamSpec   *pspec,
          Restarts     *r)
{
  if (cohort_worker_get_state (worker) == COHORT_WORKER_STATE_STARTING)
    {
      gint64 now = g_get_monotonic_time ();

      g_array_append_val (r->launches, now);
    }
}

static CohortWorker *
watch_restarts (CohortCluster *cluster,
                Restarts      *r)
{
  CohortWorker *worker = cohort_cluster_lookup_worker (cluster, 0);
  gint64 now = g_get_monotonic_time ();

  r->delays = g_array_new (FALSE, FALSE, sizeof (guint));
  r->launches = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_val (r->launches, now);
  g_signal_connect (worker, "restart-scheduled", G_CALLBACK (restart_scheduled_cb), r);
  g_signal_connect (worker, "notify::state", G_CALLBACK (state_cb), r);
  return worker;
}

static void
restarts_clear (Restarts     *r,
                CohortWorker *worker)
{
  g_signal_handlers_disconnect_by_data (worker, r);
  g_array_unref (r->delays);
  g_array_unref (r->launches);
}

static void
test_backoff_to_errored (Fixture       *f,
                         gconstpointer  data)
{
  static const guint expected[] = { 20, 40, 80, 80, 80 };
  g_autoptr(CohortCluster) cluster = NULL;
  CohortWorker *worker;
  Restarts r;

  cluster = start (f,
                   "[Cluster crash]\n"
                   "Command=%s --exit 1\n"
                   "RestartDelay=20\n"
                   "RestartDelayMax=80\n"
                   "MinUptime=10\n"
                   "MaxRestarts=5\n",
                   f->worker);
  worker = watch_restarts (cluster, &r);

  wait_state (cluster, COHORT_WORKER_STATE_ERRORED, 1, 10000);

  /* The delays double and are capped; after MaxRestarts restarts the
   * next quick crash gives up. */
  g_assert_cmpuint (r.delays->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpuint (g_array_index (r.delays, guint, i), ==, expected[i]);
  g_assert_cmpuint (cohort_worker_get_restarts (worker), ==, 5);
  g_assert_cmpstr (cohort_worker_get_last_exit (worker), ==, "exit 1");
  g_assert_nonnull (strstr (cohort_worker_get_reason (worker), "gave up after 6 quick crashes"));

  /* Each start really waited at least its delay. */
  g_assert_cmpuint (r.launches->len, ==, 6);
  for (guint i = 1; i < r.launches->len; i++)
    {
      gint64 gap = g_array_index (r.launches, gint64, i) - g_array_index (r.launches, gint64, i - 1);

      g_assert_cmpint (gap, >=, (gint64) expected[i - 1] * 1000);
    }

  /* Errored stays errored: nothing more is scheduled. */
  cohort_test_sleep (300);
  g_assert_cmpuint (r.delays->len, ==, G_N_ELEMENTS (expected));
  g_assert_cmpint (cohort_worker_get_state (worker), ==, COHORT_WORKER_STATE_ERRORED);
  restarts_clear (&r, worker);
}

static gboolean
has_n_delays (gpointer data)
{
  return ((Restarts *) data)->delays->len >= 5;
}

static void
test_min_uptime_resets (Fixture       *f,
                        gconstpointer  data)
{
  static const guint expected[] = { 10, 20, 40, 10, 10 };
  g_autofree char *counter = g_build_filename (f->dir, "counter", NULL);
  g_autoptr(CohortCluster) cluster = NULL;
  CohortWorker *worker;
  Restarts r;

  /* Three quick crashes, then runs that live past MinUptime before they
   * fail: with MaxRestarts=3, only the reset keeps it from errored. */
  cluster = start (f,
                   "[Cluster flaky]\n"
                   "Command=%s --counter %s --crash-times 3 --live-ms 400\n"
                   "RestartDelay=10\n"
                   "RestartDelayMax=1000\n"
                   "MinUptime=0.2\n"
                   "MaxRestarts=3\n",
                   f->worker, counter);
  worker = watch_restarts (cluster, &r);

  g_assert_true (cohort_test_wait_until (has_n_delays, &r, 10000));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpuint (g_array_index (r.delays, guint, i), ==, expected[i]);
  g_assert_cmpint (cohort_worker_get_state (worker), !=, COHORT_WORKER_STATE_ERRORED);
  restarts_clear (&r, worker);
}

/* MaxMemory, as PM2's max_memory_restart: a worker whose resident memory
 * passes the limit is restarted, gracefully, with the reason given; one
 * under it is left alone. */
static gboolean
restarted_once (gpointer data)
{
  CohortWorker *worker = cohort_cluster_lookup_worker (data, 0);

  return worker != NULL && cohort_worker_get_restarts (worker) >= 1
         && cohort_worker_get_state (worker) == COHORT_WORKER_STATE_ONLINE;
}

static void
test_max_memory (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(CohortCluster) big = start (f,
                                        "[Cluster big]\nCommand=%s --alloc 48\nMaxMemory=24\nStopMessage=\n"
                                        "[Cluster small]\nCommand=%s --alloc 4\nMaxMemory=24\nStopMessage=\n",
                                        f->worker, f->worker);
  CohortWorker *small = cohort_cluster_lookup_worker (cohort_supervisor_lookup (f->supervisor, "small"), 0);
  const char *reason;

  g_assert_true (cohort_test_wait_until (restarted_once, big, 15000));
  reason = cohort_worker_get_reason (cohort_cluster_lookup_worker (big, 0));
  g_test_message ("big: %s", reason);
  g_assert_nonnull (strstr (reason, "passed MaxMemory=24 MiB"));

  /* Checked every second as long as the big one: never restarted. */
  g_assert_cmpint (cohort_worker_get_state (small), ==, COHORT_WORKER_STATE_ONLINE);
  g_assert_cmpuint (cohort_worker_get_restarts (small), ==, 0);
}

static void
test_exec_failure (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *plain = g_build_filename (f->dir, "not-a-program", NULL);
  g_autoptr(CohortCluster) cluster = NULL;
  GListModel *clusters;
  struct {
    guint       index;
    const char *reason;
  } expected[] = {
    { 0, "No such file or directory" },
    { 1, "Permission denied" },
    { 2, "No such file or directory" },
    { 3, "Failed to change to directory" },
  };

  g_assert_true (g_file_set_contents (plain, "just text\n", -1, NULL));
  cluster = start (f,
                   "[Cluster missing]\nCommand=/nonexistent/program\n"
                   "[Cluster plain]\nCommand=%s\n"
                   "[Cluster unknown]\nCommand=no-such-program-anywhere --flag\n"
                   "[Cluster nowhere]\nCommand=%s\nWorkingDirectory=/nonexistent/folder\n",
                   plain, f->worker);
  clusters = cohort_supervisor_get_clusters (f->supervisor);

  /* Reported at once, with the system's reason, and not retried. */
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(CohortCluster) c = g_list_model_get_item (clusters, expected[i].index);
      CohortWorker *worker = cohort_cluster_lookup_worker (c, 0);

      g_assert_cmpint (cohort_worker_get_state (worker), ==, COHORT_WORKER_STATE_ERRORED);
      g_test_message ("%s", cohort_worker_get_reason (worker));
      g_assert_nonnull (strstr (cohort_worker_get_reason (worker), expected[i].reason));
      g_assert_true (g_str_has_prefix (cohort_worker_get_reason (worker), "cannot start: "));
      g_assert_cmpuint (cohort_worker_get_restarts (worker), ==, 0);
    }
  cohort_test_sleep (200);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(CohortCluster) c = g_list_model_get_item (clusters, expected[i].index);

      g_assert_cmpuint (cohort_worker_get_restarts (cohort_cluster_lookup_worker (c, 0)), ==, 0);
    }
}

/* A bare program name is looked up in the worker's own PATH, as GLib
 * did: a file there that is not executable is passed over (and is the
 * reason when nothing else is found), and an executable text file without
 * a "#!" line is run by /bin/sh with the worker's arguments. */
static void
test_search_path (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *first = g_build_filename (f->dir, "first", NULL);
  g_autofree char *second = g_build_filename (f->dir, "second", NULL);
  g_autofree char *denied_tool = g_build_filename (first, "tool", NULL);
  g_autofree char *tool = g_build_filename (second, "tool", NULL);
  g_autofree char *only_denied = g_build_filename (first, "only-denied", NULL);
  g_autofree char *report = g_build_filename (f->dir, "report.json", NULL);
  g_autofree char *script = NULL;
  g_autofree char *path = g_strdup_printf ("%s:%s", first, second);
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortCluster) denied = NULL;
  g_autoptr(JsonObject) r = NULL;
  CohortWorker *worker;
  JsonArray *argv;

  g_assert_cmpint (g_mkdir (first, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (second, 0755), ==, 0);
  g_assert_true (g_file_set_contents (denied_tool, "not for running\n", -1, NULL));
  g_assert_true (g_file_set_contents (only_denied, "not for running\n", -1, NULL));
  script = g_strdup_printf ("exec %s \"$@\"\n", f->worker);
  g_assert_true (g_file_set_contents (tool, script, -1, NULL));
  g_assert_cmpint (g_chmod (tool, 0755), ==, 0);

  cluster = start (f,
                   "[Cluster found]\nCommand=tool --report %s --after 0\nEnvironment=PATH=%s\n"
                   "[Cluster denied]\nCommand=only-denied\nEnvironment=PATH=%s\n",
                   report, path, path);
  denied = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);

  r = cohort_test_read_json (report);
  g_assert_cmpint (json_object_get_int_member (r, "pid"), ==, cohort_test_worker_pid (cluster, 0));
  argv = member_array (r, "argv");
  g_assert_cmpuint (json_array_get_length (argv), ==, 5);
  g_assert_cmpstr (json_array_get_string_element (argv, 1), ==, "--report");
  g_assert_cmpstr (json_array_get_string_element (argv, 2), ==, report);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (r, "env"), "PATH"), ==, path);

  worker = cohort_cluster_lookup_worker (denied, 0);
  g_assert_cmpint (cohort_worker_get_state (worker), ==, COHORT_WORKER_STATE_ERRORED);
  g_assert_cmpstr (cohort_worker_get_reason (worker), ==,
                   "cannot start: Failed to execute child process “only-denied” (Permission denied)");
}

/* Descriptors reach their numbers even when a source already sits on a
 * target: with Cohort's fd 0 closed, what Cohort opens for the worker
 * (an output pipe; /dev/null on a first launch) takes 0 and must still
 * arrive where it belongs, not be closed at exec. Fd 0 stays Cohort's
 * until the cluster has stopped. And a signal Cohort blocks or handles
 * reaches the worker as the default. */
static void
test_fd_collision (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *report = g_build_filename (f->dir, "report.json", NULL);
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonObject) r = NULL;
  JsonArray *fds;
  sigset_t hup;
  sigset_t saved;
  int saved_stdin = dup (0);

  g_assert_cmpint (saved_stdin, >, 2);
  g_assert_cmpint (close (0), ==, 0);
  sigemptyset (&hup);
  sigaddset (&hup, SIGHUP);
  g_assert_cmpint (sigprocmask (SIG_BLOCK, &hup, &saved), ==, 0);

  cluster = start (f, "[Cluster one]\nCommand=%s --report %s --after 0\nListen=127.0.0.1:0\n",
                   f->worker, report);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  sigprocmask (SIG_SETMASK, &saved, NULL);

  r = cohort_test_read_json (report);
  fds = member_array (r, "fds");
  g_assert_cmpuint (json_array_get_length (fds), ==, 5);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpint (json_array_get_int_element (fds, i), ==, i);
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (r, "fd3"), "listening"));
  g_assert_true (json_object_get_boolean_member (r, "sigmask_empty"));
  g_assert_cmpint (json_object_get_int_member (r, "pgid"), ==, cohort_test_worker_pid (cluster, 0));
  g_assert_cmpint (json_object_get_int_member (r, "pdeathsig"), ==, SIGKILL);

  cohort_test_stop_all (f->supervisor);
  g_assert_cmpint (dup2 (saved_stdin, 0), ==, 0);
  close (saved_stdin);
}

/* Seen from outside, in /proc/PID/fd of running workers: nothing that
 * Cohort itself has open without close-on-exec (here a pipe at a low and
 * at a high number, as a library or an embedding program could leave
 * them) reaches a worker; 0 is /dev/null for every worker (Cohort opens
 * it once for all), 1 and 2 pipes, 3 the channel. The test worker's own
 * descriptors come after those. */
static void
test_no_inherited_fds (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autofree char *leaked_target = NULL;
  g_autofree char *leaked_path = NULL;
  int leaked[2];
  int high;

  g_assert_cmpint (pipe (leaked), ==, 0);
  high = fcntl (leaked[0], F_DUPFD, 900);
  g_assert_cmpint (high, >=, 900);
  leaked_path = g_strdup_printf ("/proc/self/fd/%d", leaked[0]);
  leaked_target = g_file_read_link (leaked_path, NULL);
  g_assert_nonnull (leaked_target);

  cluster = start (f, "[Cluster pool]\nCommand=%s\nInstances=3\nStopMessage=\n", f->worker);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 3, 5000);

  for (guint id = 0; id < 3; id++)
    {
      static const char * const expected[] = { "/dev/null", "pipe:", "pipe:", "socket:" };
      GPid pid = cohort_test_worker_pid (cluster, id);
      g_autofree char *dir_path = g_strdup_printf ("/proc/%d/fd", pid);
      g_autoptr(GDir) dir = NULL;
      const char *name;
      guint n_expected = 0;

      /* Online once exec'd, but the kernel may still be putting the new
       * program in place: wait for /proc to show it. */
      for (guint i = 0; i < 200; i++)
        {
          g_autofree char *exe_path = g_strdup_printf ("/proc/%d/exe", pid);
          g_autofree char *exe = g_file_read_link (exe_path, NULL);

          if (exe != NULL && g_str_has_suffix (exe, "/cohort-test-worker"))
            break;
          cohort_test_sleep (10);
        }

      dir = g_dir_open (dir_path, 0, NULL);
      g_assert_nonnull (dir);
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (dir_path, name, NULL);
          g_autofree char *target = g_file_read_link (path, NULL);
          int fd = atoi (name);

          if (target == NULL)
            continue;   /* closed meanwhile: the worker's own */
          g_test_message ("worker %u: fd %d → %s", id, fd, target);
          g_assert_cmpstr (target, !=, leaked_target);
          g_assert_cmpint (fd, <, 900);
          if (fd < (int) G_N_ELEMENTS (expected))
            {
              g_assert_true (g_str_has_prefix (target, expected[fd]));
              n_expected++;
            }
        }
      g_assert_cmpuint (n_expected, ==, G_N_ELEMENTS (expected));
    }

  close (leaked[0]);
  close (leaked[1]);
  close (high);
}

static void
test_policies (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  GListModel *clusters;
  CohortWorker *clean;
  CohortWorker *never;
  CohortWorker *signalled;
  CohortWorker *always;
  g_autoptr(CohortCluster) c1 = NULL;
  g_autoptr(CohortCluster) c2 = NULL;
  g_autoptr(CohortCluster) c3 = NULL;

  cluster = start (f,
                   "[Cluster clean]\nCommand=%s --exit 0\nRestart=on-failure\n"
                   "[Cluster never]\nCommand=%s --exit 3\nRestart=never\n"
                   "[Cluster signalled]\nCommand=%s --signal-self 9 --after 20\nRestart=never\n"
                   "[Cluster always]\nCommand=%s --exit 0 --after 50\nRestart=always\nRestartDelay=10\n",
                   f->worker, f->worker, f->worker, f->worker);
  clusters = cohort_supervisor_get_clusters (f->supervisor);
  c1 = g_list_model_get_item (clusters, 1);
  c2 = g_list_model_get_item (clusters, 2);
  c3 = g_list_model_get_item (clusters, 3);
  clean = cohort_cluster_lookup_worker (cluster, 0);
  never = cohort_cluster_lookup_worker (c1, 0);
  signalled = cohort_cluster_lookup_worker (c2, 0);
  always = cohort_cluster_lookup_worker (c3, 0);

  wait_state (cluster, COHORT_WORKER_STATE_EXITED, 1, 5000);
  wait_state (c1, COHORT_WORKER_STATE_EXITED, 1, 5000);
  wait_state (c2, COHORT_WORKER_STATE_KILLED, 1, 5000);

  /* on-failure: a clean exit is final; never: any exit is final. */
  g_assert_cmpstr (cohort_worker_get_last_exit (clean), ==, "exit 0");
  g_assert_cmpstr (cohort_worker_get_last_exit (never), ==, "exit 3");
  g_assert_cmpstr (cohort_worker_get_last_exit (signalled), ==, "signal 9");
  g_assert_cmpuint (cohort_worker_get_restarts (clean), ==, 0);
  g_assert_cmpuint (cohort_worker_get_restarts (never), ==, 0);

  /* always: even exit 0 comes back. */
  while (cohort_worker_get_restarts (always) < 2)
    cohort_test_sleep (20);
  g_assert_cmpstr (cohort_worker_get_last_exit (always), ==, "exit 0");
}

/* Graceful stop */

static void
test_stop_by_signal (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  CohortWorker *plain;
  CohortWorker *slow;
  g_autoptr(CohortCluster) c1 = NULL;
  g_autofree char *pid_file = g_build_filename (f->dir, "0", NULL);

  cluster = start (f,
                   "[Cluster plain]\nCommand=%s\nStopTimeout=5\nStopMessage=\n"
                   "[Cluster slow]\nCommand=%s --term-delay 100 --pid-dir %s\nStopTimeout=5\nChannel=none\n",
                   f->worker, f->worker, f->dir);
  c1 = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  plain = cohort_cluster_lookup_worker (cluster, 0);
  slow = cohort_cluster_lookup_worker (c1, 0);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  wait_state (c1, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  /* The pid file is written once its SIGTERM handler is in place. */
  g_assert_cmpint (cohort_test_read_pid (pid_file), ==, cohort_test_worker_pid (c1, 0));

  cohort_supervisor_stop (f->supervisor);
  g_assert_cmpint (cohort_worker_get_state (plain), ==, COHORT_WORKER_STATE_STOPPING);
  g_assert_cmpint (cohort_worker_get_stop_step (plain), ==, COHORT_STOP_STEP_SIGNAL);
  g_assert_true (cohort_test_wait_until (cluster_stopped, cluster, 5000));
  g_assert_true (cohort_test_wait_until (cluster_stopped, c1, 5000));

  /* Stopped by the signal step: one died of it, one exited cleanly. */
  g_assert_cmpint (cohort_worker_get_state (plain), ==, COHORT_WORKER_STATE_STOPPED);
  g_assert_cmpint (cohort_worker_get_stop_step (plain), ==, COHORT_STOP_STEP_SIGNAL);
  g_assert_cmpstr (cohort_worker_get_last_exit (plain), ==, "signal 15");
  g_assert_cmpint (cohort_worker_get_stop_step (slow), ==, COHORT_STOP_STEP_SIGNAL);
  g_assert_cmpstr (cohort_worker_get_last_exit (slow), ==, "exit 0");
  g_assert_nonnull (strstr (cohort_worker_get_reason (slow), "stopped by signal"));
  g_assert_false (cohort_supervisor_get_running (f->supervisor));
}

/* Once its worker has stopped, a message is refused with an error, prepared
 * or not, and nothing is counted or kept. */
static void
test_send_to_stopped (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonNode) node = json_from_string ("{\"late\": true}", NULL);
  g_autoptr(CohortPreparedMessage) prepared = cohort_message_prepare (node, NULL);
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GError) error = NULL;
  CohortWorker *worker;

  cluster = start (f, "[Cluster echo]\nCommand=%s --channel-echo\nStopTimeout=5\nStopMessage=\n",
                   f->worker);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  g_assert_true (cohort_worker_send_prepared (worker, prepared, &error));
  g_assert_no_error (error);

  cohort_supervisor_stop (f->supervisor);
  g_assert_true (cohort_test_wait_until (cluster_stopped, cluster, 5000));
  g_assert_cmpint (cohort_worker_get_state (worker), ==, COHORT_WORKER_STATE_STOPPED);
  history = cohort_worker_dup_messages (worker, 0);

  g_assert_false (cohort_worker_send_prepared (worker, prepared, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_clear_error (&error);
  g_assert_false (cohort_worker_send (worker, node, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_clear_error (&error);
  g_assert_false (cohort_cluster_send (cluster, -1, node, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);

  g_assert_cmpuint (cohort_worker_get_messages_out (worker), ==, 1);
  g_assert_cmpuint (cohort_worker_get_bytes_out (worker), ==, strlen ("{\"late\":true}\n"));
  g_ptr_array_unref (history);
  history = cohort_worker_dup_messages (worker, 0);
  g_assert_cmpuint (history->len, ==, cohort_worker_get_messages_in (worker) + 1);
}

static void
test_stop_ignores_term (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  CohortWorker *worker;
  g_autofree char *pid_file = g_build_filename (f->dir, "0", NULL);
  gint64 begin;
  gint64 elapsed;
  GPid pid;

  cluster = start (f, "[Cluster stubborn]\nCommand=%s --ignore-term --pid-dir %s\nStopTimeout=0.3\n",
                   f->worker, f->dir);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  pid = cohort_test_worker_pid (cluster, 0);
  /* Written once SIGTERM is ignored. */
  g_assert_cmpint (cohort_test_read_pid (pid_file), ==, pid);

  begin = g_get_monotonic_time ();
  cohort_cluster_stop (cluster);
  g_assert_cmpint (cohort_worker_get_stop_deadline (worker), >, begin);
  g_assert_true (cohort_test_wait_until (cluster_stopped, cluster, 5000));
  elapsed = g_get_monotonic_time () - begin;

  g_assert_cmpint (cohort_worker_get_stop_step (worker), ==, COHORT_STOP_STEP_KILL);
  g_assert_cmpstr (cohort_worker_get_last_exit (worker), ==, "signal 9");
  g_assert_cmpint (elapsed, >=, 300 * 1000);
  g_assert_false (cohort_test_pid_exists (pid));
}

static void
test_stop_grandchild (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *gc_file = g_build_filename (f->dir, "0.grandchild", NULL);
  g_autofree char *gc_stubborn_file = NULL;
  g_autofree char *stubborn_dir = g_build_filename (f->dir, "stubborn", NULL);
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortCluster) stubborn = NULL;
  GPid grandchild;
  GPid stubborn_grandchild;

  g_assert_cmpint (g_mkdir (stubborn_dir, 0755), ==, 0);
  gc_stubborn_file = g_build_filename (stubborn_dir, "0.grandchild", NULL);

  cluster = start (f,
                   "[Cluster family]\nCommand=%s --grandchild --pid-dir %s\nStopTimeout=5\nStopMessage=\n"
                   "[Cluster stubborn]\nCommand=%s --grandchild-ignore-term --pid-dir %s\nStopTimeout=0.3\nStopMessage=\n",
                   f->worker, f->dir, f->worker, stubborn_dir);
  stubborn = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  grandchild = cohort_test_read_pid (gc_file);
  stubborn_grandchild = cohort_test_read_pid (gc_stubborn_file);
  g_assert_true (cohort_test_pid_exists (grandchild));
  g_assert_true (cohort_test_pid_exists (stubborn_grandchild));

  cohort_supervisor_stop (f->supervisor);
  g_assert_true (cohort_test_wait_until (cluster_stopped, cluster, 5000));
  g_assert_true (cohort_test_wait_until (cluster_stopped, stubborn, 5000));

  /* Nothing left behind, and nothing left unreaped. */
  g_assert_false (cohort_test_pid_exists (grandchild));
  g_assert_false (cohort_test_pid_exists (stubborn_grandchild));
  /* The worker died of SIGTERM, but its group lived on until SIGKILL. */
  g_assert_cmpint (cohort_worker_get_stop_step (cohort_cluster_lookup_worker (stubborn, 0)),
                   ==, COHORT_STOP_STEP_KILL);
  g_assert_cmpint (cohort_worker_get_stop_step (cohort_cluster_lookup_worker (cluster, 0)),
                   ==, COHORT_STOP_STEP_SIGNAL);
  cohort_test_sleep (50);
  g_assert_cmpuint (cohort_test_count_zombies (), ==, 0);
}

static gboolean
pid_gone (gpointer data)
{
  return !cohort_test_pid_exists (GPOINTER_TO_INT (data));
}

static void
test_crash_ends_orphans (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *gc_file = g_build_filename (f->dir, "0.grandchild", NULL);
  g_autoptr(CohortCluster) cluster = NULL;
  GPid grandchild;

  cluster = start (f,
                   "[Cluster crash]\nCommand=%s --grandchild --pid-dir %s --exit 1 --after 300\n"
                   "Restart=never\nStopTimeout=1\n",
                   f->worker, f->dir);
  grandchild = cohort_test_read_pid (gc_file);
  g_assert_true (cohort_test_pid_exists (grandchild));
  wait_state (cluster, COHORT_WORKER_STATE_EXITED, 1, 5000);

  /* The orphan was Cohort's (subreaper), got StopSignal, and was reaped. */
  g_assert_true (cohort_test_wait_until (pid_gone, GINT_TO_POINTER (grandchild), 3000));
  cohort_test_sleep (50);
  cohort_reaper_reap ();
  g_assert_cmpuint (cohort_test_count_zombies (), ==, 0);
}

/* An orphan that exits on its own, its worker still running, is reaped by
 * the reaper's tick alone (no stop looks for it). Also when something
 * else has put its own SIGCHLD handler in place of the reaper's (GLib
 * does where it cannot watch a child through a pidfd): the reaper's tick
 * puts its handler back in front, and that one still gets every signal. */
static volatile sig_atomic_t foreign_signals;

static void
foreign_handler (int signum)
{
  foreign_signals++;
}

static gboolean
no_zombie_left (gpointer data)
{
  return cohort_test_count_zombies () == 0;
}

static gboolean
pid_written (gpointer data)
{
  g_autofree char *text = NULL;

  return g_file_get_contents (data, &text, NULL, NULL) && g_str_has_suffix (text, "\n");
}

static gboolean
foreign_signalled (gpointer data)
{
  return foreign_signals > 0;
}

static void
test_orphan_reaped (Fixture       *f,
                    gconstpointer  data)
{
  gboolean foreign = GPOINTER_TO_INT (data);
  g_autofree char *orphan_file = g_build_filename (f->dir, "orphan", NULL);
  g_autoptr(CohortCluster) cluster = NULL;
  struct sigaction previous;
  GPid orphan;

  if (foreign)
    {
      struct sigaction action = { 0 };

      action.sa_handler = foreign_handler;
      action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
      sigemptyset (&action.sa_mask);
      g_assert_cmpint (sigaction (SIGCHLD, &action, &previous), ==, 0);
      foreign_signals = 0;
    }

  /* The worker's child starts a sleep in the background and exits: the
   * sleep is Cohort's (the subreaper's) from then on, and exits 1.5 s
   * later (after a tick of the reaper) while the worker goes on. */
  cluster = start (f,
                   "[Cluster parent]\nCommand=/bin/sh -c 'sh -c \"sleep 1.5 & echo \\$! > %s\"; exec sleep 60'\n"
                   "StopMessage=\nStopTimeout=1\n",
                   orphan_file);
  g_assert_true (cohort_test_wait_until (pid_written, orphan_file, 5000));
  orphan = cohort_test_read_pid (orphan_file);
  g_assert_true (cohort_test_pid_exists (orphan));

  /* Gone and reaped within a tick or two, by the reaper alone. */
  g_assert_true (cohort_test_wait_until (pid_gone, GINT_TO_POINTER (orphan), 5000));
  g_assert_true (cohort_test_wait_until (no_zombie_left, NULL, 3000));
  g_assert_cmpint (cohort_worker_get_state (cohort_cluster_lookup_worker (cluster, 0)), ==,
                   COHORT_WORKER_STATE_ONLINE);

  if (foreign)
    {
      /* The handler that was there got the signals too. */
      g_assert_true (cohort_test_wait_until (foreign_signalled, NULL, 1000));
      g_assert_cmpint (sigaction (SIGCHLD, &previous, NULL), ==, 0);
    }
}

/* Scaling */

static void
test_scale (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(GError) error = NULL;
  GListModel *workers;
  GPid pids[8];

  cluster = start (f, "[Cluster pool]\nCommand=%s\nInstances=1\nStopTimeout=5\nStopMessage=\n", f->worker);
  workers = cohort_cluster_get_workers (cluster);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  pids[0] = cohort_test_worker_pid (cluster, 0);

  g_assert_true (cohort_cluster_scale (cluster, 8, &error));
  g_assert_no_error (error);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 8, 5000);
  g_assert_cmpuint (g_list_model_get_n_items (workers), ==, 8);
  g_assert_cmpuint (cohort_cluster_get_desired (cluster), ==, 8);
  /* The first worker was not touched. */
  g_assert_cmpint (cohort_test_worker_pid (cluster, 0), ==, pids[0]);
  for (guint id = 0; id < 8; id++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, id);

      g_assert_cmpuint (cohort_worker_get_id (worker), ==, id);
      pids[id] = cohort_test_worker_pid (cluster, id);
      g_assert_true (cohort_test_pid_exists (pids[id]));
    }

  g_assert_true (cohort_cluster_scale (cluster, 2, &error));
  g_assert_cmpuint (cohort_cluster_get_n_online (cluster), ==, 2);
  while (g_list_model_get_n_items (workers) > 2)
    cohort_test_sleep (10);

  /* Ids 0 and 1 remain, the same processes; 2..7 are gone and reaped. */
  for (guint id = 0; id < 2; id++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, id);

      g_assert_cmpuint (cohort_worker_get_id (worker), ==, id);
      g_assert_cmpint (cohort_test_worker_pid (cluster, id), ==, pids[id]);
      g_assert_cmpint (cohort_worker_get_state (worker), ==, COHORT_WORKER_STATE_ONLINE);
    }
  for (guint id = 2; id < 8; id++)
    g_assert_false (cohort_test_pid_exists (pids[id]));
  g_assert_cmpuint (cohort_test_count_zombies (), ==, 0);

  g_assert_false (cohort_cluster_scale (cluster, 100000, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

/* Output */

typedef struct
{
  guint n;
} LineCount;

static void
count_output_cb (CohortWorker *worker,
                 int           stream,
                 const char   *line,
                 LineCount    *count)
{
  count->n++;
}

static gboolean
enough_lines (gpointer data)
{
  return ((LineCount *) data)->n >= 7;
}

static void
test_output (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(GPtrArray) lines = NULL;
  CohortWorker *worker;
  LineCount count = { 0 };
  guint out = 0;
  guint err = 0;

  cluster = start (f, "[Cluster talk]\nCommand=%s --print 3 --print-long 100000\n", f->worker);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  g_signal_connect (worker, "output", G_CALLBACK (count_output_cb), &count);
  g_assert_true (cohort_test_wait_until (enough_lines, &count, 5000));

  lines = cohort_worker_dup_output (worker, 0);
  g_assert_cmpuint (lines->len, ==, 7);
  for (guint i = 0; i < lines->len; i++)
    {
      CohortOutputLine *line = g_ptr_array_index (lines, i);
      g_autofree char *expected = NULL;

      if (strlen (line->text) > 100)
        {
          /* Bounded: a 100 kB line is kept cut at 16 KiB. */
          g_assert_cmpint (line->stream, ==, COHORT_OUTPUT_STDOUT);
          g_assert_cmpuint (strlen (line->text), ==, 16 * 1024);
          continue;
        }
      if (line->stream == COHORT_OUTPUT_STDOUT)
        expected = g_strdup_printf ("out %u", ++out);
      else
        expected = g_strdup_printf ("err %u", ++err);
      g_assert_cmpstr (line->text, ==, expected);
      g_assert_cmpint (line->time, >, 0);
    }
  g_assert_cmpuint (out, ==, 3);
  g_assert_cmpuint (err, ==, 3);

  g_signal_handlers_disconnect_by_data (worker, &count);
}

static void
test_restart_worker (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  CohortWorker *worker;
  GPid before;

  cluster = start (f, "[Cluster one]\nCommand=%s\nInstances=2\nStopTimeout=5\nStopMessage=\n", f->worker);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 1);
  before = cohort_test_worker_pid (cluster, 1);

  cohort_worker_restart (worker, "asked by the test");
  while (cohort_test_worker_pid (cluster, 1) == before || cohort_test_worker_pid (cluster, 1) == 0)
    cohort_test_sleep (10);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);

  g_assert_cmpuint (cohort_worker_get_restarts (worker), ==, 1);
  g_assert_cmpstr (cohort_worker_get_reason (worker), ==, "asked by the test");
  g_assert_false (cohort_test_pid_exists (before));
  g_assert_cmpuint (cohort_worker_get_restarts (cohort_cluster_lookup_worker (cluster, 0)), ==, 0);
}

static void
test_port_in_use (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GSocket) taken = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortCluster) cluster = NULL;
  g_autofree char *text = NULL;
  guint16 port;

  g_socket_bind (taken, any, FALSE, &error);
  g_assert_no_error (error);
  g_socket_listen (taken, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (taken, &error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  text = g_strdup_printf ("[Cluster web]\nCommand=%s\nListen=127.0.0.1:%u\n", f->worker, port);
  f->supervisor = cohort_test_supervisor (f->dir, text);
  g_assert_cmpuint (cohort_supervisor_start (f->supervisor), ==, 1);
  cluster = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 0);
  g_assert_cmpint (cohort_cluster_get_state (cluster), ==, COHORT_CLUSTER_STATE_STOPPED);
  g_assert_nonnull (strstr (cohort_cluster_get_error (cluster), "Address already in use"));
  g_assert_cmpuint (g_list_model_get_n_items (cohort_cluster_get_workers (cluster)), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  cohort_test_note_inherited_fds ();

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/Cohort/Process/environment", test_environment);
  ADD ("/Cohort/Process/shared-port", test_shared_port);
  ADD ("/Cohort/Process/port-in-use", test_port_in_use);
  ADD ("/Cohort/Process/backoff-to-errored", test_backoff_to_errored);
  ADD ("/Cohort/Process/min-uptime-resets", test_min_uptime_resets);
  ADD ("/Cohort/Process/max-memory", test_max_memory);
  ADD ("/Cohort/Process/exec-failure", test_exec_failure);
  ADD ("/Cohort/Process/search-path", test_search_path);
  ADD ("/Cohort/Process/fd-collision", test_fd_collision);
  ADD ("/Cohort/Process/no-inherited-fds", test_no_inherited_fds);
  ADD ("/Cohort/Process/policies", test_policies);
  ADD ("/Cohort/Process/stop-by-signal", test_stop_by_signal);
  ADD ("/Cohort/Process/stop-ignores-term", test_stop_ignores_term);
  ADD ("/Cohort/Process/send-to-stopped", test_send_to_stopped);
  ADD ("/Cohort/Process/stop-grandchild", test_stop_grandchild);
  ADD ("/Cohort/Process/crash-ends-orphans", test_crash_ends_orphans);
  g_test_add ("/Cohort/Process/orphan-reaped", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_orphan_reaped, fixture_teardown);
  g_test_add ("/Cohort/Process/orphan-reaped-foreign-handler", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_orphan_reaped, fixture_teardown);
  ADD ("/Cohort/Process/scale", test_scale);
  ADD ("/Cohort/Process/output", test_output);
  ADD ("/Cohort/Process/restart-worker", test_restart_worker);

  return g_test_run ();
}
