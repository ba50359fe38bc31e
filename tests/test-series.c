/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-series.c: the ring buffer behind the graphs: order, wrap-around,
 * gaps, resizing, statistics, memory fixed by the capacity, and series
 * that share their times. */

#include "config.h"

#include <math.h>

#include "cohort-series.h"

/* Sample k of a test run: distinct, increasing times and values that tell
 * which push they came from. */
#define TIME_OF(k)  ((gint64) 1000000 + (gint64) (k) * 1000)
#define VALUE_OF(k) ((double) (k) * 0.5)

/* Checks that @series holds exactly samples first..last, oldest first. */
static void
assert_holds (CohortSeries *series,
              guint         first,
              guint         last)
{
  guint length = last - first + 1;

  g_assert_cmpuint (cohort_series_get_length (series), ==, length);
  for (guint i = 0; i < length; i++)
    {
      g_assert_cmpint (cohort_series_get_time (series, i), ==, TIME_OF (first + i));
      g_assert_cmpfloat (cohort_series_get_value (series, i), ==, VALUE_OF (first + i));
    }
  g_assert_cmpint (cohort_series_get_last_time (series), ==, TIME_OF (last));
  g_assert_cmpfloat (cohort_series_get_last (series), ==, VALUE_OF (last));
}

static void
test_push_and_read (void)
{
  g_autoptr(CohortSeries) series = cohort_series_new (5);
  CohortSeries *copy;

  g_assert_cmpuint (cohort_series_get_capacity (series), ==, 5);
  g_assert_cmpuint (cohort_series_get_length (series), ==, 0);
  g_assert_true (isnan (cohort_series_get_last (series)));
  g_assert_cmpint (cohort_series_get_last_time (series), ==, 0);

  for (guint k = 1; k <= 3; k++)
    {
      cohort_series_push (series, TIME_OF (k), VALUE_OF (k));
      assert_holds (series, 1, k);
    }

  /* Boxed copies share the one ring. */
  copy = g_boxed_copy (COHORT_TYPE_SERIES, series);
  g_assert_true (copy == series);
  g_boxed_free (COHORT_TYPE_SERIES, copy);
  assert_holds (series, 1, 3);
}

static void
test_wrap_around (void)
{
  static const guint capacities[] = { 1, 2, 7, 600 };

  for (guint c = 0; c < G_N_ELEMENTS (capacities); c++)
    {
      guint capacity = capacities[c];
      g_autoptr(CohortSeries) series = cohort_series_new (capacity);
      guint pushes = 5 * capacity + 3;

      /* Every index after every push, so that each position of the head
       * in the ring is seen several times. */
      for (guint k = 1; k <= pushes; k++)
        {
          cohort_series_push (series, TIME_OF (k), VALUE_OF (k));
          assert_holds (series, k > capacity ? k - capacity + 1 : 1, k);
          g_assert_cmpuint (cohort_series_get_capacity (series), ==, capacity);
        }
    }
}

static void
test_gaps (void)
{
  g_autoptr(CohortSeries) series = cohort_series_new (8);
  double min = 0;
  double max = 0;

  /* All gaps: kept, but no statistics. */
  cohort_series_push (series, TIME_OF (1), NAN);
  cohort_series_push (series, TIME_OF (2), NAN);
  g_assert_cmpuint (cohort_series_get_length (series), ==, 2);
  g_assert_true (isnan (cohort_series_get_last (series)));
  g_assert_false (cohort_series_get_range (series, 0, &min, &max));
  g_assert_true (isnan (min));
  g_assert_true (isnan (max));
  g_assert_true (isnan (cohort_series_get_mean (series, 0)));

  cohort_series_push (series, TIME_OF (3), 4.0);
  cohort_series_push (series, TIME_OF (4), NAN);
  cohort_series_push (series, TIME_OF (5), -2.0);
  cohort_series_push (series, TIME_OF (6), 10.0);
  cohort_series_push (series, TIME_OF (7), NAN);

  g_assert_cmpuint (cohort_series_get_length (series), ==, 7);
  g_assert_true (isnan (cohort_series_get_value (series, 3)));
  g_assert_cmpint (cohort_series_get_time (series, 3), ==, TIME_OF (4));
  g_assert_true (isnan (cohort_series_get_last (series)));
  g_assert_cmpint (cohort_series_get_last_time (series), ==, TIME_OF (7));

  g_assert_true (cohort_series_get_range (series, 0, &min, &max));
  g_assert_cmpfloat (min, ==, -2.0);
  g_assert_cmpfloat (max, ==, 10.0);
  g_assert_cmpfloat_with_epsilon (cohort_series_get_mean (series, 0), 4.0, 1e-12);

  /* Either bound may be left out. */
  g_assert_true (cohort_series_get_range (series, 0, NULL, &max));
  g_assert_cmpfloat (max, ==, 10.0);
  g_assert_true (cohort_series_get_range (series, 0, &min, NULL));
  g_assert_cmpfloat (min, ==, -2.0);

  /* "Newer than": the sample at since itself is left out. */
  g_assert_true (cohort_series_get_range (series, TIME_OF (5), &min, &max));
  g_assert_cmpfloat (min, ==, 10.0);
  g_assert_cmpfloat (max, ==, 10.0);
  g_assert_cmpfloat (cohort_series_get_mean (series, TIME_OF (5)), ==, 10.0);
  g_assert_true (cohort_series_get_range (series, TIME_OF (4), &min, &max));
  g_assert_cmpfloat (min, ==, -2.0);
  g_assert_cmpfloat_with_epsilon (cohort_series_get_mean (series, TIME_OF (4)), 4.0, 1e-12);

  /* Only gaps after since, or nothing at all. */
  g_assert_false (cohort_series_get_range (series, TIME_OF (6), &min, &max));
  g_assert_true (isnan (cohort_series_get_mean (series, TIME_OF (6))));
  g_assert_false (cohort_series_get_range (series, TIME_OF (99), &min, &max));
  g_assert_true (isnan (cohort_series_get_mean (series, TIME_OF (99))));
}

static void
test_resize (void)
{
  g_autoptr(CohortSeries) series = cohort_series_new (7);

  /* Wrapped first, so the copy has to unroll the ring. */
  for (guint k = 1; k <= 12; k++)
    cohort_series_push (series, TIME_OF (k), VALUE_OF (k));
  assert_holds (series, 6, 12);

  /* Smaller keeps the newest. */
  cohort_series_resize (series, 4);
  g_assert_cmpuint (cohort_series_get_capacity (series), ==, 4);
  assert_holds (series, 9, 12);

  /* Larger keeps all, and the ring goes on from there. */
  cohort_series_resize (series, 10);
  g_assert_cmpuint (cohort_series_get_capacity (series), ==, 10);
  assert_holds (series, 9, 12);
  for (guint k = 13; k <= 25; k++)
    {
      cohort_series_push (series, TIME_OF (k), VALUE_OF (k));
      assert_holds (series, k > 18 ? k - 9 : 9, k);
    }

  /* The same capacity is a no-op; down to one keeps the last. */
  cohort_series_resize (series, 10);
  assert_holds (series, 16, 25);
  cohort_series_resize (series, 1);
  assert_holds (series, 25, 25);

  /* An empty series stays empty. */
  cohort_series_clear (series);
  cohort_series_resize (series, 3);
  g_assert_cmpuint (cohort_series_get_length (series), ==, 0);
  g_assert_cmpuint (cohort_series_get_capacity (series), ==, 3);
}

static void
test_clear (void)
{
  g_autoptr(CohortSeries) series = cohort_series_new (3);

  for (guint k = 1; k <= 5; k++)
    cohort_series_push (series, TIME_OF (k), VALUE_OF (k));
  cohort_series_clear (series);

  g_assert_cmpuint (cohort_series_get_length (series), ==, 0);
  g_assert_cmpuint (cohort_series_get_capacity (series), ==, 3);
  g_assert_true (isnan (cohort_series_get_last (series)));
  g_assert_cmpint (cohort_series_get_last_time (series), ==, 0);
  g_assert_false (cohort_series_get_range (series, 0, NULL, NULL));
  g_assert_true (isnan (cohort_series_get_mean (series, 0)));

  /* Usable again, and times may start over: nothing is left to clamp to. */
  cohort_series_push (series, TIME_OF (1), VALUE_OF (1));
  cohort_series_push (series, TIME_OF (2), VALUE_OF (2));
  assert_holds (series, 1, 2);
}

typedef struct
{
  GArray *times;
  GArray *values;
} Seen;

static void
collect (gint64   time_usec,
         double   value,
         gpointer user_data)
{
  Seen *seen = user_data;

  g_array_append_val (seen->times, time_usec);
  g_array_append_val (seen->values, value);
}

static void
seen_reset (Seen *seen)
{
  g_array_set_size (seen->times, 0);
  g_array_set_size (seen->values, 0);
}

static void
test_foreach (void)
{
  g_autoptr(CohortSeries) series = cohort_series_new (6);
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  Seen seen = { times, values };

  /* Empty: never called. */
  cohort_series_foreach (series, 0, collect, &seen);
  g_assert_cmpuint (times->len, ==, 0);

  /* Samples 5..10 are held, across the end of the arrays. */
  for (guint k = 1; k <= 10; k++)
    cohort_series_push (series, TIME_OF (k), k == 8 ? NAN : VALUE_OF (k));

  cohort_series_foreach (series, 0, collect, &seen);
  g_assert_cmpuint (times->len, ==, 6);
  for (guint i = 0; i < 6; i++)
    {
      guint k = 5 + i;

      g_assert_cmpint (g_array_index (times, gint64, i), ==, TIME_OF (k));
      if (k == 8)
        g_assert_true (isnan (g_array_index (values, double, i)));
      else
        g_assert_cmpfloat (g_array_index (values, double, i), ==, VALUE_OF (k));
    }

  /* Strictly newer than since, whether since falls on a sample or between. */
  seen_reset (&seen);
  cohort_series_foreach (series, TIME_OF (7), collect, &seen);
  g_assert_cmpuint (times->len, ==, 3);
  g_assert_cmpint (g_array_index (times, gint64, 0), ==, TIME_OF (8));
  g_assert_cmpint (g_array_index (times, gint64, 2), ==, TIME_OF (10));

  seen_reset (&seen);
  cohort_series_foreach (series, TIME_OF (7) - 1, collect, &seen);
  g_assert_cmpuint (times->len, ==, 4);
  g_assert_cmpint (g_array_index (times, gint64, 0), ==, TIME_OF (7));

  seen_reset (&seen);
  cohort_series_foreach (series, TIME_OF (1), collect, &seen);
  g_assert_cmpuint (times->len, ==, 6);

  seen_reset (&seen);
  cohort_series_foreach (series, TIME_OF (10), collect, &seen);
  g_assert_cmpuint (times->len, ==, 0);
}

static void
test_time_clamping (void)
{
  g_autoptr(CohortSeries) series = cohort_series_new (4);

  cohort_series_push (series, 5000, 1.0);
  cohort_series_push (series, 3000, 2.0);   /* the clock stepped back */
  cohort_series_push (series, 5000, 3.0);   /* equal is kept as is */
  cohort_series_push (series, 7000, 4.0);
  cohort_series_push (series, 1, 5.0);      /* and back again, wrapped */

  g_assert_cmpuint (cohort_series_get_length (series), ==, 4);
  g_assert_cmpint (cohort_series_get_time (series, 0), ==, 5000);
  g_assert_cmpfloat (cohort_series_get_value (series, 0), ==, 2.0);
  g_assert_cmpint (cohort_series_get_time (series, 1), ==, 5000);
  g_assert_cmpint (cohort_series_get_time (series, 2), ==, 7000);
  g_assert_cmpint (cohort_series_get_time (series, 3), ==, 7000);
  g_assert_cmpfloat (cohort_series_get_last (series), ==, 5.0);
  g_assert_cmpint (cohort_series_get_last_time (series), ==, 7000);

  /* Clamped samples take part in "newer than" like any other. */
  g_assert_cmpfloat_with_epsilon (cohort_series_get_mean (series, 5000), 4.5, 1e-12);
}

static void
test_memory_fixed (void)
{
  g_autoptr(CohortSeries) series = cohort_series_new (600);
  double min;
  double max;

  /* A day and a half of 1 Hz samples, pushed in one go. */
  for (guint k = 1; k <= 1000000; k++)
    {
      cohort_series_push (series, TIME_OF (k), (double) (k % 1000));
      if (k % 100000 == 0)
        {
          g_assert_cmpuint (cohort_series_get_capacity (series), ==, 600);
          g_assert_cmpuint (cohort_series_get_length (series), ==, 600);
        }
    }

  g_assert_cmpuint (cohort_series_get_capacity (series), ==, 600);
  g_assert_cmpuint (cohort_series_get_length (series), ==, 600);
  g_assert_cmpint (cohort_series_get_time (series, 0), ==, TIME_OF (1000000 - 599));
  g_assert_cmpint (cohort_series_get_last_time (series), ==, TIME_OF (1000000));
  g_assert_cmpfloat (cohort_series_get_last (series), ==, 0.0);

  /* The last 600 are 401..999 then 0. */
  g_assert_true (cohort_series_get_range (series, 0, &min, &max));
  g_assert_cmpfloat (min, ==, 0.0);
  g_assert_cmpfloat (max, ==, 999.0);
}

static void
test_bad_arguments (void)
{
  g_autoptr(CohortSeries) series = cohort_series_new (2);

  /* Misuse is a critical and a harmless answer, not a read past the ring.
   * The criticals come from the core library's log domain. */
  g_test_expect_message ("Cohort", G_LOG_LEVEL_CRITICAL, "*capacity >= 1*");
  g_assert_null (cohort_series_new (0));
  g_test_assert_expected_messages ();

  cohort_series_push (series, TIME_OF (1), VALUE_OF (1));
  g_test_expect_message ("Cohort", G_LOG_LEVEL_CRITICAL, "*index < self->ring->length*");
  g_assert_true (isnan (cohort_series_get_value (series, 1)));
  g_test_assert_expected_messages ();

  g_test_expect_message ("Cohort", G_LOG_LEVEL_CRITICAL, "*capacity >= 1*");
  cohort_series_resize (series, 0);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (cohort_series_get_capacity (series), ==, 2);
}

/* Series that share their times: a row at a time, each its own values,
 * resized and freed together. */
static void
test_columns (void)
{
  CohortSeries *series[3];
  double row[3];

  cohort_series_new_columns (4, 3, series);
  for (guint k = 1; k <= 6; k++)
    {
      for (guint c = 0; c < 3; c++)
        row[c] = c == 1 && k == 5 ? NAN : VALUE_OF (k) + 100 * c;
      cohort_series_push_row (series[1], TIME_OF (k), row);
    }

  for (guint c = 0; c < 3; c++)
    {
      g_assert_cmpuint (cohort_series_get_capacity (series[c]), ==, 4);
      g_assert_cmpuint (cohort_series_get_length (series[c]), ==, 4);
      for (guint i = 0; i < 4; i++)
        {
          guint k = 3 + i;

          g_assert_cmpint (cohort_series_get_time (series[c], i), ==, TIME_OF (k));
          if (c == 1 && k == 5)
            g_assert_true (isnan (cohort_series_get_value (series[c], i)));
          else
            g_assert_cmpfloat (cohort_series_get_value (series[c], i), ==, VALUE_OF (k) + 100 * c);
        }
      g_assert_cmpfloat (cohort_series_get_last (series[c]), ==, VALUE_OF (6) + 100 * c);
    }
  g_assert_cmpfloat (cohort_series_get_mean (series[1], 0), ==, (VALUE_OF (3) + VALUE_OF (4) + VALUE_OF (6)) / 3 + 100);

  /* One resize is everyone's, oldest dropped. */
  cohort_series_resize (series[0], 2);
  for (guint c = 0; c < 3; c++)
    {
      g_assert_cmpuint (cohort_series_get_capacity (series[c]), ==, 2);
      g_assert_cmpuint (cohort_series_get_length (series[c]), ==, 2);
      g_assert_cmpint (cohort_series_get_time (series[c], 0), ==, TIME_OF (5));
      g_assert_cmpfloat (cohort_series_get_last (series[c]), ==, VALUE_OF (6) + 100 * c);
    }

  /* A lone push would leave the others a row short. */
  g_test_expect_message ("Cohort", G_LOG_LEVEL_CRITICAL, "*n_columns == 1*");
  cohort_series_push (series[0], TIME_OF (7), 1.0);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (cohort_series_get_length (series[0]), ==, 2);

  /* Each has its reference; the last one frees them all (valgrind and the
   * sanitizers check). */
  cohort_series_ref (series[2]);
  for (guint c = 0; c < 3; c++)
    cohort_series_unref (series[c]);
  g_assert_cmpfloat (cohort_series_get_last (series[2]), ==, VALUE_OF (6) + 200);
  cohort_series_unref (series[2]);
}

/* Groups made together share one block, row by row, yet each keeps its
 * own rows: pushed at different times (one filling up, one wrapping
 * round), one resized out of the block, freed in any order. A group big
 * enough for a worker's history goes through the mapped block too. */
static void
test_groups (void)
{
  const guint sizes[] = { 4, 600 };

  for (guint z = 0; z < G_N_ELEMENTS (sizes); z++)
    {
      guint cap = sizes[z];
      CohortSeries *series[3 * 2];
      double row[2];

      cohort_series_new_groups (cap, 2, 3, series);
      /* cap + 3 ticks: group 0 pushes on every one, group 1 on every
       * other, group 2 never. */
      for (guint k = 1; k <= cap + 3; k++)
        for (guint g = 0; g < 2; g++)
          {
            if (g == 1 && k % 2 == 1)
              continue;
            row[0] = VALUE_OF (k) + 1000 * g;
            row[1] = -(VALUE_OF (k) + 1000 * g);
            cohort_series_push_row (series[g * 2], TIME_OF (k), row);
          }

      /* Group 0: wrapped, the last cap rows. */
      g_assert_cmpuint (cohort_series_get_length (series[0]), ==, cap);
      g_assert_cmpuint (cohort_series_get_length (series[1]), ==, cap);
      for (guint i = 0; i < cap; i++)
        {
          guint k = 4 + i;

          g_assert_cmpint (cohort_series_get_time (series[0], i), ==, TIME_OF (k));
          g_assert_cmpfloat (cohort_series_get_value (series[0], i), ==, VALUE_OF (k));
          g_assert_cmpfloat (cohort_series_get_value (series[1], i), ==, -VALUE_OF (k));
        }
      /* Group 1: the even ticks only, the newest cap of them. */
      g_assert_cmpuint (cohort_series_get_length (series[2]), ==, MIN (cap, (cap + 3) / 2));
      g_assert_cmpfloat (cohort_series_get_last (series[2]), ==,
                         VALUE_OF ((cap + 3) / 2 * 2) + 1000);
      g_assert_cmpfloat (cohort_series_get_last (series[3]), ==,
                         -(VALUE_OF ((cap + 3) / 2 * 2) + 1000));
      /* Group 2: untouched by the others' rows. */
      g_assert_cmpuint (cohort_series_get_length (series[4]), ==, 0);
      g_assert_true (isnan (cohort_series_get_last (series[5])));

      /* Group 1 resized out of the block keeps its newest rows; group 0
       * goes on in the block, unchanged. */
      cohort_series_resize (series[3], 2);
      g_assert_cmpuint (cohort_series_get_capacity (series[2]), ==, 2);
      g_assert_cmpfloat (cohort_series_get_last (series[2]), ==,
                         VALUE_OF ((cap + 3) / 2 * 2) + 1000);
      g_assert_cmpuint (cohort_series_get_capacity (series[0]), ==, cap);
      row[0] = 7;
      row[1] = 8;
      cohort_series_push_row (series[4], TIME_OF (cap + 4), row);
      g_assert_cmpfloat (cohort_series_get_last (series[0]), ==, VALUE_OF (cap + 3));
      g_assert_cmpfloat (cohort_series_get_last (series[4]), ==, 7);
      g_assert_cmpfloat (cohort_series_get_last (series[5]), ==, 8);

      /* Freed out of order; the block goes with its last ring
       * (the sanitizers check). */
      for (guint i = 0; i < 6; i++)
        cohort_series_unref (series[(i * 5) % 6]);
    }
}

/* Rings resized together move to one new block together: each keeps its
 * newest rows, and goes on taking its own. */
static void
test_resize_groups (void)
{
  CohortSeries *series[3 * 2];
  CohortSeries *rings[3];
  double row[2];

  cohort_series_new_groups (5, 2, 3, series);
  /* Group g gets 3 + g rows: k = 1 .. 3 + g, values 10 g + k and -(…). */
  for (guint g = 0; g < 3; g++)
    for (guint k = 1; k <= 3 + g; k++)
      {
        row[0] = 10 * g + k;
        row[1] = -row[0];
        cohort_series_push_row (series[g * 2], TIME_OF (k), row);
      }

  /* Any column names its ring. */
  rings[0] = series[1];
  rings[1] = series[2];
  rings[2] = series[5];
  cohort_series_resize_groups (rings, 3, 2);
  for (guint g = 0; g < 3; g++)
    {
      guint last = 3 + g;

      for (guint c = 0; c < 2; c++)
        {
          double sign = c == 0 ? 1 : -1;

          g_assert_cmpuint (cohort_series_get_capacity (series[g * 2 + c]), ==, 2);
          g_assert_cmpuint (cohort_series_get_length (series[g * 2 + c]), ==, 2);
          g_assert_cmpint (cohort_series_get_time (series[g * 2 + c], 0), ==, TIME_OF (last - 1));
          g_assert_cmpfloat (cohort_series_get_value (series[g * 2 + c], 0), ==, sign * (10 * g + last - 1));
          g_assert_cmpfloat (cohort_series_get_value (series[g * 2 + c], 1), ==, sign * (10 * g + last));
        }
    }

  /* Rows pushed now wrap each ring on its own. */
  for (guint g = 0; g < 3; g++)
    {
      row[0] = 100 + g;
      row[1] = -row[0];
      cohort_series_push_row (series[g * 2 + 1], TIME_OF (10), row);
    }
  for (guint g = 0; g < 3; g++)
    {
      g_assert_cmpfloat (cohort_series_get_value (series[g * 2], 0), ==, 10 * g + 3 + g);
      g_assert_cmpfloat (cohort_series_get_last (series[g * 2]), ==, 100 + g);
      g_assert_cmpfloat (cohort_series_get_last (series[g * 2 + 1]), ==, -(100.0 + g));
    }

  for (guint i = 0; i < 6; i++)
    cohort_series_unref (series[i]);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/Cohort/Series/push-and-read", test_push_and_read);
  g_test_add_func ("/Cohort/Series/wrap-around", test_wrap_around);
  g_test_add_func ("/Cohort/Series/gaps", test_gaps);
  g_test_add_func ("/Cohort/Series/resize", test_resize);
  g_test_add_func ("/Cohort/Series/clear", test_clear);
  g_test_add_func ("/Cohort/Series/foreach", test_foreach);
  g_test_add_func ("/Cohort/Series/time-clamping", test_time_clamping);
  g_test_add_func ("/Cohort/Series/memory-fixed", test_memory_fixed);
  g_test_add_func ("/Cohort/Series/bad-arguments", test_bad_arguments);
  g_test_add_func ("/Cohort/Series/columns", test_columns);
  g_test_add_func ("/Cohort/Series/groups", test_groups);
  g_test_add_func ("/Cohort/Series/resize-groups", test_resize_groups);
  return g_test_run ();
}
