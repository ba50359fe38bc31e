/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-polyline.h: thinning a line as its points come, for drawing. */

#pragma once

#include <glib.h>

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

G_END_DECLS
