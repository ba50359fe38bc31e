/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-json.c: the message JSON of cohort-json.c: the validator against
 * every valid form and every kind of invalid input, the serializer against
 * json-glib (the same compact text where json-glib's is valid JSON, and
 * values that round-trip). */

#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "cohort-json.h"

/* The validator */

static void
assert_valid_len (const char *text,
                  gsize       length)
{
  g_autoptr(GError) error = NULL;

  if (!cohort_json_validate (text, length, NULL, NULL, &error))
    g_error ("valid JSON refused: “%.*s”: %s", (int) MIN (length, 200), text, error->message);
}

static void
assert_valid (const char *text)
{
  assert_valid_len (text, strlen (text));
}

/* @offset is the byte the error names. */
static void
assert_invalid_len (const char      *text,
                    gsize            length,
                    CohortJsonError  code,
                    gsize            offset)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *where = g_strdup_printf ("at byte %" G_GSIZE_FORMAT, offset);
  CohortJsonInfo info = { 0, };

  if (cohort_json_validate (text, length, NULL, &info, &error))
    g_error ("invalid JSON accepted: “%.*s”", (int) MIN (length, 200), text);
  g_assert_error (error, COHORT_JSON_ERROR, (int) code);
  if (!g_str_has_suffix (error->message, where))
    g_error ("“%.*s”: “%s” does not end “%s”", (int) MIN (length, 200), text, error->message, where);
}

static void
assert_invalid (const char      *text,
                CohortJsonError  code,
                gsize            offset)
{
  assert_invalid_len (text, strlen (text), code, offset);
}

static char *
nested (guint       depth,
        const char *inner)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append (s, i % 2 == 0 ? "[" : "{\"k\":");
  g_string_append (s, inner);
  for (guint i = depth; i > 0; i--)
    g_string_append (s, (i - 1) % 2 == 0 ? "]" : "}");
  return g_string_free (s, FALSE);
}

static void
test_validate_valid (void)
{
  static const char * const forms[] = {
    /* numbers */
    "0", "-0", "7", "-7", "1234567890", "0.5", "-0.5", "10.25", "1e5", "1E5",
    "1e+5", "1e-5", "-1.5E-300", "0e0", "123456789012345678901234567890",
    "1.7976931348623157e308",
    /* literals */
    "true", "false", "null",
    /* strings: every escape, pairs, raw UTF-8 of every length and at the
     * edges of RFC 3629, DEL */
    "\"\"", "\"plain\"",
    "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"",
    "\"\\u0000 \\u001f \\u0041 \\u00e9 \\u20AC \\uFFFF \\uD7FF \\uE000\"",
    "\"\\uD83D\\uDE00 \\udbff\\udfff \\uD800\\uDC00\"",
    "\"é € 😀 ü\"",
    "\"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf"
    " \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\"",
    "\"\x7f\"",
    "\"0123456789abcdef0123456789abcdef\\n0123456789abcdef\"",
    /* containers */
    "[]", "{}", "[[]]", "[{}]", "{\"\":{}}", "[1,2,3]", "[\"a\",true,null,1.5]",
    "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
    "{\"a\":1,\"a\":2}",
    /* whitespace anywhere between tokens */
    " \t\r\n[ 1 , { \"a\" : 2 } , [ ] , { } ] \r\n\t ",
    "{\n  \"pretty\": [\n    1,\n    2\n  ]\n}\n",
    "  \"padded\"  ",
  };
  g_autofree char *deepest = nested (COHORT_JSON_MAX_DEPTH, "0");

  for (gsize i = 0; i < G_N_ELEMENTS (forms); i++)
    assert_valid (forms[i]);
  assert_valid (deepest);

  /* A NUL byte escaped is a character like any other. */
  assert_valid_len ("\"a\\u0000b\"", 10);
}

/* Strings of every length around the 8-byte steps, with an escape, raw
 * UTF-8 or a quote at every place. */
static void
test_validate_strings_everywhere (void)
{
  static const char * const inserts[] = { "\\n", "\\\"", "é", "😀", "\\u00e9", "\x7f" };

  for (gsize n = 0; n < 40; n++)
    for (gsize at = 0; at <= n; at++)
      for (gsize k = 0; k < G_N_ELEMENTS (inserts); k++)
        {
          GString *s = g_string_new ("\"");
          g_autofree char *text = NULL;
          gsize bad_at;

          for (gsize i = 0; i < n; i++)
            {
              if (i == at)
                g_string_append (s, inserts[k]);
              g_string_append_c (s, 'a' + i % 26);
            }
          g_string_append_c (s, '"');
          assert_valid (s->str);

          /* The same with a raw newline, then a byte that is not UTF-8,
           * where the insert was. */
          bad_at = 1 + MIN (at, n);
          g_string_insert_c (s, bad_at, '\n');
          assert_invalid (s->str, COHORT_JSON_ERROR_SYNTAX, bad_at);
          s->str[bad_at] = (char) 0xff;
          assert_invalid (s->str, COHORT_JSON_ERROR_INVALID_UTF8, bad_at);
          text = g_string_free (s, FALSE);
        }
}

/* The strings' fast scans (128 bytes at a time with AVX-512, 64 with
 * AVX2, 16 with SSE2, 8 at a time elsewhere, then byte by byte): every
 * kind of byte that ends a run of plain ASCII, at every position relative
 * to the blocks and to the end of the input, each in a buffer of exactly
 * its size (so a sanitizer build sees any read past the end). */

typedef struct
{
  const char *bytes;   /* what is put in the string */
  gsize       length;
  int         error;   /* -1: valid; else the CohortJsonError at its first byte */
} Insert;

/* Fills @inserts (at least 160) with one of each kind; returns how many. */
static guint
make_inserts (Insert *inserts)
{
  static char singles[256];
  static const char * const valid[] = { "\x7f", "\xc2\x80", "\xc3\xa9", "\xdf\xbf", "\xe0\xa0\x80",
                                        "\xe2\x82\xac", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
                                        "\xf0\x90\x80\x80", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
                                        "\\n", "\\\"", "\\\\", "\\u00e9", "\\ud83d\\ude00", "/" };
  /* Overlong forms, surrogates, past U+10FFFF, truncated sequences. */
  static const char * const not_utf8[] = { "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf",
                                           "\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x80\x80\xaf",
                                           "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
                                           "\xc3" "a", "\xe2\x82" "a", "\xf0\x9f\x98" "a" };
  guint n = 0;

  for (int c = 0; c < 256; c++)
    singles[c] = (char) c;
  for (int c = 0; c < 0x20; c++)
    inserts[n++] = (Insert) { singles + c, 1, COHORT_JSON_ERROR_SYNTAX };
  /* A lone byte from 0x80 up is never UTF-8 when an 'a' follows. */
  for (int c = 0x80; c < 0x100; c++)
    inserts[n++] = (Insert) { singles + c, 1, COHORT_JSON_ERROR_INVALID_UTF8 };
  for (gsize i = 0; i < G_N_ELEMENTS (valid); i++)
    inserts[n++] = (Insert) { valid[i], strlen (valid[i]), -1 };
  for (gsize i = 0; i < G_N_ELEMENTS (not_utf8); i++)
    inserts[n++] = (Insert) { not_utf8[i], strlen (not_utf8[i]), COHORT_JSON_ERROR_INVALID_UTF8 };
  return n;
}

/* Every insert at every position: 0..270 plain bytes before it (past two
 * 128-byte blocks), 0..17 and some more after it (the end of the input
 * anywhere in a block, and long runs after the insert). */
static void
foreach_block_case (void (*check) (const Insert *insert,
                                   gsize         before,
                                   gsize         after))
{
  Insert inserts[320];
  guint n_inserts = make_inserts (inserts);

  static const gsize afters[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
                                  31, 63, 64, 65, 127, 128, 129, 130, 260 };

  for (gsize before = 0; before <= 270; before++)
    for (gsize a = 0; a < G_N_ELEMENTS (afters); a++)
      for (guint k = 0; k < n_inserts; k++)
        check (&inserts[k], before, afters[a]);
}

static void
check_validate_block (const Insert *insert,
                      gsize         before,
                      gsize         after)
{
  gsize length = 1 + before + insert->length + after + 1;
  char *text = g_malloc (length);

  text[0] = '"';
  memset (text + 1, 'a', before);
  memcpy (text + 1 + before, insert->bytes, insert->length);
  memset (text + 1 + before + insert->length, 'b', after);
  text[length - 1] = '"';

  if (insert->error < 0)
    assert_valid_len (text, length);
  else
    assert_invalid_len (text, length, insert->error, 1 + before);

  /* The same with no closing quote: the end of the input within a block. */
  if (insert->error < 0)
    assert_invalid_len (text, length - 1, COHORT_JSON_ERROR_SYNTAX, length - 1);
  g_free (text);
}

static void
test_validate_blocks (void)
{
  foreach_block_case (check_validate_block);

  /* A quote or a backslash at every position ends or escapes there. */
  for (gsize before = 0; before <= 270; before++)
    {
      g_autofree char *quoted = g_strdup_printf ("\"%*s\"x\"", (int) before, "");
      g_autofree char *escaped = g_strdup_printf ("\"%*s\\x\"", (int) before, "");

      assert_invalid (quoted, COHORT_JSON_ERROR_SYNTAX, 2 + before);
      assert_invalid (escaped, COHORT_JSON_ERROR_SYNTAX, 1 + before);
    }
}

static void
test_validate_invalid (void)
{
  static const struct {
    const char      *text;
    CohortJsonError  code;
    gsize            offset;
  } cases[] = {
    /* nothing */
    { "", COHORT_JSON_ERROR_EMPTY, 0 },
    { " \t\r\n", COHORT_JSON_ERROR_EMPTY, 4 },
    /* trailing and stray commas */
    { "[1,]", COHORT_JSON_ERROR_SYNTAX, 3 },
    { "[1,2,]", COHORT_JSON_ERROR_SYNTAX, 5 },
    { "{\"a\":1,}", COHORT_JSON_ERROR_SYNTAX, 7 },
    { "[,1]", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "{,}", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "[1,,2]", COHORT_JSON_ERROR_SYNTAX, 3 },
    /* structure */
    { "[1 2]", COHORT_JSON_ERROR_SYNTAX, 3 },
    { "{\"a\" 1}", COHORT_JSON_ERROR_SYNTAX, 5 },
    { "{\"a\":1 \"b\":2}", COHORT_JSON_ERROR_SYNTAX, 7 },
    { "{1:2}", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "{a:1}", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "{'a':1}", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "['a']", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "[1}", COHORT_JSON_ERROR_SYNTAX, 2 },
    { "{\"a\":1]", COHORT_JSON_ERROR_SYNTAX, 6 },
    { "]", COHORT_JSON_ERROR_SYNTAX, 0 },
    { "/* comment */ 1", COHORT_JSON_ERROR_SYNTAX, 0 },
    { "[1] // comment", COHORT_JSON_ERROR_SYNTAX, 4 },
    { "\xef\xbb\xbf{}", COHORT_JSON_ERROR_SYNTAX, 0 },
    /* bad escapes */
    { "\"\\x\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "\"ab\\a\"", COHORT_JSON_ERROR_SYNTAX, 3 },
    { "\"\\U0041\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "\"\\u12G4\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "\"\\u12\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "\"\\'\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    /* lone surrogates */
    { "\"\\ud800\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "\"\\uDBFF\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "\"x\\udc00\"", COHORT_JSON_ERROR_SYNTAX, 2 },
    { "\"\\udfff\\ud800\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "\"\\ud800\\u0041\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "\"\\ud800\\ud800\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "\"\\ud800x\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "\"\\ud800\\n\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    /* control characters in strings */
    { "\"a\nb\"", COHORT_JSON_ERROR_SYNTAX, 2 },
    { "\"\t\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "\"\r\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "\"\x01\"", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "\"abc\x1f\"", COHORT_JSON_ERROR_SYNTAX, 4 },
    { "{\"a\tb\":1}", COHORT_JSON_ERROR_SYNTAX, 3 },
    /* numbers */
    { "01", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "-01", COHORT_JSON_ERROR_SYNTAX, 2 },
    { "00", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "1.", COHORT_JSON_ERROR_SYNTAX, 2 },
    { "[1.]", COHORT_JSON_ERROR_SYNTAX, 3 },
    { "1.e5", COHORT_JSON_ERROR_SYNTAX, 2 },
    { ".5", COHORT_JSON_ERROR_SYNTAX, 0 },
    { "-", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "-a", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "- 1", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "+1", COHORT_JSON_ERROR_SYNTAX, 0 },
    { "1e", COHORT_JSON_ERROR_SYNTAX, 2 },
    { "1e+", COHORT_JSON_ERROR_SYNTAX, 3 },
    { "1E-x", COHORT_JSON_ERROR_SYNTAX, 3 },
    { "0x10", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "1_000", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "NaN", COHORT_JSON_ERROR_SYNTAX, 0 },
    { "Infinity", COHORT_JSON_ERROR_SYNTAX, 0 },
    { "-Infinity", COHORT_JSON_ERROR_SYNTAX, 1 },
    /* literals */
    { "True", COHORT_JSON_ERROR_SYNTAX, 0 },
    { "nul", COHORT_JSON_ERROR_SYNTAX, 3 },
    { "nulx", COHORT_JSON_ERROR_SYNTAX, 0 },
    { "truex", COHORT_JSON_ERROR_SYNTAX, 4 },
    { "[falsey]", COHORT_JSON_ERROR_SYNTAX, 6 },
    { "undefined", COHORT_JSON_ERROR_SYNTAX, 0 },
    /* UTF-8: stray bytes, overlong forms, surrogates, past U+10FFFF, cut */
    { "\"\xff\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xfe\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\x80\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"a\xbf\"", COHORT_JSON_ERROR_INVALID_UTF8, 2 },
    { "\"\xc0\xaf\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xc1\xbf\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xe0\x80\xaf\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xe0\x9f\xbf\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xf0\x80\x80\xaf\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xf0\x8f\xbf\xbf\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xed\xa0\x80\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xed\xbf\xbf\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xf4\x90\x80\x80\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xf5\x80\x80\x80\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xf8\x88\x80\x80\x80\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xe2\x82\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xe2\x82x\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xf0\x9f\x98\"", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"\xe2\x82", COHORT_JSON_ERROR_INVALID_UTF8, 1 },
    { "\"0123456789abcdef\xc3\"", COHORT_JSON_ERROR_INVALID_UTF8, 17 },
    { "[1,\xff]", COHORT_JSON_ERROR_INVALID_UTF8, 3 },
    { "{\"a\":1}\xff", COHORT_JSON_ERROR_INVALID_UTF8, 7 },
    { "é", COHORT_JSON_ERROR_SYNTAX, 0 },
    /* truncated */
    { "[", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "{", COHORT_JSON_ERROR_SYNTAX, 1 },
    { "[1,2", COHORT_JSON_ERROR_SYNTAX, 4 },
    { "[1,", COHORT_JSON_ERROR_SYNTAX, 3 },
    { "{\"a\"", COHORT_JSON_ERROR_SYNTAX, 4 },
    { "{\"a\":", COHORT_JSON_ERROR_SYNTAX, 5 },
    { "{\"a\":1", COHORT_JSON_ERROR_SYNTAX, 6 },
    { "{\"a\":1,", COHORT_JSON_ERROR_SYNTAX, 7 },
    { "\"abc", COHORT_JSON_ERROR_SYNTAX, 4 },
    { "\"0123456789abcdef0123", COHORT_JSON_ERROR_SYNTAX, 21 },
    { "\"\\", COHORT_JSON_ERROR_SYNTAX, 2 },
    { "\"\\u00", COHORT_JSON_ERROR_SYNTAX, 5 },
    { "\"\\ud83d\\ude", COHORT_JSON_ERROR_SYNTAX, 11 },
    { "tru", COHORT_JSON_ERROR_SYNTAX, 3 },
    { "[true, fa", COHORT_JSON_ERROR_SYNTAX, 9 },
    /* two values on one line */
    { "1 2", COHORT_JSON_ERROR_SYNTAX, 2 },
    { "{} {}", COHORT_JSON_ERROR_SYNTAX, 3 },
    { "{}{}", COHORT_JSON_ERROR_SYNTAX, 2 },
    { "\"a\"\"b\"", COHORT_JSON_ERROR_SYNTAX, 3 },
    { "[] x", COHORT_JSON_ERROR_SYNTAX, 3 },
    { "null,", COHORT_JSON_ERROR_SYNTAX, 4 },
    { "1]", COHORT_JSON_ERROR_SYNTAX, 1 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_invalid (cases[i].text, cases[i].code, cases[i].offset);

  /* NUL bytes: raw in a string, and as the line itself. */
  assert_invalid_len ("\"a\0b\"", 5, COHORT_JSON_ERROR_SYNTAX, 2);
  assert_invalid_len ("1\0", 2, COHORT_JSON_ERROR_SYNTAX, 1);
  assert_invalid_len ("\0", 1, COHORT_JSON_ERROR_SYNTAX, 0);

  /* The length is what counts, not a nul terminator. */
  assert_invalid_len ("[1,2]", 4, COHORT_JSON_ERROR_SYNTAX, 4);
  assert_valid_len ("[1,2]garbage", 5);
}

static void
test_validate_depth (void)
{
  g_autofree char *deepest = nested (COHORT_JSON_MAX_DEPTH, "1");
  g_autofree char *too_deep = nested (COHORT_JSON_MAX_DEPTH + 1, "1");
  GString *huge = g_string_new (NULL);
  gsize offset = 0;

  assert_valid (deepest);

  /* The offset of the container one level too deep. */
  for (guint i = 0; i < COHORT_JSON_MAX_DEPTH; i++)
    offset += i % 2 == 0 ? 1 : strlen ("{\"k\":");
  assert_invalid (too_deep, COHORT_JSON_ERROR_TOO_DEEP, offset);

  /* What overflows a recursive parser's stack costs nothing here. */
  for (guint i = 0; i < 200000; i++)
    g_string_append_c (huge, '[');
  for (guint i = 0; i < 200000; i++)
    g_string_append_c (huge, ']');
  assert_invalid_len (huge->str, huge->len, COHORT_JSON_ERROR_TOO_DEEP, COHORT_JSON_MAX_DEPTH);
  g_string_free (huge, TRUE);

  /* Depth is nesting, not count: many siblings are fine. */
  huge = g_string_new ("[");
  for (guint i = 0; i < 10000; i++)
    g_string_append (huge, i == 0 ? "[[]]" : ",[[]]");
  g_string_append_c (huge, ']');
  assert_valid (huge->str);
  g_string_free (huge, TRUE);
}

static void
test_validate_info (void)
{
  static const char * const names[] = { "cmd", "ready", NULL };
  static const struct {
    const char     *text;
    CohortJsonKind  kind;
    gsize           start;
    gsize           end;
    guint32         names;
  } cases[] = {
    { "{}", COHORT_JSON_KIND_OBJECT, 0, 2, 0 },
    { " {\"ready\": true} ", COHORT_JSON_KIND_OBJECT, 1, 16, 1 << 1 },
    { "{\"cmd\":\"NODE_HANDLE\",\"msg\":{}}", COHORT_JSON_KIND_OBJECT, 0, 30, 1 << 0 },
    { "{\"ready\":1,\"cmd\":2}", COHORT_JSON_KIND_OBJECT, 0, 19, 3 },
    /* Only the top level counts, and only member names. */
    { "{\"x\":{\"ready\":true,\"cmd\":\"NODE_X\"}}", COHORT_JSON_KIND_OBJECT, 0, 35, 0 },
    { "{\"x\":[{\"ready\":true}]}", COHORT_JSON_KIND_OBJECT, 0, 22, 0 },
    { "{\"x\":\"ready\",\"y\":\"cmd\"}", COHORT_JSON_KIND_OBJECT, 0, 23, 0 },
    { "{\"readyx\":1,\"cm\":2,\"\":3}", COHORT_JSON_KIND_OBJECT, 0, 24, 0 },
    /* An escaped name may be any name. */
    { "{\"\\u0072eady\":true}", COHORT_JSON_KIND_OBJECT, 0, 19, 3 },
    { "{\"a\\n\":true}", COHORT_JSON_KIND_OBJECT, 0, 12, 3 },
    { "[{\"ready\":true}]", COHORT_JSON_KIND_ARRAY, 0, 16, 0 },
    { "\t\"ready\"\r", COHORT_JSON_KIND_STRING, 1, 8, 0 },
    { "-1.5e3", COHORT_JSON_KIND_NUMBER, 0, 6, 0 },
    { "7", COHORT_JSON_KIND_NUMBER, 0, 1, 0 },
    { "  true", COHORT_JSON_KIND_BOOLEAN, 2, 6, 0 },
    { "false  ", COHORT_JSON_KIND_BOOLEAN, 0, 5, 0 },
    { "null", COHORT_JSON_KIND_NULL, 0, 4, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      CohortJsonInfo info;

      g_test_message ("%s", cases[i].text);
      g_assert_true (cohort_json_validate (cases[i].text, strlen (cases[i].text), names, &info, &error));
      g_assert_no_error (error);
      g_assert_cmpint (info.kind, ==, cases[i].kind);
      g_assert_cmpuint (info.start, ==, cases[i].start);
      g_assert_cmpuint (info.end, ==, cases[i].end);
      g_assert_cmpuint (info.names, ==, cases[i].names);
    }

  /* Without names, nothing is looked for. */
  {
    CohortJsonInfo info;

    g_assert_true (cohort_json_validate ("{\"ready\":true}", 14, NULL, &info, NULL));
    g_assert_cmpuint (info.names, ==, 0);
  }
}

/* The serializer */

static JsonNode *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

/* Ours, checked valid by the validator (a different judge than the one
 * who wrote it: json-glib reads it back too). */
static char *
serialize (JsonNode *node)
{
  g_autoptr(GError) error = NULL;
  gsize length = 0;
  char *text = cohort_json_to_string (node, &length);

  g_assert_nonnull (text);
  g_assert_cmpuint (length, ==, strlen (text));
  g_assert_null (memchr (text, '\n', length));
  cohort_json_validate (text, length, NULL, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static void
assert_round_trip (const char *text)
{
  g_autoptr(JsonNode) first = parse (text);
  g_autofree char *ours = serialize (first);
  g_autoptr(JsonNode) again = parse (ours);

  if (!json_node_equal (first, again))
    g_error ("“%s” came back as “%s”", text, ours);
}

static void
assert_same_as_json_glib (const char *text)
{
  g_autoptr(JsonNode) node = parse (text);
  g_autofree char *theirs = json_to_string (node, FALSE);
  g_autofree char *ours = serialize (node);

  g_assert_cmpstr (ours, ==, theirs);
}

static void
test_serialize_like_json_glib (void)
{
  static const char * const texts[] = {
    /* what the other suites compare */
    "{\"echo\":\"ping\"}", "{\"cmd\":\"quit\"}", "\"ready\"", "{\"ready\":true}",
    "{\"echo\":\"still here\"}", "{\"ok\":1}",
    "{\"task\":\"sum\",\"args\":{\"n\":1000}}",
    /* every kind of value, member order kept */
    "null", "true", "false", "0", "-1", "42", "9223372036854775807",
    "-9223372036854775808", "1.5", "-0.25", "3.0", "-0.0",
    "\"\"", "[]", "{}", "[[],{},[{}]]",
    "{\"z\":1,\"a\":2,\"m\":[3,{\"y\":null,\"b\":false}]}",
    " { \"spaced\" : [ 1 , 2 ] } ",
    /* escapes json-glib and we agree on; raw UTF-8 kept */
    "\"quote \\\" backslash \\\\ slash \\/ \\b \\f \\n \\r \\t\"",
    "\"\\u0001\\u0002\\u0010\\u001e\"",
    "\"é € 😀 \\u00e9 \\u20ac \\ud83d\\ude00\"",
    "{\"k\\\"ey\\n\":\"v\"}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    assert_same_as_json_glib (texts[i]);
}

/* Doubles as short as they read back (json-glib writes 17 digits:
 * 0.10000000000000001), and still exact. */
static void
test_serialize_short_doubles (void)
{
  static const struct {
    const char *in;
    const char *out;
  } cases[] = {
    { "0.1", "0.1" },
    { "99.9", "99.9" },
    { "1e-7", "1e-07" },
    { "0.30000000000000004", "0.30000000000000004" },
    { "3.0", "3.0" },
    { "123456.789", "123456.789" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) node = parse (cases[i].in);
      g_autofree char *ours = serialize (node);

      g_assert_cmpstr (ours, ==, cases[i].out);
      assert_round_trip (cases[i].in);
    }
}

/* Every control character, and strings of every length around the 8-byte
 * steps with a character to escape at every place. */
static void
test_serialize_escapes (void)
{
  static const char * const specials[] = { "\"", "\\", "\n", "\x01", "é", "😀", "/" };
  GString *all = g_string_new (NULL);
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) back = NULL;

  for (int c = 1; c < 0x20; c++)
    g_string_append_c (all, (char) c);
  g_string_append (all, "\x7f");
  json_node_set_string (node, all->str);
  text = serialize (node);
  g_assert_cmpstr (text, ==,
                   "\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n"
                   "\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014"
                   "\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
                   "\\u001e\\u001f\x7f\"");
  back = parse (text);
  g_assert_cmpstr (json_node_get_string (back), ==, all->str);
  g_string_free (all, TRUE);

  for (gsize n = 0; n < 40; n++)
    for (gsize at = 0; at <= n; at++)
      for (gsize k = 0; k < G_N_ELEMENTS (specials); k++)
        {
          GString *s = g_string_new (NULL);
          g_autoptr(JsonNode) value = json_node_new (JSON_NODE_VALUE);
          g_autofree char *theirs = NULL;
          g_autofree char *ours = NULL;

          for (gsize i = 0; i < n; i++)
            {
              if (i == at)
                g_string_append (s, specials[k]);
              g_string_append_c (s, 'a' + i % 26);
            }
          if (at == n)
            g_string_append (s, specials[k]);
          json_node_set_string (value, s->str);
          theirs = json_to_string (value, FALSE);
          ours = serialize (value);
          g_assert_cmpstr (ours, ==, theirs);
          g_string_free (s, TRUE);
        }
}

/* What the serializer writes for @bytes, one byte at a time. */
static char *
reference_string (const char *bytes,
                  gsize       length)
{
  GString *out = g_string_new ("\"");
  const char *p = bytes;
  const char *end = bytes + length;

  while (p < end)
    {
      guchar c = (guchar) *p;
      const char *next;

      if (c == '"' || c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) c);
          p++;
        }
      else if (c < 0x20)
        {
          const char *named = c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n"
                            : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;

          if (named != NULL)
            g_string_append (out, named);
          else
            g_string_append_printf (out, "\\u%04x", c);
          p++;
        }
      else if (c < 0x80)
        g_string_append_c (out, *p++);
      else if (g_utf8_validate (p, MIN (end - p, 4), &next) || next > p)
        {
          /* The first character is whole and valid: keep it. */
          gsize n = g_utf8_skip[c];

          g_string_append_len (out, p, n);
          p += n;
        }
      else
        {
          g_string_append (out, "\357\277\275");
          p++;
        }
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

static void
check_serialize_block (const Insert *insert,
                       gsize         before,
                       gsize         after)
{
  gsize length = before + insert->length + after;
  g_autofree char *bytes = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *ours = NULL;
  g_autoptr(JsonNode) node = NULL;

  /* A NUL ends a C string: nothing to scan past it. */
  if (insert->bytes[0] == '\0')
    return;
  bytes = g_malloc (length + 1);
  memset (bytes, 'a', before);
  memcpy (bytes + before, insert->bytes, insert->length);
  memset (bytes + before + insert->length, 'b', after);
  bytes[length] = '\0';

  expected = reference_string (bytes, length);
  node = json_node_new (JSON_NODE_VALUE);
  json_node_set_string (node, bytes);
  ours = serialize (node);
  g_assert_cmpstr (ours, ==, expected);
  assert_valid (ours);
}

static void
test_serialize_blocks (void)
{
  foreach_block_case (check_serialize_block);
}

/* cohort_json_append_message() tells Node's internal messages while it
 * writes: a top-level object whose "cmd" is a string starting NODE_. */
static void
test_serialize_internal (void)
{
  static const struct { const char *text; gboolean internal; } cases[] = {
    { "{\"cmd\":\"NODE_HANDLE\"}", TRUE },
    { "{\"a\":1,\"cmd\":\"NODE_X\",\"b\":[2]}", TRUE },
    { "{\"cmd\":\"NODE_\"}", TRUE },
    { "{\"cmd\":\"NODE\"}", FALSE },
    { "{\"cmd\":\"node_handle\"}", FALSE },
    { "{\"cmd\":\"x NODE_\"}", FALSE },
    { "{\"cmd\":1}", FALSE },
    { "{\"cmd\":null}", FALSE },
    { "{\"cmd\":{\"cmd\":\"NODE_A\"}}", FALSE },
    { "{\"cmd\":[\"NODE_A\"]}", FALSE },
    { "{\"cmdx\":\"NODE_A\",\"c\":\"NODE_A\"}", FALSE },
    { "{\"x\":{\"cmd\":\"NODE_A\"}}", FALSE },
    { "[{\"cmd\":\"NODE_A\"}]", FALSE },
    { "\"NODE_A\"", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) node = parse (cases[i].text);
      g_autoptr(GString) plain = g_string_new ("[");
      g_autoptr(GString) checked = g_string_new ("[");

      cohort_json_append (plain, node);
      g_assert_cmpint (cohort_json_append_message (checked, node), ==, cases[i].internal);
      g_assert_cmpstr (checked->str, ==, plain->str);
    }
}

static void
test_serialize_round_trip (void)
{
  static const char * const texts[] = {
    "{\"echo\":{\"p\":\"xxxxxxxx\"},\"n\":[1,2.5,-3e-5,1e300,-1.7976931348623157e308]}",
    "[0.1,0.2,0.30000000000000004,1e21,1e-300,5e-324,123456.789,2.5e-8]",
    "[9223372036854775807,-9223372036854775808,0,-0,4294967296]",
    "\"\\u0000 in the middle is cut by json-glib, so only at the end: \\u0000\"",
    "{\"deep\":[[[[[[[[[[{\"a\":[[[[\"b\"]]]]}]]]]]]]]]]}",
    "{\"names\":{\"\":1,\" \":2,\"é\":3,\"😀\":4,\"\\\\\":5,\"\\\"\":6}}",
    "[\"\\u2028\\u2029\", \"\\ufeff\", \"\\uffff\", \"\\udbff\\udfff\"]",
    "[true,false,null,[true],[false],[null],{\"t\":true,\"f\":false,\"n\":null}]",
  };
  GString *big = g_string_new ("{\"p\":\"");
  g_autoptr(JsonNode) node = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    assert_round_trip (texts[i]);

  /* 64 KiB of plain text with escapes and UTF-8 strewn in. */
  for (guint i = 0; big->len < 65536; i++)
    {
      static const char * const bits[] = { "\\n", "\\\"", "é", "\\\\", "€", "\\t", "😀", "\\u0007" };

      g_string_append_c (big, 'a' + g_test_rand_int_range (0, 26));
      if (g_test_rand_int_range (0, 100) == 0)
        g_string_append (big, bits[g_test_rand_int_range (0, G_N_ELEMENTS (bits))]);
    }
  g_string_append (big, "\"}");
  assert_round_trip (big->str);
  assert_same_as_json_glib (big->str);
  g_string_free (big, TRUE);
}

static void
test_serialize_doubles (void)
{
  static const struct {
    double      value;
    const char *text;
  } cases[] = {
    { 1.5, "1.5" },
    { 3.0, "3.0" },
    { -0.0, "-0.0" },
    { 0.1, "0.1" },
    { 1e100, "1e+100" },
    { 5e-324, "4.94065645841247e-324" },
  };
  static const double values[] = { 0.1, 1.0 / 3.0, G_PI, 1e-300, 1e300, 123456789.125, 5e-324, DBL_MAX, -DBL_MIN };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
      g_autofree char *text = NULL;

      json_node_set_double (node, cases[i].value);
      text = serialize (node);
      g_assert_cmpstr (text, ==, cases[i].text);
    }

  /* Every double reads back as itself. */
  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
      g_autoptr(JsonNode) back = NULL;
      g_autofree char *text = NULL;

      json_node_set_double (node, values[i]);
      text = serialize (node);
      back = parse (text);
      g_assert_cmpint (json_node_get_value_type (back), ==, G_TYPE_DOUBLE);
      g_assert_cmpfloat (json_node_get_double (back), ==, values[i]);
    }
}

/* NaN and the infinities have no JSON form: null. */
static void
test_serialize_not_finite (void)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonArray) array = json_array_new ();
  g_autofree char *text = NULL;

  json_object_set_double_member (object, "nan", NAN);
  json_object_set_double_member (object, "inf", INFINITY);
  json_object_set_double_member (object, "-inf", -INFINITY);
  json_array_add_double_element (array, NAN);
  json_array_add_double_element (array, 2.5);
  json_object_set_array_member (object, "list", json_array_ref (array));
  json_node_set_object (node, object);

  text = serialize (node);
  g_assert_cmpstr (text, ==, "{\"nan\":null,\"inf\":null,\"-inf\":null,\"list\":[null,2.5]}");
}

/* What code may build: bytes that are not UTF-8, absent strings and
 * containers. The output stays valid JSON. */
static void
test_serialize_odd_nodes (void)
{
  g_autoptr(JsonNode) bad = json_node_new (JSON_NODE_VALUE);
  g_autoptr(JsonNode) no_string = json_node_new (JSON_NODE_VALUE);
  g_autoptr(JsonNode) no_object = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonNode) no_array = json_node_new (JSON_NODE_ARRAY);
  g_autoptr(JsonNode) null = json_node_new (JSON_NODE_NULL);
  g_autofree char *text = NULL;
  gsize length;

  json_node_set_string (bad, "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d0123456789\xe2\x82");
  g_clear_pointer (&text, g_free);
  text = serialize (bad);
  g_assert_cmpstr (text, ==,
                   "\"a\357\277\275b\357\277\275\357\277\275c\357\277\275\357\277\275"
                   "\357\277\275d0123456789\357\277\275\357\277\275\"");

  json_node_set_string (no_string, NULL);
  g_clear_pointer (&text, g_free);
  text = serialize (no_string);
  g_assert_cmpstr (text, ==, "null");

  g_clear_pointer (&text, g_free);
  text = serialize (no_object);
  g_assert_cmpstr (text, ==, "null");

  g_clear_pointer (&text, g_free);
  text = serialize (no_array);
  g_assert_cmpstr (text, ==, "null");

  g_clear_pointer (&text, g_free);
  text = cohort_json_to_string (null, &length);
  g_assert_cmpstr (text, ==, "null");
  g_assert_cmpuint (length, ==, 4);

  /* The length is optional. */
  g_clear_pointer (&text, g_free);
  text = cohort_json_to_string (null, NULL);
  g_assert_cmpstr (text, ==, "null");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Cohort/Json/validate/valid", test_validate_valid);
  g_test_add_func ("/Cohort/Json/validate/strings-everywhere", test_validate_strings_everywhere);
  g_test_add_func ("/Cohort/Json/validate/invalid", test_validate_invalid);
  g_test_add_func ("/Cohort/Json/validate/blocks", test_validate_blocks);
  g_test_add_func ("/Cohort/Json/validate/depth", test_validate_depth);
  g_test_add_func ("/Cohort/Json/validate/info", test_validate_info);
  g_test_add_func ("/Cohort/Json/serialize/like-json-glib", test_serialize_like_json_glib);
  g_test_add_func ("/Cohort/Json/serialize/escapes", test_serialize_escapes);
  g_test_add_func ("/Cohort/Json/serialize/blocks", test_serialize_blocks);
  g_test_add_func ("/Cohort/Json/serialize/internal", test_serialize_internal);
  g_test_add_func ("/Cohort/Json/serialize/round-trip", test_serialize_round_trip);
  g_test_add_func ("/Cohort/Json/serialize/doubles", test_serialize_doubles);
  g_test_add_func ("/Cohort/Json/serialize/short-doubles", test_serialize_short_doubles);
  g_test_add_func ("/Cohort/Json/serialize/not-finite", test_serialize_not_finite);
  g_test_add_func ("/Cohort/Json/serialize/odd-nodes", test_serialize_odd_nodes);

  return g_test_run ();
}
