/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-worker-item.h: one row of the worker table. */

#pragma once

#include <glib-object.h>

#include "cohort-sampler.h"
#include "cohort-worker.h"

G_BEGIN_DECLS

#define COHORT_TYPE_WORKER_ITEM (cohort_worker_item_get_type ())

G_DECLARE_FINAL_TYPE (CohortWorkerItem, cohort_worker_item, COHORT, WORKER_ITEM, GObject)

CohortWorkerItem *cohort_worker_item_new        (CohortWorker     *worker,
                                                 CohortSampler    *sampler);
CohortWorker     *cohort_worker_item_get_worker (CohortWorkerItem *self);
void              cohort_worker_item_update     (CohortWorkerItem *self);

G_END_DECLS
