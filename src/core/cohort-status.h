/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-status.h: what `cohort --status` and the headless table show. */

#pragma once

#include <json-glib/json-glib.h>

#include "cohort-supervisor.h"

G_BEGIN_DECLS

JsonNode *cohort_status_to_json      (CohortSupervisor *supervisor);
JsonNode *cohort_status_worker_json  (CohortSampler    *sampler,
                                      CohortWorker     *worker);
char     *cohort_status_format_table (CohortSupervisor *supervisor);
char     *cohort_status_format_time  (gint64            wall_usec);

G_END_DECLS
