/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-overview-page.c: the totals of every cluster side by side (CPU,
 * memory, messages per second, one colour per cluster), and Cohort's own
 * CPU, memory and main-loop lag, so a user sees at once where the load is
 * and that Cohort is never the one blocking. */

#include "config.h"

#include <glib/gi18n.h>

#include "cohort-graph.h"
#include "cohort-overview-page.h"

struct _CohortOverviewPage
{
  GtkWidget         parent_instance;

  CohortSupervisor *supervisor;
  GtkWidget        *scroller;
  CohortGraph      *cpu;
  CohortGraph      *memory;
  CohortGraph      *messages;
  CohortGraph      *self_cpu;
  CohortGraph      *lag;
};

G_DEFINE_FINAL_TYPE (CohortOverviewPage, cohort_overview_page, GTK_TYPE_WIDGET)

static void
sampled_cb (CohortOverviewPage *self)
{
  CohortSampler *sampler = cohort_supervisor_get_sampler (self->supervisor);
  GListModel *clusters = cohort_supervisor_get_clusters (self->supervisor);
  GdkRGBA color;

  for (guint i = 0; i < g_list_model_get_n_items (clusters); i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);
      const char *name = cohort_cluster_get_name (cluster);
      CohortSeries *series;

      cohort_graph_color_for_index (i, &color);
      if ((series = cohort_sampler_get_cluster_series (sampler, name, COHORT_METRIC_CPU)) != NULL)
        cohort_graph_set_line (self->cpu, name, series, &color, name);
      if ((series = cohort_sampler_get_cluster_series (sampler, name, COHORT_METRIC_RSS)) != NULL)
        cohort_graph_set_line (self->memory, name, series, &color, name);
      if ((series = cohort_sampler_get_cluster_series (sampler, name, COHORT_METRIC_MESSAGES_IN)) != NULL)
        cohort_graph_set_line (self->messages, name, series, &color, name);
    }

  gdk_rgba_parse (&color, "#77767b");
  cohort_graph_set_line (self->self_cpu, "cpu", cohort_sampler_get_self_series (sampler, COHORT_SELF_CPU),
                         &color, _("Cohort"));
  cohort_graph_set_line (self->lag, "lag", cohort_sampler_get_self_series (sampler, COHORT_SELF_LAG),
                         &color, _("main-loop lag"));

  cohort_graph_queue_update (self->cpu);
  cohort_graph_queue_update (self->memory);
  cohort_graph_queue_update (self->messages);
  cohort_graph_queue_update (self->self_cpu);
  cohort_graph_queue_update (self->lag);
}

static CohortGraph *
add_graph (GtkBox          *box,
           const char      *title,
           CohortGraphUnit  unit)
{
  CohortGraph *graph = g_object_new (COHORT_TYPE_GRAPH, "title", title, "unit", unit, "span", 300, NULL);

  gtk_box_append (box, GTK_WIDGET (graph));
  return graph;
}

static GtkWidget *
heading (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "heading");
  return label;
}

static void
cohort_overview_page_dispose (GObject *object)
{
  CohortOverviewPage *self = (CohortOverviewPage *) object;

  g_clear_pointer (&self->scroller, gtk_widget_unparent);
  g_clear_object (&self->supervisor);

  G_OBJECT_CLASS (cohort_overview_page_parent_class)->dispose (object);
}

static void
cohort_overview_page_class_init (CohortOverviewPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cohort_overview_page_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
cohort_overview_page_init (CohortOverviewPage *self)
{
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *title = gtk_label_new (_("Overview"));

  self->scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (self->scroller), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_parent (self->scroller, GTK_WIDGET (self));
  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 1600);
  adw_clamp_set_tightening_threshold (ADW_CLAMP (clamp), 1200);
  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 24);
  gtk_widget_set_margin_start (box, 24);
  gtk_widget_set_margin_end (box, 24);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_widget_add_css_class (title, "title-1");
  gtk_box_append (GTK_BOX (box), title);

  gtk_box_append (GTK_BOX (box), heading (_("Clusters")));
  self->cpu = add_graph (GTK_BOX (box), _("CPU"), COHORT_GRAPH_UNIT_PERCENT);
  self->memory = add_graph (GTK_BOX (box), _("Memory"), COHORT_GRAPH_UNIT_BYTES);
  self->messages = add_graph (GTK_BOX (box), _("Messages received"), COHORT_GRAPH_UNIT_RATE);
  gtk_box_append (GTK_BOX (box), heading (_("Cohort itself")));
  self->self_cpu = add_graph (GTK_BOX (box), _("CPU (without its thread clusters' tasks)"), COHORT_GRAPH_UNIT_PERCENT);
  self->lag = add_graph (GTK_BOX (box), _("Main-loop lag, ms (how late a timer fires)"), COHORT_GRAPH_UNIT_NUMBER);

  adw_clamp_set_child (ADW_CLAMP (clamp), box);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scroller), clamp);
}

CohortOverviewPage *
cohort_overview_page_new (CohortSupervisor *supervisor)
{
  CohortOverviewPage *self;

  g_return_val_if_fail (COHORT_IS_SUPERVISOR (supervisor), NULL);

  self = g_object_new (COHORT_TYPE_OVERVIEW_PAGE, NULL);
  self->supervisor = g_object_ref (supervisor);
  g_signal_connect_object (cohort_supervisor_get_sampler (supervisor), "sampled", G_CALLBACK (sampled_cb),
                           self, G_CONNECT_SWAPPED);
  sampled_cb (self);
  return self;
}
