/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-preferences.c: the Preferences window under Xvfb, changed through
 * its rows: every change lands in GSettings at once in the keys' units
 * (milliseconds, seconds, a span nick), a change made in GSettings shows
 * in the rows, and, opened from the running application's action, the
 * sampler follows the rows and the cluster page's span dropdown and the
 * Graph span row agree both ways. Screenshots in light and dark. */

#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "cohort-application.h"
#include "cohort-cluster-page.h"
#include "cohort-preferences-window.h"
#include "cohort-test-gui.h"
#include "cohort-test-util.h"
#include "cohort-window.h"

static const char * const keys[] = { "sample-interval", "history-length", "graph-span" };

/* The tests share one memory backend: each starts from the defaults. */
static GSettings *
settings_new (void)
{
  GSettings *settings = g_settings_new (APPLICATION_ID);

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    g_settings_reset (settings, keys[i]);
  return settings;
}

static gpointer
child (CohortPreferencesWindow *window,
       const char              *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (window), COHORT_TYPE_PREFERENCES_WINDOW, name);

  g_assert_nonnull (object);
  return object;
}

#define INTERVAL(w) GTK_SPIN_BUTTON (child ((w), "interval_spin"))
#define HISTORY(w)  GTK_SPIN_BUTTON (child ((w), "history_spin"))
#define SPAN(w)     ADW_COMBO_ROW (child ((w), "span_row"))

static void
test_units (void)
{
  g_autoptr(GSettings) settings = settings_new ();
  CohortPreferencesWindow *window = cohort_preferences_window_new (NULL, settings);
  g_autofree char *span = NULL;

  /* GTK owns toplevels; the test keeps the object past its closing. */
  g_object_ref (window);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (cohort_test_wait_until (cohort_test_mapped, window, 5000));

  /* The defaults, in the rows' units. */
  g_assert_cmpfloat_with_epsilon (gtk_spin_button_get_value (INTERVAL (window)), 1.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (gtk_spin_button_get_value (HISTORY (window)), 10.0, 1e-9);
  g_assert_cmpuint (adw_combo_row_get_selected (SPAN (window)), ==, 1);

  /* Seconds in the row, milliseconds in the key, rounded to the step. */
  gtk_spin_button_set_value (INTERVAL (window), 0.3);
  g_assert_cmpuint (g_settings_get_uint (settings, "sample-interval"), ==, 300);
  gtk_spin_button_spin (INTERVAL (window), GTK_SPIN_STEP_FORWARD, 0);
  g_assert_cmpuint (g_settings_get_uint (settings, "sample-interval"), ==, 400);
  gtk_spin_button_set_value (INTERVAL (window), 0.1);
  g_assert_cmpuint (g_settings_get_uint (settings, "sample-interval"), ==, 100);
  /* The row's range is the key's. */
  gtk_spin_button_set_value (INTERVAL (window), 0.01);
  g_assert_cmpuint (g_settings_get_uint (settings, "sample-interval"), ==, 100);
  gtk_spin_button_set_value (INTERVAL (window), 25);
  g_assert_cmpuint (g_settings_get_uint (settings, "sample-interval"), ==, 10000);

  /* Minutes in the row, seconds in the key. */
  gtk_spin_button_set_value (HISTORY (window), 15);
  g_assert_cmpuint (g_settings_get_uint (settings, "history-length"), ==, 900);
  gtk_spin_button_set_value (HISTORY (window), 0);
  g_assert_cmpuint (g_settings_get_uint (settings, "history-length"), ==, 60);
  gtk_spin_button_set_value (HISTORY (window), 90);
  g_assert_cmpuint (g_settings_get_uint (settings, "history-length"), ==, 3600);

  /* The span row's items are the key's choices, in order. */
  adw_combo_row_set_selected (SPAN (window), 0);
  span = g_settings_get_string (settings, "graph-span");
  g_assert_cmpstr (span, ==, "1m");
  g_assert_cmpint (g_settings_get_enum (settings, "graph-span"), ==, 60);
  adw_combo_row_set_selected (SPAN (window), 2);
  g_assert_cmpint (g_settings_get_enum (settings, "graph-span"), ==, 600);
  adw_combo_row_set_selected (SPAN (window), 1);
  g_assert_cmpint (g_settings_get_enum (settings, "graph-span"), ==, 300);

  /* A change made elsewhere shows in the rows. */
  g_settings_set_uint (settings, "sample-interval", 2500);
  g_assert_cmpfloat_with_epsilon (gtk_spin_button_get_value (INTERVAL (window)), 2.5, 1e-9);
  g_settings_set_uint (settings, "history-length", 1800);
  g_assert_cmpfloat_with_epsilon (gtk_spin_button_get_value (HISTORY (window)), 30.0, 1e-9);
  g_settings_set_string (settings, "graph-span", "10m");
  g_assert_cmpuint (adw_combo_row_get_selected (SPAN (window)), ==, 2);

  /* Closed, its rows are let go: a later change reaches none of them. */
  gtk_window_destroy (GTK_WINDOW (window));
  g_settings_set_uint (settings, "sample-interval", 3000);
  g_settings_set_string (settings, "graph-span", "1m");
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  g_object_unref (window);
  g_assert_null (window);
}

/* The application, on a profile with one cluster */

typedef struct
{
  char              *dir;
  CohortApplication *app;
  CohortWindow      *window;
  CohortClusterPage *page;
  gboolean           done;
} Fixture;

static gboolean
window_ready (gpointer data)
{
  Fixture *f = data;
  GtkWidget *page;

  f->window = COHORT_WINDOW (cohort_application_get_main_window (f->app));
  if (f->window == NULL || !gtk_widget_get_mapped (GTK_WIDGET (f->window)))
    return FALSE;
  page = cohort_window_get_visible_page (f->window);
  if (page == NULL || !COHORT_IS_CLUSTER_PAGE (page))
    return FALSE;
  f->page = COHORT_CLUSTER_PAGE (page);
  return TRUE;
}

static gboolean
run_steps (gpointer data)
{
  Fixture *f = data;
  CohortSampler *sampler;
  CohortPreferencesWindow *preferences;
  GtkDropDown *page_span;
  AdwStyleManager *style = adw_style_manager_get_default ();
  g_auto(GStrv) accels = NULL;

  g_assert_true (cohort_test_wait_until (window_ready, f, 20000));
  sampler = cohort_supervisor_get_sampler (cohort_application_get_supervisor (f->app));
  page_span = GTK_DROP_DOWN (gtk_widget_get_template_child (GTK_WIDGET (f->page), COHORT_TYPE_CLUSTER_PAGE,
                                                            "span_dropdown"));
  g_assert_nonnull (page_span);

  /* Ctrl+, opens the window over the main one. */
  accels = gtk_application_get_accels_for_action (GTK_APPLICATION (f->app), "app.preferences");
  g_assert_true (g_strv_contains ((const char * const *) accels, "<Control>comma"));
  g_assert_null (cohort_test_find_window (COHORT_TYPE_PREFERENCES_WINDOW));
  g_action_group_activate_action (G_ACTION_GROUP (f->app), "preferences", NULL);
  preferences = cohort_test_find_window (COHORT_TYPE_PREFERENCES_WINDOW);
  g_assert_nonnull (preferences);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (preferences)) == GTK_WINDOW (f->window));
  g_assert_true (cohort_test_wait_until (cohort_test_mapped, preferences, 5000));
  /* Asked again, the same window comes forward; no second one. */
  g_action_group_activate_action (G_ACTION_GROUP (f->app), "preferences", NULL);
  {
    GListModel *toplevels = gtk_window_get_toplevels ();   /* (transfer none) */
    guint n = 0;

    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

        n += G_TYPE_CHECK_INSTANCE_TYPE (window, COHORT_TYPE_PREFERENCES_WINDOW);
      }
    g_assert_cmpuint (n, ==, 1);
  }

  /* The running sampler follows the rows at once. */
  gtk_spin_button_set_value (INTERVAL (preferences), 0.5);
  g_assert_cmpuint (cohort_sampler_get_interval (sampler), ==, 500);
  gtk_spin_button_set_value (HISTORY (preferences), 2);
  g_assert_cmpuint (cohort_sampler_get_history (sampler), ==, 120);

  /* The Graph span row and the page's dropdown are one setting. */
  g_assert_cmpuint (adw_combo_row_get_selected (SPAN (preferences)), ==, gtk_drop_down_get_selected (page_span));
  adw_combo_row_set_selected (SPAN (preferences), 0);
  g_assert_cmpuint (gtk_drop_down_get_selected (page_span), ==, 0);
  gtk_drop_down_set_selected (page_span, 2);
  g_assert_cmpuint (adw_combo_row_get_selected (SPAN (preferences)), ==, 2);

  /* The picture: back to the defaults, in light and dark. */
  gtk_spin_button_set_value (INTERVAL (preferences), 1);
  gtk_spin_button_set_value (HISTORY (preferences), 10);
  adw_combo_row_set_selected (SPAN (preferences), 1);
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  cohort_test_screenshot (GTK_WIDGET (preferences), f->dir, "preferences.png");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  cohort_test_screenshot (GTK_WIDGET (preferences), f->dir, "preferences-dark.png");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);

  gtk_window_close (GTK_WINDOW (preferences));
  g_assert_null (cohort_test_find_window (COHORT_TYPE_PREFERENCES_WINDOW));

  f->done = TRUE;
  cohort_supervisor_kill (cohort_application_get_supervisor (f->app));
  g_application_quit (G_APPLICATION (f->app));
  return G_SOURCE_REMOVE;
}

static void
test_app (void)
{
  g_autoptr(GSettings) settings = settings_new ();
  g_autofree char *worker = g_shell_quote (cohort_test_worker_path ());
  g_autofree char *profile = NULL;
  const char *argv[] = { "cohort", NULL, NULL };
  Fixture f = { 0 };

  f.dir = cohort_test_make_dir ();
  profile = cohort_test_write_profile (f.dir, "preferences.cohort", TRUE,
                                       "[Profile]\nName=Preferences test\n"
                                       "[Cluster web]\nCommand=%s --channel-echo --on-shutdown-exit 0\n"
                                       "Instances=1\nStopTimeout=5\n", worker);

  argv[1] = profile;
  f.app = cohort_application_new ();
  g_application_set_flags (G_APPLICATION (f.app),
                           g_application_get_flags (G_APPLICATION (f.app)) | G_APPLICATION_NON_UNIQUE);
  g_timeout_add (10, run_steps, &f);
  g_assert_cmpint (g_application_run (G_APPLICATION (f.app), 2, (char **) argv), ==, 0);
  g_assert_true (f.done);

  /* What the rows set is what the next start reads. */
  g_assert_cmpuint (g_settings_get_uint (settings, "sample-interval"), ==, 1000);
  g_assert_cmpuint (g_settings_get_uint (settings, "history-length"), ==, 600);
  g_assert_cmpint (g_settings_get_enum (settings, "graph-span"), ==, 300);

  g_clear_object (&f.app);
  cohort_test_remove_dir (f.dir);
  g_free (f.dir);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *data_home = NULL;
  int status;

  if (!cohort_test_gui_init (&argc, &argv, "/Cohort/Preferences/units"))
    return g_test_run ();

  /* The trust store and the rest of the user's data: the run's own. */
  data_home = g_dir_make_tmp ("cohort-preferences-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);

  g_test_add_func ("/Cohort/Preferences/units", test_units);
  g_test_add_func ("/Cohort/Preferences/app", test_app);
  status = g_test_run ();
  cohort_test_remove_dir (data_home);
  return status;
}
