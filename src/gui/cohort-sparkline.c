/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-sparkline.c: the last minute of a series as a tiny line with a
 * faint fill, for a sidebar row: no text, no grid, one cairo node.
 *
 * Like the graph, it is redrawn when a sample arrives
 * (cohort_sparkline_queue_update), never on a timer, and not at all while
 * unmapped; the time axis ends at the newest sample. The scale is at least
 * 100 (one busy core fills it), so an idle cluster stays a flat line
 * instead of magnifying its noise. */

#include "config.h"

#include <math.h>

#include <glib/gi18n.h>

#include "cohort-sparkline.h"

#define WIDTH       48
#define HEIGHT      16
#define SPAN_S      60
#define MIN_CEILING 100.0
#define LINE_WIDTH  1.5
#define FILL_ALPHA  0.2

struct _CohortSparkline
{
  GtkWidget     parent_instance;

  CohortSeries *series;
  GdkRGBA       color;
  gboolean      has_color;     /* else the accent colour */
  char         *label;         /* the accessible label last set */
};

G_DEFINE_FINAL_TYPE (CohortSparkline, cohort_sparkline, GTK_TYPE_WIDGET)

typedef struct
{
  double x;
  double y;   /* NAN: a gap */
} Point;

typedef struct
{
  GArray *points;
  gint64  last;
  double  width;
  double  top;
  double  bottom;
  double  ceiling;
} Collect;

static void
collect_cb (gint64   time_usec,
            double   value,
            gpointer user_data)
{
  Collect *c = user_data;
  Point p;

  p.x = c->width * (1.0 - (double) (c->last - time_usec) / (SPAN_S * G_USEC_PER_SEC));
  p.y = isnan (value) ? NAN
                      : c->bottom - CLAMP (value / c->ceiling, 0.0, 1.0) * (c->bottom - c->top);
  g_array_append_val (c->points, p);
}

static void
get_line_color (CohortSparkline *self,
                GdkRGBA         *color)
{
  GtkStyleContext *context;

  if (self->has_color)
    {
      *color = self->color;
      return;
    }
  /* No accent colour API before libadwaita 1.6; the stylesheet's named
   * colour, else the text colour. */
  context = gtk_widget_get_style_context (GTK_WIDGET (self));
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (!gtk_style_context_lookup_color (context, "accent_color", color))
    gtk_style_context_get_color (context, color);
  G_GNUC_END_IGNORE_DEPRECATIONS
}

/* Every run of samples without a gap, as a sub-path; @closed drops each
 * to the baseline and back, for the fill. */
static void
trace (cairo_t     *cr,
       GArray      *points,
       double       bottom,
       gboolean     closed)
{
  guint i = 0;

  while (i < points->len)
    {
      const Point *first;
      guint end;

      if (isnan (g_array_index (points, Point, i).y))
        {
          i++;
          continue;
        }
      first = &g_array_index (points, Point, i);
      for (end = i + 1; end < points->len && !isnan (g_array_index (points, Point, end).y); end++)
        ;

      if (closed)
        {
          const Point *last = &g_array_index (points, Point, end - 1);

          cairo_move_to (cr, first->x, bottom);
          for (guint j = i; j < end; j++)
            cairo_line_to (cr, g_array_index (points, Point, j).x, g_array_index (points, Point, j).y);
          cairo_line_to (cr, last->x, bottom);
          cairo_close_path (cr);
        }
      else
        {
          cairo_move_to (cr, first->x, first->y);
          /* A lone sample still shows, as a dot (round caps). */
          if (end == i + 1)
            cairo_line_to (cr, first->x, first->y);
          for (guint j = i + 1; j < end; j++)
            cairo_line_to (cr, g_array_index (points, Point, j).x, g_array_index (points, Point, j).y);
        }
      i = end;
    }
}

static void
cohort_sparkline_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  CohortSparkline *self = COHORT_SPARKLINE (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr(GArray) points = NULL;
  Collect c;
  double max = 0.0;
  GdkRGBA color;
  cairo_t *cr;

  if (width <= 0 || height <= 0 || self->series == NULL || cohort_series_get_length (self->series) == 0)
    return;

  c.last = cohort_series_get_last_time (self->series);
  if (!cohort_series_get_range (self->series, c.last - SPAN_S * G_USEC_PER_SEC, NULL, &max))
    return;

  points = g_array_new (FALSE, FALSE, sizeof (Point));
  c.points = points;
  c.width = width;
  /* Half the line's width inside at the top and bottom: a full core and
   * an idle one both stay in view. */
  c.top = LINE_WIDTH / 2.0;
  c.bottom = height - LINE_WIDTH / 2.0;
  c.ceiling = MAX (MIN_CEILING, max);
  /* From a little before the minute, so the line reaches the left edge;
   * the node's bounds clip the rest. */
  cohort_series_foreach (self->series, c.last - (SPAN_S + 10) * G_USEC_PER_SEC, collect_cb, &c);

  get_line_color (self, &color);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));

  trace (cr, points, height, TRUE);
  cairo_set_source_rgba (cr, color.red, color.green, color.blue, color.alpha * FILL_ALPHA);
  cairo_fill (cr);

  trace (cr, points, height, FALSE);
  cairo_set_line_width (cr, LINE_WIDTH);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  gdk_cairo_set_source_rgba (cr, &color);
  cairo_stroke (cr);

  cairo_destroy (cr);
}

static void
cohort_sparkline_measure (GtkWidget      *widget,
                          GtkOrientation  orientation,
                          int             for_size,
                          int            *minimum,
                          int            *natural,
                          int            *minimum_baseline,
                          int            *natural_baseline)
{
  *minimum = *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? WIDTH : HEIGHT;
}

/* "CPU 42 %": what a screen reader says instead of the picture. */
static void
update_label (CohortSparkline *self)
{
  double last = self->series != NULL ? cohort_series_get_last (self->series) : NAN;
  g_autofree char *label = isnan (last) ? g_strdup (_("CPU: no data"))
                                        : g_strdup_printf (_("CPU %.0f %%"), last);

  if (g_strcmp0 (label, self->label) == 0)
    return;
  g_free (self->label);
  self->label = g_steal_pointer (&label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, self->label, -1);
}

static void
cohort_sparkline_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (cohort_sparkline_parent_class)->map (widget);
  update_label (COHORT_SPARKLINE (widget));
}

static void
cohort_sparkline_css_changed (GtkWidget         *widget,
                              GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (cohort_sparkline_parent_class)->css_changed (widget, change);
  /* The accent colour follows the style (dark, high contrast). */
  if (!COHORT_SPARKLINE (widget)->has_color)
    gtk_widget_queue_draw (widget);
}

static void
cohort_sparkline_finalize (GObject *object)
{
  CohortSparkline *self = (CohortSparkline *) object;

  g_clear_pointer (&self->series, cohort_series_unref);
  g_free (self->label);

  G_OBJECT_CLASS (cohort_sparkline_parent_class)->finalize (object);
}

static void
cohort_sparkline_class_init (CohortSparklineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = cohort_sparkline_finalize;
  widget_class->snapshot = cohort_sparkline_snapshot;
  widget_class->measure = cohort_sparkline_measure;
  widget_class->map = cohort_sparkline_map;
  widget_class->css_changed = cohort_sparkline_css_changed;

  gtk_widget_class_set_css_name (widget_class, "sparkline");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
cohort_sparkline_init (CohortSparkline *self)
{
  gtk_widget_set_valign (GTK_WIDGET (self), GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), _("CPU over the last minute"));
  update_label (self);
}

GtkWidget *
cohort_sparkline_new (void)
{
  return g_object_new (COHORT_TYPE_SPARKLINE, NULL);
}

/* Returns: (transfer none) (nullable) */
CohortSeries *
cohort_sparkline_get_series (CohortSparkline *self)
{
  g_return_val_if_fail (COHORT_IS_SPARKLINE (self), NULL);
  return self->series;
}

/* @series: (nullable): percent of one core */
void
cohort_sparkline_set_series (CohortSparkline *self,
                             CohortSeries    *series)
{
  g_return_if_fail (COHORT_IS_SPARKLINE (self));

  if (series == self->series)
    return;
  if (series != NULL)
    cohort_series_ref (series);
  g_clear_pointer (&self->series, cohort_series_unref);
  self->series = series;
  update_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* @color: (nullable): the line's colour; %NULL for the accent colour */
void
cohort_sparkline_set_color (CohortSparkline *self,
                            const GdkRGBA   *color)
{
  g_return_if_fail (COHORT_IS_SPARKLINE (self));

  if (color == NULL ? !self->has_color : self->has_color && gdk_rgba_equal (color, &self->color))
    return;
  self->has_color = color != NULL;
  if (color != NULL)
    self->color = *color;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Call when a sample arrived. A hidden sparkline costs nothing: GTK draws
 * it anyway when it is mapped again. */
void
cohort_sparkline_queue_update (CohortSparkline *self)
{
  g_return_if_fail (COHORT_IS_SPARKLINE (self));

  if (!gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  update_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
