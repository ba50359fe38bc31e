/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-profile.h: *.cohort profile files. */

#pragma once

#include <gio/gio.h>

#include "cohort-cluster-spec.h"

G_BEGIN_DECLS

#define COHORT_PROFILE_ERROR (cohort_profile_error_quark ())

typedef enum
{
  COHORT_PROFILE_ERROR_READ,
  COHORT_PROFILE_ERROR_INVALID,
} CohortProfileError;

typedef enum
{
  COHORT_DIAGNOSTIC_WARNING,
  COHORT_DIAGNOSTIC_ERROR,
} CohortDiagnosticLevel;

typedef struct
{
  CohortDiagnosticLevel  level;
  guint                  line;     /* 1-based; 0 for the file as a whole */
  char                  *message;
} CohortDiagnostic;

#define COHORT_TYPE_PROFILE (cohort_profile_get_type ())

G_DECLARE_FINAL_TYPE (CohortProfile, cohort_profile, COHORT, PROFILE, GObject)

GQuark                  cohort_profile_error_quark        (void);
CohortProfile          *cohort_profile_new                (void);
gboolean                cohort_profile_load_file          (CohortProfile  *self,
                                                           const char     *path,
                                                           GError        **error);
gboolean                cohort_profile_load_data          (CohortProfile  *self,
                                                           const char     *data,
                                                           gssize          length,
                                                           const char     *path,
                                                           GError        **error);
const char             *cohort_profile_get_name           (CohortProfile  *self);
const char             *cohort_profile_get_path           (CohortProfile  *self);
GPtrArray              *cohort_profile_get_clusters       (CohortProfile  *self);
guint                   cohort_profile_get_n_diagnostics  (CohortProfile  *self);
const CohortDiagnostic *cohort_profile_get_diagnostic     (CohortProfile  *self,
                                                           guint           index);
guint                   cohort_profile_get_n_errors       (CohortProfile  *self);
char                   *cohort_profile_format_diagnostic  (CohortProfile          *self,
                                                           const CohortDiagnostic *diagnostic);

G_END_DECLS
