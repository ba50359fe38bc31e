/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-profile.h: *.cohort profile files: loaded, edited, saved. */

#pragma once

#include <gio/gio.h>

#include "cohort-cluster-spec.h"

G_BEGIN_DECLS

#define COHORT_PROFILE_ERROR (cohort_profile_error_quark ())

typedef enum
{
  COHORT_PROFILE_ERROR_READ,
  COHORT_PROFILE_ERROR_INVALID,
  COHORT_PROFILE_ERROR_WRITE,
  COHORT_PROFILE_ERROR_NOT_FOUND,   /* no cluster of that name */
  COHORT_PROFILE_ERROR_EXISTS,      /* a cluster of that name already */
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
gboolean                cohort_profile_get_modified       (CohortProfile  *self);
gboolean                cohort_profile_get_trusted        (CohortProfile  *self);
gboolean                cohort_profile_get_changed_on_disk (CohortProfile *self);

void                    cohort_profile_set_name           (CohortProfile      *self,
                                                           const char         *name);
gboolean                cohort_profile_put_cluster        (CohortProfile      *self,
                                                           const char         *old_name,
                                                           CohortClusterSpec  *spec,
                                                           GError            **error);
gboolean                cohort_profile_remove_cluster     (CohortProfile      *self,
                                                           const char         *name);
char                   *cohort_profile_to_data            (CohortProfile      *self,
                                                           gsize              *length);
gboolean                cohort_profile_restore            (CohortProfile      *self,
                                                           const char         *data,
                                                           gsize               length,
                                                           gboolean            modified,
                                                           GError            **error);
gboolean                cohort_profile_save               (CohortProfile      *self,
                                                           const char         *path,
                                                           GError            **error);
gboolean                cohort_profile_save_untrusted     (CohortProfile      *self,
                                                           const char         *path,
                                                           GError            **error);

CohortClusterSpec      *cohort_profile_parse_cluster      (const char          *name,
                                                           const char * const  *keys,
                                                           const char * const  *values,
                                                           const char          *base_dir,
                                                           GError             **error);

G_END_DECLS
