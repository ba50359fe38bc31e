/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-headless.c: the real `cohort` binary, run headless: a bad profile
 * starts nothing, SIGINT stops everything gracefully and exits 0, a
 * SIGKILLed Cohort takes its workers with it, and the demo serves HTTP. */

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cohort-reaper.h"
#include "cohort-test-util.h"

typedef struct
{
  char        *dir;
  char        *worker;
  char        *profile;
  char        *out_path;
  char        *err_path;
  GSubprocess *cohort;
  const char  *default_profile;   /* COHORT_DEMO_PROFILE for cohort, if set */
  char       **env;               /* more NAME, VALUE pairs for cohort */
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = cohort_test_make_dir ();
  f->worker = g_shell_quote (cohort_test_worker_path ());
  f->profile = g_build_filename (f->dir, "p.cohort", NULL);
  f->out_path = g_build_filename (f->dir, "stdout.txt", NULL);
  f->err_path = g_build_filename (f->dir, "stderr.txt", NULL);
}

static gboolean
exited (gpointer data)
{
  return g_subprocess_get_identifier (data) == NULL;
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  if (f->cohort != NULL && g_subprocess_get_identifier (f->cohort) != NULL)
    {
      g_subprocess_force_exit (f->cohort);
      cohort_test_wait_until (exited, f->cohort, 5000);
    }
  g_clear_object (&f->cohort);
  cohort_test_remove_dir (f->dir);
  g_free (f->dir);
  g_free (f->worker);
  g_free (f->profile);
  g_free (f->out_path);
  g_free (f->err_path);
  g_strfreev (f->env);
}

G_GNUC_PRINTF (2, 3)
static void
write_profile (Fixture    *f,
               const char *format,
               ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_assert_true (g_file_set_contents (f->profile, text, -1, NULL));
}

/* If the test dies (a failed assertion aborts it), Cohort stops too. */
static void
die_with_test (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static void
spawn_cohort (Fixture            *f,
              const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (argv, (char *) cohort_test_binary ("COHORT_BIN"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_stdout_file_path (launcher, f->out_path);
  g_subprocess_launcher_set_stderr_file_path (launcher, f->err_path);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  /* Never the window, even under xvfb-run. */
  g_subprocess_launcher_unsetenv (launcher, "DISPLAY");
  g_subprocess_launcher_unsetenv (launcher, "WAYLAND_DISPLAY");
  if (f->default_profile != NULL)
    g_subprocess_launcher_setenv (launcher, "COHORT_DEMO_PROFILE", f->default_profile, TRUE);
  for (guint i = 0; f->env != NULL && f->env[i] != NULL; i += 2)
    g_subprocess_launcher_setenv (launcher, f->env[i], f->env[i + 1], TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  f->cohort = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
}

/* Runs cohort to its end (10 s at most); its exit status. */
static int
run_cohort (Fixture            *f,
            const char * const *args)
{
  spawn_cohort (f, args);
  g_assert_true (cohort_test_wait_until (exited, f->cohort, 10000));
  g_assert_true (g_subprocess_get_if_exited (f->cohort));
  return g_subprocess_get_exit_status (f->cohort);
}

static char *
read_file (const char *path)
{
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

typedef struct
{
  const char *path;
  const char *needle;
} Needle;

static gboolean
file_contains (gpointer data)
{
  Needle *n = data;
  g_autofree char *text = read_file (n->path);

  return strstr (text, n->needle) != NULL;
}

static void
wait_output (const char *path,
             const char *needle)
{
  Needle n = { path, needle };

  if (!cohort_test_wait_until (file_contains, &n, 10000))
    {
      g_autofree char *text = read_file (path);

      g_error ("“%s” never appeared in %s:\n%s", needle, path, text);
    }
}

static GPid *
read_pids (Fixture *f,
           guint    n)
{
  GPid *pids = g_new0 (GPid, n);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("%u", i);
      g_autofree char *path = g_build_filename (f->dir, name, NULL);

      pids[i] = cohort_test_read_pid (path);
      g_assert_cmpint (pids[i], >, 0);
      g_assert_true (cohort_test_pid_exists (pids[i]));
    }
  return pids;
}

static void
test_bad_profile (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *err = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *pid_file = g_build_filename (f->dir, "0", NULL);
  const char *args[] = { "--headless", f->profile, NULL };

  write_profile (f,
                 "[Cluster good]\nCommand=%s --pid-dir %s\n"
                 "[Cluster bad]\nCommand=%s\nInstances=many\n",
                 f->worker, f->dir, f->worker);
  g_assert_cmpint (run_cohort (f, args), ==, 2);

  err = read_file (f->err_path);
  expected = g_strdup_printf ("%s:5: Instances: expected a whole number", f->profile);
  g_assert_nonnull (strstr (err, expected));
  g_assert_nonnull (strstr (err, "Nothing was started."));
  /* Not even the good cluster ran. */
  g_assert_false (g_file_test (pid_file, G_FILE_TEST_EXISTS));
}

static void
test_missing_profile (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *err = NULL;
  const char *args[] = { "--headless", f->profile, NULL };

  g_assert_cmpint (run_cohort (f, args), ==, 2);
  err = read_file (f->err_path);
  g_assert_nonnull (strstr (err, "p.cohort: cannot read: no such file"));
}

static void
test_no_cluster (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *err = NULL;
  const char *args[] = { "--headless", f->profile, NULL };

  write_profile (f, "[Profile]\nName=Empty\n");
  g_assert_cmpint (run_cohort (f, args), ==, 2);
  err = read_file (f->err_path);
  g_assert_nonnull (strstr (err, "the profile has no cluster: nothing to run"));
}

/* `cohort` alone with no display runs, headless, what the window would
 * have opened: here the demo profile (no GSettings schema in the tests). */
static void
test_no_display_default (Fixture       *f,
                         gconstpointer  data)
{
  const char *args[] = { NULL };
  g_autofree char *err = NULL;

  write_profile (f, "[Profile]\nName=Default\n");
  f->default_profile = f->profile;
  g_assert_cmpint (run_cohort (f, args), ==, 2);
  err = read_file (f->err_path);
  g_assert_nonnull (strstr (err, "no display: running headless"));
  g_assert_nonnull (strstr (err, "p.cohort"));
  g_assert_nonnull (strstr (err, "the profile has no cluster: nothing to run"));

  /* --headless with no profile still asks for one. */
  {
    const char *headless[] = { "--headless", NULL };

    g_clear_object (&f->cohort);
    g_assert_cmpint (run_cohort (f, headless), ==, 2);
    g_free (err);
    err = read_file (f->err_path);
    g_assert_nonnull (strstr (err, "name a profile to run"));
  }
}

/* `cohort` alone with no display, and the last profile one that Cohort
 * did not save: it says what it would run and runs nothing. */
static void
test_no_display_untrusted (Fixture       *f,
                           gconstpointer  data)
{
  const char *args[] = { NULL };
  g_autofree char *config = g_build_filename (f->dir, "config", NULL);
  g_autofree char *settings_dir = g_build_filename (config, "glib-2.0", "settings", NULL);
  g_autofree char *keyfile = g_build_filename (settings_dir, "keyfile", NULL);
  g_autofree char *data_home = g_build_filename (f->dir, "data", NULL);
  g_autofree char *marker = g_build_filename (f->dir, "ran", NULL);
  g_autofree char *settings = NULL;
  g_autofree char *err = NULL;

  if (g_getenv ("COHORT_SCHEMA_DIR") == NULL)
    {
      g_test_skip ("COHORT_SCHEMA_DIR is not set (run it through meson test)");
      return;
    }
  write_profile (f, "[Cluster evil]\nCommand=touch %s\nRestart=never\n", marker);
  g_assert_cmpint (g_mkdir_with_parents (settings_dir, 0700), ==, 0);
  settings = g_strdup_printf ("[org/cohort/Cohort]\nlast-profile='%s'\n", f->profile);
  g_assert_true (g_file_set_contents (keyfile, settings, -1, NULL));
  f->env = g_strdupv ((char *[]) { "GSETTINGS_BACKEND", "keyfile", "XDG_CONFIG_HOME", config,
                                   "XDG_DATA_HOME", data_home,
                                   "GSETTINGS_SCHEMA_DIR", (char *) g_getenv ("COHORT_SCHEMA_DIR"), NULL });

  g_assert_cmpint (run_cohort (f, args), ==, 2);
  err = read_file (f->err_path);
  g_assert_nonnull (strstr (err, "was not saved by Cohort on this computer"));
  g_assert_nonnull (strstr (err, "evil: “touch”"));
  g_assert_nonnull (strstr (err, "Nothing was started"));
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
}

static void
test_check (Fixture       *f,
            gconstpointer  data)
{
  const char *args[] = { "--check", f->profile, NULL };
  g_autofree char *err = NULL;
  g_autofree char *out = NULL;

  write_profile (f, "[Profile]\nName=Fine\n[Cluster a]\nCommand=true\nColour=red\n");
  g_assert_cmpint (run_cohort (f, args), ==, 0);
  out = read_file (f->out_path);
  err = read_file (f->err_path);
  g_assert_nonnull (strstr (out, "OK, profile “Fine” with 1 cluster"));
  g_assert_nonnull (strstr (err, "p.cohort:5: warning: unknown key Colour"));
  g_clear_object (&f->cohort);

  write_profile (f, "[Cluster a]\nKind=vm\n[Cluster b]\nCommand=x\nRestart=sometimes\nStopSignal=NOPE\n");
  g_assert_cmpint (run_cohort (f, args), ==, 2);
  g_free (err);
  err = read_file (f->err_path);
  g_assert_nonnull (strstr (err, "p.cohort:2: Kind: expected process | threads, got “vm”"));
  g_assert_nonnull (strstr (err, "p.cohort:5: Restart: expected on-failure | always | never"));
  g_assert_nonnull (strstr (err, "p.cohort:6: StopSignal: expected a signal name"));
}

static void
test_sigint_stops_gracefully (Fixture       *f,
                              gconstpointer  data)
{
  const char *args[] = { "--headless", f->profile, NULL };
  g_autofree GPid *pids = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  write_profile (f,
                 "[Cluster web]\nCommand=%s --print 2 --pid-dir %s --term-delay 200\n"
                 "Instances=2\nStopTimeout=5\nStopMessage=\n",
                 f->worker, f->dir);
  spawn_cohort (f, args);
  pids = read_pids (f, 2);
  wait_output (f->out_path, "web.1 | out 2");
  wait_output (f->out_path, "online");

  g_subprocess_send_signal (f->cohort, SIGINT);
  g_assert_true (cohort_test_wait_until (exited, f->cohort, 10000));
  g_assert_true (g_subprocess_get_if_exited (f->cohort));
  g_assert_cmpint (g_subprocess_get_exit_status (f->cohort), ==, 0);

  /* Workers' output prefixed name.id, stderr to stderr; the table. */
  out = read_file (f->out_path);
  err = read_file (f->err_path);
  g_test_message ("stdout:\n%s\nstderr:\n%s", out, err);
  g_assert_nonnull (strstr (out, "web.0 | out 1"));
  g_assert_nonnull (strstr (out, "web.1 | out 2"));
  g_assert_nonnull (strstr (err, "web.0 | err 1"));
  g_assert_nonnull (strstr (out, "cluster   id  pid/tid  state"));
  g_assert_nonnull (strstr (out, "stopped"));
  g_assert_nonnull (strstr (out, "exit 0 (stopped by signal)"));
  g_assert_nonnull (strstr (err, "Every worker has stopped."));

  for (guint i = 0; i < 2; i++)
    g_assert_false (cohort_test_pid_exists (pids[i]));
}

typedef struct
{
  GPid  *pids;
  guint  n;
} Pids;

static gboolean
all_gone (gpointer data)
{
  Pids *p = data;

  for (guint i = 0; i < p->n; i++)
    if (cohort_test_pid_exists (p->pids[i]))
      return FALSE;
  return TRUE;
}

static gboolean
no_zombies (gpointer data)
{
  cohort_reaper_reap ();
  return cohort_test_count_zombies () == 0;
}

static void
test_sigkill_takes_workers (Fixture       *f,
                            gconstpointer  data)
{
  const char *args[] = { "--headless", f->profile, NULL };
  g_autofree GPid *pids = NULL;
  Pids p;

  /* Workers that would survive a SIGTERM, even. */
  write_profile (f, "[Cluster web]\nCommand=%s --pid-dir %s --ignore-term\nInstances=3\n",
                 f->worker, f->dir);
  spawn_cohort (f, args);
  pids = read_pids (f, 3);

  g_subprocess_force_exit (f->cohort);
  p.pids = pids;
  p.n = 3;
  g_assert_true (cohort_test_wait_until (all_gone, &p, 1000));

  /* They were re-parented to this test (a subreaper): none is left a
   * zombie once reaped. */
  g_assert_true (cohort_test_wait_until (no_zombies, NULL, 2000));
}

static void
test_demo_serves (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *demo = read_file (cohort_test_binary ("COHORT_DEMO_PROFILE"));
  g_autoptr(GRegex) command = g_regex_new ("^Command=cohort-demo-worker", G_REGEX_MULTILINE, 0, NULL);
  g_autoptr(GRegex) listen = g_regex_new ("^Listen=.*$", G_REGEX_MULTILINE, 0, NULL);
  g_autofree char *demo_worker = g_shell_quote (cohort_test_binary ("COHORT_DEMO_WORKER"));
  g_autofree char *replacement = g_strdup_printf ("Command=%s", demo_worker);
  g_autofree char *step = NULL;
  g_autofree char *text = NULL;
  g_autofree char *out = NULL;
  const char *args[] = { "--headless", f->profile, NULL };
  GHashTable *seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *port_text;
  guint port;

  /* The demo profile as shipped, on a free port. */
  step = g_regex_replace_literal (command, demo, -1, 0, replacement, 0, NULL);
  text = g_regex_replace_literal (listen, step, -1, 0, "Listen=127.0.0.1:0", 0, NULL);
  g_assert_true (g_file_set_contents (f->profile, text, -1, NULL));

  spawn_cohort (f, args);
  wait_output (f->out_path, "(port ");
  wait_output (f->out_path, "web.1 | worker 1");
  out = read_file (f->out_path);
  port_text = strstr (out, "(port ") + strlen ("(port ");
  port = (guint) g_ascii_strtoull (port_text, NULL, 10);
  g_assert_cmpuint (port, >, 0);

  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *body = cohort_test_http_get ((guint16) port, &error);

      g_assert_no_error (error);
      g_assert_true (g_str_has_prefix (body, "Hello from worker "));
      g_hash_table_add (seen, g_strndup (body, strlen ("Hello from worker 0")));
    }
  g_test_message ("workers answering: %u", g_hash_table_size (seen));
  g_hash_table_unref (seen);

  g_subprocess_send_signal (f->cohort, SIGTERM);
  g_assert_true (cohort_test_wait_until (exited, f->cohort, 10000));
  g_assert_cmpint (g_subprocess_get_exit_status (f->cohort), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GTestDBus) bus = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  /* A session bus of its own: the instances it starts must not meet
   * another suite's. */
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);
  /* Workers orphaned by a SIGKILLed Cohort come to this process, which
   * reaps them, instead of piling up under an init that may not. */
  cohort_reaper_init ();

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/Cohort/Headless/bad-profile", test_bad_profile);
  ADD ("/Cohort/Headless/missing-profile", test_missing_profile);
  ADD ("/Cohort/Headless/no-cluster", test_no_cluster);
  ADD ("/Cohort/Headless/check", test_check);
  ADD ("/Cohort/Headless/no-display-default", test_no_display_default);
  ADD ("/Cohort/Headless/no-display-untrusted", test_no_display_untrusted);
  ADD ("/Cohort/Headless/sigint-stops-gracefully", test_sigint_stops_gracefully);
  ADD ("/Cohort/Headless/sigkill-takes-workers", test_sigkill_takes_workers);
  ADD ("/Cohort/Headless/demo-serves", test_demo_serves);

  status = g_test_run ();
  g_test_dbus_down (bus);
  return status;
}
