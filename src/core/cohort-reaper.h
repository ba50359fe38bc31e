/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-reaper.h: Cohort as the child subreaper of its workers' trees. */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

void     cohort_reaper_init          (void);
void     cohort_reaper_reap          (void);
gboolean cohort_reaper_group_alive   (GPid  pgid);
void     cohort_reaper_end_group     (GPid  pgid,
                                      int   signum,
                                      guint timeout_ms);
void     cohort_reaper_track         (GPid  pid);
void     cohort_reaper_untrack       (GPid  pid);
gboolean cohort_reaper_is_tracked    (GPid  pid);
guint    cohort_reaper_get_tracking_changes (void);
guint    cohort_reaper_get_n_reaped  (void);

G_END_DECLS
