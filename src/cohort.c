/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort.c: main(): checks a profile, or runs one headless. */

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cohort-headless.h"
#include "cohort-profile.h"
#include "cohort-supervisor.h"

#define EXIT_USAGE 2

static void
print_diagnostics (CohortProfile *profile)
{
  guint n = cohort_profile_get_n_diagnostics (profile);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text =
        cohort_profile_format_diagnostic (profile, cohort_profile_get_diagnostic (profile, i));

      g_printerr ("%s\n", text);
    }
}

/* --check: every problem with its line; exit 2 if any is an error. */
static int
check_profile (const char *path)
{
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  gboolean ok = cohort_profile_load_file (profile, path, NULL);
  guint n_clusters;

  print_diagnostics (profile);
  if (!ok)
    return EXIT_USAGE;

  n_clusters = cohort_profile_get_clusters (profile)->len;
  g_print (ngettext ("%s: OK, profile “%s” with %u cluster\n",
                     "%s: OK, profile “%s” with %u clusters\n", n_clusters),
           path, cohort_profile_get_name (profile), n_clusters);
  return EXIT_SUCCESS;
}

static int
run_headless (const char *path)
{
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(CohortSupervisor) supervisor = NULL;
  g_autoptr(GError) error = NULL;

  if (!cohort_profile_load_file (profile, path, &error))
    {
      print_diagnostics (profile);
      g_printerr (_("Nothing was started.\n"));
      return EXIT_USAGE;
    }
  /* Warnings still deserve to be seen. */
  print_diagnostics (profile);

  supervisor = cohort_supervisor_new ();
  if (!cohort_supervisor_load (supervisor, profile, &error))
    {
      g_printerr ("%s: %s\n", path, error->message);
      return EXIT_USAGE;
    }

  return cohort_headless_run (supervisor, path);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) files = NULL;
  g_autofree char *check = NULL;
  gboolean headless = FALSE;
  gboolean version = FALSE;
  const GOptionEntry entries[] = {
    { "headless", 0, 0, G_OPTION_ARG_NONE, &headless,
      N_("Run the profile with no window; SIGINT or SIGTERM stops it gracefully"), NULL },
    { "check", 0, 0, G_OPTION_ARG_FILENAME, &check,
      N_("Validate a profile: every problem with its line; exit 2 if any"), N_("FILE") },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, N_("[FILE.cohort]") },
    { NULL }
  };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* A closed terminal or pipe must not kill the supervisor of everything;
   * workers get the default back before they exec. */
  signal (SIGPIPE, SIG_IGN);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _("Run a program as a cluster of workers and watch it live."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("cohort: %s\n", error->message);
      return EXIT_USAGE;
    }

  if (version)
    {
      g_print ("cohort %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }

  if (check != NULL)
    return check_profile (check);

  if (files == NULL || files[0] == NULL)
    {
      g_printerr (_("cohort: name a profile to run, for example: cohort --headless data/demo.cohort\n"));
      return EXIT_USAGE;
    }
  if (files[1] != NULL)
    {
      g_printerr (_("cohort: one profile at a time\n"));
      return EXIT_USAGE;
    }

  /* The window arrives with its own issue; until then every profile runs
   * headless, as --headless asks explicitly. */
  (void) headless;
  return run_headless (files[0]);
}
