/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-polyline.c: a line is thinned as its points come, left to right:
 * a point is left out when the segment from the last point kept to the
 * next one passes within the tolerance of it, vertically, and of every
 * point left out since. That is kept as the range of slopes from the last
 * point kept that pass within the tolerance of each point left out; a
 * point is dropped only if the slope to the point after it is in the
 * range once narrowed by the point itself. Flat runs (an idle worker's
 * CPU, a steady RSS) become one segment; spikes and steps stay whole.
 * O(1) per point. */

#include "config.h"

#include <math.h>

#include "cohort-polyline.h"

static void
keep (CohortThinner     *self,
      const CohortPoint *point)
{
  g_array_append_vals (self->out, point, 1);
  self->a = *point;
  self->lo = -G_MAXDOUBLE;
  self->hi = G_MAXDOUBLE;
}

/* Points are appended to @out, runs ended by a break point. */
void
cohort_thinner_init (CohortThinner *self,
                     GArray        *out,
                     double         tolerance)
{
  g_return_if_fail (out != NULL && g_array_get_element_size (out) == sizeof (CohortPoint));

  self->out = out;
  self->tolerance = tolerance;
  self->points = 0;
}

void
cohort_thinner_add (CohortThinner *self,
                    double         x,
                    double         y)
{
  CohortPoint q = { x, y };
  double pdx;
  double qdx;

  if (self->points == 0)
    {
      keep (self, &q);
      self->points = 1;
      return;
    }
  if (self->points == 1)
    {
      self->p = q;
      self->points = 2;
      return;
    }

  /* Can the pending point go? Only moving right, and only if the segment
   * to @q passes within reach of it and of every point left out before. */
  pdx = self->p.x - self->a.x;
  qdx = q.x - self->a.x;
  if (pdx > 0.0 && qdx > pdx)
    {
      double lo = MAX (self->lo, (self->p.y - self->tolerance - self->a.y) / pdx);
      double hi = MIN (self->hi, (self->p.y + self->tolerance - self->a.y) / pdx);
      double slope = (q.y - self->a.y) / qdx;

      if (lo <= slope && slope <= hi)
        {
          self->lo = lo;
          self->hi = hi;
          self->p = q;
          self->points++;
          return;
        }
    }

  keep (self, &self->p);
  self->p = q;
  self->points++;
}

/* Ends the run: keeps the pending point, then a break. A run of one
 * point is that point and the break (a dot, for the one drawing it). */
void
cohort_thinner_end (CohortThinner *self)
{
  static const CohortPoint end = { NAN, NAN };

  if (self->points == 0)
    return;
  if (self->points >= 2)
    g_array_append_vals (self->out, &self->p, 1);
  g_array_append_vals (self->out, &end, 1);
  self->points = 0;
}
