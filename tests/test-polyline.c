/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-polyline.c: the graphs' line thinning keeps every point of the
 * picture within its tolerance: flat runs shrink to their ends, spikes,
 * dips and steps stay, gaps stay gaps, and random walks are drawn within
 * the tolerance at every sample; a trace kept from sample to sample
 * draws what thinning afresh would. */

#include "config.h"

#include <math.h>

#include "cohort-polyline.h"

#define TOL 0.3

static GArray *
thin (const double *ys,
      guint         n)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (CohortPoint));
  CohortThinner t;

  cohort_thinner_init (&t, out, TOL);
  for (guint i = 0; i < n; i++)
    {
      if (isnan (ys[i]))
        cohort_thinner_end (&t);
      else
        cohort_thinner_add (&t, i, ys[i]);
    }
  cohort_thinner_end (&t);
  return out;
}

/* The height of the drawn line at @x, from the run that spans it. */
static gboolean
drawn_at (GArray *out,
          double  x,
          double *y)
{
  for (guint i = 0; i + 1 < out->len; i++)
    {
      CohortPoint *a = &g_array_index (out, CohortPoint, i);
      CohortPoint *b = &g_array_index (out, CohortPoint, i + 1);

      if (COHORT_POINT_IS_BREAK (a) || COHORT_POINT_IS_BREAK (b))
        {
          if (!COHORT_POINT_IS_BREAK (a) && a->x == x)
            {
              *y = a->y;
              return TRUE;
            }
          continue;
        }
      if (a->x <= x && x <= b->x)
        {
          *y = b->x == a->x ? a->y : a->y + (b->y - a->y) * (x - a->x) / (b->x - a->x);
          return TRUE;
        }
    }
  return FALSE;
}

/* Every sample is on the drawn line, within the tolerance. */
static void
assert_faithful (const double *ys,
                 guint         n,
                 GArray       *out)
{
  for (guint i = 0; i < n; i++)
    {
      double y;

      if (isnan (ys[i]))
        continue;
      if (!drawn_at (out, i, &y))
        g_error ("sample %u (%g) is not drawn", i, ys[i]);
      if (fabs (y - ys[i]) > TOL + 1e-9)
        g_error ("sample %u is %g, drawn at %g", i, ys[i], y);
    }
}

static guint
n_points (GArray *out)
{
  guint n = 0;

  for (guint i = 0; i < out->len; i++)
    n += !COHORT_POINT_IS_BREAK (&g_array_index (out, CohortPoint, i));
  return n;
}

static void
test_flat (void)
{
  double ys[600];
  g_autoptr(GArray) out = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (ys); i++)
    ys[i] = 50.0 + (i % 7 == 0 ? 0.2 : 0.0);   /* sampling noise below the tolerance */
  out = thin (ys, G_N_ELEMENTS (ys));
  assert_faithful (ys, G_N_ELEMENTS (ys), out);
  g_assert_cmpuint (n_points (out), <=, 3);
}

static void
test_spike_dip_step (void)
{
  const double spike[] = { 0, 10, 0, 0, 0 };
  const double dip[] = { 50, 50, 50, 10, 50, 50, 50 };
  const double step[] = { 0, 0, 0, 20, 20, 20 };
  const double *cases[] = { spike, dip, step };
  const guint lengths[] = { G_N_ELEMENTS (spike), G_N_ELEMENTS (dip), G_N_ELEMENTS (step) };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GArray) out = thin (cases[c], lengths[c]);

      assert_faithful (cases[c], lengths[c], out);
    }
}

static void
test_gaps (void)
{
  const double ys[] = { 1, 1, 1, NAN, 5, NAN, NAN, 2, 3 };
  g_autoptr(GArray) out = thin (ys, G_N_ELEMENTS (ys));
  guint breaks = 0;

  assert_faithful (ys, G_N_ELEMENTS (ys), out);
  for (guint i = 0; i < out->len; i++)
    breaks += COHORT_POINT_IS_BREAK (&g_array_index (out, CohortPoint, i));
  /* Three runs: 1 1 1, the lone 5 (a dot), 2 3. */
  g_assert_cmpuint (breaks, ==, 3);
}

static void
test_random_walks (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  for (guint round = 0; round < 200; round++)
    {
      double ys[400];
      double level = 50;
      double jitter = round % 2 == 0 ? 0.2 : 6.0;   /* near-flat, and busy */
      g_autoptr(GArray) out = NULL;

      for (guint i = 0; i < G_N_ELEMENTS (ys); i++)
        {
          level = CLAMP (level + g_rand_double_range (rand, -jitter, jitter), 0, 100);
          ys[i] = g_rand_int_range (rand, 0, 50) == 0 ? NAN : level;
        }
      out = thin (ys, G_N_ELEMENTS (ys));
      assert_faithful (ys, G_N_ELEMENTS (ys), out);
    }
}

/* A trace kept from sample to sample draws what thinning the window
 * afresh would: every sample in the window within the tolerance, the line
 * entering from the left edge, gaps kept; and its maximum is the series'
 * own. The ring is smaller than the run (samples fall off), the scale
 * changes now and then (a new ceiling), and the window grows once. */
static void
test_trace (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  g_autoptr(CohortSeries) series = cohort_series_new (300);
  g_autoptr(CohortTrace) trace = cohort_trace_new ();
  g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (CohortPoint));
  const gint64 t0 = G_GINT64_CONSTANT (1790000000) * G_USEC_PER_SEC;
  const double px_per_usec = 1.5 / G_USEC_PER_SEC;
  double level = 50;
  double px_per_unit = 1.0;
  gint64 span = 120;

  for (guint i = 0; i < 1000; i++)
    {
      gint64 now = t0 + (gint64) i * G_USEC_PER_SEC;
      gint64 start;
      CohortTraceScale scale;
      double max;
      double expected_max;
      gboolean any;
      double at_start = NAN;     /* the last sample at or before the start */

      level = CLAMP (level + g_rand_double_range (rand, i % 200 < 100 ? -0.1 : -8, i % 200 < 100 ? 0.1 : 8), 0, 100);
      cohort_series_push (series, now, g_rand_int_range (rand, 0, 40) == 0 ? NAN : level);
      if (i == 500)
        span = 250;                 /* the window grows: the trace starts again */
      if (i % 97 == 0)
        px_per_unit = g_rand_double_range (rand, 0.5, 2.0);   /* a new ceiling */
      start = now - span * G_USEC_PER_SEC;
      scale = (CohortTraceScale) {
        .px_per_usec = px_per_usec,
        .x_offset = 900.0 - (double) now * px_per_usec,
        .y_bottom = 120.0,
        .px_per_unit = px_per_unit,
        .tolerance = TOL,
      };
      cohort_trace_points (trace, series, &scale, start, out);

      for (guint k = 0; k < cohort_series_get_length (series); k++)
        {
          gint64 t = cohort_series_get_time (series, k);
          double v = cohort_series_get_value (series, k);
          double x = (double) t * px_per_usec + scale.x_offset;
          double y;

          if (t <= start)
            at_start = v;
          if (t <= start || isnan (v))
            continue;
          if (!drawn_at (out, x, &y))
            g_error ("step %u: the sample at %" G_GINT64_FORMAT " is not drawn", i, t - t0);
          if (fabs (y - (scale.y_bottom - v * px_per_unit)) > TOL + 1e-6)
            g_error ("step %u: the sample at %" G_GINT64_FORMAT " is %g, drawn at %g",
                     i, t - t0, scale.y_bottom - v * px_per_unit, y);
        }
      /* Into the plot from its left edge, where there was a sample there. */
      if (!isnan (at_start))
        g_assert_cmpfloat (g_array_index (out, CohortPoint, 0).x, <=,
                           (double) start * px_per_usec + scale.x_offset + 1e-6);

      any = cohort_trace_get_max (trace, series, start, &max);
      g_assert_cmpint (any, ==, cohort_series_get_range (series, start, NULL, &expected_max));
      if (any)
        g_assert_cmpfloat (max, ==, expected_max);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/Cohort/Polyline/flat", test_flat);
  g_test_add_func ("/Cohort/Polyline/spike-dip-step", test_spike_dip_step);
  g_test_add_func ("/Cohort/Polyline/gaps", test_gaps);
  g_test_add_func ("/Cohort/Polyline/random-walks", test_random_walks);
  g_test_add_func ("/Cohort/Polyline/trace", test_trace);
  return g_test_run ();
}
