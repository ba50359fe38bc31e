/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-series.c: the ring buffer behind every graph.
 *
 * Memory is fixed by the capacity, never by how long Cohort runs: the two
 * arrays are allocated once (again only on resize) and a full ring
 * overwrites its oldest sample. Times never go backwards (an earlier time
 * is clamped to the last), so "newer than" is a binary search, which keeps
 * a graph showing the last minute of a long series cheap. */

#include "config.h"

#include <math.h>

#include "cohort-series.h"

struct _CohortSeries
{
  gint64          *times;
  double          *values;
  guint            capacity;
  guint            head;       /* slot of the oldest sample */
  guint            length;
  gatomicrefcount  ref_count;
};

G_DEFINE_BOXED_TYPE (CohortSeries, cohort_series,
                     cohort_series_ref, cohort_series_unref)

CohortSeries *
cohort_series_new (guint capacity)
{
  CohortSeries *self;

  g_return_val_if_fail (capacity >= 1, NULL);

  self = g_new0 (CohortSeries, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->times = g_new (gint64, capacity);
  self->values = g_new (double, capacity);
  self->capacity = capacity;
  return self;
}

CohortSeries *
cohort_series_ref (CohortSeries *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
cohort_series_unref (CohortSeries *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_free (self->times);
  g_free (self->values);
  g_free (self);
}

guint
cohort_series_get_capacity (CohortSeries *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->capacity;
}

guint
cohort_series_get_length (CohortSeries *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->length;
}

/* The slot of the sample @index places after the oldest. Computed in gsize
 * so that head + index cannot wrap a guint. */
static inline gsize
slot (const CohortSeries *self,
      guint               index)
{
  gsize i = (gsize) self->head + index;

  g_assert (index < self->length);

  return i >= self->capacity ? i - self->capacity : i;
}

void
cohort_series_push (CohortSeries *self,
                    gint64        time_usec,
                    double        value)
{
  gsize i;

  g_return_if_fail (self != NULL);

  /* The wall clock can step back (NTP, a suspend); a graph's x axis must
   * not, and the binary search in first_since() relies on it. */
  if (self->length > 0)
    time_usec = MAX (time_usec, self->times[slot (self, self->length - 1)]);

  if (self->length < self->capacity)
    {
      self->length++;
      i = slot (self, self->length - 1);
    }
  else
    {
      i = self->head;
      self->head = self->head + 1 == self->capacity ? 0 : self->head + 1;
    }

  self->times[i] = time_usec;
  self->values[i] = value;
}

gint64
cohort_series_get_time (CohortSeries *self,
                        guint         index)
{
  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (index < self->length, 0);

  return self->times[slot (self, index)];
}

double
cohort_series_get_value (CohortSeries *self,
                         guint         index)
{
  g_return_val_if_fail (self != NULL, NAN);
  g_return_val_if_fail (index < self->length, NAN);

  return self->values[slot (self, index)];
}

/**
 * cohort_series_peek:
 * @index: of the first sample wanted, below the length
 * @times: (out): the times of the samples from @index on
 * @values: (out): their values
 *
 * The samples from @index on that lie one after the other in memory, for
 * a reader going through many of them (a graph drawing 600 points a
 * line); call again from @index plus the count for the rest. Valid until
 * the series changes.
 *
 * Returns: how many samples @times and @values hold, at least 1
 */
guint
cohort_series_peek (CohortSeries  *self,
                    guint          index,
                    const gint64 **times,
                    const double **values)
{
  guint first;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (index < self->length, 0);

  first = slot (self, index);
  *times = self->times + first;
  *values = self->values + first;
  /* Up to the end of the ring or of the samples, whichever comes first. */
  return MIN (self->capacity - first, self->length - index);
}

double
cohort_series_get_last (CohortSeries *self)
{
  g_return_val_if_fail (self != NULL, NAN);

  if (self->length == 0)
    return NAN;
  return self->values[slot (self, self->length - 1)];
}

gint64
cohort_series_get_last_time (CohortSeries *self)
{
  g_return_val_if_fail (self != NULL, 0);

  if (self->length == 0)
    return 0;
  return self->times[slot (self, self->length - 1)];
}

void
cohort_series_resize (CohortSeries *self,
                      guint         capacity)
{
  gint64 *times;
  double *values;
  guint keep;
  guint skip;

  g_return_if_fail (self != NULL);
  g_return_if_fail (capacity >= 1);

  if (capacity == self->capacity)
    return;

  keep = MIN (self->length, capacity);
  skip = self->length - keep;
  times = g_new (gint64, capacity);
  values = g_new (double, capacity);
  /* Copied oldest first, so the new ring starts at slot 0. */
  for (guint i = 0; i < keep; i++)
    {
      gsize from = slot (self, skip + i);

      times[i] = self->times[from];
      values[i] = self->values[from];
    }

  g_free (self->times);
  g_free (self->values);
  self->times = times;
  self->values = values;
  self->capacity = capacity;
  self->head = 0;
  self->length = keep;
}

void
cohort_series_clear (CohortSeries *self)
{
  g_return_if_fail (self != NULL);

  self->head = 0;
  self->length = 0;
}

/* The index of the oldest sample newer than @since_usec (0: all), or the
 * length when there is none. */
static guint
first_since (const CohortSeries *self,
             gint64              since_usec)
{
  guint lo = 0;
  guint hi = self->length;

  if (since_usec == 0)
    return 0;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (self->times[slot (self, mid)] > since_usec)
        hi = mid;
      else
        lo = mid + 1;
    }
  return lo;
}

/* @min and @max may be NULL; both are NAN when FALSE is returned. */
gboolean
cohort_series_get_range (CohortSeries *self,
                         gint64        since_usec,
                         double       *min,
                         double       *max)
{
  double lo = NAN;
  double hi = NAN;
  gboolean found = FALSE;

  g_return_val_if_fail (self != NULL, FALSE);

  for (guint i = first_since (self, since_usec); i < self->length; i++)
    {
      double v = self->values[slot (self, i)];

      if (isnan (v))
        continue;
      if (!found || v < lo)
        lo = v;
      if (!found || v > hi)
        hi = v;
      found = TRUE;
    }

  if (min != NULL)
    *min = lo;
  if (max != NULL)
    *max = hi;
  return found;
}

double
cohort_series_get_mean (CohortSeries *self,
                        gint64        since_usec)
{
  double sum = 0.0;
  guint n = 0;

  g_return_val_if_fail (self != NULL, NAN);

  for (guint i = first_since (self, since_usec); i < self->length; i++)
    {
      double v = self->values[slot (self, i)];

      if (isnan (v))
        continue;
      sum += v;
      n++;
    }

  return n > 0 ? sum / n : NAN;
}

/* Gaps (NAN) are passed on: a graph breaks its line there. */
void
cohort_series_foreach (CohortSeries     *self,
                       gint64            since_usec,
                       CohortSeriesFunc  func,
                       gpointer          user_data)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (func != NULL);

  for (guint i = first_since (self, since_usec); i < self->length; i++)
    {
      gsize s = slot (self, i);

      func (self->times[s], self->values[s], user_data);
    }
}
