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
#include <sys/mman.h>

#include "cohort-series.h"

/* The samples of one series, or of several whose samples come together
 * (a worker's metrics, taken at the same tick): rows of one time and a
 * value per column, side by side. A sampler's tick then writes one row,
 * 72 bytes for a worker's eight metrics: with a column per array it wrote
 * nine pages per worker, and on a virtual machine whose caches and TLB
 * have gone cold in the second since the last tick each page costs a page
 * walk (that store was a quarter of Cohort's CPU with 64 idle workers).
 * Readers go through a column one row at a time.
 *
 * The rings of a cluster's workers, made together (a group each), go
 * further: they share one block of memory, row by row, so that a tick's
 * rows of all of them are side by side too: 64 workers' rows are two
 * pages, not 64 (one page per worker was still a sixth of an idle
 * Cohort's CPU). A ring keeps its own head and length; rings resized
 * together (cohort_series_resize_groups()) move to a new block together,
 * one resized alone to memory of its own. */
typedef union
{
  gint64           time;       /* a row's first cell */
  double           value;      /* the others, one per column */
} Cell;

typedef struct
{
  Cell            *cells;
  gsize            n_cells;
  gint             n_rings;    /* rings still in it */
} Block;

typedef struct
{
  Block           *block;
  Cell            *cells;      /* row r at r × stride */
  gsize            stride;     /* cells from a row to the next */
  guint            n_columns;
  guint            capacity;
  guint            head;       /* slot of the oldest row */
  guint            length;
  gint64           last_time;  /* the newest row's, while length > 0: a push
                                * reads no older row */
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

/* A block big enough for a worker's ring (600 rows of 72 bytes by
 * default) is a mapping of its own, its pages present from the start: out
 * of the heap, the small things a sampler's tick reads for each worker
 * (its slot, its ring's bookkeeping) sit together on a few pages instead
 * of one page each between the rings; and no tick pays to fault in a
 * fresh page of a ring still filling up. Resident memory is then what a
 * full history takes, from the first tick on. Small blocks stay on the
 * heap. */
#define MAPPED_BLOCK_BYTES (16 * 1024)

static Block *
block_new (gsize n_cells,
           gint  n_rings)
{
  Block *block = g_new (Block, 1);
  gsize bytes = n_cells * sizeof (Cell);

  block->n_cells = n_cells;
  block->n_rings = n_rings;
  if (bytes < MAPPED_BLOCK_BYTES)
    block->cells = g_new (Cell, n_cells);
  else
    {
      block->cells = mmap (NULL, bytes, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
      if (block->cells == MAP_FAILED)
        g_error ("%s: failed to map %" G_GSIZE_FORMAT " bytes", G_STRLOC, bytes);
    }
  return block;
}

/* A ring leaves @block; the last one out frees it. */
static void
block_release (Block *block)
{
  if (--block->n_rings > 0)
    return;
  if (block->n_cells * sizeof (Cell) < MAPPED_BLOCK_BYTES)
    g_free (block->cells);
  else
    munmap (block->cells, block->n_cells * sizeof (Cell));
  g_free (block);
}

/* @ring becomes group @g of @block's @n_groups, @capacity rows; its
 * n_columns is set. What it held is the caller's to move. */
static void
ring_join_block (Ring  *ring,
                 Block *block,
                 guint  g,
                 guint  n_groups,
                 guint  capacity)
{
  gsize width = 1 + (gsize) ring->n_columns;

  ring->block = block;
  ring->cells = block->cells + g * width;
  ring->stride = width * n_groups;
  ring->capacity = capacity;
}

/**
 * cohort_series_new_groups:
 * @capacity: rows kept
 * @n_columns: how many series a group has
 * @n_groups: how many groups
 * @series: (out) (array length=n_columns*n_groups) (transfer full): the
 *   new series, group by group: column c of group g at g × @n_columns + c
 *
 * @n_groups times cohort_series_new_columns(), in one block of memory
 * where the rows the groups take at the same time lie side by side: for
 * things sampled together, such as a cluster's workers.
 */
void
cohort_series_new_groups (guint          capacity,
                          guint          n_columns,
                          guint          n_groups,
                          CohortSeries **series)
{
  gsize width = 1 + (gsize) n_columns;
  Block *block;

  g_return_if_fail (capacity >= 1);
  g_return_if_fail (n_columns >= 1);
  g_return_if_fail (n_groups >= 1);
  g_return_if_fail (series != NULL);

  block = block_new (width * n_groups * capacity, (gint) n_groups);
  for (guint g = 0; g < n_groups; g++)
    {
      Ring *ring = g_malloc0 (sizeof (Ring) + n_columns * sizeof (CohortSeries));
      CohortSeries *first = (CohortSeries *) (ring + 1);

      ring->n_columns = n_columns;
      ring->n_alive = (gint) n_columns;
      ring_join_block (ring, block, g, n_groups, capacity);
      for (guint c = 0; c < n_columns; c++)
        {
          CohortSeries *one = first + c;

          one->ring = ring;
          one->column = c;
          g_atomic_ref_count_init (&one->ref_count);
          series[g * n_columns + c] = one;
        }
    }
}

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
  cohort_series_new_groups (capacity, n_columns, 1, series);
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
  block_release (ring->block);
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
  return ring->cells + i * ring->stride;
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
    time_usec = MAX (time_usec, ring->last_time);
  ring->last_time = time_usec;

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

/**
 * cohort_series_resize_groups:
 * @series: (array length=n_groups): a series of each ring to resize, each
 *   ring once; the rings' series all have as many columns
 *
 * Resizes each ring of @series (every series that shares its times) to
 * @capacity rows, keeping the newest, into one block as
 * cohort_series_new_groups() makes them: things sampled together still
 * write their rows side by side after a change of the history's length.
 */
void
cohort_series_resize_groups (CohortSeries **series,
                             guint          n_groups,
                             guint          capacity)
{
  Block *block;
  gsize width;

  g_return_if_fail (n_groups == 0 || series != NULL);
  g_return_if_fail (capacity >= 1);

  if (n_groups == 0)
    return;
  width = 1 + (gsize) series[0]->ring->n_columns;
  for (guint g = 1; g < n_groups; g++)
    g_return_if_fail (1 + (gsize) series[g]->ring->n_columns == width);

  block = block_new (width * n_groups * capacity, (gint) n_groups);
  for (guint g = 0; g < n_groups; g++)
    {
      Ring *ring = series[g]->ring;
      Ring old = *ring;
      guint keep = MIN (old.length, capacity);

      ring_join_block (ring, block, g, n_groups, capacity);
      /* Copied oldest first, so the new ring starts at slot 0. */
      for (guint i = 0; i < keep; i++)
        memcpy (row (ring, i), row (&old, slot (&old, old.length - keep + i)), width * sizeof (Cell));
      ring->head = 0;
      ring->length = keep;
      block_release (old.block);
    }
}

/* Resizes every series that shares @self's times. */
void
cohort_series_resize (CohortSeries *self,
                      guint         capacity)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (capacity >= 1);

  if (capacity != self->ring->capacity)
    cohort_series_resize_groups (&self, 1, capacity);
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
