/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-series.c: the ring buffer behind every graph.
 *
 * Memory is fixed by the capacity, never by how long Cohort runs: the
 * arrays are allocated once (again only on resize) and a full ring
 * overwrites its oldest sample. Times never go backwards (an earlier time
 * is clamped to the last), so "newer than" is a binary search, which keeps
 * a graph showing the last minute of a long series cheap. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "cohort-series.h"

/* The samples of one series, or of several whose samples come together
 * (a worker's metrics, taken at the same tick): rows of one time and a
 * value per column, side by side. A sampler's tick then writes one row,
 * 72 bytes for a worker's eight metrics, on one page: with a column per
 * array it wrote nine pages per worker, and on a virtual machine whose
 * caches and TLB have gone cold in the second since the last tick each
 * page costs a page walk (that store was a quarter of Cohort's CPU with
 * 64 idle workers). Readers go through a column one row at a time. The
 * ring and its series are one allocation, freed with the last series. */
typedef union
{
  gint64           time;       /* a row's first cell */
  double           value;      /* the others, one per column */
} Cell;

typedef struct
{
  Cell            *cells;      /* row r at r × (1 + n_columns) */
  guint            n_columns;
  guint            capacity;
  guint            head;       /* slot of the oldest row */
  guint            length;
  gint             n_alive;    /* its series not yet freed */
} Ring;

struct _CohortSeries
{
  Ring            *ring;
  guint            column;
  gatomicrefcount  ref_count;
};

G_DEFINE_BOXED_TYPE (CohortSeries, cohort_series,
                     cohort_series_ref, cohort_series_unref)

/**
 * cohort_series_new_columns:
 * @capacity: rows kept
 * @n_columns: how many series
 * @series: (out) (array length=n_columns) (transfer full): the new series
 *
 * @n_columns series that share their times: their samples are pushed
 * together with cohort_series_push_row(). Resizing or clearing one of
 * them resizes or clears them all.
 */
void
cohort_series_new_columns (guint          capacity,
                           guint          n_columns,
                           CohortSeries **series)
{
  Ring *ring;
  CohortSeries *first;

  g_return_if_fail (capacity >= 1);
  g_return_if_fail (n_columns >= 1);
  g_return_if_fail (series != NULL);

  ring = g_malloc0 (sizeof (Ring) + n_columns * sizeof (CohortSeries));
  ring->cells = g_new (Cell, (gsize) (1 + n_columns) * capacity);
  ring->n_columns = n_columns;
  ring->capacity = capacity;
  ring->n_alive = (gint) n_columns;
  first = (CohortSeries *) (ring + 1);
  for (guint c = 0; c < n_columns; c++)
    {
      series[c] = first + c;
      series[c]->ring = ring;
      series[c]->column = c;
      g_atomic_ref_count_init (&series[c]->ref_count);
    }
}

CohortSeries *
cohort_series_new (guint capacity)
{
  CohortSeries *self;

  g_return_val_if_fail (capacity >= 1, NULL);

  cohort_series_new_columns (capacity, 1, &self);
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
  Ring *ring;

  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  ring = self->ring;
  if (!g_atomic_int_dec_and_test (&ring->n_alive))
    return;
  g_free (ring->cells);
  g_free (ring);
}

guint
cohort_series_get_capacity (CohortSeries *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->ring->capacity;
}

guint
cohort_series_get_length (CohortSeries *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->ring->length;
}

/* The slot of the row @index places after the oldest. Computed in gsize
 * so that head + index cannot wrap a guint. */
static inline gsize
slot (const Ring *ring,
      guint       index)
{
  gsize i = (gsize) ring->head + index;

  g_assert (index < ring->length);

  return i >= ring->capacity ? i - ring->capacity : i;
}

/* The row in slot @i. */
static inline Cell *
row (const Ring *ring,
     gsize       i)
{
  return ring->cells + i * (1 + ring->n_columns);
}

static inline gint64
time_at (const Ring *ring,
         gsize       i)
{
  return row (ring, i)->time;
}

/* @self's value in slot @i. */
static inline double
value_at (const CohortSeries *self,
          gsize               i)
{
  return row (self->ring, i)[1 + self->column].value;
}

/**
 * cohort_series_push_row:
 * @values: (array): one value for each series of @self's ring, in order
 *
 * Adds a sample to every series that shares @self's times.
 */
void
cohort_series_push_row (CohortSeries *self,
                        gint64        time_usec,
                        const double *values)
{
  Ring *ring;
  Cell *cells;
  gsize i;

  g_return_if_fail (self != NULL);
  g_return_if_fail (values != NULL);

  ring = self->ring;
  /* The wall clock can step back (NTP, a suspend); a graph's x axis must
   * not, and the binary search in first_since() relies on it. */
  if (ring->length > 0)
    time_usec = MAX (time_usec, time_at (ring, slot (ring, ring->length - 1)));

  if (ring->length < ring->capacity)
    {
      ring->length++;
      i = slot (ring, ring->length - 1);
    }
  else
    {
      i = ring->head;
      ring->head = ring->head + 1 == ring->capacity ? 0 : ring->head + 1;
    }

  cells = row (ring, i);
  cells[0].time = time_usec;
  for (guint c = 0; c < ring->n_columns; c++)
    cells[1 + c].value = values[c];
}

/* A series of its own; one that shares its times takes whole rows. */
void
cohort_series_push (CohortSeries *self,
                    gint64        time_usec,
                    double        value)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (self->ring->n_columns == 1);

  cohort_series_push_row (self, time_usec, &value);
}

gint64
cohort_series_get_time (CohortSeries *self,
                        guint         index)
{
  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (index < self->ring->length, 0);

  return time_at (self->ring, slot (self->ring, index));
}

double
cohort_series_get_value (CohortSeries *self,
                         guint         index)
{
  g_return_val_if_fail (self != NULL, NAN);
  g_return_val_if_fail (index < self->ring->length, NAN);

  return value_at (self, slot (self->ring, index));
}

double
cohort_series_get_last (CohortSeries *self)
{
  g_return_val_if_fail (self != NULL, NAN);

  if (self->ring->length == 0)
    return NAN;
  return value_at (self, slot (self->ring, self->ring->length - 1));
}

gint64
cohort_series_get_last_time (CohortSeries *self)
{
  g_return_val_if_fail (self != NULL, 0);

  if (self->ring->length == 0)
    return 0;
  return time_at (self->ring, slot (self->ring, self->ring->length - 1));
}

/* Resizes every series that shares @self's times. */
void
cohort_series_resize (CohortSeries *self,
                      guint         capacity)
{
  Ring *ring;
  Cell *cells;
  gsize width;
  guint keep;
  guint skip;

  g_return_if_fail (self != NULL);
  g_return_if_fail (capacity >= 1);

  ring = self->ring;
  if (capacity == ring->capacity)
    return;

  keep = MIN (ring->length, capacity);
  skip = ring->length - keep;
  width = 1 + ring->n_columns;
  cells = g_new (Cell, width * capacity);
  /* Copied oldest first, so the new ring starts at slot 0. */
  for (guint i = 0; i < keep; i++)
    memcpy (cells + i * width, row (ring, slot (ring, skip + i)), width * sizeof (Cell));

  g_free (ring->cells);
  ring->cells = cells;
  ring->capacity = capacity;
  ring->head = 0;
  ring->length = keep;
}

/* Clears every series that shares @self's times. */
void
cohort_series_clear (CohortSeries *self)
{
  g_return_if_fail (self != NULL);

  self->ring->head = 0;
  self->ring->length = 0;
}

/* The index of the oldest sample newer than @since_usec (0: all), or the
 * length when there is none. */
static guint
first_since (const Ring *ring,
             gint64      since_usec)
{
  guint lo = 0;
  guint hi = ring->length;

  if (since_usec == 0)
    return 0;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (time_at (ring, slot (ring, mid)) > since_usec)
        hi = mid;
      else
        lo = mid + 1;
    }
  return lo;
}

/**
 * cohort_series_find:
 * @time_usec: a time, or 0 for the first sample
 *
 * Returns: the index of the first sample after @time_usec, or the length
 *   when there is none
 */
guint
cohort_series_find (CohortSeries *self,
                    gint64        time_usec)
{
  g_return_val_if_fail (self != NULL, 0);

  return first_since (self->ring, time_usec);
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

  for (guint i = first_since (self->ring, since_usec); i < self->ring->length; i++)
    {
      double v = value_at (self, slot (self->ring, i));

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

  for (guint i = first_since (self->ring, since_usec); i < self->ring->length; i++)
    {
      double v = value_at (self, slot (self->ring, i));

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

  for (guint i = first_since (self->ring, since_usec); i < self->ring->length; i++)
    {
      gsize s = slot (self->ring, i);

      func (time_at (self->ring, s), value_at (self, s), user_data);
    }
}
