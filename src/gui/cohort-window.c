/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-window.c: a sidebar of clusters (state, workers online of
 * desired) and a page per cluster; Start All / Stop All; the open profile
 * as a document (new, open, recent, save, save as, unsaved changes, the
 * question before a foreign profile starts); new, edit, duplicate and
 * delete cluster; closing the window asks about unsaved changes and
 * running workers, then stops them gracefully. */

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "cohort-application.h"
#include "cohort-cluster-editor.h"
#include "cohort-cluster-page.h"
#include "cohort-graph.h"
#include "cohort-overview-page.h"
#include "cohort-sparkline.h"
#include "cohort-trust.h"
#include "cohort-window.h"

struct _CohortWindow
{
  AdwApplicationWindow  parent_instance;

  CohortSupervisor     *supervisor;
  CohortProfile        *profile;         /* the open document; NULL before the first */
  gboolean              closing;
  gboolean              unsaved_checked; /* the close in progress asked already */
  guint                 destroy_source;
  guint                 page_serial;     /* names the stack's cluster pages */

  /* template */
  AdwToastOverlay      *toasts;
  AdwLeaflet           *leaflet;
  GtkListBox           *cluster_list;
  GtkLabel             *self_label;
  AdwWindowTitle       *window_title;
  GtkRevealer          *banner_revealer;
  GtkLabel             *banner_label;
  GtkStack             *pages;
  GMenu                *recent_menu;
  GtkWidget            *cluster_menu_button;
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

/* The page of @cluster, or NULL. */
static GtkWidget *
find_page (CohortWindow  *self,
           CohortCluster *cluster)
{
  for (GtkWidget *page = gtk_widget_get_first_child (GTK_WIDGET (self->pages));
       page != NULL;
       page = gtk_widget_get_next_sibling (page))
    if (COHORT_IS_CLUSTER_PAGE (page) && cohort_cluster_page_get_cluster (COHORT_CLUSTER_PAGE (page)) == cluster)
      return page;
  return NULL;
}

/* The cluster whose page is shown, or NULL. */
static CohortCluster *
current_cluster (CohortWindow *self)
{
  GtkWidget *page = gtk_stack_get_visible_child (self->pages);

  return COHORT_IS_CLUSTER_PAGE (page) ? cohort_cluster_page_get_cluster (COHORT_CLUSTER_PAGE (page)) : NULL;
}

static void
update_cluster_actions (CohortWindow *self)
{
  gboolean have = current_cluster (self) != NULL;
  gboolean editable = self->profile != NULL && cohort_profile_get_n_errors (self->profile) == 0;

  gtk_widget_set_visible (self->cluster_menu_button, have);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.edit-cluster", have && editable);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.duplicate-cluster", have && editable);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.delete-cluster", have && editable);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.new-cluster", editable);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save", editable);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save-as", editable);
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
  gtk_stack_set_visible_child (self->pages, find_page (self, cluster));
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
  update_cluster_actions (self);
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

/* Opening another profile failed: this one stays; why, in a dialog. */
void
cohort_window_show_open_error (CohortWindow  *self,
                               CohortProfile *profile,
                               const char    *path)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *base = g_filename_display_basename (path);
  g_autofree char *heading = g_strdup_printf (_("Could Not Open “%s”"), base);
  AdwMessageDialog *alert;

  g_return_if_fail (COHORT_IS_WINDOW (self));

  for (guint i = 0; i < cohort_profile_get_n_diagnostics (profile); i++)
    {
      g_autofree char *line =
        cohort_profile_format_diagnostic (profile, cohort_profile_get_diagnostic (profile, i));

      g_string_append_printf (text, "%s%s", text->len > 0 ? "\n" : "", line);
    }
  alert = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), heading,
                                                      text->len > 0 ? text->str : NULL));
  adw_message_dialog_add_response (alert, "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (alert));
}

/* Where a file is, as GNOME's editors show it: its folder, the home
 * folder written ~. */
static char *
display_folder (const char *path)
{
  g_autofree char *folder = g_path_get_dirname (path);
  const char *home = g_get_home_dir ();
  gsize n = home != NULL ? strlen (home) : 0;

  if (n > 1 && g_str_has_prefix (folder, home) && (folder[n] == '\0' || folder[n] == G_DIR_SEPARATOR))
    {
      g_autofree char *short_folder = g_strconcat ("~", folder + n, NULL);

      return g_filename_display_name (short_folder);
    }
  return g_filename_display_name (folder);
}

/* "• Name" while there are unsaved changes; its folder under it. */
static void
update_title (CohortWindow *self)
{
  const char *name = self->profile != NULL ? cohort_profile_get_name (self->profile) : NULL;
  const char *path = self->profile != NULL ? cohort_profile_get_path (self->profile) : NULL;
  g_autofree char *display = path != NULL ? display_folder (path) : NULL;
  g_autofree char *title = NULL;

  if (name == NULL || name[0] == '\0')
    name = _("Untitled Profile");
  title = self->profile != NULL && cohort_profile_get_modified (self->profile)
          ? g_strdup_printf ("• %s", name) : g_strdup (name);
  adw_window_title_set_title (self->window_title, title);
  adw_window_title_set_subtitle (self->window_title, display != NULL ? display : _("Not saved"));
  gtk_window_set_title (GTK_WINDOW (self), title);
}

/* Sidebar rows and pages follow the supervisor's clusters: a page per
 * cluster, kept while the cluster stays (its log and graphs with it). */
static void
sync_clusters (CohortWindow *self)
{
  GListModel *clusters = cohort_supervisor_get_clusters (self->supervisor);
  CohortSampler *sampler = cohort_supervisor_get_sampler (self->supervisor);
  g_autoptr(CohortCluster) selected = NULL;
  GtkListBoxRow *row = gtk_list_box_get_selected_row (self->cluster_list);
  gboolean overview_selected = row != NULL && g_object_get_data (G_OBJECT (row), "overview") != NULL;
  guint n = g_list_model_get_n_items (clusters);
  GtkWidget *child;
  GtkWidget *next;

  if (row != NULL && g_object_get_data (G_OBJECT (row), "cluster") != NULL)
    selected = g_object_ref (g_object_get_data (G_OBJECT (row), "cluster"));

  /* Pages of clusters that are gone go with them. */
  for (child = gtk_widget_get_first_child (GTK_WIDGET (self->pages)); child != NULL; child = next)
    {
      gboolean found = FALSE;

      next = gtk_widget_get_next_sibling (child);
      if (!COHORT_IS_CLUSTER_PAGE (child))
        continue;
      for (guint i = 0; i < n && !found; i++)
        {
          g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);

          found = cluster == cohort_cluster_page_get_cluster (COHORT_CLUSTER_PAGE (child));
        }
      if (!found)
        gtk_stack_remove (self->pages, child);
    }

  g_signal_handlers_block_by_func (self->cluster_list, row_selected_cb, self);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->cluster_list))) != NULL)
    gtk_list_box_remove (self->cluster_list, child);
  g_signal_handlers_unblock_by_func (self->cluster_list, row_selected_cb, self);

  if (gtk_stack_get_child_by_name (self->pages, "overview") == NULL)
    gtk_stack_add_named (self->pages, GTK_WIDGET (cohort_overview_page_new (self->supervisor)), "overview");
  if (n > 0)
    gtk_list_box_append (self->cluster_list, make_overview_row ());

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);

      if (find_page (self, cluster) == NULL)
        {
          g_autofree char *page_name = g_strdup_printf ("cluster-%u", ++self->page_serial);

          gtk_stack_add_named (self->pages, GTK_WIDGET (cohort_cluster_page_new (cluster, sampler)), page_name);
        }
      gtk_list_box_append (self->cluster_list, make_row (cluster, i));
    }

  /* The same selection if it is still there; else several clusters: the
   * overview first; one: that cluster. */
  if (selected != NULL && find_page (self, selected) != NULL)
    cohort_window_select_cluster (self, cohort_cluster_get_name (selected));
  else if (overview_selected && n > 0)
    gtk_list_box_select_row (self->cluster_list, gtk_list_box_get_row_at_index (self->cluster_list, 0));
  else if (n > 1)
    gtk_list_box_select_row (self->cluster_list, gtk_list_box_get_row_at_index (self->cluster_list, 0));
  else if (n == 1)
    gtk_list_box_select_row (self->cluster_list, gtk_list_box_get_row_at_index (self->cluster_list, 1));
  else
    gtk_stack_set_visible_child_name (self->pages, "empty");
  update_cluster_actions (self);
}

static void
clusters_changed_cb (CohortWindow *self)
{
  sync_clusters (self);
}

/**
 * cohort_window_show_profile:
 *
 * Makes @profile the window's document and shows the supervisor's
 * clusters (already loaded from it).
 */
void
cohort_window_show_profile (CohortWindow  *self,
                            CohortProfile *profile,
                            const char    *path)
{
  g_return_if_fail (COHORT_IS_WINDOW (self));
  g_return_if_fail (COHORT_IS_PROFILE (profile));

  if (self->profile != NULL)
    g_signal_handlers_disconnect_by_func (self->profile, update_title, self);
  g_set_object (&self->profile, profile);
  g_signal_connect_object (profile, "notify::modified", G_CALLBACK (update_title), self, G_CONNECT_SWAPPED);

  update_title (self);
  cohort_window_show_problems (self, profile);
  sync_clusters (self);
}

CohortProfile *
cohort_window_get_profile (CohortWindow *self)
{
  g_return_val_if_fail (COHORT_IS_WINDOW (self), NULL);
  return self->profile;
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

/* Trust: a profile that Cohort did not save here may run anything. Its
 * commands are shown, and nothing starts until the user says so. */

static void
trust_response_cb (AdwMessageDialog *dialog,
                   const char       *response,
                   CohortWindow     *self)
{
  if (!g_str_equal (response, "start") || self->profile == NULL)
    return;

  /* Asked once: the same file, unchanged, starts without asking again. */
  if (cohort_profile_get_path (self->profile) != NULL)
    {
      gsize length = 0;
      g_autofree char *data = cohort_profile_to_data (self->profile, &length);

      cohort_trust_remember (cohort_profile_get_path (self->profile), data, length);
    }
  if (cohort_supervisor_start (self->supervisor) > 0)
    adw_toast_overlay_add_toast (self->toasts, adw_toast_new (_("Some clusters could not start")));
}

/* What a profile runs, every cluster, for the question. */
static char *
describe_commands (CohortProfile *profile)
{
  GPtrArray *clusters = cohort_profile_get_clusters (profile);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < clusters->len; i++)
    {
      g_autofree char *description = cohort_cluster_spec_describe (g_ptr_array_index (clusters, i));

      g_string_append_printf (text, "%s%s", text->len > 0 ? "\n\n" : "", description);
    }
  return g_string_free (text, FALSE);
}

void
cohort_window_ask_trust (CohortWindow *self)
{
  AdwMessageDialog *dialog;
  GtkWidget *scroller;
  GtkWidget *label;
  g_autofree char *commands = NULL;
  g_autofree char *body = NULL;
  g_autofree char *base = NULL;

  g_return_if_fail (COHORT_IS_WINDOW (self));
  g_return_if_fail (self->profile != NULL);

  commands = describe_commands (self->profile);
  base = g_path_get_basename (cohort_profile_get_path (self->profile));
  body = g_strdup_printf (_("“%s” was not saved by Cohort on this computer. Starting it runs these commands "
                            "as you, with your files. Start it only if you trust where it came from."), base);
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), _("Start This Profile?"), body));

  label = gtk_label_new (commands);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_widget_add_css_class (label, "monospace");
  gtk_widget_add_css_class (label, "cohort-commands");
  scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scroller), 240);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), label);
  gtk_widget_add_css_class (scroller, "card");
  adw_message_dialog_set_extra_child (dialog, scroller);

  adw_message_dialog_add_responses (dialog, "keep", _("Open _Without Starting"), "start", _("_Start"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "start", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "keep");
  adw_message_dialog_set_close_response (dialog, "keep");
  g_signal_connect_object (dialog, "response", G_CALLBACK (trust_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Recent profiles, most recent first, as the application keeps them. */
void
cohort_window_update_recent (CohortWindow *self)
{
  CohortApplication *app = COHORT_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  g_auto(GStrv) recent = app != NULL ? cohort_application_dup_recent (app) : NULL;

  g_menu_remove_all (self->recent_menu);
  for (guint i = 0; recent != NULL && recent[i] != NULL; i++)
    {
      g_autofree char *base = g_path_get_basename (recent[i]);
      g_autofree char *label = g_filename_display_name (base);
      g_autoptr(GMenuItem) item = g_menu_item_new (label, NULL);

      g_menu_item_set_action_and_target_value (item, "win.open-recent", g_variant_new_bytestring (recent[i]));
      g_menu_append_item (self->recent_menu, item);
    }
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
show_error (CohortWindow *self,
            const char   *heading,
            const char   *message)
{
  AdwMessageDialog *alert = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), heading, message));

  adw_message_dialog_add_response (alert, "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (alert));
}

static CohortApplication *
get_app (CohortWindow *self)
{
  return COHORT_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
}

/* What to do once unsaved changes are saved or let go. */
typedef void (*Then) (CohortWindow *self,
                      const char   *path);

typedef struct
{
  CohortWindow *self;
  Then          then;
  char         *path;
} Pending;

static Pending *
pending_new (CohortWindow *self,
             Then          then,
             const char   *path)
{
  Pending *pending = g_new0 (Pending, 1);

  pending->self = g_object_ref (self);
  pending->then = then;
  pending->path = g_strdup (path);
  return pending;
}

static void
pending_free (Pending *pending)
{
  g_object_unref (pending->self);
  g_free (pending->path);
  g_free (pending);
}

static void
pending_run (Pending *pending)
{
  if (pending->then != NULL)
    pending->then (pending->self, pending->path);
  pending_free (pending);
}

/* A question with "cancel" and one action: cancelling is both the default
 * and what closing does. */
static AdwMessageDialog *
question_new (CohortWindow          *self,
              const char            *heading,
              const char            *body,
              const char            *action_id,
              const char            *action_label,
              AdwResponseAppearance  appearance)
{
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), heading, body));

  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), action_id, action_label, NULL);
  adw_message_dialog_set_response_appearance (dialog, action_id, appearance);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  return dialog;
}

static gboolean save_to (CohortWindow *self,
                         const char   *path);

/* The dialog holds what comes after the save (a close, an open). */
static void
overwrite_response_cb (AdwMessageDialog *dialog,
                       const char       *response,
                       gpointer          data)
{
  Pending *pending = g_object_steal_data (G_OBJECT (dialog), "pending");

  if (pending == NULL)
    return;
  if (g_str_equal (response, "overwrite") && pending->self->profile != NULL && save_to (pending->self, NULL))
    pending_run (pending);
  else
    pending_free (pending);
}

static void
ask_overwrite (CohortWindow *self,
               Then          then,
               const char   *then_path)
{
  g_autofree char *base = g_filename_display_basename (cohort_profile_get_path (self->profile));
  g_autofree char *heading = g_strdup_printf (_("“%s” Changed on Disk"), base);
  AdwMessageDialog *dialog =
    question_new (self, heading,
                  _("The file was changed by another program since Cohort opened "
                    "or saved it. Saving replaces those changes with the profile "
                    "as Cohort shows it."),
                  "overwrite", _("_Save Anyway"), ADW_RESPONSE_DESTRUCTIVE);

  g_object_set_data_full (G_OBJECT (dialog), "pending", pending_new (self, then, then_path),
                          (GDestroyNotify) pending_free);
  g_signal_connect (dialog, "response", G_CALLBACK (overwrite_response_cb), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

static gboolean
save_to (CohortWindow *self,
         const char   *path)
{
  g_autoptr(GError) error = NULL;

  if (!cohort_profile_save (self->profile, path, &error))
    {
      show_error (self, _("Could Not Save the Profile"), error->message);
      return FALSE;
    }
  cohort_application_add_recent (get_app (self), cohort_profile_get_path (self->profile));
  update_title (self);
  return TRUE;
}

static void
replace_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     gpointer          data)
{
  Pending *pending = g_object_steal_data (G_OBJECT (dialog), "pending");
  const char *path = g_object_get_data (G_OBJECT (dialog), "path");

  if (pending == NULL)
    return;
  if (g_str_equal (response, "replace") && pending->self->profile != NULL && save_to (pending->self, path))
    pending_run (pending);
  else
    pending_free (pending);
}

static void
save_as_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     Pending         *pending)
{
  CohortWindow *self = pending->self;
  g_autoptr(GFile) file = response == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog)) : NULL;
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

  g_object_unref (dialog);
  if (path != NULL && !g_str_has_suffix (path, ".cohort"))
    {
      char *with_suffix = g_strconcat (path, ".cohort", NULL);

      g_free (path);
      path = with_suffix;
      /* The chooser asked about the name typed, not this one. */
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_autofree char *base = g_filename_display_basename (path);
          g_autofree char *heading = g_strdup_printf (_("Replace “%s”?"), base);
          AdwMessageDialog *alert =
            question_new (self, heading,
                          _("A file with this name already exists. "
                            "Replacing it overwrites its contents."),
                          "replace", _("_Replace"), ADW_RESPONSE_DESTRUCTIVE);

          g_object_set_data_full (G_OBJECT (alert), "pending", pending, (GDestroyNotify) pending_free);
          g_object_set_data_full (G_OBJECT (alert), "path", g_steal_pointer (&path), g_free);
          g_signal_connect (alert, "response", G_CALLBACK (replace_response_cb), NULL);
          gtk_window_present (GTK_WINDOW (alert));
          return;
        }
    }
  if (path != NULL && self->profile != NULL && save_to (self, path))
    pending_run (pending);
  else
    pending_free (pending);
}

/* Save As, then @then; nothing when cancelled. */
static void
save_as (CohortWindow *self,
         Then          then,
         const char   *then_path)
{
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  const char *name = cohort_profile_get_name (self->profile);
  const char *path = cohort_profile_get_path (self->profile);
  g_autofree char *suggested = g_strdup_printf ("%s.cohort", name != NULL && name[0] != '\0' ? name : _("Untitled"));

  dialog = gtk_file_chooser_native_new (_("Save Profile"), GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_SAVE,
                                        _("_Save"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Cohort profiles"));
  gtk_file_filter_add_pattern (filter, "*.cohort");
  gtk_file_filter_add_mime_type (filter, "application/x-cohort-profile");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  if (path != NULL)
    {
      g_autoptr(GFile) file = g_file_new_for_path (path);

      gtk_file_chooser_set_file (GTK_FILE_CHOOSER (dialog), file, NULL);
    }
  else
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), suggested);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (save_as_response_cb), pending_new (self, then, then_path));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* Save (As, for a profile never saved), then @then. */
static void
save (CohortWindow *self,
      Then          then,
      const char   *then_path)
{
  if (cohort_profile_get_path (self->profile) == NULL)
    save_as (self, then, then_path);
  else if (cohort_profile_get_changed_on_disk (self->profile))
    /* Changed by someone else since it was opened or saved here. */
    ask_overwrite (self, then, then_path);
  else if (save_to (self, NULL) && then != NULL)
    then (self, then_path);
}

/* The dialog holds the pending step; the first response takes it. */
static void
unsaved_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     gpointer          data)
{
  Pending *pending = g_object_steal_data (G_OBJECT (dialog), "pending");

  if (pending == NULL)
    return;
  if (g_str_equal (response, "discard"))
    pending_run (pending);
  else if (g_str_equal (response, "save"))
    {
      save (pending->self, pending->then, pending->path);
      pending_free (pending);
    }
  else
    pending_free (pending);
}

/* Runs @then at once, or after asking what to do with unsaved changes. */
static void
confirm_unsaved (CohortWindow *self,
                 Then          then,
                 const char   *path)
{
  AdwMessageDialog *dialog;
  const char *name;
  g_autofree char *body = NULL;

  if (self->profile == NULL || !cohort_profile_get_modified (self->profile))
    {
      then (self, path);
      return;
    }

  name = cohort_profile_get_name (self->profile);
  body = g_strdup_printf (_("“%s” has changes that are not saved. Changes which are not saved will be lost."),
                          name != NULL && name[0] != '\0' ? name : _("Untitled Profile"));
  dialog = question_new (self, _("Save Changes?"), body, "discard", _("_Discard"), ADW_RESPONSE_DESTRUCTIVE);
  /* The one question with a third answer, and the one that defaults to it. */
  adw_message_dialog_add_response (dialog, "save", _("_Save"));
  adw_message_dialog_set_response_appearance (dialog, "save", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "save");
  g_object_set_data_full (G_OBJECT (dialog), "pending", pending_new (self, then, path), (GDestroyNotify) pending_free);
  g_signal_connect (dialog, "response", G_CALLBACK (unsaved_response_cb), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Another profile replaces this one only once its workers are stopped. */
static gboolean
refuse_while_running (CohortWindow *self)
{
  if (!cohort_supervisor_get_running (self->supervisor))
    return FALSE;
  adw_toast_overlay_add_toast (self->toasts,
                               adw_toast_new (_("Stop the running clusters before opening another profile")));
  return TRUE;
}

static void
open_path (CohortWindow *self,
           const char   *path)
{
  if (!refuse_while_running (self))
    cohort_application_open_profile (get_app (self), path);
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
        confirm_unsaved (self, open_path, path);
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

  if (refuse_while_running (self))
    return;
  dialog = gtk_file_chooser_native_new (_("Open Profile"), GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_OPEN,
                                        _("_Open"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Cohort profiles"));
  gtk_file_filter_add_pattern (filter, "*.cohort");
  gtk_file_filter_add_mime_type (filter, "application/x-cohort-profile");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (open_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
open_recent_action (GtkWidget  *widget,
                    const char *name,
                    GVariant   *param)
{
  CohortWindow *self = COHORT_WINDOW (widget);

  if (!refuse_while_running (self))
    confirm_unsaved (self, open_path, g_variant_get_bytestring (param));
}

static void
new_profile (CohortWindow *self,
             const char   *unused)
{
  if (!refuse_while_running (self))
    cohort_application_new_profile (get_app (self));
}

static void
new_profile_action (GtkWidget  *widget,
                    const char *name,
                    GVariant   *param)
{
  CohortWindow *self = COHORT_WINDOW (widget);

  if (!refuse_while_running (self))
    confirm_unsaved (self, new_profile, NULL);
}

static void
save_action (GtkWidget  *widget,
             const char *name,
             GVariant   *param)
{
  CohortWindow *self = COHORT_WINDOW (widget);

  if (self->profile != NULL)
    save (self, NULL, NULL);
}

static void
save_as_action (GtkWidget  *widget,
                const char *name,
                GVariant   *param)
{
  CohortWindow *self = COHORT_WINDOW (widget);

  if (self->profile != NULL)
    save_as (self, NULL, NULL);
}

/* Clusters: new, edit, duplicate, delete. The profile changes first (its
 * text, as saving will write it), then the running clusters; if they
 * refuse (a port in use), the profile goes back. */

static GStrv
taken_names (CohortWindow *self)
{
  GListModel *clusters = cohort_supervisor_get_clusters (self->supervisor);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < g_list_model_get_n_items (clusters); i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);

      g_strv_builder_add (builder, cohort_cluster_get_name (cluster));
    }
  return g_strv_builder_end (builder);
}

static CohortClusterSpec *
profile_spec (CohortWindow *self,
              const char   *name)
{
  GPtrArray *clusters = cohort_profile_get_clusters (self->profile);

  for (guint i = 0; i < clusters->len; i++)
    {
      CohortClusterSpec *spec = g_ptr_array_index (clusters, i);

      if (g_str_equal (spec->name, name))
        return spec;
    }
  return NULL;
}

static void
editor_apply_cb (CohortClusterEditor *editor,
                 CohortClusterSpec   *spec,
                 const char          *old_name,
                 CohortWindow        *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  gsize before_length = 0;
  gboolean was_modified;
  gboolean applied;

  if (self->profile == NULL)
    return;
  before = cohort_profile_to_data (self->profile, &before_length);
  was_modified = cohort_profile_get_modified (self->profile);

  /* Problems show in the dialog, which stays open with the edit. */
  if (!cohort_profile_put_cluster (self->profile, old_name, spec, &error))
    {
      cohort_cluster_editor_set_apply_error (editor, error->message);
      return;
    }

  if (old_name == NULL)
    applied = cohort_supervisor_add_cluster (self->supervisor, spec, &error) != NULL;
  else
    applied = cohort_supervisor_replace_cluster (self->supervisor, old_name, spec, &error);
  if (!applied)
    {
      /* The running clusters did not change: the profile goes back to
       * the very text it had, unsaved changes and all. */
      cohort_profile_restore (self->profile, before, before_length, was_modified, NULL);
      cohort_cluster_editor_set_apply_error (editor, error->message);
      return;
    }

  /* The editor closes itself once this returns without an error. */
  sync_clusters (self);
  cohort_window_select_cluster (self, spec->name);
}

static void
open_editor (CohortWindow      *self,
             CohortClusterSpec *spec,
             CohortCluster     *cluster)
{
  const char *path = cohort_profile_get_path (self->profile);
  g_autofree char *base_dir = path != NULL ? g_path_get_dirname (path) : g_get_current_dir ();
  /* Every name: the editor tells an edit from a new cluster by finding
   * the spec's own name among them. */
  g_auto(GStrv) taken = taken_names (self);
  CohortClusterEditor *editor;

  editor = cohort_cluster_editor_new (GTK_WINDOW (self), spec, cluster, base_dir, (const char * const *) taken);
  g_signal_connect_object (editor, "apply", G_CALLBACK (editor_apply_cb), self, 0);
  gtk_window_present (GTK_WINDOW (editor));
}

static void
new_cluster_action (GtkWidget  *widget,
                    const char *name,
                    GVariant   *param)
{
  CohortWindow *self = COHORT_WINDOW (widget);

  if (self->profile != NULL)
    open_editor (self, NULL, NULL);
}

static void
edit_cluster_action (GtkWidget  *widget,
                     const char *name,
                     GVariant   *param)
{
  CohortWindow *self = COHORT_WINDOW (widget);
  CohortCluster *cluster = current_cluster (self);
  CohortClusterSpec *spec = cluster != NULL ? profile_spec (self, cohort_cluster_get_name (cluster)) : NULL;

  if (spec != NULL)
    open_editor (self, spec, cluster);
}

static void
duplicate_cluster_action (GtkWidget  *widget,
                          const char *name,
                          GVariant   *param)
{
  CohortWindow *self = COHORT_WINDOW (widget);
  CohortCluster *cluster = current_cluster (self);
  CohortClusterSpec *spec = cluster != NULL ? profile_spec (self, cohort_cluster_get_name (cluster)) : NULL;
  g_autoptr(CohortClusterSpec) copy = NULL;
  g_auto(GStrv) taken = NULL;

  if (spec == NULL)
    return;
  /* A copy under a new name, in the editor: a shared port, say, wants
   * changing before it runs beside the original. */
  taken = taken_names (self);
  copy = cohort_cluster_spec_copy (spec);
  g_free (copy->name);
  copy->name = cohort_cluster_editor_unique_name (spec->name, (const char * const *) taken);
  open_editor (self, copy, NULL);
}

static void
delete_response_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    CohortWindow     *self)
{
  const char *name = g_object_get_data (G_OBJECT (dialog), "cluster-name");
  g_autoptr(GError) error = NULL;

  if (!g_str_equal (response, "delete") || self->profile == NULL)
    return;
  if (!cohort_supervisor_remove_cluster (self->supervisor, name, &error))
    {
      show_error (self, _("Could Not Delete the Cluster"), error->message);
      return;
    }
  cohort_profile_remove_cluster (self->profile, name);
  sync_clusters (self);
}

static void
delete_cluster_action (GtkWidget  *widget,
                       const char *name,
                       GVariant   *param)
{
  CohortWindow *self = COHORT_WINDOW (widget);
  CohortCluster *cluster = current_cluster (self);
  AdwMessageDialog *dialog;
  g_autofree char *heading = NULL;

  if (cluster == NULL)
    return;
  heading = g_strdup_printf (_("Delete “%s”?"), cohort_cluster_get_name (cluster));
  dialog = question_new (self, heading,
                         _("Its workers are stopped gracefully and the cluster is removed from the profile. "
                           "The file changes when the profile is saved."),
                         "delete", _("_Delete"), ADW_RESPONSE_DESTRUCTIVE);
  g_object_set_data_full (G_OBJECT (dialog), "cluster-name", g_strdup (cohort_cluster_get_name (cluster)), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (delete_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Closing with workers running asks, then stops them gracefully. */

static gboolean
destroy_cb (gpointer data)
{
  CohortWindow *self = data;

  self->destroy_source = 0;
  gtk_window_destroy (GTK_WINDOW (self));
  return G_SOURCE_REMOVE;
}

static void
stopped_cb (CohortWindow *self)
{
  /* Never inside the emission that got here (the dialog's response, the
   * supervisor's notify): the window goes once they have returned. */
  if (self->closing && self->destroy_source == 0 && !cohort_supervisor_get_running (self->supervisor))
    self->destroy_source = g_idle_add_full (G_PRIORITY_DEFAULT, destroy_cb, g_object_ref (self), g_object_unref);
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
close_cb (gpointer data)
{
  gtk_window_close (GTK_WINDOW (data));
  return G_SOURCE_REMOVE;
}

/* Not inside the question's response: the window may go at once, and the
 * dialog still needs its parent while its emission runs. */
static void
close_after_save (CohortWindow *self,
                  const char   *unused)
{
  self->unsaved_checked = TRUE;
  g_idle_add_full (G_PRIORITY_DEFAULT, close_cb, g_object_ref (self), g_object_unref);
}

static gboolean
cohort_window_close_request (GtkWindow *window)
{
  CohortWindow *self = COHORT_WINDOW (window);
  AdwMessageDialog *dialog;

  /* Unsaved changes first, then running workers. */
  if (!self->closing && !self->unsaved_checked
      && self->profile != NULL && cohort_profile_get_modified (self->profile))
    {
      confirm_unsaved (self, close_after_save, NULL);
      return TRUE;
    }
  self->unsaved_checked = FALSE;

  if (self->closing || !cohort_supervisor_get_running (self->supervisor))
    return GTK_WINDOW_CLASS (cohort_window_parent_class)->close_request (window);

  dialog = question_new (self, _("Stop the Workers?"),
                         _("Closing Cohort stops every worker gracefully: the stop message, then the stop signal, "
                           "then SIGKILL."),
                         "stop", _("_Stop and Close"), ADW_RESPONSE_DESTRUCTIVE);
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

  g_clear_handle_id (&self->destroy_source, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), COHORT_TYPE_WINDOW);
  g_clear_object (&self->profile);
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
  gtk_widget_class_bind_template_child (widget_class, CohortWindow, recent_menu);
  gtk_widget_class_bind_template_child (widget_class, CohortWindow, cluster_menu_button);

  gtk_widget_class_install_action (widget_class, "win.start-all", NULL, start_all_action);
  gtk_widget_class_install_action (widget_class, "win.stop-all", NULL, stop_all_action);
  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "ay", open_recent_action);
  gtk_widget_class_install_action (widget_class, "win.new-profile", NULL, new_profile_action);
  gtk_widget_class_install_action (widget_class, "win.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "win.save-as", NULL, save_as_action);
  gtk_widget_class_install_action (widget_class, "win.new-cluster", NULL, new_cluster_action);
  gtk_widget_class_install_action (widget_class, "win.edit-cluster", NULL, edit_cluster_action);
  gtk_widget_class_install_action (widget_class, "win.duplicate-cluster", NULL, duplicate_cluster_action);
  gtk_widget_class_install_action (widget_class, "win.delete-cluster", NULL, delete_cluster_action);
  gtk_widget_class_install_action (widget_class, "win.show-sidebar", NULL, show_sidebar_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "win.save", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.save-as", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "win.new-cluster", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.new-profile", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "win.edit-cluster", NULL);
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
  g_signal_connect_object (cohort_supervisor_get_clusters (supervisor), "items-changed",
                           G_CALLBACK (clusters_changed_cb), self, G_CONNECT_SWAPPED);
  update_cluster_actions (self);
  cohort_window_update_recent (self);
  return self;
}
