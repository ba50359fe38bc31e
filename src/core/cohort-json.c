/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-json.c: the JSON of messages, checked and written at the speed
 * of the socket.
 *
 * json-glib is what makes big messages slow: its parser builds a tree
 * from a character-at-a-time scanner even when nobody looks into the
 * message, and its generator escapes a character at a time. Here a
 * validator checks syntax and UTF-8 in one pass and builds nothing, and
 * the serializer copies strings in runs; both skip plain ASCII (no quote,
 * backslash or control character) sixteen bytes at a time with SSE2
 * (baseline on x86_64), eight at a time elsewhere.
 *
 * The validator is iterative, so nesting costs no C stack; it still
 * refuses more than COHORT_JSON_MAX_DEPTH levels, since a message that
 * passes may be handed to json-glib's recursive parser next. */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>
/* COHORT_JSON_PORTABLE: the scans any C compiler builds; COHORT_JSON_NO_AVX2:
 * SSE2 only; COHORT_JSON_NO_AVX512: SSE2 and AVX2 (each tested too). */
#if defined(__SSE2__) && !defined(COHORT_JSON_PORTABLE)
#define USE_SSE2 1
#include <emmintrin.h>
#if defined(__GNUC__) && defined(__x86_64__) && !defined(COHORT_JSON_NO_AVX2)
#define USE_AVX2 1
#include <immintrin.h>
#if !defined(COHORT_JSON_NO_AVX512)
#define USE_AVX512 1
#endif
#endif
#endif

#include "cohort-json.h"

G_DEFINE_QUARK (cohort-json-error-quark, cohort_json_error)

#define ONES  G_GUINT64_CONSTANT (0x0101010101010101)
#define HIGHS G_GUINT64_CONSTANT (0x8080808080808080)

/* The high bit of the result is set in some byte if a byte of @w is zero
 * (exact as to whether any is, not as to which). */
static inline guint64
zero_bytes (guint64 w)
{
  return (w - ONES) & ~w & HIGHS;
}

/* Whether the eight bytes at @p go into a JSON string as they are: ASCII,
 * and neither a quote, a backslash nor a control character. */
static inline gboolean
word_is_plain (const guchar *p)
{
  guint64 w;

  memcpy (&w, p, sizeof w);
  return (zero_bytes (w ^ (ONES * '"')) |
          zero_bytes (w ^ (ONES * '\\')) |
          ((w - ONES * 0x20) & ~w & HIGHS) |
          (w & HIGHS)) == 0;
}

#ifdef USE_SSE2
/* 0xff in each byte of @v that does not go into a JSON string as it is.
 * A signed compare: below 0x20 as signed is a control character or a byte
 * from 0x80 up. */
static inline __m128i
bad_bytes_sse2 (__m128i v)
{
  return _mm_or_si128 (_mm_or_si128 (_mm_cmpeq_epi8 (v, _mm_set1_epi8 ('"')),
                                     _mm_cmpeq_epi8 (v, _mm_set1_epi8 ('\\'))),
                       _mm_cmplt_epi8 (v, _mm_set1_epi8 (0x20)));
}
#endif

#ifdef USE_AVX2
/* skip_plain() 64 bytes at a time, on a CPU that has AVX2: stops at the
 * first byte that is not plain, or with less than 64 bytes left. */
__attribute__ ((target ("avx2"))) static const guchar *
skip_plain_avx2 (const guchar *p,
                 const guchar *end)
{
  const __m256i quote = _mm256_set1_epi8 ('"');
  const __m256i backslash = _mm256_set1_epi8 ('\\');
  const __m256i space = _mm256_set1_epi8 (0x20);

  while (end - p >= 64)
    {
      __m256i a = _mm256_loadu_si256 ((const __m256i *) p);
      __m256i b = _mm256_loadu_si256 ((const __m256i *) (p + 32));
      __m256i bad_a = _mm256_or_si256 (_mm256_or_si256 (_mm256_cmpeq_epi8 (a, quote),
                                                        _mm256_cmpeq_epi8 (a, backslash)),
                                       _mm256_cmpgt_epi8 (space, a));
      __m256i bad_b = _mm256_or_si256 (_mm256_or_si256 (_mm256_cmpeq_epi8 (b, quote),
                                                        _mm256_cmpeq_epi8 (b, backslash)),
                                       _mm256_cmpgt_epi8 (space, b));
      __m256i bad = _mm256_or_si256 (bad_a, bad_b);

      if (!_mm256_testz_si256 (bad, bad))
        {
          guint64 mask = (guint64) (guint32) _mm256_movemask_epi8 (bad_a) |
                         (guint64) (guint32) _mm256_movemask_epi8 (bad_b) << 32;

          return p + __builtin_ctzll (mask);
        }
      p += 64;
    }
  return p;
}
#endif

#ifdef USE_AVX512
/* skip_plain() 128 bytes at a time, on a CPU that has AVX-512 BW: three
 * compares into mask registers per 64 bytes, where AVX2 needs six
 * compares and four ORs per 64. A 64 KiB message's validation is most of
 * what Cohort adds to its round trip; this halves it. Stops at the first
 * byte that is not plain, or with less than 128 bytes left. */
__attribute__ ((target ("avx512bw"))) static const guchar *
skip_plain_avx512 (const guchar *p,
                   const guchar *end)
{
  const __m512i quote = _mm512_set1_epi8 ('"');
  const __m512i backslash = _mm512_set1_epi8 ('\\');
  const __m512i space = _mm512_set1_epi8 (0x20);

  while (end - p >= 128)
    {
      __m512i a = _mm512_loadu_si512 ((const void *) p);
      __m512i b = _mm512_loadu_si512 ((const void *) (p + 64));
      /* Signed: below 0x20 is a control character or a byte from 0x80. */
      __mmask64 bad_a = _mm512_cmpeq_epi8_mask (a, quote) |
                        _mm512_cmpeq_epi8_mask (a, backslash) |
                        _mm512_cmplt_epi8_mask (a, space);
      __mmask64 bad_b = _mm512_cmpeq_epi8_mask (b, quote) |
                        _mm512_cmpeq_epi8_mask (b, backslash) |
                        _mm512_cmplt_epi8_mask (b, space);

      if ((bad_a | bad_b) != 0)
        return bad_a != 0 ? p + __builtin_ctzll (bad_a) : p + 64 + __builtin_ctzll (bad_b);
      p += 128;
    }
  return p;
}
#endif

/* The first byte at or after @p that does not go into a JSON string as
 * it is (a quote, a backslash, a control character or any byte of a
 * non-ASCII character), or @end. Reads nothing outside [@lo, @end): @lo
 * is where the buffer starts, so a short tail can be read as the last
 * sixteen bytes of it. */
static inline const guchar *
skip_plain (const guchar *lo,
            const guchar *p,
            const guchar *end)
{
#ifdef USE_SSE2
  /* A wide scan that stops with a block's worth left stopped at a byte
   * that is not plain: no narrower scan looks at that block again. */
#ifdef USE_AVX512
  if (end - p >= 256 && __builtin_cpu_supports ("avx512bw"))
    {
      p = skip_plain_avx512 (p, end);
      if (end - p >= 128)
        return p;
    }
#endif
#ifdef USE_AVX2
  if (end - p >= 128 && __builtin_cpu_supports ("avx2"))
    {
      p = skip_plain_avx2 (p, end);
      if (end - p >= 64)
        return p;
    }
#endif
  while (end - p >= 64)
    {
      __m128i a = bad_bytes_sse2 (_mm_loadu_si128 ((const __m128i *) p));
      __m128i b = bad_bytes_sse2 (_mm_loadu_si128 ((const __m128i *) (p + 16)));
      __m128i c = bad_bytes_sse2 (_mm_loadu_si128 ((const __m128i *) (p + 32)));
      __m128i d = bad_bytes_sse2 (_mm_loadu_si128 ((const __m128i *) (p + 48)));

      if (_mm_movemask_epi8 (_mm_or_si128 (_mm_or_si128 (a, b), _mm_or_si128 (c, d))) != 0)
        {
          guint64 mask = (guint64) (guint) _mm_movemask_epi8 (a) |
                         (guint64) (guint) _mm_movemask_epi8 (b) << 16 |
                         (guint64) (guint) _mm_movemask_epi8 (c) << 32 |
                         (guint64) (guint) _mm_movemask_epi8 (d) << 48;

          return p + __builtin_ctzll (mask);
        }
      p += 64;
    }
  while (end - p >= 16)
    {
      guint mask = (guint) _mm_movemask_epi8 (bad_bytes_sse2 (_mm_loadu_si128 ((const __m128i *) p)));

      if (mask != 0)
        return p + __builtin_ctz (mask);
      p += 16;
    }
  if (p < end && end - lo >= 16)
    {
      /* The last sixteen bytes, those before @p left out. */
      const guchar *last = end - 16;
      guint mask = (guint) _mm_movemask_epi8 (bad_bytes_sse2 (_mm_loadu_si128 ((const __m128i *) last)));

      mask >>= p - last;
      return mask != 0 ? p + __builtin_ctz (mask) : end;
    }
#endif
  while (end - p >= 8 && word_is_plain (p))
    p += 8;
  while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
    p++;
  return p;
}

/* The length of the UTF-8 sequence that starts at @p (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0 if the
 * bytes there are not one. */
static gsize
utf8_sequence (const guchar *p,
               const guchar *end)
{
  guchar lo = 0x80;
  guchar hi = 0xbf;
  gsize n;

  if (p[0] < 0x80)
    return 1;
  if (p[0] < 0xc2)
    return 0;
  if (p[0] < 0xe0)
    n = 2;
  else if (p[0] < 0xf0)
    {
      n = 3;
      if (p[0] == 0xe0)
        lo = 0xa0;
      else if (p[0] == 0xed)
        hi = 0x9f;
    }
  else if (p[0] < 0xf5)
    {
      n = 4;
      if (p[0] == 0xf0)
        lo = 0x90;
      else if (p[0] == 0xf4)
        hi = 0x8f;
    }
  else
    return 0;

  if ((gsize) (end - p) < n || p[1] < lo || p[1] > hi)
    return 0;
  for (gsize i = 2; i < n; i++)
    if ((p[i] & 0xc0) != 0x80)
      return 0;
  return n;
}

/* Validation */

typedef struct
{
  const guchar  *start;
  const guchar  *p;
  const guchar  *end;
  /* '\n', or ' ' (whitespace already) when a newline ends the text: see
   * cohort_json_validate_line() */
  guchar         newline;
  GError       **error;
} Scanner;

static gboolean
fail (Scanner         *s,
      CohortJsonError  code,
      const char      *what)
{
  g_set_error (s->error, COHORT_JSON_ERROR, code,
               /* Translators: %s says what is wrong, %lu is a byte offset */
               _("%s at byte %lu"), what, (gulong) (s->p - s->start));
  return FALSE;
}

static gboolean
fail_truncated (Scanner *s)
{
  s->p = s->end;
  return fail (s, COHORT_JSON_ERROR_SYNTAX, _("unexpected end of input"));
}

/* At a byte that has no place there: bytes that are not UTF-8 are said to
 * be so wherever they are. */
static gboolean
fail_unexpected (Scanner    *s,
                 const char *what)
{
  if (s->p < s->end && *s->p >= 0x80 && utf8_sequence (s->p, s->end) == 0)
    return fail (s, COHORT_JSON_ERROR_INVALID_UTF8, _("invalid UTF-8"));
  return fail (s, COHORT_JSON_ERROR_SYNTAX, what);
}

static inline void
skip_whitespace (Scanner *s)
{
  while (s->p < s->end &&
         (*s->p == ' ' || *s->p == s->newline || *s->p == '\r' || *s->p == '\t'))
    s->p++;
}

/* The UTF-16 code unit written as four hex digits at @p: -1 if they are
 * not hex digits, -2 if the input ends before them. */
static int
hex4 (const guchar *p,
      const guchar *end)
{
  int unit = 0;

  for (int i = 0; i < 4; i++)
    {
      int digit;

      if (p + i == end)
        return -2;
      digit = g_ascii_xdigit_value (p[i]);
      if (digit < 0)
        return -1;
      unit = unit << 4 | digit;
    }
  return unit;
}

/* At a backslash in a string. */
static gboolean
scan_escape (Scanner *s)
{
  int unit;

  if (s->end - s->p < 2)
    return fail_truncated (s);
  switch (s->p[1])
    {
    case '"': case '\\': case '/':
    case 'b': case 'f': case 'n': case 'r': case 't':
      s->p += 2;
      return TRUE;
    case 'u':
      break;
    default:
      return fail (s, COHORT_JSON_ERROR_SYNTAX, _("invalid escape"));
    }

  unit = hex4 (s->p + 2, s->end);
  if (unit == -2)
    return fail_truncated (s);
  if (unit < 0)
    return fail (s, COHORT_JSON_ERROR_SYNTAX, _("invalid escape"));

  /* A character past U+FFFF is a pair, high surrogate then low; either
   * alone is no character at all. */
  if (unit >= 0xd800 && unit <= 0xdbff)
    {
      const guchar *low = s->p + 6;

      if (s->end - low >= 2 && low[0] == '\\' && low[1] == 'u')
        {
          int next = hex4 (low + 2, s->end);

          if (next == -2)
            return fail_truncated (s);
          if (next >= 0xdc00 && next <= 0xdfff)
            {
              s->p += 12;
              return TRUE;
            }
        }
      return fail (s, COHORT_JSON_ERROR_SYNTAX, _("unpaired UTF-16 surrogate"));
    }
  if (unit >= 0xdc00 && unit <= 0xdfff)
    return fail (s, COHORT_JSON_ERROR_SYNTAX, _("unpaired UTF-16 surrogate"));

  s->p += 6;
  return TRUE;
}

/* At the opening quote. @escaped is set if the string has an escape. */
static gboolean
scan_string (Scanner  *s,
             gboolean *escaped)
{
  s->p++;
  for (;;)
    {
      guchar c;
      gsize n;

      s->p = skip_plain (s->start, s->p, s->end);
      if (s->p == s->end)
        return fail_truncated (s);

      c = *s->p;
      if (c == '"')
        {
          s->p++;
          return TRUE;
        }
      if (c == '\\')
        {
          *escaped = TRUE;
          if (!scan_escape (s))
            return FALSE;
          continue;
        }
      if (c < 0x20)
        return fail (s, COHORT_JSON_ERROR_SYNTAX, _("control character in a string"));

      n = utf8_sequence (s->p, s->end);
      if (n == 0)
        return fail (s, COHORT_JSON_ERROR_INVALID_UTF8, _("invalid UTF-8"));
      s->p += n;
    }
}

static inline void
skip_digits (Scanner *s)
{
  while (s->p < s->end && g_ascii_isdigit (*s->p))
    s->p++;
}

/* -? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)? */
static gboolean
scan_number (Scanner *s)
{
  if (*s->p == '-')
    s->p++;

  if (s->p < s->end && *s->p == '0')
    {
      s->p++;
      if (s->p < s->end && g_ascii_isdigit (*s->p))
        return fail_unexpected (s, _("invalid number"));
    }
  else if (s->p < s->end && g_ascii_isdigit (*s->p))
    skip_digits (s);
  else
    return fail_unexpected (s, _("invalid number"));

  if (s->p < s->end && *s->p == '.')
    {
      s->p++;
      if (s->p == s->end || !g_ascii_isdigit (*s->p))
        return fail_unexpected (s, _("invalid number"));
      skip_digits (s);
    }

  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
    {
      s->p++;
      if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
        s->p++;
      if (s->p == s->end || !g_ascii_isdigit (*s->p))
        return fail_unexpected (s, _("invalid number"));
      skip_digits (s);
    }
  return TRUE;
}

static gboolean
scan_literal (Scanner    *s,
              const char *word)
{
  gsize n = strlen (word);
  gsize left = s->end - s->p;

  if (left >= n && memcmp (s->p, word, n) == 0)
    {
      s->p += n;
      return TRUE;
    }
  if (left < n && memcmp (s->p, word, left) == 0)
    return fail_truncated (s);
  return fail_unexpected (s, _("expected a value"));
}

/* A string, number or literal. */
static gboolean
scan_scalar (Scanner *s)
{
  gboolean escaped = FALSE;

  switch (*s->p)
    {
    case '"':
      return scan_string (s, &escaped);
    case 't':
      return scan_literal (s, "true");
    case 'f':
      return scan_literal (s, "false");
    case 'n':
      return scan_literal (s, "null");
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      return scan_number (s);
    default:
      return fail_unexpected (s, _("expected a value"));
    }
}

static CohortJsonKind
kind_of (guchar first)
{
  switch (first)
    {
    case '{':
      return COHORT_JSON_KIND_OBJECT;
    case '[':
      return COHORT_JSON_KIND_ARRAY;
    case '"':
      return COHORT_JSON_KIND_STRING;
    case 't':
    case 'f':
      return COHORT_JSON_KIND_BOOLEAN;
    case 'n':
      return COHORT_JSON_KIND_NULL;
    default:
      return COHORT_JSON_KIND_NUMBER;
    }
}

/* The bits of @names that a member name spelled as @name may be. */
static guint32
match_names (const char * const *names,
             const guchar       *name,
             gsize               length,
             gboolean            escaped)
{
  guint32 bits = 0;

  for (guint i = 0; names[i] != NULL && i < 32; i++)
    if (escaped || (names[i][0] == (char) name[0] &&
                    strncmp (names[i], (const char *) name, length) == 0 &&
                    names[i][length] == '\0'))
      bits |= 1u << i;
  return bits;
}

/* cohort_json_validate(), or with @line_length cohort_json_validate_line(). */
static gboolean
validate (const char         *text,
          gsize               length,
          const char * const *names,
          CohortJsonInfo     *info,
          gsize              *line_length,
          GError            **error)
{
  enum { WANT_VALUE, WANT_NAME, WANT_MORE } want = WANT_VALUE;
  guchar open[COHORT_JSON_MAX_DEPTH];  /* '{' or '[' per level */
  guint depth = 0;
  CohortJsonInfo found = { 0, };
  Scanner s;

  s.start = (const guchar *) text;
  s.p = s.start;
  s.end = s.start + length;
  s.newline = line_length != NULL ? ' ' : '\n';
  s.error = error;

  skip_whitespace (&s);
  if (s.p == s.end)
    return fail (&s, COHORT_JSON_ERROR_EMPTY, _("expected a value"));
  found.kind = kind_of (*s.p);
  found.start = s.p - s.start;

  for (;;)
    {
      switch (want)
        {
        case WANT_VALUE:
          skip_whitespace (&s);
          if (s.p == s.end)
            return fail_truncated (&s);
          if (*s.p == '{' || *s.p == '[')
            {
              guchar close = *s.p == '{' ? '}' : ']';

              if (depth == COHORT_JSON_MAX_DEPTH)
                {
                  g_set_error (error, COHORT_JSON_ERROR, COHORT_JSON_ERROR_TOO_DEEP,
                               _("nested deeper than %d levels at byte %lu"),
                               COHORT_JSON_MAX_DEPTH, (gulong) (s.p - s.start));
                  return FALSE;
                }
              open[depth++] = *s.p++;
              skip_whitespace (&s);
              if (s.p < s.end && *s.p == close)
                {
                  s.p++;
                  depth--;
                  want = WANT_MORE;
                }
              else
                want = close == '}' ? WANT_NAME : WANT_VALUE;
              break;
            }
          if (!scan_scalar (&s))
            return FALSE;
          want = WANT_MORE;
          break;

        case WANT_NAME:
          {
            const guchar *name;
            gboolean escaped = FALSE;

            skip_whitespace (&s);
            if (s.p == s.end)
              return fail_truncated (&s);
            if (*s.p != '"')
              return fail_unexpected (&s, _("expected a member name"));
            name = s.p;
            if (!scan_string (&s, &escaped))
              return FALSE;
            if (depth == 1 && names != NULL)
              found.names |= match_names (names, name + 1, s.p - name - 2, escaped);

            skip_whitespace (&s);
            if (s.p == s.end)
              return fail_truncated (&s);
            if (*s.p != ':')
              return fail_unexpected (&s, _("expected “:”"));
            s.p++;
            want = WANT_VALUE;
          }
          break;

        case WANT_MORE:
          if (depth == 0)
            {
              found.end = s.p - s.start;
              skip_whitespace (&s);
              if (line_length != NULL)
                {
                  if (s.p == s.end || *s.p != '\n')
                    return FALSE;
                  *line_length = s.p - s.start;
                }
              else if (s.p != s.end)
                return fail_unexpected (&s, _("unexpected data after the value"));
              if (info != NULL)
                *info = found;
              return TRUE;
            }

          skip_whitespace (&s);
          if (s.p == s.end)
            return fail_truncated (&s);
          if (*s.p == ',')
            {
              s.p++;
              want = open[depth - 1] == '{' ? WANT_NAME : WANT_VALUE;
            }
          else if (*s.p == (open[depth - 1] == '{' ? '}' : ']'))
            {
              s.p++;
              depth--;
            }
          else
            return fail_unexpected (&s, open[depth - 1] == '{' ? _("expected “,” or “}”")
                                                               : _("expected “,” or “]”"));
          break;
        }
    }
}

/**
 * cohort_json_validate:
 * @text: the JSON text; need not be nul-terminated
 * @length: its length in bytes
 * @names: (nullable): member names (at most 32, %NULL-terminated) to look
 *   for in a top-level object; see #CohortJsonInfo
 * @info: (out) (optional): what the top-level value is
 * @error: COHORT_JSON_ERROR_EMPTY for nothing but whitespace,
 *   _INVALID_UTF8, _SYNTAX or _TOO_DEEP; the message names the byte
 *
 * Checks that @text is exactly one JSON value (RFC 8259), whitespace
 * around it allowed, in valid UTF-8, nested at most COHORT_JSON_MAX_DEPTH
 * levels. Builds nothing; one pass.
 */
gboolean
cohort_json_validate (const char         *text,
                      gsize               length,
                      const char * const *names,
                      CohortJsonInfo     *info,
                      GError            **error)
{
  g_return_val_if_fail (text != NULL || length == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return validate (text, length, names, info, NULL, error);
}

/**
 * cohort_json_validate_line:
 * @text: the start of a line of NDJSON and maybe more; need not be
 *   nul-terminated
 * @length: the bytes there, the newline that ends the line among them
 * @names: @info: as cohort_json_validate()
 * @line_length: (out): where the line's newline is
 *
 * cohort_json_validate() of the line at @text, and the end of that line,
 * in the same pass: a newline ends the line wherever it is (NDJSON
 * framing), so it is no whitespace here. For a caller that would search
 * for the newline and then validate, which reads every byte twice.
 *
 * Returns: %TRUE if the line ends within @length and cohort_json_validate()
 *   accepts it; %FALSE says no more (the line may be invalid, or not have
 *   ended): the caller then finds the line and validates it as before
 */
gboolean
cohort_json_validate_line (const char         *text,
                           gsize               length,
                           const char * const *names,
                           CohortJsonInfo     *info,
                           gsize              *line_length)
{
  g_return_val_if_fail (text != NULL || length == 0, FALSE);
  g_return_val_if_fail (line_length != NULL, FALSE);

  return validate (text, length, names, info, line_length, NULL);
}

/* Serialization */

/* g_string_append_len() without its call: most of what is written is a
 * few bytes at a time into room that is already there. */
static inline void
put (GString    *out,
     const void *data,
     gsize       length)
{
  if (G_LIKELY (out->allocated_len - out->len > length))
    {
      memcpy (out->str + out->len, data, length);
      out->len += length;
      out->str[out->len] = '\0';
    }
  else
    g_string_append_len (out, data, length);
}

/* Room for @length more bytes, so that a long string grows @out once
 * rather than doubling it step by step (each a copy). */
static inline void
reserve (GString *out,
         gsize    length)
{
  if (out->allocated_len - out->len <= length)
    {
      gsize len = out->len;

      g_string_set_size (out, len + length);
      g_string_truncate (out, len);
    }
}

static void
append_escape (GString *out,
               guchar   c)
{
  static const char hex[] = "0123456789abcdef";

  switch (c)
    {
    case '"':
      put (out, "\\\"", 2);
      break;
    case '\\':
      put (out, "\\\\", 2);
      break;
    case '\b':
      put (out, "\\b", 2);
      break;
    case '\f':
      put (out, "\\f", 2);
      break;
    case '\n':
      put (out, "\\n", 2);
      break;
    case '\r':
      put (out, "\\r", 2);
      break;
    case '\t':
      put (out, "\\t", 2);
      break;
    default:
      {
        char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

        put (out, u, sizeof u);
      }
      break;
    }
}

/* Bytes that are not UTF-8 (a string set by code, never one parsed) each
 * become U+FFFD: a Node worker dies on a line that is not valid JSON. */
void
cohort_json_append_string (GString    *out,
                           const char *str)
{
  const guchar *p = (const guchar *) str;
  const guchar *end = p + strlen (str);
  const guchar *run = p;  /* the bytes not copied yet */

  reserve (out, end - p + 2);
  g_string_append_c (out, '"');
  for (;;)
    {
      gsize n;

      p = skip_plain ((const guchar *) str, p, end);
      if (p == end)
        break;

      if (*p >= 0x20 && *p != '"' && *p != '\\')
        {
          n = utf8_sequence (p, end);
          if (n > 0)
            {
              p += n;
              continue;
            }
        }

      put (out, (const char *) run, p - run);
      if (*p < 0x80)
        append_escape (out, *p);
      else
        put (out, "\357\277\275", 3);
      run = ++p;
    }
  put (out, (const char *) run, p - run);
  g_string_append_c (out, '"');
}

void
cohort_json_append_double (GString *out,
                           double   value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* NaN and the infinities have no JSON form; JSON.stringify writes null
   * for them too. */
  if (!isfinite (value))
    {
      put (out, "null", 4);
      return;
    }

  /* The shortest of 15, 16 or 17 significant digits that reads back as
   * the same double: 99.9 stays 99.9, not 99.900000000000006, and every
   * value still round-trips. */
  for (int digits = 15; digits <= 17; digits++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", digits);
      g_ascii_formatd (buf, sizeof buf, format, value);
      if (g_ascii_strtod (buf, NULL) == value)
        break;
    }
  g_string_append (out, buf);
  /* Integral values keep a fraction, as json-glib writes them, so they
   * read back as doubles. */
  if (strpbrk (buf, ".e") == NULL)
    put (out, ".0", 2);
}

/* Not printf: a tiny task's result is mostly integers, and a format
 * string costs more than the digits. */
static void
append_int (GString *out,
            gint64   value)
{
  char buf[24];
  char *p = buf + sizeof buf;
  guint64 magnitude = value < 0 ? -(guint64) value : (guint64) value;

  do
    {
      *--p = (char) ('0' + magnitude % 10);
      magnitude /= 10;
    }
  while (magnitude > 0);
  if (value < 0)
    *--p = '-';
  put (out, p, buf + sizeof buf - p);
}

/* Whether @member, the value of a top-level "cmd", makes its object one
 * of Node's internal messages: a string that starts with NODE_. */
static gboolean
is_internal_cmd (JsonNode *member)
{
  const char *cmd;

  if (member == NULL || JSON_NODE_TYPE (member) != JSON_NODE_VALUE ||
      json_node_get_value_type (member) != G_TYPE_STRING)
    return FALSE;
  cmd = json_node_get_string (member);
  return cmd != NULL && g_str_has_prefix (cmd, "NODE_");
}

/* Node's own messages ({"cmd": "NODE_…"}) are not the program's. */
gboolean
cohort_message_is_internal (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) &&
         is_internal_cmd (json_object_get_member (json_node_get_object (node), "cmd"));
}

/* @internal: (nullable): for the top-level value only, set when it is one
 * of Node's internal messages (see is_internal_cmd()). */
static void
append_node (GString  *out,
             JsonNode *node,
             gboolean *internal)
{
  if (node == NULL)
    {
      put (out, "null", 4);
      return;
    }

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;
        gboolean first = TRUE;

        if (object == NULL)
          {
            put (out, "null", 4);
            break;
          }
        g_string_append_c (out, '{');
        json_object_iter_init_ordered (&iter, object);
        while (json_object_iter_next_ordered (&iter, &name, &member))
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            cohort_json_append_string (out, name);
            g_string_append_c (out, ':');
            append_node (out, member, NULL);
            if (internal != NULL && name[0] == 'c' && strcmp (name, "cmd") == 0)
              *internal = is_internal_cmd (member);
          }
        g_string_append_c (out, '}');
      }
      break;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n;

        if (array == NULL)
          {
            put (out, "null", 4);
            break;
          }
        n = json_array_get_length (array);
        g_string_append_c (out, '[');
        for (guint i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            append_node (out, json_array_get_element (array, i), NULL);
          }
        g_string_append_c (out, ']');
      }
      break;

    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_STRING:
          if (json_node_get_string (node) != NULL)
            cohort_json_append_string (out, json_node_get_string (node));
          else
            put (out, "null", 4);
          break;
        case G_TYPE_INT64:
          append_int (out, json_node_get_int (node));
          break;
        case G_TYPE_DOUBLE:
          cohort_json_append_double (out, json_node_get_double (node));
          break;
        case G_TYPE_BOOLEAN:
          if (json_node_get_boolean (node))
            put (out, "true", 4);
          else
            put (out, "false", 5);
          break;
        default:
          put (out, "null", 4);
          break;
        }
      break;

    case JSON_NODE_NULL:
    default:
      put (out, "null", 4);
      break;
    }
}

/**
 * cohort_json_to_string:
 * @node: any JSON value
 * @length: (out) (optional): the length of the result
 *
 * Writes @node as compact JSON, as json_to_string (@node, FALSE) does but
 * always valid: strings escape only the quote, the backslash and control
 * characters, and keep any other character as it is; NaN and infinities
 * are null; doubles keep 17 significant digits.
 *
 * Returns: (transfer full): the JSON text, without a newline
 */
char *
cohort_json_to_string (JsonNode *node,
                       gsize    *length)
{
  GString *out;

  g_return_val_if_fail (node != NULL, NULL);

  out = g_string_sized_new (128);
  append_node (out, node, NULL);
  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}

/* cohort_json_to_string() at the end of @out, for a message made of many
 * values. */
void
cohort_json_append (GString  *out,
                    JsonNode *node)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (node != NULL);

  append_node (out, node, NULL);
}

/**
 * cohort_json_append_message:
 *
 * cohort_json_append(), and whether @node is one of Node's internal
 * messages (an object whose "cmd" is a string that starts with NODE_, as
 * cohort_message_is_internal() says), seen on the way without a lookup.
 *
 * Returns: %TRUE if @node is one of Node's internal messages
 */
gboolean
cohort_json_append_message (GString  *out,
                            JsonNode *node)
{
  gboolean internal = FALSE;

  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (node != NULL, FALSE);

  append_node (out, node, &internal);
  return internal;
}

static gboolean
refuse_internal (GError **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("objects whose “cmd” starts with NODE_ are Node's own and cannot be sent"));
  return FALSE;
}

/**
 * cohort_message_check:
 *
 * Returns: %FALSE with G_IO_ERROR_INVALID_ARGUMENT if @node may not be
 *   sent to a worker: it is one of Node's internal messages (see
 *   cohort_message_is_internal()), which would confuse a Node worker
 */
gboolean
cohort_message_check (JsonNode  *node,
                      GError   **error)
{
  g_return_val_if_fail (node != NULL, FALSE);

  return !cohort_message_is_internal (node) || refuse_internal (error);
}

/**
 * cohort_json_append_sendable:
 *
 * cohort_json_append_message(), with the error of cohort_message_check()
 * when @node may not be sent; what was appended is then to be dropped.
 */
gboolean
cohort_json_append_sendable (GString   *out,
                             JsonNode  *node,
                             GError   **error)
{
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (node != NULL, FALSE);

  return !cohort_json_append_message (out, node) || refuse_internal (error);
}

/* Prepared messages */

struct _CohortPreparedMessage
{
  char  *text;    /* compact JSON, no newline, NUL-terminated */
  gsize  length;
};

G_DEFINE_BOXED_TYPE (CohortPreparedMessage, cohort_prepared_message,
                     cohort_prepared_message_ref, cohort_prepared_message_unref)

/**
 * cohort_message_prepare:
 * @message: any JSON value but an object whose "cmd" starts with NODE_
 *
 * Serializes @message once, for cohort_worker_send_prepared(): a message
 * sent to many workers, or many times, costs one serialization, and each
 * send writes the prepared text as it is, without a copy.
 *
 * Returns: (transfer full) (nullable): the prepared message, immutable;
 *   %NULL with the error of cohort_message_check()
 */
CohortPreparedMessage *
cohort_message_prepare (JsonNode  *message,
                        GError   **error)
{
  g_autoptr(GString) out = NULL;
  CohortPreparedMessage *self;

  g_return_val_if_fail (message != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  out = g_string_sized_new (128);
  if (!cohort_json_append_sendable (out, message, error))
    return NULL;

  self = g_atomic_rc_box_new0 (CohortPreparedMessage);
  self->length = out->len;
  /* It may be kept a long time: no more room than its text takes. */
  self->text = g_realloc (g_string_free (g_steal_pointer (&out), FALSE), self->length + 1);
  return self;
}

CohortPreparedMessage *
cohort_prepared_message_ref (CohortPreparedMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return g_atomic_rc_box_acquire (self);
}

static void
prepared_message_clear (gpointer data)
{
  CohortPreparedMessage *self = data;

  g_free (self->text);
}

void
cohort_prepared_message_unref (CohortPreparedMessage *self)
{
  g_return_if_fail (self != NULL);
  g_atomic_rc_box_release_full (self, prepared_message_clear);
}

/**
 * cohort_prepared_message_get_text:
 * @length: (out) (optional): the length of the text
 *
 * Returns: the message as compact JSON, without a newline; valid as long
 *   as @self is
 */
const char *
cohort_prepared_message_get_text (CohortPreparedMessage *self,
                                  gsize                 *length)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (length != NULL)
    *length = self->length;
  return self->text;
}
