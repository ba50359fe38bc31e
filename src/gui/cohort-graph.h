/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-graph.h: a live line graph of CohortSeries over a sliding time
 * window, with a legend, event markers and a hover read-out. */

#pragma once

#include <gtk/gtk.h>

#include "cohort-series.h"

G_BEGIN_DECLS

/* How values are labelled. A duration is in seconds. */
typedef enum
{
  COHORT_GRAPH_UNIT_NUMBER,
  COHORT_GRAPH_UNIT_PERCENT,
  COHORT_GRAPH_UNIT_BYTES,
  COHORT_GRAPH_UNIT_RATE,
  COHORT_GRAPH_UNIT_DURATION,
} CohortGraphUnit;

#define COHORT_TYPE_GRAPH_UNIT (cohort_graph_unit_get_type ())

GType cohort_graph_unit_get_type (void) G_GNUC_CONST;

/* An event on the time axis: a thin vertical line with a small glyph on
 * top. @kind picks the glyph ("restart", "scale", "reload"; anything else
 * gets a plain dot), @text is shown when hovering near it, and a @color
 * with alpha 0 means the widget's foreground. */
typedef struct
{
  gint64   time_usec;
  char    *kind;
  char    *text;
  GdkRGBA  color;
} CohortGraphMarker;

#define COHORT_TYPE_GRAPH_MARKER (cohort_graph_marker_get_type ())

GType              cohort_graph_marker_get_type (void) G_GNUC_CONST;
CohortGraphMarker *cohort_graph_marker_new      (gint64                   time_usec,
                                                 const char              *kind,
                                                 const char              *text,
                                                 const GdkRGBA           *color);
CohortGraphMarker *cohort_graph_marker_copy     (const CohortGraphMarker *marker);
void               cohort_graph_marker_free     (CohortGraphMarker       *marker);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CohortGraphMarker, cohort_graph_marker_free)

#define COHORT_TYPE_GRAPH (cohort_graph_get_type ())

G_DECLARE_FINAL_TYPE (CohortGraph, cohort_graph, COHORT, GRAPH, GtkWidget)

GtkWidget       *cohort_graph_new              (void);
const char      *cohort_graph_get_title        (CohortGraph     *self);
void             cohort_graph_set_title        (CohortGraph     *self,
                                                const char      *title);
CohortGraphUnit  cohort_graph_get_unit         (CohortGraph     *self);
void             cohort_graph_set_unit         (CohortGraph     *self,
                                                CohortGraphUnit  unit);
guint            cohort_graph_get_span         (CohortGraph     *self);
void             cohort_graph_set_span         (CohortGraph     *self,
                                                guint            span);
double           cohort_graph_get_fixed_max    (CohortGraph     *self);
void             cohort_graph_set_fixed_max    (CohortGraph     *self,
                                                double           fixed_max);
void             cohort_graph_set_line         (CohortGraph     *self,
                                                const char      *key,
                                                CohortSeries    *series,
                                                const GdkRGBA   *color,
                                                const char      *label);
void             cohort_graph_set_line_dashed  (CohortGraph     *self,
                                                const char      *key,
                                                gboolean         dashed);
void             cohort_graph_remove_line      (CohortGraph     *self,
                                                const char      *key);
void             cohort_graph_clear_lines      (CohortGraph     *self);
void             cohort_graph_set_markers      (CohortGraph     *self,
                                                GPtrArray       *markers);
void             cohort_graph_queue_update     (CohortGraph     *self);
void             cohort_graph_color_for_index  (guint            index,
                                                GdkRGBA         *out);

G_END_DECLS
