/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-line-reader.c: the framing of worker output and messages.
 *
 * Memory is bounded by the line limit whatever the peer writes: a line
 * that never ends costs at most max_line bytes (plus the room of one
 * read). A reader owns its buffer, and a caller may read straight into
 * it (cohort_line_reader_reserve() and _commit()): a line that arrives
 * whole is then handed on where it landed, never copied, and ends with a
 * NUL as well as its length. */

#include "config.h"

#include <string.h>

#include "cohort-line-reader.h"

/* A buffer bigger than this that has emptied is given back (a long line
 * went through); one that big is kept, for a peer that often sends big
 * lines. */
#define KEEP_CAPACITY (256 * 1024)

struct _CohortLineReader
{
  char           *buffer;
  gsize           capacity;
  gsize           start;       /* of the line being read */
  gsize           length;      /* bytes in the buffer, from 0 */
  gsize           max_line;
  gboolean        discarding;  /* inside an over-long line, already reported */
  gboolean        committing;  /* lines are being handed on */
  gboolean        flushed;     /* ... and a callback flushed the reader */
  CohortLineFunc  func;
  CohortLineEndFunc end_func;
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
  self->max_line = max_line;
  self->func = func;
  self->user_data = user_data;
  return self;
}

/* @func is asked for the end of each line that arrives whole in one
 * commit, with the user data of the reader's CohortLineFunc. */
void
cohort_line_reader_set_end_func (CohortLineReader  *self,
                                 CohortLineEndFunc  func)
{
  g_return_if_fail (self != NULL);
  self->end_func = func;
}

void
cohort_line_reader_free (CohortLineReader *self)
{
  if (self == NULL)
    return;
  g_free (self->buffer);
  g_free (self);
}

static void
emit (CohortLineReader *self,
      char             *line,
      gsize             length,
      gboolean          truncated)
{
  /* Strip a CR of a CRLF line ending. */
  if (!truncated && length > 0 && line[length - 1] == '\r')
    length--;
  line[length] = '\0';
  self->func (line, length, truncated, self->user_data);
}

/* Drops what the buffer holds; a big buffer goes too. */
static void
empty (CohortLineReader *self)
{
  self->start = 0;
  self->length = 0;
  if (self->capacity > KEEP_CAPACITY)
    {
      g_clear_pointer (&self->buffer, g_free);
      self->capacity = 0;
    }
}

/**
 * cohort_line_reader_reserve:
 * @room: at least this many bytes, plus one for a NUL
 *
 * Returns: where the next @room bytes of the stream may be written, to be
 *   handed on with cohort_line_reader_commit(); valid until then
 */
char *
cohort_line_reader_reserve (CohortLineReader *self,
                            gsize             room)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (!self->committing, NULL);

  /* The line under way moves to the front. */
  if (self->start > 0)
    {
      memmove (self->buffer, self->buffer + self->start, self->length - self->start);
      self->length -= self->start;
      self->start = 0;
    }
  if (self->length + room + 1 > self->capacity)
    {
      self->capacity = MAX (self->length + room + 1, MIN (2 * self->capacity, self->max_line + room + 1));
      self->buffer = g_realloc (self->buffer, self->capacity);
    }
  return self->buffer + self->length;
}

/**
 * cohort_line_reader_commit:
 * @written: how many bytes were written where cohort_line_reader_reserve()
 *   said, at most the room asked for
 *
 * Hands on every line completed. A callback may flush the reader (the
 * stream ended under it: a write to the other end failed): the lines
 * completed by then are still handed on, then the unfinished one, as
 * cohort_line_reader_flush() does. Nothing already read is lost.
 */
void
cohort_line_reader_commit (CohortLineReader *self,
                           gsize             written)
{
  gsize scan;
  gboolean whole;

  g_return_if_fail (self != NULL);
  g_return_if_fail (self->length + written < self->capacity || written == 0);

  scan = self->length;
  self->length += written;
  self->committing = TRUE;
  self->flushed = FALSE;
  /* What was written ends a line: each line that starts in it ends in it
   * too, and the end func may find where. A line begun before, or one
   * that goes on past what was written, is searched for here, since the
   * end func would read its start again at each commit. */
  whole = self->end_func != NULL && written > 0 && self->buffer[self->length - 1] == '\n';

  while (scan < self->length)
    {
      char *newline = NULL;
      gsize end;

      if (whole && scan == self->start && !self->discarding)
        {
          gssize found = self->end_func (self->buffer + scan, self->length - scan, self->user_data);

          if (found >= 0)
            {
              g_assert ((gsize) found < self->length - scan && self->buffer[scan + found] == '\n');
              newline = self->buffer + scan + found;
            }
        }
      if (newline == NULL)
        newline = memchr (self->buffer + scan, '\n', self->length - scan);
      end = newline != NULL ? (gsize) (newline - self->buffer) : self->length;

      if (self->discarding)
        {
          /* Nothing of an over-long line is kept. */
          self->start = end;
          if (newline != NULL)
            {
              self->discarding = FALSE;
              self->start = end + 1;
            }
          scan = self->start;
          continue;
        }

      if (end - self->start > self->max_line)
        {
          emit (self, self->buffer + self->start, self->max_line, TRUE);
          self->discarding = newline == NULL;
          self->start = newline != NULL ? end + 1 : self->length;
          scan = self->start;
          continue;
        }

      if (newline == NULL)
        break;

      emit (self, self->buffer + self->start, end - self->start, FALSE);
      self->start = end + 1;
      scan = self->start;
    }

  self->committing = FALSE;
  if (self->flushed)
    {
      self->flushed = FALSE;
      cohort_line_reader_flush (self);
    }
  else if (self->start == self->length)
    empty (self);
}

void
cohort_line_reader_feed (CohortLineReader *self,
                         const char       *data,
                         gsize             length)
{
  g_return_if_fail (self != NULL);

  /* In pieces of at most the limit: over-long input is never held whole. */
  while (length > 0)
    {
      gsize piece = MIN (length, self->max_line + 1);

      memcpy (cohort_line_reader_reserve (self, piece), data, piece);
      cohort_line_reader_commit (self, piece);
      data += piece;
      length -= piece;
    }
}

/* At end of stream: a last line without a newline still counts. */
void
cohort_line_reader_flush (CohortLineReader *self)
{
  g_return_if_fail (self != NULL);

  if (self->committing)
    {
      self->flushed = TRUE;
      return;
    }
  if (!self->discarding && self->length > self->start)
    {
      /* Room for the NUL was reserved with the bytes. */
      emit (self, self->buffer + self->start, self->length - self->start, FALSE);
    }
  empty (self);
  self->discarding = FALSE;
}

/* Whether lines are being handed on: a nested main loop in a callback may
 * run a caller's read again, which must not reserve meanwhile. */
gboolean
cohort_line_reader_is_busy (CohortLineReader *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->committing;
}

/* How much reserve() can hand out without growing the buffer: the room
 * left once the line under way has moved to the front. A reader that has
 * had to hold a long line has room for the next one in one read. */
gsize
cohort_line_reader_get_spare (CohortLineReader *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->capacity > 0 ? self->capacity - (self->length - self->start) - 1 : 0;
}

gsize
cohort_line_reader_get_pending (CohortLineReader *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->discarding ? 0 : self->length - self->start;
}
