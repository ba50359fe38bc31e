/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-gui-module.c: the window's entry point, in a loadable module, so
 * that `cohort` maps GTK and libadwaita only when it opens a window (the
 * headless runner, the remote commands and every worker fork stay without
 * them). The libcohort-core symbols come from the executable, which exports
 * them: the module holds only libcohort-gui and its GResource (ui/), which
 * registers itself when the module is loaded. */

#include "config.h"

#include <gmodule.h>
#include <gtk/gtk.h>

#include "cohort-application.h"
#include "cohort-gui-module.h"

G_MODULE_EXPORT int
cohort_gui_run (int       argc,
                char    **argv,
                gboolean *no_display)
{
  g_autoptr(GApplication) app = NULL;

  *no_display = FALSE;
  if (!gtk_init_check ())
    {
      *no_display = TRUE;
      return 0;
    }
  app = G_APPLICATION (cohort_application_new ());
  return g_application_run (app, argc, argv);
}
