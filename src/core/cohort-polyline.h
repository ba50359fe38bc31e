/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-polyline.h: thinning a line as its points come, for drawing. */

#pragma once

#include <glib.h>

#include "cohort-series.h"

G_BEGIN_DECLS

typedef struct
{
  double x;
  double y;
} CohortPoint;

/* A point whose x is NAN ends a run (a gap in the line). */
#define COHORT_POINT_IS_BREAK(point) ((point)->x != (point)->x)

typedef struct
{
  /*< private >*/
  GArray      *out;
  double       tolerance;
  guint        points;   /* seen in the current run, the pending one included */
  CohortPoint  a;        /* the last point kept */
  CohortPoint  p;        /* the pending point: seen, not decided */
  double       lo;       /* the slopes from a within tolerance of every point left out */
  double       hi;
} CohortThinner;

void cohort_thinner_init (CohortThinner *self,
                          GArray        *out,
                          double         tolerance);
void cohort_thinner_add  (CohortThinner *self,
                          double         x,
                          double         y);
void cohort_thinner_end  (CohortThinner *self);

/* A series as a graph draws it, kept from one sample to the next: the
 * thinned line and the largest value of the shown window, each brought up
 * to date with the samples that came since, so a sample costs a graph
 * O(1) per line instead of a pass over its whole history. */
typedef struct _CohortTrace CohortTrace;

/* x = time × px_per_usec + x_offset, y = y_bottom − value × px_per_unit. */
typedef struct
{
  double px_per_usec;
  double x_offset;
  double y_bottom;
  double px_per_unit;
  double tolerance;
} CohortTraceScale;

CohortTrace *cohort_trace_new     (void);
void         cohort_trace_free    (CohortTrace            *self);
void         cohort_trace_points  (CohortTrace            *self,
                                   CohortSeries           *series,
                                   const CohortTraceScale *scale,
                                   gint64                  start_usec,
                                   GArray                 *out);
gboolean     cohort_trace_get_max (CohortTrace            *self,
                                   CohortSeries           *series,
                                   gint64                  since_usec,
                                   double                 *max);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CohortTrace, cohort_trace_free)

G_END_DECLS
