/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-test-gui.h: helpers for the suites that need a display. */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

gboolean cohort_test_gui_init    (int         *argc,
                                  char      ***argv,
                                  const char  *skip_path);
gboolean cohort_test_mapped      (gpointer     widget);
gpointer cohort_test_find_window (GType        type);
void     cohort_test_screenshot  (GtkWidget   *window,
                                  const char  *dir,
                                  const char  *name);

G_END_DECLS
