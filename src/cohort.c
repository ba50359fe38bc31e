/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort.c: main(). Every invocation is a GApplication with the same
 * options: the window (CohortApplication) when there is a display and no
 * reason not to, otherwise the headless runner (CohortHeadless). A later
 * invocation with --status, --scale … is forwarded to whichever runs. */

#include "config.h"

#include <glib/gi18n.h>
#include <gtk/gtk.h>
#include <locale.h>
#include <signal.h>

#include "cohort-application.h"
#include "cohort-headless.h"

/* Options that never need the window: utilities, and commands for the
 * running instance (forwarding needs no display). */
static gboolean
wants_window (int    argc,
              char **argv)
{
  static const char * const headless_options[] = {
    "--headless", "--check", "--version", "--status", "--scale", "--send", "--messages",
    "--logs", "--reload", "--restart", "--start", "--stop", "--quit", "--export",
    "--import", "--output", "-o", NULL
  };

  for (int i = 1; i < argc; i++)
    for (guint j = 0; headless_options[j] != NULL; j++)
      {
        gsize n = strlen (headless_options[j]);

        if (strncmp (argv[i], headless_options[j], n) == 0 && (argv[i][n] == '\0' || argv[i][n] == '='))
          return FALSE;
      }
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GApplication) app = NULL;
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* A closed terminal or pipe must not kill the supervisor of everything;
   * workers get the default back before they exec. */
  signal (SIGPIPE, SIG_IGN);

  if (wants_window (argc, argv))
    {
      if (gtk_init_check ())
        {
          app = G_APPLICATION (cohort_application_new ());
          return g_application_run (app, argc, argv);
        }
      g_printerr (_("cohort: no display: running headless (Ctrl+C stops it gracefully)\n"));
    }

  app = G_APPLICATION (cohort_headless_new ());
  status = g_application_run (app, argc, argv);
  if (status == 0)
    status = cohort_headless_get_exit_status (COHORT_HEADLESS (app));
  return status;
}
