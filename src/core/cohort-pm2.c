/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-pm2.c: importing a PM2 ecosystem file.
 *
 * The file is JSON, or a .config.js / .config.cjs that node evaluates the
 * way PM2 does (require() it, then JSON.stringify(module.exports)). Each
 * app becomes one process cluster that runs what PM2 would run: the same
 * interpreter chosen by the script's extension, the same arguments split
 * the same way, PM2's own defaults where Cohort's differ (SIGINT, 1.6 s to
 * stop, a restart on any exit). The field names, aliases, units and
 * defaults follow PM2's lib/API/schema.json, lib/tools/Config.js and
 * lib/Common.js. A field with no Cohort meaning is a warning that names
 * it; a value PM2 itself would refuse is an error. */

#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cohort-pm2.h"
#include "cohort-profile.h"

/* cohort-profile.c's limits, so that what is written loads back. */
#define MAX_INSTANCES      4096
#define MAX_DELAY_MS       (24 * 3600 * 1000)
#define MAX_UPTIME_S       (24 * 3600)
#define MAX_STOP_S         3600
#define MAX_RESTARTS       1000000

/* PM2's defaults (constants.js, lib/God.js) where Cohort's differ. */
#define PM2_KILL_TIMEOUT_MS    1600
#define PM2_LISTEN_TIMEOUT_MS  3000
#define PM2_BACKOFF_MAX_MS     15000

#define NODE_ERROR_MARKER  "cohort-pm2-error:"
#define MAX_NODE_STDERR    (64 * 1024)

G_DEFINE_QUARK (cohort-pm2-error-quark, cohort_pm2_error)

/* The fields of an app */

typedef enum
{
  FIELD_MAPPED,
  FIELD_WARN_UNLESS_OFF,  /* not imported; false, null, 0, "" or [] turn it off anyway */
  FIELD_WARN_UNLESS_ON,   /* not imported; true (PM2's default) is what Cohort does */
  FIELD_SILENT,           /* PM2's own bookkeeping: nothing the program sees */
} FieldKind;

typedef struct
{
  const char *name;
  const char *aliases;  /* besides the camelCase spelling, which PM2 always accepts */
  FieldKind   kind;
  const char *reason;   /* why an unmapped field is not imported */
} Field;

#define NO_LOGS \
  N_("Cohort writes no log or pid files; output goes to its own stdout and to cohort --logs")
#define NO_PM2_PLUS N_("PM2 Plus monitoring has no Cohort equivalent")
#define NO_WATCH    N_("Cohort does not restart on file changes")
#define NO_NAMING   N_("Cohort names each cluster as the profile does")
#define NO_SOURCE_MAPS \
  N_("source maps are PM2's Node.js wrapper's; use node --enable-source-maps in node_args")
#define NO_USER     N_("Cohort runs every worker as its own user")

static const Field fields[] = {
  /* verifyConfs() takes cmd and command for script, the schema exec */
  { "script", "cmd command exec", FIELD_MAPPED, NULL },
  { "name", NULL, FIELD_MAPPED, NULL },
  { "args", NULL, FIELD_MAPPED, NULL },
  { "exec_interpreter", "interpreter", FIELD_MAPPED, NULL },
  { "node_args", "interpreter_args interpreterArgs", FIELD_MAPPED, NULL },
  { "cwd", NULL, FIELD_MAPPED, NULL },
  { "env", NULL, FIELD_MAPPED, NULL },
  { "port", NULL, FIELD_MAPPED, NULL },
  { "instances", NULL, FIELD_MAPPED, NULL },
  { "exec_mode", NULL, FIELD_MAPPED, NULL },
  { "execute_command", NULL, FIELD_MAPPED, NULL },
  { "autorestart", NULL, FIELD_MAPPED, NULL },
  { "stop_exit_codes", NULL, FIELD_MAPPED, NULL },
  { "max_restarts", NULL, FIELD_MAPPED, NULL },
  { "min_uptime", NULL, FIELD_MAPPED, NULL },
  { "restart_delay", NULL, FIELD_MAPPED, NULL },
  { "exp_backoff_restart_delay", NULL, FIELD_MAPPED, NULL },
  { "kill_timeout", NULL, FIELD_MAPPED, NULL },
  { "wait_ready", NULL, FIELD_MAPPED, NULL },
  { "listen_timeout", NULL, FIELD_MAPPED, NULL },
  { "max_memory_restart", NULL, FIELD_MAPPED, NULL },
  { "shutdown_with_message", NULL, FIELD_MAPPED, NULL },
  { "instance_var", NULL, FIELD_MAPPED, NULL },

  { "treekill", NULL, FIELD_WARN_UNLESS_ON,
    N_("Cohort always signals the worker's whole process group") },
  { "watch", NULL, FIELD_WARN_UNLESS_OFF, NO_WATCH },
  { "ignore_watch", NULL, FIELD_WARN_UNLESS_OFF, NO_WATCH },
  { "watch_options", NULL, FIELD_WARN_UNLESS_OFF, NO_WATCH },
  { "watch_delay", NULL, FIELD_WARN_UNLESS_OFF, NO_WATCH },
  { "cron_restart", "cron", FIELD_WARN_UNLESS_OFF, N_("Cohort does not restart on a schedule") },
  { "out_file", "out output out_log", FIELD_WARN_UNLESS_OFF, NO_LOGS },
  { "error_file", "error err err_file err_log", FIELD_WARN_UNLESS_OFF, NO_LOGS },
  { "log_file", "log", FIELD_WARN_UNLESS_OFF, NO_LOGS },
  { "pid_file", "pid", FIELD_WARN_UNLESS_OFF, NO_LOGS },
  { "log_date_format", NULL, FIELD_WARN_UNLESS_OFF, NO_LOGS },
  { "log_type", NULL, FIELD_WARN_UNLESS_OFF, NO_LOGS },
  { "merge_logs", "combine_logs", FIELD_WARN_UNLESS_OFF, NO_LOGS },
  { "disable_logs", NULL, FIELD_WARN_UNLESS_OFF, NO_LOGS },
  { "time", NULL, FIELD_WARN_UNLESS_OFF, NO_LOGS },
  { "filter_env", NULL, FIELD_WARN_UNLESS_OFF,
    N_("every worker gets Cohort's own environment with the profile's Environment= on top") },
  { "increment_var", NULL, FIELD_WARN_UNLESS_OFF,
    N_("Cohort numbers workers in COHORT_WORKER_ID and NODE_APP_INSTANCE only") },
  { "uid", "user", FIELD_WARN_UNLESS_OFF, NO_USER },
  { "gid", NULL, FIELD_WARN_UNLESS_OFF, NO_USER },
  { "namespace", NULL, FIELD_WARN_UNLESS_OFF, N_("Cohort has no namespaces") },
  { "name_prefix", NULL, FIELD_WARN_UNLESS_OFF, NO_NAMING },
  { "append_env_to_name", NULL, FIELD_WARN_UNLESS_OFF, NO_NAMING },
  { "source_map_support", NULL, FIELD_WARN_UNLESS_ON, NO_SOURCE_MAPS },
  { "disable_source_map_support", NULL, FIELD_WARN_UNLESS_OFF, NO_SOURCE_MAPS },
  { "trace", NULL, FIELD_WARN_UNLESS_OFF, NO_PM2_PLUS },
  { "disable_trace", NULL, FIELD_WARN_UNLESS_ON, NO_PM2_PLUS },
  { "v8", NULL, FIELD_WARN_UNLESS_OFF, NO_PM2_PLUS },
  { "event_loop_inspector", NULL, FIELD_WARN_UNLESS_OFF, NO_PM2_PLUS },
  { "deep_monitoring", NULL, FIELD_WARN_UNLESS_OFF, NO_PM2_PLUS },
  { "io", NULL, FIELD_WARN_UNLESS_OFF, NO_PM2_PLUS },
  { "post_update", NULL, FIELD_WARN_UNLESS_OFF, NO_PM2_PLUS },
  { "install_url", NULL, FIELD_WARN_UNLESS_OFF, N_("PM2 modules are not imported") },
  { "pmx", NULL, FIELD_SILENT, NULL },
  { "automation", NULL, FIELD_SILENT, NULL },
  { "vizion", NULL, FIELD_SILENT, NULL },
  { "force", NULL, FIELD_SILENT, NULL },
  { "username", NULL, FIELD_SILENT, NULL },
  { "windowsHide", NULL, FIELD_SILENT, NULL },
  { "kill_retry_time", NULL, FIELD_SILENT, NULL },
  { "write", NULL, FIELD_SILENT, NULL },
};

/* PM2 accepts every field in camelCase too (Config.js): each part after
 * the first capitalized, unless it is one letter long. */
static char *
camel_case (const char *name)
{
  g_auto(GStrv) parts = g_strsplit (name, "_", -1);
  GString *out = g_string_new (parts[0]);

  for (guint i = 1; parts[i] != NULL; i++)
    {
      if (strlen (parts[i]) > 1)
        {
          g_string_append_c (out, g_ascii_toupper (parts[i][0]));
          g_string_append (out, parts[i] + 1);
        }
      else
        g_string_append (out, parts[i]);
    }
  return g_string_free (out, FALSE);
}

/* Which field @member spells, and how well: 0 for its own name, then its
 * aliases in order, the camelCase spelling last. */
static const Field *
find_field (const char *member,
            guint      *rank)
{
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      g_autofree char *camel = camel_case (fields[i].name);

      if (g_str_equal (member, fields[i].name))
        {
          *rank = 0;
          return &fields[i];
        }
      if (fields[i].aliases != NULL)
        {
          g_auto(GStrv) aliases = g_strsplit (fields[i].aliases, " ", -1);

          for (guint j = 0; aliases[j] != NULL; j++)
            if (g_str_equal (member, aliases[j]))
              {
                *rank = j + 1;
                return &fields[i];
              }
        }
      if (g_str_equal (member, camel))
        {
          *rank = G_MAXUINT;
          return &fields[i];
        }
    }
  return NULL;
}

/* Values, as PM2 reads them */

/* A value for messages: scalars as JSON, containers by kind. */
static char *
describe (JsonNode *node)
{
  g_autofree char *text = NULL;

  if (JSON_NODE_HOLDS_OBJECT (node))
    return g_strdup (_("an object"));
  if (JSON_NODE_HOLDS_ARRAY (node))
    return g_strdup (_("an array"));
  text = json_to_string (node, FALSE);
  if (g_utf8_strlen (text, -1) > 60)
    {
      char *cut = g_utf8_offset_to_pointer (text, 59);

      *cut = '\0';
      return g_strconcat (text, "…", NULL);
    }
  return g_steal_pointer (&text);
}

/* JavaScript's String() of a number. */
static char *
number_to_string (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (isfinite (value) && value == floor (value) && fabs (value) < 1e21)
    return g_strdup_printf ("%.0f", value);
  for (int precision = 15; precision <= 17; precision++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", precision);
      g_ascii_formatd (buffer, sizeof buffer, format, value);
      if (g_ascii_strtod (buffer, NULL) == value)
        break;
    }
  return g_strdup (buffer);
}

/* String() of a JSON scalar, as node would pass it on; NULL for null,
 * objects and arrays. */
static char *
scalar_to_string (JsonNode *node)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  if (type == G_TYPE_BOOLEAN)
    return g_strdup (json_node_get_boolean (node) ? "true" : "false");
  if (type == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  return number_to_string (json_node_get_double (node));
}

/* Config.js takes a string wherever a number is expected when it reads as
 * one. */
static gboolean
parse_number_text (const char *text,
                   double     *out)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  char *end = NULL;
  double value;

  if (copy[0] == '\0')
    return FALSE;
  errno = 0;
  value = g_ascii_strtod (copy, &end);
  if (errno != 0 || *end != '\0' || !isfinite (value))
    return FALSE;
  *out = value;
  return TRUE;
}

static gboolean
node_to_number (JsonNode *node,
                double   *out)
{
  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      *out = (double) json_node_get_int (node);
      return TRUE;
    case G_TYPE_DOUBLE:
      *out = json_node_get_double (node);
      return TRUE;
    case G_TYPE_STRING:
      return parse_number_text (json_node_get_string (node), out);
    default:
      return FALSE;
    }
}

/* "<digits><unit>" with a unit from @units, scaled by @scales. */
static gboolean
parse_with_unit (const char  *text,
                 const char  *units,
                 const double *scales,
                 double      *out)
{
  gsize length = strlen (text);
  const char *unit;

  if (length < 2 || (unit = strchr (units, text[length - 1])) == NULL)
    return FALSE;
  for (gsize i = 0; i + 1 < length; i++)
    if (!g_ascii_isdigit (text[i]))
      return FALSE;
  *out = g_ascii_strtod (text, NULL) * scales[unit - units];
  return TRUE;
}

/* Arguments given as one string, split the way Config.js does it: words
 * apart at whitespace, "…" and '…' keep spaces (and lose the quotes), and
 * key="…" / key='…' stay one word with their quotes. There are no
 * escapes. */
static void
split_pm2_words (const char *text,
                 GPtrArray  *words)
{
  const char *p = text;

  while (*p != '\0')
    {
      const char *start;
      const char *end = NULL;

      if (g_ascii_isspace (*p))
        {
          p++;
          continue;
        }
      start = p;

      /* key="…" or key='…' */
      {
        const char *q = p;

        while (*q != '\0' && !g_ascii_isspace (*q) && *q != '"' && *q != '\'' && *q != '=')
          q++;
        if (q > p && q[0] == '=' && (q[1] == '"' || q[1] == '\''))
          {
            const char *close = strchr (q + 2, q[1]);

            if (close != NULL)
              end = close + 1;
          }
      }
      /* "…" or '…' */
      if (end == NULL && (*p == '"' || *p == '\''))
        {
          const char *close = strchr (p + 1, *p);

          if (close != NULL)
            end = close + 1;
        }
      if (end == NULL)
        {
          end = p;
          while (*end != '\0' && !g_ascii_isspace (*end))
            end++;
        }

      {
        gsize length = end - start;
        g_autofree char *word = NULL;

        if (length >= 1 && (start[0] == '"' || start[0] == '\'') && start[length - 1] == start[0])
          word = length >= 2 ? g_strndup (start + 1, length - 2) : g_strdup ("");
        else
          word = g_strndup (start, length);

        /* Config.js drops what is empty or blank once unquoted. */
        if (word[strspn (word, " \t\n\r\f\v")] != '\0')
          g_ptr_array_add (words, g_steal_pointer (&word));
      }
      p = end;
    }
}

/* Paths */

/* Node's path.extname(): from the last dot of the base name, unless the
 * name starts with it. */
static const char *
extension (const char *path)
{
  const char *base = strrchr (path, '/');
  const char *dot;

  base = base != NULL ? base + 1 : path;
  dot = strrchr (base, '.');
  return dot != NULL && dot != base ? dot : "";
}

/* lib/tools/isbinaryfile.js, in short: a NUL byte, or more than 10 % of
 * the first 512 bytes neither text nor UTF-8. */
static gboolean
is_binary_file (const char *path)
{
  guchar bytes[512];
  const char *valid_end = NULL;
  gsize suspicious = 0;
  gboolean utf8;
  gsize n;
  FILE *file;

  file = fopen (path, "rbe");
  if (file == NULL)
    return FALSE;
  n = fread (bytes, 1, sizeof bytes, file);
  fclose (file);
  if (n == 0)
    return FALSE;

  /* A character cut at byte 512 does not make it binary. */
  utf8 = g_utf8_validate ((const char *) bytes, n, &valid_end) ||
         (const char *) bytes + n - valid_end < 4;
  for (gsize i = 0; i < n; i++)
    {
      if (bytes[i] == 0)
        return TRUE;
      if (bytes[i] < 7 || (bytes[i] > 14 && bytes[i] < 32) || (bytes[i] > 127 && !utf8))
        suspicious++;
    }
  return suspicious * 100 / n > 10;
}

static char *
resolve_path (const char *path,
              const char *base)
{
  if (g_str_equal (path, "~"))
    return g_strdup (g_get_home_dir ());
  if (g_str_has_prefix (path, "~/"))
    {
      g_autofree char *expanded = g_build_filename (g_get_home_dir (), path + 2, NULL);

      return g_canonicalize_filename (expanded, NULL);
    }
  return g_canonicalize_filename (path, base);
}

/* Safe to leave unquoted in Command=; anything else is g_shell_quote()d. */
static void
append_word (GString    *command,
             const char *word)
{
  static const char safe[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-";

  if (command->len > 0)
    g_string_append_c (command, ' ');
  if (word[0] != '\0' && word[strspn (word, safe)] == '\0')
    g_string_append (command, word);
  else
    {
      g_autofree char *quoted = g_shell_quote (word);

      g_string_append (command, quoted);
    }
}

/* One import */

typedef struct
{
  const char  *path;       /* the ecosystem file, for messages */
  char        *folder;     /* its folder, absolute */
  GPtrArray   *warnings;
  GHashTable  *names;      /* cluster names taken so far */
} Import;

typedef struct
{
  Import      *import;
  JsonObject  *object;
  char        *label;      /* “name” or #N, for messages */
  GHashTable  *members;    /* field name → the member that spells it */
  GHashTable  *ranks;      /* field name → that spelling's rank */
} App;

G_GNUC_PRINTF (2, 3)
static void
warn (App        *app,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_ptr_array_add (app->import->warnings,
                   g_strdup_printf (_("app %s: %s"), app->label, message));
}

G_GNUC_PRINTF (3, 4)
static gboolean
fail (App         *app,
      GError     **error,
      const char  *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_INVALID,
               _("%s: app %s: %s"), app->import->path, app->label, message);
  return FALSE;
}

static const char *
member_name (App        *app,
             const char *name)
{
  const char *member = g_hash_table_lookup (app->members, name);

  return member != NULL ? member : name;
}

/* "FIELD: expected …, got VALUE" */
static gboolean
fail_value (App         *app,
            const char  *name,
            const char  *expected,
            JsonNode    *node,
            GError     **error)
{
  g_autofree char *text = describe (node);

  return fail (app, error, _("%s: expected %s, got %s"), member_name (app, name), expected, text);
}

static gboolean
holds (JsonNode *node,
       GType     type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

/* A number, or a string "<digits><unit>" with a unit from @units. */
static gboolean
node_to_number_with_unit (JsonNode     *node,
                          const char   *units,
                          const double *scales,
                          double       *out)
{
  return node_to_number (node, out) ||
         (holds (node, G_TYPE_STRING) &&
          parse_with_unit (json_node_get_string (node), units, scales, out));
}

/* A field's value, whichever spelling gave it; NULL when absent or null. */
static JsonNode *
get (App        *app,
     const char *name)
{
  const char *member = g_hash_table_lookup (app->members, name);
  JsonNode *node;

  if (member == NULL)
    return NULL;
  node = json_object_get_member (app->object, member);
  return node != NULL && !JSON_NODE_HOLDS_NULL (node) ? node : NULL;
}

static gboolean
is_off (JsonNode *node)
{
  double number;

  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (JSON_NODE_HOLDS_ARRAY (node))
    return json_array_get_length (json_node_get_array (node)) == 0;
  if (JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_BOOLEAN:
      return !json_node_get_boolean (node);
    case G_TYPE_STRING:
      return json_node_get_string (node)[0] == '\0' || g_str_equal (json_node_get_string (node), "false");
    default:
      return node_to_number (node, &number) && number == 0;
    }
}

static gboolean
is_on (JsonNode *node)
{
  return JSON_NODE_HOLDS_NULL (node) ||
         (holds (node, G_TYPE_BOOLEAN) &&
          json_node_get_boolean (node));
}

/* Sorts every member of the app: a field Cohort maps is remembered under
 * its own name (its best spelling wins, as in Config.js); any other is a
 * warning unless its value changes nothing. */
static void
sort_members (App *app)
{
  g_autoptr(GList) members = json_object_get_members (app->object);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *member = l->data;
      JsonNode *value = json_object_get_member (app->object, member);
      const Field *field;
      guint rank = 0;

      /* ^env_\S*$ in the schema: the environments of pm2 --env NAME */
      if (g_str_has_prefix (member, "env_"))
        {
          warn (app, _("%s is not imported: only env is; pm2 start --env selects the others"),
                member);
          continue;
        }

      field = find_field (member, &rank);
      if (field == NULL)
        {
          warn (app, _("%s is not a PM2 field; ignored"), member);
          continue;
        }

      switch (field->kind)
        {
        case FIELD_MAPPED:
          {
            const char *other = g_hash_table_lookup (app->members, field->name);

            if (other != NULL)
              {
                guint other_rank = GPOINTER_TO_UINT (g_hash_table_lookup (app->ranks, field->name));
                const char *kept = rank < other_rank ? member : other;

                warn (app, _("%s and %s are the same field; %s counts"),
                      other, member, kept);
                if (rank >= other_rank)
                  break;
              }
            g_hash_table_insert (app->members, (gpointer) field->name, (gpointer) member);
            g_hash_table_insert (app->ranks, (gpointer) field->name, GUINT_TO_POINTER (rank));
          }
          break;
        case FIELD_WARN_UNLESS_OFF:
          if (!is_off (value))
            warn (app, _("%s is not imported: %s"), member, _(field->reason));
          break;
        case FIELD_WARN_UNLESS_ON:
          if (!is_on (value))
            warn (app, _("%s is not imported: %s"), member, _(field->reason));
          break;
        case FIELD_SILENT:
        default:
          break;
        }
    }
}

/* Typed reads: FALSE with @error set when the value is one PM2 refuses. */

static gboolean
get_string (App         *app,
            const char  *name,
            const char **out,
            GError     **error)
{
  JsonNode *node = get (app, name);

  *out = NULL;
  if (node == NULL)
    return TRUE;
  if (!holds (node, G_TYPE_STRING))
    return fail_value (app, name, _("a string"), node, error);
  *out = json_node_get_string (node);
  return TRUE;
}

static gboolean
get_bool (App         *app,
          const char  *name,
          gboolean     fallback,
          gboolean    *out,
          GError     **error)
{
  JsonNode *node = get (app, name);

  *out = fallback;
  if (node == NULL)
    return TRUE;
  if (holds (node, G_TYPE_BOOLEAN))
    {
      *out = json_node_get_boolean (node);
      return TRUE;
    }
  /* lib/God.js reads autorestart "false" as false */
  if (holds (node, G_TYPE_STRING) &&
      (g_str_equal (json_node_get_string (node), "true") ||
       g_str_equal (json_node_get_string (node), "false")))
    {
      *out = g_str_equal (json_node_get_string (node), "true");
      return TRUE;
    }
  return fail_value (app, name, _("true or false"), node, error);
}

/* A number of milliseconds (or of anything else) that may not be
 * negative. */
static gboolean
get_count (App         *app,
           const char  *name,
           const char  *what,
           gboolean    *present,
           double      *out,
           GError     **error)
{
  JsonNode *node = get (app, name);

  *present = FALSE;
  if (node == NULL)
    return TRUE;
  if (!node_to_number (node, out) || *out < 0)
    return fail_value (app, name, what, node, error);
  *present = TRUE;
  return TRUE;
}

/* args and node_args: an array, or one string split as Config.js does. */
static gboolean
get_words (App         *app,
           const char  *name,
           GPtrArray   *words,
           gboolean    *present,
           GError     **error)
{
  JsonNode *node = get (app, name);

  *present = node != NULL;
  if (node == NULL)
    return TRUE;
  if (holds (node, G_TYPE_STRING))
    {
      split_pm2_words (json_node_get_string (node), words);
      return TRUE;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);
          char *word = scalar_to_string (element);

          if (word == NULL)
            {
              g_autofree char *text = describe (element);

              return fail (app, error, _("%s: item %u: expected a string, got %s"),
                           member_name (app, name), i + 1, text);
            }
          g_ptr_array_add (words, word);
        }
      return TRUE;
    }
  return fail_value (app, name, _("an array of strings or one string"), node, error);
}

/* Cohort's ranges */

static double
clamp_to (App        *app,
          const char *name,
          double      value,
          double      low,
          double      high,
          double      scale,
          const char *unit)
{
  if (value >= low && value <= high)
    return value;

  warn (app, _("%s: %g %s is outside what Cohort accepts; %g %s it is"),
        member_name (app, name), value * scale, unit,
        (value < low ? low : high) * scale, unit);
  return value < low ? low : high;
}

/* The environment, in order, a later value of a name replacing the first. */
static void
set_env (GPtrArray  *environment,
         const char *name,
         const char *value)
{
  gsize length = strlen (name);

  for (guint i = 0; i < environment->len; i++)
    {
      char *item = g_ptr_array_index (environment, i);

      if (strncmp (item, name, length) == 0 && item[length] == '=')
        {
          g_free (item);
          environment->pdata[i] = g_strconcat (name, "=", value, NULL);
          return;
        }
    }
  g_ptr_array_add (environment, g_strconcat (name, "=", value, NULL));
}

static gboolean
map_environment (App        *app,
                 GPtrArray  *environment,
                 GError    **error)
{
  JsonNode *env = get (app, "env");
  JsonNode *port = get (app, "port");

  if (env != NULL && JSON_NODE_HOLDS_OBJECT (env))
    {
      JsonObject *object = json_node_get_object (env);
      g_autoptr(GList) names = json_object_get_members (object);

      for (GList *l = names; l != NULL; l = l->next)
        {
          const char *name = l->data;
          JsonNode *node = json_object_get_member (object, name);
          g_autofree char *value = scalar_to_string (node);

          if (name[0] == '\0' || strchr (name, '=') != NULL)
            {
              warn (app, _("env: “%s” cannot be the name of an environment variable; skipped"), name);
              continue;
            }
          if (value == NULL)
            {
              g_autofree char *text = describe (node);

              warn (app, _("env.%s: expected a string, a number or a boolean, got %s; skipped"),
                    name, text);
              continue;
            }
          set_env (environment, name, value);
        }
    }
  else if (env != NULL)
    return fail_value (app, "env", _("an object of NAME: value"), env, error);

  /* Common.prepareAppConf(): port is a PORT that env cannot override */
  if (port != NULL)
    {
      g_autofree char *value = scalar_to_string (port);

      if (value == NULL)
        return fail_value (app, "port", _("a number"), port, error);
      set_env (environment, "PORT", value);
    }
  return TRUE;
}

static gboolean
is_node (const char *interpreter)
{
  g_autofree char *base = g_path_get_basename (interpreter);

  return g_str_has_suffix (base, "node") || g_str_equal (base, "nodejs");
}

/* lib/API/interpreter.json */
static const char *
interpreter_for_extension (const char *ext)
{
  static const struct {
    const char *ext;
    const char *interpreter;
  } table[] = {
    { ".sh", "bash" }, { ".py", "python" }, { ".rb", "ruby" }, { ".php", "php" },
    { ".pl", "perl" }, { ".js", "node" }, { ".coffee", "coffee" }, { ".ls", "lsc" },
    { ".ts", "bun" }, { ".tsx", "bun" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    if (g_str_equal (ext, table[i].ext))
      return table[i].interpreter;
  return NULL;
}

typedef struct
{
  GPtrArray *argv;
  gboolean   node;         /* the program is node: Channel=node */
  gboolean   python;
} Program;

/* What ForkMode.js spawns: interpreter, node_args, the script, args. The
 * interpreter comes from the app, else from the script's extension, else
 * the script runs by itself if it is a binary, and with node if not
 * (Common.sink.resolveInterpreter()). */
static gboolean
build_program (App         *app,
               const char  *script,
               const char  *directory,
               Program     *program,
               GError     **error)
{
  g_autoptr(GPtrArray) node_args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *script_path = NULL;
  g_autofree char *in_path = NULL;
  g_autofree char *interpreter = NULL;
  const char *given = NULL;
  gboolean has_node_args;
  gboolean has_args;

  if (!get_string (app, "exec_interpreter", &given, error) ||
      !get_words (app, "node_args", node_args, &has_node_args, error) ||
      !get_words (app, "args", args, &has_args, error))
    return FALSE;

  /* verifyConfs(): a script with a space is a shell command line */
  if (strchr (script, ' ') != NULL)
    {
      g_autofree char *bash = g_find_program_in_path ("bash");

      if (given != NULL || has_node_args)
        warn (app, _("script “%s” holds a space, so PM2 runs it as bash -c “%s”; "
                     "the interpreter and its arguments are not used"), script, script);
      if (has_args)
        warn (app, _("script “%s” holds a space, so PM2 runs it as bash -c “%s”; "
                     "args are not used"), script, script);
      g_ptr_array_add (program->argv, g_strdup (bash != NULL ? "bash" : "sh"));
      g_ptr_array_add (program->argv, g_strdup ("-c"));
      g_ptr_array_add (program->argv, g_strdup (script));
      return TRUE;
    }

  script_path = resolve_path (script, directory);
  if (!g_file_test (script_path, G_FILE_TEST_EXISTS))
    {
      if (strchr (script, '/') == NULL)
        in_path = g_find_program_in_path (script);
      if (in_path == NULL)
        warn (app, _("script %s is not there (yet?); it is imported as %s"), script, script_path);
    }

  if (given != NULL && given[0] != '\0')
    {
      if (g_str_has_prefix (given, "node@"))
        {
          warn (app, _("interpreter %s: Cohort does not install or pick Node.js versions; "
                       "node from PATH is used"), given);
          interpreter = g_strdup ("node");
        }
      else if (!g_str_equal (given, "none"))
        interpreter = strchr (given, '/') != NULL ? resolve_path (given, directory)
                                                  : g_strdup (given);
    }
  else
    {
      const char *by_extension = interpreter_for_extension (extension (in_path != NULL ? in_path
                                                                                      : script_path));

      if (by_extension != NULL && g_str_equal (by_extension, "python"))
        {
          g_autofree char *python = g_find_program_in_path ("python");

          /* PM2 falls back to python3 when there is no python */
          interpreter = g_strdup (python != NULL ? "python" : "python3");
        }
      else if (by_extension != NULL)
        {
          interpreter = g_strdup (by_extension);
          if (g_str_equal (by_extension, "coffee") || g_str_equal (by_extension, "lsc"))
            warn (app, _("PM2 runs %s with the %s it ships; Cohort needs %s in PATH"),
                  script, by_extension, by_extension);
        }
      else if (!is_binary_file (in_path != NULL ? in_path : script_path))
        interpreter = g_strdup ("node");
    }

  if (interpreter == NULL)
    {
      if (has_node_args)
        warn (app, _("%s: there is no interpreter to pass them to (the script runs by itself); "
                     "not used"), member_name (app, "node_args"));
      /* A program found in PATH is found there again at run time. */
      g_ptr_array_add (program->argv, g_strdup (in_path != NULL ? script : script_path));
    }
  else
    {
      program->node = is_node (interpreter);
      program->python = strstr (interpreter, "python") != NULL;
      g_ptr_array_add (program->argv, g_steal_pointer (&interpreter));
      for (guint i = 0; i < node_args->len; i++)
        g_ptr_array_add (program->argv, g_strdup (node_args->pdata[i]));
      g_ptr_array_add (program->argv, g_strdup (in_path != NULL ? in_path : script_path));
    }

  for (guint i = 0; i < args->len; i++)
    g_ptr_array_add (program->argv, g_strdup (args->pdata[i]));
  return TRUE;
}

/* instances: a count, max or 0 (one per CPU), or -N (one per CPU but N). */
static gboolean
map_instances (App                *app,
               CohortClusterSpec  *spec,
               gboolean           *given,
               double             *number,
               GError            **error)
{
  JsonNode *node = get (app, "instances");

  *given = node != NULL;
  *number = 1;
  if (node == NULL)
    return TRUE;

  if (holds (node, G_TYPE_STRING) && g_ascii_strcasecmp (json_node_get_string (node), "max") == 0)
    *number = 0;
  else if (!node_to_number (node, number) || *number != floor (*number))
    return fail_value (app, "instances", _("a whole number or \"max\""), node, error);

  if (*number == 0)
    spec->instances = COHORT_INSTANCES_MAX;
  else if (*number > 0)
    spec->instances = (int) clamp_to (app, "instances", *number, 1, MAX_INSTANCES, 1, _("instances"));
  else
    {
      int cpus = (int) g_get_num_processors ();
      int count = MAX (1, cpus + (int) MAX (*number, -MAX_INSTANCES));

      spec->instances = MIN (count, MAX_INSTANCES);
      warn (app, _("instances %g means one per CPU but %g in PM2; Cohort has no such count, "
                   "so it is %d, for this machine's %d CPUs"),
            *number, -*number, spec->instances, cpus);
    }
  return TRUE;
}

static gboolean
map_restart (App                *app,
             CohortClusterSpec  *spec,
             GError            **error)
{
  JsonNode *codes = get (app, "stop_exit_codes");
  gboolean autorestart;
  gboolean present;
  double value;

  if (!get_bool (app, "autorestart", TRUE, &autorestart, error))
    return FALSE;
  /* PM2 restarts after any exit, a clean one too */
  spec->restart = autorestart ? COHORT_RESTART_ALWAYS : COHORT_RESTART_NEVER;

  if (codes != NULL && autorestart)
    {
      g_autoptr(GString) others = g_string_new (NULL);
      gboolean zero = FALSE;
      guint n = JSON_NODE_HOLDS_ARRAY (codes) ? json_array_get_length (json_node_get_array (codes)) : 1;

      for (guint i = 0; i < n; i++)
        {
          JsonNode *code = JSON_NODE_HOLDS_ARRAY (codes)
                           ? json_array_get_element (json_node_get_array (codes), i) : codes;

          if (!node_to_number (code, &value) || value != floor (value))
            return fail_value (app, "stop_exit_codes", _("exit codes"), code, error);
          if (value == 0)
            zero = TRUE;
          else
            g_string_append_printf (others, "%s%g", others->len > 0 ? ", " : "", value);
        }
      if (zero)
        spec->restart = COHORT_RESTART_ON_FAILURE;
      if (others->len > 0)
        warn (app, _("stop_exit_codes: Cohort can spare a restart after exit code 0 only "
                     "(Restart=on-failure); after %s it restarts"), others->str);
    }

  /* lib/God.js: errored once unstable_restarts reaches max_restarts, so
   * max_restarts quick crashes are max_restarts - 1 restarts; with 0 not
   * even an exit after a long run is restarted. */
  if (!get_count (app, "max_restarts", _("a number of restarts"), &present, &value, error))
    return FALSE;
  if (present && floor (value) == 0)
    {
      spec->restart = COHORT_RESTART_NEVER;
      spec->max_restarts = 0;
    }
  else if (present)
    spec->max_restarts = (guint) clamp_to (app, "max_restarts", floor (value) - 1, 0,
                                           MAX_RESTARTS, 1, _("restarts"));

  /* min_uptime: milliseconds, or "<n>s", "<n>m", "<n>h" */
  {
    static const double scales[] = { 1000, 60 * 1000, 3600 * 1000 };
    JsonNode *node = get (app, "min_uptime");

    if (node != NULL)
      {
        if (!node_to_number_with_unit (node, "smh", scales, &value))
          return fail_value (app, "min_uptime",
                             _("milliseconds, or a number followed by s, m or h"), node, error);
        spec->min_uptime_s = clamp_to (app, "min_uptime", value / 1000, 0, MAX_UPTIME_S,
                                       1000, "ms");
      }
  }

  /* restart_delay is a fixed delay; exp_backoff_restart_delay grows
   * (×1.5 in PM2, ×2 in Cohort) up to 15 s, and wins over it. */
  {
    gboolean has_fixed;
    gboolean has_backoff;
    double fixed;
    double backoff;

    if (!get_count (app, "restart_delay", _("milliseconds"), &has_fixed, &fixed, error) ||
        !get_count (app, "exp_backoff_restart_delay", _("milliseconds"), &has_backoff, &backoff,
                    error))
      return FALSE;

    if (has_backoff)
      {
        if (has_fixed)
          warn (app, _("%s is not used: %s decides the delay, in PM2 too"),
                member_name (app, "restart_delay"), member_name (app, "exp_backoff_restart_delay"));
        spec->restart_delay_ms = (guint) round (clamp_to (app, "exp_backoff_restart_delay", backoff,
                                                          0, MAX_DELAY_MS, 1, "ms"));
        spec->restart_delay_max_ms = MAX (spec->restart_delay_ms, PM2_BACKOFF_MAX_MS);
      }
    else if (has_fixed)
      {
        spec->restart_delay_ms = (guint) round (clamp_to (app, "restart_delay", fixed, 0,
                                                          MAX_DELAY_MS, 1, "ms"));
        spec->restart_delay_max_ms = spec->restart_delay_ms;
      }
  }
  return TRUE;
}

static gboolean
map_stop_and_ready (App                *app,
                    CohortClusterSpec  *spec,
                    gboolean            node,
                    GError            **error)
{
  gboolean shutdown_message;
  gboolean wait_ready;
  gboolean present;
  double value;

  /* God.killProcess(): 'shutdown' instead of the signal, or the signal
   * (SIGINT, constants.js) alone; SIGKILL after kill_timeout either way */
  if (!get_bool (app, "shutdown_with_message", FALSE, &shutdown_message, error))
    return FALSE;
  g_free (spec->stop_message);
  spec->stop_message = shutdown_message ? g_strdup ("\"shutdown\"") : NULL;
  spec->stop_signal = SIGINT;

  if (!get_count (app, "kill_timeout", _("milliseconds"), &present, &value, error))
    return FALSE;
  if (!present)
    value = PM2_KILL_TIMEOUT_MS;
  spec->stop_timeout_s = clamp_to (app, "kill_timeout", value / 1000, 0.001, MAX_STOP_S, 1000, "ms");

  if (!get_bool (app, "wait_ready", FALSE, &wait_ready, error) ||
      !get_count (app, "listen_timeout", _("milliseconds"), &present, &value, error))
    return FALSE;
  if (wait_ready)
    {
      /* lib/God.js: listen_timeout || 3000 */
      if (!present || value == 0)
        value = PM2_LISTEN_TIMEOUT_MS;
      spec->ready_timeout_s = clamp_to (app, "listen_timeout", value / 1000, 0.001, MAX_STOP_S,
                                        1000, "ms");
    }
  else if (present)
    warn (app, _("%s is not imported: without wait_ready Cohort does not wait for a worker "
                 "to be listening"), member_name (app, "listen_timeout"));

  {
    static const double scales[] = { 1024, 1024 * 1024, 1024 * 1024 * 1024,
                                     1024, 1024 * 1024, 1024 * 1024 * 1024 };
    JsonNode *memory = get (app, "max_memory_restart");

    if (memory != NULL)
      {
        double mib;

        if (!node_to_number_with_unit (memory, "KMGkmg", scales, &value) || value < 0)
          return fail_value (app, "max_memory_restart",
                             _("bytes, or a number followed by K, M or G"), memory, error);
        mib = ceil (value / (1024 * 1024));
        if (mib * 1024 * 1024 != value)
          warn (app, _("%s: Cohort counts whole MiB; %.0f bytes become %.0f MiB"),
                member_name (app, "max_memory_restart"), value, mib);
        spec->max_memory_mib = (guint64) clamp_to (app, "max_memory_restart", mib, 0, G_MAXUINT32,
                                                   1, "MiB");
      }
  }

  spec->channel = node ? COHORT_CHANNEL_NODE : COHORT_CHANNEL_AUTO;
  return TRUE;
}

/* Letters, digits, “-”, “_” and “.”, as cohort-profile.c wants them. */
static char *
cluster_name (Import     *import,
              App        *app,
              const char *wanted)
{
  g_autoptr(GString) name = g_string_new (NULL);
  g_autofree char *base = NULL;

  for (const char *p = wanted; *p != '\0'; p = g_utf8_next_char (p))
    {
      if (g_ascii_isalnum (*p) || *p == '-' || *p == '_' || *p == '.')
        g_string_append_c (name, *p);
      else if (name->len == 0 || name->str[name->len - 1] != '-')
        g_string_append_c (name, '-');
    }
  if (name->len == 0 || strspn (name->str, "-") == name->len)
    g_string_assign (name, "app");
  if (!g_str_equal (name->str, wanted))
    warn (app, _("name “%s” is not a Cohort cluster name (letters, digits, “-”, “_” and “.”); "
                 "it is %s"), wanted, name->str);

  base = g_strdup (name->str);
  for (guint n = 2; g_hash_table_contains (import->names, name->str); n++)
    g_string_printf (name, "%s-%u", base, n);
  if (!g_str_equal (name->str, base))
    warn (app, _("another app is named %s already; this one is %s"), base, name->str);

  g_hash_table_add (import->names, g_strdup (name->str));
  return g_string_free (g_steal_pointer (&name), FALSE);
}

static void
app_clear (App *app)
{
  g_clear_pointer (&app->label, g_free);
  g_clear_pointer (&app->members, g_hash_table_unref);
  g_clear_pointer (&app->ranks, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (App, app_clear)

static CohortClusterSpec *
map_app (Import    *import,
         JsonNode  *node,
         guint      number,
         GError   **error)
{
  g_auto(App) app = { import, NULL, NULL, NULL, NULL };
  g_autoptr(CohortClusterSpec) spec = NULL;
  g_autoptr(GPtrArray) environment = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) command = g_string_new (NULL);
  g_autofree char *wanted = NULL;
  g_autofree char *name = NULL;
  g_autofree char *directory = NULL;
  Program program = { argv, FALSE, FALSE };
  const char *script = NULL;
  const char *given_name = NULL;
  const char *cwd = NULL;
  const char *mode = NULL;
  gboolean instances_given;
  gboolean execute_command;
  gboolean cluster;
  double instances;
  JsonNode *name_node;

  app.members = g_hash_table_new (g_str_hash, g_str_equal);
  app.ranks = g_hash_table_new (g_str_hash, g_str_equal);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_autofree char *text = describe (node);

      g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_INVALID,
                   _("%s: app #%u: expected an object ({\"script\": …}), got %s"),
                   import->path, number, text);
      return NULL;
    }
  app.object = json_node_get_object (node);

  name_node = json_object_get_member (app.object, "name");
  if (name_node != NULL && holds (name_node, G_TYPE_STRING) &&
      json_node_get_string (name_node)[0] != '\0')
    app.label = g_strdup_printf ("“%s”", json_node_get_string (name_node));
  else
    app.label = g_strdup_printf ("#%u", number);

  sort_members (&app);

  if (!get_string (&app, "script", &script, error) || !get_string (&app, "name", &given_name, error) ||
      !get_string (&app, "cwd", &cwd, error) || !get_string (&app, "exec_mode", &mode, error))
    return NULL;
  if (script == NULL || script[0] == '\0')
    {
      fail (&app, error, _("there is no script (the program to run)"));
      return NULL;
    }

  /* Common.renderApplicationName(): the script's name up to its last dot */
  if (given_name != NULL && given_name[0] != '\0')
    wanted = g_strdup (given_name);
  else
    {
      const char *dot;

      wanted = g_path_get_basename (script);
      dot = strrchr (wanted, '.');
      if (dot != NULL && dot != wanted)
        wanted[dot - wanted] = '\0';
    }
  name = cluster_name (import, &app, wanted);
  spec = cohort_cluster_spec_new (name, COHORT_CLUSTER_KIND_PROCESS);

  directory = cwd != NULL && cwd[0] != '\0' ? resolve_path (cwd, import->folder)
                                            : g_strdup (import->folder);
  spec->working_directory = g_strdup (directory);

  if (!build_program (&app, script, directory, &program, error) ||
      !map_environment (&app, environment, error))
    return NULL;
  if (program.python)
    set_env (environment, "PYTHONUNBUFFERED", "1");
  g_ptr_array_add (environment, NULL);
  g_strfreev (spec->environment);
  spec->environment = (char **) g_ptr_array_steal (environment, NULL);

  for (guint i = 0; i < argv->len; i++)
    append_word (command, argv->pdata[i]);
  spec->command = g_strdup (command->str);
  if (!g_shell_parse_argv (spec->command, NULL, &spec->argv, NULL))
    g_assert_not_reached ();

  if (!map_instances (&app, spec, &instances_given, &instances, error) ||
      !get_bool (&app, "execute_command", FALSE, &execute_command, error))
    return NULL;

  /* Common.sink.determineExecMode(): instances and node mean cluster mode
   * unless exec_mode says otherwise */
  if (mode != NULL)
    {
      if (g_str_equal (mode, "cluster") || g_str_equal (mode, "cluster_mode"))
        cluster = TRUE;
      else if (g_str_equal (mode, "fork") || g_str_equal (mode, "fork_mode"))
        cluster = FALSE;
      else
        {
          fail (&app, error, _("%s: expected cluster or fork, got “%s”"),
                member_name (&app, "exec_mode"), mode);
          return NULL;
        }
    }
  else
    cluster = instances_given && instances >= -1 && program.node;
  if (execute_command)
    cluster = FALSE;

  if (cluster && !program.node)
    warn (&app, _("exec_mode cluster: PM2 runs only Node.js programs in cluster mode; "
                  "Cohort runs %s as it is"), (char *) argv->pdata[0]);
  else if (cluster)
    warn (&app, _("%s: PM2's cluster mode shares one port among the instances through Node's "
                  "cluster module, which Cohort does not emulate: to share a port, add "
                  "Listen=HOST:PORT to [Cluster %s] and have the app listen on fd 3 "
                  "(server.listen({fd: 3}))"),
          mode != NULL ? "exec_mode cluster" : _("instances with node (PM2 picks cluster mode)"),
          name);

  if (!map_restart (&app, spec, error) ||
      !map_stop_and_ready (&app, spec, program.node, error))
    return NULL;

  {
    const char *instance_var = NULL;

    if (!get_string (&app, "instance_var", &instance_var, error))
      return NULL;
    if (instance_var != NULL && !g_str_equal (instance_var, "NODE_APP_INSTANCE"))
      warn (&app, _("instance_var %s is not imported: Cohort numbers workers in "
                    "COHORT_WORKER_ID and NODE_APP_INSTANCE"), instance_var);
  }

  return g_steal_pointer (&spec);
}

/* Reading the file */

/* json-glib says "<data>:LINE:COLUMN: Parse error: …"; say it of the file. */
static gboolean
parse_json (const char  *path,
            const char  *data,
            gsize        length,
            JsonNode   **root,
            GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  const char *message;

  if (json_parser_load_from_data (parser, data, length, &local_error))
    {
      if (json_parser_get_root (parser) == NULL)
        {
          g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_SYNTAX,
                       _("%s: empty: expected JSON with an apps array"), path);
          return FALSE;
        }
      *root = json_node_copy (json_parser_get_root (parser));
      return TRUE;
    }

  message = local_error->message;
  if (g_str_has_prefix (message, "<data>:"))
    {
      const char *text = strstr (message, ": Parse error: ");
      g_autofree char *position = NULL;

      if (text != NULL)
        {
          position = g_strndup (message + strlen ("<data>:"),
                                text - message - strlen ("<data>:"));
          g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_SYNTAX,
                       _("%s:%s: not valid JSON: %s"), path, position,
                       text + strlen (": Parse error: "));
          return FALSE;
        }
    }
  g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_SYNTAX,
               _("%s: not valid JSON: %s"), path, message);
  return FALSE;
}

/* Running node */

/* Given to `node -e`: require() the file as PM2 does and hand
 * JSON.stringify(module.exports) back on fd 3, where nothing the file
 * prints can get mixed into it. An exception becomes one line on stderr
 * after a marker: the line of the file it came from, and its text. */
static const char node_script[] =
  "'use strict';\n"
  "const fs = require('fs'), path = require('path');\n"
  "const file = path.resolve(process.argv[1]);\n"
  "let real = file;\n"
  "try { real = fs.realpathSync(file); } catch (e) { }\n"
  "function fail(e) {\n"
  "  const text = (e !== null && typeof e === 'object' && 'message' in e)\n"
  "    ? (e.name || 'Error') + ': ' + e.message : 'uncaught ' + String(e);\n"
  "  const stack = (e !== null && typeof e === 'object' && typeof e.stack === 'string') ? e.stack : '';\n"
  "  let m = null;\n"
  "  for (const name of [real, file]) {\n"
  "    const at = stack.indexOf(name + ':');\n"
  "    if (!m && at >= 0) m = /^:(\\d+)/.exec(stack.slice(at + name.length));\n"
  "  }\n"
  "  process.stderr.write('\\n" NODE_ERROR_MARKER "' + (m ? m[1] : '') + '\\t'\n"
  "                       + text.split('\\n')[0] + '\\n');\n"
  "  process.exit(1);\n"
  "}\n"
  "let conf, text;\n"
  "try { conf = require(file); } catch (e) { fail(e); }\n"
  "if (conf && conf[Symbol.toStringTag] === 'Module' && 'default' in conf) conf = conf.default;\n"
  "try { text = JSON.stringify(conf); } catch (e) { fail(e); }\n"
  "const out = Buffer.from(text === undefined ? 'null' : text);\n"
  "for (let done = 0; done < out.length; ) done += fs.writeSync(3, out, done);\n"
  "process.exit(0);\n";

typedef struct
{
  GString  *out;
  GString  *err;
  gboolean  exited;
  gboolean  timed_out;
  gboolean  too_big;
} NodeRun;

typedef struct
{
  NodeRun  *run;
  GString  *buffer;
  gsize     limit;
  gboolean  limit_is_error;  /* the JSON: too much is an error; stderr: the rest is dropped */
  int       fd;
  gboolean  open;
} NodePipe;

/* Reads what there is; FALSE once the pipe is at its end. */
static gboolean
drain (NodePipe *stream)
{
  char chunk[16384];

  while (stream->open)
    {
      gssize n = read (stream->fd, chunk, sizeof chunk);

      if (n > 0)
        {
          gsize room = stream->limit - MIN (stream->limit, stream->buffer->len);

          g_string_append_len (stream->buffer, chunk, MIN ((gsize) n, room));
          if ((gsize) n > room && stream->limit_is_error)
            {
              stream->run->too_big = TRUE;
              return FALSE;
            }
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return TRUE;
      stream->open = FALSE;
    }
  return FALSE;
}

static gboolean
pipe_ready_cb (int           fd,
               GIOCondition  condition,
               gpointer      data)
{
  return drain (data) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
timeout_cb (gpointer data)
{
  NodeRun *run = data;

  run->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static void
wait_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      data)
{
  NodeRun *run = data;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  run->exited = TRUE;
}

static GSource *
watch_pipe (GMainContext *context,
            NodePipe     *stream)
{
  GSource *source = g_unix_fd_source_new (stream->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);

  g_source_set_callback (source, G_SOURCE_FUNC (pipe_ready_cb), stream, NULL);
  g_source_attach (source, context);
  return source;
}

/* The first line of the file's exception, or of whatever node said. */
static char *
node_error_text (const char *path,
                 GString    *err)
{
  g_autofree char *valid = g_utf8_make_valid (err->str, err->len);
  const char *marker = g_strrstr (valid, "\n" NODE_ERROR_MARKER);
  g_auto(GStrv) lines = NULL;

  if (marker != NULL)
    {
      g_autofree char *line = g_strndup (marker + 1 + strlen (NODE_ERROR_MARKER),
                                         strcspn (marker + 1 + strlen (NODE_ERROR_MARKER), "\n"));
      char *tab = strchr (line, '\t');

      if (tab != NULL)
        {
          *tab = '\0';
          return line[0] != '\0' ? g_strdup_printf ("%s:%s: %s", path, line, tab + 1)
                                 : g_strdup_printf ("%s: %s", path, tab + 1);
        }
    }

  lines = g_strsplit (valid, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_strstrip (lines[i])[0] != '\0')
      return g_strdup_printf (_("%s: node: %s"), path, lines[i]);
  return NULL;
}

/* @path names the file in messages; node is given @absolute. */
static char *
run_node (const char  *path,
          const char  *absolute,
          gsize       *length,
          GError     **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *node = g_find_program_in_path ("node");
  g_autofree char *folder = g_path_get_dirname (absolute);
  g_autofree char *text = NULL;
  NodeRun run = { g_string_new (NULL), g_string_new (NULL), FALSE, FALSE, FALSE };
  NodePipe out = { &run, run.out, COHORT_PM2_MAX_SIZE, TRUE, -1, TRUE };
  NodePipe err = { &run, run.err, MAX_NODE_STDERR, FALSE, -1, TRUE };
  GSource *sources[3] = { NULL, NULL, NULL };
  int out_fds[2] = { -1, -1 };
  int err_fds[2] = { -1, -1 };
  const char *argv[] = { NULL, "-e", node_script, "--", absolute, NULL };
  char *result = NULL;

  if (node == NULL)
    node = g_find_program_in_path ("nodejs");
  if (node == NULL)
    {
      g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_NODE,
                   _("%s: a .config.js ecosystem file is evaluated with node, and there is no "
                     "node in PATH; install Node.js or convert the file to JSON"), path);
      goto out;
    }
  argv[0] = node;

  if (!g_unix_open_pipe (out_fds, FD_CLOEXEC, &local_error) ||
      !g_unix_open_pipe (err_fds, FD_CLOEXEC, &local_error))
    {
      g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_NODE,
                   _("%s: cannot run node: %s"), path, local_error->message);
      goto out;
    }
  out.fd = out_fds[0];
  err.fd = err_fds[0];
  g_unix_set_fd_nonblocking (out.fd, TRUE, NULL);
  g_unix_set_fd_nonblocking (err.fd, TRUE, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_cwd (launcher, folder);
  g_subprocess_launcher_take_fd (launcher, out_fds[1], 3);
  g_subprocess_launcher_take_stderr_fd (launcher, err_fds[1]);
  out_fds[1] = err_fds[1] = -1;

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  process = g_subprocess_launcher_spawnv (launcher, argv, &local_error);
  /* The write ends must close here, or the pipes never end. */
  g_clear_object (&launcher);
  if (process == NULL)
    {
      g_main_context_pop_thread_default (context);
      g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_NODE,
                   _("%s: cannot run node: %s"), path, local_error->message);
      goto out;
    }

  g_subprocess_wait_async (process, NULL, wait_cb, &run);
  sources[0] = watch_pipe (context, &out);
  sources[1] = watch_pipe (context, &err);
  sources[2] = g_timeout_source_new (COHORT_PM2_NODE_TIMEOUT_MS);
  g_source_set_callback (sources[2], timeout_cb, &run, NULL);
  g_source_attach (sources[2], context);

  while (!run.exited && !run.timed_out && !run.too_big)
    g_main_context_iteration (context, TRUE);
  if (!run.exited)
    {
      g_subprocess_force_exit (process);
      while (!run.exited)
        g_main_context_iteration (context, TRUE);
    }
  /* What node wrote before it exited is in the pipes; a child it left
   * behind may hold them open, so take what is there without waiting. */
  drain (&out);
  drain (&err);

  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    {
      g_source_destroy (sources[i]);
      g_source_unref (sources[i]);
    }
  g_main_context_pop_thread_default (context);

  if (run.timed_out)
    g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_NODE,
                 _("%s: node took more than %d s to evaluate it, and was stopped"),
                 path, COHORT_PM2_NODE_TIMEOUT_MS / 1000);
  else if (run.too_big)
    g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_NODE,
                 _("%s: it evaluates to more than %d MiB of JSON; not an ecosystem file"),
                 path, COHORT_PM2_MAX_SIZE / (1024 * 1024));
  else if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    {
      text = node_error_text (path, run.err);
      if (text == NULL)
        text = g_strdup_printf (_("%s: node failed (%s %d) and said nothing"), path,
                                g_subprocess_get_if_signaled (process) ? "signal" : "exit status",
                                g_subprocess_get_if_signaled (process)
                                  ? g_subprocess_get_term_sig (process)
                                  : g_subprocess_get_exit_status (process));
      g_set_error_literal (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_SYNTAX, text);
    }
  else if (run.out->len == 0)
    g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_SYNTAX,
                 _("%s: node ended without giving module.exports (does the file call "
                   "process.exit()?)"), path);
  else
    {
      *length = run.out->len;
      result = g_string_free (g_steal_pointer (&run.out), FALSE);
    }

out:
  for (guint i = 0; i < 2; i++)
    {
      if (out_fds[i] >= 0)
        close (out_fds[i]);
      if (err_fds[i] >= 0)
        close (err_fds[i]);
    }
  if (run.out != NULL)
    g_string_free (run.out, TRUE);
  g_string_free (run.err, TRUE);
  return result;
}

static char *
read_ecosystem (const char  *path,
                const char  *absolute,
                gsize       *length,
                GError     **error)
{
  static const char * const unsupported[] = {
    ".yml", ".yaml", ".json5", ".mjs", ".ts", NULL
  };
  g_autoptr(GError) local_error = NULL;
  char *data = NULL;
  GStatBuf st;

  for (guint i = 0; unsupported[i] != NULL; i++)
    if (g_str_has_suffix (path, unsupported[i]))
      {
        g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_READ,
                     _("%s: %s ecosystem files are not imported; JSON and .config.js "
                       "(or .cjs) are"), path, unsupported[i]);
        return NULL;
      }

  if (g_stat (absolute, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > COHORT_PM2_MAX_SIZE)
    {
      g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_READ,
                   _("%s: %" G_GINT64_FORMAT " bytes is too large for an ecosystem file "
                     "(at most %d)"), path, (gint64) st.st_size, COHORT_PM2_MAX_SIZE);
      return NULL;
    }
  if (!g_file_get_contents (absolute, &data, length, &local_error))
    {
      g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_READ,
                   _("%s: cannot read: %s"), path,
                   local_error->code == G_FILE_ERROR_NOENT ? _("no such file")
                   : local_error->code == G_FILE_ERROR_ACCES ? _("permission denied")
                   : local_error->code == G_FILE_ERROR_ISDIR ? _("it is a folder")
                   : local_error->message);
      return NULL;
    }

  if (g_str_has_suffix (path, ".js") || g_str_has_suffix (path, ".cjs"))
    {
      g_free (data);
      return run_node (path, absolute, length, error);
    }
  return data;
}

/* Where the apps are: PM2 takes config.apps, else config.pm2, else the
 * config itself, an array or one app. */
static JsonArray *
find_apps (Import    *import,
           JsonNode  *root,
           GError   **error)
{
  g_autofree char *text = NULL;
  JsonObject *object;
  JsonNode *apps = NULL;

  if (JSON_NODE_HOLDS_ARRAY (root))
    return json_array_ref (json_node_get_array (root));
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      text = describe (root);
      g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_INVALID,
                   _("%s: expected an object with an apps array, got %s"), import->path, text);
      return NULL;
    }

  object = json_node_get_object (root);
  if (json_object_has_member (object, "apps"))
    apps = json_object_get_member (object, "apps");
  else if (json_object_has_member (object, "pm2"))
    apps = json_object_get_member (object, "pm2");

  if (apps == NULL)
    {
      JsonArray *single;

      if (!json_object_has_member (object, "script") && !json_object_has_member (object, "cmd") &&
          !json_object_has_member (object, "command") && !json_object_has_member (object, "exec"))
        {
          g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_INVALID,
                       _("%s: no apps array, nor the script of a single app: "
                         "not a PM2 ecosystem file"), import->path);
          return NULL;
        }
      single = json_array_new ();
      json_array_add_element (single, json_node_copy (root));
      return single;
    }

  {
    g_autoptr(GList) members = json_object_get_members (object);

    for (GList *l = members; l != NULL; l = l->next)
      {
        const char *member = l->data;

        if (g_str_equal (member, "apps") || g_str_equal (member, "pm2"))
          continue;
        g_ptr_array_add (import->warnings,
                         g_str_equal (member, "deploy")
                         ? g_strdup (_("deploy is not imported: Cohort does not deploy"))
                         : g_str_equal (member, "static")
                         ? g_strdup (_("static is not imported: Cohort serves no static files"))
                         : g_strdup_printf (_("%s is not part of a PM2 ecosystem file; ignored"),
                                            member));
      }
  }

  if (JSON_NODE_HOLDS_OBJECT (apps))
    {
      JsonArray *single = json_array_new ();

      json_array_add_element (single, json_node_copy (apps));
      return single;
    }
  if (!JSON_NODE_HOLDS_ARRAY (apps))
    {
      text = describe (apps);
      g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_INVALID,
                   _("%s: apps: expected an array of apps, got %s"), import->path, text);
      return NULL;
    }
  return json_array_ref (json_node_get_array (apps));
}

/**
 * cohort_pm2_import:
 * @path: a PM2 ecosystem file: JSON, or a .config.js (.cjs) for node
 * @specs_out: (out) (element-type CohortClusterSpec): one process cluster per app
 * @warnings_out: (out) (optional) (element-type utf8): what was not
 *   imported, and what was imported otherwise than PM2 would run it
 *
 * Relative paths resolve against @path's folder: a cwd, and the script
 * against the cwd.
 *
 * Returns: %FALSE with @error set, naming the file and the app, when
 *   the file cannot be read, is not JSON, or holds a value PM2 would refuse
 */
gboolean
cohort_pm2_import (const char  *path,
                   GPtrArray  **specs_out,
                   GPtrArray  **warnings_out,
                   GError     **error)
{
  g_autoptr(GPtrArray) specs = NULL;
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GHashTable) names = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonArray) apps = NULL;
  g_autofree char *absolute = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *data = NULL;
  gsize length = 0;
  Import import;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (specs_out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  absolute = g_canonicalize_filename (path, NULL);
  folder = g_path_get_dirname (absolute);
  warnings = g_ptr_array_new_with_free_func (g_free);
  names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  import = (Import) { path, folder, warnings, names };

  data = read_ecosystem (path, absolute, &length, error);
  if (data == NULL || !parse_json (path, data, length, &root, error))
    return FALSE;
  apps = find_apps (&import, root, error);
  if (apps == NULL)
    return FALSE;
  if (json_array_get_length (apps) == 0)
    {
      g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_INVALID,
                   _("%s: there are no apps to import"), path);
      return FALSE;
    }

  specs = g_ptr_array_new_with_free_func ((GDestroyNotify) cohort_cluster_spec_unref);
  for (guint i = 0; i < json_array_get_length (apps); i++)
    {
      CohortClusterSpec *spec = map_app (&import, json_array_get_element (apps, i), i + 1, error);

      if (spec == NULL)
        return FALSE;
      g_ptr_array_add (specs, spec);
    }

  *specs_out = g_steal_pointer (&specs);
  if (warnings_out != NULL)
    *warnings_out = g_steal_pointer (&warnings);
  return TRUE;
}

/* "ecosystem" for ecosystem.config.js, ecosystem.json … */
char *
cohort_pm2_profile_name (const char *path)
{
  static const char * const suffixes[] = {
    ".config.js", ".config.cjs", ".config.json", ".json", ".cjs", ".js", NULL
  };
  g_autofree char *base = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  base = g_path_get_basename (path);
  for (guint i = 0; suffixes[i] != NULL; i++)
    if (g_str_has_suffix (base, suffixes[i]) && strlen (base) > strlen (suffixes[i]))
      {
        base[strlen (base) - strlen (suffixes[i])] = '\0';
        break;
      }
  return g_steal_pointer (&base);
}

/**
 * cohort_pm2_convert:
 * @path: a PM2 ecosystem file
 * @output: the profile to write, named after @path (“ecosystem”)
 * @warnings_out: (out) (optional) (element-type utf8): as for
 *   cohort_pm2_import()
 * @n_clusters_out: (out) (optional): how many clusters it holds
 *
 * Imports @path and saves the profile atomically: on any error @output
 * is left as it was.
 */
gboolean
cohort_pm2_convert (const char  *path,
                    const char  *output,
                    GPtrArray  **warnings_out,
                    guint       *n_clusters_out,
                    GError     **error)
{
  g_autoptr(GPtrArray) specs = NULL;
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(CohortProfile) profile = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *target = NULL;
  GStatBuf in_st;
  GStatBuf out_st;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (output != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_stat (path, &in_st) == 0 && g_stat (output, &out_st) == 0 &&
      in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino)
    {
      g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_OUTPUT,
                   _("%s: the profile would replace the ecosystem file; write it elsewhere"),
                   output);
      return FALSE;
    }

  if (!cohort_pm2_import (path, &specs, &warnings, error))
    return FALSE;

  profile = cohort_profile_new ();
  name = cohort_pm2_profile_name (path);
  cohort_profile_set_name (profile, name);
  for (guint i = 0; i < specs->len; i++)
    {
      CohortClusterSpec *spec = g_ptr_array_index (specs, i);

      if (!cohort_profile_put_cluster (profile, NULL, spec, &local_error))
        {
          g_set_error (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_OUTPUT,
                       _("%s: cannot write [Cluster %s]: %s"), output, spec->name,
                       local_error->message);
          return FALSE;
        }
    }
  /* The profile resolves its own paths against the file's folder. It
   * says what an ecosystem file from anywhere says, so it is not recorded
   * as one Cohort saved: opening it asks before anything starts. */
  target = g_canonicalize_filename (output, NULL);
  if (!cohort_profile_save_untrusted (profile, target, &local_error))
    {
      g_set_error_literal (error, COHORT_PM2_ERROR, COHORT_PM2_ERROR_OUTPUT, local_error->message);
      return FALSE;
    }

  if (n_clusters_out != NULL)
    *n_clusters_out = specs->len;
  if (warnings_out != NULL)
    *warnings_out = g_steal_pointer (&warnings);
  return TRUE;
}
