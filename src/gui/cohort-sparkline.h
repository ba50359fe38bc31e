/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-sparkline.h: a tiny CPU line of the last minute, for the sidebar. */

#pragma once

#include <gtk/gtk.h>

#include "cohort-series.h"

G_BEGIN_DECLS

#define COHORT_TYPE_SPARKLINE (cohort_sparkline_get_type ())

G_DECLARE_FINAL_TYPE (CohortSparkline, cohort_sparkline, COHORT, SPARKLINE, GtkWidget)

GtkWidget    *cohort_sparkline_new          (void);
CohortSeries *cohort_sparkline_get_series   (CohortSparkline *self);
void          cohort_sparkline_set_series   (CohortSparkline *self,
                                             CohortSeries    *series);
void          cohort_sparkline_set_color    (CohortSparkline *self,
                                             const GdkRGBA   *color);
void          cohort_sparkline_queue_update (CohortSparkline *self);

G_END_DECLS
