/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-pm2.h: importing PM2 ecosystem files (JSON, or .config.js
 * evaluated with node) as cluster specs. */

#pragma once

#include <gio/gio.h>

#include "cohort-cluster-spec.h"

G_BEGIN_DECLS

#define COHORT_PM2_ERROR (cohort_pm2_error_quark ())

typedef enum
{
  COHORT_PM2_ERROR_READ,         /* the file cannot be read, or is of a kind not imported */
  COHORT_PM2_ERROR_SYNTAX,       /* not JSON, or the .config.js did not evaluate */
  COHORT_PM2_ERROR_NODE,         /* node is missing, timed out or printed too much */
  COHORT_PM2_ERROR_INVALID,      /* JSON, but not an ecosystem Cohort can run */
  COHORT_PM2_ERROR_OUTPUT,       /* the profile cannot be written */
} CohortPm2Error;

/* How long a .config.js may take to evaluate, and how much JSON it may give. */
#define COHORT_PM2_NODE_TIMEOUT_MS 10000
#define COHORT_PM2_MAX_SIZE        (4 * 1024 * 1024)

GQuark    cohort_pm2_error_quark  (void);
gboolean  cohort_pm2_import       (const char   *path,
                                   GPtrArray   **specs_out,
                                   GPtrArray   **warnings_out,
                                   GError      **error);
char     *cohort_pm2_profile_name (const char   *path);
gboolean  cohort_pm2_convert      (const char   *path,
                                   const char   *output,
                                   GPtrArray   **warnings_out,
                                   guint        *n_clusters_out,
                                   GError      **error);

G_END_DECLS
