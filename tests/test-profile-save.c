/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-profile-save.c: editing profiles while keeping what was written by
 * hand, saving them atomically, and trusting what Cohort saved itself. */

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cohort-profile.h"
#include "cohort-test-util.h"
#include "cohort-trust.h"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *store = g_build_filename (g_get_user_data_dir (), "cohort", "trusted-profiles", NULL);

  f->dir = cohort_test_make_dir ();
  f->path = g_build_filename (f->dir, "p.cohort", NULL);
  /* Each test starts having saved nothing. */
  g_unlink (store);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  cohort_test_remove_dir (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static void
write_file (const char *path,
            const char *text)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static char *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static CohortProfile *
load_text (Fixture    *f,
           const char *text)
{
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(GError) error = NULL;

  write_file (f->path, text);
  cohort_profile_load_file (profile, f->path, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&profile);
}

static CohortClusterSpec *
get_cluster (CohortProfile *profile,
             const char    *name)
{
  GPtrArray *clusters = cohort_profile_get_clusters (profile);

  g_assert_nonnull (clusters);
  for (guint i = 0; i < clusters->len; i++)
    {
      CohortClusterSpec *spec = g_ptr_array_index (clusters, i);

      if (g_str_equal (spec->name, name))
        return spec;
    }
  g_assert_not_reached ();
}

static void
assert_text (CohortProfile *profile,
             const char    *expected)
{
  g_autofree char *text = cohort_profile_to_data (profile, NULL);

  g_assert_cmpstr (text, ==, expected);
}

/* Key by key, so that a difference names the key. */
static void
assert_same_spec (const CohortClusterSpec *a,
                  const CohortClusterSpec *b)
{
  const char * const *keys = cohort_cluster_spec_list_keys (a->kind);

  g_assert_cmpstr (a->name, ==, b->name);
  g_assert_cmpint (a->kind, ==, b->kind);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autofree char *text_a = cohort_cluster_spec_value_text (a, keys[i]);
      g_autofree char *text_b = cohort_cluster_spec_value_text (b, keys[i]);

      g_test_message ("%s: %s / %s", keys[i], text_a, text_b);
      g_assert_cmpstr (text_a, ==, text_b);
    }
  g_assert_true (cohort_cluster_spec_equal (a, b));
}

static guint
count_temporaries (const char *dir)
{
  g_autoptr(GDir) folder = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (folder);
  while ((name = g_dir_read_name (folder)) != NULL)
    n += name[0] == '.';
  return n;
}

/* Load, then write back without an edit */

static const struct {
  const char *name;
  const char *text;
} odd_files[] = {
  { "crlf", "[Profile]\r\nName=Windows\r\n\r\n[Cluster a]\r\nCommand=true\r\nInstances=2\r\n" },
  { "no-final-newline", "[Cluster a]\nCommand=true\nInstances=max" },
  { "blank-lines", "\n\n[Cluster a]\n\n\nCommand=true\n\n\n" },
  { "comments-everywhere",
    "# top\n#\n[Profile] \n# in profile\nName=C\n  # indented\n[Cluster a]\n#x\nCommand=true\n# end\n# end 2" },
  { "unknown-keys-and-groups",
    "[Profile]\nName=U\nAuthor=me\n[Extras]\nX=1\n[Cluster a]\nCommand=true\nColour=blue\nName[de]=x\n" },
  { "spacing", "[Cluster a]\n  Command =   true  \n\tInstances\t=\t3\n" },
  { "empty", "" },
  { "only-comments", "# nothing yet\n" },
  { "with-errors", "[Cluster a]\nInstances=lots\n" },
};

static void
test_unchanged_odd (Fixture       *f,
                    gconstpointer  data)
{
  for (guint i = 0; i < G_N_ELEMENTS (odd_files); i++)
    {
      g_autoptr(CohortProfile) profile = cohort_profile_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;
      g_autofree char *saved = NULL;
      gsize length = 0;

      g_test_message ("%s", odd_files[i].name);
      write_file (f->path, odd_files[i].text);
      cohort_profile_load_file (profile, f->path, NULL);
      text = cohort_profile_to_data (profile, &length);
      g_assert_cmpstr (text, ==, odd_files[i].text);
      g_assert_cmpuint (length, ==, strlen (odd_files[i].text));

      g_unlink (f->path);
      cohort_profile_save (profile, NULL, &error);
      g_assert_no_error (error);
      saved = read_file (f->path);
      g_assert_cmpstr (saved, ==, odd_files[i].text);
    }
}

static void
test_unchanged_demo (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *demo = read_file (cohort_test_binary ("COHORT_DEMO_PROFILE"));
  g_autofree char *text = NULL;
  g_autofree char *saved = NULL;

  cohort_profile_load_file (profile, cohort_test_binary ("COHORT_DEMO_PROFILE"), &error);
  g_assert_no_error (error);
  text = cohort_profile_to_data (profile, NULL);
  g_assert_cmpstr (text, ==, demo);

  cohort_profile_save (profile, f->path, &error);
  g_assert_no_error (error);
  saved = read_file (f->path);
  g_assert_cmpstr (saved, ==, demo);
  g_assert_cmpstr (cohort_profile_get_path (profile), ==, f->path);
}

/* Every key, written and read back */

static void
put_save_load (Fixture           *f,
               CohortClusterSpec *spec)
{
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(CohortProfile) again = cohort_profile_new ();
  g_autoptr(GError) error = NULL;
  CohortClusterSpec *loaded;

  cohort_profile_put_cluster (profile, NULL, spec, &error);
  g_assert_no_error (error);
  cohort_profile_save (profile, f->path, &error);
  g_assert_no_error (error);

  cohort_profile_load_file (again, f->path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cohort_profile_get_n_diagnostics (again), ==, 0);
  loaded = get_cluster (again, spec->name);
  assert_same_spec (spec, loaded);
  if (spec->argv != NULL)
    g_assert_cmpstrv (loaded->argv, spec->argv);
}

static void
test_round_trip_process (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(CohortClusterSpec) spec = cohort_cluster_spec_new ("every-key", COHORT_CLUSTER_KIND_PROCESS);
  g_autoptr(CohortClusterSpec) other = cohort_cluster_spec_new ("other_one.2", COHORT_CLUSTER_KIND_PROCESS);
  g_autofree char *text = NULL;
  const char *environment[] = { "A=1", "SEMI=a;b", "SLASH=c\\d", " LEAD=x", NULL };

  /* Every value unlike the default, some of them hard to write. */
  spec->command = g_strdup ("server --name 'two words' \"x\\\\y\" tab\\\there");
  g_assert_true (g_shell_parse_argv (spec->command, NULL, &spec->argv, NULL));
  spec->working_directory = g_build_filename (f->dir, "work dir", NULL);
  g_strfreev (spec->environment);
  spec->environment = g_strdupv ((char **) environment);
  spec->listen = g_strdup ("127.0.0.1:8081");
  spec->instances = 7;
  spec->channel = COHORT_CHANNEL_NDJSON;
  spec->restart = COHORT_RESTART_ALWAYS;
  spec->restart_delay_ms = 250;
  spec->restart_delay_max_ms = 4000;
  spec->min_uptime_s = 2.5;
  spec->max_restarts = 3;
  g_free (spec->stop_message);
  spec->stop_message = g_strdup ("{\"cmd\":\"stop\",\"text\":\"a\\nb\\\\\"}");
  spec->stop_signal = SIGINT;
  spec->stop_timeout_s = 0.25;
  spec->ready_timeout_s = 3;
  spec->max_memory_mib = 256;
  for (guint i = 0; cohort_cluster_spec_list_keys (COHORT_CLUSTER_KIND_PROCESS)[i] != NULL; i++)
    {
      const char *key = cohort_cluster_spec_list_keys (COHORT_CLUSTER_KIND_PROCESS)[i];
      g_autofree char *value = cohort_cluster_spec_format_value (spec, key);

      /* Kind=process is the default; every other key needs writing. */
      if (!g_str_equal (key, "Kind"))
        g_assert_nonnull (value);
    }
  put_save_load (f, spec);

  /* The other spellings: max, an empty StopMessage, a signal by number,
   * a fraction that needs more digits. */
  other->command = g_strdup ("/bin/true");
  other->instances = COHORT_INSTANCES_MAX;
  g_clear_pointer (&other->stop_message, g_free);
  other->stop_signal = 40;
  other->channel = COHORT_CHANNEL_NONE;
  other->restart = COHORT_RESTART_NEVER;
  other->min_uptime_s = 0.1;
  other->stop_timeout_s = 1.0 / 3;
  put_save_load (f, other);

  text = read_file (f->path);
  g_assert_cmpstr (text, ==,
                   "[Cluster other_one.2]\n"
                   "Kind=process\n"
                   "Command=/bin/true\n"
                   "Instances=max\n"
                   "Channel=none\n"
                   "Restart=never\n"
                   "MinUptime=0.1\n"
                   "StopMessage=\n"
                   "StopSignal=40\n"
                   "StopTimeout=0.3333333333333333\n");
}

static void
test_round_trip_threads (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(CohortClusterSpec) spec = cohort_cluster_spec_new ("hashing", COHORT_CLUSTER_KIND_THREADS);
  g_autoptr(CohortClusterSpec) quiet = cohort_cluster_spec_new ("on-demand", COHORT_CLUSTER_KIND_THREADS);
  g_autofree char *text = NULL;

  spec->task = g_strdup ("primes");
  spec->instances = COHORT_INSTANCES_MAX;
  g_free (spec->arguments);
  spec->arguments = g_strdup ("{\"below\":1000}");
  spec->repeat = TRUE;
  spec->task_timeout_s = 1.5;
  put_save_load (f, spec);
  text = read_file (f->path);
  g_assert_cmpstr (text, ==,
                   "[Cluster hashing]\n"
                   "Kind=threads\n"
                   "Task=primes\n"
                   "Threads=max\n"
                   "Arguments={\"below\":1000}\n"
                   "Repeat=true\n"
                   "TaskTimeout=1.5\n");

  /* Tasks as messages only: nothing but Kind and Threads to write. */
  quiet->instances = 3;
  put_save_load (f, quiet);
  g_free (text);
  text = read_file (f->path);
  g_assert_cmpstr (text, ==, "[Cluster on-demand]\nKind=threads\nThreads=3\n");
}

/* Editing */

/* A profile written by hand, in three parts that edits leave alone. */
#define SHOP_HEAD \
  "# Shop: run by hand since 2019\n" \
  "[Profile]\n" \
  "Name=Shop\n" \
  "Owner=ops\n" \
  "\n"
#define SHOP_WEB_TOP \
  "# the web front\n" \
  "[Cluster web]\n" \
  "Kind=process\n" \
  "# keep it explicit\n"
#define SHOP_JOBS \
  "\n" \
  "\t# indented comment\n" \
  "[Cluster jobs]\n" \
  "Kind=threads\n" \
  "Task=sum\n" \
  "Arguments={\"n\": 1000}\n"

static const char shop[] =
  SHOP_HEAD
  SHOP_WEB_TOP
  "Command=node server.js\n"
  "Instances = max\n"
  "Colour=blue\n"
  "StopTimeout=10\n"
  SHOP_JOBS;

static void
test_edit_values (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load_text (f, shop);
  g_autoptr(CohortClusterSpec) spec = cohort_cluster_spec_copy (get_cluster (profile, "web"));
  g_autoptr(GError) error = NULL;
  CohortClusterSpec *jobs = get_cluster (profile, "jobs");
  GPtrArray *clusters = cohort_profile_get_clusters (profile);

  /* One changed, two new; the rest stays as written. */
  g_free (spec->command);
  spec->command = g_strdup ("node server.js --port 3000");
  spec->restart = COHORT_RESTART_ALWAYS;
  spec->max_memory_mib = 512;
  g_assert_true (cohort_profile_put_cluster (profile, "web", spec, &error));
  g_assert_no_error (error);
  assert_text (profile,
               SHOP_HEAD
               SHOP_WEB_TOP
               "Command=node server.js --port 3000\n"
               "Instances = max\n"
               "Colour=blue\n"
               "StopTimeout=10\n"
               "Restart=always\n"
               "MaxMemory=512\n"
               SHOP_JOBS);

  /* The list follows, in file order (the same array, so that a caller's
   * pointer stays good); the untouched cluster is the same spec. */
  g_assert_true (cohort_profile_get_clusters (profile) == clusters);
  g_assert_cmpuint (clusters->len, ==, 2);
  assert_same_spec (g_ptr_array_index (clusters, 0), spec);
  g_assert_cmpstr (((CohortClusterSpec *) g_ptr_array_index (clusters, 0))->argv[3], ==, "3000");
  g_assert_true (g_ptr_array_index (clusters, 1) == jobs);

  /* A value back to its default stays written; the text before the
   * value (“Instances = ”) is kept. */
  spec->instances = 4;
  spec->stop_timeout_s = 5;
  g_assert_true (cohort_profile_put_cluster (profile, "web", spec, &error));
  spec->stop_timeout_s = 10;
  spec->max_memory_mib = 0;
  g_assert_true (cohort_profile_put_cluster (profile, "web", spec, &error));
  g_assert_no_error (error);
  assert_text (profile,
               SHOP_HEAD
               SHOP_WEB_TOP
               "Command=node server.js --port 3000\n"
               "Instances = 4\n"
               "Colour=blue\n"
               "StopTimeout=10\n"
               "Restart=always\n"
               "MaxMemory=0\n"
               SHOP_JOBS);

  /* Unchanged JSON keeps its spacing; changed, it is written compact. */
  {
    g_autoptr(CohortClusterSpec) threads = cohort_cluster_spec_copy (jobs);

    threads->instances = 2;
    g_assert_true (cohort_profile_put_cluster (profile, "jobs", threads, &error));
    g_assert_no_error (error);
    g_free (threads->arguments);
    threads->arguments = g_strdup ("{\"n\":5}");
    g_assert_true (cohort_profile_put_cluster (profile, "jobs", threads, &error));
    g_assert_no_error (error);
  }
  {
    g_autofree char *text = cohort_profile_to_data (profile, NULL);

    g_assert_true (g_str_has_suffix (text, "[Cluster jobs]\nKind=threads\nTask=sum\n"
                                           "Arguments={\"n\":5}\nThreads=2\n"));
  }
}

static void
test_edit_crlf (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load_text (f, "[Cluster a]\r\nCommand=true\r\nInstances=2");
  g_autoptr(CohortClusterSpec) spec = cohort_cluster_spec_copy (get_cluster (profile, "a"));
  g_autoptr(CohortClusterSpec) b = cohort_cluster_spec_new ("b", COHORT_CLUSTER_KIND_PROCESS);
  g_autoptr(GError) error = NULL;

  spec->max_restarts = 2;
  g_assert_true (cohort_profile_put_cluster (profile, "a", spec, &error));
  g_assert_no_error (error);
  b->command = g_strdup ("false");
  g_assert_true (cohort_profile_put_cluster (profile, NULL, b, &error));
  g_assert_no_error (error);
  cohort_profile_set_name (profile, "Windows");
  assert_text (profile,
               "[Profile]\r\nName=Windows\r\n\r\n"
               "[Cluster a]\r\nCommand=true\r\nInstances=2\r\nMaxRestarts=2\r\n"
               "\r\n[Cluster b]\r\nKind=process\r\nCommand=false\r\n");
}

static void
test_rename (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load_text (f, shop);
  g_autoptr(CohortClusterSpec) spec = cohort_cluster_spec_copy (get_cluster (profile, "web"));
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) expected = g_string_new (shop);
  GPtrArray *clusters;

  g_free (spec->name);
  spec->name = g_strdup ("front");
  g_assert_true (cohort_profile_put_cluster (profile, "web", spec, &error));
  g_assert_no_error (error);
  g_string_replace (expected, "[Cluster web]", "[Cluster front]", 1);
  assert_text (profile, expected->str);

  clusters = cohort_profile_get_clusters (profile);
  g_assert_cmpuint (clusters->len, ==, 2);
  g_assert_cmpstr (((CohortClusterSpec *) g_ptr_array_index (clusters, 0))->name, ==, "front");
  g_assert_cmpstr (((CohortClusterSpec *) g_ptr_array_index (clusters, 1))->name, ==, "jobs");

  /* Taken, invalid, or not there: an error, and nothing changes. */
  g_free (spec->name);
  spec->name = g_strdup ("jobs");
  g_assert_false (cohort_profile_put_cluster (profile, "front", spec, &error));
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "“jobs”"));
  g_clear_error (&error);
  g_assert_false (cohort_profile_put_cluster (profile, NULL, spec, &error));
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_EXISTS);
  g_clear_error (&error);

  g_free (spec->name);
  spec->name = g_strdup ("two words");
  g_assert_false (cohort_profile_put_cluster (profile, "front", spec, &error));
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "cluster name “two words”: use letters, digits, “-”, “_” and “.”");
  g_clear_error (&error);

  g_free (spec->name);
  spec->name = g_strdup ("web");
  g_assert_false (cohort_profile_put_cluster (profile, "gone", spec, &error));
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  assert_text (profile, expected->str);
}

static void
test_remove (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load_text (f, shop);
  GPtrArray *clusters;

  g_assert_false (cohort_profile_remove_cluster (profile, "nothing"));
  g_assert_false (cohort_profile_get_modified (profile));

  /* Its comments go with it; the next group keeps its own. */
  g_assert_true (cohort_profile_remove_cluster (profile, "web"));
  assert_text (profile,
               SHOP_HEAD
               "\t# indented comment\n"
               "[Cluster jobs]\n"
               "Kind=threads\n"
               "Task=sum\n"
               "Arguments={\"n\": 1000}\n");
  clusters = cohort_profile_get_clusters (profile);
  g_assert_cmpuint (clusters->len, ==, 1);
  g_assert_true (cohort_profile_get_modified (profile));

  /* The last group takes the blank lines before it. */
  g_assert_true (cohort_profile_remove_cluster (profile, "jobs"));
  assert_text (profile,
               "# Shop: run by hand since 2019\n"
               "[Profile]\n"
               "Name=Shop\n"
               "Owner=ops\n");
  g_assert_cmpuint (cohort_profile_get_clusters (profile)->len, ==, 0);
}

static void
test_remove_broken (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(GError) error = NULL;

  write_file (f->path, "[Cluster ok]\nCommand=true\n\n[Cluster bad]\nInstances=lots\n");
  g_assert_false (cohort_profile_load_file (profile, f->path, NULL));

  /* Editing a profile with errors is refused... */
  {
    g_autoptr(CohortClusterSpec) spec = cohort_cluster_spec_new ("new", COHORT_CLUSTER_KIND_PROCESS);

    spec->command = g_strdup ("true");
    g_assert_false (cohort_profile_put_cluster (profile, NULL, spec, &error));
    g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID);
  }

  /* ...but removing the broken cluster fixes it. */
  g_assert_true (cohort_profile_remove_cluster (profile, "bad"));
  g_assert_cmpuint (cohort_profile_get_n_errors (profile), ==, 0);
  g_assert_cmpuint (cohort_profile_get_clusters (profile)->len, ==, 1);
  assert_text (profile, "[Cluster ok]\nCommand=true\n");
}

static void
test_kind_change (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load_text (f, shop);
  g_autoptr(CohortClusterSpec) spec = cohort_cluster_spec_new ("web", COHORT_CLUSTER_KIND_THREADS);
  g_autoptr(GError) error = NULL;

  spec->task = g_strdup ("sum");
  g_free (spec->arguments);
  spec->arguments = g_strdup ("{\"n\":10}");
  g_assert_true (cohort_profile_put_cluster (profile, "web", spec, &error));
  g_assert_no_error (error);
  /* Process keys go, with the comment that was theirs; the unknown key
   * stays. */
  assert_text (profile,
               SHOP_HEAD
               "# the web front\n"
               "[Cluster web]\n"
               "Kind=threads\n"
               "Colour=blue\n"
               "Task=sum\n"
               "Arguments={\"n\":10}\n"
               SHOP_JOBS);
  g_assert_cmpint (get_cluster (profile, "web")->kind, ==, COHORT_CLUSTER_KIND_THREADS);
}

static void
test_invalid_value (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load_text (f, shop);
  g_autoptr(CohortClusterSpec) spec = cohort_cluster_spec_copy (get_cluster (profile, "web"));
  g_autoptr(GError) error = NULL;

  spec->instances = 0;
  g_assert_false (cohort_profile_put_cluster (profile, "web", spec, &error));
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==,
                   "Instances: expected a whole number from 1 to 4096, or max, got “0”");
  g_clear_error (&error);

  spec->instances = 1;
  spec->restart_delay_ms = 900;
  spec->restart_delay_max_ms = 800;
  g_assert_false (cohort_profile_put_cluster (profile, "web", spec, &error));
  g_assert_cmpstr (error->message, ==, "RestartDelayMax: 800 ms is below RestartDelay (900 ms)");
  g_clear_error (&error);

  /* A raw value that would break the line. */
  spec->restart_delay_ms = 100;
  spec->restart_delay_max_ms = 15000;
  g_free (spec->stop_message);
  spec->stop_message = g_strdup ("\"a\nb\"");
  g_assert_false (cohort_profile_put_cluster (profile, "web", spec, &error));
  g_assert_cmpstr (error->message, ==, "StopMessage: a value must fit on one line");
  g_clear_error (&error);

  assert_text (profile, shop);
  g_assert_false (cohort_profile_get_modified (profile));
}

static void
test_add_to_empty (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(CohortProfile) again = cohort_profile_new ();
  g_autoptr(CohortClusterSpec) web = cohort_cluster_spec_new ("web", COHORT_CLUSTER_KIND_PROCESS);
  g_autoptr(CohortClusterSpec) hashing = cohort_cluster_spec_new ("hashing", COHORT_CLUSTER_KIND_THREADS);
  g_autoptr(GError) error = NULL;
  g_autofree char *saved = NULL;
  const char *expected =
    "[Profile]\n"
    "Name=New one\n"
    "\n"
    "[Cluster web]\n"
    "Kind=process\n"
    "Command=app --serve\n"
    "Instances=2\n"
    "Listen=127.0.0.1:8080\n"
    "\n"
    "[Cluster hashing]\n"
    "Kind=threads\n"
    "Task=sha256\n"
    "Threads=2\n"
    "Arguments={\"bytes\":1024}\n"
    "Repeat=true\n";

  assert_text (profile, "");
  g_assert_cmpuint (cohort_profile_get_clusters (profile)->len, ==, 0);

  cohort_profile_set_name (profile, "New one");
  web->command = g_strdup ("app --serve");
  web->instances = 2;
  web->listen = g_strdup ("127.0.0.1:8080");
  g_assert_true (cohort_profile_put_cluster (profile, NULL, web, &error));
  g_assert_no_error (error);
  hashing->task = g_strdup ("sha256");
  hashing->instances = 2;
  g_free (hashing->arguments);
  hashing->arguments = g_strdup ("{\"bytes\":1024}");
  hashing->repeat = TRUE;
  g_assert_true (cohort_profile_put_cluster (profile, NULL, hashing, &error));
  g_assert_no_error (error);
  assert_text (profile, expected);
  g_assert_cmpstr (cohort_profile_get_name (profile), ==, "New one");
  g_assert_cmpuint (cohort_profile_get_clusters (profile)->len, ==, 2);

  cohort_profile_save (profile, f->path, &error);
  g_assert_no_error (error);
  saved = read_file (f->path);
  g_assert_cmpstr (saved, ==, expected);

  cohort_profile_load_file (again, f->path, &error);
  g_assert_no_error (error);
  assert_same_spec (get_cluster (again, "web"), web);
  assert_same_spec (get_cluster (again, "hashing"), hashing);
}

static void
test_set_name (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load_text (f, "# top\n\n# about a\n[Cluster a]\nCommand=true\n");

  g_assert_cmpstr (cohort_profile_get_name (profile), ==, "p");
  cohort_profile_set_name (profile, "Named");
  assert_text (profile, "# top\n\n[Profile]\nName=Named\n\n# about a\n[Cluster a]\nCommand=true\n");
  cohort_profile_set_name (profile, " back\\slash and\nnewline ");
  assert_text (profile, "# top\n\n[Profile]\nName=back\\\\slash and\\nnewline\n\n# about a\n[Cluster a]\nCommand=true\n");
  g_assert_cmpstr (cohort_profile_get_name (profile), ==, "back\\slash and\nnewline");
  cohort_profile_set_name (profile, NULL);
  assert_text (profile, "# top\n\n[Profile]\n\n# about a\n[Cluster a]\nCommand=true\n");
  g_assert_cmpstr (cohort_profile_get_name (profile), ==, "p");
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    data)
{
  (*(guint *) data)++;
}

static void
test_modified (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load_text (f, shop);
  g_autoptr(CohortClusterSpec) same = cohort_cluster_spec_copy (get_cluster (profile, "web"));
  g_autoptr(GError) error = NULL;
  guint notified = 0;
  gboolean modified = TRUE;

  g_signal_connect (profile, "notify::modified", G_CALLBACK (notify_cb), &notified);
  g_object_get (profile, "modified", &modified, NULL);
  g_assert_false (modified);

  /* No change, no modification. */
  g_assert_true (cohort_profile_put_cluster (profile, "web", same, &error));
  cohort_profile_set_name (profile, "Shop");
  g_assert_cmpuint (notified, ==, 0);

  cohort_profile_set_name (profile, "Shop 2");
  cohort_profile_set_name (profile, "Shop 3");
  g_assert_true (cohort_profile_get_modified (profile));
  g_assert_cmpuint (notified, ==, 1);

  cohort_profile_save (profile, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (cohort_profile_get_modified (profile));
  g_assert_cmpuint (notified, ==, 2);

  cohort_profile_set_name (profile, "Shop 4");
  g_assert_cmpuint (notified, ==, 3);
  cohort_profile_load_file (profile, f->path, &error);
  g_assert_no_error (error);
  g_assert_false (cohort_profile_get_modified (profile));
  g_assert_cmpstr (cohort_profile_get_name (profile), ==, "Shop 3");
  g_assert_cmpuint (notified, ==, 4);
}

/* An edit the running clusters refused is undone by putting back the
 * text from before it: byte for byte, where an edit back to the old spec
 * would write the changed lines in the spec's words (WorkingDirectory=app
 * as an absolute folder) and leave the profile modified. */
static void
test_restore (Fixture       *f,
              gconstpointer  data)
{
  static const char text[] =
    "# the shop\n[Cluster web]\nCommand = run  --port 1\nWorkingDirectory=app\nInstances=max\n\n"
    "[Cluster other]\nCommand=x\n";
  g_autoptr(CohortProfile) profile = load_text (f, text);
  g_autoptr(CohortClusterSpec) web = cohort_cluster_spec_ref (get_cluster (profile, "web"));
  g_autoptr(CohortClusterSpec) edit = cohort_cluster_spec_copy (web);
  g_autoptr(CohortClusterSpec) renamed = cohort_cluster_spec_copy (web);
  g_autoptr(GError) error = NULL;
  CohortClusterSpec *other = get_cluster (profile, "other");
  GPtrArray *clusters = cohort_profile_get_clusters (profile);
  g_autofree char *before = NULL;
  g_autofree char *middle = NULL;
  gsize before_length;
  gsize middle_length;
  guint notified = 0;

  g_signal_connect (profile, "notify::modified", G_CALLBACK (notify_cb), &notified);
  before = cohort_profile_to_data (profile, &before_length);
  g_assert_cmpstr (before, ==, text);

  edit->instances = 4;
  g_free (edit->working_directory);
  edit->working_directory = g_strdup ("/elsewhere");
  g_assert_true (cohort_profile_put_cluster (profile, "web", edit, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_profile_get_modified (profile));
  g_assert_cmpuint (notified, ==, 1);

  g_assert_true (cohort_profile_restore (profile, before, before_length, FALSE, &error));
  g_assert_no_error (error);
  assert_text (profile, text);
  g_assert_false (cohort_profile_get_modified (profile));
  g_assert_cmpuint (notified, ==, 2);
  g_assert_true (cohort_profile_get_clusters (profile) == clusters);
  g_assert_cmpuint (clusters->len, ==, 2);
  assert_same_spec (get_cluster (profile, "web"), web);
  g_assert_true (get_cluster (profile, "other") == other);

  /* Undoing an edit of a profile already modified: it stays so, and says
   * nothing. A rename is undone as well. */
  cohort_profile_set_name (profile, "Edited");
  g_assert_cmpuint (notified, ==, 3);
  middle = cohort_profile_to_data (profile, &middle_length);
  g_free (renamed->name);
  renamed->name = g_strdup ("www");
  renamed->instances = 1;
  g_assert_true (cohort_profile_put_cluster (profile, "web", renamed, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_profile_restore (profile, middle, middle_length, TRUE, &error));
  g_assert_no_error (error);
  assert_text (profile, middle);
  g_assert_true (cohort_profile_get_modified (profile));
  g_assert_cmpuint (notified, ==, 3);
  g_assert_cmpstr (cohort_profile_get_name (profile), ==, "Edited");
  g_assert_true (cohort_profile_get_clusters (profile) == clusters);
  g_assert_cmpuint (clusters->len, ==, 2);
  assert_same_spec (get_cluster (profile, "web"), web);
  g_assert_true (get_cluster (profile, "other") == other);

  /* Not a text: refused, nothing changes. */
  g_assert_false (cohort_profile_restore (profile, "[Cluster a]\n\0", 13, FALSE, &error));
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID);
  assert_text (profile, middle);
  g_assert_true (cohort_profile_get_modified (profile));
  g_assert_true (cohort_profile_get_clusters (profile) == clusters);
  g_assert_cmpuint (clusters->len, ==, 2);
}

/* What an editor types */

static void
test_parse_cluster (Fixture       *f,
                    gconstpointer  data)
{
  const char *keys[] = { "Command", "Instances", "WorkingDirectory", NULL };
  const char *good[] = { "app 'a b'", "max", "sub", NULL };
  const char *bad[] = { "app", "0", "sub", NULL };
  g_autoptr(CohortClusterSpec) spec = NULL;
  g_autoptr(CohortClusterSpec) none = NULL;
  g_autoptr(CohortProfile) file = cohort_profile_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *sub = g_build_filename (f->dir, "sub", NULL);
  g_autofree char *text = NULL;

  spec = cohort_profile_parse_cluster ("web", keys, good, f->dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (spec->argv[1], ==, "a b");
  g_assert_cmpint (spec->instances, ==, COHORT_INSTANCES_MAX);
  g_assert_cmpstr (spec->working_directory, ==, sub);

  /* What an editor shows is what it may type back. */
  text = cohort_cluster_spec_value_text (spec, "Instances");
  g_assert_cmpstr (text, ==, "max");
  g_clear_pointer (&text, g_free);
  text = cohort_cluster_spec_format_value (spec, "Restart");
  g_assert_null (text);
  text = cohort_cluster_spec_format_value (spec, "Task");
  g_assert_null (text);

  /* The very message loading the file gives, without the place. */
  none = cohort_profile_parse_cluster ("web", keys, bad, f->dir, &error);
  g_assert_null (none);
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID);
  write_file (f->path, "[Cluster web]\nCommand=app\nInstances=0\n");
  g_assert_false (cohort_profile_load_file (file, f->path, NULL));
  g_assert_cmpstr (error->message, ==, cohort_profile_get_diagnostic (file, 0)->message);
  g_assert_cmpstr (error->message, ==, "Instances: expected a whole number from 1 to 4096, or max, got “0”");
  g_clear_error (&error);

  {
    const char *thread_keys[] = { "Kind", "Task", "Repeat", "Arguments", NULL };
    const char *thread_values[] = { "threads", "sum", "yes", "{\"n\": 3}", NULL };
    const char *line_values[] = { "threads", "sum\nRepeat=true", "true", "{}", NULL };

    g_assert_null (cohort_profile_parse_cluster ("t", thread_keys, thread_values, NULL, &error));
    g_assert_cmpstr (error->message, ==, "Repeat: expected true or false, got “yes”");
    g_clear_error (&error);
    g_assert_null (cohort_profile_parse_cluster ("t", thread_keys, line_values, NULL, &error));
    g_assert_cmpstr (error->message, ==, "Task: a value must fit on one line");
    g_clear_error (&error);
    g_assert_null (cohort_profile_parse_cluster ("a b", NULL, NULL, NULL, &error));
    g_assert_nonnull (strstr (error->message, "cluster name “a b”"));
  }
}

/* Saving */

static void
test_save_missing_folder (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load_text (f, shop);
  g_autoptr(GError) error = NULL;
  g_autofree char *elsewhere = g_build_filename (f->dir, "no-such-folder", "p.cohort", NULL);
  g_autofree char *message = g_strconcat (elsewhere, ": cannot save: its folder does not exist", NULL);
  g_autofree char *expected = NULL;
  g_autofree char *text = NULL;
  g_autofree char *on_disk = NULL;

  cohort_profile_set_name (profile, "Changed");
  expected = cohort_profile_to_data (profile, NULL);
  g_assert_false (cohort_profile_save (profile, elsewhere, &error));
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_WRITE);
  g_assert_cmpstr (error->message, ==, message);

  /* The profile is as it was: still modified, still at its own path. */
  g_assert_true (cohort_profile_get_modified (profile));
  g_assert_cmpstr (cohort_profile_get_path (profile), ==, f->path);
  text = cohort_profile_to_data (profile, NULL);
  g_assert_cmpstr (text, ==, expected);
  on_disk = read_file (f->path);
  g_assert_cmpstr (on_disk, ==, shop);
}

static void
test_save_over_folder_or_device (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load_text (f, shop);
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = g_build_filename (f->dir, "folder.cohort", NULL);

  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  g_assert_false (cohort_profile_save (profile, folder, &error));
  g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_WRITE);
  g_assert_true (g_str_has_suffix (error->message, "folder.cohort: cannot save: it is a folder"));
  g_assert_true (g_file_test (folder, G_FILE_TEST_IS_DIR));
  g_assert_cmpuint (count_temporaries (f->dir), ==, 0);
  g_clear_error (&error);

  /* Nor over a device (as root, the rename would replace it). */
  g_assert_false (cohort_profile_save (profile, "/dev/null", &error));
  g_assert_cmpstr (error->message, ==, "/dev/null: cannot save: not a regular file");
  g_assert_true (g_file_test ("/dev/null", G_FILE_TEST_EXISTS) && !g_file_test ("/dev/null", G_FILE_TEST_IS_REGULAR));
}

static void
test_save_read_only_folder (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *on_disk = NULL;

  if (g_test_subprocess ())
    {
      g_autoptr(CohortProfile) profile = cohort_profile_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *before = NULL;
      g_autofree char *after = NULL;

      path = g_strdup (g_getenv ("COHORT_TEST_PROFILE"));
      /* root writes anywhere: act as nobody, keeping the saved root id to
       * come back and clean up. */
      g_assert_cmpint (setegid (65534), ==, 0);
      g_assert_cmpint (seteuid (65534), ==, 0);

      cohort_profile_load_file (profile, path, &error);
      g_assert_no_error (error);
      cohort_profile_set_name (profile, "Changed");
      before = cohort_profile_to_data (profile, NULL);
      g_assert_false (cohort_profile_save (profile, NULL, &error));
      g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_WRITE);
      g_assert_true (g_str_has_suffix (error->message, "p.cohort: cannot save: permission denied"));
      g_assert_true (cohort_profile_get_modified (profile));
      g_assert_cmpstr (cohort_profile_get_path (profile), ==, path);
      after = cohort_profile_to_data (profile, NULL);
      g_assert_cmpstr (after, ==, before);

      g_assert_cmpint (seteuid (0), ==, 0);
      g_assert_cmpint (setegid (0), ==, 0);
      return;
    }

  dir = cohort_test_make_dir ();
  path = g_build_filename (dir, "p.cohort", NULL);
  write_file (path, shop);
  g_assert_cmpint (g_chmod (dir, geteuid () == 0 ? 0755 : 0555), ==, 0);
  if (geteuid () != 0)
    {
      g_autoptr(CohortProfile) profile = load_text (&(Fixture) { dir, path }, shop);
      g_autoptr(GError) error = NULL;

      cohort_profile_set_name (profile, "Changed");
      g_assert_false (cohort_profile_save (profile, NULL, &error));
      g_assert_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_WRITE);
      g_assert_true (cohort_profile_get_modified (profile));
    }
  else
    {
      g_setenv ("COHORT_TEST_PROFILE", path, TRUE);
      g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_unsetenv ("COHORT_TEST_PROFILE");
      g_test_trap_assert_passed ();
    }

  on_disk = read_file (path);
  g_assert_cmpstr (on_disk, ==, shop);
  g_assert_cmpuint (count_temporaries (dir), ==, 0);
  g_chmod (dir, 0755);
  cohort_test_remove_dir (dir);
}

static void
test_save_keeps_mode_and_link (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load_text (f, shop);
  g_autoptr(GError) error = NULL;
  g_autofree char *link = g_build_filename (f->dir, "link.cohort", NULL);
  g_autofree char *on_disk = NULL;
  GStatBuf st;

  g_assert_cmpint (g_chmod (f->path, 0640), ==, 0);
  g_assert_cmpint (symlink ("p.cohort", link), ==, 0);
  g_assert_true (cohort_profile_load_file (profile, link, NULL));
  cohort_profile_set_name (profile, "Through a link");
  g_assert_true (cohort_profile_save (profile, NULL, &error));
  g_assert_no_error (error);

  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  on_disk = read_file (f->path);
  g_assert_nonnull (strstr (on_disk, "Name=Through a link\n"));
  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0640);
  g_assert_cmpuint (count_temporaries (f->dir), ==, 0);
}

/* Save As into another folder keeps what every cluster means: a relative
 * WorkingDirectory meant the old folder's, so it is written out as that
 * absolute folder; into the same folder, the text stays as it was. */
static void
test_save_as_elsewhere (Fixture       *f,
                        gconstpointer  data)
{
  static const char text[] =
    "[Cluster rel]\nCommand=run\nWorkingDirectory=app\n\n"
    "[Cluster dots]\nCommand=run\nWorkingDirectory = ../shared/./z\n\n"
    "[Cluster escaped]\nCommand=run\nWorkingDirectory=\\smy app\n\n"
    "[Cluster home]\nCommand=run\nWorkingDirectory=~/x\n\n"
    "[Cluster tilde-name]\nCommand=run\nWorkingDirectory=~x\n\n"
    "[Cluster abs]\nCommand=run\nWorkingDirectory=/srv/y\n\n"
    "[Cluster none]\nCommand=run\n\n"
    "[Cluster t]\nKind=threads\nTask=sum\nArguments={\"n\": 3}\n";
  g_autofree char *a = g_build_filename (f->dir, "a", NULL);
  g_autofree char *b = g_build_filename (f->dir, "b", NULL);
  g_autofree char *in_a = g_build_filename (a, "p.cohort", NULL);
  g_autofree char *same_folder = g_build_filename (a, "q.cohort", NULL);
  g_autofree char *in_b = g_build_filename (b, "p.cohort", NULL);
  g_autofree char *real = realpath (f->dir, NULL);
  g_autofree char *expected = NULL;
  g_autofree char *on_disk = NULL;
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(CohortProfile) reloaded = cohort_profile_new ();
  g_autoptr(GPtrArray) before = g_ptr_array_new_with_free_func ((GDestroyNotify) cohort_cluster_spec_unref);
  g_autoptr(GError) error = NULL;
  GPtrArray *clusters;

  g_assert_cmpint (g_mkdir (a, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (b, 0755), ==, 0);
  write_file (in_a, text);
  g_assert_true (cohort_profile_load_file (profile, in_a, &error));
  g_assert_no_error (error);
  clusters = cohort_profile_get_clusters (profile);
  for (guint i = 0; i < clusters->len; i++)
    g_ptr_array_add (before, cohort_cluster_spec_ref (g_ptr_array_index (clusters, i)));

  /* The same folder: not a byte changes. */
  g_assert_true (cohort_profile_save (profile, same_folder, &error));
  g_assert_no_error (error);
  on_disk = read_file (same_folder);
  g_assert_cmpstr (on_disk, ==, text);
  g_clear_pointer (&on_disk, g_free);

  /* Another folder: the relative ones become the folders they meant. */
  g_assert_true (cohort_profile_save (profile, in_b, &error));
  g_assert_no_error (error);
  expected = g_strdup_printf (
    "[Cluster rel]\nCommand=run\nWorkingDirectory=%s/a/app\n\n"
    "[Cluster dots]\nCommand=run\nWorkingDirectory = %s/shared/z\n\n"
    "[Cluster escaped]\nCommand=run\nWorkingDirectory=%s/a/ my app\n\n"
    "[Cluster home]\nCommand=run\nWorkingDirectory=~/x\n\n"
    "[Cluster tilde-name]\nCommand=run\nWorkingDirectory=%s/a/~x\n\n"
    "[Cluster abs]\nCommand=run\nWorkingDirectory=/srv/y\n\n"
    "[Cluster none]\nCommand=run\n\n"
    "[Cluster t]\nKind=threads\nTask=sum\nArguments={\"n\": 3}\n",
    real, real, real, real);
  on_disk = read_file (in_b);
  g_assert_cmpstr (on_disk, ==, expected);
  assert_text (profile, expected);
  g_assert_cmpstr (cohort_profile_get_path (profile), ==, in_b);
  g_assert_false (cohort_profile_get_modified (profile));

  /* Every spec is the one the running clusters hold, unchanged. */
  clusters = cohort_profile_get_clusters (profile);
  g_assert_cmpuint (clusters->len, ==, before->len);
  for (guint i = 0; i < clusters->len; i++)
    {
      assert_same_spec (g_ptr_array_index (clusters, i), g_ptr_array_index (before, i));
      g_assert_true (g_ptr_array_index (clusters, i) == g_ptr_array_index (before, i));
    }

  /* And the file, opened afresh, means the same. */
  g_assert_true (cohort_profile_load_file (reloaded, in_b, &error));
  g_assert_no_error (error);
  clusters = cohort_profile_get_clusters (reloaded);
  for (guint i = 0; i < clusters->len; i++)
    assert_same_spec (g_ptr_array_index (clusters, i), g_ptr_array_index (before, i));
}

static void
set_mtime (const char *path,
           time_t      seconds)
{
  struct timespec times[2] = { { 0, UTIME_OMIT }, { seconds, 0 } };

  g_assert_cmpint (utimensat (AT_FDCWD, path, times, 0), ==, 0);
}

/* Something else wrote the file since it was loaded or saved: the window
 * asks before overwriting it. */
static void
test_changed_on_disk (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load_text (f, shop);
  g_autoptr(CohortProfile) fresh = cohort_profile_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *replacement = g_build_filename (f->dir, "replacement", NULL);
  g_autofree char *elsewhere = g_build_filename (f->dir, "elsewhere.cohort", NULL);

  g_assert_false (cohort_profile_get_changed_on_disk (profile));
  g_assert_false (cohort_profile_get_changed_on_disk (fresh));

  /* Another text. */
  write_file (f->path, "[Cluster x]\nCommand=y\n");
  g_assert_true (cohort_profile_get_changed_on_disk (profile));
  /* Saved over it: the file is the profile's again. */
  g_assert_true (cohort_profile_save (profile, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (cohort_profile_get_changed_on_disk (profile));

  /* The same size, written at another time. */
  set_mtime (f->path, 1000000000);
  g_assert_true (cohort_profile_get_changed_on_disk (profile));
  g_assert_true (cohort_profile_load_file (profile, f->path, &error));
  g_assert_no_error (error);
  g_assert_false (cohort_profile_get_changed_on_disk (profile));

  /* Replaced by another file of the same size and time (saved the way
   * Cohort saves, by a rename). */
  write_file (replacement, shop);
  set_mtime (replacement, 1000000000);
  g_assert_cmpint (g_rename (replacement, f->path), ==, 0);
  g_assert_true (cohort_profile_get_changed_on_disk (profile));
  g_assert_true (cohort_profile_load_file (profile, f->path, &error));
  g_assert_false (cohort_profile_get_changed_on_disk (profile));

  /* Gone. */
  g_assert_cmpint (g_unlink (f->path), ==, 0);
  g_assert_true (cohort_profile_get_changed_on_disk (profile));

  /* Saved elsewhere, it is the new file that counts. */
  g_assert_true (cohort_profile_save (profile, elsewhere, &error));
  g_assert_no_error (error);
  g_assert_false (cohort_profile_get_changed_on_disk (profile));
  write_file (f->path, "[Cluster x]\nCommand=y\n");
  g_assert_false (cohort_profile_get_changed_on_disk (profile));
  g_assert_true (cohort_profile_save_untrusted (profile, NULL, &error));
  g_assert_false (cohort_profile_get_changed_on_disk (profile));

  /* Loaded from data, or a file that could not be read: nothing to
   * compare with. */
  g_assert_true (cohort_profile_load_data (profile, shop, -1, f->path, NULL));
  g_assert_false (cohort_profile_get_changed_on_disk (profile));
  g_assert_false (cohort_profile_load_file (profile, replacement, NULL));
  g_assert_false (cohort_profile_get_changed_on_disk (profile));
}

/* A profile of a few hundred KiB, so that a save takes a while. */
static char *
big_profile (const char *variant)
{
  GString *text = g_string_new (NULL);

  g_string_append_printf (text, "[Profile]\nName=Big %s\n", variant);
  for (guint i = 0; i < 1500; i++)
    g_string_append_printf (text,
                            "\n# cluster %u of the %s variant, with a comment long enough to weigh\n"
                            "[Cluster c%u]\nCommand=worker --id %u --variant %s\nInstances=%u\n",
                            i, variant, i, i, variant, 1 + i % 8);
  return g_string_free (text, FALSE);
}

static void
test_crash_while_saving (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *old_text = big_profile ("old");
  g_autofree char *new_text = big_profile ("new");
  g_autoptr(CohortProfile) last = cohort_profile_new ();
  g_autoptr(GError) error = NULL;
  guint saw_old = 0;
  guint saw_new = 0;
  guint interrupted = 0;

  write_file (f->path, old_text);

  for (guint round = 0; round < 12; round++)
    {
      g_autoptr(CohortProfile) check = cohort_profile_new ();
      g_autofree char *on_disk = NULL;
      int ready[2];
      struct pollfd pfd;
      int status = 0;
      guint left;
      char byte;
      pid_t pid;

      g_assert_cmpint (pipe (ready), ==, 0);
      pid = fork ();
      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        {
          CohortProfile *a = cohort_profile_new ();
          CohortProfile *b = cohort_profile_new ();

          prctl (PR_SET_PDEATHSIG, SIGKILL);
          close (ready[0]);
          if (!cohort_profile_load_data (a, old_text, -1, f->path, NULL) ||
              !cohort_profile_load_data (b, new_text, -1, f->path, NULL))
            _exit (1);
          if (write (ready[1], "x", 1) != 1)
            _exit (1);
          /* Saves back and forth until killed. */
          for (;;)
            if (!cohort_profile_save (a, NULL, NULL) || !cohort_profile_save (b, NULL, NULL))
              _exit (2);
        }

      close (ready[1]);
      pfd = (struct pollfd) { .fd = ready[0], .events = POLLIN };
      if (poll (&pfd, 1, 30000) != 1 || read (ready[0], &byte, 1) != 1)
        {
          kill (pid, SIGKILL);
          waitpid (pid, NULL, 0);
          g_error ("the saving child did not start");
        }
      close (ready[0]);

      g_usleep (g_test_rand_int_range (0, 40000));
      g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

      /* Whole, and one of the two. */
      on_disk = read_file (f->path);
      g_assert_true (g_str_equal (on_disk, old_text) || g_str_equal (on_disk, new_text));
      saw_old += g_str_equal (on_disk, old_text);
      saw_new += g_str_equal (on_disk, new_text);
      g_assert_true (cohort_profile_load_file (check, f->path, NULL));
      g_assert_cmpuint (cohort_profile_get_clusters (check)->len, ==, 1500);

      /* At most the one temporary file the kill interrupted. */
      left = count_temporaries (f->dir);
      g_assert_cmpuint (left, <=, 1);
      interrupted += left;
    }
  g_test_message ("old %u times, new %u times, %u saves interrupted", saw_old, saw_new, interrupted);

  /* The next save removes what the crashes left. */
  g_assert_true (cohort_profile_load_file (last, f->path, NULL));
  cohort_profile_save (last, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_temporaries (f->dir), ==, 0);
}

static void
test_stale_temporary_of_a_live_save (Fixture       *f,
                                     gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = load_text (f, shop);
  g_autoptr(GError) error = NULL;
  g_autofree char *stale = g_build_filename (f->dir, ".p.cohort.saving-AbC123", NULL);
  g_autofree char *busy = g_build_filename (f->dir, ".p.cohort.saving-XyZ789", NULL);
  g_autofree char *other = g_build_filename (f->dir, ".q.cohort.saving-AbC123", NULL);
  g_autofree char *users = g_build_filename (f->dir, ".p.cohort.backup", NULL);
  int fd;

  write_file (stale, "half a profile");
  write_file (other, "another file's");
  write_file (users, "the user's own");
  write_file (busy, "being written");
  /* Another save, alive, holds its lock. */
  fd = g_open (busy, O_RDWR, 0);
  g_assert_cmpint (flock (fd, LOCK_EX), ==, 0);

  cohort_profile_save (profile, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (busy, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (users, G_FILE_TEST_EXISTS));
  g_close (fd, NULL);
}

/* Two Cohorts saving the same file at once: each one's clean-up of
 * temporaries left by crashed saves must never take the other's
 * temporary file, which exists unlocked for a moment after mkstemp. */
static void
test_concurrent_saves (Fixture       *f,
                       gconstpointer  data)
{
  pid_t pids[3];
  int status;

  write_file (f->path, shop);
  for (guint i = 0; i < G_N_ELEMENTS (pids); i++)
    {
      pids[i] = fork ();
      g_assert_cmpint (pids[i], >=, 0);
      if (pids[i] == 0)
        {
          CohortProfile *profile = cohort_profile_new ();
          GError *error = NULL;
          gint64 end;

          prctl (PR_SET_PDEATHSIG, SIGKILL);
          if (!cohort_profile_load_file (profile, f->path, NULL))
            _exit (1);
          end = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
          while (g_get_monotonic_time () < end)
            if (!cohort_profile_save (profile, NULL, &error))
              {
                g_printerr ("save %u: %s\n", i, error->message);
                _exit (2);
              }
          _exit (0);
        }
    }

  for (guint i = 0; i < G_N_ELEMENTS (pids); i++)
    {
      g_assert_cmpint (waitpid (pids[i], &status, 0), ==, pids[i]);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    }
  g_assert_cmpuint (count_temporaries (f->dir), ==, 0);
}

/* Trust */

static void
test_trust (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *store = g_build_filename (g_get_user_data_dir (), "cohort", "trusted-profiles", NULL);
  g_autofree char *copy = g_build_filename (f->dir, "copy.cohort", NULL);

  /* Never seen: not trusted. */
  write_file (f->path, shop);
  g_assert_true (cohort_profile_load_file (profile, f->path, NULL));
  g_assert_false (cohort_profile_get_trusted (profile));
  g_assert_false (g_file_test (store, G_FILE_TEST_EXISTS));

  /* Saved by Cohort: trusted, now and when opened again. */
  cohort_profile_set_name (profile, "Mine");
  g_assert_true (cohort_profile_save (profile, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_profile_get_trusted (profile));
  g_assert_true (g_file_test (store, G_FILE_TEST_EXISTS));
  g_assert_true (cohort_profile_load_file (profile, f->path, NULL));
  g_assert_true (cohort_profile_get_trusted (profile));

  /* The same text at another path was not saved there by Cohort. */
  {
    g_autofree char *text = read_file (f->path);

    write_file (copy, text);
    g_assert_true (cohort_profile_load_file (profile, copy, NULL));
    g_assert_false (cohort_profile_get_trusted (profile));
    g_assert_true (cohort_profile_load_data (profile, text, -1, NULL, NULL));
    g_assert_false (cohort_profile_get_trusted (profile));
  }

  /* Written by something else since: not trusted. */
  write_file (f->path, "[Cluster evil]\nCommand=rm -rf ~\n");
  g_assert_true (cohort_profile_load_file (profile, f->path, NULL));
  g_assert_false (cohort_profile_get_trusted (profile));

  /* The demo profile Cohort ships is. */
  g_assert_true (cohort_profile_load_file (profile, cohort_test_binary ("COHORT_DEMO_PROFILE"), NULL));
  g_assert_true (cohort_profile_get_trusted (profile));

  /* A new profile is the user's own. */
  {
    g_autoptr(CohortProfile) fresh = cohort_profile_new ();

    g_assert_true (cohort_profile_get_trusted (fresh));
  }
}

/* A link to a profile Cohort saved is trusted, since the text and the
 * file are the ones Cohort wrote; so what it means must be what the real
 * file means: its relative folders are beside the real file, not beside
 * the link (where anyone who can make the link could put a run.sh). */
static void
test_trust_through_link (Fixture       *f,
                         gconstpointer  data)
{
  static const char text[] = "[Cluster web]\nCommand=./run.sh\nWorkingDirectory=app\n";
  g_autofree char *a = g_build_filename (f->dir, "a", NULL);
  g_autofree char *b = g_build_filename (f->dir, "b", NULL);
  g_autofree char *c = g_build_filename (f->dir, "c", NULL);
  g_autofree char *saved = g_build_filename (a, "p.cohort", NULL);
  g_autofree char *evil = g_build_filename (b, "evil.cohort", NULL);
  g_autofree char *through_folder = g_build_filename (c, "p.cohort", NULL);
  g_autofree char *real = realpath (f->dir, NULL);
  g_autofree char *app = g_build_filename (real, "a", "app", NULL);
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir (a, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (b, 0755), ==, 0);
  write_file (saved, text);
  g_assert_true (cohort_profile_load_file (profile, saved, NULL));
  g_assert_true (cohort_profile_save (profile, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (get_cluster (profile, "web")->working_directory, ==, app);

  /* A link to the file. */
  g_assert_cmpint (symlink ("../a/p.cohort", evil), ==, 0);
  g_assert_true (cohort_profile_load_file (profile, evil, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_profile_get_trusted (profile));
  g_assert_cmpstr (cohort_profile_get_path (profile), ==, evil);
  g_assert_cmpstr (get_cluster (profile, "web")->working_directory, ==, app);

  /* A link to its folder. */
  g_assert_cmpint (symlink ("a", c), ==, 0);
  g_assert_true (cohort_profile_load_file (profile, through_folder, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_profile_get_trusted (profile));
  g_assert_cmpstr (get_cluster (profile, "web")->working_directory, ==, app);

  /* Saved through the link, it still means the same. */
  cohort_profile_set_name (profile, "Through a link");
  g_assert_true (cohort_profile_save (profile, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (get_cluster (profile, "web")->working_directory, ==, app);
  g_assert_true (cohort_profile_load_file (profile, evil, &error));
  g_assert_true (cohort_profile_get_trusted (profile));
  g_assert_cmpstr (get_cluster (profile, "web")->working_directory, ==, app);
}

static void
test_trust_functions (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *odd = g_build_filename (f->dir, "a=b [c] d.cohort", NULL);

  /* Paths GKeyFile would not take as keys as they are. */
  write_file (odd, "x");
  g_assert_false (cohort_trust_check (odd, "x", 1));
  cohort_trust_remember (odd, "x", 1);
  g_assert_true (cohort_trust_check (odd, "x", 1));
  g_assert_false (cohort_trust_check (odd, "y", 1));

  /* Entries of files that are gone are dropped on the next save. */
  write_file (f->path, "y");
  cohort_trust_remember (f->path, "y", 1);
  g_unlink (odd);
  cohort_trust_remember (f->path, "y", 1);
  write_file (odd, "x");
  g_assert_false (cohort_trust_check (odd, "x", 1));
  g_assert_true (cohort_trust_check (f->path, "y", 1));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *data_home = NULL;
  int status;

  /* The trust store goes to a folder of the test's, not the user's own.
   * (G_TEST_OPTION_ISOLATE_DIRS would make one per test, but GLib 2.74
   * leaks the old paths each time, which AddressSanitizer reports.) */
  data_home = cohort_test_make_dir ();
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);

  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/Cohort/ProfileSave/unchanged/odd-files", test_unchanged_odd);
  ADD ("/Cohort/ProfileSave/unchanged/demo", test_unchanged_demo);
  ADD ("/Cohort/ProfileSave/round-trip/process", test_round_trip_process);
  ADD ("/Cohort/ProfileSave/round-trip/threads", test_round_trip_threads);
  ADD ("/Cohort/ProfileSave/edit/values", test_edit_values);
  ADD ("/Cohort/ProfileSave/edit/crlf", test_edit_crlf);
  ADD ("/Cohort/ProfileSave/edit/rename", test_rename);
  ADD ("/Cohort/ProfileSave/edit/remove", test_remove);
  ADD ("/Cohort/ProfileSave/edit/remove-broken", test_remove_broken);
  ADD ("/Cohort/ProfileSave/edit/kind-change", test_kind_change);
  ADD ("/Cohort/ProfileSave/edit/invalid-value", test_invalid_value);
  ADD ("/Cohort/ProfileSave/edit/add-to-empty", test_add_to_empty);
  ADD ("/Cohort/ProfileSave/edit/name", test_set_name);
  ADD ("/Cohort/ProfileSave/edit/modified", test_modified);
  ADD ("/Cohort/ProfileSave/edit/restore", test_restore);
  ADD ("/Cohort/ProfileSave/parse-cluster", test_parse_cluster);
  ADD ("/Cohort/ProfileSave/save/missing-folder", test_save_missing_folder);
  ADD ("/Cohort/ProfileSave/save/over-folder-or-device", test_save_over_folder_or_device);
  g_test_add_func ("/Cohort/ProfileSave/save/read-only-folder", test_save_read_only_folder);
  ADD ("/Cohort/ProfileSave/save/mode-and-link", test_save_keeps_mode_and_link);
  ADD ("/Cohort/ProfileSave/save/as-elsewhere", test_save_as_elsewhere);
  ADD ("/Cohort/ProfileSave/save/changed-on-disk", test_changed_on_disk);
  ADD ("/Cohort/ProfileSave/save/crash", test_crash_while_saving);
  ADD ("/Cohort/ProfileSave/save/stale-temporaries", test_stale_temporary_of_a_live_save);
  ADD ("/Cohort/ProfileSave/save/concurrent", test_concurrent_saves);
  ADD ("/Cohort/ProfileSave/trust/profiles", test_trust);
  ADD ("/Cohort/ProfileSave/trust/store", test_trust_functions);
  ADD ("/Cohort/ProfileSave/trust/through-link", test_trust_through_link);

  status = g_test_run ();
  cohort_test_remove_dir (data_home);
  return status;
}
