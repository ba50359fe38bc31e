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

/* Traces ------------------------------------------------------------------ */

/* Both halves follow one series and remember the last sample they took
 * in; anything else (another series, a resized one, a window or scale
 * that moved the wrong way) starts them again from the series. Points are
 * thinned at x = time × px_per_usec, without the offset: thinning only
 * looks at differences, so the kept points hold as the window slides, and
 * the offset is added when they are handed out. */
typedef struct
{
  gint64 time;
  double value;
} Sample;

struct _CohortTrace
{
  /* The line */
  CohortSeries  *series;
  guint          capacity;
  double         px_per_usec;
  double         y_bottom;
  double         px_per_unit;
  double         tolerance;
  gint64         fed;          /* the last sample thinned, 0: none yet */
  gint64         start;        /* the window's start when last handed out */
  CohortThinner  thinner;
  GArray        *kept;         /* CohortPoint, from index first on */
  guint          first;

  /* The largest value since a time: a queue of samples, each larger than
   * every later one (the candidates for the largest once the earlier ones
   * leave the window), from index max_first on. */
  CohortSeries  *max_series;
  guint          max_capacity;
  gint64         max_fed;
  gint64         max_since;
  GArray        *maxima;       /* Sample */
  guint          max_first;
};

CohortTrace *
cohort_trace_new (void)
{
  CohortTrace *self = g_new0 (CohortTrace, 1);

  self->kept = g_array_new (FALSE, FALSE, sizeof (CohortPoint));
  self->maxima = g_array_new (FALSE, FALSE, sizeof (Sample));
  return self;
}

void
cohort_trace_free (CohortTrace *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->series, cohort_series_unref);
  g_clear_pointer (&self->max_series, cohort_series_unref);
  g_array_unref (self->kept);
  g_array_unref (self->maxima);
  g_free (self);
}

static void
follow (CohortSeries **followed,
        CohortSeries  *series)
{
  if (*followed != series)
    {
      cohort_series_ref (series);
      g_clear_pointer (followed, cohort_series_unref);
      *followed = series;
    }
}

/* Whether @series still holds every sample after @fed, the last one
 * taken in (0: none yet): not when the ring went round past it, or the
 * series was cleared. */
static gboolean
has_all_since (CohortSeries *series,
               gint64        fed)
{
  guint length = cohort_series_get_length (series);

  return fed != 0
         && (length == 0
             || (cohort_series_get_time (series, 0) <= fed
                 && cohort_series_get_time (series, length - 1) >= fed));
}

/* Drops a consumed prefix of @array once it is most of it. */
static void
compact (GArray *array,
         guint  *first)
{
  if (*first >= 256 && *first * 2 >= array->len)
    {
      g_array_remove_range (array, 0, *first);
      *first = 0;
    }
}

/* cohort_series_foreach() callbacks: one sample more for the line, and
 * for the queue of maxima. */
static void
thin_sample (gint64   time_usec,
             double   value,
             gpointer data)
{
  CohortTrace *self = data;

  if (isnan (value))
    cohort_thinner_end (&self->thinner);
  else
    cohort_thinner_add (&self->thinner, (double) time_usec * self->px_per_usec,
                        self->y_bottom - value * self->px_per_unit);
  self->fed = time_usec;
}

static void
queue_sample (gint64   time_usec,
              double   value,
              gpointer data)
{
  CohortTrace *self = data;
  Sample sample = { time_usec, value };

  self->max_fed = time_usec;
  if (isnan (value))
    return;
  while (self->maxima->len > self->max_first
         && g_array_index (self->maxima, Sample, self->maxima->len - 1).value <= value)
    g_array_set_size (self->maxima, self->maxima->len - 1);
  g_array_append_val (self->maxima, sample);
}

/**
 * cohort_trace_points:
 * @series: the samples
 * @scale: where they go
 * @start_usec: the window's left edge: the line starts at the last point
 *   kept at or before it, so that it enters from the edge
 * @out: (out caller-allocates): emptied, then the thinned line in pixels,
 *   every run ended by a break (as cohort_thinner_end() leaves it)
 *
 * The same line as thinning every sample from the last one at or before
 * @start_usec, within the tolerance; it may start further left.
 */
void
cohort_trace_points (CohortTrace            *self,
                     CohortSeries           *series,
                     const CohortTraceScale *scale,
                     gint64                  start_usec,
                     GArray                 *out)
{
  double x_start;

  g_return_if_fail (self != NULL && series != NULL && scale != NULL);
  g_return_if_fail (out != NULL && g_array_get_element_size (out) == sizeof (CohortPoint));

  if (self->series != series
      || self->capacity != cohort_series_get_capacity (series)
      || self->px_per_usec != scale->px_per_usec
      || self->y_bottom != scale->y_bottom
      || self->px_per_unit != scale->px_per_unit
      || self->tolerance != scale->tolerance
      || start_usec < self->start
      || !has_all_since (series, self->fed))
    {
      guint from = cohort_series_find (series, start_usec);

      follow (&self->series, series);
      self->capacity = cohort_series_get_capacity (series);
      self->px_per_usec = scale->px_per_usec;
      self->y_bottom = scale->y_bottom;
      self->px_per_unit = scale->px_per_unit;
      self->tolerance = scale->tolerance;
      g_array_set_size (self->kept, 0);
      self->first = 0;
      cohort_thinner_init (&self->thinner, self->kept, scale->tolerance);
      /* From the last sample at or before the start (0: every one). */
      self->fed = from > 0 ? cohort_series_get_time (series, from - 1) - 1 : 0;
    }
  cohort_series_foreach (series, self->fed, thin_sample, self);
  self->start = start_usec;

  /* Leave out what lies wholly left of the window: a run that ends
   * before it, a point whose successor is at or before it. */
  x_start = (double) start_usec * self->px_per_usec;
  while (self->first + 1 < self->kept->len)
    {
      const CohortPoint *a = &g_array_index (self->kept, CohortPoint, self->first);
      const CohortPoint *b = a + 1;

      if (COHORT_POINT_IS_BREAK (a))
        self->first++;
      else if (COHORT_POINT_IS_BREAK (b) && a->x < x_start)
        self->first += 2;
      else if (!COHORT_POINT_IS_BREAK (b) && b->x <= x_start)
        self->first++;
      else
        break;
    }
  compact (self->kept, &self->first);

  g_array_set_size (out, 0);
  for (guint i = self->first; i < self->kept->len; i++)
    {
      CohortPoint point = g_array_index (self->kept, CohortPoint, i);

      if (!COHORT_POINT_IS_BREAK (&point))
        point.x += scale->x_offset;
      g_array_append_val (out, point);
    }
  /* The point still pending, and the end of the run, as if it ended. */
  if (self->thinner.points > 0)
    {
      static const CohortPoint end = { NAN, NAN };

      if (self->thinner.points >= 2)
        {
          CohortPoint point = self->thinner.p;

          point.x += scale->x_offset;
          g_array_append_val (out, point);
        }
      g_array_append_val (out, end);
    }
}

/**
 * cohort_trace_get_max:
 * @series: the samples
 * @since_usec: the samples after this time count
 * @max: (out): the largest of them (NAN values left out)
 *
 * As cohort_series_get_range() gives it, without going through them all.
 *
 * Returns: FALSE when there is none
 */
gboolean
cohort_trace_get_max (CohortTrace  *self,
                      CohortSeries *series,
                      gint64        since_usec,
                      double       *max)
{
  g_return_val_if_fail (self != NULL && series != NULL && max != NULL, FALSE);

  if (self->max_series != series
      || self->max_capacity != cohort_series_get_capacity (series)
      || since_usec < self->max_since
      || !has_all_since (series, self->max_fed))
    {
      follow (&self->max_series, series);
      self->max_capacity = cohort_series_get_capacity (series);
      g_array_set_size (self->maxima, 0);
      self->max_first = 0;
      self->max_fed = since_usec;
    }
  self->max_since = since_usec;
  cohort_series_foreach (series, self->max_fed, queue_sample, self);

  while (self->max_first < self->maxima->len
         && g_array_index (self->maxima, Sample, self->max_first).time <= since_usec)
    self->max_first++;
  compact (self->maxima, &self->max_first);

  if (self->max_first >= self->maxima->len)
    {
      *max = NAN;
      return FALSE;
    }
  *max = g_array_index (self->maxima, Sample, self->max_first).value;
  return TRUE;
}
