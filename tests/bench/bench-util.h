/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-util.h: what the engine benchmarks (bench-roundtrip, bench-threads)
 * share: a supervisor started from a profile text, the main loop run until
 * a condition, and this process's CPU time. */

#pragma once

#include <glib.h>

#include "cohort-supervisor.h"

G_BEGIN_DECLS

#define BENCH_STARTUP_TIMEOUT (15 * G_USEC_PER_SEC)
#define BENCH_STOP_TIMEOUT    (10 * G_USEC_PER_SEC)

double            bench_cpu_seconds       (void);

gboolean          bench_iterate_until     (gboolean (*cond) (gpointer),
                                           gpointer   data,
                                           gint64     timeout_us);

CohortSupervisor *bench_start_supervisor  (const char *program,
                                           const char *profile_text);

gboolean          bench_stop_supervisor   (const char       *program,
                                           CohortSupervisor *supervisor);

G_END_DECLS
