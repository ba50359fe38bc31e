/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort.c: main(). Every invocation is a GApplication: the first runs a
 * profile (headless for now; the window arrives with its own issue), and
 * a later one with --status, --scale … is forwarded to it. */

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>

#include "cohort-headless.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(CohortHeadless) app = NULL;
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* A closed terminal or pipe must not kill the supervisor of everything;
   * workers get the default back before they exec. */
  signal (SIGPIPE, SIG_IGN);

  app = cohort_headless_new ();
  status = g_application_run (G_APPLICATION (app), argc, argv);
  if (status == 0)
    status = cohort_headless_get_exit_status (app);
  return status;
}
