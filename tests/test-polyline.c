/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-polyline.c: the graphs' line thinning keeps every point of the
 * picture within its tolerance: flat runs shrink to their ends, spikes,
 * dips and steps stay, gaps stay gaps, and random walks are drawn within
 * the tolerance at every sample. */

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

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/Cohort/Polyline/flat", test_flat);
  g_test_add_func ("/Cohort/Polyline/spike-dip-step", test_spike_dip_step);
  g_test_add_func ("/Cohort/Polyline/gaps", test_gaps);
  g_test_add_func ("/Cohort/Polyline/random-walks", test_random_walks);
  return g_test_run ();
}
