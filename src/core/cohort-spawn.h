/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-spawn.h: starting a worker process without copying Cohort. */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the child gets. Descriptor i of the child is fds[i], for i below
 * n_fds (0, 1 and 2 included); every other descriptor is closed. All of
 * it is copied: the request may be freed once cohort_spawn() returns. */
typedef struct
{
  const char         *working_directory;  /* NULL: Cohort's own */
  const char * const *argv;               /* argv[0] without a slash: looked up in envp's PATH */
  const char * const *envp;
  char               *listen_pid_slot;    /* room in an envp string for the child's pid, or NULL */
  const int          *fds;
  gsize               n_fds;
} CohortSpawnRequest;

gboolean cohort_spawn              (const CohortSpawnRequest  *request,
                                    GPid                      *pid,
                                    GError                   **error);
gboolean cohort_spawn_is_pending   (GPid                       pid);
gboolean cohort_spawn_has_execd    (GPid                       pid);
gboolean cohort_spawn_take_failure (GPid                       pid,
                                    GError                   **error);

G_END_DECLS
