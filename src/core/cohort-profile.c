/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-profile.c: reading *.cohort profiles.
 *
 * GKeyFile does the parsing, but it forgets line numbers and silently
 * merges two groups of the same name, so a first pass over the text finds
 * the line of every group and key, and the syntax errors, before GKeyFile
 * sees it. Every problem is collected (not just the first) so that
 * `cohort --check` can list them all. */

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "cohort-listen.h"
#include "cohort-profile.h"
#include "cohort-task.h"

#define MAX_PROFILE_SIZE (1024 * 1024)
#define MAX_INSTANCES    4096
#define CLUSTER_PREFIX   "Cluster "

struct _CohortProfile
{
  GObject     parent_instance;

  char       *path;
  char       *name;
  GKeyFile   *keyfile;
  GPtrArray  *clusters;
  GArray     *diagnostics;
  guint       n_errors;

  /* group → first line; "group\037key" → first line */
  GHashTable *group_lines;
  GHashTable *key_lines;
};

G_DEFINE_FINAL_TYPE (CohortProfile, cohort_profile, G_TYPE_OBJECT)

G_DEFINE_QUARK (cohort-profile-error-quark, cohort_profile_error)

static const char * const process_keys[] = {
  "Kind", "Command", "Instances", "WorkingDirectory", "Environment",
  "Listen", "Channel", "Restart", "RestartDelay", "RestartDelayMax",
  "MinUptime", "MaxRestarts", "StopMessage", "StopSignal", "StopTimeout",
  "ReadyTimeout", "MaxMemory", NULL
};

static const char * const thread_keys[] = {
  "Kind", "Task", "Threads", "Arguments", "Repeat", "TaskTimeout", NULL
};

static void
clear_diagnostic (gpointer data)
{
  CohortDiagnostic *diagnostic = data;

  g_clear_pointer (&diagnostic->message, g_free);
}

static void
cohort_profile_finalize (GObject *object)
{
  CohortProfile *self = (CohortProfile *) object;

  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->keyfile, g_key_file_unref);
  g_clear_pointer (&self->clusters, g_ptr_array_unref);
  g_clear_pointer (&self->diagnostics, g_array_unref);
  g_clear_pointer (&self->group_lines, g_hash_table_unref);
  g_clear_pointer (&self->key_lines, g_hash_table_unref);

  G_OBJECT_CLASS (cohort_profile_parent_class)->finalize (object);
}

static void
cohort_profile_class_init (CohortProfileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cohort_profile_finalize;
}

static void
reset (CohortProfile *self)
{
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->keyfile, g_key_file_unref);
  g_ptr_array_set_size (self->clusters, 0);
  g_array_set_size (self->diagnostics, 0);
  g_hash_table_remove_all (self->group_lines);
  g_hash_table_remove_all (self->key_lines);
  self->n_errors = 0;
}

static void
cohort_profile_init (CohortProfile *self)
{
  self->clusters = g_ptr_array_new_with_free_func ((GDestroyNotify) cohort_cluster_spec_unref);
  self->diagnostics = g_array_new (FALSE, TRUE, sizeof (CohortDiagnostic));
  g_array_set_clear_func (self->diagnostics, clear_diagnostic);
  self->group_lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->key_lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

CohortProfile *
cohort_profile_new (void)
{
  return g_object_new (COHORT_TYPE_PROFILE, NULL);
}

G_GNUC_PRINTF (4, 5)
static void
add_diagnostic (CohortProfile         *self,
                CohortDiagnosticLevel  level,
                guint                  line,
                const char            *format,
                ...)
{
  CohortDiagnostic diagnostic = { level, line, NULL };
  va_list args;

  va_start (args, format);
  diagnostic.message = g_strdup_vprintf (format, args);
  va_end (args);

  g_array_append_val (self->diagnostics, diagnostic);
  if (level == COHORT_DIAGNOSTIC_ERROR)
    self->n_errors++;
}

static guint
group_line (CohortProfile *self,
            const char    *group)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->group_lines, group));
}

static guint
key_line (CohortProfile *self,
          const char    *group,
          const char    *key)
{
  g_autofree char *id = g_strconcat (group, "\037", key, NULL);
  guint line = GPOINTER_TO_UINT (g_hash_table_lookup (self->key_lines, id));

  return line != 0 ? line : group_line (self, group);
}

static char *
strip_copy (const char *start,
            gsize       length)
{
  return g_strstrip (g_strndup (start, length));
}

/* The first pass: line numbers, duplicate groups, and lines GKeyFile would
 * reject with a message that names no line. */
static void
scan_lines (CohortProfile *self,
            const char    *data,
            gsize          length)
{
  g_autofree char *group = NULL;
  const char *p = data;
  const char *end = data + length;
  guint line = 0;

  while (p < end)
    {
      const char *eol = memchr (p, '\n', end - p);
      const char *next = eol != NULL ? eol + 1 : end;
      g_autofree char *text = strip_copy (p, (eol != NULL ? eol : end) - p);

      line++;
      p = next;

      if (text[0] == '\0' || text[0] == '#')
        continue;

      if (text[0] == '[')
        {
          gsize len = strlen (text);
          guint first;

          if (text[len - 1] != ']' || len < 3)
            {
              add_diagnostic (self, COHORT_DIAGNOSTIC_ERROR, line,
                              _("a group header must look like [Cluster NAME], got “%s”"),
                              text);
              continue;
            }

          g_free (group);
          group = g_strndup (text + 1, len - 2);
          first = group_line (self, group);
          if (first != 0)
            {
              add_diagnostic (self, COHORT_DIAGNOSTIC_ERROR, line,
                              _("[%s] appears twice (first on line %u); each cluster needs its own name"),
                              group, first);
              /* Its keys are not the first group's second values. */
              g_free (group);
              group = g_strdup_printf ("%u\036", line);
            }
          else
            g_hash_table_insert (self->group_lines, g_strdup (group), GUINT_TO_POINTER (line));
          continue;
        }

      {
        const char *equals = strchr (text, '=');
        g_autofree char *key = NULL;
        g_autofree char *id = NULL;
        guint first;

        if (equals == NULL)
          {
            add_diagnostic (self, COHORT_DIAGNOSTIC_ERROR, line,
                            _("expected Key=value, a [group] or a # comment, got “%s”"),
                            text);
            continue;
          }
        if (group == NULL)
          {
            add_diagnostic (self, COHORT_DIAGNOSTIC_ERROR, line,
                            _("“%s” stands before any [group]"), text);
            continue;
          }

        key = strip_copy (text, equals - text);
        if (key[0] == '\0')
          {
            add_diagnostic (self, COHORT_DIAGNOSTIC_ERROR, line,
                            _("a key name is missing before “=”"));
            continue;
          }

        id = g_strconcat (group, "\037", key, NULL);
        first = GPOINTER_TO_UINT (g_hash_table_lookup (self->key_lines, id));
        if (first != 0)
          add_diagnostic (self, COHORT_DIAGNOSTIC_WARNING, line,
                          _("%s is set twice in [%s] (first on line %u); this value counts"),
                          key, group, first);
        g_hash_table_insert (self->key_lines, g_steal_pointer (&id), GUINT_TO_POINTER (line));
      }
    }
}

/* Values */

static gboolean
parse_uint (const char *text,
            guint64     max,
            guint64    *out)
{
  char *end = NULL;
  guint64 value;

  if (!g_ascii_isdigit (text[0]))
    return FALSE;
  errno = 0;
  value = g_ascii_strtoull (text, &end, 10);
  if (errno != 0 || *end != '\0' || value > max)
    return FALSE;
  *out = value;
  return TRUE;
}

static gboolean
parse_seconds (const char *text,
               double      max,
               double     *out)
{
  char *end = NULL;
  double value;

  if (text[0] == '\0' || g_ascii_isspace (text[0]))
    return FALSE;
  errno = 0;
  value = g_ascii_strtod (text, &end);
  if (errno != 0 || *end != '\0' || !isfinite (value) || value < 0 || value > max)
    return FALSE;
  *out = value;
  return TRUE;
}

typedef struct
{
  CohortProfile *self;
  const char    *group;
} Ctx;

/* The value of KEY with GKeyFile's escapes undone, or NULL when absent. */
static char *
get_string (Ctx        *ctx,
            const char *key)
{
  if (!g_key_file_has_key (ctx->self->keyfile, ctx->group, key, NULL))
    return NULL;
  return g_key_file_get_string (ctx->self->keyfile, ctx->group, key, NULL);
}

G_GNUC_PRINTF (3, 4)
static void
key_error (Ctx        *ctx,
           const char *key,
           const char *format,
           ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  add_diagnostic (ctx->self, COHORT_DIAGNOSTIC_ERROR,
                  key_line (ctx->self, ctx->group, key),
                  "%s: %s", key, message);
}

static void
read_uint (Ctx        *ctx,
           const char *key,
           guint64     max,
           guint      *out)
{
  g_autofree char *text = get_string (ctx, key);
  guint64 value;

  if (text == NULL)
    return;
  if (!parse_uint (text, max, &value))
    key_error (ctx, key, _("expected a whole number from 0 to %" G_GUINT64_FORMAT ", got “%s”"),
               max, text);
  else
    *out = (guint) value;
}

static void
read_seconds (Ctx        *ctx,
              const char *key,
              double      max,
              gboolean    allow_zero,
              double     *out)
{
  g_autofree char *text = get_string (ctx, key);
  double value;

  if (text == NULL)
    return;
  if (!parse_seconds (text, max, &value) || (!allow_zero && value <= 0))
    key_error (ctx, key, _("expected seconds, %s %g, got “%s”"),
               allow_zero ? _("from 0 to") : _("more than 0 and at most"),
               max, text);
  else
    *out = value;
}

static gboolean
read_choice (Ctx               *ctx,
             const char        *key,
             const char * const *choices,
             int               *out)
{
  g_autofree char *text = get_string (ctx, key);
  g_autofree char *expected = NULL;

  if (text == NULL)
    return TRUE;
  for (int i = 0; choices[i] != NULL; i++)
    if (g_ascii_strcasecmp (text, choices[i]) == 0)
      {
        *out = i;
        return TRUE;
      }

  expected = g_strjoinv (" | ", (char **) choices);
  key_error (ctx, key, _("expected %s, got “%s”"), expected, text);
  return FALSE;
}

static char *
resolve_directory (CohortProfile *self,
                   const char    *text)
{
  g_autofree char *expanded = NULL;
  g_autofree char *base = NULL;

  if (g_str_equal (text, "~"))
    expanded = g_strdup (g_get_home_dir ());
  else if (g_str_has_prefix (text, "~/"))
    expanded = g_build_filename (g_get_home_dir (), text + 2, NULL);
  else
    expanded = g_strdup (text);

  if (self->path != NULL)
    base = g_path_get_dirname (self->path);

  return g_canonicalize_filename (expanded, base);
}

static gboolean
valid_cluster_name (const char *name)
{
  if (name[0] == '\0')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return TRUE;
}

static void
warn_unknown_keys (Ctx                *ctx,
                   const char * const *known)
{
  g_auto(GStrv) keys = g_key_file_get_keys (ctx->self->keyfile, ctx->group, NULL, NULL);

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      /* Localized variants (Name[de]) are fine wherever the key is. */
      g_autofree char *bare = g_strndup (keys[i], strcspn (keys[i], "["));

      if (!g_strv_contains (known, bare))
        add_diagnostic (ctx->self, COHORT_DIAGNOSTIC_WARNING,
                        key_line (ctx->self, ctx->group, keys[i]),
                        _("unknown key %s in [%s]; it is ignored"),
                        keys[i], ctx->group);
    }
}

static void
parse_process_cluster (Ctx               *ctx,
                       CohortClusterSpec *spec)
{
  static const char * const channels[] = { "auto", "ndjson", "node", "none", NULL };
  static const char * const restarts[] = { "on-failure", "always", "never", NULL };
  g_autofree char *command = get_string (ctx, "Command");
  g_autofree char *instances = get_string (ctx, "Instances");
  g_autofree char *directory = get_string (ctx, "WorkingDirectory");
  g_autofree char *listen = get_string (ctx, "Listen");
  g_autofree char *stop_signal = get_string (ctx, "StopSignal");
  g_autofree char *max_memory = get_string (ctx, "MaxMemory");
  int choice;

  if (command == NULL || g_strstrip (command)[0] == '\0')
    add_diagnostic (ctx->self, COHORT_DIAGNOSTIC_ERROR,
                    key_line (ctx->self, ctx->group, "Command"),
                    _("[%s] needs a Command (the program to run and its arguments)"),
                    ctx->group);
  else
    {
      g_autoptr(GError) error = NULL;
      char **argv = NULL;

      if (!g_shell_parse_argv (command, NULL, &argv, &error))
        key_error (ctx, "Command", "%s", error->message);
      else
        {
          spec->command = g_strdup (command);
          spec->argv = argv;
        }
    }

  if (instances != NULL)
    {
      guint64 value;

      if (g_ascii_strcasecmp (instances, "max") == 0)
        spec->instances = COHORT_INSTANCES_MAX;
      else if (parse_uint (instances, MAX_INSTANCES, &value) && value >= 1)
        spec->instances = (int) value;
      else
        key_error (ctx, "Instances",
                   _("expected a whole number from 1 to %d, or max, got “%s”"),
                   MAX_INSTANCES, instances);
    }

  if (directory != NULL && directory[0] != '\0')
    spec->working_directory = resolve_directory (ctx->self, directory);

  if (g_key_file_has_key (ctx->self->keyfile, ctx->group, "Environment", NULL))
    {
      g_auto(GStrv) list = g_key_file_get_string_list (ctx->self->keyfile, ctx->group,
                                                       "Environment", NULL, NULL);
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

      for (guint i = 0; list != NULL && list[i] != NULL; i++)
        {
          const char *item = list[i];
          const char *equals = strchr (item, '=');

          if (item[0] == '\0')
            continue;
          if (equals == NULL || equals == item)
            {
              key_error (ctx, "Environment",
                         _("expected NAME=value items separated by “;”, got “%s”"), item);
              continue;
            }
          g_strv_builder_add (builder, item);
        }
      g_strfreev (spec->environment);
      spec->environment = g_strv_builder_end (builder);
    }

  if (listen != NULL && g_strstrip (listen)[0] != '\0')
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocketAddress) address = cohort_listen_parse (listen, &error);

      if (address == NULL)
        key_error (ctx, "Listen", "%s", error->message);
      else
        spec->listen = g_strdup (listen);
    }

  if (read_choice (ctx, "Channel", channels, &choice) &&
      g_key_file_has_key (ctx->self->keyfile, ctx->group, "Channel", NULL))
    spec->channel = (CohortChannelMode) choice;
  if (read_choice (ctx, "Restart", restarts, &choice) &&
      g_key_file_has_key (ctx->self->keyfile, ctx->group, "Restart", NULL))
    spec->restart = (CohortRestartPolicy) choice;

  read_uint (ctx, "RestartDelay", 24 * 3600 * 1000, &spec->restart_delay_ms);
  read_uint (ctx, "RestartDelayMax", 24 * 3600 * 1000, &spec->restart_delay_max_ms);
  if (spec->restart_delay_max_ms < spec->restart_delay_ms)
    key_error (ctx, "RestartDelayMax",
               _("%u ms is below RestartDelay (%u ms)"),
               spec->restart_delay_max_ms, spec->restart_delay_ms);
  read_seconds (ctx, "MinUptime", 24 * 3600, TRUE, &spec->min_uptime_s);
  read_uint (ctx, "MaxRestarts", 1000000, &spec->max_restarts);

  /* StopMessage is JSON: read it raw, since GKeyFile's own escapes (\n)
   * would otherwise corrupt JSON's. */
  if (g_key_file_has_key (ctx->self->keyfile, ctx->group, "StopMessage", NULL))
    {
      g_autofree char *raw = g_key_file_get_value (ctx->self->keyfile, ctx->group,
                                                   "StopMessage", NULL);

      g_strstrip (raw);
      if (raw[0] == '\0')
        g_clear_pointer (&spec->stop_message, g_free);
      else
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(JsonNode) node = json_from_string (raw, &error);

          if (node == NULL)
            key_error (ctx, "StopMessage", _("not valid JSON (%s): %s"), error->message, raw);
          else
            {
              g_free (spec->stop_message);
              spec->stop_message = json_to_string (node, FALSE);
            }
        }
    }

  if (stop_signal != NULL && !cohort_signal_from_name (stop_signal, &spec->stop_signal))
    key_error (ctx, "StopSignal",
               _("expected a signal name such as SIGTERM, SIGINT or SIGQUIT, got “%s”"),
               stop_signal);

  read_seconds (ctx, "StopTimeout", 3600, FALSE, &spec->stop_timeout_s);
  read_seconds (ctx, "ReadyTimeout", 3600, TRUE, &spec->ready_timeout_s);

  if (spec->ready_timeout_s > 0 && spec->channel == COHORT_CHANNEL_NONE)
    key_error (ctx, "ReadyTimeout",
               _("a worker says it is ready on its channel, and Channel is none"));

  if (max_memory != NULL)
    {
      guint64 value;

      if (!parse_uint (max_memory, G_MAXUINT32, &value))
        key_error (ctx, "MaxMemory", _("expected MiB as a whole number (0 for no limit), got “%s”"),
                   max_memory);
      else
        spec->max_memory_mib = value;
    }

  warn_unknown_keys (ctx, process_keys);
}

static void
parse_thread_cluster (Ctx               *ctx,
                      CohortClusterSpec *spec)
{
  g_autofree char *task = get_string (ctx, "Task");
  g_autofree char *threads = get_string (ctx, "Threads");
  g_autofree char *repeat = get_string (ctx, "Repeat");
  g_autoptr(JsonNode) arguments = NULL;
  g_auto(GStrv) keys = NULL;

  if (task != NULL && g_strstrip (task)[0] != '\0')
    {
      if (!cohort_task_exists (task))
        {
          g_autofree char *names = g_strjoinv (" | ", (char **) cohort_task_list_names ());

          key_error (ctx, "Task", _("expected %s, got “%s”"), names, task);
        }
      else
        spec->task = g_strdup (task);
    }

  if (threads != NULL)
    {
      guint64 value;

      if (g_ascii_strcasecmp (threads, "max") == 0)
        spec->instances = COHORT_INSTANCES_MAX;
      else if (parse_uint (threads, MAX_INSTANCES, &value) && value >= 1)
        spec->instances = (int) value;
      else
        key_error (ctx, "Threads", _("expected a whole number from 1 to %d, or max, got “%s”"),
                   MAX_INSTANCES, threads);
    }

  if (g_key_file_has_key (ctx->self->keyfile, ctx->group, "Arguments", NULL))
    {
      g_autofree char *raw = g_key_file_get_value (ctx->self->keyfile, ctx->group, "Arguments", NULL);
      g_autoptr(GError) error = NULL;

      g_strstrip (raw);
      arguments = json_from_string (raw[0] != '\0' ? raw : "{}", &error);
      if (arguments == NULL)
        key_error (ctx, "Arguments", _("not valid JSON (%s): %s"), error->message, raw);
      else if (!JSON_NODE_HOLDS_OBJECT (arguments))
        key_error (ctx, "Arguments", _("expected a JSON object such as {\"n\": 1000000}, got %s"), raw);
      else
        {
          g_free (spec->arguments);
          spec->arguments = json_to_string (arguments, FALSE);
        }
    }

  if (repeat != NULL)
    {
      if (g_ascii_strcasecmp (repeat, "true") == 0)
        spec->repeat = TRUE;
      else if (g_ascii_strcasecmp (repeat, "false") == 0)
        spec->repeat = FALSE;
      else
        key_error (ctx, "Repeat", _("expected true or false, got “%s”"), repeat);
    }

  read_seconds (ctx, "TaskTimeout", 24 * 3600, TRUE, &spec->task_timeout_s);

  if (spec->repeat && spec->task == NULL && task == NULL)
    add_diagnostic (ctx->self, COHORT_DIAGNOSTIC_ERROR,
                    key_line (ctx->self, ctx->group, "Repeat"),
                    _("Repeat=true needs a Task to repeat"));

  /* The task's own parameters, checked now rather than on every run. */
  if (spec->task != NULL && arguments != NULL && JSON_NODE_HOLDS_OBJECT (arguments))
    {
      g_autoptr(GError) error = NULL;

      if (!cohort_task_validate (spec->task, arguments, &error))
        key_error (ctx, "Arguments", "%s", error->message);
    }
  else if (spec->task != NULL && arguments == NULL)
    {
      g_autoptr(GError) error = NULL;

      if (!cohort_task_validate (spec->task, NULL, &error))
        add_diagnostic (ctx->self, COHORT_DIAGNOSTIC_ERROR, group_line (ctx->self, ctx->group),
                        _("[%s] needs Arguments for %s: %s"), ctx->group, spec->task, error->message);
    }

  /* Process keys do not apply to threads: say so rather than ignore. */
  keys = g_key_file_get_keys (ctx->self->keyfile, ctx->group, NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    if (!g_strv_contains (thread_keys, keys[i]) && g_strv_contains (process_keys, keys[i]))
      add_diagnostic (ctx->self, COHORT_DIAGNOSTIC_WARNING,
                      key_line (ctx->self, ctx->group, keys[i]),
                      _("%s applies to process clusters only; it is ignored here"), keys[i]);
    else if (!g_strv_contains (thread_keys, keys[i]))
      add_diagnostic (ctx->self, COHORT_DIAGNOSTIC_WARNING,
                      key_line (ctx->self, ctx->group, keys[i]),
                      _("unknown key %s in [%s]; it is ignored"), keys[i], ctx->group);
}

static void
parse_cluster (CohortProfile *self,
               const char    *group)
{
  static const char * const kinds[] = { "process", "threads", NULL };
  g_autoptr(CohortClusterSpec) spec = NULL;
  const char *name = group + strlen (CLUSTER_PREFIX);
  Ctx ctx = { self, group };
  guint errors_before = self->n_errors;
  int kind = COHORT_CLUSTER_KIND_PROCESS;

  if (!valid_cluster_name (name))
    {
      add_diagnostic (self, COHORT_DIAGNOSTIC_ERROR, group_line (self, group),
                      _("cluster name “%s”: use letters, digits, “-”, “_” and “.”"),
                      name);
      return;
    }

  if (!read_choice (&ctx, "Kind", kinds, &kind))
    return;

  spec = cohort_cluster_spec_new (name, (CohortClusterKind) kind);
  if (kind == COHORT_CLUSTER_KIND_THREADS)
    parse_thread_cluster (&ctx, spec);
  else
    parse_process_cluster (&ctx, spec);

  if (self->n_errors == errors_before)
    g_ptr_array_add (self->clusters, g_steal_pointer (&spec));
}

static void
parse_groups (CohortProfile *self)
{
  g_auto(GStrv) groups = g_key_file_get_groups (self->keyfile, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      const char *group = groups[i];

      if (g_str_equal (group, "Profile"))
        {
          static const char * const profile_keys[] = { "Name", NULL };
          Ctx ctx = { self, group };
          g_autofree char *name = get_string (&ctx, "Name");

          if (name != NULL && g_strstrip (name)[0] != '\0')
            {
              g_free (self->name);
              self->name = g_steal_pointer (&name);
            }
          warn_unknown_keys (&ctx, profile_keys);
        }
      else if (g_str_has_prefix (group, CLUSTER_PREFIX))
        parse_cluster (self, group);
      else
        add_diagnostic (self, COHORT_DIAGNOSTIC_WARNING, group_line (self, group),
                        _("unknown group [%s]; groups are [Profile] and [Cluster NAME]"),
                        group);
    }
}

static char *
default_name (const char *path)
{
  g_autofree char *base = NULL;

  if (path == NULL)
    return g_strdup (_("Untitled"));
  base = g_path_get_basename (path);
  if (g_str_has_suffix (base, ".cohort"))
    base[strlen (base) - strlen (".cohort")] = '\0';
  return g_steal_pointer (&base);
}

static gboolean
finish (CohortProfile  *self,
        GError        **error)
{
  const CohortDiagnostic *first = NULL;
  g_autofree char *text = NULL;

  if (self->name == NULL)
    self->name = default_name (self->path);

  if (self->n_errors == 0)
    return TRUE;

  for (guint i = 0; i < self->diagnostics->len && first == NULL; i++)
    {
      const CohortDiagnostic *d = &g_array_index (self->diagnostics, CohortDiagnostic, i);

      if (d->level == COHORT_DIAGNOSTIC_ERROR)
        first = d;
    }

  text = cohort_profile_format_diagnostic (self, first);
  if (self->n_errors > 1)
    g_set_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID,
                 ngettext ("%s (and %u more error)", "%s (and %u more errors)",
                           self->n_errors - 1),
                 text, self->n_errors - 1);
  else
    g_set_error_literal (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID, text);
  return FALSE;
}

/**
 * cohort_profile_load_data:
 * @path: (nullable): the file the data came from: named in messages,
 *   and relative working directories resolve against its folder
 *
 * Returns: %FALSE with @error set to the first problem if there was any
 *   error; every problem, warnings included, is in the diagnostics.
 */
gboolean
cohort_profile_load_data (CohortProfile  *self,
                          const char     *data,
                          gssize          length,
                          const char     *path,
                          GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *owned_path = g_strdup (path);
  const char *bad_utf8 = NULL;

  g_return_val_if_fail (COHORT_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (data != NULL, FALSE);

  if (length < 0)
    length = strlen (data);

  reset (self);
  g_free (self->path);
  self->path = g_steal_pointer (&owned_path);

  if (length > MAX_PROFILE_SIZE)
    {
      add_diagnostic (self, COHORT_DIAGNOSTIC_ERROR, 0,
                      _("%" G_GSSIZE_FORMAT " bytes is too large for a profile (at most %d)"),
                      length, MAX_PROFILE_SIZE);
      return finish (self, error);
    }

  if (memchr (data, '\0', length) != NULL ||
      !g_utf8_validate_len (data, length, &bad_utf8))
    {
      guint line = 1;
      const char *stop = bad_utf8 != NULL ? bad_utf8 : (const char *) memchr (data, '\0', length);

      for (const char *p = data; p < stop; p++)
        line += *p == '\n';
      add_diagnostic (self, COHORT_DIAGNOSTIC_ERROR, line,
                      _("not a text profile (binary data or invalid UTF-8)"));
      return finish (self, error);
    }

  scan_lines (self, data, length);
  if (self->n_errors > 0)
    return finish (self, error);

  self->keyfile = g_key_file_new ();
  if (!g_key_file_load_from_data (self->keyfile, data, length,
                                  G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS,
                                  &local_error))
    {
      add_diagnostic (self, COHORT_DIAGNOSTIC_ERROR, 0, "%s", local_error->message);
      return finish (self, error);
    }

  parse_groups (self);
  return finish (self, error);
}

static gboolean
fail_whole_file (CohortProfile      *self,
                 const char         *path,
                 CohortProfileError  code,
                 const char         *message,
                 GError            **error)
{
  reset (self);
  g_free (self->path);
  self->path = g_strdup (path);
  add_diagnostic (self, COHORT_DIAGNOSTIC_ERROR, 0, "%s", message);
  finish (self, error);
  if (error != NULL && *error != NULL)
    (*error)->code = code;
  return FALSE;
}

gboolean
cohort_profile_load_file (CohortProfile  *self,
                          const char     *path,
                          GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *data = NULL;
  gsize length = 0;
  GStatBuf st;

  g_return_val_if_fail (COHORT_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  /* Refuse a huge file before reading it all. */
  if (g_stat (path, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > MAX_PROFILE_SIZE)
    {
      g_autofree char *message =
        g_strdup_printf (_("%" G_GINT64_FORMAT " bytes is too large for a profile (at most %d)"),
                         (gint64) st.st_size, MAX_PROFILE_SIZE);

      return fail_whole_file (self, path, COHORT_PROFILE_ERROR_INVALID, message, error);
    }

  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      g_autofree char *message =
        g_strdup_printf (_("cannot read: %s"),
                         local_error->code == G_FILE_ERROR_NOENT ? _("no such file")
                         : local_error->code == G_FILE_ERROR_ACCES ? _("permission denied")
                         : local_error->code == G_FILE_ERROR_ISDIR ? _("it is a folder")
                         : local_error->message);

      return fail_whole_file (self, path, COHORT_PROFILE_ERROR_READ, message, error);
    }

  return cohort_profile_load_data (self, data, length, path, error);
}

const char *
cohort_profile_get_name (CohortProfile *self)
{
  g_return_val_if_fail (COHORT_IS_PROFILE (self), NULL);
  return self->name;
}

const char *
cohort_profile_get_path (CohortProfile *self)
{
  g_return_val_if_fail (COHORT_IS_PROFILE (self), NULL);
  return self->path;
}

/**
 * cohort_profile_get_clusters:
 *
 * Returns: (transfer none) (element-type CohortClusterSpec): the clusters,
 *   in file order; empty when the profile had errors
 */
GPtrArray *
cohort_profile_get_clusters (CohortProfile *self)
{
  g_return_val_if_fail (COHORT_IS_PROFILE (self), NULL);
  return self->n_errors == 0 ? self->clusters : NULL;
}

guint
cohort_profile_get_n_diagnostics (CohortProfile *self)
{
  g_return_val_if_fail (COHORT_IS_PROFILE (self), 0);
  return self->diagnostics->len;
}

const CohortDiagnostic *
cohort_profile_get_diagnostic (CohortProfile *self,
                               guint          index)
{
  g_return_val_if_fail (COHORT_IS_PROFILE (self), NULL);
  g_return_val_if_fail (index < self->diagnostics->len, NULL);
  return &g_array_index (self->diagnostics, CohortDiagnostic, index);
}

guint
cohort_profile_get_n_errors (CohortProfile *self)
{
  g_return_val_if_fail (COHORT_IS_PROFILE (self), 0);
  return self->n_errors;
}

/* "demo.cohort:12: Instances: expected …", the way compilers say it, so
 * editors and terminals can jump to the line. */
char *
cohort_profile_format_diagnostic (CohortProfile          *self,
                                  const CohortDiagnostic *diagnostic)
{
  const char *file;
  const char *level;

  g_return_val_if_fail (COHORT_IS_PROFILE (self), NULL);
  g_return_val_if_fail (diagnostic != NULL, NULL);

  file = self->path != NULL ? self->path : _("(profile)");
  level = diagnostic->level == COHORT_DIAGNOSTIC_WARNING ? _("warning: ") : "";

  if (diagnostic->line == 0)
    return g_strdup_printf ("%s: %s%s", file, level, diagnostic->message);
  return g_strdup_printf ("%s:%u: %s%s", file, diagnostic->line, level, diagnostic->message);
}
