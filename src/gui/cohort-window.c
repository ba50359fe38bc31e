/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-window.c: a sidebar of clusters (state, workers online of
 * desired) and a page per cluster; Start All / Stop All; closing the window
 * with workers running asks, then stops them gracefully. */

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "cohort-application.h"
#include "cohort-cluster-page.h"
#include "cohort-graph.h"
#include "cohort-overview-page.h"
#include "cohort-sparkline.h"
#include "cohort-window.h"

struct _CohortWindow
{
  AdwApplicationWindow  parent_instance;

  CohortSupervisor     *supervisor;
  gboolean              closing;

  /* template */
  AdwToastOverlay      *toasts;
  AdwLeaflet           *leaflet;
  GtkListBox           *cluster_list;
  GtkLabel             *self_label;
  AdwWindowTitle       *window_title;
  GtkRevealer          *banner_revealer;
  GtkLabel             *banner_label;
  GtkStack             *pages;
};

G_DEFINE_FINAL_TYPE (CohortWindow, cohort_window, ADW_TYPE_APPLICATION_WINDOW)

/* Sidebar rows */

static void
update_row (GtkWidget     *row,
            CohortCluster *cluster)
{
  GtkWidget *dot = g_object_get_data (G_OBJECT (row), "dot");
  GtkWidget *subtitle = g_object_get_data (G_OBJECT (row), "subtitle");
  GtkWidget *count = g_object_get_data (G_OBJECT (row), "count");
  CohortClusterState state = cohort_cluster_get_state (cluster);
  CohortClusterSpec *spec = cohort_cluster_get_spec (cluster);
  g_autofree char *text = g_strdup_printf ("%s · %s", cohort_cluster_kind_to_string (spec->kind),
                                           cohort_cluster_state_to_string (state));
  g_autofree char *online = g_strdup_printf ("%u/%u", cohort_cluster_get_n_online (cluster),
                                             cohort_cluster_get_desired (cluster));
  const char *css;

  gtk_label_set_label (GTK_LABEL (subtitle), text);
  gtk_label_set_label (GTK_LABEL (count), online);
  if (state == COHORT_CLUSTER_STATE_STOPPED)
    css = cohort_cluster_get_error (cluster) != NULL ? "state-error" : "state-stopped";
  else if (state == COHORT_CLUSTER_STATE_STOPPING ||
           cohort_cluster_get_n_online (cluster) < cohort_cluster_get_desired (cluster))
    css = "state-busy";
  else
    css = "state-online";
  gtk_widget_set_css_classes (dot, (const char *[]) { "state-dot", css, NULL });
}

static void
row_changed_cb (GtkWidget     *row,
                GParamSpec    *pspec,
                CohortCluster *cluster)
{
  update_row (row, cluster);
}

/* The sidebar row of a cluster; @index picks its colour, the one the
 * overview gives it. */
static GtkWidget *
make_row (CohortCluster *cluster,
          guint          index)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 10);
  GtkWidget *texts = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *dot = gtk_label_new ("●");
  GtkWidget *name = gtk_label_new (cohort_cluster_get_name (cluster));
  GtkWidget *subtitle = gtk_label_new (NULL);
  GtkWidget *count = gtk_label_new (NULL);
  GtkWidget *sparkline = cohort_sparkline_new ();
  GdkRGBA color;

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_valign (dot, GTK_ALIGN_CENTER);
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (name, "heading");
  gtk_label_set_xalign (GTK_LABEL (subtitle), 0);
  gtk_widget_add_css_class (subtitle, "caption");
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_widget_set_hexpand (texts, TRUE);
  gtk_widget_add_css_class (count, "numeric");
  gtk_widget_set_tooltip_text (count, _("Workers online / desired"));
  cohort_graph_color_for_index (index, &color);
  cohort_sparkline_set_color (COHORT_SPARKLINE (sparkline), &color);
  gtk_box_append (GTK_BOX (texts), name);
  gtk_box_append (GTK_BOX (texts), subtitle);
  gtk_box_append (GTK_BOX (box), dot);
  gtk_box_append (GTK_BOX (box), texts);
  gtk_box_append (GTK_BOX (box), sparkline);
  gtk_box_append (GTK_BOX (box), count);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);

  g_object_set_data (G_OBJECT (row), "dot", dot);
  g_object_set_data (G_OBJECT (row), "subtitle", subtitle);
  g_object_set_data (G_OBJECT (row), "count", count);
  g_object_set_data (G_OBJECT (row), "sparkline", sparkline);
  g_object_set_data_full (G_OBJECT (row), "cluster", g_object_ref (cluster), g_object_unref);

  g_signal_connect_object (cluster, "notify::state", G_CALLBACK (row_changed_cb), row, G_CONNECT_SWAPPED);
  g_signal_connect_object (cluster, "notify::n-online", G_CALLBACK (row_changed_cb), row, G_CONNECT_SWAPPED);
  g_signal_connect_object (cluster, "notify::desired", G_CALLBACK (row_changed_cb), row, G_CONNECT_SWAPPED);
  update_row (row, cluster);
  return row;
}

static GtkWidget *
make_overview_row (void)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 10);
  GtkWidget *icon = gtk_image_new_from_icon_name ("view-grid-symbolic");
  GtkWidget *label = gtk_label_new (_("Overview"));

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "heading");
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), label);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_object_set_data (G_OBJECT (row), "overview", GINT_TO_POINTER (TRUE));
  return row;
}

static void
row_selected_cb (CohortWindow  *self,
                 GtkListBoxRow *row)
{
  CohortCluster *cluster;

  if (row == NULL)
    return;
  if (g_object_get_data (G_OBJECT (row), "overview") != NULL)
    {
      gtk_stack_set_visible_child_name (self->pages, "overview");
      adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
      return;
    }
  cluster = g_object_get_data (G_OBJECT (row), "cluster");
  gtk_stack_set_visible_child_name (self->pages, cohort_cluster_get_name (cluster));
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
}

/* A cluster's CPU series exists from its first sample on: looked up
 * until found. */
static void
update_sparklines (CohortWindow  *self,
                   CohortSampler *sampler)
{
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->cluster_list));
       row != NULL;
       row = gtk_widget_get_next_sibling (row))
    {
      CohortSparkline *sparkline = g_object_get_data (G_OBJECT (row), "sparkline");
      CohortCluster *cluster = g_object_get_data (G_OBJECT (row), "cluster");

      if (sparkline == NULL || cluster == NULL)
        continue;
      if (cohort_sparkline_get_series (sparkline) == NULL)
        cohort_sparkline_set_series (sparkline,
                                     cohort_sampler_get_cluster_series (sampler, cohort_cluster_get_name (cluster),
                                                                        COHORT_METRIC_CPU));
      cohort_sparkline_queue_update (sparkline);
    }
}

/* Cohort's own figures, under the list: the window is never the one
 * blocked, and here is the proof. */
static void
sampled_cb (CohortWindow *self)
{
  CohortSampler *sampler = cohort_supervisor_get_sampler (self->supervisor);
  double cpu = cohort_series_get_last (cohort_sampler_get_self_series (sampler, COHORT_SELF_CPU));
  double rss = cohort_series_get_last (cohort_sampler_get_self_series (sampler, COHORT_SELF_RSS));
  double lag = cohort_series_get_last (cohort_sampler_get_self_series (sampler, COHORT_SELF_LAG));
  g_autofree char *memory = isnan (rss) ? g_strdup ("—") : g_format_size_full ((guint64) rss, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *text = g_strdup_printf (_("Cohort: %.1f %% CPU · %s · lag %.0f ms"),
                                           isnan (cpu) ? 0 : cpu, memory, isnan (lag) ? 0 : lag);

  gtk_label_set_label (self->self_label, text);
  update_sparklines (self, sampler);
}

/* Profiles */

void
cohort_window_show_problems (CohortWindow  *self,
                             CohortProfile *profile)
{
  g_autoptr(GString) text = g_string_new (NULL);

  g_return_if_fail (COHORT_IS_WINDOW (self));

  for (guint i = 0; i < cohort_profile_get_n_diagnostics (profile); i++)
    {
      g_autofree char *line =
        cohort_profile_format_diagnostic (profile, cohort_profile_get_diagnostic (profile, i));

      g_string_append_printf (text, "%s%s", text->len > 0 ? "\n" : "", line);
    }
  if (cohort_profile_get_n_errors (profile) > 0)
    g_string_prepend (text, _("The profile has errors; nothing was started.\n"));
  gtk_label_set_label (self->banner_label, text->str);
  gtk_revealer_set_reveal_child (self->banner_revealer, text->len > 0);
}

/**
 * cohort_window_show_profile:
 *
 * Shows the supervisor's clusters (already loaded from @profile).
 */
void
cohort_window_show_profile (CohortWindow  *self,
                            CohortProfile *profile,
                            const char    *path)
{
  GListModel *clusters = cohort_supervisor_get_clusters (self->supervisor);
  CohortSampler *sampler = cohort_supervisor_get_sampler (self->supervisor);
  g_autofree char *display = NULL;
  GtkWidget *child;

  g_return_if_fail (COHORT_IS_WINDOW (self));

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->cluster_list))) != NULL)
    gtk_list_box_remove (self->cluster_list, child);

  if (gtk_stack_get_child_by_name (self->pages, "overview") == NULL)
    gtk_stack_add_named (self->pages, GTK_WIDGET (cohort_overview_page_new (self->supervisor)), "overview");
  if (g_list_model_get_n_items (clusters) > 0)
    gtk_list_box_append (self->cluster_list, make_overview_row ());

  for (guint i = 0; i < g_list_model_get_n_items (clusters); i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);
      const char *name = cohort_cluster_get_name (cluster);
      GtkWidget *old = gtk_stack_get_child_by_name (self->pages, name);

      if (old != NULL)
        gtk_stack_remove (self->pages, old);
      gtk_stack_add_named (self->pages, GTK_WIDGET (cohort_cluster_page_new (cluster, sampler)), name);
      gtk_list_box_append (self->cluster_list, make_row (cluster, i));
    }

  display = path != NULL ? g_filename_display_name (path) : NULL;
  adw_window_title_set_title (self->window_title, cohort_profile_get_name (profile));
  adw_window_title_set_subtitle (self->window_title, display);
  cohort_window_show_problems (self, profile);

  /* Several clusters: the overview first; one: that cluster. */
  if (g_list_model_get_n_items (clusters) > 1)
    gtk_list_box_select_row (self->cluster_list, gtk_list_box_get_row_at_index (self->cluster_list, 0));
  else if (g_list_model_get_n_items (clusters) == 1)
    gtk_list_box_select_row (self->cluster_list, gtk_list_box_get_row_at_index (self->cluster_list, 1));
  else
    gtk_stack_set_visible_child_name (self->pages, "empty");
}

void
cohort_window_select_cluster (CohortWindow *self,
                              const char   *name)
{
  for (int i = 0;; i++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->cluster_list, i);
      CohortCluster *cluster;

      if (row == NULL)
        return;
      cluster = g_object_get_data (G_OBJECT (row), "cluster");
      if (cluster != NULL && g_str_equal (cohort_cluster_get_name (cluster), name))
        {
          gtk_list_box_select_row (self->cluster_list, row);
          return;
        }
    }
}

GtkWidget *
cohort_window_get_visible_page (CohortWindow *self)
{
  g_return_val_if_fail (COHORT_IS_WINDOW (self), NULL);
  return gtk_stack_get_visible_child (self->pages);
}

/* Actions */

static void
start_all_action (GtkWidget  *widget,
                  const char *name,
                  GVariant   *param)
{
  CohortWindow *self = COHORT_WINDOW (widget);

  if (cohort_supervisor_start (self->supervisor) > 0)
    adw_toast_overlay_add_toast (self->toasts, adw_toast_new (_("Some clusters could not start")));
}

static void
stop_all_action (GtkWidget  *widget,
                 const char *name,
                 GVariant   *param)
{
  cohort_supervisor_stop (COHORT_WINDOW (widget)->supervisor);
}

static void
show_sidebar_action (GtkWidget  *widget,
                     const char *name,
                     GVariant   *param)
{
  adw_leaflet_navigate (COHORT_WINDOW (widget)->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static void
open_response_cb (GtkNativeDialog *dialog,
                  int              response,
                  CohortWindow    *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);

      if (path != NULL)
        cohort_application_open_profile (COHORT_APPLICATION (gtk_window_get_application (GTK_WINDOW (self))),
                                         path);
    }
  g_object_unref (dialog);
}

static void
open_action (GtkWidget  *widget,
             const char *name,
             GVariant   *param)
{
  CohortWindow *self = COHORT_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  if (cohort_supervisor_get_running (self->supervisor))
    {
      adw_toast_overlay_add_toast (self->toasts,
                                   adw_toast_new (_("Stop the running clusters before opening another profile")));
      return;
    }
  dialog = gtk_file_chooser_native_new (_("Open Profile"), GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_OPEN,
                                        _("_Open"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Cohort profiles"));
  gtk_file_filter_add_pattern (filter, "*.cohort");
  gtk_file_filter_add_mime_type (filter, "application/x-cohort-profile");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  g_signal_connect (dialog, "response", G_CALLBACK (open_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* Closing with workers running asks, then stops them gracefully. */

static void
stopped_cb (CohortWindow *self)
{
  if (self->closing && !cohort_supervisor_get_running (self->supervisor))
    gtk_window_destroy (GTK_WINDOW (self));
}

static void
close_response_cb (AdwMessageDialog *dialog,
                   const char       *response,
                   CohortWindow     *self)
{
  if (!g_str_equal (response, "stop"))
    return;
  self->closing = TRUE;
  g_signal_connect_object (self->supervisor, "notify::running", G_CALLBACK (stopped_cb),
                           self, G_CONNECT_SWAPPED);
  cohort_supervisor_stop (self->supervisor);
  stopped_cb (self);
}

static gboolean
cohort_window_close_request (GtkWindow *window)
{
  CohortWindow *self = COHORT_WINDOW (window);
  AdwMessageDialog *dialog;

  if (self->closing || !cohort_supervisor_get_running (self->supervisor))
    return GTK_WINDOW_CLASS (cohort_window_parent_class)->close_request (window);

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (window, _("Stop the Workers?"),
    _("Closing Cohort stops every worker gracefully: the stop message, then the stop signal, then SIGKILL.")));
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "stop", _("_Stop and Close"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "stop", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect (dialog, "response", G_CALLBACK (close_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
  return TRUE;
}

/* Sampling slows down while nobody can see the graphs. */
static void
visible_cb (CohortWindow *self)
{
  cohort_sampler_set_watched (cohort_supervisor_get_sampler (self->supervisor),
                              gtk_widget_get_mapped (GTK_WIDGET (self)));
}

/* GObject */

static void
cohort_window_dispose (GObject *object)
{
  CohortWindow *self = (CohortWindow *) object;

  gtk_widget_dispose_template (GTK_WIDGET (self), COHORT_TYPE_WINDOW);
  g_clear_object (&self->supervisor);

  G_OBJECT_CLASS (cohort_window_parent_class)->dispose (object);
}

static void
cohort_window_class_init (CohortWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = cohort_window_dispose;
  window_class->close_request = cohort_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/cohort/Cohort/cohort-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CohortWindow, toasts);
  gtk_widget_class_bind_template_child (widget_class, CohortWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, CohortWindow, cluster_list);
  gtk_widget_class_bind_template_child (widget_class, CohortWindow, self_label);
  gtk_widget_class_bind_template_child (widget_class, CohortWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, CohortWindow, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, CohortWindow, banner_label);
  gtk_widget_class_bind_template_child (widget_class, CohortWindow, pages);

  gtk_widget_class_install_action (widget_class, "win.start-all", NULL, start_all_action);
  gtk_widget_class_install_action (widget_class, "win.stop-all", NULL, stop_all_action);
  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.show-sidebar", NULL, show_sidebar_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open", NULL);
}

static void
cohort_window_init (CohortWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_swapped (self->cluster_list, "row-selected", G_CALLBACK (row_selected_cb), self);
  g_signal_connect (self, "notify::visible", G_CALLBACK (visible_cb), NULL);
  g_signal_connect (self, "map", G_CALLBACK (visible_cb), NULL);
  g_signal_connect (self, "unmap", G_CALLBACK (visible_cb), NULL);
}

CohortWindow *
cohort_window_new (GtkApplication   *application,
                   CohortSupervisor *supervisor)
{
  CohortWindow *self;

  g_return_val_if_fail (COHORT_IS_SUPERVISOR (supervisor), NULL);

  self = g_object_new (COHORT_TYPE_WINDOW, "application", application, NULL);
  self->supervisor = g_object_ref (supervisor);
  g_signal_connect_object (cohort_supervisor_get_sampler (supervisor), "sampled", G_CALLBACK (sampled_cb),
                           self, G_CONNECT_SWAPPED);
  return self;
}
