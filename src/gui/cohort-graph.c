/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-graph.c: a live line graph drawn in snapshot.
 *
 * Redrawn when a sample arrives (cohort_graph_queue_update), never on a
 * timer, and not at all while unmapped. The x axis ends at the newest
 * sample rather than at the wall clock, so the picture only moves when
 * there is something new to show. Everything that depends only on the size,
 * the scale and the style (background, grid, axis labels, title) is kept as
 * one render node and reused between samples; per frame we only add the
 * markers, the legend and one cairo node holding every line. */

#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "cohort-graph.h"
#include "cohort-polyline.h"

#define MIN_WIDTH      200
#define MIN_HEIGHT     120
#define NAT_WIDTH      400
#define NAT_HEIGHT     160
#define GRID_ROWS      4      /* five horizontal lines */
#define LEGEND_MAX     8
#define LINE_WIDTH     1.5
#define MARKER_STRIP   12.0   /* between the title row and the plot */
#define LABEL_GAP      6.0
#define TICK_MIN_PX    90.0
#define MARKER_SNAP_PX 6.0
#define SWATCH_WIDTH   14.0
#define SWATCH_HEIGHT  3.0

G_DEFINE_ENUM_TYPE (CohortGraphUnit, cohort_graph_unit,
  G_DEFINE_ENUM_VALUE (COHORT_GRAPH_UNIT_NUMBER, "number"),
  G_DEFINE_ENUM_VALUE (COHORT_GRAPH_UNIT_PERCENT, "percent"),
  G_DEFINE_ENUM_VALUE (COHORT_GRAPH_UNIT_BYTES, "bytes"),
  G_DEFINE_ENUM_VALUE (COHORT_GRAPH_UNIT_RATE, "rate"),
  G_DEFINE_ENUM_VALUE (COHORT_GRAPH_UNIT_DURATION, "duration"))

G_DEFINE_BOXED_TYPE (CohortGraphMarker, cohort_graph_marker,
                     cohort_graph_marker_copy, cohort_graph_marker_free)

typedef struct
{
  char         *key;
  char         *label;
  CohortSeries *series;
  CohortTrace  *trace;    /* the series thinned and its maximum, kept */
  GdkRGBA       color;
  gboolean      dashed;
} Line;

typedef enum
{
  TEXT_SMALL,
  TEXT_TITLE,
} TextStyle;

struct _CohortGraph
{
  GtkWidget             parent_instance;

  char                 *title;
  CohortGraphUnit       unit;
  guint                 span;
  double                fixed_max;

  GPtrArray            *lines;           /* of Line, in legend order */
  GPtrArray            *markers;         /* of CohortGraphMarker, our copies */

  /* The static part and what it was built for. The plot rectangle and the
   * title width are laid out with it and reused by the frame and hover. */
  GskRenderNode        *background;
  int                   background_width;
  int                   background_height;
  double                background_ceiling;
  GdkRGBA               background_fg;
  PangoFontDescription *background_font;
  graphene_rect_t       plot;
  double                header_height;
  double                title_width;

  /* All but the hover, drawn into a surface once per change of data,
   * span, size, style or scale, and reused by every other frame. */
  cairo_surface_t      *surface;
  cairo_surface_t      *static_surface;  /* the background and the legend */
  guint                 static_generation;
  guint                 lines_generation; /* bumped when the set of lines changes */
  GskRenderNode        *surface_node;    /* showing it, as the renderer wants it */
  gint64                drawn_now;
  double                drawn_ceiling;
  int                   drawn_scale;
  guint                 drawn_serial;    /* of the data the surface shows */
  guint                 serial;          /* bumped whenever lines, markers or data change */

  /* Hover. hover_time is the sample time under the pointer, 0 if none. */
  gboolean              pointer_inside;
  double                pointer_x;
  double                pointer_y;
  gint64                hover_time;
  int                   hover_marker;    /* index into markers, -1 if none */
  gboolean              hover_stale;     /* lines or markers changed under it */
  char                 *tooltip;
};

G_DEFINE_FINAL_TYPE (CohortGraph, cohort_graph, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TITLE,
  PROP_UNIT,
  PROP_SPAN,
  PROP_FIXED_MAX,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* GNOME's palette, the 3 shades mostly: bright enough on a dark
 * background, dark enough on a light one, and told apart by hue first. */
static const char * const palette[] = {
  "#3584e4", /* blue */
  "#2ec27e", /* green */
  "#ff7800", /* orange */
  "#9141ac", /* purple */
  "#e01b24", /* red */
  "#e5a50a", /* yellow */
  "#2190a4", /* teal */
  "#d56199", /* pink */
  "#986a44", /* brown */
  "#6f8396", /* slate */
};

void
cohort_graph_color_for_index (guint    index,
                              GdkRGBA *out)
{
  g_return_if_fail (out != NULL);

  gdk_rgba_parse (out, palette[index % G_N_ELEMENTS (palette)]);
}

CohortGraphMarker *
cohort_graph_marker_new (gint64         time_usec,
                         const char    *kind,
                         const char    *text,
                         const GdkRGBA *color)
{
  CohortGraphMarker *marker = g_new0 (CohortGraphMarker, 1);

  marker->time_usec = time_usec;
  marker->kind = g_strdup (kind);
  marker->text = g_strdup (text);
  if (color != NULL)
    marker->color = *color;
  return marker;
}

CohortGraphMarker *
cohort_graph_marker_copy (const CohortGraphMarker *marker)
{
  g_return_val_if_fail (marker != NULL, NULL);

  return cohort_graph_marker_new (marker->time_usec, marker->kind,
                                  marker->text, &marker->color);
}

void
cohort_graph_marker_free (CohortGraphMarker *marker)
{
  if (marker == NULL)
    return;

  g_free (marker->kind);
  g_free (marker->text);
  g_free (marker);
}

/* g_set_str() is GLib 2.76. */
static gboolean
set_str (char       **dest,
         const char  *value)
{
  if (g_strcmp0 (*dest, value) == 0)
    return FALSE;

  g_free (*dest);
  *dest = g_strdup (value);
  return TRUE;
}

static void
line_free (gpointer data)
{
  Line *line = data;

  g_free (line->key);
  g_free (line->label);
  g_clear_pointer (&line->series, cohort_series_unref);
  cohort_trace_free (line->trace);
  g_free (line);
}

/* Value formatting ------------------------------------------------------ */

/* The divisor and suffix for values around @magnitude: binary prefixes
 * for bytes, SI ones for counts and rates, ms/µs for durations. */
static void
pick_suffix (CohortGraphUnit   unit,
             double            magnitude,
             double           *divisor,
             const char      **suffix,
             const char      **separator)
{
  static const char * const binary[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
  static const char * const rate[] = { "/s", "k/s", "M/s", "G/s", "T/s" };
  static const char * const number[] = { "", "k", "M", "G", "T" };
  guint i = 0;

  magnitude = fabs (magnitude);
  *divisor = 1.0;
  *separator = "";

  switch (unit)
    {
    case COHORT_GRAPH_UNIT_PERCENT:
      *suffix = "%";
      *separator = " ";
      break;

    case COHORT_GRAPH_UNIT_BYTES:
      for (i = 0; i + 1 < G_N_ELEMENTS (binary) && magnitude >= 1024.0; i++)
        {
          magnitude /= 1024.0;
          *divisor *= 1024.0;
        }
      *suffix = binary[i];
      *separator = " ";
      break;

    case COHORT_GRAPH_UNIT_RATE:
    case COHORT_GRAPH_UNIT_NUMBER:
      for (i = 0; i + 1 < G_N_ELEMENTS (number) && magnitude >= 1000.0; i++)
        {
          magnitude /= 1000.0;
          *divisor *= 1000.0;
        }
      *suffix = unit == COHORT_GRAPH_UNIT_RATE ? rate[i] : number[i];
      break;

    case COHORT_GRAPH_UNIT_DURATION:
      *separator = " ";
      if (magnitude > 0.0 && magnitude < 1e-3)
        {
          *divisor = 1e-6;
          *suffix = "µs";
        }
      else if (magnitude > 0.0 && magnitude < 1.0)
        {
          *divisor = 1e-3;
          *suffix = "ms";
        }
      else
        *suffix = "s";
      break;

    default:
      g_assert_not_reached ();
    }
}

/* @decimals < 0 picks about three significant digits, for the tooltip. */
static char *
format_value (CohortGraphUnit unit,
              double          value,
              double          magnitude,
              int             decimals)
{
  const char *suffix;
  const char *separator;
  double divisor;
  double scaled;

  if (isnan (value))
    return g_strdup ("—");
  if (value == 0.0)
    decimals = 0;

  pick_suffix (unit, value == 0.0 ? 0.0 : magnitude, &divisor, &suffix, &separator);
  scaled = value / divisor;

  if (decimals < 0)
    {
      double a = fabs (scaled);

      if (unit == COHORT_GRAPH_UNIT_PERCENT)
        decimals = a < 100.0 ? 1 : 0;
      else if (divisor == 1.0 && unit != COHORT_GRAPH_UNIT_DURATION
               && scaled == floor (scaled))
        decimals = 0;
      else if (a < 10.0)
        decimals = 2;
      else if (a < 100.0)
        decimals = 1;
      else
        decimals = 0;
    }

  return g_strdup_printf ("%.*f%s%s", decimals, scaled, separator, suffix);
}

/* The smallest of 1, 2, 2.5 and 5 times a power of ten that is >= @x. */
static double
nice_step (double x)
{
  static const double factors[] = { 1.0, 2.0, 2.5, 5.0, 10.0 };
  double power;

  if (!(x > 0.0) || !isfinite (x))
    return 1.0;

  power = pow (10.0, floor (log10 (x)));
  for (guint i = 0; i < G_N_ELEMENTS (factors); i++)
    if (factors[i] * power >= x * (1.0 - 1e-9))
      return factors[i] * power;
  return 10.0 * power;
}

/* Below this an idle line would fill the graph with noise. */
static double
unit_floor (CohortGraphUnit unit)
{
  switch (unit)
    {
    case COHORT_GRAPH_UNIT_PERCENT:
      return 10.0;
    case COHORT_GRAPH_UNIT_BYTES:
      return 1024.0 * 1024.0;
    case COHORT_GRAPH_UNIT_RATE:
      return 10.0;
    case COHORT_GRAPH_UNIT_DURATION:
      return 1e-3;
    case COHORT_GRAPH_UNIT_NUMBER:
    default:
      return 4.0;
    }
}

/* A ceiling whose quarters read well in the unit's own prefix:
 * 300 MiB gives 400 MiB (100 MiB a row), 7 % gives 10 %. */
static double
auto_ceiling (CohortGraphUnit unit,
              double          max)
{
  const char *suffix;
  const char *separator;
  double divisor;
  double step;

  if (!(max > unit_floor (unit)))
    max = unit_floor (unit);

  pick_suffix (unit, max, &divisor, &suffix, &separator);
  step = nice_step (max / divisor / GRID_ROWS);
  /* Counts have no quarter tasks. */
  if (unit == COHORT_GRAPH_UNIT_NUMBER && divisor == 1.0)
    step = MAX (1.0, ceil (step));
  return step * GRID_ROWS * divisor;
}

/* The magnitude that picks the axis prefix: the ceiling's, unless its
 * steps would need two decimals ("0.25k/s"); then the step's ("250/s"). */
static double
axis_magnitude (CohortGraphUnit unit,
                double          ceiling)
{
  const char *suffix;
  const char *separator;
  double divisor;
  double step;

  pick_suffix (unit, ceiling, &divisor, &suffix, &separator);
  step = ceiling / GRID_ROWS / divisor;
  if (step < 1.0 && fabs (step * 10.0 - round (step * 10.0)) > 1e-6)
    return ceiling / GRID_ROWS;
  return ceiling;
}

/* The fewest decimals that show @value exactly, in the prefix the axis
 * uses for @ceiling: "7.5 %" beside "5 %", not "5.0 %". */
static int
axis_decimals (CohortGraphUnit unit,
               double          value,
               double          ceiling)
{
  const char *suffix;
  const char *separator;
  double divisor;
  int decimals = 0;

  pick_suffix (unit, axis_magnitude (unit, ceiling), &divisor, &suffix, &separator);
  while (decimals < 3)
    {
      double scaled = fabs (value / divisor) * pow (10.0, decimals);

      if (fabs (scaled - round (scaled)) < 1e-6 * MAX (1.0, scaled))
        break;
      decimals++;
    }
  return decimals;
}

/* "now", "−30s", "−5m", "−1m30s" */
static char *
format_ago (guint seconds)
{
  if (seconds == 0)
    return g_strdup (C_("graph time axis", "now"));
  if (seconds % 60 == 0)
    return g_strdup_printf (C_("graph time axis, minutes ago", "−%um"), seconds / 60);
  if (seconds < 60)
    return g_strdup_printf (C_("graph time axis, seconds ago", "−%us"), seconds);
  return g_strdup_printf (C_("graph time axis, minutes and seconds ago", "−%um%us"),
                          seconds / 60, seconds % 60);
}

/* Drawing helpers -------------------------------------------------------- */

static void
get_foreground (CohortGraph *self,
                GdkRGBA     *fg)
{
  /* gtk_widget_get_color() is 4.10; on 4.8 the style context has it. */
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (self)), fg);
}

static GdkRGBA
with_alpha (const GdkRGBA *color,
            double         alpha)
{
  GdkRGBA c = *color;

  c.alpha *= alpha;
  return c;
}

static PangoLayout *
create_layout (CohortGraph *self,
               const char  *text,
               TextStyle    style)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  PangoAttrList *attrs = pango_attr_list_new ();

  /* Tabular figures keep labels from wobbling as values change. */
  pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum"));
  if (style == TEXT_TITLE)
    pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  else
    pango_attr_list_insert (attrs, pango_attr_scale_new (PANGO_SCALE_SMALL));
  pango_layout_set_attributes (layout, attrs);
  pango_attr_list_unref (attrs);
  return layout;
}

static void
append_layout (GtkSnapshot   *snapshot,
               PangoLayout   *layout,
               double         x,
               double         y,
               const GdkRGBA *color)
{
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (round (x), round (y)));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}

static void
append_rect (GtkSnapshot   *snapshot,
             const GdkRGBA *color,
             double         x,
             double         y,
             double         width,
             double         height)
{
  gtk_snapshot_append_color (snapshot, color,
                             &GRAPHENE_RECT_INIT (x, y, width, height));
}

/* Geometry ---------------------------------------------------------------- */

static inline double
x_for_time (CohortGraph *self,
            gint64       now,
            gint64       time_usec)
{
  double ago = (double) (now - time_usec) / G_USEC_PER_SEC;

  return self->plot.origin.x + self->plot.size.width * (1.0 - ago / self->span);
}

static inline gint64
time_for_x (CohortGraph *self,
            gint64       now,
            double       x)
{
  double ago = (1.0 - (x - self->plot.origin.x) / self->plot.size.width) * self->span;

  return now - (gint64) (ago * G_USEC_PER_SEC);
}

/* Pixel rows are centred on half pixels so a 1 px grid line and a value
 * on it land on the same row. */
static inline double
y_for_value (CohortGraph *self,
             double       ceiling,
             double       value)
{
  double top = self->plot.origin.y + 0.5;
  double height = self->plot.size.height - 1.0;

  return top + height * (1.0 - value / ceiling);
}

/* The index of the last sample at or before @time_usec, or 0. */
static guint
index_at_or_before (CohortSeries *series,
                    gint64        time_usec)
{
  guint after = cohort_series_find (series, time_usec);

  return after > 0 ? after - 1 : 0;
}

/* The index of the sample nearest @time_usec; FALSE for an empty series. */
static gboolean
index_nearest (CohortSeries *series,
               gint64        time_usec,
               guint        *index)
{
  guint length = cohort_series_get_length (series);
  guint i;

  if (length == 0)
    return FALSE;

  i = index_at_or_before (series, time_usec);
  if (i + 1 < length
      && ABS (cohort_series_get_time (series, i + 1) - time_usec)
         < ABS (cohort_series_get_time (series, i) - time_usec))
    i++;
  *index = i;
  return TRUE;
}

static gint64
compute_now (CohortGraph *self)
{
  gint64 now = 0;

  for (guint i = 0; i < self->lines->len; i++)
    {
      Line *line = g_ptr_array_index (self->lines, i);

      now = MAX (now, cohort_series_get_last_time (line->series));
    }
  return now > 0 ? now : g_get_real_time ();
}

static double
compute_ceiling (CohortGraph *self,
                 gint64       now)
{
  gint64 since = now - (gint64) self->span * G_USEC_PER_SEC;
  double max = 0.0;

  if (self->fixed_max > 0.0)
    return self->fixed_max;

  for (guint i = 0; i < self->lines->len; i++)
    {
      Line *line = g_ptr_array_index (self->lines, i);
      double line_max;

      if (cohort_trace_get_max (line->trace, line->series, since, &line_max))
        max = MAX (max, line_max);
    }
  return auto_ceiling (self->unit, max);
}

/* The static part --------------------------------------------------------- */

static void
invalidate_background (CohortGraph *self)
{
  g_clear_pointer (&self->background, gsk_render_node_unref);
  g_clear_pointer (&self->static_surface, cairo_surface_destroy);
}

/* Seconds between vertical grid lines: the first that leaves room for a
 * label between two lines. */
static guint
pick_tick (CohortGraph *self,
           double       min_px)
{
  static const guint steps[] = { 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600 };

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      /* Whole minutes once the span is minutes: no "−4m30s". */
      if (self->span > 120 && steps[i] % 60 != 0)
        continue;
      if (self->plot.size.width * steps[i] / self->span >= min_px)
        return steps[i];
    }
  return self->span;
}

static void
rebuild_background (CohortGraph                *self,
                    int                         width,
                    int                         height,
                    double                      ceiling,
                    const GdkRGBA              *fg,
                    const PangoFontDescription *font)
{
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(PangoLayout) title = NULL;
  g_autoptr(PangoLayout) now_label = NULL;
  PangoLayout *values[GRID_ROWS + 1];
  GdkRGBA plot_bg = with_alpha (fg, 0.035);
  GdkRGBA grid = with_alpha (fg, 0.10);
  GdkRGBA baseline = with_alpha (fg, 0.22);
  GdkRGBA vgrid = with_alpha (fg, 0.07);
  GdkRGBA dim = with_alpha (fg, 0.6);
  int title_w;
  int title_h;
  int time_w;
  int time_h;
  int label_w = 0;
  double left;
  double top;
  double right;
  double bottom;
  double label_limit;
  guint tick;

  invalidate_background (self);

  title = create_layout (self, self->title != NULL ? self->title : "", TEXT_TITLE);
  pango_layout_get_pixel_size (title, &title_w, &title_h);
  now_label = create_layout (self, C_("graph time axis", "now"), TEXT_SMALL);
  pango_layout_get_pixel_size (now_label, &time_w, &time_h);

  /* At least as wide as a typical label, so that stacked graphs of
   * different units start their plots, and time axes, at the same x. */
  {
    g_autoptr(PangoLayout) typical = create_layout (self, "888.8 MiB", TEXT_SMALL);

    pango_layout_get_pixel_size (typical, &label_w, NULL);
  }

  for (guint i = 0; i <= GRID_ROWS; i++)
    {
      double value = ceiling * (GRID_ROWS - i) / GRID_ROWS;
      g_autofree char *text = format_value (self->unit, value,
                                            axis_magnitude (self->unit, ceiling),
                                            axis_decimals (self->unit, value, ceiling));
      int w;

      values[i] = create_layout (self, text, TEXT_SMALL);
      pango_layout_get_pixel_size (values[i], &w, NULL);
      label_w = MAX (label_w, w);
    }

  left = label_w + LABEL_GAP;
  top = title_h + MARKER_STRIP;
  right = width;
  bottom = height - time_h - 2;
  self->plot = GRAPHENE_RECT_INIT (left, top,
                                   MAX (1.0, right - left),
                                   MAX (2.0, bottom - top));
  self->header_height = title_h;
  self->title_width = title_w;

  append_layout (snapshot, title, 0, 0, fg);
  append_rect (snapshot, &plot_bg, left, top, self->plot.size.width, self->plot.size.height);

  /* Vertical lines and time labels, right to left, a label dropped when
   * it would touch the one to its right. */
  append_layout (snapshot, now_label, right - time_w, bottom + 2, &dim);
  label_limit = right - time_w - LABEL_GAP * 2;
  tick = pick_tick (self, MAX (TICK_MIN_PX, time_w * 3));
  for (guint ago = tick; ago <= self->span; ago += tick)
    {
      double x = right - self->plot.size.width * ago / self->span;
      g_autofree char *text = format_ago (ago);
      g_autoptr(PangoLayout) layout = create_layout (self, text, TEXT_SMALL);
      int w;
      double lx;

      append_rect (snapshot, &vgrid, floor (x), top, 1, self->plot.size.height);

      pango_layout_get_pixel_size (layout, &w, NULL);
      lx = CLAMP (x - w / 2.0, left, right - w);
      if (lx + w <= label_limit)
        {
          append_layout (snapshot, layout, lx, bottom + 2, &dim);
          label_limit = lx - LABEL_GAP * 2;
        }
    }

  /* Horizontal lines with their values on the left, top to bottom. */
  for (guint i = 0; i <= GRID_ROWS; i++)
    {
      double y = y_for_value (self, ceiling, ceiling * (GRID_ROWS - i) / GRID_ROWS);
      int w;
      int h;

      append_rect (snapshot, i == GRID_ROWS ? &baseline : &grid,
                   left, floor (y), self->plot.size.width, 1);

      pango_layout_get_pixel_size (values[i], &w, &h);
      append_layout (snapshot, values[i], left - LABEL_GAP - w, y - h / 2.0, &dim);
      g_object_unref (values[i]);
    }

  g_debug ("Graph %s: background rebuilt for %d×%d, ceiling %g",
           self->title != NULL ? self->title : "", width, height, ceiling);

  self->background = gtk_snapshot_to_node (snapshot);
  self->background_width = width;
  self->background_height = height;
  self->background_ceiling = ceiling;
  self->background_fg = *fg;
  g_clear_pointer (&self->background_font, pango_font_description_free);
  self->background_font = pango_font_description_copy (font);
}

/* Per frame --------------------------------------------------------------- */

static const GdkRGBA *
marker_color (const CohortGraphMarker *marker,
              const GdkRGBA           *fg)
{
  return marker->color.alpha > 0.0 ? &marker->color : fg;
}

static void
draw_marker_glyph (cairo_t    *cr,
                   const char *kind,
                   double      x,
                   double      y)
{
  if (g_strcmp0 (kind, "restart") == 0)
    {
      /* ▼, pointing at the moment */
      cairo_move_to (cr, x - 4.5, y - 3.5);
      cairo_line_to (cr, x + 4.5, y - 3.5);
      cairo_line_to (cr, x, y + 4.0);
      cairo_close_path (cr);
    }
  else if (g_strcmp0 (kind, "scale") == 0)
    {
      /* ◆ */
      cairo_move_to (cr, x, y - 4.5);
      cairo_line_to (cr, x + 4.5, y);
      cairo_line_to (cr, x, y + 4.5);
      cairo_line_to (cr, x - 4.5, y);
      cairo_close_path (cr);
    }
  else if (g_strcmp0 (kind, "reload") == 0)
    {
      /* ■ */
      cairo_rectangle (cr, x - 3.5, y - 3.5, 7.0, 7.0);
    }
  else
    {
      cairo_new_sub_path (cr);
      cairo_arc (cr, x, y, 3.5, 0, 2 * G_PI);
    }
  cairo_fill (cr);
}

/* Lines are thinned as they are built (cohort-polyline.c): a point the
 * neighbouring segment passes within SIMPLIFY_PX of is left out. Far
 * fewer joins for cairo to stroke, the same picture. */
#define SIMPLIFY_PX 0.3

/* The thinned runs of @line in pixels, into @out (emptied first). */
static void
build_polyline (CohortGraph *self,
                Line        *line,
                gint64       now,
                gint64       start,
                double       ceiling,
                GArray      *out)
{
  /* x_for_time () and y_for_value (), folded into a * t + b. */
  double px_per_usec = self->plot.size.width / (self->span * (double) G_USEC_PER_SEC);
  CohortTraceScale scale = {
    .px_per_usec = px_per_usec,
    .x_offset = self->plot.origin.x + self->plot.size.width - (double) now * px_per_usec,
    .y_bottom = self->plot.origin.y + 0.5 + (self->plot.size.height - 1.0),
    .px_per_unit = (self->plot.size.height - 1.0) / ceiling,
    .tolerance = SIMPLIFY_PX,
  };

  cohort_trace_points (line->trace, line->series, &scale, start, out);
}

static void
stroke_polyline (cairo_t      *cr,
                 const GArray *points,
                 const Line   *line)
{
  guint run = 0;

  for (guint i = 0; i < points->len; i++)
    {
      const CohortPoint *point = &g_array_index (points, CohortPoint, i);

      if (isnan (point->x))
        {
          /* A lone sample between two gaps still shows, as a dot: a
           * stroked tiny circle is as wide as the line. */
          if (run == 1)
            {
              const CohortPoint *last = &g_array_index (points, CohortPoint, i - 1);

              cairo_new_sub_path (cr);
              cairo_arc (cr, last->x, last->y, 0.01, 0, 2 * G_PI);
            }
          run = 0;
          continue;
        }
      if (run++ == 0)
        cairo_move_to (cr, point->x, point->y);
      else
        cairo_line_to (cr, point->x, point->y);
    }

  if (line->dashed)
    {
      static const double dash[] = { 5.0, 3.5 };

      /* Round caps on every dash would cost as much as the dashes. */
      cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);
      cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0.0);
    }
  else
    {
      cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
      cairo_set_dash (cr, NULL, 0, 0.0);
    }
  gdk_cairo_set_source_rgba (cr, &line->color);
  cairo_stroke (cr);
}

static gboolean
same_points (const GArray *a,
             const GArray *b)
{
  return a->len == b->len
         && memcmp (a->data, b->data, a->len * sizeof (CohortPoint)) == 0;
}

static guint
hash_points (const GArray *points)
{
  const guchar *p = (const guchar *) points->data;
  gsize n = points->len * sizeof (CohortPoint);
  guint32 h = 2166136261u;

  for (gsize i = 0; i < n; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

/* Every line, later ones over earlier ones. A line that a later one
 * covers exactly (the same points, and that one solid or both dashed:
 * idle workers all at 0 % CPU, or no messages either way) is not drawn. */
static void
draw_lines (CohortGraph *self,
            cairo_t     *cr,
            gint64       now,
            double       ceiling)
{
  gint64 start = now - (gint64) self->span * G_USEC_PER_SEC;
  guint n = self->lines->len;
  g_autoptr(GPtrArray) polylines = g_ptr_array_new_full (n, (GDestroyNotify) g_array_unref);
  g_autofree guint *hashes = g_new (guint, n);

  for (guint i = 0; i < n; i++)
    {
      GArray *points = g_array_new (FALSE, FALSE, sizeof (CohortPoint));

      build_polyline (self, g_ptr_array_index (self->lines, i), now, start, ceiling, points);
      hashes[i] = hash_points (points);
      g_ptr_array_add (polylines, points);
    }

  /* At 1.5 px a round join looks no different from a bevel, and costs
   * cairo an arc at every vertex: with 64 busy workers (600 jagged
   * points a line) it was half of a frame. */
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_BEVEL);
  cairo_set_line_width (cr, LINE_WIDTH);
  for (guint i = 0; i < n; i++)
    {
      Line *line = g_ptr_array_index (self->lines, i);
      GArray *points = g_ptr_array_index (polylines, i);
      gboolean covered = FALSE;

      if (points->len == 0)
        continue;
      for (guint j = i + 1; j < n && !covered; j++)
        {
          Line *other = g_ptr_array_index (self->lines, j);

          covered = hashes[j] == hashes[i]
                    && (!other->dashed || line->dashed)
                    && same_points (points, g_ptr_array_index (polylines, j));
        }
      if (!covered)
        stroke_polyline (cr, points, line);
    }
}

/* The value of @line at the hovered time, if it has a sample near it. */
static gboolean
line_value_at (CohortGraph *self,
               Line        *line,
               gint64       time_usec,
               double      *value)
{
  /* Samples of one tick land within microseconds of each other; allow a
   * little more than a second, or a few pixels on a long span. */
  gint64 tolerance = MAX (3 * G_USEC_PER_SEC / 2,
                          (gint64) (4.0 * self->span * G_USEC_PER_SEC
                                    / MAX (1.0, self->plot.size.width)));
  guint i;

  if (!index_nearest (line->series, time_usec, &i))
    return FALSE;
  if (ABS (cohort_series_get_time (line->series, i) - time_usec) > tolerance)
    return FALSE;
  *value = cohort_series_get_value (line->series, i);
  return TRUE;
}

/* Marker lines under the data and their glyphs in the strip above it. */
static void
draw_markers (CohortGraph   *self,
              cairo_t       *cr,
              gint64         now,
              const GdkRGBA *fg,
              gboolean       glyphs)
{
  gint64 start = now - (gint64) self->span * G_USEC_PER_SEC;
  const graphene_rect_t *plot = &self->plot;

  for (guint i = 0; self->markers != NULL && i < self->markers->len; i++)
    {
      CohortGraphMarker *marker = g_ptr_array_index (self->markers, i);
      double x;

      if (marker->time_usec < start || marker->time_usec > now)
        continue;
      x = floor (x_for_time (self, now, marker->time_usec));
      if (glyphs)
        {
          gdk_cairo_set_source_rgba (cr, marker_color (marker, fg));
          draw_marker_glyph (cr, marker->kind, x + 0.5, plot->origin.y - MARKER_STRIP / 2.0);
        }
      else
        {
          GdkRGBA color = with_alpha (marker_color (marker, fg), 0.55);

          gdk_cairo_set_source_rgba (cr, &color);
          cairo_rectangle (cr, x, plot->origin.y - MARKER_STRIP / 2.0,
                           1, plot->size.height + MARKER_STRIP / 2.0);
          cairo_fill (cr);
        }
    }
}

/* Hover: a dot where each line crosses the hairline. */
static void
draw_hover_dots (CohortGraph *self,
                 cairo_t     *cr,
                 gint64       now,
                 double       ceiling)
{
  const graphene_rect_t *plot = &self->plot;
  double x = x_for_time (self, now, self->hover_time);

  cairo_rectangle (cr, plot->origin.x - 5, plot->origin.y - 5,
                   plot->size.width + 10, plot->size.height + 10);
  cairo_clip (cr);
  for (guint i = 0; i < self->lines->len; i++)
    {
      Line *line = g_ptr_array_index (self->lines, i);
      double value;
      double y;

      if (!line_value_at (self, line, self->hover_time, &value) || isnan (value))
        continue;
      y = y_for_value (self, ceiling, value);
      if (y < plot->origin.y - 4 || y > plot->origin.y + plot->size.height + 4)
        continue;
      cairo_new_sub_path (cr);
      cairo_arc (cr, x, y, 3.5, 0, 2 * G_PI);
      gdk_cairo_set_source_rgba (cr, &line->color);
      cairo_fill (cr);
    }
}

static void
append_swatch (GtkSnapshot *snapshot,
               Line        *line,
               double       x,
               double       y)
{
  if (line->dashed)
    {
      /* Two dashes, as the line itself is drawn. */
      double dash = (SWATCH_WIDTH - 4.0) / 2.0;

      append_rect (snapshot, &line->color, x, y, dash, SWATCH_HEIGHT);
      append_rect (snapshot, &line->color, x + SWATCH_WIDTH - dash, y, dash, SWATCH_HEIGHT);
    }
  else
    append_rect (snapshot, &line->color, x, y, SWATCH_WIDTH, SWATCH_HEIGHT);
}

/* Up to LEGEND_MAX entries, right-aligned in the title row, fewer when the
 * title leaves less room; "+N" for the rest. */
static void
append_legend (CohortGraph   *self,
               GtkSnapshot   *snapshot,
               int            width,
               const GdkRGBA *fg)
{
  g_autoptr(GPtrArray) layouts = NULL;
  g_autoptr(PangoLayout) more = NULL;
  GdkRGBA text = with_alpha (fg, 0.8);
  double available = width - self->title_width - 24.0;
  double entry_gap = 12.0;
  double swatch_gap = 5.0;
  double total = 0.0;
  double x;
  double more_w = 0.0;
  guint n = self->lines->len;
  guint shown;
  int h = 0;

  if (n == 0)
    return;

  layouts = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < MIN (n, LEGEND_MAX); i++)
    {
      Line *line = g_ptr_array_index (self->lines, i);

      g_ptr_array_add (layouts, create_layout (self, line->label != NULL ? line->label : line->key,
                                               TEXT_SMALL));
    }

  /* The widest prefix of the entries that fits with its "+N". */
  for (shown = layouts->len; ; shown--)
    {
      total = 0.0;
      for (guint i = 0; i < shown; i++)
        {
          int w;

          pango_layout_get_pixel_size (g_ptr_array_index (layouts, i), &w, &h);
          total += (i > 0 ? entry_gap : 0.0) + SWATCH_WIDTH + swatch_gap + w;
        }
      if (shown < n)
        {
          g_autofree char *label = g_strdup_printf ("+%u", n - shown);
          int w;

          g_clear_object (&more);
          more = create_layout (self, label, TEXT_SMALL);
          pango_layout_get_pixel_size (more, &w, &h);
          more_w = w;
          total += (shown > 0 ? entry_gap : 0.0) + more_w;
        }
      if (total <= available || shown == 0)
        break;
    }
  if (total > available)
    return;

  x = width - total;
  for (guint i = 0; i < shown; i++)
    {
      PangoLayout *layout = g_ptr_array_index (layouts, i);
      double y = floor ((self->header_height - SWATCH_HEIGHT) / 2.0);
      int w;

      pango_layout_get_pixel_size (layout, &w, &h);
      append_swatch (snapshot, g_ptr_array_index (self->lines, i), x, y);
      x += SWATCH_WIDTH + swatch_gap;
      append_layout (snapshot, layout, x, (self->header_height - h) / 2.0, &text);
      x += w + entry_gap;
    }
  if (more != NULL)
    append_layout (snapshot, more, x, (self->header_height - h) / 2.0, &text);
}

static gboolean
has_visible_data (CohortGraph *self,
                  gint64       now)
{
  gint64 since = now - (gint64) self->span * G_USEC_PER_SEC;

  for (guint i = 0; i < self->lines->len; i++)
    {
      Line *line = g_ptr_array_index (self->lines, i);

      if (cohort_series_get_range (line->series, since, NULL, NULL))
        return TRUE;
    }
  return FALSE;
}

/* Everything but the hover, at the widget's size and scale, into one
 * surface: the grid and labels, the marker lines, every line clipped to
 * the plot (a line's width more above and below for a value on the top or
 * bottom row), the marker glyphs, "No data" and the legend. Text and
 * lines are the dear part of a frame; a graph draws them once per sample,
 * and the frames in between (hover, the rest of the page) reuse them. */
static cairo_surface_t *
render_graph (CohortGraph      *self,
              int               width,
              int               height,
              int               scale,
              gint64            now,
              double            ceiling,
              const GdkRGBA    *fg,
              cairo_surface_t **spare)
{
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) texts = NULL;
  cairo_surface_t *surface;
  cairo_t *cr;

  /* The last sample's surface, when nothing holds it any more (a texture
   * would; a cairo node keeps a snapshot that cairo detaches before the
   * first change): everything below paints over all of it, so it needs
   * no clearing. */
  if (*spare != NULL
      && cairo_surface_get_reference_count (*spare) == 1
      && cairo_image_surface_get_width (*spare) == width * scale
      && cairo_image_surface_get_height (*spare) == height * scale)
    surface = g_steal_pointer (spare);
  else
    {
      surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width * scale, height * scale);
      cairo_surface_set_device_scale (surface, scale, scale);
    }
  cr = cairo_create (surface);

  /* The grid, the labels and the legend change far less often than
   * the data: drawn once, then copied under each sample's lines. */
  if (self->static_surface == NULL || self->static_generation != self->lines_generation)
    {
      g_autoptr(GtkSnapshot) legend = gtk_snapshot_new ();
      g_autoptr(GskRenderNode) legend_node = NULL;
      cairo_t *static_cr;

      g_clear_pointer (&self->static_surface, cairo_surface_destroy);
      self->static_surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width * scale, height * scale);
      cairo_surface_set_device_scale (self->static_surface, scale, scale);
      static_cr = cairo_create (self->static_surface);
      if (self->background != NULL)
        gsk_render_node_draw (self->background, static_cr);
      append_legend (self, legend, width, fg);
      legend_node = gtk_snapshot_to_node (legend);
      if (legend_node != NULL)
        gsk_render_node_draw (legend_node, static_cr);
      cairo_destroy (static_cr);
      self->static_generation = self->lines_generation;
    }
  cairo_set_source_surface (cr, self->static_surface, 0, 0);
  cairo_set_operator (cr, CAIRO_OPERATOR_SOURCE);
  cairo_paint (cr);
  cairo_set_operator (cr, CAIRO_OPERATOR_OVER);
  draw_markers (self, cr, now, fg, FALSE);

  cairo_save (cr);
  cairo_rectangle (cr, self->plot.origin.x, self->plot.origin.y - LINE_WIDTH,
                   self->plot.size.width, self->plot.size.height + 2 * LINE_WIDTH);
  cairo_clip (cr);
  draw_lines (self, cr, now, ceiling);
  cairo_restore (cr);

  draw_markers (self, cr, now, fg, TRUE);

  if (!has_visible_data (self, now))
    {
      g_autoptr(PangoLayout) layout = create_layout (self, _("No data"), TEXT_SMALL);
      GdkRGBA dim = with_alpha (fg, 0.5);
      int w;
      int h;

      pango_layout_get_pixel_size (layout, &w, &h);
      append_layout (snapshot, layout,
                     self->plot.origin.x + (self->plot.size.width - w) / 2.0,
                     self->plot.origin.y + (self->plot.size.height - h) / 2.0, &dim);
    }
  texts = gtk_snapshot_to_node (snapshot);
  if (texts != NULL)
    gsk_render_node_draw (texts, cr);

  cairo_destroy (cr);
  cairo_surface_flush (surface);
  return surface;
}

/* Cairo's ARGB32 is GDK's default memory format; the texture keeps the
 * surface alive instead of copying it. */
static GdkTexture *
texture_for_surface (cairo_surface_t *surface)
{
  int height = cairo_image_surface_get_height (surface);
  int stride = cairo_image_surface_get_stride (surface);
  g_autoptr(GBytes) bytes = g_bytes_new_with_free_func (cairo_image_surface_get_data (surface),
                                                        (gsize) stride * height,
                                                        (GDestroyNotify) cairo_surface_destroy,
                                                        cairo_surface_reference (surface));

  return gdk_memory_texture_new (cairo_image_surface_get_width (surface), height, GDK_MEMORY_DEFAULT,
                                 bytes, stride);
}

/* The drawing, as the window's renderer takes it best: the cairo
 * renderer (software, as under Xvfb) gets a cairo node that paints the
 * surface itself, where a texture would be converted back into a surface
 * on every frame; a GPU renderer gets a texture, which it uploads once.
 * Either node is kept until the next sample, so a frame in between (a
 * hover) hands GTK the same node and nothing under it is redrawn. */
static void
append_surface (CohortGraph *self,
                GtkSnapshot *snapshot,
                int          width,
                int          height)
{
  GtkNative *native = gtk_widget_get_native (GTK_WIDGET (self));
  GskRenderer *renderer = native != NULL ? gtk_native_get_renderer (native) : NULL;
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (0, 0, width, height);

  if (self->surface_node == NULL)
    {
      if (renderer != NULL && GSK_IS_CAIRO_RENDERER (renderer))
        {
          GskRenderNode *node = gsk_cairo_node_new (&bounds);
          cairo_t *cr = gsk_cairo_node_get_draw_context (node);

          cairo_set_source_surface (cr, self->surface, 0, 0);
          cairo_paint (cr);
          cairo_destroy (cr);
          self->surface_node = node;
        }
      else
        {
          g_autoptr(GdkTexture) texture = texture_for_surface (self->surface);

          self->surface_node = gsk_texture_node_new (texture, &bounds);
        }
    }
  gtk_snapshot_append_node (snapshot, self->surface_node);
}

static void
cohort_graph_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  CohortGraph *self = COHORT_GRAPH (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  int scale = gtk_widget_get_scale_factor (widget);
  gint64 now;
  gint64 start;
  double ceiling;
  const PangoFontDescription *font;
  GdkRGBA fg;
  cairo_surface_t *spare = NULL;

  if (width <= 0 || height <= 0)
    return;

  /* The time and the scale move only with the data. */
  if (self->drawn_serial != self->serial)
    {
      self->drawn_now = compute_now (self);
      self->drawn_ceiling = compute_ceiling (self, self->drawn_now);
      g_clear_pointer (&self->surface_node, gsk_render_node_unref);
      spare = g_steal_pointer (&self->surface);
    }
  now = self->drawn_now;
  ceiling = self->drawn_ceiling;
  start = now - (gint64) self->span * G_USEC_PER_SEC;

  /* Colour and font are all the style gives us; comparing them here
   * rather than dropping the node on every css_changed keeps focus and
   * backdrop changes from rebuilding it. */
  get_foreground (self, &fg);
  font = pango_context_get_font_description (gtk_widget_get_pango_context (widget));
  if (self->background == NULL
      || self->background_width != width
      || self->background_height != height
      || self->background_ceiling != ceiling
      || !gdk_rgba_equal (&self->background_fg, &fg)
      || self->background_font == NULL
      || !pango_font_description_equal (self->background_font, font))
    {
      rebuild_background (self, width, height, ceiling, &fg, font);
      g_clear_pointer (&self->static_surface, cairo_surface_destroy);
      g_clear_pointer (&self->surface_node, gsk_render_node_unref);
      g_clear_pointer (&self->surface, cairo_surface_destroy);
    }

  if (self->surface == NULL || self->drawn_scale != scale)
    {
      if (self->drawn_scale != scale)
        g_clear_pointer (&self->static_surface, cairo_surface_destroy);
      g_clear_pointer (&self->surface_node, gsk_render_node_unref);
      g_clear_pointer (&self->surface, cairo_surface_destroy);
      self->surface = render_graph (self, width, height, scale, now, ceiling, &fg, &spare);
      self->drawn_scale = scale;
      self->drawn_serial = self->serial;
    }
  g_clear_pointer (&spare, cairo_surface_destroy);
  append_surface (self, snapshot, width, height);

  /* The hovered marker stands out; the hairline and a dot on each line. */
  if (self->markers != NULL && self->hover_marker >= 0 && (guint) self->hover_marker < self->markers->len)
    {
      CohortGraphMarker *marker = g_ptr_array_index (self->markers, self->hover_marker);
      GdkRGBA color = with_alpha (marker_color (marker, &fg), 0.9);

      if (marker->time_usec >= start && marker->time_usec <= now)
        append_rect (snapshot, &color, floor (x_for_time (self, now, marker->time_usec)),
                     self->plot.origin.y - MARKER_STRIP / 2.0,
                     1, self->plot.size.height + MARKER_STRIP / 2.0);
    }

  if (self->hover_time != 0 && self->hover_time >= start)
    {
      GdkRGBA hairline = with_alpha (&fg, 0.4);
      cairo_t *cr;

      append_rect (snapshot, &hairline, floor (x_for_time (self, now, self->hover_time)),
                   self->plot.origin.y, 1, self->plot.size.height);
      cr = gtk_snapshot_append_cairo (snapshot,
                                      &GRAPHENE_RECT_INIT (self->plot.origin.x - 6,
                                                           self->plot.origin.y - 6,
                                                           self->plot.size.width + 12,
                                                           self->plot.size.height + 12));
      draw_hover_dots (self, cr, now, ceiling);
      cairo_destroy (cr);
    }
}

/* Hover ------------------------------------------------------------------- */

static char *
build_tooltip (CohortGraph *self,
               gint64       time_usec,
               int          marker_index)
{
  GString *markup = g_string_new (NULL);

  if (time_usec != 0)
    {
      g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local (time_usec / G_USEC_PER_SEC);
      g_autofree char *clock = g_date_time_format (dt, "%H:%M:%S");

      g_string_append_printf (markup, "<span font_features=\"tnum\"><b>%s</b></span>", clock);

      for (guint i = 0; i < self->lines->len; i++)
        {
          Line *line = g_ptr_array_index (self->lines, i);
          g_autofree char *color = NULL;
          g_autofree char *value_text = NULL;
          g_autofree char *row = NULL;
          double value;

          if (!line_value_at (self, line, time_usec, &value))
            continue;

          /* Pango markup wants #rrggbb, not gdk_rgba_to_string()'s rgb(). */
          color = g_strdup_printf ("#%02x%02x%02x",
                                   (guint) round (CLAMP (line->color.red, 0, 1) * 255),
                                   (guint) round (CLAMP (line->color.green, 0, 1) * 255),
                                   (guint) round (CLAMP (line->color.blue, 0, 1) * 255));
          value_text = format_value (self->unit, value, value, -1);
          row = g_markup_printf_escaped ("\n<span foreground=\"%s\">%s</span> %s  "
                                         "<span font_features=\"tnum\">%s</span>",
                                         color, line->dashed ? "┅" : "━",
                                         line->label != NULL ? line->label : line->key,
                                         value_text);
          g_string_append (markup, row);
        }
    }

  if (marker_index >= 0)
    {
      CohortGraphMarker *marker = g_ptr_array_index (self->markers, marker_index);
      g_autofree char *row = NULL;

      if (marker->text != NULL)
        {
          row = g_markup_printf_escaped ("%s<i>%s</i>",
                                         markup->len > 0 ? "\n" : "", marker->text);
          g_string_append (markup, row);
        }
    }

  if (markup->len == 0)
    {
      g_string_free (markup, TRUE);
      return NULL;
    }
  return g_string_free (markup, FALSE);
}

/* Finds the sample time and the marker under the pointer, and refreshes
 * the hairline and the tooltip when either changed. */
static void
update_hover (CohortGraph *self)
{
  const graphene_rect_t *plot = &self->plot;
  g_autofree char *markup = NULL;
  gint64 time_usec = 0;
  int marker_index = -1;

  if (self->pointer_inside
      && self->background != NULL
      && self->pointer_x >= plot->origin.x - MARKER_SNAP_PX
      && self->pointer_x <= plot->origin.x + plot->size.width + MARKER_SNAP_PX
      && self->pointer_y >= plot->origin.y - MARKER_STRIP
      && self->pointer_y <= plot->origin.y + plot->size.height)
    {
      gint64 now = compute_now (self);
      gint64 start = now - (gint64) self->span * G_USEC_PER_SEC;
      gint64 target = time_for_x (self, now, self->pointer_x);
      gint64 best = G_MAXINT64;
      double best_px = MARKER_SNAP_PX + 1;

      for (guint i = 0; i < self->lines->len; i++)
        {
          Line *line = g_ptr_array_index (self->lines, i);
          guint index;
          gint64 t;

          if (!index_nearest (line->series, target, &index))
            continue;
          t = cohort_series_get_time (line->series, index);
          if (t < start || t > now)
            continue;
          if (time_usec == 0 || ABS (t - target) < best)
            {
              best = ABS (t - target);
              time_usec = t;
            }
        }

      for (guint i = 0; self->markers != NULL && i < self->markers->len; i++)
        {
          CohortGraphMarker *marker = g_ptr_array_index (self->markers, i);
          double px;

          if (marker->time_usec < start || marker->time_usec > now)
            continue;
          px = fabs (x_for_time (self, now, marker->time_usec) - self->pointer_x);
          if (px <= MARKER_SNAP_PX && px < best_px)
            {
              best_px = px;
              marker_index = i;
            }
        }
    }

  if (time_usec == self->hover_time
      && marker_index == self->hover_marker
      && !self->hover_stale)
    return;

  if (time_usec != self->hover_time || marker_index != self->hover_marker)
    gtk_widget_queue_draw (GTK_WIDGET (self));
  self->hover_time = time_usec;
  self->hover_marker = marker_index;
  self->hover_stale = FALSE;

  /* Setting the same text again would still make GTK requery and
   * reposition the tooltip. */
  markup = build_tooltip (self, time_usec, marker_index);
  if (g_strcmp0 (markup, self->tooltip) != 0)
    {
      g_free (self->tooltip);
      self->tooltip = g_steal_pointer (&markup);
      gtk_widget_set_tooltip_markup (GTK_WIDGET (self), self->tooltip);
    }
}

static void
on_motion (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           CohortGraph              *self)
{
  self->pointer_inside = TRUE;
  self->pointer_x = x;
  self->pointer_y = y;
  update_hover (self);
}

static void
on_leave (GtkEventControllerMotion *controller,
          CohortGraph              *self)
{
  self->pointer_inside = FALSE;
  update_hover (self);
  /* A hidden page keeps no drawing (a few MiB at HiDPI per graph); the
   * next map draws anew. */
  g_clear_pointer (&self->surface_node, gsk_render_node_unref);
  g_clear_pointer (&self->surface, cairo_surface_destroy);
}

/* GtkWidget --------------------------------------------------------------- */

static void
cohort_graph_measure (GtkWidget      *widget,
                      GtkOrientation  orientation,
                      int             for_size,
                      int            *minimum,
                      int            *natural,
                      int            *minimum_baseline,
                      int            *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = MIN_WIDTH;
      *natural = NAT_WIDTH;
    }
  else
    {
      *minimum = MIN_HEIGHT;
      *natural = NAT_HEIGHT;
    }
}

/* Font settings and DPI change what the cached node holds, invisibly to
 * the checks in snapshot. */
static void
cohort_graph_system_setting_changed (GtkWidget        *widget,
                                     GtkSystemSetting  setting)
{
  GTK_WIDGET_CLASS (cohort_graph_parent_class)->system_setting_changed (widget, setting);

  invalidate_background (COHORT_GRAPH (widget));
  gtk_widget_queue_draw (widget);
}

static void
cohort_graph_unmap (GtkWidget *widget)
{
  CohortGraph *self = COHORT_GRAPH (widget);

  self->pointer_inside = FALSE;
  update_hover (self);
  /* A hidden page keeps no drawing (a few MiB at HiDPI per graph); the
   * next map draws anew. */
  g_clear_pointer (&self->surface_node, gsk_render_node_unref);
  g_clear_pointer (&self->surface, cairo_surface_destroy);

  GTK_WIDGET_CLASS (cohort_graph_parent_class)->unmap (widget);
}

/* GObject ----------------------------------------------------------------- */

static void
cohort_graph_dispose (GObject *object)
{
  CohortGraph *self = COHORT_GRAPH (object);

  g_ptr_array_set_size (self->lines, 0);
  invalidate_background (self);

  G_OBJECT_CLASS (cohort_graph_parent_class)->dispose (object);
}

static void
cohort_graph_finalize (GObject *object)
{
  CohortGraph *self = COHORT_GRAPH (object);

  g_ptr_array_unref (self->lines);
  g_clear_pointer (&self->markers, g_ptr_array_unref);
  g_free (self->title);
  g_free (self->tooltip);
  g_clear_pointer (&self->background_font, pango_font_description_free);
  g_clear_pointer (&self->surface_node, gsk_render_node_unref);
  g_clear_pointer (&self->surface, cairo_surface_destroy);
  g_clear_pointer (&self->static_surface, cairo_surface_destroy);

  G_OBJECT_CLASS (cohort_graph_parent_class)->finalize (object);
}

static void
cohort_graph_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  CohortGraph *self = COHORT_GRAPH (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;

    case PROP_UNIT:
      g_value_set_enum (value, self->unit);
      break;

    case PROP_SPAN:
      g_value_set_uint (value, self->span);
      break;

    case PROP_FIXED_MAX:
      g_value_set_double (value, self->fixed_max);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cohort_graph_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  CohortGraph *self = COHORT_GRAPH (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      cohort_graph_set_title (self, g_value_get_string (value));
      break;

    case PROP_UNIT:
      cohort_graph_set_unit (self, g_value_get_enum (value));
      break;

    case PROP_SPAN:
      cohort_graph_set_span (self, g_value_get_uint (value));
      break;

    case PROP_FIXED_MAX:
      cohort_graph_set_fixed_max (self, g_value_get_double (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cohort_graph_class_init (CohortGraphClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cohort_graph_dispose;
  object_class->finalize = cohort_graph_finalize;
  object_class->get_property = cohort_graph_get_property;
  object_class->set_property = cohort_graph_set_property;

  widget_class->measure = cohort_graph_measure;
  widget_class->snapshot = cohort_graph_snapshot;
  widget_class->system_setting_changed = cohort_graph_system_setting_changed;
  widget_class->unmap = cohort_graph_unmap;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_UNIT] =
    g_param_spec_enum ("unit", NULL, NULL,
                       COHORT_TYPE_GRAPH_UNIT,
                       COHORT_GRAPH_UNIT_NUMBER,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /* Seconds of history shown. */
  properties[PROP_SPAN] =
    g_param_spec_uint ("span", NULL, NULL,
                       10, 24 * 60 * 60, 300,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /* > 0: the top of the y axis (100 for one CPU); 0: scale to the data. */
  properties[PROP_FIXED_MAX] =
    g_param_spec_double ("fixed-max", NULL, NULL,
                         0.0, G_MAXDOUBLE, 0.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "graph");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
cohort_graph_init (CohortGraph *self)
{
  GtkEventController *motion;

  self->unit = COHORT_GRAPH_UNIT_NUMBER;
  self->span = 300;
  self->lines = g_ptr_array_new_with_free_func (line_free);
  self->hover_marker = -1;

  motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
}

/* Public API -------------------------------------------------------------- */

GtkWidget *
cohort_graph_new (void)
{
  return g_object_new (COHORT_TYPE_GRAPH, NULL);
}

const char *
cohort_graph_get_title (CohortGraph *self)
{
  g_return_val_if_fail (COHORT_IS_GRAPH (self), NULL);

  return self->title;
}

void
cohort_graph_set_title (CohortGraph *self,
                        const char  *title)
{
  g_return_if_fail (COHORT_IS_GRAPH (self));

  if (!set_str (&self->title, title))
    return;

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, title != NULL ? title : "",
                                  -1);
  invalidate_background (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

CohortGraphUnit
cohort_graph_get_unit (CohortGraph *self)
{
  g_return_val_if_fail (COHORT_IS_GRAPH (self), COHORT_GRAPH_UNIT_NUMBER);

  return self->unit;
}

void
cohort_graph_set_unit (CohortGraph     *self,
                       CohortGraphUnit  unit)
{
  g_return_if_fail (COHORT_IS_GRAPH (self));
  g_return_if_fail (unit <= COHORT_GRAPH_UNIT_DURATION);

  if (self->unit == unit)
    return;

  self->unit = unit;
  invalidate_background (self);
  self->serial++;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UNIT]);
}

guint
cohort_graph_get_span (CohortGraph *self)
{
  g_return_val_if_fail (COHORT_IS_GRAPH (self), 0);

  return self->span;
}

void
cohort_graph_set_span (CohortGraph *self,
                       guint        span)
{
  g_return_if_fail (COHORT_IS_GRAPH (self));
  g_return_if_fail (span >= 10);

  if (self->span == span)
    return;

  self->span = span;
  invalidate_background (self);
  update_hover (self);
  self->serial++;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPAN]);
}

double
cohort_graph_get_fixed_max (CohortGraph *self)
{
  g_return_val_if_fail (COHORT_IS_GRAPH (self), 0.0);

  return self->fixed_max;
}

void
cohort_graph_set_fixed_max (CohortGraph *self,
                            double       fixed_max)
{
  g_return_if_fail (COHORT_IS_GRAPH (self));
  g_return_if_fail (fixed_max >= 0.0);

  if (self->fixed_max == fixed_max)
    return;

  self->fixed_max = fixed_max;
  self->serial++;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIXED_MAX]);
}

static Line *
find_line (CohortGraph *self,
           const char  *key,
           guint       *index)
{
  for (guint i = 0; i < self->lines->len; i++)
    {
      Line *line = g_ptr_array_index (self->lines, i);

      if (g_str_equal (line->key, key))
        {
          if (index != NULL)
            *index = i;
          return line;
        }
    }
  return NULL;
}

/* Adds a line, or replaces the one with @key in place (keeping its legend
 * position and dash). The series is referenced. */
void
cohort_graph_set_line (CohortGraph   *self,
                       const char    *key,
                       CohortSeries  *series,
                       const GdkRGBA *color,
                       const char    *label)
{
  Line *line;

  g_return_if_fail (COHORT_IS_GRAPH (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (series != NULL);
  g_return_if_fail (color != NULL);

  line = find_line (self, key, NULL);
  if (line == NULL)
    {
      line = g_new0 (Line, 1);
      line->key = g_strdup (key);
      line->trace = cohort_trace_new ();
      g_ptr_array_add (self->lines, line);
    }
  /* The pages hand every line over again at each sample: the same one
   * changes nothing (the legend, above all, is not laid out again). */
  else if (line->series == series
           && gdk_rgba_equal (&line->color, color)
           && g_strcmp0 (line->label, label) == 0)
    return;

  cohort_series_ref (series);
  g_clear_pointer (&line->series, cohort_series_unref);
  line->series = series;
  line->color = *color;
  set_str (&line->label, label);

  self->hover_stale = TRUE;
  self->lines_generation++;
  self->serial++;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* For the second kind of a pair ("out" beside "in"). */
void
cohort_graph_set_line_dashed (CohortGraph *self,
                              const char  *key,
                              gboolean     dashed)
{
  Line *line;

  g_return_if_fail (COHORT_IS_GRAPH (self));
  g_return_if_fail (key != NULL);

  line = find_line (self, key, NULL);
  g_return_if_fail (line != NULL);

  dashed = !!dashed;
  if (line->dashed == dashed)
    return;

  line->dashed = dashed;
  self->lines_generation++;
  self->serial++;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
cohort_graph_remove_line (CohortGraph *self,
                          const char  *key)
{
  guint index;

  g_return_if_fail (COHORT_IS_GRAPH (self));
  g_return_if_fail (key != NULL);

  if (find_line (self, key, &index) == NULL)
    return;

  g_ptr_array_remove_index (self->lines, index);
  self->hover_stale = TRUE;
  self->lines_generation++;
  self->serial++;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
cohort_graph_clear_lines (CohortGraph *self)
{
  g_return_if_fail (COHORT_IS_GRAPH (self));

  if (self->lines->len == 0)
    return;

  g_ptr_array_set_size (self->lines, 0);
  self->hover_stale = TRUE;
  self->lines_generation++;
  self->serial++;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* The markers are copied; NULL or an empty array removes them all. */
void
cohort_graph_set_markers (CohortGraph *self,
                          GPtrArray   *markers)
{
  g_return_if_fail (COHORT_IS_GRAPH (self));

  g_clear_pointer (&self->markers, g_ptr_array_unref);
  if (markers != NULL && markers->len > 0)
    {
      self->markers = g_ptr_array_new_full (markers->len,
                                            (GDestroyNotify) cohort_graph_marker_free);
      for (guint i = 0; i < markers->len; i++)
        g_ptr_array_add (self->markers,
                         cohort_graph_marker_copy (g_ptr_array_index (markers, i)));
    }

  self->hover_stale = TRUE;
  self->serial++;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Call when a sample arrived, after changing lines or markers if need be.
 * Hidden graphs cost nothing: GTK redraws them anyway when they are mapped
 * again. Changes to lines and markers reach an open tooltip here, so that
 * replacing every line on each sample does not make it flicker. */
void
cohort_graph_queue_update (CohortGraph *self)
{
  g_return_if_fail (COHORT_IS_GRAPH (self));

  self->serial++;
  if (!gtk_widget_is_drawable (GTK_WIDGET (self)))
    return;

  gtk_widget_queue_draw (GTK_WIDGET (self));
  /* The axis moved under a still pointer. */
  if (self->pointer_inside)
    update_hover (self);
}
