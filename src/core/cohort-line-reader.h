/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-line-reader.h: split a byte stream into bounded lines. */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Called once per line, without its newline (@line[@length] is a NUL;
 * the text is valid during the call only). A line longer than the
 * reader's limit is delivered once, cut at the limit, with @truncated set;
 * the rest of it, up to the next newline, is dropped. */
typedef void (*CohortLineFunc) (const char *line,
                                gsize       length,
                                gboolean    truncated,
                                gpointer    user_data);

/* Optional: where the line at @data ends, found in the pass its caller
 * makes over the line anyway (the channel validates each message): its
 * length (@data[length] is its newline), or -1 to leave the search to the
 * reader. When it returns a length, that line is the next one handed to
 * the CohortLineFunc. */
typedef gssize (*CohortLineEndFunc) (const char *data,
                                     gsize       length,
                                     gpointer    user_data);

typedef struct _CohortLineReader CohortLineReader;

CohortLineReader *cohort_line_reader_new    (gsize             max_line,
                                             CohortLineFunc    func,
                                             gpointer          user_data);
void              cohort_line_reader_free   (CohortLineReader *self);
void              cohort_line_reader_set_end_func (CohortLineReader  *self,
                                                   CohortLineEndFunc  func);
void              cohort_line_reader_feed   (CohortLineReader *self,
                                             const char       *data,
                                             gsize             length);
char             *cohort_line_reader_reserve (CohortLineReader *self,
                                              gsize             room);
void              cohort_line_reader_commit (CohortLineReader *self,
                                             gsize             written);
void              cohort_line_reader_flush  (CohortLineReader *self);
gboolean          cohort_line_reader_is_busy (CohortLineReader *self);
gsize             cohort_line_reader_get_pending (CohortLineReader *self);
gsize             cohort_line_reader_get_spare (CohortLineReader *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CohortLineReader, cohort_line_reader_free)

G_END_DECLS
