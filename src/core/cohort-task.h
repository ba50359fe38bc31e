/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-task.h: the built-in CPU tasks that thread clusters run. */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define COHORT_TASK_ERROR (cohort_task_error_quark ())

typedef enum
{
  COHORT_TASK_ERROR_UNKNOWN_TASK,   /* no task of that name */
  COHORT_TASK_ERROR_ARGUMENTS,      /* missing, of the wrong type, out of range */
  COHORT_TASK_ERROR_INPUT,          /* a folder that does not exist, unreadable files … */
  COHORT_TASK_ERROR_TIMED_OUT,      /* ran past its deadline */
  COHORT_TASK_ERROR_CANCELLED,      /* stopped */
} CohortTaskError;

/* What a running task sees of the worker that runs it. Owned by the
 * worker; used from the worker's thread only, except where noted. */
typedef struct _CohortTaskContext CohortTaskContext;

CohortTaskContext *cohort_task_context_new          (GCancellable      *cancellable,
                                                     gint64             deadline);
void               cohort_task_context_free         (CohortTaskContext *context);
/* FALSE with @error set (COHORT_TASK_ERROR_CANCELLED or _TIMED_OUT) when
 * the task must stop now. Cheap: call it at least every few ms of work. */
gboolean           cohort_task_context_check        (CohortTaskContext *context,
                                                     GError           **error);
/* Fraction done, 0..1; any thread may read it. */
void               cohort_task_context_set_progress (CohortTaskContext *context,
                                                     double             fraction);
double             cohort_task_context_get_progress (CohortTaskContext *context);
/* Bytes the task holds now (the worker's memory figure); any thread may
 * read it. */
void               cohort_task_context_add_memory   (CohortTaskContext *context,
                                                     gint64             delta);
guint64            cohort_task_context_get_memory   (CohortTaskContext *context);

GQuark             cohort_task_error_quark          (void);
const char * const *cohort_task_list_names          (void);
gboolean           cohort_task_exists               (const char        *name);
/* Checks @args (a JSON object, or NULL for none) against the task's
 * parameters without running it. */
gboolean           cohort_task_validate             (const char        *name,
                                                     JsonNode          *args,
                                                     GError           **error);
/* Runs the task on the calling thread. Returns: (transfer full) the
 * result, or NULL with @error set. */
JsonNode          *cohort_task_run                  (const char        *name,
                                                     JsonNode          *args,
                                                     CohortTaskContext *context,
                                                     GError           **error);

/* Checked arguments of one task, held apart from any JSON tree: made on
 * one thread, run on another. */
typedef struct _CohortTaskArgs CohortTaskArgs;

CohortTaskArgs    *cohort_task_args_new             (const char           *name,
                                                     JsonNode             *args,
                                                     GError              **error);
void               cohort_task_args_free            (CohortTaskArgs       *args);
const char        *cohort_task_args_get_name        (const CohortTaskArgs *args);
JsonNode          *cohort_task_args_run             (const CohortTaskArgs *args,
                                                     CohortTaskContext    *context,
                                                     GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CohortTaskContext, cohort_task_context_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CohortTaskArgs, cohort_task_args_free)

/* The sum task's loop (for the thread benchmark's bare-pthreads peer). */
guint64            _cohort_task_sum_range           (guint64            sum,
                                                     guint64            from,
                                                     guint64            to);

G_END_DECLS
