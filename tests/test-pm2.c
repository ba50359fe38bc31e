/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-pm2.c: importing PM2 ecosystem files, from the fixtures in
 * tests/fixtures/pm2/ (written after PM2's documented schema) and from
 * files written on the spot. */

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>

#include "cohort-pm2.h"
#include "cohort-profile.h"
#include "cohort-test-util.h"
#include "cohort-trust.h"

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = cohort_test_make_dir ();
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  cohort_test_remove_dir (f->dir);
  g_free (f->dir);
}

static char *
fixture_path (const char *name)
{
  return g_build_filename (cohort_test_binary ("COHORT_FIXTURES"), "pm2", name, NULL);
}

static char *
write_file (Fixture    *f,
            const char *name,
            const char *text)
{
  char *path = g_build_filename (f->dir, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static gboolean
node_installed (void)
{
  g_autofree char *node = g_find_program_in_path ("node");

  return node != NULL;
}

static gboolean
have_node (void)
{
  if (!node_installed ())
    {
      g_test_skip ("node is not installed");
      return FALSE;
    }
  return TRUE;
}

/* The import of @path, which must succeed. */
static GPtrArray *
import_ok (const char  *path,
           GPtrArray  **warnings)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *specs = NULL;
  GPtrArray *local_warnings = NULL;

  g_assert_true (cohort_pm2_import (path, &specs, &local_warnings, &error));
  g_assert_no_error (error);
  g_assert_nonnull (specs);
  g_assert_nonnull (local_warnings);
  for (guint i = 0; i < local_warnings->len; i++)
    g_test_message ("warning: %s", (char *) local_warnings->pdata[i]);
  if (warnings != NULL)
    *warnings = local_warnings;
  else
    g_ptr_array_unref (local_warnings);
  return specs;
}

/* The message of the import of @path, which must fail. */
static char *
import_error (const char *path,
              int         code)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *specs = NULL;
  GPtrArray *warnings = NULL;
  char *message;

  g_assert_false (cohort_pm2_import (path, &specs, &warnings, &error));
  g_assert_error (error, COHORT_PM2_ERROR, code);
  g_assert_null (specs);
  g_assert_null (warnings);
  g_test_message ("error: %s", error->message);
  g_assert_null (strchr (error->message, '\n'));
  message = g_strdup (error->message);
  return message;
}

static CohortClusterSpec *
spec_at (GPtrArray *specs,
         guint      index)
{
  g_assert_cmpuint (index, <, specs->len);
  return g_ptr_array_index (specs, index);
}

static void
assert_strv (char       **actual,
             const char  *first,
             ...)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) expected = NULL;
  const char *item;
  va_list args;

  va_start (args, first);
  for (item = first; item != NULL; item = va_arg (args, const char *))
    g_strv_builder_add (builder, item);
  va_end (args);
  expected = g_strv_builder_end (builder);

  g_assert_cmpstrv (actual, expected);
}

/* How many warnings hold every one of the NULL-terminated words. */
static guint
count_warnings (GPtrArray  *warnings,
                const char *first,
                ...)
{
  guint count = 0;

  for (guint i = 0; i < warnings->len; i++)
    {
      const char *warning = warnings->pdata[i];
      gboolean all = TRUE;
      va_list args;

      va_start (args, first);
      for (const char *word = first; word != NULL; word = va_arg (args, const char *))
        all = all && strstr (warning, word) != NULL;
      va_end (args);
      count += all;
    }
  return count;
}

/* Every key as PM2 would have it when an app says nothing more. */
static void
assert_pm2_defaults (CohortClusterSpec *spec)
{
  g_assert_cmpint (spec->kind, ==, COHORT_CLUSTER_KIND_PROCESS);
  g_assert_null (spec->listen);
  g_assert_cmpint (spec->instances, ==, 1);
  g_assert_cmpint (spec->restart, ==, COHORT_RESTART_ALWAYS);
  g_assert_cmpuint (spec->restart_delay_ms, ==, 100);
  g_assert_cmpuint (spec->restart_delay_max_ms, ==, 15000);
  g_assert_cmpfloat (spec->min_uptime_s, ==, 1.0);
  g_assert_cmpuint (spec->max_restarts, ==, 15);
  g_assert_null (spec->stop_message);
  g_assert_cmpint (spec->stop_signal, ==, SIGINT);
  g_assert_cmpfloat (spec->stop_timeout_s, ==, 1.6);
  g_assert_cmpfloat (spec->ready_timeout_s, ==, 0);
  g_assert_cmpuint (spec->max_memory_mib, ==, 0);
}

static const char *
python_name (void)
{
  g_autofree char *python = g_find_program_in_path ("python");

  return python != NULL ? "python" : "python3";
}

/* Two apps setting every field Cohort maps. */
static void
test_every_field (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *path = fixture_path ("ecosystem.json");
  g_autofree char *folder = fixture_path (NULL);
  g_autofree char *jobs = fixture_path ("jobs");
  g_autofree char *app_js = fixture_path ("app.js");
  g_autofree char *worker_py = fixture_path ("jobs/worker.py");
  g_autofree char *api_command = NULL;
  g_autofree char *quoted_app = g_shell_quote (app_js);
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GPtrArray) specs = import_ok (path, &warnings);
  CohortClusterSpec *api;
  CohortClusterSpec *worker;

  g_assert_cmpuint (specs->len, ==, 2);

  api = spec_at (specs, 0);
  g_assert_cmpstr (api->name, ==, "api");
  assert_strv (api->argv, "node", "--max-old-space-size=256", "--title=\"api server\"", app_js,
               "--port", "8080", "two words", NULL);
  api_command = g_strdup_printf ("node --max-old-space-size=256 '--title=\"api server\"' %s "
                                 "--port 8080 'two words'",
                                 strpbrk (app_js, " '\"\\$") != NULL ? quoted_app : app_js);
  g_assert_cmpstr (api->command, ==, api_command);
  g_assert_cmpstr (api->working_directory, ==, folder);
  assert_strv (api->environment, "NODE_ENV=production", "PORT=8080", "VERBOSE=false",
               "GREETING=hello; world", NULL);
  g_assert_cmpint (api->instances, ==, COHORT_INSTANCES_MAX);
  g_assert_cmpint (api->channel, ==, COHORT_CHANNEL_NODE);
  g_assert_cmpint (api->restart, ==, COHORT_RESTART_ALWAYS);
  g_assert_cmpuint (api->max_restarts, ==, 9);
  g_assert_cmpfloat (api->min_uptime_s, ==, 5.0);
  g_assert_cmpuint (api->restart_delay_ms, ==, 200);
  g_assert_cmpuint (api->restart_delay_max_ms, ==, 15000);
  g_assert_cmpfloat (api->stop_timeout_s, ==, 5.0);
  g_assert_cmpint (api->stop_signal, ==, SIGINT);
  g_assert_cmpstr (api->stop_message, ==, "\"shutdown\"");
  g_assert_cmpfloat (api->ready_timeout_s, ==, 8.0);
  g_assert_cmpuint (api->max_memory_mib, ==, 300);
  g_assert_null (api->listen);

  worker = spec_at (specs, 1);
  g_assert_cmpstr (worker->name, ==, "jobs");
  assert_strv (worker->argv, "python3", "-X", "dev", worker_py,
               "--queue", "default", "--label=\"night shift\"", "two words", NULL);
  g_assert_cmpstr (worker->working_directory, ==, jobs);
  /* port wins over env.PORT, in its place; PM2 adds PYTHONUNBUFFERED */
  assert_strv (worker->environment, "PORT=9000", "QUEUE=default", "PYTHONUNBUFFERED=1", NULL);
  g_assert_cmpint (worker->instances, ==, 2);
  g_assert_cmpint (worker->channel, ==, COHORT_CHANNEL_AUTO);
  g_assert_cmpint (worker->restart, ==, COHORT_RESTART_NEVER);
  g_assert_cmpuint (worker->max_restarts, ==, 2);
  g_assert_cmpfloat (worker->min_uptime_s, ==, 2.0);
  g_assert_cmpuint (worker->restart_delay_ms, ==, 1500);
  g_assert_cmpuint (worker->restart_delay_max_ms, ==, 1500);
  g_assert_cmpfloat (worker->stop_timeout_s, ==, 3.0);
  g_assert_null (worker->stop_message);
  g_assert_cmpfloat (worker->ready_timeout_s, ==, 0);
  g_assert_cmpuint (worker->max_memory_mib, ==, 1024);

  /* Cluster mode, and a listen_timeout with nothing to wait for */
  g_assert_cmpuint (warnings->len, ==, 2);
  g_assert_cmpuint (count_warnings (warnings, "app “api”", "exec_mode cluster", "Listen=",
                                    "fd 3", NULL), ==, 1);
  g_assert_cmpuint (count_warnings (warnings, "app “jobs”", "listen_timeout", "wait_ready", NULL),
                    ==, 1);
}

static void
test_minimal (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *path = fixture_path ("minimal.json");
  g_autofree char *folder = fixture_path (NULL);
  g_autofree char *app_js = fixture_path ("app.js");
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GPtrArray) specs = import_ok (path, &warnings);
  CohortClusterSpec *spec = spec_at (specs, 0);

  g_assert_cmpuint (specs->len, ==, 1);
  g_assert_cmpuint (warnings->len, ==, 0);
  /* PM2 names an app after its script */
  g_assert_cmpstr (spec->name, ==, "app");
  assert_strv (spec->argv, "node", app_js, NULL);
  g_assert_cmpstr (spec->working_directory, ==, folder);
  assert_strv (spec->environment, NULL);
  g_assert_cmpint (spec->channel, ==, COHORT_CHANNEL_NODE);
  assert_pm2_defaults (spec);
}

static void
test_bare_array (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *path = fixture_path ("bare-array.json");
  g_autofree char *app_js = fixture_path ("app.js");
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GPtrArray) specs = import_ok (path, &warnings);

  g_assert_cmpuint (specs->len, ==, 2);
  g_assert_cmpstr (spec_at (specs, 0)->name, ==, "one");
  g_assert_cmpint (spec_at (specs, 0)->instances, ==, 1);
  g_assert_cmpstr (spec_at (specs, 1)->name, ==, "two");
  assert_strv (spec_at (specs, 1)->argv, "node", app_js, NULL);
  g_assert_cmpint (spec_at (specs, 1)->instances, ==, 3);
  /* instances with node and no exec_mode: PM2 picks cluster mode */
  g_assert_cmpuint (warnings->len, ==, 1);
  g_assert_cmpuint (count_warnings (warnings, "app “two”", "PM2 picks cluster mode", NULL), ==, 1);
}

static void
test_single_app (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *path = fixture_path ("single-app.json");
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GPtrArray) specs = import_ok (path, &warnings);

  g_assert_cmpuint (specs->len, ==, 1);
  g_assert_cmpstr (spec_at (specs, 0)->name, ==, "solo");
  /* stop_exit_codes [0]: no restart after a clean exit */
  g_assert_cmpint (spec_at (specs, 0)->restart, ==, COHORT_RESTART_ON_FAILURE);
  g_assert_cmpuint (warnings->len, ==, 0);
}

static void
test_config_js (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autofree char *app_js = fixture_path ("app.js");
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GPtrArray) specs = NULL;

  if (!have_node ())
    return;
  path = fixture_path ("ecosystem.config.js");
  specs = import_ok (path, &warnings);

  g_assert_cmpuint (specs->len, ==, 2);
  g_assert_cmpstr (spec_at (specs, 0)->name, ==, "svc-alpha");
  g_assert_cmpstr (spec_at (specs, 1)->name, ==, "svc-beta");
  assert_strv (spec_at (specs, 0)->argv, "node", app_js, NULL);
  g_assert_cmpint (spec_at (specs, 0)->instances, ==, 1);
  g_assert_cmpint (spec_at (specs, 1)->instances, ==, 2);
  assert_strv (spec_at (specs, 0)->environment, "SERVICE=ALPHA", "INDEX=0", NULL);
  assert_strv (spec_at (specs, 1)->environment, "SERVICE=BETA", "INDEX=1", NULL);
  g_assert_cmpfloat (spec_at (specs, 1)->stop_timeout_s, ==, 3.0);
  g_assert_cmpint (spec_at (specs, 1)->restart, ==, COHORT_RESTART_ALWAYS);
  g_assert_cmpuint (warnings->len, ==, 0);
}

static void
test_config_js_throws (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *message = NULL;

  if (!have_node ())
    return;
  path = fixture_path ("throws.config.js");
  message = import_error (path, COHORT_PM2_ERROR_SYNTAX);
  expected = g_strdup_printf ("%s:5: Error: DATABASE_URL is not set", path);
  g_assert_cmpstr (message, ==, expected);
}

static void
test_config_js_syntax (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *message = NULL;

  if (!have_node ())
    return;
  path = fixture_path ("syntax.config.js");
  message = import_error (path, COHORT_PM2_ERROR_SYNTAX);
  prefix = g_strdup_printf ("%s:3: SyntaxError: ", path);
  g_assert_true (g_str_has_prefix (message, prefix));
}

/* An evaluation that never ends is stopped after its time. */
static void
test_config_js_endless (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autofree char *message = NULL;
  gint64 start;
  double seconds;

  if (!have_node ())
    return;
  path = fixture_path ("endless.config.js");
  start = g_get_monotonic_time ();
  message = import_error (path, COHORT_PM2_ERROR_NODE);
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  g_assert_nonnull (strstr (message, "node took more than 10 s"));
  g_assert_cmpfloat (seconds, >=, COHORT_PM2_NODE_TIMEOUT_MS / 1000.0 - 0.5);
  g_assert_cmpfloat (seconds, <, COHORT_PM2_NODE_TIMEOUT_MS / 1000.0 + 10);
  g_assert_cmpuint (cohort_test_count_zombies (), ==, 0);
}

/* In a child of its own: PATH changes before any thread starts. */
static void
test_config_js_no_node (Fixture       *f,
                        gconstpointer  data)
{
  if (g_test_subprocess ())
    {
      g_autofree char *path = fixture_path ("ecosystem.config.js");
      g_autofree char *message = NULL;

      g_setenv ("PATH", f->dir, TRUE);
      message = import_error (path, COHORT_PM2_ERROR_NODE);
      g_assert_nonnull (strstr (message, "no node in PATH"));
      g_assert_true (g_str_has_prefix (message, path));
      return;
    }

  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_bad_json (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *path = fixture_path ("bad.json");
  g_autofree char *prefix = g_strdup_printf ("%s:3:", path);
  g_autofree char *message = import_error (path, COHORT_PM2_ERROR_SYNTAX);

  g_assert_true (g_str_has_prefix (message, prefix));
  g_assert_nonnull (strstr (message, "not valid JSON"));
}

static void
test_apps_not_array (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *path = fixture_path ("apps-not-array.json");
  g_autofree char *expected = g_strdup_printf ("%s: apps: expected an array of apps, got \"app.js\"",
                                               path);
  g_autofree char *message = import_error (path, COHORT_PM2_ERROR_INVALID);

  g_assert_cmpstr (message, ==, expected);
}

static void
test_no_script (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = fixture_path ("no-script.json");
  g_autofree char *expected = g_strdup_printf ("%s: app “ghost”: there is no script "
                                               "(the program to run)", path);
  g_autofree char *message = import_error (path, COHORT_PM2_ERROR_INVALID);

  g_assert_cmpstr (message, ==, expected);
}

/* Each field Cohort cannot map is a warning naming it; a field set to
 * what Cohort does anyway is not. */
static void
test_unsupported (Fixture       *f,
                  gconstpointer  data)
{
  static const char * const named[] = {
    "watch is not imported", "ignore_watch is not imported", "cron_restart is not imported",
    "merge_logs is not imported", "log_date_format is not imported", "out_file is not imported",
    "env_production is not imported", "instance_var INSTANCE_ID is not imported",
    "treekill is not imported", "uid is not imported", "favourite_colour is not a PM2 field",
  };
  g_autofree char *path = fixture_path ("unsupported.json");
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GPtrArray) specs = import_ok (path, &warnings);

  g_assert_cmpuint (specs->len, ==, 2);
  for (guint i = 0; i < G_N_ELEMENTS (named); i++)
    {
      g_autofree char *needle = g_strconcat ("app “legacy”: ", named[i], NULL);

      g_test_message ("looking for “%s”", needle);
      g_assert_cmpuint (count_warnings (warnings, needle, NULL), ==, 1);
    }
  g_assert_cmpuint (count_warnings (warnings, "deploy is not imported", NULL), ==, 1);
  g_assert_cmpuint (warnings->len, ==, G_N_ELEMENTS (named) + 1);
  g_assert_cmpuint (count_warnings (warnings, "app “quiet”", NULL), ==, 0);
  assert_pm2_defaults (spec_at (specs, 1));
}

/* The interpreter PM2 would pick. */
static void
test_interpreters (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *path = fixture_path ("interpreters.json");
  g_autofree char *run_sh = fixture_path ("run.sh");
  g_autofree char *worker_py = fixture_path ("jobs/worker.py");
  g_autofree char *server_mjs = fixture_path ("server.mjs");
  g_autofree char *app_js = fixture_path ("app.js");
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GPtrArray) specs = import_ok (path, &warnings);

  g_assert_cmpuint (specs->len, ==, 7);
  assert_strv (spec_at (specs, 0)->argv, "bash", run_sh, NULL);
  g_assert_cmpint (spec_at (specs, 0)->channel, ==, COHORT_CHANNEL_AUTO);
  assert_strv (spec_at (specs, 1)->argv, python_name (), worker_py, NULL);
  assert_strv (spec_at (specs, 1)->environment, "PYTHONUNBUFFERED=1", NULL);
  /* no extension PM2 knows, and not a binary: node */
  assert_strv (spec_at (specs, 2)->argv, "node", server_mjs, NULL);
  g_assert_cmpint (spec_at (specs, 2)->channel, ==, COHORT_CHANNEL_NODE);
  /* a binary found in PATH runs by itself, and is found there again */
  assert_strv (spec_at (specs, 3)->argv, "true", "--ignored-by-true", NULL);
  g_assert_cmpstr (spec_at (specs, 3)->command, ==, "true --ignored-by-true");
  assert_strv (spec_at (specs, 4)->argv, app_js, NULL);
  /* a script with a space is a bash command line */
  assert_strv (spec_at (specs, 5)->argv, "bash", "-c", "npm run start -- --port 3000", NULL);
  g_assert_cmpstr (spec_at (specs, 5)->command, ==, "bash -c 'npm run start -- --port 3000'");
  assert_strv (spec_at (specs, 6)->argv, "node", app_js, NULL);

  g_assert_cmpuint (warnings->len, ==, 2);
  g_assert_cmpuint (count_warnings (warnings, "app “line”", "bash -c", "args are not used", NULL),
                    ==, 1);
  g_assert_cmpuint (count_warnings (warnings, "app “pinned”", "node@18.20.0", NULL), ==, 1);
}

static void
test_names (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *path = fixture_path ("names.json");
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GPtrArray) specs = import_ok (path, &warnings);

  g_assert_cmpuint (specs->len, ==, 5);
  g_assert_cmpstr (spec_at (specs, 0)->name, ==, "my-api");
  g_assert_cmpstr (spec_at (specs, 1)->name, ==, "my-api-2");
  g_assert_cmpstr (spec_at (specs, 2)->name, ==, "api-v2");
  g_assert_cmpstr (spec_at (specs, 3)->name, ==, "worker");
  g_assert_cmpstr (spec_at (specs, 4)->name, ==, "-n-code");

  g_assert_cmpuint (count_warnings (warnings, "name “my api”", "it is my-api", NULL), ==, 2);
  g_assert_cmpuint (count_warnings (warnings, "named my-api already", "this one is my-api-2", NULL),
                    ==, 1);
  g_assert_cmpuint (count_warnings (warnings, "name “api:v2”", "it is api-v2", NULL), ==, 1);
  g_assert_cmpuint (count_warnings (warnings, "name “ünïcode”", "it is -n-code", NULL), ==, 1);
  g_assert_cmpuint (warnings->len, ==, 5);
}

/* Values PM2 itself refuses, one file each. */
static void
test_bad_values (Fixture       *f,
                 gconstpointer  data)
{
  static const struct {
    const char *app;
    const char *message;
  } cases[] = {
    { "\"instances\": \"lots\"", "instances: expected a whole number or \"max\", got \"lots\"" },
    { "\"instances\": 2.5", "instances: expected a whole number or \"max\", got 2.5" },
    { "\"exec_mode\": \"turbo\"", "exec_mode: expected cluster or fork, got “turbo”" },
    { "\"kill_timeout\": \"soon\"", "kill_timeout: expected milliseconds, got \"soon\"" },
    { "\"restart_delay\": -5", "restart_delay: expected milliseconds, got -5" },
    { "\"min_uptime\": \"5 minutes\"",
      "min_uptime: expected milliseconds, or a number followed by s, m or h, got \"5 minutes\"" },
    { "\"max_memory_restart\": \"1.5GB\"",
      "max_memory_restart: expected bytes, or a number followed by K, M or G, got \"1.5GB\"" },
    { "\"autorestart\": \"sometimes\"", "autorestart: expected true or false, got \"sometimes\"" },
    { "\"args\": {\"port\": 1}", "args: expected an array of strings or one string, got an object" },
    { "\"args\": [\"a\", null]", "args: item 2: expected a string, got null" },
    { "\"env\": [\"A=1\"]", "env: expected an object of NAME: value, got an array" },
    { "\"cwd\": 7", "cwd: expected a string, got 7" },
    { "\"maxMemoryRestart\": \"lots\"",
      "maxMemoryRestart: expected bytes, or a number followed by K, M or G, got \"lots\"" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"apps\": [{\"name\": \"bad\", \"script\": "
                                               "\"app.js\", %s}]}", cases[i].app);
      g_autofree char *path = write_file (f, "bad.json", text);
      g_autofree char *expected = g_strdup_printf ("%s: app “bad”: %s", path, cases[i].message);
      g_autofree char *message = import_error (path, COHORT_PM2_ERROR_INVALID);

      g_assert_cmpstr (message, ==, expected);
    }

  {
    g_autofree char *path = write_file (f, "x.json", "[42]");
    g_autofree char *expected = g_strdup_printf ("%s: app #1: expected an object ({\"script\": …}), "
                                                 "got 42", path);
    g_autofree char *message = import_error (path, COHORT_PM2_ERROR_INVALID);

    g_assert_cmpstr (message, ==, expected);
  }
  {
    g_autofree char *path = write_file (f, "x.json", "{\"apps\": []}");
    g_autofree char *message = import_error (path, COHORT_PM2_ERROR_INVALID);

    g_assert_nonnull (strstr (message, "there are no apps to import"));
  }
  {
    g_autofree char *path = write_file (f, "x.json", "{\"name\": \"x\"}");
    g_autofree char *message = import_error (path, COHORT_PM2_ERROR_INVALID);

    g_assert_nonnull (strstr (message, "not a PM2 ecosystem file"));
  }
  {
    g_autofree char *path = write_file (f, "x.json", "  \n");
    g_autofree char *message = import_error (path, COHORT_PM2_ERROR_SYNTAX);

    g_assert_nonnull (strstr (message, "empty"));
  }
  {
    g_autofree char *path = write_file (f, "ecosystem.yml", "apps: []\n");
    g_autofree char *message = import_error (path, COHORT_PM2_ERROR_READ);

    g_assert_nonnull (strstr (message, ".yml ecosystem files are not imported"));
  }
  {
    g_autofree char *path = g_build_filename (f->dir, "missing.json", NULL);
    g_autofree char *expected = g_strdup_printf ("%s: cannot read: no such file", path);
    g_autofree char *message = import_error (path, COHORT_PM2_ERROR_READ);

    g_assert_cmpstr (message, ==, expected);
  }
}

/* PM2's units and special counts. */
static void
test_units (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *app_js = fixture_path ("app.js");
  g_autofree char *text = g_strdup_printf (
    "{\"apps\": ["
    " {\"name\": \"a\", \"script\": \"%1$s\", \"min_uptime\": \"2m\", \"max_memory_restart\": \"1G\","
    "  \"instances\": -1, \"kill_timeout\": \"2500\", \"max_restarts\": 0},"
    " {\"name\": \"b\", \"script\": \"%1$s\", \"min_uptime\": \"1h\", \"max_memory_restart\": \"512K\","
    "  \"instances\": 0, \"exec_mode\": \"fork\", \"kill_timeout\": 0, \"wait_ready\": true},"
    " {\"name\": \"c\", \"script\": \"%1$s\", \"min_uptime\": \"1500\", \"max_memory_restart\": 104857600,"
    "  \"instances\": \"4\", \"exec_mode\": \"fork\", \"wait_ready\": true, \"listen_timeout\": 0,"
    "  \"restart_delay\": 500, \"exp_backoff_restart_delay\": 100, \"stop_exit_codes\": [0, 3],"
    "  \"max_restarts\": 1}"
    "]}", app_js);
  g_autofree char *path = write_file (f, "units.json", text);
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GPtrArray) specs = import_ok (path, &warnings);
  CohortClusterSpec *a = spec_at (specs, 0);
  CohortClusterSpec *b = spec_at (specs, 1);
  CohortClusterSpec *c = spec_at (specs, 2);
  int cpus = (int) g_get_num_processors ();

  g_assert_cmpfloat (a->min_uptime_s, ==, 120);
  g_assert_cmpuint (a->max_memory_mib, ==, 1024);
  g_assert_cmpint (a->instances, ==, MAX (1, cpus - 1));
  g_assert_cmpfloat (a->stop_timeout_s, ==, 2.5);
  /* max_restarts 0: PM2 restarts nothing */
  g_assert_cmpint (a->restart, ==, COHORT_RESTART_NEVER);

  g_assert_cmpfloat (b->min_uptime_s, ==, 3600);
  g_assert_cmpuint (b->max_memory_mib, ==, 1);
  g_assert_cmpint (b->instances, ==, COHORT_INSTANCES_MAX);
  g_assert_cmpfloat (b->stop_timeout_s, ==, 0.001);
  /* PM2's listen_timeout default */
  g_assert_cmpfloat (b->ready_timeout_s, ==, 3.0);

  g_assert_cmpfloat (c->min_uptime_s, ==, 1.5);
  g_assert_cmpuint (c->max_memory_mib, ==, 100);
  g_assert_cmpint (c->instances, ==, 4);
  g_assert_cmpfloat (c->ready_timeout_s, ==, 3.0);
  g_assert_cmpuint (c->restart_delay_ms, ==, 100);
  g_assert_cmpuint (c->restart_delay_max_ms, ==, 15000);
  g_assert_cmpint (c->restart, ==, COHORT_RESTART_ON_FAILURE);
  g_assert_cmpuint (c->max_restarts, ==, 0);

  g_assert_cmpuint (count_warnings (warnings, "app “a”", "instances -1", "one per CPU but 1", NULL),
                    ==, 1);
  g_assert_cmpuint (count_warnings (warnings, "app “a”", "PM2 picks cluster mode", NULL), ==, 1);
  g_assert_cmpuint (count_warnings (warnings, "app “b”", "524288 bytes become 1 MiB", NULL), ==, 1);
  g_assert_cmpuint (count_warnings (warnings, "app “b”", "kill_timeout: 0 ms", "1 ms it is", NULL),
                    ==, 1);
  g_assert_cmpuint (count_warnings (warnings, "app “c”", "restart_delay is not used", NULL), ==, 1);
  g_assert_cmpuint (count_warnings (warnings, "app “c”", "stop_exit_codes", "after 3 it restarts",
                                    NULL), ==, 1);
  g_assert_cmpuint (warnings->len, ==, 6);
}

/* A string of arguments split as PM2's Config.js splits it. */
static void
test_args_split (Fixture       *f,
                 gconstpointer  data)
{
  static const struct {
    const char *args;
    const char *words[6];
  } cases[] = {
    { "a  b\tc", { "a", "b", "c" } },
    { "--name=\"x y\" 'p q' \"r s\"", { "--name=\"x y\"", "p q", "r s" } },
    { "k='v w' \"\" ' ' end", { "k='v w'", "end" } },
    { "a\"b c\"", { "a\"b", "c\"" } },
    { "\"unclosed here", { "\"unclosed", "here" } },
    { "\"ab\"cd", { "ab", "cd" } },
    { "", { NULL } },
  };
  g_autofree char *app_js = fixture_path ("app.js");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) args = json_node_init_string (json_node_alloc (), cases[i].args);
      g_autofree char *args_json = json_to_string (args, FALSE);
      g_autofree char *text = g_strdup_printf ("{\"script\": \"%s\", \"interpreter\": \"none\", "
                                               "\"args\": %s}", app_js, args_json);
      g_autofree char *path = write_file (f, "args.json", text);
      g_autoptr(GPtrArray) specs = import_ok (path, NULL);
      CohortClusterSpec *spec = spec_at (specs, 0);
      guint n = 0;

      g_test_message ("args %s", args_json);
      while (n < G_N_ELEMENTS (cases[i].words) && cases[i].words[n] != NULL)
        n++;
      g_assert_cmpuint (g_strv_length (spec->argv), ==, n + 1);
      g_assert_cmpstr (spec->argv[0], ==, app_js);
      for (guint j = 0; j < n; j++)
        g_assert_cmpstr (spec->argv[j + 1], ==, cases[i].words[j]);
    }
}

/* Paths relative to the file's folder, quoted in Command= as needed;
 * camelCase spellings and aliases. */
static void
test_paths_and_aliases (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *sub = g_build_filename (f->dir, "my app's", NULL);
  g_autofree char *script = g_build_filename (sub, "server.js", NULL);
  g_autofree char *expected_command = NULL;
  g_autofree char *quoted = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GPtrArray) specs = NULL;
  g_auto(GStrv) argv = NULL;
  CohortClusterSpec *spec;

  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_assert_true (g_file_set_contents (script, "// js\n", -1, NULL));
  path = write_file (f, "eco.json",
                     "{\"apps\": [{\"name\": \"web\", \"cmd\": \"server.js\", \"cwd\": \"my app's\","
                     " \"interpreter\": \"node\", \"execInterpreter\": \"nodejs\","
                     " \"nodeArgs\": [\"--inspect\"], \"killTimeout\": 4000, \"maxMemoryRestart\": \"64M\","
                     " \"execMode\": \"fork\", \"args\": [\"$HOME\", \"\", \"*\"], \"shutdownWithMessage\": true}]}");
  specs = import_ok (path, &warnings);
  spec = spec_at (specs, 0);

  g_assert_cmpstr (spec->working_directory, ==, sub);
  /* exec_interpreter's alias outranks its camelCase spelling */
  assert_strv (spec->argv, "node", "--inspect", script, "$HOME", "", "*", NULL);
  quoted = g_shell_quote (script);
  expected_command = g_strdup_printf ("node --inspect %s '$HOME' '' '*'", quoted);
  g_assert_cmpstr (spec->command, ==, expected_command);
  g_assert_true (g_shell_parse_argv (spec->command, NULL, &argv, NULL));
  g_assert_cmpstrv (argv, spec->argv);
  g_assert_cmpfloat (spec->stop_timeout_s, ==, 4.0);
  g_assert_cmpuint (spec->max_memory_mib, ==, 64);
  g_assert_cmpstr (spec->stop_message, ==, "\"shutdown\"");
  g_assert_cmpuint (warnings->len, ==, 1);
  g_assert_cmpuint (count_warnings (warnings, "interpreter and execInterpreter are the same field",
                                    "interpreter counts", NULL), ==, 1);
}

static void
test_profile_name (Fixture       *f,
                   gconstpointer  data)
{
  static const char * const cases[][2] = {
    { "/a/ecosystem.config.js", "ecosystem" },
    { "ecosystem.config.cjs", "ecosystem" },
    { "dir/ecosystem.json", "ecosystem" },
    { "pm2.prod.json", "pm2.prod" },
    { "apps", "apps" },
    { ".json", ".json" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = cohort_pm2_profile_name (cases[i][0]);

      g_assert_cmpstr (name, ==, cases[i][1]);
    }
}

/* Import, write, load: no diagnostic at all, and the same clusters. */
static void
test_round_trip (Fixture       *f,
                 gconstpointer  data)
{
  static const char * const names[] = {
    "ecosystem.json", "minimal.json", "bare-array.json", "single-app.json", "unsupported.json",
    "interpreters.json", "names.json", "ecosystem.config.js", "tricky.json",
  };
  g_autofree char *app_js = fixture_path ("app.js");
  g_autofree char *tricky_text = g_strdup_printf (
    "{\"apps\": [{\"name\": \"tricky\", \"script\": \"%s\", \"exec_mode\": \"fork\","
    " \"args\": [\"semi;colon\", \"new\\nline\", \"back\\\\slash\", \" lead\", \"#hash\", \"\"],"
    " \"env\": {\"SEMI\": \"a;b\", \"LEAD\": \"  two spaces\", \"EQ\": \"x=y\", \"NL\": \"1\\n2\","
    "  \"BS\": \"c:\\\\dir\", \"EMPTY\": \"\", \"UTF\": \"ünï ☃\", \"TRAIL\": \"t \"},"
    " \"kill_timeout\": 1234.5, \"min_uptime\": 1, \"max_memory_restart\": 1}]}", app_js);
  g_autofree char *tricky = write_file (f, "tricky.json", tricky_text);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_str_equal (names[i], "tricky.json") ? g_strdup (tricky)
                                                                     : fixture_path (names[i]);
      g_autofree char *output = g_build_filename (f->dir, "out.cohort", NULL);
      g_autofree char *profile_name = cohort_pm2_profile_name (path);
      g_autoptr(GPtrArray) specs = NULL;
      g_autoptr(GPtrArray) warnings = NULL;
      g_autoptr(CohortProfile) profile = cohort_profile_new ();
      g_autoptr(GError) error = NULL;
      GPtrArray *clusters;
      guint n = 0;

      if (g_str_has_suffix (names[i], ".js") && !node_installed ())
        continue;
      g_test_message ("%s", names[i]);
      specs = import_ok (path, NULL);
      g_assert_true (cohort_pm2_convert (path, output, &warnings, &n, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (n, ==, specs->len);

      g_assert_true (cohort_profile_load_file (profile, output, &error));
      g_assert_no_error (error);
      for (guint j = 0; j < cohort_profile_get_n_diagnostics (profile); j++)
        g_test_message ("%s", cohort_profile_get_diagnostic (profile, j)->message);
      g_assert_cmpuint (cohort_profile_get_n_diagnostics (profile), ==, 0);
      g_assert_cmpstr (cohort_profile_get_name (profile), ==, profile_name);

      clusters = cohort_profile_get_clusters (profile);
      g_assert_cmpuint (clusters->len, ==, specs->len);
      for (guint j = 0; j < specs->len; j++)
        {
          CohortClusterSpec *imported = g_ptr_array_index (specs, j);
          CohortClusterSpec *loaded = g_ptr_array_index (clusters, j);

          g_assert_cmpstr (loaded->name, ==, imported->name);
          g_assert_cmpstrv (loaded->argv, imported->argv);
          g_assert_cmpstrv (loaded->environment, imported->environment);
          g_assert_cmpstr (loaded->working_directory, ==, imported->working_directory);
          g_assert_cmpstr (loaded->stop_message, ==, imported->stop_message);
          g_assert_cmpfloat (loaded->stop_timeout_s, ==, imported->stop_timeout_s);
          g_assert_true (cohort_cluster_spec_equal (loaded, imported));
        }
    }
}

/* An ecosystem file may come from anywhere (a cloned repository): the
 * profile made from it is not one the user wrote, and opening it asks
 * before anything starts, even where Cohort had saved a profile before. */
static void
test_import_untrusted (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *ecosystem = write_file (f, "ecosystem.json",
                                           "{\"apps\": [{\"name\": \"web\", \"script\": \"./run.sh\"}]}");
  g_autofree char *output = g_build_filename (f->dir, "out.cohort", NULL);
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gsize length;

  /* Saved by Cohort: trusted. */
  g_assert_true (cohort_profile_save (profile, output, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_profile_load_file (profile, output, NULL));
  g_assert_true (cohort_profile_get_trusted (profile));

  g_assert_true (cohort_pm2_convert (ecosystem, output, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (output, &text, &length, NULL));
  g_assert_false (cohort_trust_check (output, text, length));
  g_assert_true (cohort_profile_load_file (profile, output, &error));
  g_assert_no_error (error);
  g_assert_false (cohort_profile_get_trusted (profile));
  g_assert_cmpuint (cohort_profile_get_clusters (profile)->len, ==, 1);

  /* Nor through the command line. */
  g_unlink (output);
  {
    const char *argv[] = { cohort_test_binary ("COHORT_BIN"), "--import", ecosystem, "-o", output, NULL };

    g_assert_cmpint (cohort_test_run (argv, NULL, NULL, 30000), ==, 0);
  }
  g_assert_true (cohort_profile_load_file (profile, output, &error));
  g_assert_no_error (error);
  g_assert_false (cohort_profile_get_trusted (profile));
}

/* The real binary: warnings on stderr and exit 0, a profile --check
 * finds nothing to say about; an error is one line, exit 2, and the
 * output as it was. */
static void
test_command_line (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *good = fixture_path ("ecosystem.json");
  g_autofree char *bad = fixture_path ("bad.json");
  g_autofree char *output = g_build_filename (f->dir, "imported.cohort", NULL);
  g_autofree char *expected_out = g_strdup_printf ("%s: 2 apps imported into %s\n", good, output);
  g_autofree char *warning_prefix = g_strdup_printf ("%s: warning: app ", good);
  g_autofree char *error_prefix = g_strdup_printf ("%s:3:", bad);
  g_autofree char *saved = NULL;
  const char *cohort = cohort_test_binary ("COHORT_BIN");

  {
    const char *argv[] = { cohort, "--import", good, "-o", output, NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_auto(GStrv) lines = NULL;

    g_assert_cmpint (cohort_test_run (argv, &out, &err, 30000), ==, 0);
    g_assert_cmpstr (out, ==, expected_out);
    lines = g_strsplit (err, "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 3);
    g_assert_true (g_str_has_prefix (lines[0], warning_prefix));
    g_assert_true (g_str_has_prefix (lines[1], warning_prefix));
    g_assert_cmpstr (lines[2], ==, "");
  }
  {
    const char *argv[] = { cohort, "--check", output, NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    g_assert_cmpint (cohort_test_run (argv, &out, &err, 30000), ==, 0);
    g_assert_cmpstr (err, ==, "");
    g_assert_nonnull (strstr (out, "OK, profile “ecosystem” with 2 clusters"));
  }

  g_assert_true (g_file_get_contents (output, &saved, NULL, NULL));
  {
    const char *argv[] = { cohort, "--import", bad, "--output", output, NULL };
    g_autofree char *err = NULL;
    g_autofree char *after = NULL;

    g_assert_cmpint (cohort_test_run (argv, NULL, &err, 30000), ==, 2);
    g_assert_true (g_str_has_prefix (err, error_prefix));
    g_assert_cmpint (strchr (err, '\n') - err, ==, strlen (err) - 1);
    g_assert_true (g_file_get_contents (output, &after, NULL, NULL));
    g_assert_cmpstr (after, ==, saved);
  }
  {
    const char *argv[] = { cohort, "--import", good, NULL };
    g_autofree char *err = NULL;

    g_assert_cmpint (cohort_test_run (argv, NULL, &err, 30000), ==, 2);
    g_assert_cmpstr (err, ==, "cohort: --import needs -o FILE.cohort, the profile to write\n");
  }
  {
    const char *argv[] = { cohort, "-o", output, NULL };
    g_autofree char *err = NULL;

    g_assert_cmpint (cohort_test_run (argv, NULL, &err, 30000), ==, 2);
    g_assert_cmpstr (err, ==, "cohort: -o goes with --import\n");
  }
  {
    g_autofree char *copy = write_file (f, "eco.json", "{\"apps\": [{\"script\": \"app.js\"}]}");
    const char *argv[] = { cohort, "--import", copy, "-o", copy, NULL };
    g_autofree char *err = NULL;
    g_autofree char *after = NULL;

    g_assert_cmpint (cohort_test_run (argv, NULL, &err, 30000), ==, 2);
    g_assert_nonnull (strstr (err, "would replace the ecosystem file"));
    g_assert_true (g_file_get_contents (copy, &after, NULL, NULL));
    g_assert_cmpstr (after, ==, "{\"apps\": [{\"script\": \"app.js\"}]}");
  }
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *data_home = NULL;
  int status;

  /* Trust is recorded in a folder of the test's, not the user's own,
   * also for the cohort binary the tests run. */
  data_home = cohort_test_make_dir ();
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);

  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/Cohort/PM2/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("every-field", test_every_field);
  ADD ("minimal", test_minimal);
  ADD ("bare-array", test_bare_array);
  ADD ("single-app", test_single_app);
  ADD ("config-js", test_config_js);
  ADD ("config-js-throws", test_config_js_throws);
  ADD ("config-js-syntax", test_config_js_syntax);
  ADD ("config-js-endless", test_config_js_endless);
  ADD ("config-js-no-node", test_config_js_no_node);
  ADD ("bad-json", test_bad_json);
  ADD ("apps-not-array", test_apps_not_array);
  ADD ("no-script", test_no_script);
  ADD ("unsupported", test_unsupported);
  ADD ("interpreters", test_interpreters);
  ADD ("names", test_names);
  ADD ("bad-values", test_bad_values);
  ADD ("units", test_units);
  ADD ("args-split", test_args_split);
  ADD ("paths-and-aliases", test_paths_and_aliases);
  ADD ("profile-name", test_profile_name);
  ADD ("round-trip", test_round_trip);
  ADD ("import-untrusted", test_import_untrusted);
  ADD ("command-line", test_command_line);

#undef ADD

  status = g_test_run ();
  cohort_test_remove_dir (data_home);
  return status;
}
