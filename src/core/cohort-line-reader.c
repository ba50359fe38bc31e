/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-line-reader.c: the framing of worker output and messages.
 *
 * Memory is bounded by the line limit whatever the peer writes: a line
 * that never ends costs at most max_line bytes. */

#include "config.h"

#include <string.h>

#include "cohort-line-reader.h"

struct _CohortLineReader
{
  GByteArray     *partial;
  gsize           max_line;
  gboolean        discarding;  /* inside an over-long line, already reported */
  CohortLineFunc  func;
  gpointer        user_data;
};

CohortLineReader *
cohort_line_reader_new (gsize          max_line,
                        CohortLineFunc func,
                        gpointer       user_data)
{
  CohortLineReader *self;

  g_return_val_if_fail (max_line > 0, NULL);
  g_return_val_if_fail (func != NULL, NULL);

  self = g_new0 (CohortLineReader, 1);
  self->partial = g_byte_array_new ();
  self->max_line = max_line;
  self->func = func;
  self->user_data = user_data;
  return self;
}

void
cohort_line_reader_free (CohortLineReader *self)
{
  if (self == NULL)
    return;
  g_byte_array_unref (self->partial);
  g_free (self);
}

static void
emit (CohortLineReader *self,
      const char       *line,
      gsize             length,
      gboolean          truncated)
{
  /* Strip a CR of a CRLF line ending. */
  if (!truncated && length > 0 && line[length - 1] == '\r')
    length--;
  self->func (line, length, truncated, self->user_data);
}

void
cohort_line_reader_feed (CohortLineReader *self,
                         const char       *data,
                         gsize             length)
{
  const char *p = data;
  const char *end = data + length;

  g_return_if_fail (self != NULL);

  while (p < end)
    {
      const char *newline = memchr (p, '\n', end - p);
      gsize chunk = (newline != NULL ? newline : end) - p;

      if (self->discarding)
        {
          if (newline == NULL)
            return;
          self->discarding = FALSE;
          p = newline + 1;
          continue;
        }

      if (self->partial->len + chunk > self->max_line)
        {
          gsize room = self->max_line - self->partial->len;

          g_byte_array_append (self->partial, (const guint8 *) p, room);
          emit (self, (const char *) self->partial->data, self->partial->len, TRUE);
          g_byte_array_set_size (self->partial, 0);
          self->discarding = newline == NULL;
          p = newline != NULL ? newline + 1 : end;
          continue;
        }

      if (newline == NULL)
        {
          g_byte_array_append (self->partial, (const guint8 *) p, chunk);
          return;
        }

      if (self->partial->len == 0)
        emit (self, p, chunk, FALSE);
      else
        {
          g_byte_array_append (self->partial, (const guint8 *) p, chunk);
          emit (self, (const char *) self->partial->data, self->partial->len, FALSE);
          g_byte_array_set_size (self->partial, 0);
        }
      p = newline + 1;
    }
}

/* At end of stream: a last line without a newline still counts. */
void
cohort_line_reader_flush (CohortLineReader *self)
{
  g_return_if_fail (self != NULL);

  if (self->partial->len > 0)
    emit (self, (const char *) self->partial->data, self->partial->len, FALSE);
  g_byte_array_set_size (self->partial, 0);
  self->discarding = FALSE;
}

gsize
cohort_line_reader_get_pending (CohortLineReader *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->partial->len;
}
