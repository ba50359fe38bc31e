/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-send-dialog.c: the Send Message dialog under Xvfb, through its real
 * widgets: the targets are the cluster and its running workers, the JSON
 * is validated as it is typed (Send disabled and the reason shown while
 * it is not valid), Send delivers to the chosen worker only and closes,
 * the next dialog offers the message among the recent ones, and thread
 * clusters get their own wording and example. Screenshots in light and
 * dark. */

#include "config.h"

#include <adwaita.h>
#include <json-glib/json-glib.h>

#include "cohort-send-dialog.h"
#include "cohort-test-gui.h"
#include "cohort-test-util.h"

typedef struct
{
  char             *dir;
  CohortSupervisor *supervisor;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->dir = cohort_test_make_dir ();
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  cohort_test_release (&f->dir, &f->supervisor);
}

static gpointer
child (CohortSendDialog *dialog,
       const char       *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (dialog), COHORT_TYPE_SEND_DIALOG, name);

  g_assert_nonnull (object);
  return object;
}

static CohortSendDialog *
dialog_new (CohortCluster *cluster)
{
  CohortSendDialog *dialog = cohort_send_dialog_new (cluster);

  /* GTK owns toplevels; the test keeps the object past its closing. */
  g_object_ref (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  return dialog;
}

static void
dialog_free (CohortSendDialog *dialog)
{
  if (gtk_widget_get_visible (GTK_WIDGET (dialog)))
    gtk_window_destroy (GTK_WINDOW (dialog));
  /* Finalized, without a template child left behind. */
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  g_object_unref (dialog);
  g_assert_null (dialog);
}

static char *
dialog_text (CohortSendDialog *dialog)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (child (dialog, "editor"));
  GtkTextIter start;
  GtkTextIter end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

/* The dialog shows @status; Send is enabled when @valid, and the status
 * reads as an error when not. */
static void
assert_status (CohortSendDialog *dialog,
               const char       *status,
               gboolean          valid)
{
  GtkWidget *label = child (dialog, "status");

  g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (label)), ==, status);
  g_assert_cmpint (gtk_widget_get_sensitive (child (dialog, "send_button")), ==, valid);
  g_assert_cmpint (gtk_widget_has_css_class (label, "error"), ==, !valid);
}

static void
assert_targets (CohortSendDialog   *dialog,
                const char * const *expected)
{
  GtkStringList *targets = child (dialog, "targets");

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (targets)), ==, g_strv_length ((char **) expected));
  for (guint i = 0; expected[i] != NULL; i++)
    g_assert_cmpstr (gtk_string_list_get_string (targets, i), ==, expected[i]);
}

static gboolean
online (gpointer data)
{
  return cohort_test_count_state (data, COHORT_WORKER_STATE_ONLINE) == 2;
}

static gboolean
worker1_answered (gpointer data)
{
  return cohort_worker_get_messages_in (cohort_cluster_lookup_worker (data, 1)) >= 1;
}

static void
test_processes (Fixture       *f,
                gconstpointer  data)
{
  const char * const targets[] = { "Every worker", "Worker 0", "Worker 1", NULL };
  g_autofree char *worker = g_shell_quote (cohort_test_worker_path ());
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(GError) json_error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;
  AdwStyleManager *style = adw_style_manager_get_default ();
  CohortSendDialog *dialog;
  GtkDropDown *recent;

  cluster = start (f, "[Cluster web]\nCommand=%s --channel-echo --on-shutdown-exit 0\nInstances=2\n"
                      "StopTimeout=5\n", worker);
  g_assert_true (cohort_test_wait_until (online, cluster, 10000));

  /* The cluster, then every running worker; "ping" to begin with. */
  dialog = dialog_new (cluster);
  assert_targets (dialog, targets);
  g_assert_cmpuint (gtk_drop_down_get_selected (child (dialog, "target")), ==, 0);
  text = dialog_text (dialog);
  g_assert_cmpstr (text, ==, "\"ping\"");
  assert_status (dialog, "Valid JSON", TRUE);
  /* Nothing sent yet in this run: nothing to pick. */
  g_assert_false (gtk_widget_get_sensitive (child (dialog, "recent")));
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  cohort_test_screenshot (GTK_WIDGET (dialog), f->dir, "send-dialog.png");

  /* Validated as it is typed: Send disabled, and why. */
  cohort_send_dialog_set_text (dialog, "  \n");
  assert_status (dialog, "Type a JSON value, for example \"ping\" or {\"cmd\": \"reload\"}", FALSE);
  cohort_send_dialog_set_text (dialog, "{\"cmd\": reload}");
  node = json_from_string ("{\"cmd\": reload}", &json_error);
  g_assert_null (node);
  assert_status (dialog, json_error->message, FALSE);
  cohort_test_screenshot (GTK_WIDGET (dialog), f->dir, "send-dialog-error.png");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  cohort_test_screenshot (GTK_WIDGET (dialog), f->dir, "send-dialog-error-dark.png");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);
  cohort_send_dialog_set_text (dialog, "{\"cmd\": \"reload\"}");
  assert_status (dialog, "Valid JSON", TRUE);

  /* Worker 1 alone; the unknown id leaves the choice as it is. */
  cohort_send_dialog_set_target (dialog, 1);
  g_assert_cmpuint (gtk_drop_down_get_selected (child (dialog, "target")), ==, 2);
  cohort_send_dialog_set_target (dialog, 7);
  g_assert_cmpuint (gtk_drop_down_get_selected (child (dialog, "target")), ==, 2);

  /* Send: delivered to worker 1 only, and the dialog closes. */
  g_signal_emit_by_name (child (dialog, "send_button"), "clicked");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (dialog)));
  g_assert_true (cohort_test_wait_until (worker1_answered, cluster, 10000));
  g_assert_cmpuint (cohort_worker_get_messages_in (cohort_cluster_lookup_worker (cluster, 0)), ==, 0);
  dialog_free (dialog);

  /* The next dialog offers it among the recent messages. */
  dialog = dialog_new (cluster);
  recent = child (dialog, "recent");
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (recent)));
  g_assert_cmpuint (g_list_model_get_n_items (gtk_drop_down_get_model (recent)), ==, 2);
  g_assert_cmpuint (gtk_drop_down_get_selected (recent), ==, 0);
  gtk_drop_down_set_selected (recent, 1);
  g_clear_pointer (&text, g_free);
  text = dialog_text (dialog);
  g_assert_cmpstr (text, ==, "{\"cmd\": \"reload\"}");
  assert_status (dialog, "Valid JSON", TRUE);

  /* Cancel closes without sending. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "window.close", NULL));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (dialog)));
  dialog_free (dialog);
}

static void
test_threads (Fixture       *f,
              gconstpointer  data)
{
  const char * const targets[] = { "The first free thread", NULL };
  g_autoptr(CohortCluster) cluster = NULL;
  g_autofree char *text = NULL;
  CohortSendDialog *dialog;

  /* Not started: no worker to name, the queue only. */
  f->supervisor = cohort_test_supervisor (f->dir, "[Cluster hashing]\nKind=threads\nTask=sha256\nThreads=2\n"
                                                  "Arguments={\"bytes\": 1024}\n");
  cluster = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 0);

  dialog = dialog_new (cluster);
  assert_targets (dialog, targets);
  text = dialog_text (dialog);
  g_assert_cmpstr (text, ==, "{\"task\": \"primes\", \"args\": {\"below\": 1000000}}");
  assert_status (dialog, "Valid JSON", TRUE);
  dialog_free (dialog);
}

#define ADD(path, func) \
  g_test_add ((path), Fixture, NULL, fixture_set_up, (func), fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  if (!cohort_test_gui_init (&argc, &argv, "/Cohort/SendDialog/processes"))
    return g_test_run ();

  ADD ("/Cohort/SendDialog/processes", test_processes);
  ADD ("/Cohort/SendDialog/threads", test_threads);
  return g_test_run ();
}
