/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-cluster-page.c: one cluster: its controls, live graphs (one line
 * and one colour per worker, markers for restarts, scaling and reloads), the
 * worker table and the message log. Everything is refreshed when a sample
 * arrives, not on a timer of its own. */

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "cohort-cluster-page.h"
#include "cohort-graph.h"
#include "cohort-process-worker.h"
#include "cohort-send-dialog.h"
#include "cohort-worker-item.h"

#define MAX_LOG_LINES 300
#define MAX_GRAPHS    6   /* the five a thread cluster has, and the NULL */

struct _CohortClusterPage
{
  GtkWidget       parent_instance;

  CohortCluster  *cluster;
  CohortSampler  *sampler;
  GListModel     *rows;            /* CohortWorkerItem, mapped from the workers */
  GPtrArray      *watched;         /* workers whose messages go to the log */

  CohortGraph    *cpu_graph;
  CohortGraph    *memory_graph;
  CohortGraph    *messages_graph;
  CohortGraph    *queue_graph;     /* thread clusters only */
  CohortGraph    *task_time_graph; /* thread clusters only */
  guint           n_samples;
  GArray         *graph_signature; /* see graph_signature () */
  GSettings      *settings;        /* NULL without the schema */

  /* template */
  GtkLabel       *title_label;
  GtkLabel       *subtitle_label;
  GtkLabel       *online_label;
  GtkAdjustment  *instances_adjustment;
  GtkSpinButton  *instances_spin;
  GtkWidget      *start_button;
  GtkWidget      *stop_button;
  GtkRevealer    *ladder_revealer;
  GtkLabel       *ladder_label;
  GtkLabel       *tasks_label;
  GtkDropDown    *span_dropdown;
  GtkBox         *graphs_box;
  GtkColumnView  *workers_view;
  GtkTextView    *log_view;
  GtkScrolledWindow *log_scroller;
  GtkWidget      *scroller;        /* the page's one child */
};

G_DEFINE_FINAL_TYPE (CohortClusterPage, cohort_cluster_page, GTK_TYPE_WIDGET)

static const guint spans[] = { 60, 300, 600 };

/* Header, controls and the stop ladder */

static void
update_actions (CohortClusterPage *self)
{
  CohortClusterState state = cohort_cluster_get_state (self->cluster);
  gboolean running = state == COHORT_CLUSTER_STATE_RUNNING;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "cluster.start", state == COHORT_CLUSTER_STATE_STOPPED);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "cluster.stop", state != COHORT_CLUSTER_STATE_STOPPED);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "cluster.reload",
                                 running && !cohort_cluster_get_reloading (self->cluster) &&
                                 cohort_cluster_get_spec (self->cluster)->kind == COHORT_CLUSTER_KIND_PROCESS);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "cluster.restart", running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "cluster.send", running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "cluster.scale-down",
                                 cohort_cluster_get_desired (self->cluster) > 0);
  gtk_widget_set_visible (self->start_button, state == COHORT_CLUSTER_STATE_STOPPED);
  gtk_widget_set_visible (self->stop_button, state != COHORT_CLUSTER_STATE_STOPPED);
}

static void
update_header (CohortClusterPage *self)
{
  CohortClusterSpec *spec = cohort_cluster_get_spec (self->cluster);
  CohortClusterState state = cohort_cluster_get_state (self->cluster);
  g_autofree char *subtitle = NULL;
  g_autofree char *online = NULL;

  gtk_label_set_label (self->title_label, cohort_cluster_get_name (self->cluster));
  if (spec->kind == COHORT_CLUSTER_KIND_THREADS)
    subtitle = g_strdup_printf (_("threads · %s · %s"), spec->task != NULL ? spec->task : _("tasks as messages"),
                                cohort_cluster_state_to_string (state));
  else if (cohort_cluster_get_listen_port (self->cluster) > 0)
    subtitle = g_strdup_printf (_("process · %s · %s · port %u"), spec->command,
                                cohort_cluster_state_to_string (state),
                                cohort_cluster_get_listen_port (self->cluster));
  else
    subtitle = g_strdup_printf (_("process · %s · %s"), spec->command, cohort_cluster_state_to_string (state));
  gtk_label_set_label (self->subtitle_label, subtitle);
  if (cohort_cluster_get_error (self->cluster) != NULL)
    gtk_label_set_label (self->subtitle_label, cohort_cluster_get_error (self->cluster));

  online = g_strdup_printf (_("%u of %u online"), cohort_cluster_get_n_online (self->cluster),
                            cohort_cluster_get_desired (self->cluster));
  gtk_label_set_label (self->online_label, online);

  if ((guint) gtk_adjustment_get_value (self->instances_adjustment) != cohort_cluster_get_desired (self->cluster))
    gtk_adjustment_set_value (self->instances_adjustment, cohort_cluster_get_desired (self->cluster));

  update_actions (self);
}

/* "Stopping 2 workers — message sent, SIGTERM in 4 s" */
static void
update_ladder (CohortClusterPage *self)
{
  GListModel *workers = cohort_cluster_get_workers (self->cluster);
  g_autoptr(GString) text = g_string_new (NULL);
  gint64 now = g_get_monotonic_time ();
  guint stopping = 0;

  for (guint i = 0; i < g_list_model_get_n_items (workers); i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);
      CohortStopStep step = cohort_worker_get_stop_step (worker);
      gint64 deadline = cohort_worker_get_stop_deadline (worker);
      const char *next;
      const char *done;

      if (cohort_worker_get_state (worker) != COHORT_WORKER_STATE_STOPPING)
        continue;
      stopping++;
      switch (step)
        {
        case COHORT_STOP_STEP_MESSAGE:
          done = _("message sent");
          next = cohort_signal_to_name (cohort_worker_get_spec (worker)->stop_signal);
          break;
        case COHORT_STOP_STEP_SIGNAL:
          done = _("signal sent");
          next = "SIGKILL";
          break;
        case COHORT_STOP_STEP_KILL:
        default:
          done = _("SIGKILL sent");
          next = NULL;
          break;
        }
      g_string_append_printf (text, "%s%u: %s", text->len > 0 ? " · " : "", cohort_worker_get_id (worker), done);
      if (next != NULL && deadline > now)
        g_string_append_printf (text, _(", %s in %.0f s"), next != NULL ? next : "signal",
                                ceil ((deadline - now) / 1e6));
    }

  if (stopping > 0)
    {
      g_autofree char *label =
        g_strdup_printf (ngettext ("Stopping %u worker — %s", "Stopping %u workers — %s", stopping),
                         stopping, text->str);

      gtk_label_set_label (self->ladder_label, label);
    }
  gtk_revealer_set_reveal_child (self->ladder_revealer, stopping > 0);
}

/* Graphs */

static void
color_for (guint    id,
           GdkRGBA *color)
{
  cohort_graph_color_for_index (id, color);
}

/* Lines and markers of the whole cluster, not of one worker. */
static void
cluster_color (GdkRGBA *color)
{
  gdk_rgba_parse (color, "#77767b");
}

static gboolean
is_threads (CohortClusterPage *self)
{
  return cohort_cluster_get_spec (self->cluster)->kind == COHORT_CLUSTER_KIND_THREADS;
}

/* Every graph of the page, NULL-terminated. */
static void
get_graphs (CohortClusterPage  *self,
            CohortGraph       **graphs)
{
  guint n = 0;

  graphs[n++] = self->cpu_graph;
  if (self->queue_graph != NULL)
    graphs[n++] = self->queue_graph;
  if (self->task_time_graph != NULL)
    graphs[n++] = self->task_time_graph;
  graphs[n++] = self->memory_graph;
  graphs[n++] = self->messages_graph;
  graphs[n] = NULL;
}

/* The queue and the task times: figures of the cluster, one line each. */
static void
update_task_lines (CohortClusterPage *self)
{
  const char *name = cohort_cluster_get_name (self->cluster);
  CohortSeries *series;
  GdkRGBA color;

  if (self->queue_graph == NULL)
    return;
  cluster_color (&color);
  if ((series = cohort_sampler_get_task_series (self->sampler, name, COHORT_TASK_METRIC_QUEUE)) != NULL)
    cohort_graph_set_line (self->queue_graph, "queue", series, &color, _("waiting"));
  if ((series = cohort_sampler_get_task_series (self->sampler, name, COHORT_TASK_METRIC_RUN_P50)) != NULL)
    cohort_graph_set_line (self->task_time_graph, "run", series, &color, _("run p50"));
  if ((series = cohort_sampler_get_task_series (self->sampler, name, COHORT_TASK_METRIC_WAIT_P50)) != NULL)
    {
      cohort_graph_set_line (self->task_time_graph, "wait", series, &color, _("wait p50"));
      cohort_graph_set_line_dashed (self->task_time_graph, "wait", TRUE);
    }
}

/* What the graphs' lines were built from: each worker's id and series. */
static GArray *
graph_signature (CohortClusterPage *self)
{
  const char *name = cohort_cluster_get_name (self->cluster);
  GListModel *workers = cohort_cluster_get_workers (self->cluster);
  GArray *signature = g_array_new (FALSE, FALSE, sizeof (gpointer));
  static const CohortMetric metrics[] = {
    COHORT_METRIC_CPU, COHORT_METRIC_RSS, COHORT_METRIC_MESSAGES_IN, COHORT_METRIC_MESSAGES_OUT,
  };

  for (guint i = 0; i < g_list_model_get_n_items (workers); i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);
      guint id = cohort_worker_get_id (worker);
      gpointer id_item = GUINT_TO_POINTER (id + 1);

      g_array_append_val (signature, id_item);
      for (guint m = 0; m < G_N_ELEMENTS (metrics); m++)
        {
          gpointer series = cohort_sampler_get_series (self->sampler, name, id, metrics[m]);

          g_array_append_val (signature, series);
        }
    }
  return signature;
}

/* Rebuilds the lines when the workers or their series changed; the
 * graphs' data itself is read at each draw. */
static void
update_graph_lines (CohortClusterPage *self)
{
  const char *name = cohort_cluster_get_name (self->cluster);
  GListModel *workers = cohort_cluster_get_workers (self->cluster);
  g_autoptr(GArray) signature = graph_signature (self);

  if (self->graph_signature != NULL
      && self->graph_signature->len == signature->len
      && (signature->len == 0
          || memcmp (self->graph_signature->data, signature->data, signature->len * sizeof (gpointer)) == 0))
    {
      update_task_lines (self);
      return;
    }
  g_clear_pointer (&self->graph_signature, g_array_unref);
  g_clear_object (&self->settings);
  self->graph_signature = g_steal_pointer (&signature);

  cohort_graph_clear_lines (self->cpu_graph);
  cohort_graph_clear_lines (self->memory_graph);
  cohort_graph_clear_lines (self->messages_graph);

  for (guint i = 0; i < g_list_model_get_n_items (workers); i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);
      guint id = cohort_worker_get_id (worker);
      g_autofree char *key = g_strdup_printf ("w%u", id);
      g_autofree char *key_out = g_strdup_printf ("w%u-out", id);
      g_autofree char *label = g_strdup_printf (_("worker %u"), id);
      g_autofree char *label_in = g_strdup_printf (_("%u in"), id);
      g_autofree char *label_out = g_strdup_printf (_("%u out"), id);
      CohortSeries *series;
      GdkRGBA color;

      color_for (id, &color);
      if ((series = cohort_sampler_get_series (self->sampler, name, id, COHORT_METRIC_CPU)) != NULL)
        cohort_graph_set_line (self->cpu_graph, key, series, &color, label);
      if ((series = cohort_sampler_get_series (self->sampler, name, id, COHORT_METRIC_RSS)) != NULL)
        cohort_graph_set_line (self->memory_graph, key, series, &color, label);
      if ((series = cohort_sampler_get_series (self->sampler, name, id, COHORT_METRIC_MESSAGES_IN)) != NULL)
        cohort_graph_set_line (self->messages_graph, key, series, &color, label_in);
      if ((series = cohort_sampler_get_series (self->sampler, name, id, COHORT_METRIC_MESSAGES_OUT)) != NULL)
        {
          cohort_graph_set_line (self->messages_graph, key_out, series, &color, label_out);
          cohort_graph_set_line_dashed (self->messages_graph, key_out, TRUE);
        }
    }

  update_task_lines (self);
}

static void
update_markers (CohortClusterPage *self)
{
  g_autoptr(GPtrArray) events = cohort_sampler_dup_events (self->sampler);
  g_autoptr(GPtrArray) markers = g_ptr_array_new_with_free_func ((GDestroyNotify) cohort_graph_marker_free);
  const char *name = cohort_cluster_get_name (self->cluster);
  CohortGraph *graphs[MAX_GRAPHS];

  for (guint i = 0; i < events->len; i++)
    {
      CohortEvent *event = g_ptr_array_index (events, i);
      CohortGraphMarker *marker;
      GdkRGBA color;

      if (!g_str_equal (event->cluster, name))
        continue;
      if (event->worker >= 0)
        color_for ((guint) event->worker, &color);
      else
        cluster_color (&color);
      marker = cohort_graph_marker_new (event->time, event->kind, event->text, &color);
      g_ptr_array_add (markers, marker);
    }

  get_graphs (self, graphs);
  for (guint i = 0; graphs[i] != NULL; i++)
    cohort_graph_set_markers (graphs[i], markers);
}

static void
update_tasks (CohortClusterPage *self)
{
  double wait[3];
  double run[3];
  guint n;
  g_autofree char *text = NULL;

  if (!is_threads (self))
    return;
  n = cohort_cluster_get_task_percentiles (self->cluster, wait, run);
  text = g_strdup_printf (_("queue %u · run p50 %.1f ms, p99 %.1f ms · wait p50 %.1f ms (%u tasks)"),
                          cohort_cluster_get_queue_depth (self->cluster), run[0], run[2], wait[0], n);
  gtk_label_set_label (self->tasks_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->tasks_label), TRUE);
}

static void
sampled_cb (CohortClusterPage *self)
{
  guint n = g_list_model_get_n_items (self->rows);
  CohortGraph *graphs[MAX_GRAPHS];

  self->n_samples++;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorkerItem) item = g_list_model_get_item (self->rows, i);

      cohort_worker_item_update (item);
    }

  /* New slots get their series at their first sample. */
  update_graph_lines (self);
  update_markers (self);
  update_header (self);
  update_ladder (self);
  update_tasks (self);
  get_graphs (self, graphs);
  for (guint i = 0; graphs[i] != NULL; i++)
    cohort_graph_queue_update (graphs[i]);
}

static void
span_changed_cb (CohortClusterPage *self)
{
  guint span = spans[MIN (gtk_drop_down_get_selected (self->span_dropdown), G_N_ELEMENTS (spans) - 1)];
  CohortGraph *graphs[MAX_GRAPHS];

  get_graphs (self, graphs);
  for (guint i = 0; graphs[i] != NULL; i++)
    cohort_graph_set_span (graphs[i], span);
}

/* The span is one setting for every page, kept between runs ("graph-span":
 * '1m', '5m' or '10m', the dropdown's items in order). */
static const char * const span_nicks[] = { "1m", "5m", "10m" };

static gboolean
span_from_setting (GValue   *value,
                   GVariant *variant,
                   gpointer  data)
{
  const char *nick = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (span_nicks); i++)
    if (g_str_equal (nick, span_nicks[i]))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
span_to_setting (const GValue       *value,
                 const GVariantType *type,
                 gpointer            data)
{
  guint index = g_value_get_uint (value);

  return index < G_N_ELEMENTS (span_nicks) ? g_variant_new_string (span_nicks[index]) : NULL;
}

static void
bind_span (CohortClusterPage *self)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = source != NULL ? g_settings_schema_source_lookup (source, APPLICATION_ID, TRUE)
                                                     : NULL;

  G_STATIC_ASSERT (G_N_ELEMENTS (span_nicks) == G_N_ELEMENTS (spans));

  /* Without the schema (a build not installed), the dropdown alone. */
  if (schema == NULL)
    return;
  self->settings = g_settings_new (APPLICATION_ID);
  g_settings_bind_with_mapping (self->settings, "graph-span", self->span_dropdown, "selected",
                                G_SETTINGS_BIND_DEFAULT, span_from_setting, span_to_setting, NULL, NULL);
}

/* The message log */

static void
append_log (CohortClusterPage   *self,
            const CohortMessage *message)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->log_view);
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (message->time / G_USEC_PER_SEC);
  g_autofree char *clock = time != NULL ? g_date_time_format (time, "%H:%M:%S") : g_strdup ("");
  g_autofree char *line = g_strdup_printf ("%s %s %u  %s\n", clock, message->outgoing ? "→" : "←",
                                           message->worker, message->json);
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (self->log_scroller);
  gboolean at_bottom = gtk_adjustment_get_value (adjustment) + gtk_adjustment_get_page_size (adjustment) >=
                       gtk_adjustment_get_upper (adjustment) - 4;
  GtkTextIter end;

  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_insert (buffer, &end, line, -1);

  /* Bounded: the oldest lines go. */
  if (gtk_text_buffer_get_line_count (buffer) > MAX_LOG_LINES)
    {
      GtkTextIter start;
      GtkTextIter cut;

      gtk_text_buffer_get_start_iter (buffer, &start);
      gtk_text_buffer_get_iter_at_line (buffer, &cut, gtk_text_buffer_get_line_count (buffer) - MAX_LOG_LINES);
      gtk_text_buffer_delete (buffer, &start, &cut);
    }

  /* Follow the newest, unless the user scrolled up to read. */
  if (at_bottom)
    {
      GtkTextMark *mark = gtk_text_buffer_get_insert (buffer);

      gtk_text_buffer_get_end_iter (buffer, &end);
      gtk_text_buffer_place_cursor (buffer, &end);
      gtk_text_view_scroll_mark_onscreen (self->log_view, mark);
    }
}

static void
worker_message_cb (CohortWorker        *worker,
                   const CohortMessage *message,
                   CohortClusterPage   *self)
{
  append_log (self, message);
}

static gpointer
map_worker (gpointer item,
            gpointer user_data)
{
  CohortClusterPage *self = user_data;
  g_autoptr(CohortWorker) worker = item;

  return cohort_worker_item_new (worker, self->sampler);
}

static void
workers_changed_cb (CohortClusterPage *self,
                    guint              position,
                    guint              removed,
                    guint              added,
                    GListModel        *workers)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      if (g_ptr_array_find (self->watched, worker, NULL))
        continue;
      g_ptr_array_add (self->watched, g_object_ref (worker));
      g_signal_connect_object (worker, "message", G_CALLBACK (worker_message_cb), self, 0);
    }
  update_header (self);
  update_graph_lines (self);
}

/* Actions */

static void
show_error (CohortClusterPage *self,
            const char        *message)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);

  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), adw_toast_new (message));
  else
    g_warning ("%s", message);
}

static void
scale_to (CohortClusterPage *self,
          guint              n)
{
  g_autoptr(GError) error = NULL;

  if (!cohort_cluster_scale (self->cluster, n, &error))
    show_error (self, error->message);
  update_header (self);
}

static void
scale_up_action (GtkWidget  *widget,
                 const char *name,
                 GVariant   *param)
{
  CohortClusterPage *self = COHORT_CLUSTER_PAGE (widget);

  scale_to (self, cohort_cluster_get_desired (self->cluster) + 1);
}

static void
scale_down_action (GtkWidget  *widget,
                   const char *name,
                   GVariant   *param)
{
  CohortClusterPage *self = COHORT_CLUSTER_PAGE (widget);
  guint desired = cohort_cluster_get_desired (self->cluster);

  if (desired > 0)
    scale_to (self, desired - 1);
}

static void
per_cpu_action (GtkWidget  *widget,
                const char *name,
                GVariant   *param)
{
  scale_to (COHORT_CLUSTER_PAGE (widget), MAX (1, g_get_num_processors ()));
}

static void
spin_changed_cb (CohortClusterPage *self)
{
  guint value = (guint) gtk_adjustment_get_value (self->instances_adjustment);

  if (value != cohort_cluster_get_desired (self->cluster))
    scale_to (self, value);
}

static void
reload_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(CohortClusterPage) self = user_data;
  g_autoptr(GError) error = NULL;
  guint replaced = 0;

  if (!cohort_cluster_reload_finish (COHORT_CLUSTER (source), result, &replaced, &error))
    show_error (self, error->message);
  update_actions (self);
}

static void
reload_action (GtkWidget  *widget,
               const char *name,
               GVariant   *param)
{
  CohortClusterPage *self = COHORT_CLUSTER_PAGE (widget);

  cohort_cluster_reload_async (self->cluster, NULL, reload_done_cb, g_object_ref (self));
  update_actions (self);
}

static void
restart_action (GtkWidget  *widget,
                const char *name,
                GVariant   *param)
{
  CohortClusterPage *self = COHORT_CLUSTER_PAGE (widget);
  GListModel *workers = cohort_cluster_get_workers (self->cluster);

  for (guint i = 0; i < g_list_model_get_n_items (workers); i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      cohort_worker_restart (worker, _("restarted from the window"));
    }
}

static void
stop_action (GtkWidget  *widget,
             const char *name,
             GVariant   *param)
{
  cohort_cluster_stop (COHORT_CLUSTER_PAGE (widget)->cluster);
}

static void
start_action (GtkWidget  *widget,
              const char *name,
              GVariant   *param)
{
  CohortClusterPage *self = COHORT_CLUSTER_PAGE (widget);
  g_autoptr(GError) error = NULL;

  if (!cohort_cluster_start (self->cluster, &error))
    show_error (self, error->message);
}

static void
send_action (GtkWidget  *widget,
             const char *name,
             GVariant   *param)
{
  CohortClusterPage *self = COHORT_CLUSTER_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  CohortSendDialog *dialog = cohort_send_dialog_new (self->cluster);

  gtk_window_set_transient_for (GTK_WINDOW (dialog), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* The row menu: send, restart, stop, kill one worker */

static CohortWorker *
worker_for (CohortClusterPage *self,
            GVariant          *param)
{
  return cohort_cluster_lookup_worker (self->cluster, g_variant_get_uint32 (param));
}

static void
worker_restart_action (GtkWidget  *widget,
                       const char *name,
                       GVariant   *param)
{
  CohortWorker *worker = worker_for (COHORT_CLUSTER_PAGE (widget), param);

  if (worker != NULL)
    cohort_worker_restart (worker, _("restarted from the window"));
}

static void
worker_stop_action (GtkWidget  *widget,
                    const char *name,
                    GVariant   *param)
{
  CohortWorker *worker = worker_for (COHORT_CLUSTER_PAGE (widget), param);

  if (worker != NULL)
    cohort_worker_stop (worker);
}

static void
worker_kill_action (GtkWidget  *widget,
                    const char *name,
                    GVariant   *param)
{
  CohortWorker *worker = worker_for (COHORT_CLUSTER_PAGE (widget), param);

  if (worker != NULL)
    cohort_worker_kill (worker);
}

static void
worker_start_action (GtkWidget  *widget,
                     const char *name,
                     GVariant   *param)
{
  CohortWorker *worker = worker_for (COHORT_CLUSTER_PAGE (widget), param);

  if (worker != NULL)
    cohort_worker_start (worker);
}

static void
worker_send_action (GtkWidget  *widget,
                    const char *name,
                    GVariant   *param)
{
  CohortClusterPage *self = COHORT_CLUSTER_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  CohortSendDialog *dialog = cohort_send_dialog_new (self->cluster);

  cohort_send_dialog_set_target (dialog, (int) g_variant_get_uint32 (param));
  gtk_window_set_transient_for (GTK_WINDOW (dialog), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
menu_setup_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item)
{
  GtkWidget *button = gtk_menu_button_new ();

  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (button), "view-more-symbolic");
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_tooltip_text (button, _("Worker actions"));
  gtk_list_item_set_child (list_item, button);
}

static void
add_item (GMenu      *menu,
          const char *label,
          const char *action,
          guint       id)
{
  g_autoptr(GMenuItem) entry = g_menu_item_new (label, NULL);

  g_menu_item_set_action_and_target_value (entry, action, g_variant_new_uint32 (id));
  g_menu_append_item (menu, entry);
}

static void
menu_bind_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item)
{
  CohortWorkerItem *item = gtk_list_item_get_item (list_item);
  CohortWorker *worker = cohort_worker_item_get_worker (item);
  guint id = cohort_worker_get_id (worker);
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) ending = g_menu_new ();

  add_item (menu, _("_Send Message…"), "worker.send", id);
  add_item (menu, _("_Restart"), "worker.restart", id);
  /* The row's worker changes state under the open menu: every entry is
   * always there, and one that does not apply does nothing. */
  add_item (ending, _("St_art"), "worker.start", id);
  add_item (ending, _("S_top Gracefully"), "worker.stop", id);
  add_item (ending, _("_Kill"), "worker.kill", id);
  g_menu_append_section (menu, NULL, G_MENU_MODEL (ending));
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (gtk_list_item_get_child (list_item)), G_MENU_MODEL (menu));
}

static void
add_menu_column (CohortClusterPage *self)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *column;

  g_signal_connect (factory, "setup", G_CALLBACK (menu_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (menu_bind_cb), NULL);
  column = gtk_column_view_column_new (NULL, factory);
  gtk_column_view_append_column (self->workers_view, column);
  g_object_unref (column);
}

/* GObject */

static void
cohort_cluster_page_dispose (GObject *object)
{
  CohortClusterPage *self = (CohortClusterPage *) object;

  gtk_widget_dispose_template (GTK_WIDGET (self), COHORT_TYPE_CLUSTER_PAGE);
  g_clear_pointer (&self->scroller, gtk_widget_unparent);
  g_clear_object (&self->rows);
  g_clear_pointer (&self->watched, g_ptr_array_unref);
  g_clear_pointer (&self->graph_signature, g_array_unref);
  g_clear_object (&self->settings);
  g_clear_object (&self->cluster);
  g_clear_object (&self->sampler);

  G_OBJECT_CLASS (cohort_cluster_page_parent_class)->dispose (object);
}

static void
cohort_cluster_page_class_init (CohortClusterPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cohort_cluster_page_dispose;

  g_type_ensure (COHORT_TYPE_WORKER_ITEM);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/cohort/Cohort/cohort-cluster-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, title_label);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, online_label);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, instances_adjustment);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, instances_spin);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, start_button);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, stop_button);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, ladder_revealer);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, ladder_label);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, tasks_label);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, span_dropdown);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, graphs_box);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, workers_view);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, log_view);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, log_scroller);
  gtk_widget_class_bind_template_child (widget_class, CohortClusterPage, scroller);

  gtk_widget_class_install_action (widget_class, "cluster.scale-up", NULL, scale_up_action);
  gtk_widget_class_install_action (widget_class, "cluster.scale-down", NULL, scale_down_action);
  gtk_widget_class_install_action (widget_class, "cluster.per-cpu", NULL, per_cpu_action);
  gtk_widget_class_install_action (widget_class, "cluster.send", NULL, send_action);
  gtk_widget_class_install_action (widget_class, "cluster.reload", NULL, reload_action);
  gtk_widget_class_install_action (widget_class, "cluster.restart", NULL, restart_action);
  gtk_widget_class_install_action (widget_class, "cluster.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "cluster.start", NULL, start_action);

  gtk_widget_class_install_action (widget_class, "worker.send", "u", worker_send_action);
  gtk_widget_class_install_action (widget_class, "worker.restart", "u", worker_restart_action);
  gtk_widget_class_install_action (widget_class, "worker.stop", "u", worker_stop_action);
  gtk_widget_class_install_action (widget_class, "worker.kill", "u", worker_kill_action);
  gtk_widget_class_install_action (widget_class, "worker.start", "u", worker_start_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, 0, "cluster.scale-up", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, 0, "cluster.scale-up", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, 0, "cluster.scale-down", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, 0, "cluster.scale-down", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_m, GDK_CONTROL_MASK, "cluster.send", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK, "cluster.reload", NULL);
}

static void
cohort_cluster_page_init (CohortClusterPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->watched = g_ptr_array_new_with_free_func (g_object_unref);

  self->cpu_graph = g_object_new (COHORT_TYPE_GRAPH, "title", _("CPU"), "unit", COHORT_GRAPH_UNIT_PERCENT, NULL);
  self->memory_graph = g_object_new (COHORT_TYPE_GRAPH, "title", _("Memory"), "unit", COHORT_GRAPH_UNIT_BYTES, NULL);
  self->messages_graph = g_object_new (COHORT_TYPE_GRAPH, "title", _("Messages"), "unit", COHORT_GRAPH_UNIT_RATE, NULL);
  gtk_box_append (self->graphs_box, GTK_WIDGET (self->cpu_graph));
  gtk_box_append (self->graphs_box, GTK_WIDGET (self->memory_graph));
  gtk_box_append (self->graphs_box, GTK_WIDGET (self->messages_graph));
  add_menu_column (self);
}

CohortClusterPage *
cohort_cluster_page_new (CohortCluster *cluster,
                         CohortSampler *sampler)
{
  CohortClusterPage *self;
  GListModel *workers;
  GtkMapListModel *map;

  g_return_val_if_fail (COHORT_IS_CLUSTER (cluster), NULL);

  self = g_object_new (COHORT_TYPE_CLUSTER_PAGE, NULL);
  self->cluster = g_object_ref (cluster);
  self->sampler = g_object_ref (sampler);

  /* Below the CPU, a thread cluster's queue and how long its tasks take
   * (the same figures as the line above the graphs, over time). */
  if (is_threads (self))
    {
      self->queue_graph = g_object_new (COHORT_TYPE_GRAPH, "title", _("Queue depth"),
                                        "unit", COHORT_GRAPH_UNIT_NUMBER, NULL);
      self->task_time_graph = g_object_new (COHORT_TYPE_GRAPH, "title", _("Task time, ms"),
                                            "unit", COHORT_GRAPH_UNIT_NUMBER, NULL);
      gtk_box_insert_child_after (self->graphs_box, GTK_WIDGET (self->queue_graph), GTK_WIDGET (self->cpu_graph));
      gtk_box_insert_child_after (self->graphs_box, GTK_WIDGET (self->task_time_graph),
                                  GTK_WIDGET (self->queue_graph));
    }

  workers = cohort_cluster_get_workers (cluster);
  map = gtk_map_list_model_new (g_object_ref (workers), map_worker, self, NULL);
  self->rows = G_LIST_MODEL (map);
  gtk_column_view_set_model (self->workers_view,
                             GTK_SELECTION_MODEL (gtk_no_selection_new (g_object_ref (self->rows))));

  g_signal_connect_object (workers, "items-changed", G_CALLBACK (workers_changed_cb), self, G_CONNECT_SWAPPED);
  workers_changed_cb (self, 0, 0, g_list_model_get_n_items (workers), workers);
  g_signal_connect_object (cluster, "notify::state", G_CALLBACK (update_header), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (cluster, "notify::n-online", G_CALLBACK (update_header), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (cluster, "notify::desired", G_CALLBACK (update_header), self, G_CONNECT_SWAPPED);
  /* An edit: a new name, command or port shows at once. */
  g_signal_connect_object (cluster, "notify::spec", G_CALLBACK (update_header), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (sampler, "sampled", G_CALLBACK (sampled_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->instances_adjustment, "value-changed", G_CALLBACK (spin_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->span_dropdown, "notify::selected", G_CALLBACK (span_changed_cb),
                           self, G_CONNECT_SWAPPED);
  bind_span (self);
  span_changed_cb (self);
  update_header (self);
  return self;
}

CohortCluster *
cohort_cluster_page_get_cluster (CohortClusterPage *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER_PAGE (self), NULL);
  return self->cluster;
}

/* Returns: (transfer none): the worker table's rows (CohortWorkerItem) */
GListModel *
cohort_cluster_page_get_rows (CohortClusterPage *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER_PAGE (self), NULL);
  return self->rows;
}

/* Samples the graphs have been updated with, for tests. */
guint
cohort_cluster_page_get_n_graph_samples (CohortClusterPage *self)
{
  g_return_val_if_fail (COHORT_IS_CLUSTER_PAGE (self), 0);
  return self->n_samples;
}
