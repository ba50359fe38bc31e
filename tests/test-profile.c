/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-profile.c: reading *.cohort profiles, and every kind of bad one:
 * each refused with a message naming the file, and nothing written. */

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cohort-profile.h"
#include "cohort-test-util.h"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = cohort_test_make_dir ();
  f->path = g_build_filename (f->dir, "p.cohort", NULL);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_chmod (f->path, 0644);
  cohort_test_remove_dir (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static CohortProfile *
load (Fixture     *f,
      const char  *text,
      GError     **error)
{
  CohortProfile *profile = cohort_profile_new ();

  g_assert_true (g_file_set_contents (f->path, text, -1, NULL));
  cohort_profile_load_file (profile, f->path, error);
  return profile;
}

/* The text of every diagnostic, one a line. */
static char *
diagnostics (CohortProfile *profile)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < cohort_profile_get_n_diagnostics (profile); i++)
    {
      g_autofree char *text =
        cohort_profile_format_diagnostic (profile, cohort_profile_get_diagnostic (profile, i));

      g_string_append_printf (out, "%s\n", text);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_every_key (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortProfile) profile = load (f,
    "# A comment on its own line\n"
    "[Profile]\n"
    "Name=Demo\n"
    "\n"
    "[Cluster web]\n"
    "Kind=process\n"
    "Command=server --serve 'two words' \"x y\"\n"
    "Instances=3\n"
    "WorkingDirectory=~/app\n"
    "Environment=GREETING=hello;MODE=demo;SEMI=a\\;b;\n"
    "Listen=127.0.0.1:0\n"
    "Channel=ndjson\n"
    "Restart=always\n"
    "RestartDelay=250\n"
    "RestartDelayMax=4000\n"
    "MinUptime=2.5\n"
    "MaxRestarts=7\n"
    "StopMessage={\"cmd\": \"stop\", \"text\": \"a\\nb\"}\n"
    "StopSignal=SIGINT\n"
    "StopTimeout=0.5\n"
    "ReadyTimeout=3\n"
    "MaxMemory=256\n"
    "\n"
    "[Cluster other]\n"
    "Command=/bin/true\n"
    "Instances=max\n"
    "WorkingDirectory=sub\n", &error);
  g_autofree char *home_app = g_build_filename (g_get_home_dir (), "app", NULL);
  g_autofree char *sub = g_build_filename (f->dir, "sub", NULL);
  GPtrArray *clusters;
  CohortClusterSpec *web;
  CohortClusterSpec *other;

  g_assert_no_error (error);
  g_assert_cmpuint (cohort_profile_get_n_diagnostics (profile), ==, 0);
  g_assert_cmpstr (cohort_profile_get_name (profile), ==, "Demo");

  clusters = cohort_profile_get_clusters (profile);
  g_assert_cmpuint (clusters->len, ==, 2);
  web = g_ptr_array_index (clusters, 0);
  other = g_ptr_array_index (clusters, 1);

  g_assert_cmpstr (web->name, ==, "web");
  g_assert_cmpint (web->kind, ==, COHORT_CLUSTER_KIND_PROCESS);
  g_assert_cmpuint (g_strv_length (web->argv), ==, 4);
  g_assert_cmpstr (web->argv[0], ==, "server");
  g_assert_cmpstr (web->argv[2], ==, "two words");
  g_assert_cmpstr (web->argv[3], ==, "x y");
  g_assert_cmpint (web->instances, ==, 3);
  g_assert_cmpstr (web->working_directory, ==, home_app);
  g_assert_cmpuint (g_strv_length (web->environment), ==, 3);
  g_assert_cmpstr (web->environment[0], ==, "GREETING=hello");
  g_assert_cmpstr (web->environment[2], ==, "SEMI=a;b");
  g_assert_cmpstr (web->listen, ==, "127.0.0.1:0");
  g_assert_cmpint (web->channel, ==, COHORT_CHANNEL_NDJSON);
  g_assert_cmpint (web->restart, ==, COHORT_RESTART_ALWAYS);
  g_assert_cmpuint (web->restart_delay_ms, ==, 250);
  g_assert_cmpuint (web->restart_delay_max_ms, ==, 4000);
  g_assert_cmpfloat (web->min_uptime_s, ==, 2.5);
  g_assert_cmpuint (web->max_restarts, ==, 7);
  /* JSON's own escapes survive GKeyFile's. */
  g_assert_cmpstr (web->stop_message, ==, "{\"cmd\":\"stop\",\"text\":\"a\\nb\"}");
  g_assert_cmpint (web->stop_signal, ==, SIGINT);
  g_assert_cmpfloat (web->stop_timeout_s, ==, 0.5);
  g_assert_cmpfloat (web->ready_timeout_s, ==, 3);
  g_assert_cmpuint (web->max_memory_mib, ==, 256);

  /* Defaults, max, and a folder relative to the profile's. */
  g_assert_cmpint (other->instances, ==, COHORT_INSTANCES_MAX);
  g_assert_cmpuint (cohort_cluster_spec_resolve_instances (other), ==, g_get_num_processors ());
  g_assert_cmpstr (other->working_directory, ==, sub);
  g_assert_cmpint (other->restart, ==, COHORT_RESTART_ON_FAILURE);
  g_assert_cmpuint (other->restart_delay_ms, ==, 100);
  g_assert_cmpuint (other->restart_delay_max_ms, ==, 15000);
  g_assert_cmpuint (other->max_restarts, ==, 15);
  g_assert_cmpstr (other->stop_message, ==, "\"shutdown\"");
  g_assert_cmpint (other->stop_signal, ==, SIGTERM);
  g_assert_cmpfloat (other->stop_timeout_s, ==, 10);
}

static void
test_name_from_file (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load (f, "[Cluster a]\nCommand=true\n", NULL);

  g_assert_cmpstr (cohort_profile_get_name (profile), ==, "p");
}

static void
test_empty_profile (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortProfile) profile = load (f, "[Profile]\nName=Nothing yet\n", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (cohort_profile_get_clusters (profile)->len, ==, 0);
}

typedef struct
{
  const char *name;
  const char *text;
  const char *expected;   /* a part of the first error, with its line */
} BadCase;

static const BadCase bad_cases[] = {
  { "unknown-kind",
    "[Cluster a]\nKind=container\nCommand=true\n",
    "p.cohort:2: Kind: expected process | threads, got “container”" },
  { "bad-number",
    "[Cluster a]\nCommand=true\nInstances=two\n",
    "p.cohort:3: Instances: expected a whole number from 1 to 4096, or max, got “two”" },
  { "zero-instances",
    "[Cluster a]\nCommand=true\nInstances=0\n",
    "p.cohort:3: Instances:" },
  { "negative-delay",
    "[Cluster a]\nCommand=true\nRestartDelay=-5\n",
    "p.cohort:3: RestartDelay: expected a whole number" },
  { "bad-seconds",
    "[Cluster a]\nCommand=true\n\nStopTimeout=soon\n",
    "p.cohort:4: StopTimeout: expected seconds" },
  { "zero-stop-timeout",
    "[Cluster a]\nCommand=true\nStopTimeout=0\n",
    "p.cohort:3: StopTimeout: expected seconds, more than 0" },
  { "delay-max-below-delay",
    "[Cluster a]\nCommand=true\nRestartDelay=500\nRestartDelayMax=100\n",
    "p.cohort:4: RestartDelayMax: 100 ms is below RestartDelay (500 ms)" },
  { "missing-command",
    "[Profile]\nName=x\n\n[Cluster a]\nInstances=2\n",
    "p.cohort:4: [Cluster a] needs a Command" },
  { "empty-command",
    "[Cluster a]\nCommand=\n",
    "p.cohort:2: [Cluster a] needs a Command" },
  { "unbalanced-quote",
    "[Cluster a]\nCommand=echo 'oops\n",
    "p.cohort:2: Command:" },
  { "duplicate-cluster",
    "[Cluster a]\nCommand=true\n\n[Cluster a]\nCommand=false\n",
    "p.cohort:4: [Cluster a] appears twice (first on line 1)" },
  { "bad-restart",
    "[Cluster a]\nCommand=true\nRestart=sometimes\n",
    "p.cohort:3: Restart: expected on-failure | always | never, got “sometimes”" },
  { "bad-channel",
    "[Cluster a]\nCommand=true\nChannel=pigeon\n",
    "p.cohort:3: Channel: expected auto | ndjson | node | none" },
  { "bad-signal",
    "[Cluster a]\nCommand=true\nStopSignal=SIGNOPE\n",
    "p.cohort:3: StopSignal: expected a signal name" },
  { "bad-json",
    "[Cluster a]\nCommand=true\nStopMessage={not json\n",
    "p.cohort:3: StopMessage: not valid JSON" },
  { "bad-listen",
    "[Cluster a]\nCommand=true\nListen=somewhere:http\n",
    "p.cohort:3: Listen: expected HOST:PORT" },
  { "bad-listen-host",
    "[Cluster a]\nCommand=true\nListen=example.org:80\n",
    "p.cohort:3: Listen: “example.org” is not an IP address" },
  { "bad-environment",
    "[Cluster a]\nCommand=true\nEnvironment=JUSTANAME\n",
    "p.cohort:3: Environment: expected NAME=value" },
  { "bad-cluster-name",
    "[Cluster a/b]\nCommand=true\n",
    "p.cohort:1: cluster name “a/b”" },
  { "not-key-value",
    "[Cluster a]\nCommand=true\nthis is not a key\n",
    "p.cohort:3: expected Key=value, a [group] or a # comment" },
  { "key-before-group",
    "Command=true\n[Cluster a]\nCommand=true\n",
    "p.cohort:1: “Command=true” stands before any [group]" },
  { "bad-header",
    "[Cluster a\nCommand=true\n",
    "p.cohort:1: a group header must look like" },
  { "truncated",
    "[Profile]\nName=Cut\n\n[Cluster web]\nCommand=server\nInstan",
    "p.cohort:6: expected Key=value" },
  { "binary",
    "[Cluster a]\nCommand=true\n\xff\xfe\x00\x01garbage",
    "p.cohort:3: not a text profile" },
  { "invalid-utf8",
    "[Cluster a]\nCommand=true\n\nEnvironment=NAME=caf\xe9\n",
    "p.cohort:4: not a text profile (binary data or invalid UTF-8)" },
  { "bad-restart-delay-max",
    "[Cluster a]\nCommand=true\nRestartDelayMax=1.5\n",
    "p.cohort:3: RestartDelayMax: expected a whole number from 0 to 86400000, got “1.5”" },
  { "bad-min-uptime",
    "[Cluster a]\nCommand=true\nMinUptime=-1\n",
    "p.cohort:3: MinUptime: expected seconds, from 0 to 86400, got “-1”" },
  { "bad-max-restarts",
    "[Cluster a]\nCommand=true\nMaxRestarts=many\n",
    "p.cohort:3: MaxRestarts: expected a whole number from 0 to 1000000, got “many”" },
  { "bad-stop-timeout-too-long",
    "[Cluster a]\nCommand=true\nStopTimeout=7200\n",
    "p.cohort:3: StopTimeout: expected seconds, more than 0 and at most 3600, got “7200”" },
  { "bad-ready-timeout",
    "[Cluster a]\nCommand=true\nReadyTimeout=soon\n",
    "p.cohort:3: ReadyTimeout: expected seconds, from 0 to 3600, got “soon”" },
  { "ready-without-channel",
    "[Cluster a]\nCommand=true\nChannel=none\nReadyTimeout=5\n",
    "p.cohort:4: ReadyTimeout: a worker says it is ready on its channel, and Channel is none" },
  { "bad-max-memory",
    "[Cluster a]\nCommand=true\nMaxMemory=1GB\n",
    "p.cohort:3: MaxMemory: expected MiB as a whole number (0 for no limit), got “1GB”" },
  { "empty-kind",
    "[Cluster a]\nKind=\nCommand=true\n",
    "p.cohort:2: Kind: expected process | threads, got “”" },
  { "bad-task",
    "[Cluster t]\nKind=threads\nTask=fly\n",
    "p.cohort:3: Task: expected " },
  { "bad-threads",
    "[Cluster t]\nKind=threads\nTask=sum\nThreads=0\nArguments={\"n\": 10}\n",
    "p.cohort:4: Threads: expected a whole number from 1 to 4096, or max, got “0”" },
  { "bad-arguments-json",
    "[Cluster t]\nKind=threads\nTask=sum\nArguments={n: 1}\n",
    "p.cohort:4: Arguments: not valid JSON" },
  { "arguments-not-object",
    "[Cluster t]\nKind=threads\nTask=sum\nArguments=[1, 2]\n",
    "p.cohort:4: Arguments: expected a JSON object such as {\"n\": 1000000}, got [1, 2]" },
  { "bad-task-arguments",
    "[Cluster t]\nKind=threads\nTask=sum\nArguments={\"n\": \"lots\"}\n",
    "p.cohort:4: Arguments: " },
  { "task-needs-arguments",
    "[Cluster t]\nKind=threads\nTask=sum\n",
    "p.cohort:1: [Cluster t] needs Arguments for sum" },
  { "bad-repeat",
    "[Cluster t]\nKind=threads\nTask=sum\nArguments={\"n\": 1}\nRepeat=often\n",
    "p.cohort:5: Repeat: expected true or false, got “often”" },
  { "repeat-without-task",
    "[Cluster t]\nKind=threads\nRepeat=true\n",
    "p.cohort:3: Repeat=true needs a Task to repeat" },
  { "bad-task-timeout",
    "[Cluster t]\nKind=threads\nTaskTimeout=forever\n",
    "p.cohort:3: TaskTimeout: expected seconds, from 0 to 86400, got “forever”" },
  { "bad-profile-header",
    "[]\n",
    "p.cohort:1: a group header must look like [Cluster NAME], got “[]”" },
  { "only-a-header",
    "[Cluster a]",
    "p.cohort:1: [Cluster a] needs a Command" },
};

static void
test_bad_profile (Fixture       *f,
                  gconstpointer  data)
{
  const BadCase *bad = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autofree char *all = NULL;
  g_autofree char *after = NULL;
  gsize length = strlen (bad->text);
  gsize after_length = 0;

  /* The binary case holds a NUL: write its real length. */
  if (g_str_equal (bad->name, "binary"))
    length = strlen ("[Cluster a]\nCommand=true\n\xff\xfe") + 6;
  g_assert_true (g_file_set_contents (f->path, bad->text, length, NULL));

  g_assert_false (cohort_profile_load_file (profile, f->path, &error));
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID);
  all = diagnostics (profile);
  g_test_message ("%s", all);
  g_assert_nonnull (strstr (error->message, bad->expected));
  g_assert_true (g_str_has_prefix (error->message, f->path));
  g_assert_cmpuint (cohort_profile_get_n_errors (profile), >=, 1);
  /* Nothing may be started from a profile with errors. */
  g_assert_null (cohort_profile_get_clusters (profile));
  g_assert_false (cohort_profile_get_trusted (profile));

  /* Nor is the file touched. */
  g_assert_true (g_file_get_contents (f->path, &after, &after_length, NULL));
  g_assert_cmpmem (after, after_length, bad->text, length);
}

static void
test_every_error_listed (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortProfile) profile = load (f,
    "[Cluster a]\n"
    "Command=true\n"
    "Instances=lots\n"
    "StopTimeout=-1\n"
    "Colour=blue\n"
    "[Cluster b]\n"
    "Restart=maybe\n", &error);
  g_autofree char *all = diagnostics (profile);

  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "(and 3 more errors)"));
  g_assert_cmpuint (cohort_profile_get_n_errors (profile), ==, 4);
  g_assert_nonnull (strstr (all, "p.cohort:3: Instances:"));
  g_assert_nonnull (strstr (all, "p.cohort:4: StopTimeout:"));
  g_assert_nonnull (strstr (all, "p.cohort:5: warning: unknown key Colour in [Cluster a]"));
  g_assert_nonnull (strstr (all, "p.cohort:6: [Cluster b] needs a Command"));
  g_assert_nonnull (strstr (all, "p.cohort:7: Restart:"));
}

static void
test_warnings_only (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortProfile) profile = load (f,
    "[Profile]\nName=W\nAuthor=me\n[Cluster a]\nCommand=true\nColour=blue\n"
    "Instances=2\nInstances=3\n[Extras]\nX=1\n", &error);
  g_autofree char *all = diagnostics (profile);

  g_assert_no_error (error);
  g_assert_cmpuint (cohort_profile_get_n_errors (profile), ==, 0);
  g_assert_nonnull (strstr (all, "p.cohort:3: warning: unknown key Author in [Profile]"));
  g_assert_nonnull (strstr (all, "p.cohort:6: warning: unknown key Colour"));
  g_assert_nonnull (strstr (all, "p.cohort:8: warning: Instances is set twice in [Cluster a] (first on line 7)"));
  g_assert_nonnull (strstr (all, "p.cohort:9: warning: unknown group [Extras]"));
  g_assert_cmpint (((CohortClusterSpec *) g_ptr_array_index (cohort_profile_get_clusters (profile), 0))->instances, ==, 3);
}

static void
test_missing_file (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autofree char *path = g_build_filename (f->dir, "absent.cohort", NULL);

  g_assert_false (cohort_profile_load_file (profile, path, &error));
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_READ);
  g_assert_true (g_str_has_suffix (error->message, "absent.cohort: cannot read: no such file"));
}

static void
test_folder (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autofree char *folder = g_build_filename (f->dir, "folder.cohort", NULL);

  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  g_assert_false (cohort_profile_load_file (profile, folder, &error));
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_READ);
  g_assert_true (g_str_has_suffix (error->message, "folder.cohort: cannot read: it is a folder"));
  g_assert_true (g_file_test (folder, G_FILE_TEST_IS_DIR));
}

/* A device (or a FIFO) is not read forever, nor waited on. */
static void
test_device (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autofree char *fifo = g_build_filename (f->dir, "fifo.cohort", NULL);

  g_assert_false (cohort_profile_load_file (profile, "/dev/zero", &error));
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_READ);
  g_assert_cmpstr (error->message, ==, "/dev/zero: cannot read: not a regular file");
  g_clear_error (&error);

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_false (cohort_profile_load_file (profile, fifo, &error));
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_READ);
  g_assert_true (g_str_has_suffix (error->message, "fifo.cohort: cannot read: not a regular file"));
}

static void
test_unreadable_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *after = NULL;

  if (g_test_subprocess ())
    {
      path = g_strdup (g_getenv ("COHORT_TEST_PROFILE"));
      /* root reads anything: act as nobody (the saved root id stays, to
       * come back and clean up). */
      g_assert_cmpint (setegid (65534), ==, 0);
      g_assert_cmpint (seteuid (65534), ==, 0);

      g_assert_false (cohort_profile_load_file (profile, path, &error));
      g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_READ);
      g_assert_cmpstr (error->message, ==, g_getenv ("COHORT_TEST_EXPECTED"));

      g_assert_cmpint (seteuid (0), ==, 0);
      g_assert_cmpint (setegid (0), ==, 0);
      return;
    }

  dir = cohort_test_make_dir ();
  path = g_build_filename (dir, "p.cohort", NULL);
  g_assert_true (g_file_set_contents (path, "[Cluster a]\nCommand=true\n", -1, NULL));
  g_assert_cmpint (g_chmod (path, 0), ==, 0);
  /* nobody may look in the folder, not read the file */
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);

  g_setenv ("COHORT_TEST_PROFILE", path, TRUE);
  expected = g_strconcat (path, ": cannot read: permission denied", NULL);
  g_setenv ("COHORT_TEST_EXPECTED", expected, TRUE);
  if (geteuid () == 0)
    {
      g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
    }
  else
    {
      g_assert_false (cohort_profile_load_file (profile, path, &error));
      g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_READ);
      g_assert_cmpstr (error->message, ==, g_getenv ("COHORT_TEST_EXPECTED"));
    }
  g_unsetenv ("COHORT_TEST_PROFILE");
  g_unsetenv ("COHORT_TEST_EXPECTED");

  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, "[Cluster a]\nCommand=true\n");
  cohort_test_remove_dir (dir);
}

static void
test_huge_file (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  gsize size = 10 * 1024 * 1024;
  g_autofree char *text = g_malloc (size);
  gint64 start;

  memset (text, '#', size);
  g_assert_true (g_file_set_contents (f->path, text, size, NULL));
  start = g_get_monotonic_time ();
  g_assert_false (cohort_profile_load_file (profile, f->path, &error));
  /* refused from its size, without reading it */
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC / 4);
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID);
  g_assert_true (g_str_has_suffix (error->message,
                                   "p.cohort: 10485760 bytes is too large for a profile (at most 1048576)"));
  g_assert_false (cohort_profile_save (profile, NULL, NULL));
}

static void
test_crlf (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortProfile) profile = load (f,
    "[Profile]\r\nName=Windows\r\n\r\n[Cluster a]\r\nCommand=run it\r\nInstances=2\r\n", &error);
  CohortClusterSpec *a;

  g_assert_no_error (error);
  g_assert_cmpuint (cohort_profile_get_n_diagnostics (profile), ==, 0);
  g_assert_cmpstr (cohort_profile_get_name (profile), ==, "Windows");
  a = g_ptr_array_index (cohort_profile_get_clusters (profile), 0);
  g_assert_cmpstr (a->argv[1], ==, "it");
  g_assert_cmpint (a->instances, ==, 2);
}

/* A profile named relative to the current folder ("cohort --check
 * web.cohort"): its folders resolve against that folder, absolute ones
 * stay as they are. */
static void
test_relative_path (void)
{
  g_autofree char *dir = cohort_test_make_dir ();
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *path = g_build_filename (dir, "rel.cohort", NULL);
  g_autofree char *sub = g_build_filename (dir, "sub", NULL);
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(GError) error = NULL;
  CohortClusterSpec *spec;

  g_assert_true (g_file_set_contents (path,
                                      "[Cluster a]\nCommand=true\nWorkingDirectory=sub\n"
                                      "[Cluster b]\nCommand=true\nWorkingDirectory=/\n", -1, NULL));
  g_assert_cmpint (g_chdir (dir), ==, 0);
  cohort_profile_load_file (profile, "rel.cohort", &error);
  g_assert_cmpint (g_chdir (cwd), ==, 0);
  g_assert_no_error (error);
  spec = g_ptr_array_index (cohort_profile_get_clusters (profile), 0);
  g_assert_cmpstr (spec->working_directory, ==, sub);
  spec = g_ptr_array_index (cohort_profile_get_clusters (profile), 1);
  g_assert_cmpstr (spec->working_directory, ==, "/");
  cohort_test_remove_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/Cohort/Profile/every-key", test_every_key);
  ADD ("/Cohort/Profile/name-from-file", test_name_from_file);
  ADD ("/Cohort/Profile/empty", test_empty_profile);
  ADD ("/Cohort/Profile/every-error-listed", test_every_error_listed);
  ADD ("/Cohort/Profile/warnings-only", test_warnings_only);
  ADD ("/Cohort/Profile/missing-file", test_missing_file);
  g_test_add_func ("/Cohort/Profile/unreadable-file", test_unreadable_file);
  g_test_add_func ("/Cohort/Profile/relative-path", test_relative_path);
  ADD ("/Cohort/Profile/folder", test_folder);
  ADD ("/Cohort/Profile/device", test_device);
  ADD ("/Cohort/Profile/huge-file", test_huge_file);
  ADD ("/Cohort/Profile/crlf", test_crlf);

  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/Cohort/Profile/bad/%s", bad_cases[i].name);

      g_test_add (path, Fixture, &bad_cases[i], fixture_setup, test_bad_profile, fixture_teardown);
    }

  return g_test_run ();
}
