/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-watch.h: many descriptors and child exits behind one epoll set. */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef gboolean (*CohortWatchFdFunc) (int          fd,
                                       GIOCondition condition,
                                       gpointer     user_data);

guint cohort_watch_fd     (int               fd,
                           GIOCondition      condition,
                           CohortWatchFdFunc func,
                           gpointer          user_data);
guint cohort_watch_child  (GPid              pid,
                           GChildWatchFunc   func,
                           gpointer          user_data);
void  cohort_watch_remove (guint             id);

G_END_DECLS
