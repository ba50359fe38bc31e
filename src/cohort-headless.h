/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-headless.h: running a profile with no window. */

#pragma once

#include "cohort-supervisor.h"

G_BEGIN_DECLS

int cohort_headless_run (CohortSupervisor *supervisor,
                         const char       *path);

G_END_DECLS
