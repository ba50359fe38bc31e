/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-test-gui.c: helpers for the suites that need a display. */

#include "config.h"

#include <adwaita.h>

#include "cohort-application.h"
#include "cohort-test-gui.h"
#include "cohort-test-util.h"

static void
skip_no_display (void)
{
  g_test_skip ("no display: run the GUI suite under xvfb-run, as build-aux/cohort-dev test does");
}

/* Initializes GTK and libadwaita for the tests, and returns TRUE; without
 * a display (where gtk_test_init () would abort), registers @skip_path as
 * a skipped test that says why, and returns FALSE: the caller then runs
 * only that. */
gboolean
cohort_test_gui_init (int          *argc,
                      char       ***argv,
                      const char   *skip_path)
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_test_init (argc, argv, NULL);
      g_test_add_func (skip_path, skip_no_display);
      return FALSE;
    }
  gtk_test_init (argc, argv, NULL);
  adw_init ();
  return TRUE;
}

/* A CohortTestCondition: @widget is on screen. */
gboolean
cohort_test_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (widget);
}

/* Returns: (transfer none) (nullable): the shown toplevel of @type */
gpointer
cohort_test_find_window (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();   /* (transfer none) */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type) && gtk_widget_get_visible (window))
        return window;
    }
  return NULL;
}

/* Saves @window as @name, in COHORT_SCREENSHOT_DIR when it is set (to
 * keep and look at), else in @dir, and checks it is not blank. */
void
cohort_test_screenshot (GtkWidget  *window,
                        const char *dir,
                        const char *name)
{
  const char *keep = g_getenv ("COHORT_SCREENSHOT_DIR");
  g_autofree char *path = g_build_filename (keep != NULL ? keep : dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *png = NULL;
  gsize size = 0;

  g_assert_true (cohort_test_wait_until (cohort_test_mapped, window, 5000));
  /* A few frames for a style change to show. */
  cohort_test_sleep (600);
  cohort_save_window_png (window, path, &error);
  g_assert_no_error (error);
  /* A blank or half-drawn window compresses to a few kilobytes. */
  g_assert_true (g_file_get_contents (path, &png, &size, NULL));
  g_test_message ("%s: %" G_GSIZE_FORMAT " bytes", path, size);
  g_assert_cmpuint (size, >, 10000);
}
