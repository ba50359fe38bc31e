/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-profile.c: reading, editing and saving *.cohort profiles.
 *
 * GKeyFile does the parsing, but it forgets line numbers and silently
 * merges two groups of the same name, so a first pass over the text finds
 * the line of every group and key, and the syntax errors, before GKeyFile
 * sees it. Every problem is collected (not just the first) so that
 * `cohort --check` can list them all.
 *
 * The document is the file's lines as written. An edit rewrites, drops or
 * inserts lines of that text and then parses the result again, the same
 * way a file is loaded: what was written by hand stays byte for byte, and
 * the clusters always are what the text says. An edit whose text would not
 * load is refused and changes nothing. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cohort-listen.h"
#include "cohort-profile.h"
#include "cohort-task.h"
#include "cohort-trust.h"

#define MAX_PROFILE_SIZE (1024 * 1024)
#define MAX_INSTANCES    4096
#define CLUSTER_PREFIX   "Cluster "
#define PROFILE_GROUP    "Profile"

typedef enum
{
  LINE_BLANK,
  LINE_COMMENT,
  LINE_GROUP,
  LINE_KEY,
  LINE_BAD,
} LineKind;

typedef struct
{
  char       *text;    /* as written, without its line ending */
  const char *eol;     /* "\n", "\r\n", or "" for a last line without one */
  LineKind    kind;
  char       *name;    /* LINE_GROUP: the group; LINE_KEY: the key */
  gsize       value;   /* LINE_KEY: where the value starts in text */
} Line;

struct _CohortProfile
{
  GObject     parent_instance;

  char       *path;
  /* where relative WorkingDirectory= resolve: the folder of the real
   * file, links resolved (see folder_of()) */
  char       *base_dir;
  char       *name;
  GKeyFile   *keyfile;
  GPtrArray  *clusters;
  GArray     *diagnostics;
  guint       n_errors;

  /* the document; FALSE when the file could not be read or was not text,
   * and there is nothing that could be saved back */
  GPtrArray  *lines;
  gboolean    has_text;

  /* group → first line; "group\037key" → first line */
  GHashTable *group_lines;
  GHashTable *key_lines;

  /* the file as it was when loaded or last saved, to tell whether
   * something else wrote it since */
  struct stat disk;

  guint       modified : 1;
  guint       trusted : 1;
  guint       has_disk : 1;
};

G_DEFINE_FINAL_TYPE (CohortProfile, cohort_profile, G_TYPE_OBJECT)

G_DEFINE_QUARK (cohort-profile-error-quark, cohort_profile_error)

enum {
  PROP_0,
  PROP_MODIFIED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
clear_diagnostic (gpointer data)
{
  CohortDiagnostic *diagnostic = data;

  g_clear_pointer (&diagnostic->message, g_free);
}

static void
line_free (gpointer data)
{
  Line *line = data;

  g_free (line->text);
  g_free (line->name);
  g_free (line);
}

static void
cohort_profile_finalize (GObject *object)
{
  CohortProfile *self = (CohortProfile *) object;

  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->base_dir, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->keyfile, g_key_file_unref);
  g_clear_pointer (&self->clusters, g_ptr_array_unref);
  g_clear_pointer (&self->diagnostics, g_array_unref);
  g_clear_pointer (&self->lines, g_ptr_array_unref);
  g_clear_pointer (&self->group_lines, g_hash_table_unref);
  g_clear_pointer (&self->key_lines, g_hash_table_unref);

  G_OBJECT_CLASS (cohort_profile_parent_class)->finalize (object);
}

static void
cohort_profile_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  CohortProfile *self = COHORT_PROFILE (object);

  switch (prop_id)
    {
    case PROP_MODIFIED:
      g_value_set_boolean (value, self->modified);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cohort_profile_class_init (CohortProfileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cohort_profile_finalize;
  object_class->get_property = cohort_profile_get_property;

  /**
   * CohortProfile:modified:
   *
   * Whether the document was edited since it was loaded or saved.
   */
  properties[PROP_MODIFIED] =
    g_param_spec_boolean ("modified", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
reset (CohortProfile *self)
{
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->keyfile, g_key_file_unref);
  g_ptr_array_set_size (self->clusters, 0);
  g_array_set_size (self->diagnostics, 0);
  g_ptr_array_set_size (self->lines, 0);
  self->has_text = FALSE;
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
  self->lines = g_ptr_array_new_with_free_func (line_free);
  self->group_lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->key_lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* A new, empty profile is the user's own: there is nothing to ask about. */
  self->has_text = TRUE;
  self->trusted = TRUE;
}

static void
set_modified (CohortProfile *self,
              gboolean       modified)
{
  if (self->modified == !!modified)
    return;
  self->modified = !!modified;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
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

/* The text's lines, each with its own ending, so that they can be written
 * back exactly (CRLF, a last line without a newline). */
static void
split_lines (CohortProfile *self,
             const char    *data,
             gsize          length)
{
  const char *p = data;
  const char *end = data + length;

  while (p < end)
    {
      const char *eol = memchr (p, '\n', end - p);
      Line *line = g_new0 (Line, 1);

      if (eol == NULL)
        {
          line->text = g_strndup (p, end - p);
          line->eol = "";
          p = end;
        }
      else
        {
          gboolean crlf = eol > p && eol[-1] == '\r';

          line->text = g_strndup (p, eol - p - (crlf ? 1 : 0));
          line->eol = crlf ? "\r\n" : "\n";
          p = eol + 1;
        }
      g_ptr_array_add (self->lines, line);
    }
}

/* The first pass: what each line is, line numbers, duplicate groups, and
 * lines GKeyFile would reject with a message that names no line. */
static void
scan_lines (CohortProfile *self)
{
  g_autofree char *group = NULL;
  guint line = 0;

  for (guint i = 0; i < self->lines->len; i++)
    {
      Line *l = g_ptr_array_index (self->lines, i);
      g_autofree char *text = strip_copy (l->text, strlen (l->text));

      line++;
      l->kind = text[0] == '\0' ? LINE_BLANK : text[0] == '#' ? LINE_COMMENT : LINE_BAD;

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
          l->kind = LINE_GROUP;
          l->name = g_strdup (group);
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

        l->kind = LINE_KEY;
        l->name = g_strdup (key);
        l->value = strchr (l->text, '=') + 1 - l->text;
        while (g_ascii_isspace (l->text[l->value]))
          l->value++;

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

  if (g_str_equal (text, "~"))
    expanded = g_strdup (g_get_home_dir ());
  else if (g_str_has_prefix (text, "~/"))
    expanded = g_build_filename (g_get_home_dir (), text + 2, NULL);
  else
    expanded = g_strdup (text);

  return g_canonicalize_filename (expanded, self->base_dir);
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

static char *
invalid_name_message (const char *name)
{
  return g_strdup_printf (_("cluster name “%s”: use letters, digits, “-”, “_” and “.”"), name);
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

  warn_unknown_keys (ctx, cohort_cluster_spec_list_keys (COHORT_CLUSTER_KIND_PROCESS));
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
  const char * const *process_keys;
  const char * const *thread_keys;

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
  process_keys = cohort_cluster_spec_list_keys (COHORT_CLUSTER_KIND_PROCESS);
  thread_keys = cohort_cluster_spec_list_keys (COHORT_CLUSTER_KIND_THREADS);
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
      g_autofree char *message = invalid_name_message (name);

      add_diagnostic (self, COHORT_DIAGNOSTIC_ERROR, group_line (self, group), "%s", message);
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

      if (g_str_equal (group, PROFILE_GROUP))
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

/* The first error as @error, and how many more there are. */
static void
set_error (CohortProfile  *self,
           gboolean        with_place,
           GError        **error)
{
  const CohortDiagnostic *first = NULL;
  g_autofree char *text = NULL;

  g_assert (self->n_errors > 0);

  for (guint i = 0; i < self->diagnostics->len && first == NULL; i++)
    {
      const CohortDiagnostic *d = &g_array_index (self->diagnostics, CohortDiagnostic, i);

      if (d->level == COHORT_DIAGNOSTIC_ERROR)
        first = d;
    }

  text = with_place ? cohort_profile_format_diagnostic (self, first) : g_strdup (first->message);
  if (self->n_errors > 1)
    g_set_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID,
                 ngettext ("%s (and %u more error)", "%s (and %u more errors)",
                           self->n_errors - 1),
                 text, self->n_errors - 1);
  else
    g_set_error_literal (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID, text);
}

static gboolean
finish (CohortProfile  *self,
        GError        **error)
{
  if (self->name == NULL)
    self->name = default_name (self->path);

  if (self->n_errors == 0)
    return TRUE;

  set_error (self, TRUE, error);
  return FALSE;
}

static char *
real_path (const char *path)
{
  char *real = realpath (path, NULL);
  char *copy;

  if (real == NULL)
    return NULL;
  copy = g_strdup (real);
  free (real);
  return copy;
}

/* The folder relative working directories of the profile at @path
 * resolve against: the real file's, links resolved. Trust is kept by the
 * real file (cohort-trust.c), so a link elsewhere to a profile Cohort
 * saved is trusted; were its folders beside the link, whoever can make
 * the link would choose what the trusted profile runs. A file that does
 * not exist yet goes by its folder, resolved the same way: where it will
 * be. Absolute either way, as g_canonicalize_filename () wants its base:
 * a profile named relative to the current folder ("cohort --check
 * web.cohort") resolves against that folder. */
static char *
folder_of (const char *path)
{
  g_autofree char *real = real_path (path);
  g_autofree char *absolute = NULL;
  g_autofree char *dir = NULL;
  char *real_dir;

  if (real != NULL)
    return g_path_get_dirname (real);

  absolute = g_canonicalize_filename (path, NULL);
  dir = g_path_get_dirname (absolute);
  real_dir = real_path (dir);
  return real_dir != NULL ? real_dir : g_steal_pointer (&dir);
}

static void
set_path (CohortProfile *self,
          const char    *path)
{
  g_autofree char *owned = g_strdup (path);

  g_free (self->path);
  self->path = g_steal_pointer (&owned);
  g_clear_pointer (&self->base_dir, g_free);
  if (self->path != NULL)
    self->base_dir = folder_of (self->path);
}

static char *
too_large_message (gint64 size)
{
  return g_strdup_printf (_("%" G_GINT64_FORMAT " bytes is too large for a profile (at most %d)"),
                          size, MAX_PROFILE_SIZE);
}

/* Everything a load does with the text, into the profile as it is now
 * (path and base_dir set), whatever it held before. */
static gboolean
parse_text (CohortProfile  *self,
            const char     *data,
            gsize           length,
            GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *bad_utf8 = NULL;

  reset (self);

  if (length > MAX_PROFILE_SIZE)
    {
      g_autofree char *message = too_large_message (length);

      add_diagnostic (self, COHORT_DIAGNOSTIC_ERROR, 0, "%s", message);
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

  self->has_text = TRUE;
  split_lines (self, data, length);
  scan_lines (self);
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

/**
 * cohort_profile_load_data:
 * @path: (nullable): the file the data came from: named in messages,
 *   relative working directories resolve against its folder, and whether
 *   the profile is trusted depends on it
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
  gboolean ok;

  g_return_val_if_fail (COHORT_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (data != NULL, FALSE);

  if (length < 0)
    length = strlen (data);

  set_path (self, path);
  ok = parse_text (self, data, length, error);
  self->trusted = path != NULL && self->has_text && cohort_trust_check (path, data, length);
  self->has_disk = FALSE;
  set_modified (self, FALSE);
  return ok;
}

static gboolean
fail_whole_file (CohortProfile      *self,
                 const char         *path,
                 CohortProfileError  code,
                 const char         *message,
                 GError            **error)
{
  reset (self);
  set_path (self, path);
  self->trusted = FALSE;
  self->has_disk = FALSE;
  set_modified (self, FALSE);
  add_diagnostic (self, COHORT_DIAGNOSTIC_ERROR, 0, "%s", message);
  finish (self, error);
  if (error != NULL && *error != NULL)
    (*error)->code = code;
  return FALSE;
}

static const char *
describe_errno (int      errsv,
                gboolean writing)
{
  switch (errsv)
    {
    case ENOENT:
      return writing ? _("its folder does not exist") : _("no such file");
    case EACCES:
    case EPERM:
      return _("permission denied");
    case EISDIR:
      return _("it is a folder");
    case EINVAL:
      return _("not a regular file");
    default:
      return g_strerror (errsv);
    }
}

static char *
read_error_message (int errsv)
{
  return g_strdup_printf (_("cannot read: %s"), describe_errno (errsv, FALSE));
}

/* At most MAX_PROFILE_SIZE + 1 bytes of a regular file: a huge file is
 * refused without reading it, and a FIFO or a device without blocking on
 * it or reading forever. */
static char *
read_file (const char          *path,
           gsize               *length,
           struct stat         *st_out,
           CohortProfileError  *code,
           char               **message)
{
  g_autoptr(GString) text = NULL;
  struct stat st;
  int fd;

  *code = COHORT_PROFILE_ERROR_READ;
  *message = NULL;
  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
  if (fd < 0)
    {
      int errsv = errno;

      *message = read_error_message (errsv);
      return NULL;
    }

  if (fstat (fd, &st) != 0)
    *message = read_error_message (errno);
  else if (S_ISDIR (st.st_mode))
    *message = read_error_message (EISDIR);
  else if (!S_ISREG (st.st_mode))
    *message = read_error_message (EINVAL);
  else if (st.st_size > MAX_PROFILE_SIZE)
    {
      *code = COHORT_PROFILE_ERROR_INVALID;
      *message = too_large_message (st.st_size);
    }
  else
    {
      text = g_string_sized_new (st.st_size + 1);
      while (*message == NULL)
        {
          char buffer[16384];
          gssize n = read (fd, buffer, sizeof buffer);

          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            *message = read_error_message (errno);
          else if (n == 0)
            break;
          else
            g_string_append_len (text, buffer, n);

          /* It grew since fstat(). */
          if (text->len > MAX_PROFILE_SIZE && *message == NULL)
            {
              *code = COHORT_PROFILE_ERROR_INVALID;
              *message = too_large_message (text->len);
            }
        }
    }
  g_close (fd, NULL);

  if (*message != NULL)
    return NULL;
  *length = text->len;
  *st_out = st;
  return g_string_free (g_steal_pointer (&text), FALSE);
}

gboolean
cohort_profile_load_file (CohortProfile  *self,
                          const char     *path,
                          GError        **error)
{
  g_autofree char *message = NULL;
  g_autofree char *data = NULL;
  CohortProfileError code;
  struct stat st;
  gsize length = 0;
  gboolean ok;

  g_return_val_if_fail (COHORT_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  data = read_file (path, &length, &st, &code, &message);
  if (data == NULL)
    return fail_whole_file (self, path, code, message, error);

  ok = cohort_profile_load_data (self, data, length, path, error);
  self->disk = st;
  self->has_disk = TRUE;
  return ok;
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

gboolean
cohort_profile_get_modified (CohortProfile *self)
{
  g_return_val_if_fail (COHORT_IS_PROFILE (self), FALSE);
  return self->modified;
}

/**
 * cohort_profile_get_trusted:
 *
 * Whether the text loaded is the one Cohort last saved at this path on
 * this machine (or the demo profile Cohort ships); otherwise it may run
 * commands someone else wrote, and the user is asked first. A profile
 * made with cohort_profile_new() is trusted; one loaded from data without
 * a path is not.
 */
gboolean
cohort_profile_get_trusted (CohortProfile *self)
{
  g_return_val_if_fail (COHORT_IS_PROFILE (self), FALSE);
  return self->trusted;
}

/**
 * cohort_profile_get_changed_on_disk:
 *
 * Whether the file at the profile's path is no longer the one it was
 * loaded from or last saved as: another size, another modification time,
 * or another file (something saved it by replacing it, as Cohort does),
 * or it is gone. Saving would overwrite what something else wrote, so
 * the window asks first. Only the file's metadata is looked at, not its
 * text. %FALSE for a profile that was not loaded from a file or saved.
 */
gboolean
cohort_profile_get_changed_on_disk (CohortProfile *self)
{
  struct stat st;

  g_return_val_if_fail (COHORT_IS_PROFILE (self), FALSE);

  if (!self->has_disk || self->path == NULL)
    return FALSE;
  if (stat (self->path, &st) != 0)
    return TRUE;
  return st.st_dev != self->disk.st_dev ||
         st.st_ino != self->disk.st_ino ||
         st.st_size != self->disk.st_size ||
         st.st_mtim.tv_sec != self->disk.st_mtim.tv_sec ||
         st.st_mtim.tv_nsec != self->disk.st_mtim.tv_nsec;
}

/* Editing */

#define LINE(self, i) ((Line *) g_ptr_array_index ((self)->lines, (i)))

/* What an edit does to the document, by line as it is now: a line is
 * kept, rewritten or dropped, and new lines go before any line or at the
 * end (index len). */
typedef struct
{
  CohortProfile  *self;
  /* the document's length when the edit began: applying it replaces the
   * document */
  guint           n_lines;
  char          **replace;
  gboolean       *drop;
  GPtrArray     **insert;
} Edit;

static Edit *
edit_new (CohortProfile *self)
{
  Edit *edit = g_new0 (Edit, 1);
  guint n = self->lines->len + 1;

  edit->self = self;
  edit->n_lines = self->lines->len;
  edit->replace = g_new0 (char *, n);
  edit->drop = g_new0 (gboolean, n);
  edit->insert = g_new0 (GPtrArray *, n);
  return edit;
}

static void
edit_free (Edit *edit)
{
  for (guint i = 0; i <= edit->n_lines; i++)
    {
      g_free (edit->replace[i]);
      g_clear_pointer (&edit->insert[i], g_ptr_array_unref);
    }
  g_free (edit->replace);
  g_free (edit->drop);
  g_free (edit->insert);
  g_free (edit);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Edit, edit_free)

/* Takes @text: a line without its ending. */
static void
edit_insert (Edit  *edit,
             guint  before,
             char  *text)
{
  if (edit->insert[before] == NULL)
    edit->insert[before] = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (edit->insert[before], text);
}

/* The key line keeps what stands before its value (“Key = ”) as written. */
static void
edit_set_value (Edit       *edit,
                guint       index,
                const char *value)
{
  Line *line = LINE (edit->self, index);

  g_free (edit->replace[index]);
  edit->replace[index] = g_strdup_printf ("%.*s%s", (int) line->value, line->text, value);
}

/* New lines end the way the file's lines do. */
static const char *
dominant_eol (CohortProfile *self)
{
  for (guint i = 0; i < self->lines->len; i++)
    if (LINE (self, i)->eol[0] != '\0')
      return LINE (self, i)->eol;
  return "\n";
}

static char *
edit_to_data (Edit  *edit,
              gsize *length)
{
  CohortProfile *self = edit->self;
  const char *eol = dominant_eol (self);
  g_autoptr(GString) out = g_string_new (NULL);
  /* the last line written has no ending: it was the file's last */
  gboolean open = FALSE;

  for (guint i = 0; i <= self->lines->len; i++)
    {
      Line *line;

      for (guint j = 0; edit->insert[i] != NULL && j < edit->insert[i]->len; j++)
        {
          if (open)
            g_string_append (out, eol);
          g_string_append (out, g_ptr_array_index (edit->insert[i], j));
          g_string_append (out, eol);
          open = FALSE;
        }

      if (i == self->lines->len || edit->drop[i])
        continue;

      line = LINE (self, i);
      if (open)
        g_string_append (out, eol);
      g_string_append (out, edit->replace[i] != NULL ? edit->replace[i] : line->text);
      g_string_append (out, line->eol);
      open = line->eol[0] == '\0';
    }

  if (length != NULL)
    *length = out->len;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The line of [GROUP], or -1. */
static int
find_group (CohortProfile *self,
            const char    *group)
{
  for (guint i = 0; i < self->lines->len; i++)
    if (LINE (self, i)->kind == LINE_GROUP && g_str_equal (LINE (self, i)->name, group))
      return (int) i;
  return -1;
}

/* One past the last line of the group whose header is line @header. */
static guint
group_end (CohortProfile *self,
           guint          header)
{
  guint i = header + 1;

  while (i < self->lines->len && LINE (self, i)->kind != LINE_GROUP)
    i++;
  return i;
}

/* The first of the comment lines right above line @index (@index itself
 * when there are none). */
static guint
comments_above (CohortProfile *self,
                guint          index)
{
  while (index > 0 && LINE (self, index - 1)->kind == LINE_COMMENT)
    index--;
  return index;
}

/* The line that sets @key in the group (the last one, which counts), or -1. */
static int
find_key (CohortProfile *self,
          guint          header,
          const char    *key)
{
  guint end = group_end (self, header);
  int found = -1;

  for (guint i = header + 1; i < end; i++)
    if (LINE (self, i)->kind == LINE_KEY && g_str_equal (LINE (self, i)->name, key))
      found = (int) i;
  return found;
}

/* Where a key line new to the group goes: after its last key line, so
 * that comments about the next group stay with it. */
static guint
key_insert_position (CohortProfile *self,
                     guint          header)
{
  guint end = group_end (self, header);
  guint position = header + 1;

  for (guint i = header + 1; i < end; i++)
    if (LINE (self, i)->kind == LINE_KEY)
      position = i + 1;
  return position;
}

static CohortClusterSpec *
find_cluster (CohortProfile *self,
              const char    *name)
{
  for (guint i = 0; i < self->clusters->len; i++)
    {
      CohortClusterSpec *spec = g_ptr_array_index (self->clusters, i);

      if (g_str_equal (spec->name, name))
        return spec;
    }
  return NULL;
}

static gboolean
check_one_line (const char  *key,
                const char  *value,
                GError     **error)
{
  if (value == NULL || strpbrk (value, "\r\n") == NULL)
    return TRUE;
  g_set_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID,
               _("%s: a value must fit on one line"), key);
  return FALSE;
}

/* Takes on the state of @next, parsed from the edited text. Clusters the
 * edit did not change keep their spec, so that whoever holds one (a
 * running cluster) sees it is the same. */
static void
adopt (CohortProfile *self,
       CohortProfile *next)
{
  for (guint i = 0; i < next->clusters->len; i++)
    {
      CohortClusterSpec *parsed = g_ptr_array_index (next->clusters, i);
      CohortClusterSpec *before = find_cluster (self, parsed->name);

      if (before != NULL && cohort_cluster_spec_equal (before, parsed))
        {
          next->clusters->pdata[i] = cohort_cluster_spec_ref (before);
          cohort_cluster_spec_unref (parsed);
        }
    }

  g_free (self->name);
  self->name = g_steal_pointer (&next->name);
  g_clear_pointer (&self->keyfile, g_key_file_unref);
  self->keyfile = g_steal_pointer (&next->keyfile);
  /* The same array: cohort_profile_get_clusters() hands it out. */
  g_ptr_array_set_size (self->clusters, 0);
  g_ptr_array_extend_and_steal (self->clusters, g_steal_pointer (&next->clusters));
  g_array_unref (self->diagnostics);
  self->diagnostics = g_steal_pointer (&next->diagnostics);
  self->n_errors = next->n_errors;
  g_ptr_array_unref (self->lines);
  self->lines = g_steal_pointer (&next->lines);
  self->has_text = next->has_text;
  g_hash_table_unref (self->group_lines);
  self->group_lines = g_steal_pointer (&next->group_lines);
  g_hash_table_unref (self->key_lines);
  self->key_lines = g_steal_pointer (&next->key_lines);
}

/* Parses the edited text the way a file is loaded, and takes it on when
 * it loads without errors, or in any case with @allow_errors (removing a
 * broken cluster is one way to fix a profile). */
static gboolean
apply (CohortProfile  *self,
       Edit           *edit,
       gboolean        allow_errors,
       GError        **error)
{
  g_autoptr(CohortProfile) next = cohort_profile_new ();
  g_autofree char *before = cohort_profile_to_data (self, NULL);
  g_autofree char *data = NULL;
  gsize length;

  data = edit_to_data (edit, &length);
  if (g_str_equal (before, data))
    return TRUE;

  next->path = g_strdup (self->path);
  next->base_dir = g_strdup (self->base_dir);
  if (!parse_text (next, data, length, NULL) && (!allow_errors || !next->has_text))
    {
      set_error (next, FALSE, error);
      return FALSE;
    }

  adopt (self, next);
  set_modified (self, TRUE);
  return TRUE;
}

/**
 * cohort_profile_set_name:
 * @name: (nullable): the new name; %NULL or "" to drop Name= and go by
 *   the file's name
 *
 * Sets [Profile] Name=, adding the group (before the first cluster) when
 * the profile has none.
 */
void
cohort_profile_set_name (CohortProfile *self,
                         const char    *name)
{
  g_autoptr(GKeyFile) escaper = g_key_file_new ();
  g_autoptr(Edit) edit = NULL;
  g_autofree char *stripped = NULL;
  g_autofree char *value = NULL;
  int header;

  g_return_if_fail (COHORT_IS_PROFILE (self));
  g_return_if_fail (name == NULL || g_utf8_validate (name, -1, NULL));
  g_return_if_fail (self->has_text);

  /* As loading reads it. */
  stripped = g_strstrip (g_strdup (name != NULL ? name : ""));
  name = stripped[0] != '\0' ? stripped : NULL;
  if (name != NULL && g_strcmp0 (name, self->name) == 0)
    return;

  if (name != NULL)
    {
      g_key_file_set_string (escaper, PROFILE_GROUP, "Name", name);
      value = g_key_file_get_value (escaper, PROFILE_GROUP, "Name", NULL);
    }

  edit = edit_new (self);
  header = find_group (self, PROFILE_GROUP);
  if (header >= 0)
    {
      int index = find_key (self, header, "Name");

      if (index >= 0 && value == NULL)
        edit->drop[index] = TRUE;
      else if (index >= 0)
        edit_set_value (edit, index, value);
      else if (value != NULL)
        edit_insert (edit, key_insert_position (self, header), g_strconcat ("Name=", value, NULL));
    }
  else if (value != NULL)
    {
      guint n = self->lines->len;
      guint at = n;

      for (guint i = 0; i < n && at == n; i++)
        if (LINE (self, i)->kind == LINE_GROUP)
          at = comments_above (self, i);

      if (at == n && n > 0 && LINE (self, n - 1)->kind != LINE_BLANK)
        edit_insert (edit, at, g_strdup (""));
      edit_insert (edit, at, g_strdup ("[" PROFILE_GROUP "]"));
      edit_insert (edit, at, g_strconcat ("Name=", value, NULL));
      if (at < n)
        edit_insert (edit, at, g_strdup (""));
    }

  apply (self, edit, TRUE, NULL);
}

/* A new group at the end: Kind, Command (or Task) and whatever is not
 * the default, in DESIGN.md's order. */
static gboolean
write_group (Edit               *edit,
             CohortClusterSpec  *spec,
             GError            **error)
{
  CohortProfile *self = edit->self;
  const char * const *keys = cohort_cluster_spec_list_keys (spec->kind);
  guint n = self->lines->len;

  if (n > 0 && LINE (self, n - 1)->kind != LINE_BLANK)
    edit_insert (edit, n, g_strdup (""));
  edit_insert (edit, n, g_strdup_printf ("[" CLUSTER_PREFIX "%s]", spec->name));

  for (guint i = 0; keys[i] != NULL; i++)
    {
      gboolean needed = g_str_equal (keys[i], "Kind") || g_str_equal (keys[i], "Command");
      g_autofree char *value = needed ? cohort_cluster_spec_value_text (spec, keys[i])
                                      : cohort_cluster_spec_format_value (spec, keys[i]);

      if (value == NULL)
        continue;
      if (!check_one_line (keys[i], value, error))
        return FALSE;
      edit_insert (edit, n, g_strdup_printf ("%s=%s", keys[i], value));
    }
  return TRUE;
}

/* An existing group, changed as little as the new values allow: a key
 * whose value is the same keeps its line as written (Instances=max,
 * StopTimeout=10), a changed one gets its value rewritten in place, a
 * newly needed one goes after the group's last key. Lines are dropped
 * only for keys the cluster's new kind does not read. */
static gboolean
update_group (Edit               *edit,
              guint               header,
              CohortClusterSpec  *old,
              CohortClusterSpec  *spec,
              GError            **error)
{
  CohortProfile *self = edit->self;
  const char * const *keys = cohort_cluster_spec_list_keys (spec->kind);
  const char * const *old_keys = cohort_cluster_spec_list_keys (old->kind);
  guint end = group_end (self, header);
  guint insert_at = key_insert_position (self, header);

  if (!g_str_equal (old->name, spec->name))
    edit->replace[header] = g_strdup_printf ("[" CLUSTER_PREFIX "%s]", spec->name);

  for (guint i = header + 1; i < end; i++)
    {
      Line *line = LINE (self, i);

      if (line->kind == LINE_KEY &&
          g_strv_contains (old_keys, line->name) && !g_strv_contains (keys, line->name))
        for (guint j = comments_above (self, i); j <= i; j++)
          edit->drop[j] = TRUE;
    }

  for (guint k = 0; keys[k] != NULL; k++)
    {
      g_autofree char *text = cohort_cluster_spec_value_text (spec, keys[k]);
      g_autofree char *was = cohort_cluster_spec_value_text (old, keys[k]);
      int index = find_key (self, header, keys[k]);

      if (!check_one_line (keys[k], text, error))
        return FALSE;

      if (index >= 0)
        {
          if (g_strcmp0 (text, was) != 0)
            edit_set_value (edit, index, text);
        }
      else
        {
          g_autofree char *needed = cohort_cluster_spec_format_value (spec, keys[k]);

          if (needed != NULL)
            edit_insert (edit, insert_at, g_strdup_printf ("%s=%s", keys[k], needed));
        }
    }
  return TRUE;
}

/**
 * cohort_profile_put_cluster:
 * @old_name: (nullable): the cluster @spec replaces, or %NULL to add it
 * @spec: the cluster as it should be; its name may differ from @old_name
 *
 * Adds [Cluster NAME] at the end, or updates (and renames) an existing
 * group in place, keeping every line whose value did not change as it was
 * written. The clusters list follows, in file order.
 *
 * Returns: %FALSE, changing nothing, when the name is taken or invalid,
 *   when @old_name is not a cluster, when the profile has errors, or when
 *   a value of @spec would not load back (@error then names the key)
 */
gboolean
cohort_profile_put_cluster (CohortProfile      *self,
                            const char         *old_name,
                            CohortClusterSpec  *spec,
                            GError            **error)
{
  g_autoptr(Edit) edit = NULL;
  CohortClusterSpec *old = NULL;
  int header = -1;

  g_return_val_if_fail (COHORT_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (spec != NULL && spec->name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->n_errors > 0 || !self->has_text)
    {
      g_set_error_literal (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID,
                           _("the profile has errors; correct them before changing its clusters"));
      return FALSE;
    }

  if (!valid_cluster_name (spec->name))
    {
      g_autofree char *message = invalid_name_message (spec->name);

      g_set_error_literal (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID, message);
      return FALSE;
    }

  if (old_name != NULL)
    {
      g_autofree char *group = g_strconcat (CLUSTER_PREFIX, old_name, NULL);

      header = find_group (self, group);
      old = find_cluster (self, old_name);
      if (header < 0 || old == NULL)
        {
          g_set_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_NOT_FOUND,
                       _("there is no cluster “%s” in the profile"), old_name);
          return FALSE;
        }
    }

  if (g_strcmp0 (old_name, spec->name) != 0)
    {
      g_autofree char *group = g_strconcat (CLUSTER_PREFIX, spec->name, NULL);

      if (find_group (self, group) >= 0)
        {
          g_set_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_EXISTS,
                       _("there already is a cluster named “%s”"), spec->name);
          return FALSE;
        }
    }

  if (old != NULL && cohort_cluster_spec_equal (old, spec))
    return TRUE;

  edit = edit_new (self);
  if (old == NULL ? !write_group (edit, spec, error)
                  : !update_group (edit, header, old, spec, error))
    return FALSE;
  return apply (self, edit, FALSE, error);
}

/**
 * cohort_profile_remove_cluster:
 *
 * Removes [Cluster @name] with the comment lines right above it.
 *
 * Returns: %FALSE when there is no such group
 */
gboolean
cohort_profile_remove_cluster (CohortProfile *self,
                               const char    *name)
{
  g_autofree char *group = NULL;
  g_autoptr(Edit) edit = NULL;
  int header;
  guint start;
  guint end;

  g_return_val_if_fail (COHORT_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  group = g_strconcat (CLUSTER_PREFIX, name, NULL);
  header = find_group (self, group);
  if (header < 0)
    return FALSE;

  /* The group runs up to the comments of the next one; the last group
   * takes the blank lines before it along, so the file does not end in
   * them. */
  start = comments_above (self, header);
  end = group_end (self, header);
  if (end < self->lines->len)
    end = comments_above (self, end);
  else
    while (start > 0 && LINE (self, start - 1)->kind == LINE_BLANK)
      start--;

  edit = edit_new (self);
  for (guint i = start; i < end; i++)
    edit->drop[i] = TRUE;
  return apply (self, edit, TRUE, NULL);
}

/**
 * cohort_profile_to_data:
 * @length: (out) (optional): the length of the text
 *
 * Returns: (transfer full): the profile's text: the loaded file byte for
 *   byte until it is edited
 */
char *
cohort_profile_to_data (CohortProfile *self,
                        gsize         *length)
{
  g_autoptr(Edit) edit = NULL;

  g_return_val_if_fail (COHORT_IS_PROFILE (self), NULL);

  edit = edit_new (self);
  return edit_to_data (edit, length);
}

/**
 * cohort_profile_restore:
 * @data: a text cohort_profile_to_data() returned for this profile
 * @modified: the modified flag to have afterwards
 *
 * Puts the document back as it was when @data was taken (an edit the
 * running clusters refused, undone): the text byte for byte, with the
 * profile's path and folder as they are, rather than an edit back to the
 * old values, which would rewrite the lines that changed in the old
 * spec's own words (a relative folder as an absolute one). Clusters equal
 * to the ones the profile holds keep their spec; the array
 * cohort_profile_get_clusters() returns stays the same.
 *
 * Returns: %FALSE, changing nothing, when @data is not a text at all
 */
gboolean
cohort_profile_restore (CohortProfile  *self,
                        const char     *data,
                        gsize           length,
                        gboolean        modified,
                        GError        **error)
{
  g_autoptr(CohortProfile) next = NULL;

  g_return_val_if_fail (COHORT_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  next = cohort_profile_new ();
  next->path = g_strdup (self->path);
  next->base_dir = g_strdup (self->base_dir);
  /* A text with errors is put back too: it is what the profile was. */
  if (!parse_text (next, data != NULL ? data : "", length, NULL) && !next->has_text)
    {
      set_error (next, FALSE, error);
      return FALSE;
    }

  adopt (self, next);
  set_modified (self, modified);
  return TRUE;
}

/**
 * cohort_profile_parse_cluster:
 * @name: the cluster's name
 * @keys: (array zero-terminated=1): keys such as "Instances"
 * @values: (array zero-terminated=1): their texts as they would stand in
 *   the file after “Key=” (see cohort_cluster_spec_value_text())
 * @base_dir: (nullable): where a relative WorkingDirectory resolves
 *
 * Builds a cluster from what an editor holds, with the checks and the
 * messages of loading a file: they are the same code.
 *
 * Returns: (transfer full) (nullable): the spec, or %NULL with @error
 *   naming the first key that is wrong and what it expected
 */
CohortClusterSpec *
cohort_profile_parse_cluster (const char          *name,
                              const char * const  *keys,
                              const char * const  *values,
                              const char          *base_dir,
                              GError             **error)
{
  g_autoptr(CohortProfile) scratch = NULL;
  g_autoptr(GString) text = NULL;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!valid_cluster_name (name))
    {
      g_autofree char *message = invalid_name_message (name);

      g_set_error_literal (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_INVALID, message);
      return NULL;
    }

  text = g_string_new (NULL);
  g_string_append_printf (text, "[" CLUSTER_PREFIX "%s]\n", name);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      g_return_val_if_fail (values != NULL && values[i] != NULL, NULL);
      g_return_val_if_fail (keys[i][0] != '\0' && strpbrk (keys[i], "=[]#\r\n") == NULL, NULL);

      if (!check_one_line (keys[i], values[i], error))
        return NULL;
      g_string_append_printf (text, "%s=%s\n", keys[i], values[i]);
    }

  scratch = cohort_profile_new ();
  scratch->base_dir = g_strdup (base_dir);
  if (!parse_text (scratch, text->str, text->len, NULL))
    {
      set_error (scratch, FALSE, error);
      return NULL;
    }

  g_assert (scratch->clusters->len == 1);
  return cohort_cluster_spec_ref (g_ptr_array_index (scratch->clusters, 0));
}

/* Saving */

/* Temporary files are “.NAME.saving-XXXXXX” beside the profile, locked
 * while they are written. One whose lock is free was left by a save that
 * died (the kernel drops a dead process's locks): the next save of the
 * same file removes it, so they do not pile up. A live save's file is
 * unlocked too for the moment between mkstemp() and flock(); the save
 * finds out once it holds the lock (see write_atomically()). */
#define TEMPORARY_INFIX ".saving-"

static void
remove_stale_temporaries (const char *dir,
                          const char *base)
{
  g_autofree char *prefix = g_strdup_printf (".%s" TEMPORARY_INFIX, base);
  g_autoptr(GDir) folder = g_dir_open (dir, 0, NULL);
  const char *name;

  if (folder == NULL)
    return;

  while ((name = g_dir_read_name (folder)) != NULL)
    {
      g_autofree char *path = NULL;
      struct stat st;
      int fd;

      if (!g_str_has_prefix (name, prefix) || strlen (name) != strlen (prefix) + 6)
        continue;

      path = g_build_filename (dir, name, NULL);
      fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0);
      if (fd < 0)
        continue;
      if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && flock (fd, LOCK_EX | LOCK_NB) == 0)
        {
          g_debug ("Removing %s, left by a save that did not finish", path);
          g_unlink (path);
        }
      g_close (fd, NULL);
    }
}

static gboolean
write_all (int         fd,
           const char *data,
           gsize       length)
{
  while (length > 0)
    {
      gssize n = write (fd, data, MIN (length, G_MAXSSIZE));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      data += n;
      length -= n;
    }
  return TRUE;
}

/* A new temporary file for @target, locked, in @temp_out. The stale
 * clean-up of a concurrent save may take it before it is locked (it then
 * looks like a crashed save's); once locked and still linked, it is safe,
 * so a taken one is only replaced. Another save's clean-up hitting that
 * moment over and over is not going to happen; the bound is only so that
 * nothing can loop for ever. */
#define MAX_TEMPORARY_ATTEMPTS 100
/* in place of an errno: every attempt was taken */
#define TEMPORARY_TAKEN (-1)

static int
create_temporary (const char  *dir,
                  const char  *base,
                  int          mode,
                  char       **temp_out,
                  int         *errsv)
{
  for (guint attempt = 0; attempt < MAX_TEMPORARY_ATTEMPTS; attempt++)
    {
      g_autofree char *temp = g_strdup_printf ("%s/.%s" TEMPORARY_INFIX "XXXXXX", dir, base);
      struct stat st;
      int fd;

      fd = g_mkstemp_full (temp, O_RDWR | O_CLOEXEC, mode);
      if (fd < 0)
        {
          *errsv = errno;
          return -1;
        }
      /* The lock goes with the descriptor, after the rename. */
      if (flock (fd, LOCK_EX) != 0 || fstat (fd, &st) != 0)
        {
          *errsv = errno;
          g_unlink (temp);
          g_close (fd, NULL);
          return -1;
        }
      if (st.st_nlink > 0)
        {
          *temp_out = g_steal_pointer (&temp);
          return fd;
        }
      g_debug ("%s was taken for a crashed save's; saving through another", temp);
      g_close (fd, NULL);
    }

  *errsv = TEMPORARY_TAKEN;
  return -1;
}

/* Write to a temporary file in the same folder, fsync, rename over the
 * target, fsync the folder: a crash at any moment leaves either the old
 * file or the new one, never a mix. The file keeps its mode and owner.
 * @written is the new file's status. */
static gboolean
write_atomically (const char   *path,
                  const char   *data,
                  gsize         length,
                  struct stat  *written,
                  GError      **error)
{
  g_autofree char *target = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *temp = NULL;
  struct stat old;
  gboolean exists;
  int errsv = 0;
  int fd;

  /* Saving through a link writes the file it points to. */
  target = realpath (path, NULL);
  if (target == NULL)
    target = g_strdup (path);

  exists = stat (target, &old) == 0;
  if (exists && S_ISDIR (old.st_mode))
    errsv = EISDIR;
  else if (exists && !S_ISREG (old.st_mode))
    errsv = EINVAL;
  else
    {
      dir = g_path_get_dirname (target);
      base = g_path_get_basename (target);
      remove_stale_temporaries (dir, base);

      fd = create_temporary (dir, base, exists ? (old.st_mode & 07777) : 0666, &temp, &errsv);
      if (fd >= 0)
        {
          if (exists)
            {
              /* mkstemp's mode went through the umask. */
              if (fchmod (fd, old.st_mode & 07777) != 0)
                errsv = errno;
              if ((old.st_uid != geteuid () || old.st_gid != getegid ()) &&
                  fchown (fd, old.st_uid, old.st_gid) != 0)
                g_debug ("Cannot keep the owner of %s: %s", path, g_strerror (errno));
            }
          if (errsv == 0 && !write_all (fd, data, length))
            errsv = errno;
          if (errsv == 0 && fsync (fd) != 0)
            errsv = errno;
          /* The rename changes neither size nor modification time. */
          if (errsv == 0 && fstat (fd, written) != 0)
            errsv = errno;
          if (errsv == 0 && rename (temp, target) != 0)
            errsv = errno;
          if (errsv != 0)
            g_unlink (temp);
          g_close (fd, NULL);
        }
    }

  if (errsv == TEMPORARY_TAKEN)
    {
      g_set_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_WRITE,
                   _("%s: cannot save: other saves of the same file keep removing its temporary file"),
                   path);
      return FALSE;
    }
  if (errsv != 0)
    {
      g_set_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_WRITE,
                   _("%s: cannot save: %s"), path, describe_errno (errsv, TRUE));
      return FALSE;
    }

  /* The rename itself is durable once the folder is synced. */
  fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd >= 0)
    {
      fsync (fd);
      g_close (fd, NULL);
    }
  return TRUE;
}

/* The text with every relative WorkingDirectory= of a cluster written as
 * the absolute folder it means now, for a copy in another folder to mean
 * the same. Relative is what resolve_directory() resolves against the
 * profile's folder: not absolute, not ~ nor ~/… (“~x” is a folder named
 * so). Each value is read the way loading reads it, escapes and all. */
static char *
text_with_absolute_folders (CohortProfile *self,
                            gsize         *length)
{
  g_autoptr(Edit) edit = edit_new (self);
  const char *group = NULL;

  for (guint i = 0; i < self->lines->len; i++)
    {
      Line *line = LINE (self, i);
      g_autoptr(GKeyFile) reader = NULL;
      g_autofree char *text = NULL;
      g_autofree char *value = NULL;
      g_autofree char *absolute = NULL;
      g_autofree char *escaped = NULL;

      if (line->kind == LINE_GROUP)
        group = line->name;
      if (line->kind != LINE_KEY || group == NULL || !g_str_has_prefix (group, CLUSTER_PREFIX) ||
          !g_str_equal (line->name, "WorkingDirectory"))
        continue;

      reader = g_key_file_new ();
      text = g_strconcat ("[G]\nK=", line->text + line->value, "\n", NULL);
      if (!g_key_file_load_from_data (reader, text, -1, G_KEY_FILE_NONE, NULL))
        continue;
      value = g_key_file_get_string (reader, "G", "K", NULL);
      if (value == NULL || value[0] == '\0' || g_path_is_absolute (value) ||
          g_str_equal (value, "~") || g_str_has_prefix (value, "~/"))
        continue;

      absolute = resolve_directory (self, value);
      g_key_file_set_string (reader, "G", "K", absolute);
      escaped = g_key_file_get_value (reader, "G", "K", NULL);
      edit_set_value (edit, i, escaped);
    }
  return edit_to_data (edit, length);
}

static gboolean
save (CohortProfile  *self,
      const char     *path,
      gboolean        trust,
      GError        **error)
{
  g_autofree char *target = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *old_folder = NULL;
  g_autofree char *data = NULL;
  struct stat written;
  gboolean moved;
  gsize length;

  target = g_strdup (path != NULL ? path : self->path);
  if (!self->has_text)
    {
      g_set_error (error, COHORT_PROFILE_ERROR, COHORT_PROFILE_ERROR_WRITE,
                   _("%s: cannot save: the profile could not be read, so there is nothing to save"),
                   target);
      return FALSE;
    }

  /* Into another folder, what the clusters mean stays what it was (the
   * running ones go by it): relative folders are written out. A profile
   * without a path resolved them against the current folder. */
  folder = folder_of (target);
  if (self->base_dir != NULL)
    old_folder = g_strdup (self->base_dir);
  else
    {
      /* $PWD, which GLib prefers, may go through links. */
      g_autofree char *current = g_get_current_dir ();

      old_folder = real_path (current);
      if (old_folder == NULL)
        old_folder = g_steal_pointer (&current);
    }
  moved = !g_str_equal (folder, old_folder);
  data = moved ? text_with_absolute_folders (self, &length) : cohort_profile_to_data (self, &length);
  if (!write_atomically (target, data, length, &written, error))
    return FALSE;

  if (trust)
    {
      cohort_trust_remember (target, data, length);
      self->trusted = TRUE;
    }
  else
    self->trusted = cohort_trust_check (target, data, length);

  /* Another path: the name taken from the file's, and the folder, now go
   * by the new path, as they would when loading it. */
  if (moved || g_strcmp0 (target, self->path) != 0)
    {
      g_autoptr(CohortProfile) next = cohort_profile_new ();

      set_path (next, target);
      parse_text (next, data, length, NULL);
      adopt (self, next);
      set_path (self, target);
    }

  self->disk = written;
  self->has_disk = TRUE;
  set_modified (self, FALSE);
  return TRUE;
}

/**
 * cohort_profile_save:
 * @path: (nullable): where to save, or %NULL for the profile's own path
 *
 * Writes the profile atomically (a crash never leaves half a file), makes
 * @path the profile's path, and remembers the text as trusted. On
 * failure the old file and the profile are as they were.
 *
 * Saved into another folder, every relative WorkingDirectory= of a
 * cluster is written as the absolute folder it meant, so that the
 * clusters stay the same (cohort_cluster_spec_equal(), and the very spec
 * objects); into the same folder, the text is written as it is.
 */
gboolean
cohort_profile_save (CohortProfile  *self,
                     const char     *path,
                     GError        **error)
{
  g_return_val_if_fail (COHORT_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (path != NULL || self->path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return save (self, path, TRUE, error);
}

/**
 * cohort_profile_save_untrusted:
 *
 * Saves as cohort_profile_save() does, without recording the text as one
 * Cohort saved: opening the file asks before anything in it starts, as
 * for a file from elsewhere. For what is written on someone else's
 * behalf (a PM2 ecosystem file imported). The profile is trusted
 * afterwards only if the same text was trusted at @path before.
 */
gboolean
cohort_profile_save_untrusted (CohortProfile  *self,
                               const char     *path,
                               GError        **error)
{
  g_return_val_if_fail (COHORT_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (path != NULL || self->path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return save (self, path, FALSE, error);
}
