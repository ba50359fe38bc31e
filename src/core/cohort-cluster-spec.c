/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-cluster-spec.c: defaults and lifetime of a cluster's spec, and
 * the text each of its keys is written as. */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cohort-cluster-spec.h"

G_DEFINE_BOXED_TYPE (CohortClusterSpec, cohort_cluster_spec,
                     cohort_cluster_spec_ref, cohort_cluster_spec_unref)

/* The defaults are DESIGN.md's, which are PM2's where PM2 has one. */
CohortClusterSpec *
cohort_cluster_spec_new (const char        *name,
                         CohortClusterKind  kind)
{
  CohortClusterSpec *self;

  g_return_val_if_fail (name != NULL, NULL);

  self = g_new0 (CohortClusterSpec, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->name = g_strdup (name);
  self->kind = kind;
  self->environment = g_new0 (char *, 1);
  self->instances = 1;
  self->channel = COHORT_CHANNEL_AUTO;
  self->restart = COHORT_RESTART_ON_FAILURE;
  self->restart_delay_ms = 100;
  self->restart_delay_max_ms = 15000;
  self->min_uptime_s = 1.0;
  self->max_restarts = 15;
  self->stop_message = g_strdup ("\"shutdown\"");
  self->stop_signal = SIGTERM;
  self->stop_timeout_s = 10.0;
  self->ready_timeout_s = 0.0;
  self->max_memory_mib = 0;
  self->arguments = g_strdup ("{}");

  return self;
}

/**
 * cohort_cluster_spec_copy:
 *
 * Returns: (transfer full): a deep copy with a reference count of 1, for
 *   an editor to change before handing it to cohort_profile_put_cluster()
 */
CohortClusterSpec *
cohort_cluster_spec_copy (const CohortClusterSpec *self)
{
  CohortClusterSpec *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_memdup2 (self, sizeof *self);
  g_atomic_ref_count_init (&copy->ref_count);
  copy->name = g_strdup (self->name);
  copy->command = g_strdup (self->command);
  copy->argv = g_strdupv (self->argv);
  copy->working_directory = g_strdup (self->working_directory);
  copy->environment = g_strdupv (self->environment);
  copy->listen = g_strdup (self->listen);
  copy->stop_message = g_strdup (self->stop_message);
  copy->task = g_strdup (self->task);
  copy->arguments = g_strdup (self->arguments);

  return copy;
}

CohortClusterSpec *
cohort_cluster_spec_ref (CohortClusterSpec *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
cohort_cluster_spec_unref (CohortClusterSpec *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_free (self->name);
  g_free (self->command);
  g_strfreev (self->argv);
  g_free (self->working_directory);
  g_strfreev (self->environment);
  g_free (self->listen);
  g_free (self->stop_message);
  g_free (self->task);
  g_free (self->arguments);
  g_free (self);
}

guint
cohort_cluster_spec_resolve_instances (const CohortClusterSpec *self)
{
  g_return_val_if_fail (self != NULL, 1);

  if (self->instances == COHORT_INSTANCES_MAX)
    return MAX (1, g_get_num_processors ());
  return (guint) self->instances;
}

static const char * const process_keys[] = {
  "Kind", "Command", "Instances", "WorkingDirectory", "Environment",
  "Listen", "Channel", "Restart", "RestartDelay", "RestartDelayMax",
  "MinUptime", "MaxRestarts", "StopMessage", "StopSignal", "StopTimeout",
  "ReadyTimeout", "MaxMemory", NULL
};

static const char * const thread_keys[] = {
  "Kind", "Task", "Threads", "Arguments", "Repeat", "TaskTimeout", NULL
};

/**
 * cohort_cluster_spec_list_keys:
 *
 * Returns: (transfer none): the keys a cluster of @kind reads, in the
 *   order DESIGN.md writes them
 */
const char * const *
cohort_cluster_spec_list_keys (CohortClusterKind kind)
{
  return kind == COHORT_CLUSTER_KIND_THREADS ? thread_keys : process_keys;
}

/* GKeyFile's escapes (\s, \n, \\), made by GKeyFile itself so that
 * they read back exactly. */
static char *
escape_string (const char *value)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();

  g_key_file_set_string (keyfile, "G", "K", value != NULL ? value : "");
  return g_key_file_get_value (keyfile, "G", "K", NULL);
}

static char *
escape_list (const char * const *items)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  gsize n = items != NULL ? g_strv_length ((char **) items) : 0;

  if (n == 0)
    return g_strdup ("");
  g_key_file_set_string_list (keyfile, "G", "K", items, n);
  return g_key_file_get_value (keyfile, "G", "K", NULL);
}

/* As short as reads back as the same double: 0.1, not 0.10000000000000001. */
static char *
format_seconds (double value)
{
  static const char * const formats[] = { "%.15g", "%.16g", "%.17g" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    if (g_ascii_strtod (g_ascii_formatd (buf, sizeof buf, formats[i], value), NULL) == value)
      break;
  return g_strdup (buf);
}

static char *
format_instances (int instances)
{
  if (instances == COHORT_INSTANCES_MAX)
    return g_strdup ("max");
  return g_strdup_printf ("%d", instances);
}

/**
 * cohort_cluster_spec_value_text:
 * @key: a key of DESIGN.md's [Cluster NAME] groups, such as "Instances"
 *
 * The text after “@key=” that stands for @spec's value, defaults included,
 * in the syntax of the file (GKeyFile's escapes, JSON for StopMessage and
 * Arguments): loading it gives the same value back.
 *
 * Returns: (transfer full) (nullable): the text, or %NULL when @key does
 *   not apply to clusters of @spec's kind
 */
char *
cohort_cluster_spec_value_text (const CohortClusterSpec *spec,
                                const char              *key)
{
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);

  if (!g_strv_contains (cohort_cluster_spec_list_keys (spec->kind), key))
    return NULL;

  if (g_str_equal (key, "Kind"))
    return g_strdup (cohort_cluster_kind_to_string (spec->kind));
  if (g_str_equal (key, "Command"))
    return escape_string (spec->command);
  if (g_str_equal (key, "Instances") || g_str_equal (key, "Threads"))
    return format_instances (spec->instances);
  if (g_str_equal (key, "WorkingDirectory"))
    return escape_string (spec->working_directory);
  if (g_str_equal (key, "Environment"))
    return escape_list ((const char * const *) spec->environment);
  if (g_str_equal (key, "Listen"))
    return escape_string (spec->listen);
  if (g_str_equal (key, "Channel"))
    return g_strdup (cohort_channel_mode_to_string (spec->channel));
  if (g_str_equal (key, "Restart"))
    return g_strdup (cohort_restart_policy_to_string (spec->restart));
  if (g_str_equal (key, "RestartDelay"))
    return g_strdup_printf ("%u", spec->restart_delay_ms);
  if (g_str_equal (key, "RestartDelayMax"))
    return g_strdup_printf ("%u", spec->restart_delay_max_ms);
  if (g_str_equal (key, "MinUptime"))
    return format_seconds (spec->min_uptime_s);
  if (g_str_equal (key, "MaxRestarts"))
    return g_strdup_printf ("%u", spec->max_restarts);
  /* JSON is written raw: the reader takes it so, since GKeyFile's escapes
   * would corrupt JSON's own. */
  if (g_str_equal (key, "StopMessage"))
    return g_strdup (spec->stop_message != NULL ? spec->stop_message : "");
  if (g_str_equal (key, "StopSignal"))
    {
      const char *name = cohort_signal_to_name (spec->stop_signal);

      return name != NULL ? g_strdup (name) : g_strdup_printf ("%d", spec->stop_signal);
    }
  if (g_str_equal (key, "StopTimeout"))
    return format_seconds (spec->stop_timeout_s);
  if (g_str_equal (key, "ReadyTimeout"))
    return format_seconds (spec->ready_timeout_s);
  if (g_str_equal (key, "MaxMemory"))
    return g_strdup_printf ("%" G_GUINT64_FORMAT, spec->max_memory_mib);
  if (g_str_equal (key, "Task"))
    return escape_string (spec->task);
  if (g_str_equal (key, "Arguments"))
    return g_strdup (spec->arguments != NULL ? spec->arguments : "{}");
  if (g_str_equal (key, "Repeat"))
    return g_strdup (spec->repeat ? "true" : "false");
  if (g_str_equal (key, "TaskTimeout"))
    return format_seconds (spec->task_timeout_s);

  g_return_val_if_reached (NULL);
}

/**
 * cohort_cluster_spec_format_value:
 *
 * Like cohort_cluster_spec_value_text(), but %NULL also when the value is
 * the default and needs no line in the file. Command is always written.
 *
 * Returns: (transfer full) (nullable): the text to write after “@key=”
 */
char *
cohort_cluster_spec_format_value (const CohortClusterSpec *spec,
                                  const char              *key)
{
  g_autoptr(CohortClusterSpec) defaults = NULL;
  g_autofree char *text = NULL;
  g_autofree char *default_text = NULL;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);

  text = cohort_cluster_spec_value_text (spec, key);
  if (text == NULL || g_str_equal (key, "Command"))
    return g_steal_pointer (&text);

  defaults = cohort_cluster_spec_new (spec->name, spec->kind);
  if (g_str_equal (key, "Kind"))
    defaults->kind = COHORT_CLUSTER_KIND_PROCESS;
  default_text = cohort_cluster_spec_value_text (defaults, key);
  if (g_strcmp0 (text, default_text) == 0)
    return NULL;
  return g_steal_pointer (&text);
}

/**
 * cohort_cluster_spec_equal:
 *
 * Whether @a and @b would be written the same: the same name, kind and
 * text for every key of their kind. Fields that do not apply to the kind
 * (the Command of a thread cluster) are not compared.
 */
gboolean
cohort_cluster_spec_equal (const CohortClusterSpec *a,
                           const CohortClusterSpec *b)
{
  const char * const *keys;

  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);

  if (a == b)
    return TRUE;
  if (g_strcmp0 (a->name, b->name) != 0 || a->kind != b->kind)
    return FALSE;

  keys = cohort_cluster_spec_list_keys (a->kind);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autofree char *text_a = cohort_cluster_spec_value_text (a, keys[i]);
      g_autofree char *text_b = cohort_cluster_spec_value_text (b, keys[i]);

      if (g_strcmp0 (text_a, text_b) != 0)
        return FALSE;
    }
  return TRUE;
}

static const struct {
  int         signum;
  const char *name;
} signal_names[] = {
  { SIGHUP,  "SIGHUP" },
  { SIGINT,  "SIGINT" },
  { SIGQUIT, "SIGQUIT" },
  { SIGKILL, "SIGKILL" },
  { SIGUSR1, "SIGUSR1" },
  { SIGUSR2, "SIGUSR2" },
  { SIGTERM, "SIGTERM" },
  { SIGCONT, "SIGCONT" },
  { SIGSTOP, "SIGSTOP" },
  { SIGWINCH, "SIGWINCH" },
};

const char *
cohort_signal_to_name (int signum)
{
  for (guint i = 0; i < G_N_ELEMENTS (signal_names); i++)
    if (signal_names[i].signum == signum)
      return signal_names[i].name;
  return NULL;
}

/* Accepts SIGTERM, TERM (any case) or a number. */
gboolean
cohort_signal_from_name (const char *name,
                         int        *signum)
{
  g_autofree char *upper = NULL;
  const char *bare;
  char *end = NULL;
  long number;

  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (signum != NULL, FALSE);

  number = strtol (name, &end, 10);
  if (*name != '\0' && end != NULL && *end == '\0')
    {
      if (number < 1 || number >= NSIG)
        return FALSE;
      *signum = (int) number;
      return TRUE;
    }

  upper = g_ascii_strup (name, -1);
  bare = g_str_has_prefix (upper, "SIG") ? upper + 3 : upper;
  for (guint i = 0; i < G_N_ELEMENTS (signal_names); i++)
    if (g_str_equal (signal_names[i].name + 3, bare))
      {
        *signum = signal_names[i].signum;
        return TRUE;
      }
  return FALSE;
}

/* The folder list a worker's program is looked up in: the profile's
 * Environment= PATH if it sets one, else Cohort's own. */
static const char *
worker_path (const CohortClusterSpec *spec)
{
  for (guint i = 0; spec->environment != NULL && spec->environment[i] != NULL; i++)
    if (g_str_has_prefix (spec->environment[i], "PATH="))
      return spec->environment[i] + strlen ("PATH=");
  return g_getenv ("PATH");
}

static char *
resolve_program (const CohortClusterSpec *spec,
                 const char              *program)
{
  const char *path = worker_path (spec);
  g_auto(GStrv) dirs = NULL;

  if (strchr (program, '/') != NULL)
    return g_canonicalize_filename (program, spec->working_directory);
  dirs = g_strsplit (path != NULL ? path : "", ":", -1);
  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autofree char *candidate = g_build_filename (dirs[i][0] != '\0' ? dirs[i] : ".", program, NULL);

      if (g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE) && !g_file_test (candidate, G_FILE_TEST_IS_DIR))
        return g_canonicalize_filename (candidate, spec->working_directory);
    }
  return NULL;
}

/* One value on a line: quoted and escaped, so that a newline, a control
 * character or trailing spaces cannot hide anything. */
static void
append_quoted (GString    *text,
               const char *value)
{
  g_autofree char *escaped = g_strescape (value, "");

  g_string_append_printf (text, "“%s”", escaped);
}

/**
 * cohort_cluster_spec_describe:
 *
 * What starting the cluster runs, for a person to check before it does:
 * the program as it resolves, each argument, the folder, every
 * environment variable the profile sets, the shared port; for a thread
 * cluster, the task and its arguments. Several lines, every value quoted
 * and escaped.
 *
 * Returns: (transfer full): the text
 */
char *
cohort_cluster_spec_describe (const CohortClusterSpec *spec)
{
  GString *text = g_string_new (NULL);

  g_return_val_if_fail (spec != NULL, NULL);

  if (spec->kind == COHORT_CLUSTER_KIND_THREADS)
    {
      /* Translators: a thread cluster runs one of Cohort's own tasks */
      g_string_append_printf (text, _("%s: Cohort's task "), spec->name);
      append_quoted (text, spec->task != NULL ? spec->task : _("messages only"));
      if (spec->arguments != NULL)
        {
          g_string_append (text, _(" with "));
          append_quoted (text, spec->arguments);
        }
      return g_string_free (text, FALSE);
    }

  g_string_append_printf (text, "%s: ", spec->name);
  for (guint i = 0; spec->argv != NULL && spec->argv[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (text, ' ');
      append_quoted (text, spec->argv[i]);
    }
  if (spec->argv != NULL && spec->argv[0] != NULL)
    {
      g_autofree char *program = resolve_program (spec, spec->argv[0]);

      g_string_append (text, "\n    ");
      if (program != NULL)
        {
          g_string_append (text, _("program: "));
          append_quoted (text, program);
        }
      else
        g_string_append (text, _("program: not found"));
    }
  if (spec->working_directory != NULL)
    {
      g_string_append (text, "\n    ");
      g_string_append (text, _("in: "));
      append_quoted (text, spec->working_directory);
    }
  for (guint i = 0; spec->environment != NULL && spec->environment[i] != NULL; i++)
    {
      g_string_append (text, "\n    ");
      g_string_append (text, _("environment: "));
      append_quoted (text, spec->environment[i]);
    }
  if (spec->listen != NULL)
    {
      g_string_append (text, "\n    ");
      g_string_append (text, _("listens on: "));
      append_quoted (text, spec->listen);
    }
  return g_string_free (text, FALSE);
}
