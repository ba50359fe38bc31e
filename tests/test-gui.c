/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-gui.c: the real window, under Xvfb, driven through its actions:
 * scale up and down, send, reload, stop and start; the worker table's rows
 * and states, the graphs' samples, and a screenshot that is not blank. */

#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "cohort-application.h"
#include "cohort-cluster-editor.h"
#include "cohort-cluster-page.h"
#include "cohort-send-dialog.h"
#include "cohort-test-util.h"
#include "cohort-trust.h"
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

/* Runs the application on @profile, here, on this main loop; @steps run
 * inside it and set f->done. Cleans up the fixture. */
static void
run_app (Fixture     *f,
         const char  *profile,
         GSourceFunc  steps)
{
  const char *argv[] = { "cohort", profile, NULL };

  f->app = cohort_application_new ();
  g_application_set_flags (G_APPLICATION (f->app),
                           g_application_get_flags (G_APPLICATION (f->app)) | G_APPLICATION_NON_UNIQUE);
  g_timeout_add (10, steps, f);
  g_assert_cmpint (g_application_run (G_APPLICATION (f->app), 2, (char **) argv), ==, 0);
  g_assert_true (f->done);

  g_clear_object (&f->app);
  cohort_test_remove_dir (f->dir);
  g_clear_pointer (&f->dir, g_free);
}

static void
test_window (void)
{
  g_autofree char *worker = g_shell_quote (cohort_test_worker_path ());
  g_autofree char *profile = NULL;
  Fixture f = { 0 };

  f.dir = cohort_test_make_dir ();
  profile = cohort_test_write_profile (f.dir, "gui.cohort", TRUE,
                                       "[Profile]\nName=GUI test\n"
                                       "[Cluster web]\nCommand=%s --channel-echo --on-shutdown-exit 0 --send-ready\n"
                                       "Instances=2\nReadyTimeout=5\nStopTimeout=5\n", worker);
  run_app (&f, profile, run_steps);
}

/* The toplevel message dialog whose heading is @heading, or NULL. */
static AdwMessageDialog *
find_message_dialog (const char *heading)
{
  GListModel *toplevels = gtk_window_get_toplevels ();   /* (transfer none) */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window)
          && gtk_widget_get_visible (GTK_WIDGET (window))
          && g_strcmp0 (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (window)), heading) == 0)
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

static gboolean
trust_asked (gpointer data)
{
  return find_message_dialog ("Start This Profile?") != NULL;
}

static CohortClusterEditor *
find_editor (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();   /* (transfer none) */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (COHORT_IS_CLUSTER_EDITOR (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        return COHORT_CLUSTER_EDITOR (window);
    }
  return NULL;
}

static GObject *
editor_child (CohortClusterEditor *editor,
              const char          *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (editor), COHORT_TYPE_CLUSTER_EDITOR, name);

  g_assert_nonnull (object);
  return object;
}

static gboolean
cluster_all_online (gpointer data)
{
  return cohort_cluster_get_n_online (data) == cohort_cluster_get_desired (data)
         && cohort_cluster_get_desired (data) > 0;
}

static gboolean
trust_gone (gpointer data)
{
  return !trust_asked (data);
}

static gboolean
cluster_online (gpointer data)
{
  Fixture *f = data;

  return cohort_cluster_get_n_online (f->cluster) == cohort_cluster_get_desired (f->cluster)
         && cohort_cluster_get_n_online (f->cluster) > 0;
}

static gboolean
all_stopped (gpointer data)
{
  Fixture *f = data;

  return !cohort_supervisor_get_running (cohort_application_get_supervisor (f->app));
}

static const char *
window_title (Fixture *f)
{
  return gtk_window_get_title (f->window);
}

static char *
text_of_label_in (GtkWidget *widget)
{
  if (GTK_IS_LABEL (widget))
    return g_strdup (gtk_label_get_label (GTK_LABEL (widget)));
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      char *text = text_of_label_in (child);

      if (text != NULL)
        return text;
    }
  return NULL;
}

/* A profile from elsewhere: shown, nothing started, its commands asked
 * about; started once the user says so, and not asked about again. An
 * edit marks the window, Save writes the file, reopening finds it. */
static gboolean
run_profile_steps (gpointer data)
{
  Fixture *f = data;
  g_autofree char *path = g_build_filename (f->dir, "foreign.cohort", NULL);
  g_autofree char *commands = NULL;
  g_autofree char *saved = NULL;
  g_autofree char *text = NULL;
  g_autoptr(CohortClusterSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) recent = NULL;
  g_autofree char *worker = NULL;
  CohortClusterEditor *editor;
  CohortCluster *second;
  g_autofree GPid *pids = NULL;
  CohortWindow *window;
  CohortProfile *profile;
  AdwMessageDialog *dialog;
  gsize length = 0;

  g_assert_true (cohort_test_wait_until (window_ready, f, 20000));
  window = COHORT_WINDOW (f->window);

  /* Nothing runs while the question is open. */
  g_assert_true (cohort_test_wait_until (trust_asked, NULL, 10000));
  cohort_test_sleep (500);
  g_assert_cmpint (cohort_cluster_get_state (f->cluster), ==, COHORT_CLUSTER_STATE_STOPPED);
  g_assert_cmpuint (cohort_cluster_get_n_online (f->cluster), ==, 0);
  dialog = find_message_dialog ("Start This Profile?");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "foreign.cohort"));
  commands = text_of_label_in (adw_message_dialog_get_extra_child (dialog));
  g_assert_nonnull (commands);
  g_assert_nonnull (strstr (commands, "web: "));
  g_assert_nonnull (strstr (commands, "--channel-echo"));

  /* What the button does: the response, then the dialog closes. */
  adw_message_dialog_response (dialog, "start");
  gtk_window_close (GTK_WINDOW (dialog));
  g_assert_true (cohort_test_wait_until (cluster_online, f, 15000));
  g_assert_true (cohort_test_wait_until (trust_gone, NULL, 5000));
  g_assert_true (g_file_get_contents (path, &text, &length, NULL));
  g_assert_true (cohort_trust_check (path, text, length));

  /* An edit: the title says so; Save writes it and the mark goes. */
  profile = cohort_window_get_profile (window);
  g_assert_false (cohort_profile_get_modified (profile));
  g_assert_false (g_str_has_prefix (window_title (f), "•"));
  /* A new cluster through the dialog, as a user fills it in. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.new-cluster", NULL));
  editor = find_editor ();
  g_assert_nonnull (editor);
  gtk_editable_set_text (GTK_EDITABLE (editor_child (editor, "name_entry")), "second");
  worker = g_strdup_printf ("%s --channel-echo --on-shutdown-exit 0", cohort_test_worker_path ());
  gtk_editable_set_text (GTK_EDITABLE (editor_child (editor, "command_entry")), worker);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (editor_child (editor, "instances_spin")), 2);
  cohort_cluster_editor_add_variable (editor, "MODE", "saved; with a semicolon");
  spec = cohort_cluster_spec_ref (cohort_cluster_editor_get_spec (editor));
  g_assert_true (cohort_cluster_editor_apply (editor));
  g_assert_true (g_str_has_prefix (window_title (f), "• "));
  /* It runs at once, beside the first, and has its page. */
  second = cohort_supervisor_lookup (cohort_application_get_supervisor (f->app), "second");
  g_assert_nonnull (second);
  g_assert_true (cohort_test_wait_until (cluster_all_online, second, 15000));
  g_assert_true (COHORT_IS_CLUSTER_PAGE (cohort_window_get_visible_page (window)));
  g_assert_true (cohort_cluster_page_get_cluster (COHORT_CLUSTER_PAGE (cohort_window_get_visible_page (window)))
                 == second);
  pids = g_new0 (GPid, 2);
  for (guint i = 0; i < 2; i++)
    pids[i] = cohort_test_worker_pid (second, i);

  /* Edit it from the window: the dialog knows the cluster (its title and
   * what applying will do); one worker more keeps the two running. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.edit-cluster", NULL));
  editor = find_editor ();
  g_assert_nonnull (editor);
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (editor)), ==, "Edit “second”");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (editor_child (editor, "instances_spin")), 3);
  g_assert_cmpstr (cohort_cluster_editor_get_plan (editor), ==, "Adds 1 worker");
  cohort_cluster_spec_unref (spec);
  spec = cohort_cluster_spec_ref (cohort_cluster_editor_get_spec (editor));
  g_assert_true (cohort_cluster_editor_apply (editor));
  g_assert_true (cohort_supervisor_lookup (cohort_application_get_supervisor (f->app), "second") == second);
  g_assert_true (cohort_test_wait_until (cluster_all_online, second, 15000));
  g_assert_cmpuint (cohort_cluster_get_desired (second), ==, 3);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpint (cohort_test_worker_pid (second, i), ==, pids[i]);
  g_assert_cmpuint (cohort_profile_get_clusters (profile)->len, ==, 2);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.save", NULL));
  g_assert_false (cohort_profile_get_modified (profile));
  g_assert_false (g_str_has_prefix (window_title (f), "•"));
  g_assert_true (g_file_get_contents (path, &saved, NULL, NULL));
  g_assert_nonnull (strstr (saved, "[Cluster second]"));
  /* The hand-written part is as it was. */
  g_assert_true (g_str_has_prefix (saved, text));

  /* Stopped, then opened again: trusted now, it starts without asking,
   * and holds what was saved. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.stop-all", NULL));
  g_assert_true (cohort_test_wait_until (all_stopped, f, 15000));
  g_assert_true (cohort_application_open_profile (f->app, path));
  g_assert_true (cohort_test_wait_until (window_ready, f, 20000));
  g_assert_true (cohort_test_wait_until (cluster_online, f, 15000));
  g_assert_false (trust_asked (NULL));
  profile = cohort_window_get_profile (window);
  g_assert_cmpuint (cohort_profile_get_clusters (profile)->len, ==, 2);
  g_assert_true (cohort_cluster_spec_equal (g_ptr_array_index (cohort_profile_get_clusters (profile), 1), spec));
  recent = cohort_application_dup_recent (f->app);
  g_assert_cmpstr (recent[0], ==, path);

  /* Delete it again, through the question: its workers go, the window
   * says the profile changed. */
  cohort_window_select_cluster (window, "second");
  second = cohort_supervisor_lookup (cohort_application_get_supervisor (f->app), "second");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.delete-cluster", NULL));
  dialog = find_message_dialog ("Delete “second”?");
  g_assert_nonnull (dialog);
  adw_message_dialog_response (dialog, "delete");
  gtk_window_close (GTK_WINDOW (dialog));
  g_assert_null (cohort_supervisor_lookup (cohort_application_get_supervisor (f->app), "second"));
  g_assert_cmpuint (cohort_profile_get_clusters (profile)->len, ==, 1);
  g_assert_true (g_str_has_prefix (window_title (f), "• "));

  /* Someone else changes the file meanwhile: Save asks first; Cancel
   * leaves their text, Save Anyway writes the profile as shown. */
  {
    g_autofree char *theirs = g_strconcat (saved, "# added by another program\n", NULL);
    g_autofree char *now = NULL;

    cohort_test_sleep (20);   /* another modification time */
    g_assert_true (g_file_set_contents (path, theirs, -1, NULL));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.save", NULL));
    dialog = find_message_dialog ("“foreign.cohort” Changed on Disk");
    g_assert_nonnull (dialog);
    adw_message_dialog_response (dialog, "cancel");
    gtk_window_close (GTK_WINDOW (dialog));
    g_assert_true (g_file_get_contents (path, &now, NULL, NULL));
    g_assert_cmpstr (now, ==, theirs);
    g_assert_true (cohort_profile_get_modified (profile));

    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.save", NULL));
    dialog = find_message_dialog ("“foreign.cohort” Changed on Disk");
    g_assert_nonnull (dialog);
    adw_message_dialog_response (dialog, "overwrite");
    gtk_window_close (GTK_WINDOW (dialog));
    g_clear_pointer (&now, g_free);
    g_assert_true (g_file_get_contents (path, &now, NULL, NULL));
    g_assert_null (strstr (now, "another program"));
    g_assert_null (strstr (now, "[Cluster second]"));
    g_assert_false (cohort_profile_get_modified (profile));
  }
  cohort_profile_set_name (profile, "Foreign, renamed");

  /* Closing asks about the unsaved change; Cancel keeps the window. */
  gtk_window_close (f->window);
  dialog = find_message_dialog ("Save Changes?");
  g_assert_nonnull (dialog);
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "Foreign, renamed"));
  adw_message_dialog_response (dialog, "cancel");
  gtk_window_close (GTK_WINDOW (dialog));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f->window)));
  g_assert_true (cohort_profile_get_modified (profile));

  /* `cohort --quit` (its workers stopped) with unsaved changes: the
   * window asks; Discard, and the application ends by itself. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.stop-all", NULL));
  g_assert_true (cohort_test_wait_until (all_stopped, f, 15000));
  cohort_application_request_quit (f->app);
  dialog = find_message_dialog ("Save Changes?");
  g_assert_nonnull (dialog);
  f->done = TRUE;
  adw_message_dialog_response (dialog, "discard");
  gtk_window_close (GTK_WINDOW (dialog));
  return G_SOURCE_REMOVE;
}

static void
test_profile (void)
{
  g_autofree char *worker = g_shell_quote (cohort_test_worker_path ());
  g_autofree char *profile = NULL;
  Fixture f = { 0 };

  f.dir = cohort_test_make_dir ();
  /* Not trusted: written by hand, not saved by Cohort here. */
  profile = cohort_test_write_profile (f.dir, "foreign.cohort", FALSE,
                                       "# written by hand\n[Profile]\nName=Foreign\n\n"
                                       "[Cluster web]\n# the fixture\nCommand=%s --channel-echo --on-shutdown-exit 0\n"
                                       "Instances=1\nStopTimeout=5\n", worker);
  run_app (&f, profile, run_profile_steps);
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
  g_autofree char *data_home = NULL;
  int status;

  /* gtk_test_init () aborts without a display; say why instead. */
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_test_init (&argc, &argv, NULL);
      g_test_add_func ("/Cohort/GUI/window", test_no_display);
      return g_test_run ();
    }

  /* The trust store and the rest of the user's data: the run's own. */
  data_home = g_dir_make_tmp ("cohort-gui-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);

  gtk_test_init (&argc, &argv, NULL);
  g_test_add_func ("/Cohort/GUI/window", test_window);
  g_test_add_func ("/Cohort/GUI/profile", test_profile);
  status = g_test_run ();
  cohort_test_remove_dir (data_home);
  return status;
}
