/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-spawn.c: cohort_spawn() with real processes: it returns before the
 * child's exec, so what the child reads must be its own copy, what goes
 * wrong before clone() is still its own error, and what goes wrong at the
 * exec reaches the worker as a failure to start. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <glib/gstdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cohort-spawn.h"
#include "cohort-test-util.h"

typedef CohortTestFixture Fixture;

#define fixture_setup cohort_test_fixture_setup
#define fixture_teardown cohort_test_fixture_teardown

/* More than the pool's slots (32), several times over. */
#define MANY 100

static int
dev_null (void)
{
  static int fd = -1;

  if (fd < 0)
    fd = fcntl (open ("/dev/null", O_RDWR | O_CLOEXEC), F_DUPFD_CLOEXEC, 10);
  g_assert_cmpint (fd, >=, 10);
  return fd;
}

/* Spawns @argv with stdin and stdout on /dev/null. @envp and every string
 * of the request are scribbled over and freed as soon as cohort_spawn()
 * returns: the child must not need them. */
static gboolean
spawn (const char  *working_directory,
       char       **argv,
       char       **envp,
       GPid        *pid,
       GError     **error)
{
  int fds[3] = { dev_null (), dev_null (), 2 };
  CohortSpawnRequest request = { 0 };
  gboolean ok;

  request.working_directory = working_directory;
  request.argv = (const char * const *) argv;
  request.envp = (const char * const *) envp;
  request.fds = fds;
  request.n_fds = G_N_ELEMENTS (fds);
  for (guint i = 0; envp[i] != NULL; i++)
    if (g_str_has_prefix (envp[i], "LISTEN_PID="))
      request.listen_pid_slot = envp[i] + strlen ("LISTEN_PID=");

  ok = cohort_spawn (&request, pid, error);

  for (guint i = 0; argv[i] != NULL; i++)
    memset (argv[i], 'X', strlen (argv[i]));
  for (guint i = 0; envp[i] != NULL; i++)
    memset (envp[i], 'X', strlen (envp[i]));
  g_strfreev (argv);
  g_strfreev (envp);
  return ok;
}

static char **
strv (const char *first,
      ...)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  va_list args;

  va_start (args, first);
  for (const char *s = first; s != NULL; s = va_arg (args, const char *))
    g_strv_builder_add (builder, s);
  va_end (args);
  return g_strv_builder_end (builder);
}

static char **
base_environment (void)
{
  return strv ("PATH=/usr/bin:/bin", NULL);
}

static int
wait_for (GPid pid)
{
  int status = 0;

  while (waitpid (pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  return status;
}

static void
assert_no_child_left (void)
{
  g_assert_cmpint (waitpid (-1, NULL, WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);
}

static char *
write_script (const char *dir,
              const char *name,
              const char *text)
{
  char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_assert_cmpint (g_chmod (path, 0755), ==, 0);
  return path;
}

/* A child is pending until its exec, never after: once it no longer is,
 * /proc/PID/exe is its program (before, it is Cohort's memory and
 * binary, which the sampler and MaxMemory must not take for the
 * worker's). */
static void
test_pending (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *proc_exe = NULL;
  g_autofree char *exe = NULL;
  g_autofree char *sleep_path = g_find_program_in_path ("sleep");
  g_autofree char *sleep_real = NULL;
  GPid pid;
  guint waited = 0;

  g_assert_nonnull (sleep_path);
  sleep_real = realpath (sleep_path, NULL);
  g_assert_false (cohort_spawn_is_pending (getpid ()));
  g_assert_true (spawn (NULL, strv ("sleep", "30", NULL), base_environment (), &pid, &error));
  g_assert_no_error (error);

  while (cohort_spawn_is_pending (pid) && waited < 5000)
    {
      g_usleep (1000);
      waited++;
    }
  g_assert_false (cohort_spawn_is_pending (pid));
  proc_exe = g_strdup_printf ("/proc/%d/exe", (int) pid);
  exe = g_file_read_link (proc_exe, NULL);
  g_assert_cmpstr (exe, ==, sleep_real);

  kill (pid, SIGKILL);
  wait_for (pid);
  g_assert_false (cohort_spawn_is_pending (pid));
  assert_no_child_left ();
}

/* Children in a row, all run with their own arguments, all reaped with
 * their own exit status, also once the pool has wrapped around. */
static void
test_many (Fixture       *f,
           gconstpointer  data)
{
  GPid pids[MANY];

  for (guint i = 0; i < MANY; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *code = g_strdup_printf ("%u", i);

      g_assert_true (spawn (NULL, strv ("sh", "-c", "exit $1", "sh", code, NULL),
                            base_environment (), &pids[i], &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < MANY; i++)
    {
      g_autoptr(GError) error = NULL;
      int status = wait_for (pids[i]);

      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, i);
      g_assert_false (cohort_spawn_take_failure (pids[i], &error));
      g_assert_no_error (error);
    }
  assert_no_child_left ();
}

/* Each child writes its own pid into its own copy of the environment,
 * many of them in flight at once. */
static void
test_listen_pid (Fixture       *f,
                 gconstpointer  data)
{
  GPid pids[MANY];

  for (guint i = 0; i < MANY; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *script = g_strdup_printf ("echo \"$LISTEN_PID\" > %s/$$", f->dir);

      g_assert_true (spawn (f->dir, strv ("/bin/sh", "-c", script, NULL),
                            strv ("PATH=/usr/bin:/bin", "LISTEN_FDS=1",
                                  "LISTEN_PID=00000000000000000000", "AFTER=1", NULL),
                            &pids[i], &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < MANY; i++)
    {
      g_autofree char *name = g_strdup_printf ("%d", pids[i]);
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_autofree char *text = NULL;
      int status = wait_for (pids[i]);

      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_assert_cmpstr (g_strchomp (text), ==, name);
    }
  assert_no_child_left ();
}

static void
assert_sync_error (const char  *working_directory,
                   const char  *program,
                   int          code,
                   const char  *message)
{
  g_autoptr(GError) error = NULL;
  GPid pid = 0;

  g_assert_false (spawn (working_directory, strv (program, NULL), base_environment (), &pid, &error));
  g_assert_error (error, G_SPAWN_ERROR, code);
  g_assert_cmpstr (error->message, ==, message);
  assert_no_child_left ();
}

/* What usually goes wrong is found before the child exists, with GLib's
 * own messages. */
static void
test_sync_errors (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *plain = g_build_filename (f->dir, "plain", NULL);
  g_autofree char *folder = g_build_filename (f->dir, "folder", NULL);
  g_autofree char *message = NULL;

  g_assert_true (g_file_set_contents (plain, "just text\n", -1, NULL));
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);

  assert_sync_error (NULL, "/nonexistent/program", G_SPAWN_ERROR_NOENT,
                     "Failed to execute child process “/nonexistent/program” (No such file or directory)");
  assert_sync_error (NULL, "no-such-program-anywhere", G_SPAWN_ERROR_NOENT,
                     "Failed to execute child process “no-such-program-anywhere” (No such file or directory)");
  assert_sync_error (NULL, "", G_SPAWN_ERROR_NOENT,
                     "Failed to execute child process “” (No such file or directory)");

  message = g_strdup_printf ("Failed to execute child process “%s” (Permission denied)", plain);
  assert_sync_error (NULL, plain, G_SPAWN_ERROR_ACCES, message);
  g_clear_pointer (&message, g_free);
  message = g_strdup_printf ("Failed to execute child process “%s” (Permission denied)", folder);
  assert_sync_error (NULL, folder, G_SPAWN_ERROR_ACCES, message);
  g_clear_pointer (&message, g_free);
  /* Relative to the working directory, as the child's exec would be. */
  assert_sync_error (f->dir, "./plain", G_SPAWN_ERROR_ACCES,
                     "Failed to execute child process “./plain” (Permission denied)");

  assert_sync_error ("/nonexistent/folder", "/bin/true", G_SPAWN_ERROR_CHDIR,
                     "Failed to change to directory “/nonexistent/folder” (No such file or directory)");
  message = g_strdup_printf ("Failed to change to directory “%s” (Not a directory)", plain);
  assert_sync_error (plain, "/bin/true", G_SPAWN_ERROR_CHDIR, message);
  g_clear_pointer (&message, g_free);

  if (geteuid () != 0)
    {
      g_assert_cmpint (g_chmod (folder, 0600), ==, 0);
      message = g_strdup_printf ("Failed to change to directory “%s” (Permission denied)", folder);
      assert_sync_error (folder, "/bin/true", G_SPAWN_ERROR_CHDIR, message);
      g_assert_cmpint (g_chmod (folder, 0755), ==, 0);
    }
}

/* A script whose interpreter is missing passes every check before
 * clone(): only the exec says ENOENT. The child's report outlives its
 * slot (the pool wraps around many times before anyone asks) and is
 * handed out once, to the right pid, with the right program. */
static void
test_exec_failure (Fixture       *f,
                   gconstpointer  data)
{
  char *scripts[4];
  GPid pids[MANY];

  for (guint i = 0; i < G_N_ELEMENTS (scripts); i++)
    {
      g_autofree char *name = g_strdup_printf ("script-%u", i);

      scripts[i] = write_script (f->dir, name, "#!/nonexistent/interpreter\n");
    }

  for (guint i = 0; i < MANY; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *code = g_strdup_printf ("%u", i);
      char **argv = i % 3 == 0 ? strv ("sh", "-c", "exit $1", "sh", code, NULL)
                               : strv (scripts[i % 4], code, NULL);

      g_assert_true (spawn (NULL, argv, base_environment (), &pids[i], &error));
      g_assert_no_error (error);
    }
  for (guint i = MANY; i-- > 0;)
    {
      g_autoptr(GError) error = NULL;
      int status = wait_for (pids[i]);

      g_assert_true (WIFEXITED (status));
      if (i % 3 == 0)
        {
          g_assert_cmpint (WEXITSTATUS (status), ==, i);
          g_assert_false (cohort_spawn_take_failure (pids[i], &error));
          g_assert_no_error (error);
        }
      else
        {
          g_autofree char *message =
            g_strdup_printf ("Failed to execute child process “%s” (No such file or directory)",
                             scripts[i % 4]);

          g_assert_cmpint (WEXITSTATUS (status), ==, 127);
          g_assert_true (cohort_spawn_take_failure (pids[i], &error));
          g_assert_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT);
          g_assert_cmpstr (error->message, ==, message);
          g_clear_error (&error);
          g_assert_false (cohort_spawn_take_failure (pids[i], &error));
          g_assert_no_error (error);
        }
    }
  assert_no_child_left ();
  for (guint i = 0; i < G_N_ELEMENTS (scripts); i++)
    g_free (scripts[i]);
}

static gboolean
has_exited (GPid pid)
{
  siginfo_t info = { 0 };

  g_assert_cmpint (waitid (P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT), ==, 0);
  return info.si_pid == pid;
}

/* The children run on Cohort's memory, with the spawning thread's TLS:
 * those that fail their exec must not leave their errno in Cohort's.
 * The environment is large so that the children's execs take a while
 * and many are still to fail after the sentinel is set; the test retries
 * until some were. */
static void
test_errno_untouched (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *script = write_script (f->dir, "script", "#!/nonexistent/interpreter\n");
  g_autofree char *big = g_strnfill (60 * 1024, 'b');
  guint in_flight = 0;

  for (guint round = 0; round < 20 && in_flight < 4; round++)
    {
      GPid pids[64];
      gint64 until;

      for (guint i = 0; i < G_N_ELEMENTS (pids); i++)
        {
          g_autoptr(GError) error = NULL;
          GStrvBuilder *builder = g_strv_builder_new ();
          char **envp;

          g_strv_builder_add (builder, "PATH=/usr/bin:/bin");
          for (guint j = 0; j < 16; j++)
            {
              g_autofree char *item = g_strdup_printf ("BIG%u=%s", j, big);

              g_strv_builder_add (builder, item);
            }
          envp = g_strv_builder_end (builder);
          g_strv_builder_unref (builder);
          g_assert_true (spawn (NULL, strv (script, NULL), envp, &pids[i], &error));
          g_assert_no_error (error);
        }

      errno = 4242;
      for (guint i = 0; i < G_N_ELEMENTS (pids); i++)
        if (!has_exited (pids[i]))
          in_flight++;
      g_assert_cmpint (errno, ==, 4242);

      /* No system call that could fail in the meantime. */
      until = g_get_monotonic_time () + 50 * 1000;
      while (g_get_monotonic_time () < until)
        g_assert_cmpint (errno, ==, 4242);
      for (guint i = 0; i < G_N_ELEMENTS (pids); i++)
        {
          int status = wait_for (pids[i]);

          g_assert_cmpint (errno, ==, 4242);
          g_assert_true (WIFEXITED (status));
          g_assert_cmpint (WEXITSTATUS (status), ==, 127);
          g_assert_true (cohort_spawn_take_failure (pids[i], NULL));
        }
      g_assert_cmpint (errno, ==, 4242);
    }
  g_test_message ("%u children still in flight when the sentinel was set", in_flight);
  g_assert_cmpuint (in_flight, >, 0);
}

/* Through a worker: the exec failure is the worker's failure to start,
 * reported as when cohort_spawn() itself fails, not a plain exit 127 that
 * the restart policy would retry. */
static void
test_worker_exec_failure (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *script = write_script (f->dir, "no-interpreter", "#!/nonexistent/interpreter\n");
  g_autofree char *expected =
    g_strdup_printf ("cannot start: Failed to execute child process “%s” (No such file or directory)", script);
  g_autoptr(CohortCluster) cluster = NULL;
  CohortWorker *worker;

  cluster = start (f, "[Cluster script]\nCommand=%s\nRestart=always\nRestartDelay=10\n", script);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ERRORED, 1, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  g_assert_cmpstr (cohort_worker_get_reason (worker), ==, expected);
  g_assert_cmpstr (cohort_worker_get_last_exit (worker), ==, "not started");
  g_assert_cmpuint (cohort_worker_get_restarts (worker), ==, 0);
  cohort_test_sleep (100);
  g_assert_cmpint (cohort_worker_get_state (worker), ==, COHORT_WORKER_STATE_ERRORED);
  g_assert_cmpuint (cohort_worker_get_restarts (worker), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  cohort_test_note_inherited_fds ();

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/Cohort/Spawn/many", test_many);
  ADD ("/Cohort/Spawn/listen-pid", test_listen_pid);
  ADD ("/Cohort/Spawn/pending", test_pending);
  ADD ("/Cohort/Spawn/sync-errors", test_sync_errors);
  ADD ("/Cohort/Spawn/exec-failure", test_exec_failure);
  ADD ("/Cohort/Spawn/errno-untouched", test_errno_untouched);
  ADD ("/Cohort/Spawn/worker-exec-failure", test_worker_exec_failure);

  return g_test_run ();
}
