/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-gui-module.h: the entry point the cohort-gui module exports; main()
 * looks it up by name with GModule. */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define COHORT_GUI_RUN_SYMBOL "cohort_gui_run"

/* Opens the window when GTK finds a display and returns the exit status;
 * otherwise sets *no_display and returns 0 at once. */
typedef int (*CohortGuiRunFunc) (int argc, char **argv, gboolean *no_display);

int cohort_gui_run (int argc, char **argv, gboolean *no_display);

G_END_DECLS
