/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-line-reader.c: the framing of worker output: split, joined and
 * over-long lines, with memory bounded by the line limit. */

#include "config.h"

#include <string.h>

#include "cohort-line-reader.h"

typedef struct
{
  GPtrArray *lines;
  guint      truncated;
} Collected;

static void
collect (const char *line,
         gsize       length,
         gboolean    truncated,
         gpointer    user_data)
{
  Collected *c = user_data;

  g_ptr_array_add (c->lines, g_strndup (line, length));
  c->truncated += truncated;
}

static void
test_split_and_joined (void)
{
  Collected c = { g_ptr_array_new_with_free_func (g_free), 0 };
  g_autoptr(CohortLineReader) reader = cohort_line_reader_new (64, collect, &c);

  /* Several lines in one read, one line over several reads, CRLF. */
  cohort_line_reader_feed (reader, "one\ntwo\nthr", 11);
  cohort_line_reader_feed (reader, "ee", 2);
  cohort_line_reader_feed (reader, "\r\n\nlast", 7);
  g_assert_cmpuint (c.lines->len, ==, 4);
  g_assert_cmpuint (cohort_line_reader_get_pending (reader), ==, 4);
  cohort_line_reader_flush (reader);

  g_assert_cmpuint (c.lines->len, ==, 5);
  g_assert_cmpstr (g_ptr_array_index (c.lines, 0), ==, "one");
  g_assert_cmpstr (g_ptr_array_index (c.lines, 1), ==, "two");
  g_assert_cmpstr (g_ptr_array_index (c.lines, 2), ==, "three");
  g_assert_cmpstr (g_ptr_array_index (c.lines, 3), ==, "");
  g_assert_cmpstr (g_ptr_array_index (c.lines, 4), ==, "last");
  g_assert_cmpuint (c.truncated, ==, 0);
  g_ptr_array_unref (c.lines);
}

/* What reserve() can hand out without growing the buffer. */
static void
test_spare (void)
{
  Collected c = { g_ptr_array_new_with_free_func (g_free), 0 };
  g_autoptr(CohortLineReader) reader = cohort_line_reader_new (1024, collect, &c);
  char *buffer;
  gsize spare;

  g_assert_cmpuint (cohort_line_reader_get_spare (reader), ==, 0);
  buffer = cohort_line_reader_reserve (reader, 100);
  spare = cohort_line_reader_get_spare (reader);
  g_assert_cmpuint (spare, >=, 100);

  /* A line under way and a whole one: the whole one leaves room. */
  memcpy (buffer, "done\npart", 9);
  cohort_line_reader_commit (reader, 9);
  g_assert_cmpuint (c.lines->len, ==, 1);
  g_assert_cmpuint (cohort_line_reader_get_spare (reader), ==, spare - 4);

  /* Reserving all of it does not move the buffer. */
  buffer = cohort_line_reader_reserve (reader, spare - 4);
  g_assert_true (buffer == cohort_line_reader_reserve (reader, spare - 4));
  g_assert_cmpmem (buffer - 4, 4, "part", 4);
  g_assert_cmpuint (cohort_line_reader_get_spare (reader), ==, spare - 4);
  g_ptr_array_unref (c.lines);
}

static void
test_over_long (void)
{
  Collected c = { g_ptr_array_new_with_free_func (g_free), 0 };
  g_autoptr(CohortLineReader) reader = cohort_line_reader_new (8, collect, &c);
  char block[1000];

  /* A line that never ends: reported once, cut, and never buffered past
   * the limit however much follows. */
  memset (block, 'x', sizeof block);
  cohort_line_reader_feed (reader, "abc", 3);
  for (guint i = 0; i < 1000; i++)
    {
      cohort_line_reader_feed (reader, block, sizeof block);
      g_assert_cmpuint (cohort_line_reader_get_pending (reader), <=, 8);
    }
  g_assert_cmpuint (c.lines->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (c.lines, 0), ==, "abcxxxxx");
  g_assert_cmpuint (c.truncated, ==, 1);

  /* Once it ends, the next line is whole again. */
  cohort_line_reader_feed (reader, "tail\nok\n", 8);
  g_assert_cmpuint (c.lines->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (c.lines, 1), ==, "ok");

  /* Exactly at the limit is whole; one more is cut. */
  cohort_line_reader_feed (reader, "12345678\n123456789\n", 19);
  g_assert_cmpuint (c.lines->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (c.lines, 2), ==, "12345678");
  g_assert_cmpstr (g_ptr_array_index (c.lines, 3), ==, "12345678");
  g_assert_cmpuint (c.truncated, ==, 2);
  g_ptr_array_unref (c.lines);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/Cohort/LineReader/split-and-joined", test_split_and_joined);
  g_test_add_func ("/Cohort/LineReader/over-long", test_over_long);
  g_test_add_func ("/Cohort/LineReader/spare", test_spare);
  return g_test_run ();
}
