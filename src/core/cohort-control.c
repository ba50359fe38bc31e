/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-control.c: `cohort --status`, `--scale`, `--send` … run in a
 * second invocation and carried out by the running instance (headless or
 * the window), through GApplication's command-line forwarding on the
 * session bus: the invoking process parses, the running one acts and
 * prints to the invoker's terminal, and the invoker exits with the status
 * the running one sets. Errors are one line and exit status 2.
 *
 * Commands that take time (--reload, --stop, --quit, --follow) keep the
 * GApplicationCommandLine until they are done; the invoker waits. A
 * --follow ends when the invoking process is gone: it sends its pid with
 * its platform data, and the running instance checks it. */

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cohort-control.h"
#include "cohort-json.h"
#include "cohort-status.h"

#define FOLLOW_CHECK_MS 500
#define RECENT_LINES    200

struct _CohortControl
{
  GObject           parent_instance;

  CohortSupervisor *supervisor;
  GPtrArray        *pending;   /* Pending requests, for dispose */
};

G_DEFINE_FINAL_TYPE (CohortControl, cohort_control, G_TYPE_OBJECT)

enum {
  QUIT_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The options, as DESIGN.md fixes them. */
static const GOptionEntry option_entries[] = {
  { "headless", 0, 0, G_OPTION_ARG_NONE, NULL,
    N_("Run the profile with no window; SIGINT or SIGTERM stops it gracefully"), NULL },
  { "check", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    N_("Validate a profile: every problem with its line; exit 2 if any"), N_("FILE") },
  { "import", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    N_("Convert a PM2 ecosystem file (JSON, or .config.js with node) into a profile; with -o"),
    N_("FILE") },
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, NULL,
    N_("With --import: the profile to write"), N_("FILE.cohort") },
  { "status", 0, 0, G_OPTION_ARG_NONE, NULL,
    N_("Clusters and workers of the running instance"), NULL },
  { "json", 0, 0, G_OPTION_ARG_NONE, NULL, N_("With --status: print JSON"), NULL },
  { "scale", 0, 0, G_OPTION_ARG_STRING, NULL, N_("Scale a cluster (N may be max)"), N_("NAME=N") },
  { "send", 0, 0, G_OPTION_ARG_STRING, NULL,
    N_("Send a JSON message to a cluster or one worker"), N_("NAME[/ID] JSON") },
  { "messages", 0, 0, G_OPTION_ARG_STRING, NULL,
    N_("Recent messages in and out, one JSON object a line"), N_("NAME[/ID]") },
  { "logs", 0, 0, G_OPTION_ARG_STRING, NULL, N_("Recent stdout and stderr lines"), N_("NAME[/ID]") },
  { "follow", 0, 0, G_OPTION_ARG_NONE, NULL,
    N_("With --messages or --logs: keep printing new ones"), NULL },
  { "reload", 0, 0, G_OPTION_ARG_STRING, NULL,
    N_("Restart workers one at a time, each replacement online before its predecessor stops"),
    N_("NAME") },
  { "restart", 0, 0, G_OPTION_ARG_STRING, NULL,
    N_("Restart a cluster or one worker"), N_("NAME[/ID]") },
  { "start", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Start one cluster, or all"), NULL },
  { "stop", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Stop one cluster, or all, gracefully"), NULL },
  { "quit", 0, 0, G_OPTION_ARG_NONE, NULL,
    N_("Stop everything gracefully, then exit the running instance"), NULL },
  { "export", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    N_("Write the metric history of every worker as CSV"), N_("FILE.csv") },
  { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and exit"), NULL },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, NULL, NULL,
    N_("[FILE.cohort | NAME | JSON]") },
  { NULL }
};

static const char * const control_commands[] = {
  "status", "scale", "send", "messages", "logs", "reload", "restart", "start", "stop", "quit",
  "export", NULL
};

void
cohort_control_add_options (GApplication *application)
{
  g_return_if_fail (G_IS_APPLICATION (application));

  g_application_add_main_option_entries (application, option_entries);
  g_application_set_option_context_parameter_string (application, N_("[FILE.cohort]"));
  g_application_set_option_context_summary (application,
                                            _("Run a program as a cluster of workers and watch it live."));
  g_application_set_option_context_description (application,
    _("A second invocation with --status, --scale, --send, --messages, --logs,\n"
      "--reload, --restart, --start, --stop, --export or --quit controls the running instance."));
}

/**
 * cohort_control_default_profile:
 *
 * What `cohort` with no profile runs, in the window or headless: the
 * profile opened last (GSettings "last-profile", when the schema is
 * installed and the file still exists), else the demo profile
 * ($COHORT_DEMO_PROFILE in a build tree, else the installed one).
 *
 * Returns: (transfer full): a path
 */
char *
cohort_control_default_profile (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = source != NULL ? g_settings_schema_source_lookup (source, APPLICATION_ID, TRUE)
                                                     : NULL;
  const char *demo = g_getenv ("COHORT_DEMO_PROFILE");

  if (schema != NULL)
    {
      g_autoptr(GSettings) settings = g_settings_new (APPLICATION_ID);
      g_autofree char *last = g_settings_get_string (settings, "last-profile");

      if (last[0] != '\0' && g_file_test (last, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&last);
    }
  if (demo != NULL && g_file_test (demo, G_FILE_TEST_IS_REGULAR))
    return g_strdup (demo);
  return g_build_filename (DATADIR, "cohort", "demo.cohort", NULL);
}

/* Whether the options are a command for the running instance. */
gboolean
cohort_control_wants_instance (GVariantDict *options)
{
  for (guint i = 0; control_commands[i] != NULL; i++)
    if (g_variant_dict_contains (options, control_commands[i]))
      return TRUE;
  return FALSE;
}

/**
 * cohort_control_handle_local_options:
 *
 * In the invoking process: a control command needs a running instance to
 * forward to; without one it is an error here and now.
 *
 * Returns: -1 to go on (forward), or an exit status
 */
int
cohort_control_handle_local_options (GApplication *application,
                                     GVariantDict *options)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GVariant) reply = NULL;
  gboolean has_owner = FALSE;

  if (!cohort_control_wants_instance (options))
    {
      if (g_variant_dict_contains (options, "json"))
        {
          g_printerr (_("cohort: --json goes with --status\n"));
          return COHORT_EXIT_USAGE;
        }
      if (g_variant_dict_contains (options, "follow"))
        {
          g_printerr (_("cohort: --follow goes with --messages or --logs\n"));
          return COHORT_EXIT_USAGE;
        }
      return -1;
    }

  /* A command never becomes the instance itself, not even for a moment:
   * registering as the primary, only to find there was none, would make
   * a runner starting at that moment forward its profile to this process
   * and give up. So: is there an instance at all, then register as a
   * launcher, which forwards and never owns the name. */
  connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (connection == NULL)
    {
      g_printerr (_("cohort: cannot reach the session bus: %s\n"), error->message);
      return COHORT_EXIT_USAGE;
    }
  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", g_application_get_application_id (application)),
                                       G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
  if (reply == NULL)
    {
      g_printerr (_("cohort: cannot reach the session bus: %s\n"), error->message);
      return COHORT_EXIT_USAGE;
    }
  g_variant_get (reply, "(b)", &has_owner);
  if (!has_owner)
    {
      g_printerr (_("cohort: no running Cohort instance (start one with cohort --headless FILE.cohort, or open the window)\n"));
      return COHORT_EXIT_USAGE;
    }

  g_application_set_flags (application, g_application_get_flags (application) | G_APPLICATION_IS_LAUNCHER);
  if (!g_application_register (application, NULL, &error))
    {
      g_printerr (_("cohort: cannot reach the session bus: %s\n"), error->message);
      return COHORT_EXIT_USAGE;
    }
  return -1;
}

static void request_finish (gpointer request, int status);

/* Answers every command still under way (a --follow, a --stop) before the
 * instance goes away, so no invoker is left without a reply. */
void
cohort_control_finish_all (CohortControl *self)
{
  g_return_if_fail (COHORT_IS_CONTROL (self));

  while (self->pending->len > 0)
    request_finish (g_ptr_array_index (self->pending, self->pending->len - 1), 0);
}

/**
 * cohort_control_become_instance:
 *
 * In the invoking process, for an invocation that runs a profile: it must
 * be the session's instance, the one the remote commands reach.
 *
 * Returns: -1 when it is, else an exit status (the reason printed)
 */
int
cohort_control_become_instance (GApplication *application)
{
  g_autoptr(GError) error = NULL;

  if (!g_application_register (application, NULL, &error))
    {
      g_printerr ("cohort: %s\n", error->message);
      return 1;
    }
  if (g_application_get_is_remote (application))
    {
      g_printerr (_("cohort: Cohort is already running in this session; control it with "
                    "cohort --status, --stop or --quit\n"));
      return COHORT_EXIT_USAGE;
    }
  return -1;
}

void
cohort_control_add_platform_data (GVariantBuilder *builder)
{
  g_variant_builder_add (builder, "{sv}", "cohort-pid", g_variant_new_int32 (getpid ()));
}

static void
cohort_control_dispose (GObject *object)
{
  CohortControl *self = (CohortControl *) object;

  g_clear_pointer (&self->pending, g_ptr_array_unref);
  g_clear_object (&self->supervisor);

  G_OBJECT_CLASS (cohort_control_parent_class)->dispose (object);
}

static void
cohort_control_class_init (CohortControlClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cohort_control_dispose;

  /**
   * CohortControl::quit-requested:
   *
   * `cohort --quit` has stopped everything: the instance should exit.
   */
  signals[QUIT_REQUESTED] =
    g_signal_new ("quit-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void request_free (gpointer data);

static void
cohort_control_init (CohortControl *self)
{
  self->pending = g_ptr_array_new_with_free_func (request_free);
}

CohortControl *
cohort_control_new (CohortSupervisor *supervisor)
{
  CohortControl *self;

  g_return_val_if_fail (COHORT_IS_SUPERVISOR (supervisor), NULL);

  self = g_object_new (COHORT_TYPE_CONTROL, NULL);
  self->supervisor = g_object_ref (supervisor);
  return self;
}

/* Requests that outlive the call: the command line is answered when they
 * end. */

typedef struct
{
  CohortControl           *control;
  GApplicationCommandLine *command_line;
  GPid                     invoker;
  guint                    check_source;
  CohortCluster           *cluster;     /* the one waited for, or NULL for all */
  int                      worker_id;   /* -1: every worker */
  gboolean                 messages;    /* following messages, not logs */
  gboolean                 quit;        /* --quit: end the instance after the stop */
  GPtrArray                *watched;    /* workers whose signals are connected */
  gulong                   notify_id;
} Request;

static void
request_free (gpointer data)
{
  Request *request = data;

  g_clear_handle_id (&request->check_source, g_source_remove);
  if (request->watched != NULL)
    {
      for (guint i = 0; i < request->watched->len; i++)
        g_signal_handlers_disconnect_by_data (g_ptr_array_index (request->watched, i), request);
      g_ptr_array_unref (request->watched);
    }
  if (request->cluster != NULL)
    {
      g_signal_handlers_disconnect_by_data (request->cluster, request);
      g_signal_handlers_disconnect_by_data (cohort_cluster_get_workers (request->cluster), request);
    }
  g_signal_handlers_disconnect_by_data (request->control->supervisor, request);
  g_clear_object (&request->cluster);
  g_clear_object (&request->command_line);
  g_free (request);
}

static Request *
request_new (CohortControl           *self,
             GApplicationCommandLine *command_line)
{
  Request *request = g_new0 (Request, 1);
  GVariant *platform = g_application_command_line_get_platform_data (command_line);

  request->control = self;
  request->command_line = g_object_ref (command_line);
  request->worker_id = -1;
  if (platform != NULL)
    {
      GVariantDict dict;
      gint32 pid = 0;

      g_variant_dict_init (&dict, platform);
      if (g_variant_dict_lookup (&dict, "cohort-pid", "i", &pid))
        request->invoker = pid;
      g_variant_dict_clear (&dict);
      g_variant_unref (platform);
    }
  g_ptr_array_add (self->pending, request);
  return request;
}

/* Answers the invoker with @status and forgets the request. */
static void
request_finish (gpointer data,
                int      status)
{
  Request *request = data;

  g_application_command_line_set_exit_status (request->command_line, status);
  g_ptr_array_remove (request->control->pending, request);
}

G_GNUC_PRINTF (2, 3)
static int
fail (GApplicationCommandLine *command_line,
      const char              *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_application_command_line_printerr (command_line, "cohort: %s\n", message);
  return COHORT_EXIT_USAGE;
}

/* NAME or NAME/ID → the cluster and the id (-1 when none). */
static CohortCluster *
parse_target (CohortControl           *self,
              GApplicationCommandLine *command_line,
              const char              *target,
              int                     *id,
              int                     *status)
{
  g_autofree char *name = NULL;
  const char *slash = strchr (target, '/');
  CohortCluster *cluster;

  *id = -1;
  *status = 0;
  if (slash != NULL)
    {
      char *end = NULL;
      guint64 value;

      name = g_strndup (target, slash - target);
      if (!g_ascii_isdigit (slash[1]) ||
          (value = g_ascii_strtoull (slash + 1, &end, 10), *end != '\0') || value > G_MAXINT)
        {
          *status = fail (command_line, _("“%s”: a worker id is a number, as in web/0"), target);
          return NULL;
        }
      *id = (int) value;
    }
  else
    name = g_strdup (target);

  cluster = cohort_supervisor_lookup (self->supervisor, name);
  if (cluster == NULL)
    {
      *status = fail (command_line, _("no cluster named “%s” (see cohort --status)"), name);
      return NULL;
    }
  if (*id >= 0 && cohort_cluster_lookup_worker (cluster, (guint) *id) == NULL)
    {
      *status = fail (command_line, _("cluster %s has no worker %d"), name, *id);
      return NULL;
    }
  return cluster;
}

/* --status */

static int
run_status (CohortControl           *self,
            GApplicationCommandLine *command_line,
            gboolean                 json)
{
  if (json)
    {
      g_autoptr(JsonNode) root = cohort_status_to_json (self->supervisor);
      /* Compact, one line, numbers as short as they read back: for
       * scripts (people have the table). */
      g_autofree char *text = cohort_json_to_string (root, NULL);

      g_application_command_line_print (command_line, "%s\n", text);
    }
  else
    {
      g_autofree char *table = cohort_status_format_table (self->supervisor);

      g_application_command_line_print (command_line, _("Profile “%s”\n%s"),
                                        cohort_supervisor_get_profile_name (self->supervisor),
                                        table);
    }
  return 0;
}

/* --scale NAME=N */

static int
run_scale (CohortControl           *self,
           GApplicationCommandLine *command_line,
           const char              *argument)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  const char *equals = strchr (argument, '=');
  CohortCluster *cluster;
  guint before;
  guint64 count;
  char *end = NULL;

  if (equals == NULL || equals == argument)
    return fail (command_line, _("--scale takes NAME=N, as in web=4 or web=max"));

  name = g_strndup (argument, equals - argument);
  cluster = cohort_supervisor_lookup (self->supervisor, name);
  if (cluster == NULL)
    return fail (command_line, _("no cluster named “%s” (see cohort --status)"), name);

  if (g_ascii_strcasecmp (equals + 1, "max") == 0)
    count = MAX (1, g_get_num_processors ());
  else if (!g_ascii_isdigit (equals[1]) ||
           (count = g_ascii_strtoull (equals + 1, &end, 10), *end != '\0'))
    return fail (command_line, _("--scale %s: N is a whole number or max"), argument);

  before = cohort_cluster_get_desired (cluster);
  if (count > G_MAXUINT || !cohort_cluster_scale (cluster, (guint) count, &error))
    return fail (command_line, "%s", error != NULL ? error->message : _("too many workers"));

  g_application_command_line_print (command_line, _("%s: %u → %u workers%s\n"), name, before,
                                    (guint) count,
                                    cohort_cluster_get_state (cluster) == COHORT_CLUSTER_STATE_RUNNING
                                      ? "" : _(" (when it starts)"));
  return 0;
}

/* --send NAME[/ID] JSON */

static int
run_send (CohortControl           *self,
          GApplicationCommandLine *command_line,
          const char              *target,
          const char * const      *rest)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) message = NULL;
  g_autofree char *text = NULL;
  CohortCluster *cluster;
  int status;
  int id;
  guint sent = 0;

  cluster = parse_target (self, command_line, target, &id, &status);
  if (cluster == NULL)
    return status;
  if (rest == NULL || rest[0] == NULL)
    return fail (command_line, _("--send %s needs the JSON to send, as in '\"ping\"' or '{\"cmd\": \"reload\"}'"), target);

  /* Several words are one message, as a shell user would expect. */
  text = g_strjoinv (" ", (char **) rest);
  message = json_from_string (text, &error);
  if (message == NULL)
    return fail (command_line, _("not valid JSON (%s): %s"), error != NULL ? error->message : _("empty"), text);

  if (!cohort_cluster_send (cluster, id, message, &sent, &error))
    return fail (command_line, "%s", error->message);

  if (id < 0 && cohort_cluster_get_spec (cluster)->kind == COHORT_CLUSTER_KIND_THREADS)
    g_application_command_line_print (command_line, _("queued for %s: the first free thread runs it\n"),
                                      cohort_cluster_get_name (cluster));
  else if (id >= 0)
    g_application_command_line_print (command_line, _("sent to %s/%d\n"), cohort_cluster_get_name (cluster), id);
  else
    g_application_command_line_print (command_line,
                                      ngettext ("sent to %u worker of %s\n", "sent to %u workers of %s\n", sent),
                                      sent, cohort_cluster_get_name (cluster));
  return 0;
}

/* --messages and --logs */

static void
print_message (GApplicationCommandLine *command_line,
               const CohortMessage     *message)
{
  g_autofree char *time = cohort_status_format_time (message->time);

  g_application_command_line_print (command_line,
                                    "{\"time\":\"%s\",\"worker\":%u,\"direction\":\"%s\",\"message\":%s}\n",
                                    time, message->worker, message->outgoing ? "out" : "in",
                                    message->json);
}

static void
print_output (GApplicationCommandLine *command_line,
              CohortCluster           *cluster,
              guint                    worker,
              const CohortOutputLine  *line)
{
  if (line->stream == COHORT_OUTPUT_STDERR)
    g_application_command_line_printerr (command_line, "%s.%u | %s\n",
                                         cohort_cluster_get_name (cluster), worker, line->text);
  else
    g_application_command_line_print (command_line, "%s.%u | %s\n",
                                      cohort_cluster_get_name (cluster), worker, line->text);
}

typedef struct
{
  gint64  time;
  guint   worker;
  gpointer item;
} Timed;

static int
compare_timed (gconstpointer a,
               gconstpointer b)
{
  const Timed *x = a;
  const Timed *y = b;

  return x->time < y->time ? -1 : x->time > y->time;
}

/* The recent history of one worker or all of them, merged by time. */
static void
print_recent (CohortControl           *self,
              GApplicationCommandLine *command_line,
              CohortCluster           *cluster,
              int                      id,
              gboolean                 messages)
{
  GListModel *workers = cohort_cluster_get_workers (cluster);
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GArray) all = g_array_new (FALSE, FALSE, sizeof (Timed));
  guint start;

  for (guint i = 0; i < g_list_model_get_n_items (workers); i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);
      guint worker_id = cohort_worker_get_id (worker);
      GPtrArray *items;

      if (id >= 0 && worker_id != (guint) id)
        continue;
      items = messages ? cohort_worker_dup_messages (worker, RECENT_LINES)
                       : cohort_worker_dup_output (worker, RECENT_LINES);
      g_ptr_array_add (keep, items);
      for (guint j = 0; j < items->len; j++)
        {
          Timed timed;

          timed.item = g_ptr_array_index (items, j);
          timed.worker = worker_id;
          timed.time = messages ? ((CohortMessage *) timed.item)->time
                                : ((CohortOutputLine *) timed.item)->time;
          g_array_append_val (all, timed);
        }
    }

  /* Stable, so a worker's own order is kept at equal times. */
  g_array_sort (all, compare_timed);
  start = all->len > RECENT_LINES ? all->len - RECENT_LINES : 0;
  for (guint i = start; i < all->len; i++)
    {
      Timed *timed = &g_array_index (all, Timed, i);

      if (messages)
        print_message (command_line, timed->item);
      else
        print_output (command_line, cluster, timed->worker, timed->item);
    }
}

static void
follow_message_cb (CohortWorker        *worker,
                   const CohortMessage *message,
                   Request             *request)
{
  print_message (request->command_line, message);
}

static void
follow_output_cb (CohortWorker *worker,
                  int           stream,
                  const char   *text,
                  Request      *request)
{
  CohortOutputLine line = { g_get_real_time (), stream, (char *) text };

  print_output (request->command_line, request->cluster, cohort_worker_get_id (worker), &line);
}

static void
follow_worker (Request      *request,
               CohortWorker *worker)
{
  if (request->worker_id >= 0 && cohort_worker_get_id (worker) != (guint) request->worker_id)
    return;
  if (g_ptr_array_find (request->watched, worker, NULL))
    return;
  g_ptr_array_add (request->watched, worker);
  if (request->messages)
    g_signal_connect (worker, "message", G_CALLBACK (follow_message_cb), request);
  else
    g_signal_connect (worker, "output", G_CALLBACK (follow_output_cb), request);
}

static void
follow_workers_changed_cb (GListModel *workers,
                           guint       position,
                           guint       removed,
                           guint       added,
                           Request    *request)
{
  /* Drop the workers that left the list; watch the ones that came. */
  for (guint i = request->watched->len; i > 0; i--)
    {
      CohortWorker *worker = g_ptr_array_index (request->watched, i - 1);
      gboolean present = FALSE;

      for (guint j = 0; j < g_list_model_get_n_items (workers) && !present; j++)
        {
          g_autoptr(CohortWorker) item = g_list_model_get_item (workers, j);

          present = item == worker;
        }
      if (!present)
        {
          g_signal_handlers_disconnect_by_data (worker, request);
          g_ptr_array_remove_index (request->watched, i - 1);
        }
    }
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      follow_worker (request, worker);
    }
}

/* The invoker is gone (Ctrl+C on `--follow`): stop printing for it. */
static gboolean
check_invoker_cb (gpointer data)
{
  Request *request = data;

  if (request->invoker > 0 && kill (request->invoker, 0) != 0 && errno == ESRCH)
    {
      request->check_source = 0;
      request_finish (request, 0);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static int
run_recent (CohortControl           *self,
            GApplicationCommandLine *command_line,
            const char              *target,
            gboolean                 messages,
            gboolean                 follow)
{
  CohortCluster *cluster;
  GListModel *workers;
  Request *request;
  int status;
  int id;

  cluster = parse_target (self, command_line, target, &id, &status);
  if (cluster == NULL)
    return status;

  print_recent (self, command_line, cluster, id, messages);
  if (!follow)
    return 0;

  request = request_new (self, command_line);
  request->cluster = g_object_ref (cluster);
  request->worker_id = id;
  request->messages = messages;
  request->watched = g_ptr_array_new ();
  workers = cohort_cluster_get_workers (cluster);
  for (guint i = 0; i < g_list_model_get_n_items (workers); i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      follow_worker (request, worker);
    }
  g_signal_connect (workers, "items-changed", G_CALLBACK (follow_workers_changed_cb), request);
  request->check_source = g_timeout_add (FOLLOW_CHECK_MS, check_invoker_cb, request);
  return 0;
}

/* --reload */

static void
reload_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Request *request = user_data;
  CohortCluster *cluster = COHORT_CLUSTER (source);
  g_autoptr(GError) error = NULL;
  guint replaced = 0;

  if (!cohort_cluster_reload_finish (cluster, result, &replaced, &error))
    {
      g_application_command_line_printerr (request->command_line, _("cohort: %s: reload failed: %s\n"),
                                           cohort_cluster_get_name (cluster), error->message);
      request_finish (request, 1);
      return;
    }
  g_application_command_line_print (request->command_line,
                                    ngettext ("%s: reloaded %u worker, one at a time\n",
                                              "%s: reloaded %u workers, one at a time\n", replaced),
                                    cohort_cluster_get_name (cluster), replaced);
  request_finish (request, 0);
}

static int
run_reload (CohortControl           *self,
            GApplicationCommandLine *command_line,
            const char              *name)
{
  CohortCluster *cluster = cohort_supervisor_lookup (self->supervisor, name);
  Request *request;

  if (cluster == NULL)
    return fail (command_line, _("no cluster named “%s” (see cohort --status)"), name);
  if (cohort_cluster_get_state (cluster) != COHORT_CLUSTER_STATE_RUNNING)
    return fail (command_line, _("%s is not running (start it with cohort --start %s)"), name, name);
  if (cohort_cluster_get_reloading (cluster))
    return fail (command_line, _("%s is already reloading"), name);

  request = request_new (self, command_line);
  cohort_cluster_reload_async (cluster, NULL, reload_done_cb, request);
  return 0;
}

/* --restart */

static int
run_restart (CohortControl           *self,
             GApplicationCommandLine *command_line,
             const char              *target)
{
  CohortCluster *cluster;
  GListModel *workers;
  int status;
  int id;
  guint n = 0;

  cluster = parse_target (self, command_line, target, &id, &status);
  if (cluster == NULL)
    return status;
  if (cohort_cluster_get_state (cluster) != COHORT_CLUSTER_STATE_RUNNING)
    return fail (command_line, _("%s is not running (start it with cohort --start %s)"),
                 cohort_cluster_get_name (cluster), cohort_cluster_get_name (cluster));

  workers = cohort_cluster_get_workers (cluster);
  for (guint i = 0; i < g_list_model_get_n_items (workers); i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      if (id >= 0 && cohort_worker_get_id (worker) != (guint) id)
        continue;
      if (cohort_cluster_lookup_worker (cluster, cohort_worker_get_id (worker)) != worker)
        continue;
      cohort_worker_restart (worker, _("restarted from the command line"));
      n++;
    }
  g_application_command_line_print (command_line,
                                    ngettext ("%s: restarting %u worker\n", "%s: restarting %u workers\n", n),
                                    cohort_cluster_get_name (cluster), n);
  return 0;
}

/* --start, --stop, --quit */

static gboolean
all_stopped (CohortControl *self,
             CohortCluster *cluster)
{
  if (cluster != NULL)
    return cohort_cluster_get_state (cluster) == COHORT_CLUSTER_STATE_STOPPED;
  return !cohort_supervisor_get_running (self->supervisor);
}

static void stop_progress_cb (Request *request);

static void
stop_progress_cb (Request *request)
{
  CohortControl *self = request->control;
  gboolean quit = request->quit;

  if (!all_stopped (self, request->cluster))
    return;

  if (request->cluster != NULL)
    g_application_command_line_print (request->command_line, _("%s: stopped\n"),
                                      cohort_cluster_get_name (request->cluster));
  else
    g_application_command_line_print (request->command_line, _("every worker has stopped\n"));
  request_finish (request, 0);
  if (quit)
    g_signal_emit (self, signals[QUIT_REQUESTED], 0);
}

static int
run_stop (CohortControl           *self,
          GApplicationCommandLine *command_line,
          const char              *name,
          gboolean                 quit)
{
  CohortCluster *cluster = NULL;
  Request *request;

  if (name != NULL)
    {
      cluster = cohort_supervisor_lookup (self->supervisor, name);
      if (cluster == NULL)
        return fail (command_line, _("no cluster named “%s” (see cohort --status)"), name);
    }

  request = request_new (self, command_line);
  /* --quit is a stop of everything that ends the instance. */
  request->quit = quit;
  if (cluster != NULL)
    {
      request->cluster = g_object_ref (cluster);
      g_signal_connect_swapped (cluster, "notify::state", G_CALLBACK (stop_progress_cb), request);
      cohort_cluster_stop (cluster);
    }
  else
    {
      g_signal_connect_swapped (self->supervisor, "notify::running", G_CALLBACK (stop_progress_cb), request);
      cohort_supervisor_stop (self->supervisor);
    }
  stop_progress_cb (request);
  return 0;
}

static int
run_start (CohortControl           *self,
           GApplicationCommandLine *command_line,
           const char              *name)
{
  GListModel *clusters = cohort_supervisor_get_clusters (self->supervisor);
  g_autoptr(GString) errors = g_string_new (NULL);
  guint started = 0;

  for (guint i = 0; i < g_list_model_get_n_items (clusters); i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);
      g_autoptr(GError) error = NULL;

      if (name != NULL && !g_str_equal (name, cohort_cluster_get_name (cluster)))
        continue;
      if (cohort_cluster_get_state (cluster) == COHORT_CLUSTER_STATE_RUNNING)
        {
          started++;
          continue;
        }
      if (cohort_cluster_start (cluster, &error))
        started++;
      else
        g_string_append_printf (errors, "%s%s: %s", errors->len > 0 ? "; " : "",
                                cohort_cluster_get_name (cluster), error->message);
    }

  if (name != NULL && started == 0 && errors->len == 0)
    return fail (command_line, _("no cluster named “%s” (see cohort --status)"), name);
  if (errors->len > 0)
    {
      g_application_command_line_printerr (command_line, _("cohort: cannot start %s\n"), errors->str);
      return 1;
    }
  g_application_command_line_print (command_line,
                                    ngettext ("%u cluster running\n", "%u clusters running\n", started),
                                    started);
  return 0;
}

/* --export: the path is the invoker's, relative to its folder. */
static int
run_export (CohortControl           *self,
            GApplicationCommandLine *command_line,
            const char              *argument)
{
  g_autoptr(GFile) file = g_application_command_line_create_file_for_arg (command_line, argument);
  g_autofree char *path = g_file_get_path (file);
  g_autoptr(GError) error = NULL;

  if (path == NULL || !g_str_has_suffix (path, ".csv"))
    return fail (command_line, _("--export writes a .csv file, got “%s”"), argument);
  if (!cohort_sampler_export_csv (cohort_supervisor_get_sampler (self->supervisor), path, &error))
    return fail (command_line, _("cannot write %s: %s"), path, error->message);
  g_application_command_line_print (command_line, _("wrote the metric history to %s\n"), path);
  return 0;
}

/**
 * cohort_control_run:
 *
 * Carries out the command of a forwarded invocation.
 *
 * Returns: the exit status for the invoker (a command still under way sets
 *   it again when it ends)
 */
int
cohort_control_run (CohortControl           *self,
                    GApplicationCommandLine *command_line)
{
  GVariantDict *options;
  g_autofree char *scale = NULL;
  g_autofree char *send = NULL;
  g_autofree char *messages = NULL;
  g_autofree char *logs = NULL;
  g_autofree char *reload = NULL;
  g_autofree char *restart = NULL;
  g_autofree char *export = NULL;
  g_auto(GStrv) rest = NULL;
  gboolean follow = FALSE;
  guint n_commands = 0;

  g_return_val_if_fail (COHORT_IS_CONTROL (self), COHORT_EXIT_USAGE);
  g_return_val_if_fail (G_IS_APPLICATION_COMMAND_LINE (command_line), COHORT_EXIT_USAGE);

  options = g_application_command_line_get_options_dict (command_line);
  for (guint i = 0; control_commands[i] != NULL; i++)
    n_commands += g_variant_dict_contains (options, control_commands[i]);
  if (n_commands != 1)
    return fail (command_line, _("one command at a time (--status, --scale, --send …)"));

  g_variant_dict_lookup (options, G_OPTION_REMAINING, "^as", &rest);
  follow = g_variant_dict_contains (options, "follow");

  if (g_variant_dict_contains (options, "status"))
    return run_status (self, command_line, g_variant_dict_contains (options, "json"));
  if (g_variant_dict_lookup (options, "scale", "s", &scale))
    return run_scale (self, command_line, scale);
  if (g_variant_dict_lookup (options, "send", "s", &send))
    return run_send (self, command_line, send, (const char * const *) rest);
  if (g_variant_dict_lookup (options, "messages", "s", &messages))
    return run_recent (self, command_line, messages, TRUE, follow);
  if (g_variant_dict_lookup (options, "logs", "s", &logs))
    return run_recent (self, command_line, logs, FALSE, follow);
  if (g_variant_dict_lookup (options, "reload", "s", &reload))
    return run_reload (self, command_line, reload);
  if (g_variant_dict_lookup (options, "restart", "s", &restart))
    return run_restart (self, command_line, restart);
  if (g_variant_dict_contains (options, "start"))
    return run_start (self, command_line, rest != NULL ? rest[0] : NULL);
  if (g_variant_dict_contains (options, "stop"))
    return run_stop (self, command_line, rest != NULL ? rest[0] : NULL, FALSE);
  if (g_variant_dict_contains (options, "quit"))
    return run_stop (self, command_line, NULL, TRUE);
  if (g_variant_dict_lookup (options, "export", "^ay", &export))
    return run_export (self, command_line, export);

  g_return_val_if_reached (COHORT_EXIT_USAGE);
}
