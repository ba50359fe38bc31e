/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-series.h: a fixed-capacity ring of timed samples, the data behind
 * every graph. NAN marks a gap. Series taken together can share their
 * times (cohort_series_new_columns). Main thread only. */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define COHORT_TYPE_SERIES (cohort_series_get_type ())

typedef struct _CohortSeries CohortSeries;

/* Called oldest to newest; @time_usec is wall-clock microseconds. */
typedef void (*CohortSeriesFunc) (gint64   time_usec,
                                  double   value,
                                  gpointer user_data);

GType         cohort_series_get_type      (void) G_GNUC_CONST;
CohortSeries *cohort_series_new           (guint             capacity);
void          cohort_series_new_columns   (guint             capacity,
                                           guint             n_columns,
                                           CohortSeries    **series);
void          cohort_series_new_groups    (guint             capacity,
                                           guint             n_columns,
                                           guint             n_groups,
                                           CohortSeries    **series);
CohortSeries *cohort_series_ref           (CohortSeries     *self);
void          cohort_series_unref         (CohortSeries     *self);
guint         cohort_series_get_capacity  (CohortSeries     *self);
guint         cohort_series_get_length    (CohortSeries     *self);
void          cohort_series_push          (CohortSeries     *self,
                                           gint64            time_usec,
                                           double            value);
void          cohort_series_push_row      (CohortSeries     *self,
                                           gint64            time_usec,
                                           const double     *values);
gint64        cohort_series_get_time      (CohortSeries     *self,
                                           guint             index);
double        cohort_series_get_value     (CohortSeries     *self,
                                           guint             index);
guint         cohort_series_find          (CohortSeries     *self,
                                           gint64            time_usec);
double        cohort_series_get_last      (CohortSeries     *self);
gint64        cohort_series_get_last_time (CohortSeries     *self);
void          cohort_series_resize        (CohortSeries     *self,
                                           guint             capacity);
void          cohort_series_resize_groups (CohortSeries    **series,
                                           guint             n_groups,
                                           guint             capacity);
void          cohort_series_clear         (CohortSeries     *self);
gboolean      cohort_series_get_range     (CohortSeries     *self,
                                           gint64            since_usec,
                                           double           *min,
                                           double           *max);
double        cohort_series_get_mean      (CohortSeries     *self,
                                           gint64            since_usec);
void          cohort_series_foreach       (CohortSeries     *self,
                                           gint64            since_usec,
                                           CohortSeriesFunc  func,
                                           gpointer          user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CohortSeries, cohort_series_unref)

G_END_DECLS
