/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort.c: main(). Every invocation is a GApplication with the same
 * options: the window (CohortApplication) when there is a display and no
 * reason not to, otherwise the headless runner (CohortHeadless). A later
 * invocation with --status, --scale … is forwarded to whichever runs.
 *
 * The window lives in a loadable module (cohort-gui, see
 * gui/cohort-gui-module.c): this executable links only libcohort-core, and
 * GTK and libadwaita are mapped only when a window is wanted. */

#include "config.h"

#include <glib/gi18n.h>
#include <gmodule.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cohort-gui-module.h"
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

/* Whether GTK could find a display at all; when not, the module is not even
 * loaded. GTK itself has the last word (gtk_init_check() in the module). */
static gboolean
may_have_display (void)
{
  const char *runtime_dir;
  g_autofree char *wayland_socket = NULL;

  if (g_getenv ("GDK_BACKEND") != NULL)
    return TRUE;
  if (g_strcmp0 (g_getenv ("DISPLAY"), "") > 0 || g_strcmp0 (g_getenv ("WAYLAND_DISPLAY"), "") > 0)
    return TRUE;
  /* libwayland falls back to "wayland-0" when WAYLAND_DISPLAY is unset. */
  runtime_dir = g_getenv ("XDG_RUNTIME_DIR");
  if (runtime_dir == NULL || *runtime_dir == '\0')
    return FALSE;
  wayland_socket = g_build_filename (runtime_dir, "wayland-0", NULL);
  return g_file_test (wayland_socket, G_FILE_TEST_EXISTS);
}

/* COHORT_GUI_MODULE when set; else the module of the build tree next to an
 * uninstalled executable; else the installed one. */
static char *
find_gui_module (void)
{
  const char *env = g_getenv ("COHORT_GUI_MODULE");
  g_autofree char *exe = NULL;

  if (env != NULL && *env != '\0')
    return g_strdup (env);

  exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (exe);
      g_autofree char *in_tree = g_build_filename (dir, COHORT_GUI_MODULE_BUILD_RELPATH, NULL);

      if (g_file_test (in_tree, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&in_tree);
    }
  return g_strdup (COHORT_GUI_MODULE_PATH);
}

/* Runs the window through the module. Returns FALSE, with *status unset, when
 * GTK finds no display; exits 2 when the module cannot be loaded. */
static gboolean
run_window (int    argc,
            char **argv,
            int   *status)
{
  g_autofree char *path = find_gui_module ();
  GModule *module;
  CohortGuiRunFunc run = NULL;
  gboolean no_display = FALSE;

  module = g_module_open (path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module == NULL || !g_module_symbol (module, COHORT_GUI_RUN_SYMBOL, (gpointer *) &run))
    {
      g_printerr (_("cohort: cannot load the window module: %s\n"), g_module_error ());
      exit (2);
    }
  /* Its types and its GResource stay registered until the process ends. */
  g_module_make_resident (module);

  *status = run (argc, argv, &no_display);
  return !no_display;
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
      if (may_have_display () && run_window (argc, argv, &status))
        return status;
      g_printerr (_("cohort: no display: running headless (Ctrl+C stops it gracefully)\n"));
    }

  app = G_APPLICATION (cohort_headless_new ());
  status = g_application_run (app, argc, argv);
  if (status == 0)
    status = cohort_headless_get_exit_status (COHORT_HEADLESS (app));
  return status;
}
