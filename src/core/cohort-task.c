/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-task.c: the built-in CPU tasks that thread clusters run.
 *
 * A task is a plain function that runs to its end on the calling thread
 * (a worker's thread in the pool) and returns a JSON result. It polls its
 * context between bounded slices of work, so a stop or a deadline ends it
 * within a few milliseconds, and it reports what it holds in memory so the
 * worker has a figure to show like a process worker's RSS.
 *
 * The parameters of every task are described by a table, so validation,
 * the messages and the list of accepted members come from one place, and
 * the profile can check Arguments= without running anything.
 *
 * Generated inputs, so that results can be checked anywhere:
 *  - sha256 {"bytes": N}: byte i of the stream is (i * 31 + 7) & 0xff;
 *  - compress {"bytes": N}: words of a fixed 32-word vocabulary, each
 *    followed by a space; with s = 1 at the start, before each word
 *    s = s * 1664525 + 1013904223 (mod 2^32) and the word is
 *    vocabulary[s >> 27]; the stream is cut after N bytes.
 *
 * {"path": P} names a file, or a folder whose regular files (recursively,
 * symbolic links inside it not followed) are read one after the other,
 * sorted by their path relative to P in byte order. P itself may be a
 * symbolic link: it is what the user named. */

#include "config.h"

#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "cohort-task.h"

/* A slice of I/O or hashing between two checks. */
#define CHUNK_SIZE          (64 * 1024)
/* Input per deflate call: level 9 on repetitive text runs near 10 MB/s,
 * and a stop should not wait more than a couple of milliseconds. */
#define COMPRESS_SLICE      (16 * 1024)
/* About half a millisecond of the sum loop. */
#define SUM_SLICE           (G_GUINT64_CONSTANT (1) << 20)
/* One byte per odd number: a segment spans 2 × 256 Ki numbers and fits
 * in a typical L2 cache. */
#define SIEVE_SEGMENT       (256 * 1024)

/* What zlib allocates for a stream with the defaults GZlibCompressor
 * uses (windowBits 15, memLevel 8): (1 << (15 + 2)) + (1 << (8 + 9))
 * bytes plus about 6 KiB of state, and 32 KiB of window plus about 7 KiB
 * for inflate (zlib's zconf.h). Estimates, for the memory figure only. */
#define ZLIB_DEFLATE_MEMORY (268 * 1024)
#define ZLIB_INFLATE_MEMORY (40 * 1024)

#define MAX_SUM_N           (G_GINT64_CONSTANT (1) << 32)
#define MAX_PRIMES_BELOW    G_GINT64_CONSTANT (2000000000)
#define MAX_SHA256_BYTES    (G_GINT64_CONSTANT (1) << 34)
#define MAX_COMPRESS_BYTES  (G_GINT64_CONSTANT (1) << 32)
#define MAX_THUMBNAIL_SIDE  8192

/* An empty asm that claims to change X: the compiler can no longer
 * vectorize the sum loop or replace it by n(n-1)/2 (Clang does), and the
 * task is meant to burn CPU the way a blocking JavaScript loop does. */
#if defined(__GNUC__) || defined(__clang__)
# define OPAQUE(x) __asm__ ("" : "+r" (x))
#else
# define OPAQUE(x) ((void) 0)
#endif

struct _CohortTaskContext
{
  GCancellable *cancellable;
  gint64        created;
  gint64        deadline;

  /* Written by the task's thread, read by any. */
  GMutex        mutex;
  double        progress;
  gint64        memory;
};

G_DEFINE_QUARK (cohort-task-error-quark, cohort_task_error)

/* Context */

CohortTaskContext *
cohort_task_context_new (GCancellable *cancellable,
                         gint64        deadline)
{
  CohortTaskContext *context;

  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  context = g_new0 (CohortTaskContext, 1);
  context->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  context->created = g_get_monotonic_time ();
  context->deadline = deadline;
  g_mutex_init (&context->mutex);

  return context;
}

void
cohort_task_context_free (CohortTaskContext *context)
{
  if (context == NULL)
    return;

  g_clear_object (&context->cancellable);
  g_mutex_clear (&context->mutex);
  g_free (context);
}

static char *
format_seconds (gint64 usec)
{
  /* To the millisecond: the deadline was set a few µs before the
   * context was created, and “0.05 s” reads better than “0.04999 s”. */
  double seconds = round (MAX (usec, 0) / 1000.0) / 1000.0;

  if (seconds >= 100)
    return g_strdup_printf ("%.0f", seconds);
  return g_strdup_printf ("%.3g", seconds);
}

gboolean
cohort_task_context_check (CohortTaskContext *context,
                           GError           **error)
{
  g_return_val_if_fail (context != NULL, FALSE);

  if (context->cancellable != NULL && g_cancellable_is_cancelled (context->cancellable))
    {
      g_set_error_literal (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_CANCELLED,
                           _("cancelled"));
      return FALSE;
    }

  if (context->deadline != 0 && g_get_monotonic_time () >= context->deadline)
    {
      /* The limit as the user set it, counted from the context's creation,
       * not the time actually spent (which is a little more). */
      g_autofree char *seconds = format_seconds (context->deadline - context->created);

      g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_TIMED_OUT,
                   _("timed out after %s s"), seconds);
      return FALSE;
    }

  return TRUE;
}

void
cohort_task_context_set_progress (CohortTaskContext *context,
                                  double             fraction)
{
  g_return_if_fail (context != NULL);

  if (isnan (fraction))
    return;

  g_mutex_lock (&context->mutex);
  context->progress = CLAMP (fraction, 0.0, 1.0);
  g_mutex_unlock (&context->mutex);
}

double
cohort_task_context_get_progress (CohortTaskContext *context)
{
  double progress;

  g_return_val_if_fail (context != NULL, 0.0);

  g_mutex_lock (&context->mutex);
  progress = context->progress;
  g_mutex_unlock (&context->mutex);

  return progress;
}

void
cohort_task_context_add_memory (CohortTaskContext *context,
                                gint64             delta)
{
  g_return_if_fail (context != NULL);

  g_mutex_lock (&context->mutex);
  context->memory += delta;
  g_mutex_unlock (&context->mutex);
}

guint64
cohort_task_context_get_memory (CohortTaskContext *context)
{
  gint64 memory;

  g_return_val_if_fail (context != NULL, 0);

  g_mutex_lock (&context->mutex);
  memory = context->memory;
  g_mutex_unlock (&context->mutex);

  /* Negative only through a task's bookkeeping bug: show nothing rather
   * than 16 EiB. */
  return memory > 0 ? (guint64) memory : 0;
}

/* Memory the task holds, counted in the context as it is allocated and
 * freed. */
static gpointer
tracked_alloc (CohortTaskContext *context,
               gsize              size)
{
  cohort_task_context_add_memory (context, (gint64) size);
  return g_malloc (size);
}

static void
tracked_free (CohortTaskContext *context,
              gpointer           data,
              gsize              size)
{
  if (data == NULL)
    return;
  g_free (data);
  cohort_task_context_add_memory (context, -(gint64) size);
}

/* Parameters */

typedef enum
{
  PARAM_INTEGER,
  PARAM_BOOLEAN,
  PARAM_STRING,
} ParamType;

typedef struct
{
  const char *name;
  ParamType   type;
  gboolean    required;
  gint64      min;
  gint64      max;
  gint64      default_value;
  /* N_(): why an integer's range ends where it does; what a string
   * must be. NULL for none. */
  const char *note;
} Param;

typedef JsonNode *(*TaskFunc) (const CohortTaskArgs *args,
                               CohortTaskContext    *context,
                               GError              **error);

typedef struct
{
  const char  *name;
  const Param *params;
  /* When set, exactly one of these two members must be given. */
  const char  *one_of[2];
  TaskFunc     run;
} Task;

/* The most parameters a task has. */
#define MAX_PARAMS 4

typedef union
{
  gint64    integer;
  gboolean  boolean;
  char     *string;
} ArgValue;

/* Arguments checked against their task's parameters and held as plain
 * values: made on one thread and used on another, with no JSON tree
 * between them (json-glib counts references without atomics), and
 * nothing to look up in a hash table while a tiny task runs. */
struct _CohortTaskArgs
{
  const Task *task;
  guint       given;              /* bit i: task->params[i] was given */
  ArgValue    values[MAX_PARAMS]; /* by the parameter's index */
};

static const Param sum_params[] = {
  { "n", PARAM_INTEGER, TRUE, 0, MAX_SUM_N, 0, N_("the largest whose sum fits in 64 bits") },
  { NULL }
};

static const Param primes_params[] = {
  { "below", PARAM_INTEGER, TRUE, 0, MAX_PRIMES_BELOW, 0, NULL },
  { NULL }
};

static const Param sha256_params[] = {
  { "bytes", PARAM_INTEGER, FALSE, 0, MAX_SHA256_BYTES, 0, NULL },
  { "path", PARAM_STRING, FALSE, 0, 0, 0, N_("the path of a file or folder") },
  { NULL }
};

static const Param compress_params[] = {
  { "bytes", PARAM_INTEGER, FALSE, 0, MAX_COMPRESS_BYTES, 0, NULL },
  { "path", PARAM_STRING, FALSE, 0, 0, 0, N_("the path of a file or folder") },
  { "level", PARAM_INTEGER, FALSE, -1, 9, -1, N_("-1 for zlib’s default") },
  { "verify", PARAM_BOOLEAN, FALSE, 0, 0, FALSE, NULL },
  { NULL }
};

static const Param thumbnail_params[] = {
  { "input", PARAM_STRING, TRUE, 0, 0, 0, N_("the path of a folder of images") },
  { "output", PARAM_STRING, TRUE, 0, 0, 0, N_("the path of a folder for the thumbnails") },
  { "width", PARAM_INTEGER, TRUE, 1, MAX_THUMBNAIL_SIDE, 0, NULL },
  { "height", PARAM_INTEGER, TRUE, 1, MAX_THUMBNAIL_SIDE, 0, NULL },
  { NULL }
};

static JsonNode *run_sum       (const CohortTaskArgs *args,
                                CohortTaskContext    *context,
                                GError              **error);
static JsonNode *run_primes    (const CohortTaskArgs *args,
                                CohortTaskContext    *context,
                                GError              **error);
static JsonNode *run_sha256    (const CohortTaskArgs *args,
                                CohortTaskContext    *context,
                                GError              **error);
static JsonNode *run_compress  (const CohortTaskArgs *args,
                                CohortTaskContext    *context,
                                GError              **error);
static JsonNode *run_thumbnail (const CohortTaskArgs *args,
                                CohortTaskContext    *context,
                                GError              **error);

static const Task tasks[] = {
  { "sum", sum_params, { NULL, NULL }, run_sum },
  { "primes", primes_params, { NULL, NULL }, run_primes },
  { "sha256", sha256_params, { "bytes", "path" }, run_sha256 },
  { "compress", compress_params, { "bytes", "path" }, run_compress },
  { "thumbnail", thumbnail_params, { NULL, NULL }, run_thumbnail },
};

static const char * const task_names[] = {
  "sum", "primes", "sha256", "compress", "thumbnail", NULL
};

static const Task *
find_task (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (tasks); i++)
    if (g_strcmp0 (tasks[i].name, name) == 0)
      return &tasks[i];
  return NULL;
}

static const Param *
find_param (const Task *task,
            const char *name)
{
  for (const Param *param = task->params; param->name != NULL; param++)
    if (strcmp (param->name, name) == 0)
      return param;
  return NULL;
}

/* An integer, or a JSON number with no fraction (1e6 is a fine way to
 * write a million). */
static gboolean
node_get_integer (JsonNode *node,
                  gint64   *out)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;

  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    {
      *out = json_node_get_int (node);
      return TRUE;
    }
  if (type == G_TYPE_DOUBLE)
    {
      double value = json_node_get_double (node);

      /* Beyond ±2^62 the value is out of every range anyway; stopping
       * there keeps the cast defined. */
      if (isfinite (value) && value == floor (value) && fabs (value) < 4.6e18)
        {
          *out = (gint64) value;
          return TRUE;
        }
    }
  return FALSE;
}

/* The value the user gave, for an error message. */
static char *
describe_value (JsonNode *node)
{
  GType type;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return g_strdup (_("an object"));
    case JSON_NODE_ARRAY:
      return g_strdup (_("an array"));
    case JSON_NODE_NULL:
      return g_strdup ("null");
    case JSON_NODE_VALUE:
    default:
      break;
    }

  type = json_node_get_value_type (node);
  if (type == G_TYPE_STRING)
    {
      const char *text = json_node_get_string (node);

      if (g_utf8_strlen (text, -1) > 40)
        {
          g_autofree char *start = g_utf8_substring (text, 0, 40);

          return g_strdup_printf (_("the string “%s…”"), start);
        }
      return g_strdup_printf (_("the string “%s”"), text);
    }
  if (type == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  if (type == G_TYPE_DOUBLE)
    return g_strdup_printf ("%.15g", json_node_get_double (node));
  if (type == G_TYPE_BOOLEAN)
    return g_strdup (json_node_get_boolean (node) ? "true" : "false");
  return g_strdup (_("a value of unknown type"));
}

/* What a parameter accepts, e.g. “an integer from 0 to 100”. */
static char *
describe_param (const Param *param)
{
  switch (param->type)
    {
    case PARAM_INTEGER:
      {
        g_autofree char *range = NULL;

        range = g_strdup_printf (_("an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT),
                                 param->min, param->max);
        if (param->note != NULL)
          return g_strdup_printf ("%s (%s)", range, _(param->note));
        return g_steal_pointer (&range);
      }
    case PARAM_BOOLEAN:
      return g_strdup (_("true or false"));
    case PARAM_STRING:
    default:
      if (param->note != NULL)
        return g_strdup (_(param->note));
      return g_strdup (_("a path"));
    }
}

static gboolean
check_param (const Param *param,
             JsonNode    *node,
             GError     **error)
{
  gboolean ok = FALSE;

  switch (param->type)
    {
    case PARAM_INTEGER:
      {
        gint64 value;

        ok = node_get_integer (node, &value) && value >= param->min && value <= param->max;
        break;
      }
    case PARAM_BOOLEAN:
      ok = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN;
      break;
    case PARAM_STRING:
    default:
      ok = JSON_NODE_HOLDS_VALUE (node)
           && json_node_get_value_type (node) == G_TYPE_STRING
           && json_node_get_string (node)[0] != '\0';
      break;
    }

  if (!ok)
    {
      g_autofree char *expected = describe_param (param);
      g_autofree char *got = describe_value (node);

      g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_ARGUMENTS,
                   _("“%s” must be %s, got %s"), param->name, expected, got);
    }
  return ok;
}

static int
param_index (const Task  *task,
             const Param *param)
{
  int index = (int) (param - task->params);

  g_assert (index >= 0 && index < MAX_PARAMS);
  return index;
}

static void
args_clear (CohortTaskArgs *args)
{
  for (int i = 0; args->task != NULL && args->task->params[i].name != NULL; i++)
    if (args->task->params[i].type == PARAM_STRING && (args->given & (1u << i)) != 0)
      g_free (args->values[i].string);
  args->given = 0;
}

/* Checks @args for @name and, with @out, keeps their values there. */
static gboolean
validate (const char      *name,
          JsonNode        *args,
          CohortTaskArgs  *out,
          GError         **error)
{
  const Task *task = find_task (name);
  CohortTaskArgs values = { task, 0, { { 0 } } };
  JsonObject *object = NULL;
  JsonObjectIter iter;
  const char *member;
  JsonNode *node;

  if (task == NULL)
    {
      g_autofree char *known = g_strjoinv (", ", (char **) task_names);

      g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_UNKNOWN_TASK,
                   _("unknown task “%s” (the tasks are %s)"), name, known);
      return FALSE;
    }

  if (args != NULL && JSON_NODE_HOLDS_OBJECT (args))
    object = json_node_get_object (args);
  else if (args != NULL && !JSON_NODE_HOLDS_NULL (args))
    {
      g_autofree char *got = describe_value (args);

      g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_ARGUMENTS,
                   _("the arguments of “%s” must be a JSON object, got %s"), name, got);
      return FALSE;
    }

  if (object != NULL)
    {
      json_object_iter_init_ordered (&iter, object);
      while (json_object_iter_next_ordered (&iter, &member, &node))
        {
          const Param *param = find_param (task, member);
          int index;

          if (param == NULL)
            {
              g_autoptr(GString) accepted = g_string_new (NULL);

              for (const Param *p = task->params; p->name != NULL; p++)
                g_string_append_printf (accepted, "%s“%s”", accepted->len > 0 ? ", " : "", p->name);
              g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_ARGUMENTS,
                           _("unknown argument “%s” for “%s” (it takes %s)"),
                           member, name, accepted->str);
              args_clear (&values);
              return FALSE;
            }
          if (!check_param (param, node, error))
            {
              args_clear (&values);
              return FALSE;
            }

          /* A member given twice: json-glib keeps the last one. */
          index = param_index (task, param);
          if (param->type == PARAM_STRING && (values.given & (1u << index)) != 0)
            g_free (values.values[index].string);
          values.given |= 1u << index;
          switch (param->type)
            {
            case PARAM_INTEGER:
              node_get_integer (node, &values.values[index].integer);
              break;
            case PARAM_BOOLEAN:
              values.values[index].boolean = json_node_get_boolean (node);
              break;
            case PARAM_STRING:
            default:
              values.values[index].string = g_strdup (json_node_get_string (node));
              break;
            }
        }
    }

  for (const Param *param = task->params; param->name != NULL; param++)
    if (param->required && (values.given & (1u << param_index (task, param))) == 0)
      {
        g_autofree char *expected = describe_param (param);

        g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_ARGUMENTS,
                     _("missing argument “%s”: %s"), param->name, expected);
        args_clear (&values);
        return FALSE;
      }

  if (task->one_of[0] != NULL)
    {
      gboolean has_first = values.given & (1u << param_index (task, find_param (task, task->one_of[0])));
      gboolean has_second = values.given & (1u << param_index (task, find_param (task, task->one_of[1])));

      if (has_first && has_second)
        {
          g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_ARGUMENTS,
                       _("give either “%s” or “%s” to “%s”, not both"),
                       task->one_of[0], task->one_of[1], name);
          args_clear (&values);
          return FALSE;
        }
      if (!has_first && !has_second)
        {
          g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_ARGUMENTS,
                       _("missing argument: give either “%s” or “%s” to “%s”"),
                       task->one_of[0], task->one_of[1], name);
          args_clear (&values);
          return FALSE;
        }
    }

  if (out != NULL)
    *out = values;
  else
    args_clear (&values);
  return TRUE;
}

/* The value given for @name, validated, or NULL for none. */
static const ArgValue *
arg_value (const CohortTaskArgs *args,
           const char           *name)
{
  const Param *param = find_param (args->task, name);
  int index;

  g_assert (param != NULL);
  index = param_index (args->task, param);
  return (args->given & (1u << index)) != 0 ? &args->values[index] : NULL;
}

/* An argument's value, or the parameter's default. */
static gint64
arg_integer (const CohortTaskArgs *args,
             const char           *name,
             gint64                default_value)
{
  const ArgValue *value = arg_value (args, name);

  return value != NULL ? value->integer : default_value;
}

static gboolean
arg_boolean (const CohortTaskArgs *args,
             const char           *name,
             gboolean              default_value)
{
  const ArgValue *value = arg_value (args, name);

  return value != NULL ? value->boolean : default_value;
}

static const char *
arg_string (const CohortTaskArgs *args,
            const char           *name)
{
  const ArgValue *value = arg_value (args, name);

  return value != NULL ? value->string : NULL;
}

static JsonNode *
object_node (JsonObject *object)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, object);
  return node;
}

/* I/O errors */

/* GIO words a local failure as “Error opening file “/a/b”: Permission
 * denied”: the part after the last “: ” is the system's reason. Our
 * messages name the file themselves, once. */
static const char *
io_reason (const GError *cause)
{
  const char *colon = g_strrstr (cause->message, ": ");

  return colon != NULL && colon[2] != '\0' ? colon + 2 : cause->message;
}

static void
set_read_error (GError      **error,
                const char   *path,
                const GError *cause)
{
  g_autofree char *display = g_filename_display_name (path);

  g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_INPUT,
               _("cannot read “%s”: %s"), display, io_reason (cause));
}

/* sum */

/* @sum + @from + (@from + 1) + … + (@to − 1): the sum task's loop, one
 * iteration per number (OPAQUE). Also what tests/bench/bench-threads
 * runs on bare pthreads, so that its ceiling is this very code. */
guint64
_cohort_task_sum_range (guint64 sum,
                        guint64 from,
                        guint64 to)
{
  for (guint64 i = from; i < to; i++)
    {
      sum += i;
      OPAQUE (sum);
    }
  return sum;
}

static JsonNode *
run_sum (const CohortTaskArgs *args,
         CohortTaskContext    *context,
         GError              **error)
{
  guint64 n = (guint64) arg_integer (args, "n", 0);
  guint64 sum = 0;
  guint64 i = 0;
  JsonObject *result;

  while (i < n)
    {
      guint64 end = MIN (n, i + SUM_SLICE);

      if (!cohort_task_context_check (context, error))
        return NULL;

      sum = _cohort_task_sum_range (sum, i, end);
      i = end;
      cohort_task_context_set_progress (context, (double) i / (double) n);
    }

  result = json_object_new ();
  json_object_set_int_member (result, "n", (gint64) n);
  /* n ≤ 2^32 keeps this below 2^63. */
  json_object_set_int_member (result, "sum", (gint64) sum);
  return object_node (result);
}

/* primes */

static guint64
isqrt (guint64 n)
{
  guint64 r = (guint64) sqrt ((double) n);

  /* sqrt() on a double may be off by one either way for large n. */
  while (r > 0 && r * r > n)
    r--;
  while ((r + 1) * (r + 1) <= n)
    r++;
  return r;
}

/* A segmented sieve of Eratosthenes over odd numbers: memory stays at one
 * segment plus the primes up to √below, whatever @below is. */
static gboolean
count_primes (guint64            below,
              CohortTaskContext *context,
              guint64           *count_out,
              GError           **error)
{
  guint64 limit;
  guint64 root;
  gsize small_size;
  gsize base_size;
  guint8 *small = NULL;
  guint32 *base = NULL;
  guint8 *segment = NULL;
  guint n_base = 0;
  guint64 count = 0;
  gboolean ok = TRUE;

  *count_out = 0;
  if (below <= 2)
    return TRUE;

  limit = below - 1;
  root = isqrt (limit);

  /* The odd primes up to √limit, by a plain sieve: they strike out the
   * composites of every segment. */
  small_size = root + 1;
  base_size = (root / 2 + 1) * sizeof (guint32);
  small = tracked_alloc (context, small_size);
  base = tracked_alloc (context, base_size);
  segment = tracked_alloc (context, SIEVE_SEGMENT);

  memset (small, 1, small_size);
  for (guint64 i = 2; i * i <= root; i++)
    if (small[i])
      for (guint64 j = i * i; j <= root; j += i)
        small[j] = 0;
  for (guint64 i = 3; i <= root; i += 2)
    if (small[i])
      base[n_base++] = (guint32) i;

  count = 1;  /* 2 */
  for (guint64 low = 0; low <= limit; low += 2 * SIEVE_SEGMENT)
    {
      /* segment[j] stands for the odd number low + 2j + 1, for the numbers
       * in [low, high). */
      guint64 high = MIN (limit + 1, low + 2 * (guint64) SIEVE_SEGMENT);
      gsize length = (gsize) ((high - low) / 2);

      if (!cohort_task_context_check (context, error))
        {
          ok = FALSE;
          break;
        }

      memset (segment, 1, length);
      if (low == 0)
        segment[0] = 0;  /* 1 is not a prime */

      for (guint k = 0; k < n_base; k++)
        {
          guint64 p = base[k];
          guint64 start = p * p;

          if (start >= high)
            break;
          if (start < low)
            {
              /* The first odd multiple of p at or above low. */
              start = (low + p - 1) / p * p;
              if (start % 2 == 0)
                start += p;
            }
          for (gsize j = (gsize) ((start - low) / 2); j < length; j += p)
            segment[j] = 0;
        }

      for (gsize j = 0; j < length; j++)
        count += segment[j];

      cohort_task_context_set_progress (context, (double) high / (double) (limit + 1));
    }

  tracked_free (context, segment, SIEVE_SEGMENT);
  tracked_free (context, base, base_size);
  tracked_free (context, small, small_size);

  if (ok)
    *count_out = count;
  return ok;
}

static JsonNode *
run_primes (const CohortTaskArgs *args,
            CohortTaskContext    *context,
            GError              **error)
{
  gint64 below = arg_integer (args, "below", 0);
  guint64 count;
  JsonObject *result;

  if (!count_primes ((guint64) below, context, &count, error))
    return NULL;

  result = json_object_new ();
  json_object_set_int_member (result, "below", below);
  json_object_set_int_member (result, "count", (gint64) count);
  return object_node (result);
}

/* Inputs of sha256 and compress */

typedef struct
{
  char    *path;      /* to open and to name in messages */
  char    *relative;  /* to sort by */
  guint64  size;
} InputFile;

static void
input_file_free (gpointer data)
{
  InputFile *file = data;

  g_free (file->path);
  g_free (file->relative);
  g_free (file);
}

static int
compare_input_files (gconstpointer a,
                     gconstpointer b)
{
  const InputFile *fa = *(InputFile * const *) a;
  const InputFile *fb = *(InputFile * const *) b;

  return strcmp (fa->relative, fb->relative);
}

static void
add_input_file (GPtrArray  *files,
                const char *path,
                const char *relative,
                GFileInfo  *info)
{
  InputFile *file = g_new0 (InputFile, 1);

  file->path = g_strdup (path);
  file->relative = g_strdup (relative);
  file->size = (guint64) MAX (g_file_info_get_size (info), 0);
  g_ptr_array_add (files, file);
}

static gboolean
walk_folder (GFile             *folder,
             const char        *path,
             const char        *relative,
             GPtrArray         *files,
             CohortTaskContext *context,
             GError           **error)
{
  g_autoptr(GFileEnumerator) enumerator = NULL;
  g_autoptr(GError) local_error = NULL;

  enumerator = g_file_enumerate_children (folder,
                                          G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                          G_FILE_ATTRIBUTE_STANDARD_TYPE ","
                                          G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                          G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                          NULL, &local_error);
  if (enumerator == NULL)
    {
      set_read_error (error, path, local_error);
      return FALSE;
    }

  for (;;)
    {
      g_autoptr(GFileInfo) info = NULL;
      g_autofree char *child_path = NULL;
      g_autofree char *child_relative = NULL;
      const char *name;

      /* A tree of a million files takes a while to list. */
      if (!cohort_task_context_check (context, error))
        return FALSE;

      info = g_file_enumerator_next_file (enumerator, NULL, &local_error);
      if (info == NULL)
        {
          if (local_error != NULL)
            {
              set_read_error (error, path, local_error);
              return FALSE;
            }
          break;
        }

      name = g_file_info_get_name (info);
      child_path = g_build_filename (path, name, NULL);
      child_relative = relative != NULL ? g_build_filename (relative, name, NULL) : g_strdup (name);

      switch (g_file_info_get_file_type (info))
        {
        case G_FILE_TYPE_DIRECTORY:
          {
            g_autoptr(GFile) child = g_file_get_child (folder, name);

            if (!walk_folder (child, child_path, child_relative, files, context, error))
              return FALSE;
            break;
          }
        case G_FILE_TYPE_REGULAR:
          add_input_file (files, child_path, child_relative, info);
          break;
        default:
          /* Links, devices, sockets and pipes are not content. */
          break;
        }
    }

  return TRUE;
}

/* The regular files @path stands for, sorted; NULL with @error set when
 * @path cannot be read. */
static GPtrArray *
collect_files (const char        *path,
               CohortTaskContext *context,
               guint64           *total_out,
               GError           **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (input_file_free);
  g_autoptr(GError) local_error = NULL;
  guint64 total = 0;

  info = g_file_query_info (file,
                            G_FILE_ATTRIBUTE_STANDARD_TYPE ","
                            G_FILE_ATTRIBUTE_STANDARD_SIZE,
                            G_FILE_QUERY_INFO_NONE, NULL, &local_error);
  if (info == NULL)
    {
      set_read_error (error, path, local_error);
      return NULL;
    }

  switch (g_file_info_get_file_type (info))
    {
    case G_FILE_TYPE_REGULAR:
      {
        g_autofree char *name = g_path_get_basename (path);

        add_input_file (files, path, name, info);
        break;
      }
    case G_FILE_TYPE_DIRECTORY:
      if (!walk_folder (file, path, NULL, files, context, error))
        return NULL;
      g_ptr_array_sort (files, compare_input_files);
      break;
    default:
      {
        g_autofree char *display = g_filename_display_name (path);

        g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_INPUT,
                     _("“%s” is neither a regular file nor a folder"), display);
        return NULL;
      }
    }

  for (guint i = 0; i < files->len; i++)
    total += ((InputFile *) g_ptr_array_index (files, i))->size;
  *total_out = total;

  return g_steal_pointer (&files);
}

typedef enum
{
  SOURCE_PATTERN,
  SOURCE_WORDS,
  SOURCE_FILES,
} SourceKind;

/* A stream of input bytes: generated, or the files of a path in order. */
typedef struct
{
  SourceKind    kind;
  guint64       offset;     /* bytes produced so far */

  /* SOURCE_PATTERN, SOURCE_WORDS */
  guint64       length;
  guint32       lcg;
  const char   *word;       /* what is left of the current word */

  /* SOURCE_FILES */
  GPtrArray    *files;      /* of InputFile, borrowed */
  guint         next_file;
  InputFile    *current;
  GInputStream *stream;
} Source;

/* Compressible but not trivial: about 5 bits of choice per 6 bytes. */
static const char * const vocabulary[32] = {
  "the ", "cluster ", "of ", "workers ", "and ", "a ", "thread ", "runs ",
  "to ", "process ", "in ", "message ", "is ", "queue ", "that ", "restart ",
  "for ", "memory ", "it ", "signal ", "on ", "channel ", "with ", "graceful ",
  "as ", "timeout ", "by ", "profile ", "at ", "supervisor ", "or ", "task. ",
};

static void
source_init_generated (Source     *source,
                       SourceKind  kind,
                       guint64     length)
{
  memset (source, 0, sizeof *source);
  source->kind = kind;
  source->length = length;
  source->lcg = 1;
  source->word = "";
}

static void
source_init_files (Source    *source,
                   GPtrArray *files)
{
  memset (source, 0, sizeof *source);
  source->kind = SOURCE_FILES;
  source->files = files;
}

static void
source_clear (Source *source)
{
  g_clear_object (&source->stream);
}

static gsize
generate_pattern (Source *source,
                  guint8 *buffer,
                  gsize   size)
{
  gsize n = (gsize) MIN ((guint64) size, source->length - source->offset);

  for (gsize k = 0; k < n; k++)
    buffer[k] = (guint8) ((source->offset + k) * 31 + 7);
  return n;
}

static gsize
generate_words (Source *source,
                guint8 *buffer,
                gsize   size)
{
  gsize n = (gsize) MIN ((guint64) size, source->length - source->offset);
  gsize done = 0;

  while (done < n)
    {
      gsize piece;

      if (source->word[0] == '\0')
        {
          source->lcg = source->lcg * 1664525u + 1013904223u;
          source->word = vocabulary[source->lcg >> 27];
        }
      piece = MIN (strlen (source->word), n - done);
      memcpy (buffer + done, source->word, piece);
      source->word += piece;
      done += piece;
    }
  return n;
}

/* Up to @size bytes; 0 at the end of the stream, -1 with @error set. */
static gssize
source_read (Source  *source,
             guint8  *buffer,
             gsize    size,
             GError **error)
{
  gssize n = 0;

  switch (source->kind)
    {
    case SOURCE_PATTERN:
      n = (gssize) generate_pattern (source, buffer, size);
      break;

    case SOURCE_WORDS:
      n = (gssize) generate_words (source, buffer, size);
      break;

    case SOURCE_FILES:
    default:
      for (;;)
        {
          g_autoptr(GError) local_error = NULL;

          if (source->stream == NULL)
            {
              g_autoptr(GFile) file = NULL;

              if (source->next_file >= source->files->len)
                return 0;
              source->current = g_ptr_array_index (source->files, source->next_file++);
              file = g_file_new_for_path (source->current->path);
              source->stream = G_INPUT_STREAM (g_file_read (file, NULL, &local_error));
              if (source->stream == NULL)
                {
                  set_read_error (error, source->current->path, local_error);
                  return -1;
                }
            }

          n = g_input_stream_read (source->stream, buffer, size, NULL, &local_error);
          if (n < 0)
            {
              set_read_error (error, source->current->path, local_error);
              return -1;
            }
          if (n > 0)
            break;
          /* This file is done: on to the next. */
          g_clear_object (&source->stream);
        }
      break;
    }

  source->offset += (guint64) n;
  return n;
}

/* Exactly @size bytes unless the stream ends first. */
static gssize
source_read_full (Source  *source,
                  guint8  *buffer,
                  gsize    size,
                  GError **error)
{
  gsize done = 0;

  while (done < size)
    {
      gssize n = source_read (source, buffer + done, size - done, error);

      if (n < 0)
        return -1;
      if (n == 0)
        break;
      done += (gsize) n;
    }
  return (gssize) done;
}

/* The source @args ask for ("bytes" of @kind, or "path"), with the file
 * list in @files_out and the expected length in @total_out. */
static gboolean
source_from_args (const CohortTaskArgs  *args,
                  SourceKind             kind,
                  CohortTaskContext     *context,
                  Source                *source,
                  GPtrArray            **files_out,
                  guint64               *total_out,
                  GError               **error)
{
  const char *path = arg_string (args, "path");

  *files_out = NULL;
  if (path != NULL)
    {
      *files_out = collect_files (path, context, total_out, error);
      if (*files_out == NULL)
        return FALSE;
      source_init_files (source, *files_out);
    }
  else
    {
      *total_out = (guint64) arg_integer (args, "bytes", 0);
      source_init_generated (source, kind, *total_out);
    }
  return TRUE;
}

static void
set_byte_progress (CohortTaskContext *context,
                   guint64            done,
                   guint64            total)
{
  if (total > 0)
    cohort_task_context_set_progress (context, MIN (1.0, (double) done / (double) total));
}

/* sha256 */

static JsonNode *
run_sha256 (const CohortTaskArgs *args,
            CohortTaskContext    *context,
            GError              **error)
{
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GChecksum) checksum = NULL;
  Source source;
  guint64 total;
  guint8 *buffer;
  gboolean ok = TRUE;
  JsonObject *result;

  if (!source_from_args (args, SOURCE_PATTERN, context, &source, &files, &total, error))
    return NULL;

  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  buffer = tracked_alloc (context, CHUNK_SIZE);

  for (;;)
    {
      gssize n;

      if (!cohort_task_context_check (context, error))
        {
          ok = FALSE;
          break;
        }
      n = source_read (&source, buffer, CHUNK_SIZE, error);
      if (n < 0)
        {
          ok = FALSE;
          break;
        }
      if (n == 0)
        break;
      g_checksum_update (checksum, buffer, n);
      set_byte_progress (context, source.offset, total);
    }

  tracked_free (context, buffer, CHUNK_SIZE);
  source_clear (&source);
  if (!ok)
    return NULL;

  result = json_object_new ();
  json_object_set_int_member (result, "bytes", (gint64) source.offset);
  if (files != NULL)
    json_object_set_int_member (result, "files", files->len);
  json_object_set_string_member (result, "sha256", g_checksum_get_string (checksum));
  return object_node (result);
}

/* compress */

typedef struct
{
  GConverter *decompressor;
  Source     *expected;
  guint8     *plain;       /* decompressed */
  guint8     *reference;   /* the input again */
  guint64     offset;
  gboolean    finished;
} Verifier;

static void
set_verify_error (GError    **error,
                  guint64     offset,
                  const char *reason)
{
  g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_INPUT,
               _("verification failed at byte %" G_GUINT64_FORMAT ": %s"), offset, reason);
}

/* Decompresses the compressor's latest output and compares it with the
 * input, read again. */
static gboolean
verify_output (Verifier      *verifier,
               const guint8  *data,
               gsize          length,
               GError       **error)
{
  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      GConverterResult res;
      gsize n_read = 0;
      gsize n_written = 0;
      gssize n;

      if (verifier->finished)
        {
          if (length > 0)
            {
              set_verify_error (error, verifier->offset, _("data after the end of the stream"));
              return FALSE;
            }
          return TRUE;
        }

      res = g_converter_convert (verifier->decompressor, data, length,
                                 verifier->plain, CHUNK_SIZE, G_CONVERTER_NO_FLAGS,
                                 &n_read, &n_written, &local_error);
      if (res == G_CONVERTER_ERROR)
        {
          /* Nothing pending and no input left: wait for the next output. */
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
            return TRUE;
          set_verify_error (error, verifier->offset, local_error->message);
          return FALSE;
        }

      data += n_read;
      length -= n_read;

      n = source_read_full (verifier->expected, verifier->reference, n_written, error);
      if (n < 0)
        return FALSE;
      if ((gsize) n != n_written || memcmp (verifier->plain, verifier->reference, n_written) != 0)
        {
          gsize at = 0;

          while (at < (gsize) n && at < n_written && verifier->plain[at] == verifier->reference[at])
            at++;
          set_verify_error (error, verifier->offset + at,
                            _("the decompressed data differs from the input"));
          return FALSE;
        }
      verifier->offset += n_written;

      if (res == G_CONVERTER_FINISHED)
        verifier->finished = TRUE;
      /* Input used up, and inflate had room for all it had: done for now.
       * A full buffer may mean more output is pending. */
      else if (length == 0 && n_written < CHUNK_SIZE)
        return TRUE;
    }
}

static gboolean
verify_end (Verifier  *verifier,
            guint64    bytes_in,
            GError   **error)
{
  guint8 extra;
  gssize n;

  if (!verifier->finished)
    {
      set_verify_error (error, verifier->offset, _("the compressed stream ends early"));
      return FALSE;
    }
  n = source_read (verifier->expected, &extra, 1, error);
  if (n < 0)
    return FALSE;
  if (n > 0 || verifier->offset != bytes_in)
    {
      set_verify_error (error, verifier->offset, _("the decompressed data is shorter than the input"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
compress_stream (Source            *source,
                 GConverter        *compressor,
                 Verifier          *verifier,
                 guint64            total,
                 CohortTaskContext *context,
                 guint64           *bytes_in_out,
                 guint64           *bytes_out_out,
                 GError           **error)
{
  guint8 *input = tracked_alloc (context, COMPRESS_SLICE);
  guint8 *output = tracked_alloc (context, CHUNK_SIZE);
  gsize input_length = 0;
  gsize input_pos = 0;
  gboolean at_end = FALSE;
  gboolean finished = FALSE;
  gboolean ok = TRUE;
  guint64 bytes_in = 0;
  guint64 bytes_out = 0;

  while (!finished)
    {
      g_autoptr(GError) local_error = NULL;
      GConverterResult res;
      gsize n_read = 0;
      gsize n_written = 0;

      if (!cohort_task_context_check (context, error))
        {
          ok = FALSE;
          break;
        }

      if (input_pos == input_length && !at_end)
        {
          gssize n = source_read (source, input, COMPRESS_SLICE, error);

          if (n < 0)
            {
              ok = FALSE;
              break;
            }
          input_pos = 0;
          input_length = (gsize) n;
          at_end = n == 0;
          bytes_in += (guint64) n;
          set_byte_progress (context, bytes_in, total);
        }

      res = g_converter_convert (compressor, input + input_pos, input_length - input_pos,
                                 output, CHUNK_SIZE,
                                 at_end ? G_CONVERTER_INPUT_AT_END : G_CONVERTER_NO_FLAGS,
                                 &n_read, &n_written, &local_error);
      if (res == G_CONVERTER_ERROR)
        {
          /* zlib fails only without memory or on a bug of ours. */
          g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_INPUT,
                       _("compression failed: %s"), local_error->message);
          ok = FALSE;
          break;
        }

      input_pos += n_read;
      bytes_out += n_written;
      if (verifier != NULL && !verify_output (verifier, output, n_written, error))
        {
          ok = FALSE;
          break;
        }
      finished = res == G_CONVERTER_FINISHED;
    }

  if (ok && verifier != NULL)
    ok = verify_end (verifier, bytes_in, error);

  tracked_free (context, output, CHUNK_SIZE);
  tracked_free (context, input, COMPRESS_SLICE);

  *bytes_in_out = bytes_in;
  *bytes_out_out = bytes_out;
  return ok;
}

static JsonNode *
run_compress (const CohortTaskArgs *args,
              CohortTaskContext    *context,
              GError              **error)
{
  gint64 start = g_get_monotonic_time ();
  int level = (int) arg_integer (args, "level", -1);
  gboolean verify = arg_boolean (args, "verify", FALSE);
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GConverter) compressor = NULL;
  g_autoptr(GConverter) decompressor = NULL;
  Source source;
  Source expected;
  Verifier verifier = { NULL, };
  guint64 total;
  guint64 bytes_in = 0;
  guint64 bytes_out = 0;
  gint64 held;
  double seconds;
  gboolean ok;
  JsonObject *result;

  if (!source_from_args (args, SOURCE_WORDS, context, &source, &files, &total, error))
    return NULL;

  compressor = G_CONVERTER (g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, level));
  held = ZLIB_DEFLATE_MEMORY;
  if (verify)
    {
      decompressor = G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB));
      held += ZLIB_INFLATE_MEMORY;
      /* A second, independent pass over the same input. */
      if (files != NULL)
        source_init_files (&expected, files);
      else
        source_init_generated (&expected, SOURCE_WORDS, total);
      verifier.decompressor = decompressor;
      verifier.expected = &expected;
      verifier.plain = tracked_alloc (context, CHUNK_SIZE);
      verifier.reference = tracked_alloc (context, CHUNK_SIZE);
    }
  cohort_task_context_add_memory (context, held);

  ok = compress_stream (&source, compressor, verify ? &verifier : NULL, total, context,
                        &bytes_in, &bytes_out, error);

  cohort_task_context_add_memory (context, -held);
  if (verify)
    {
      tracked_free (context, verifier.reference, CHUNK_SIZE);
      tracked_free (context, verifier.plain, CHUNK_SIZE);
      source_clear (&expected);
    }
  source_clear (&source);
  if (!ok)
    return NULL;

  /* Wall time of the whole task: reading, and verifying when asked. */
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

  result = json_object_new ();
  json_object_set_int_member (result, "bytes_in", (gint64) bytes_in);
  json_object_set_int_member (result, "bytes_out", (gint64) bytes_out);
  json_object_set_double_member (result, "ratio",
                                 bytes_in > 0 ? (double) bytes_out / (double) bytes_in : 0.0);
  json_object_set_double_member (result, "mb_per_s",
                                 seconds > 0 ? bytes_in / 1e6 / seconds : 0.0);
  if (verify)
    json_object_set_boolean_member (result, "verified", TRUE);
  return object_node (result);
}

/* thumbnail */

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The names of the regular files directly in @path, sorted. */
static GPtrArray *
list_folder (const char  *path,
             GError     **error)
{
  g_autoptr(GFile) folder = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) enumerator = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) local_error = NULL;

  /* Links followed: a folder of links to photos is a folder of photos. */
  enumerator = g_file_enumerate_children (folder,
                                          G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                          G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                          G_FILE_QUERY_INFO_NONE, NULL, &local_error);
  if (enumerator == NULL)
    {
      set_read_error (error, path, local_error);
      return NULL;
    }

  for (;;)
    {
      g_autoptr(GFileInfo) info = g_file_enumerator_next_file (enumerator, NULL, &local_error);

      if (info == NULL)
        {
          if (local_error != NULL)
            {
              set_read_error (error, path, local_error);
              return NULL;
            }
          break;
        }
      if (g_file_info_get_file_type (info) == G_FILE_TYPE_REGULAR)
        g_ptr_array_add (names, g_strdup (g_file_info_get_name (info)));
    }

  g_ptr_array_sort (names, compare_names);
  return g_steal_pointer (&names);
}

static void
add_failure (JsonArray  *failed,
             const char *name,
             const char *message)
{
  JsonObject *failure = json_object_new ();
  g_autofree char *display = g_filename_display_name (name);

  json_object_set_string_member (failure, "file", display);
  json_object_set_string_member (failure, "error", message);
  json_array_add_object_element (failed, failure);
}

static JsonNode *
run_thumbnail (const CohortTaskArgs *args,
               CohortTaskContext    *context,
               GError              **error)
{
  const char *input = arg_string (args, "input");
  const char *output = arg_string (args, "output");
  int width = (int) arg_integer (args, "width", 1);
  int height = (int) arg_integer (args, "height", 1);
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GHashTable) outputs = NULL;
  g_autoptr(JsonArray) failed = NULL;
  g_autofree char *output_display = NULL;
  guint n_ok = 0;
  JsonObject *result;

  names = list_folder (input, error);
  if (names == NULL)
    return NULL;

  if (g_mkdir_with_parents (output, 0755) != 0)
    {
      int saved_errno = errno;
      g_autofree char *display = g_filename_display_name (output);

      g_set_error (error, COHORT_TASK_ERROR, COHORT_TASK_ERROR_INPUT,
                   _("cannot create folder “%s”: %s"), display, g_strerror (saved_errno));
      return NULL;
    }

  /* Output name → input name: a.jpg and a.gif would both become a.png. */
  outputs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  failed = json_array_new ();

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *in_path = g_build_filename (input, name, NULL);
      g_autofree char *out_name = NULL;
      g_autofree char *out_path = NULL;
      g_autoptr(GdkPixbuf) pixbuf = NULL;
      g_autoptr(GError) local_error = NULL;
      const char *dot = strrchr (name, '.');
      const char *earlier;

      if (!cohort_task_context_check (context, error))
        return NULL;

      /* “.hidden” keeps its name: the dot does not start an extension. */
      if (dot != NULL && dot != name)
        out_name = g_strdup_printf ("%.*s.png", (int) (dot - name), name);
      else
        out_name = g_strdup_printf ("%s.png", name);
      out_path = g_build_filename (output, out_name, NULL);

      earlier = g_hash_table_lookup (outputs, out_name);
      if (earlier != NULL)
        {
          g_autofree char *display = g_filename_display_name (earlier);
          g_autofree char *message = g_strdup_printf (_("its thumbnail would overwrite that of “%s”"),
                                                      display);

          add_failure (failed, name, message);
        }
      else if ((pixbuf = gdk_pixbuf_new_from_file_at_scale (in_path, width, height, TRUE,
                                                             &local_error)) == NULL)
        add_failure (failed, name, local_error->message);
      else
        {
          gint64 bytes = (gint64) gdk_pixbuf_get_byte_length (pixbuf);
          gboolean saved;

          g_hash_table_insert (outputs, g_strdup (out_name), (gpointer) name);
          cohort_task_context_add_memory (context, bytes);
          saved = gdk_pixbuf_save (pixbuf, out_path, "png", &local_error, NULL);
          g_clear_object (&pixbuf);
          cohort_task_context_add_memory (context, -bytes);

          if (saved)
            n_ok++;
          else
            add_failure (failed, name, local_error->message);
        }

      cohort_task_context_set_progress (context, (double) (i + 1) / names->len);
    }

  output_display = g_filename_display_name (output);
  result = json_object_new ();
  json_object_set_int_member (result, "images", n_ok);
  json_object_set_array_member (result, "failed", g_steal_pointer (&failed));
  json_object_set_string_member (result, "output", output_display);
  return object_node (result);
}

/* Public API */

const char * const *
cohort_task_list_names (void)
{
  return task_names;
}

gboolean
cohort_task_exists (const char *name)
{
  return name != NULL && find_task (name) != NULL;
}

gboolean
cohort_task_validate (const char *name,
                      JsonNode   *args,
                      GError    **error)
{
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return validate (name, args, NULL, error);
}

/**
 * cohort_task_args_new:
 * @args: (nullable): a JSON object, or NULL for none
 *
 * Checks @args as cohort_task_validate() does and keeps their values,
 * apart from any JSON tree: the result may be run on another thread.
 *
 * Returns: (transfer full) (nullable): the arguments, or NULL with @error
 *   set
 */
CohortTaskArgs *
cohort_task_args_new (const char  *name,
                      JsonNode    *args,
                      GError     **error)
{
  CohortTaskArgs values;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!validate (name, args, &values, error))
    return NULL;
  return g_memdup2 (&values, sizeof values);
}

void
cohort_task_args_free (CohortTaskArgs *args)
{
  if (args == NULL)
    return;
  args_clear (args);
  g_free (args);
}

const char *
cohort_task_args_get_name (const CohortTaskArgs *args)
{
  g_return_val_if_fail (args != NULL, NULL);
  return args->task->name;
}

/* Runs the task of @args on the calling thread. Returns: (transfer full)
 * the result, or NULL with @error set. */
JsonNode *
cohort_task_args_run (const CohortTaskArgs  *args,
                      CohortTaskContext     *context,
                      GError               **error)
{
  g_autoptr(CohortTaskContext) own_context = NULL;
  JsonNode *result;

  g_return_val_if_fail (args != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* No context: run to the end, for callers that do not need to stop. */
  if (context == NULL)
    context = own_context = cohort_task_context_new (NULL, 0);

  cohort_task_context_set_progress (context, 0.0);
  if (!cohort_task_context_check (context, error))
    return NULL;

  result = args->task->run (args, context, error);
  if (result != NULL)
    cohort_task_context_set_progress (context, 1.0);
  return result;
}

JsonNode *
cohort_task_run (const char        *name,
                 JsonNode          *args,
                 CohortTaskContext *context,
                 GError           **error)
{
  g_autoptr(CohortTaskArgs) values = NULL;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  values = cohort_task_args_new (name, args, error);
  if (values == NULL)
    return NULL;
  return cohort_task_args_run (values, context, error);
}
