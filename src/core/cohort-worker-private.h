/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-worker-private.h: what subclasses and the cluster use of a
 * worker. */

#pragma once

#include "cohort-worker.h"

G_BEGIN_DECLS

/* The subclass's process or thread has ended (for a process: with its
 * whole process group). @wait_status is a raw waitpid() status. */
void _cohort_worker_exited        (CohortWorker       *self,
                                   int                 wait_status);
/* The subclass's launch failed, then or (a process that never reached
 * its exec) once it ended: the worker is errored with "cannot start". */
void _cohort_worker_launch_failed (CohortWorker       *self,
                                   const GError       *error);
void _cohort_worker_append_output (CohortWorker       *self,
                                   CohortOutputStream  stream,
                                   const char         *text,
                                   gsize               length);
void _cohort_worker_set_online    (CohortWorker       *self);
void _cohort_worker_set_retiring  (CohortWorker       *self,
                                   gboolean            retiring);
gboolean _cohort_worker_get_retiring (CohortWorker    *self);

/* @message is NULL when it was not parsed: valid JSON that is not a
 * ready message. @text is its line. */
void _cohort_worker_received      (CohortWorker       *self,
                                   JsonNode           *message,
                                   const char         *text,
                                   guint64             bytes);
void _cohort_worker_bad_message   (CohortWorker       *self,
                                   const char         *reason);
void _cohort_worker_count_restart (CohortWorker       *self,
                                   const char         *last_exit,
                                   const char         *reason);
void _cohort_worker_record_sent   (CohortWorker       *self,
                                   const char         *json,
                                   gsize               length);
void _cohort_worker_inherit       (CohortWorker       *self,
                                   CohortWorker       *predecessor);
void _cohort_worker_set_incoming  (CohortWorker       *self,
                                   gboolean            incoming);
gboolean _cohort_worker_get_incoming (CohortWorker    *self);
guint _cohort_worker_get_sample_changes (void);
void _cohort_worker_note_sample_change (void);
guint64 _cohort_worker_get_traffic (void);
void _cohort_worker_peek_counters (CohortWorker       *self,
                                   guint64             counters[4]);
void _cohort_worker_set_spec      (CohortWorker       *self,
                                   CohortClusterSpec  *spec);

char *_cohort_describe_wait_status (int wait_status);

G_END_DECLS
