/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-overview-page.h: every cluster at a glance, and Cohort itself. */

#pragma once

#include <adwaita.h>

#include "cohort-supervisor.h"

G_BEGIN_DECLS

#define COHORT_TYPE_OVERVIEW_PAGE (cohort_overview_page_get_type ())

G_DECLARE_FINAL_TYPE (CohortOverviewPage, cohort_overview_page, COHORT, OVERVIEW_PAGE, GtkWidget)

CohortOverviewPage *cohort_overview_page_new (CohortSupervisor *supervisor);

G_END_DECLS
