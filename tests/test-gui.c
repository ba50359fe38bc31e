/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-gui.c: the real window, under Xvfb, driven through its actions:
 * scale up and down, send, reload, stop and start; the worker table's rows
 * and states, the graphs' samples, and a screenshot that is not blank. */

#include "config.h"

#include <adwaita.h>

#include "cohort-application.h"
#include "cohort-cluster-page.h"
#include "cohort-send-dialog.h"
#include "cohort-test-util.h"
#include "cohort-window.h"
#include "cohort-worker-item.h"

typedef struct
{
  char              *dir;
  CohortApplication *app;
  GtkWindow         *window;
  CohortClusterPage *page;
  CohortCluster     *cluster;
  gboolean           done;
} Fixture;

static gboolean
window_ready (gpointer data)
{
  Fixture *f = data;
  GtkWidget *page;

  f->window = cohort_application_get_main_window (f->app);
  if (f->window == NULL || !gtk_widget_get_mapped (GTK_WIDGET (f->window)))
    return FALSE;
  page = cohort_window_get_visible_page (COHORT_WINDOW (f->window));
  if (page == NULL || !COHORT_IS_CLUSTER_PAGE (page))
    return FALSE;
  f->page = COHORT_CLUSTER_PAGE (page);
  f->cluster = cohort_cluster_page_get_cluster (f->page);
  return TRUE;
}

typedef struct
{
  Fixture *f;
  guint    rows;
  const char *state;
} RowsWait;

/* The table has @rows rows, every one showing @state. */
static gboolean
rows_are (gpointer data)
{
  RowsWait *w = data;
  GListModel *rows = cohort_cluster_page_get_rows (w->f->page);

  if (g_list_model_get_n_items (rows) != w->rows)
    return FALSE;
  for (guint i = 0; i < w->rows; i++)
    {
      g_autoptr(CohortWorkerItem) item = g_list_model_get_item (rows, i);
      g_autofree char *state = NULL;

      cohort_worker_item_update (item);
      g_object_get (item, "state", &state, NULL);
      if (g_strcmp0 (state, w->state) != 0)
        return FALSE;
    }
  return TRUE;
}

static void
wait_rows (Fixture    *f,
           guint       n,
           const char *state)
{
  RowsWait w = { f, n, state };

  if (!cohort_test_wait_until (rows_are, &w, 15000))
    g_error ("the table never showed %u rows %s (it has %u)", n, state,
             g_list_model_get_n_items (cohort_cluster_page_get_rows (f->page)));
}

static gboolean
has_graph_samples (gpointer data)
{
  return cohort_cluster_page_get_n_graph_samples (data) >= 2;
}

static gboolean
worker0_answered (gpointer data)
{
  Fixture *f = data;

  return cohort_worker_get_messages_in (cohort_cluster_lookup_worker (f->cluster, 0)) >= 2;
}

static gboolean
worker0_reloaded (gpointer data)
{
  Fixture *f = data;
  CohortWorker *worker = cohort_cluster_lookup_worker (f->cluster, 0);

  return worker != NULL && cohort_worker_get_restarts (worker) == 1 &&
         cohort_worker_get_state (worker) == COHORT_WORKER_STATE_ONLINE &&
         !cohort_cluster_get_reloading (f->cluster);
}

static gboolean
worker0_restarted_twice (gpointer data)
{
  Fixture *f = data;
  CohortWorker *worker = cohort_cluster_lookup_worker (f->cluster, 0);

  return worker != NULL && cohort_worker_get_restarts (worker) == 2 &&
         cohort_worker_get_state (worker) == COHORT_WORKER_STATE_ONLINE;
}

/* Distinct colours in a screenshot: a blank window has a handful. */
static guint
count_colors (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture = gdk_texture_new_from_filename (path, &error);
  g_autoptr(GHashTable) colors = g_hash_table_new (NULL, NULL);
  g_autofree guchar *pixels = NULL;
  int width;
  int height;

  g_assert_no_error (error);
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  pixels = g_malloc ((gsize) width * height * 4);
  gdk_texture_download (texture, pixels, (gsize) width * 4);
  for (gsize i = 0; i < (gsize) width * height; i++)
    g_hash_table_add (colors, GUINT_TO_POINTER (((guint32 *) pixels)[i]));
  return g_hash_table_size (colors);
}

static gboolean
run_steps (gpointer data)
{
  Fixture *f = data;
  g_autofree char *shot = g_build_filename (f->dir, "window.png", NULL);
  g_autoptr(CohortSendDialog) dialog = NULL;
  g_autoptr(GError) error = NULL;
  guint colors;

  g_assert_true (cohort_test_wait_until (window_ready, f, 20000));
  g_assert_cmpstr (cohort_cluster_get_name (f->cluster), ==, "web");
  wait_rows (f, 2, "online");

  /* Scale up and down with the page's actions (the + and − keys). */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "cluster.scale-up", NULL));
  wait_rows (f, 3, "online");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "cluster.scale-down", NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "cluster.scale-down", NULL));
  wait_rows (f, 1, "online");
  g_assert_cmpuint (cohort_cluster_get_desired (f->cluster), ==, 1);

  /* Send through the dialog: refused while the JSON is invalid. */
  dialog = g_object_ref_sink (cohort_send_dialog_new (f->cluster));
  cohort_send_dialog_set_text (dialog, "{not json");
  g_assert_false (cohort_send_dialog_send (dialog, &error));
  g_clear_error (&error);
  cohort_send_dialog_set_text (dialog, "{\"ping\": 1}");
  g_assert_true (cohort_send_dialog_send (dialog, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_test_wait_until (worker0_answered, f, 10000));
  gtk_window_destroy (GTK_WINDOW (dialog));

  /* Reload: a new process, online, one restart more. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "cluster.reload", NULL));
  g_assert_true (cohort_test_wait_until (worker0_reloaded, f, 20000));
  wait_rows (f, 1, "online");

  /* The row menu's Restart: the same slot, one restart more. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "worker.restart", "u", 0));
  g_assert_true (cohort_test_wait_until (worker0_restarted_twice, f, 20000));
  wait_rows (f, 1, "online");

  /* The graphs got samples; the window, drawn, is not blank. */
  g_assert_true (cohort_test_wait_until (has_graph_samples, f->page, 10000));
  /* A frame or two after the last change. */
  cohort_test_sleep (300);
  cohort_save_window_png (GTK_WIDGET (f->window), shot, &error);
  g_assert_no_error (error);
  colors = count_colors (shot);
  g_test_message ("screenshot: %u colours", colors);
  g_assert_cmpuint (colors, >, 40);

  /* Stop gracefully (the workers obey "shutdown"), then start again. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "cluster.stop", NULL));
  wait_rows (f, 1, "stopped");
  g_assert_cmpint (cohort_worker_get_stop_step (cohort_cluster_lookup_worker (f->cluster, 0)), ==,
                   COHORT_STOP_STEP_MESSAGE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "cluster.start", NULL));
  wait_rows (f, 1, "online");

  f->done = TRUE;
  cohort_cluster_kill (f->cluster);
  g_application_quit (G_APPLICATION (f->app));
  return G_SOURCE_REMOVE;
}

static void
test_window (void)
{
  g_autofree char *worker = g_shell_quote (cohort_test_worker_path ());
  g_autofree char *text = NULL;
  g_autofree char *profile = NULL;
  Fixture f = { 0 };
  const char *argv[] = { "cohort", NULL, NULL };

  f.dir = cohort_test_make_dir ();
  profile = g_build_filename (f.dir, "gui.cohort", NULL);
  text = g_strdup_printf ("[Profile]\nName=GUI test\n"
                          "[Cluster web]\nCommand=%s --channel-echo --on-shutdown-exit 0 --send-ready\n"
                          "Instances=2\nReadyTimeout=5\nStopTimeout=5\n", worker);
  g_assert_true (g_file_set_contents (profile, text, -1, NULL));
  argv[1] = profile;

  /* The application runs here, on this main loop; the steps run inside. */
  f.app = cohort_application_new ();
  g_application_set_flags (G_APPLICATION (f.app),
                           g_application_get_flags (G_APPLICATION (f.app)) | G_APPLICATION_NON_UNIQUE);
  g_timeout_add (10, run_steps, &f);
  g_assert_cmpint (g_application_run (G_APPLICATION (f.app), 2, (char **) argv), ==, 0);
  g_assert_true (f.done);

  g_clear_object (&f.app);
  cohort_test_remove_dir (f.dir);
  g_free (f.dir);
}

static void
test_no_display (void)
{
  g_test_skip ("no display: run the GUI suite under xvfb-run, as build-aux/cohort-dev test does");
}

int
main (int   argc,
      char *argv[])
{
  /* gtk_test_init () aborts without a display; say why instead. */
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_test_init (&argc, &argv, NULL);
      g_test_add_func ("/Cohort/GUI/window", test_no_display);
      return g_test_run ();
    }

  gtk_test_init (&argc, &argv, NULL);
  g_test_add_func ("/Cohort/GUI/window", test_window);
  return g_test_run ();
}
