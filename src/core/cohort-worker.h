/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-worker.h: one worker slot of a cluster. */

#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "cohort-cluster-spec.h"
#include "cohort-enums.h"
#include "cohort-json.h"

G_BEGIN_DECLS

#define COHORT_TYPE_WORKER (cohort_worker_get_type ())

G_DECLARE_DERIVABLE_TYPE (CohortWorker, cohort_worker, COHORT, WORKER, GObject)

typedef struct _CohortCluster CohortCluster;

typedef struct
{
  gint64              time;     /* wall clock, µs */
  CohortOutputStream  stream;
  char               *text;
} CohortOutputLine;

typedef struct
{
  gint64    time;      /* wall clock, µs */
  guint     worker;    /* the worker's id */
  gboolean  outgoing;  /* sent by Cohort (out) or received (in) */
  char     *json;      /* the message, compact JSON */
} CohortMessage;

struct _CohortWorkerClass
{
  GObjectClass parent_class;

  /* Start the process or thread. FALSE with @error when it cannot run at
   * all (the program cannot be executed): the worker is then errored,
   * since retrying would fail the same way. */
  gboolean (*launch)    (CohortWorker   *self,
                         GError        **error);
  /* Carry out one step of the graceful-stop ladder; FALSE when the step
   * does not apply to this worker (no channel for the message step). */
  gboolean (*stop_step) (CohortWorker   *self,
                         CohortStopStep  step);
  /* Deliver one message (compact JSON, no newline) to the worker. */
  gboolean (*send_line) (CohortWorker   *self,
                         const char     *json,
                         gsize           length,
                         GError        **error);
  /* Whether the program itself runs now (a process has exec'd); NULL:
   * as soon as launch returned. A worker without a readiness handshake
   * is online from then on. */
  gboolean (*has_begun) (CohortWorker   *self);

  gpointer padding[7];
};

guint              cohort_worker_get_id             (CohortWorker *self);
CohortCluster     *cohort_worker_get_cluster        (CohortWorker *self);
CohortClusterSpec *cohort_worker_get_spec           (CohortWorker *self);
CohortWorkerState  cohort_worker_get_state          (CohortWorker *self);
gboolean           cohort_worker_is_running         (CohortWorker *self);
guint              cohort_worker_get_restarts       (CohortWorker *self);
const char        *cohort_worker_get_last_exit      (CohortWorker *self);
const char        *cohort_worker_get_reason         (CohortWorker *self);
CohortStopStep     cohort_worker_get_stop_step      (CohortWorker *self);
gint64             cohort_worker_get_stop_deadline  (CohortWorker *self);
double             cohort_worker_get_uptime         (CohortWorker *self);
guint              cohort_worker_get_next_restart_delay (CohortWorker *self);

void               cohort_worker_start              (CohortWorker *self);
void               cohort_worker_stop               (CohortWorker *self);
void               cohort_worker_kill               (CohortWorker *self);
void               cohort_worker_restart            (CohortWorker *self,
                                                     const char   *reason);

GPtrArray         *cohort_worker_dup_output         (CohortWorker *self,
                                                     guint         max_lines);
void               cohort_output_line_free          (CohortOutputLine *line);

gboolean           cohort_worker_send               (CohortWorker *self,
                                                     JsonNode     *message,
                                                     GError      **error);
gboolean           cohort_worker_send_prepared      (CohortWorker           *self,
                                                     CohortPreparedMessage  *message,
                                                     GError                **error);
guint64            cohort_worker_get_messages_in    (CohortWorker *self);
guint64            cohort_worker_get_messages_out   (CohortWorker *self);
guint64            cohort_worker_get_bytes_in       (CohortWorker *self);
guint64            cohort_worker_get_bytes_out      (CohortWorker *self);
guint64            cohort_worker_get_bad_messages   (CohortWorker *self);
const char        *cohort_worker_get_last_bad_message (CohortWorker *self);
GPtrArray         *cohort_worker_dup_messages       (CohortWorker *self,
                                                     guint         max_messages);
void               cohort_message_free              (CohortMessage *message);

G_END_DECLS
