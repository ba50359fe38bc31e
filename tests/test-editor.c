/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-editor.c: the New / Edit Cluster dialog under Xvfb, filled in
 * through its real widgets: Apply stays disabled with the loader's reason
 * while a value is wrong, the applied spec holds what the widgets say
 * (every key), an existing spec shows in the widgets and comes back
 * equal, thread clusters get their task, and a running cluster gets the
 * sentence saying what applying would do. Screenshots in light and dark. */

#include "config.h"

#include <adwaita.h>

#include "cohort-application.h"
#include "cohort-cluster-editor.h"
#include "cohort-profile.h"
#include "cohort-task.h"
#include "cohort-test-util.h"

typedef struct
{
  char              *dir;
  CohortSupervisor  *supervisor;
  CohortClusterSpec *applied;
  char              *old_name;
  guint              n_applied;
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
  g_clear_pointer (&f->applied, cohort_cluster_spec_unref);
  g_clear_pointer (&f->old_name, g_free);
}

static gpointer
child (CohortClusterEditor *editor,
       const char          *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (editor), COHORT_TYPE_CLUSTER_EDITOR, name);

  g_assert_nonnull (object);
  return object;
}

#define ENTRY(e, name)  GTK_EDITABLE (child ((e), (name)))
#define SPIN(e, name)   GTK_SPIN_BUTTON (child ((e), (name)))
#define COMBO(e, name)  ADW_COMBO_ROW (child ((e), (name)))
#define SWITCH(e, name) GTK_SWITCH (child ((e), (name)))

static void
applied_cb (CohortClusterEditor *editor,
            CohortClusterSpec   *spec,
            const char          *old_name,
            Fixture             *f)
{
  g_clear_pointer (&f->applied, cohort_cluster_spec_unref);
  g_clear_pointer (&f->old_name, g_free);
  f->applied = cohort_cluster_spec_ref (spec);
  f->old_name = g_strdup (old_name);
  f->n_applied++;
}

static CohortClusterEditor *
editor_new (Fixture             *f,
            CohortClusterSpec   *spec,
            CohortCluster       *cluster,
            const char * const  *taken)
{
  CohortClusterEditor *editor = cohort_cluster_editor_new (NULL, spec, cluster, f->dir, taken);

  /* GTK owns toplevels; the test keeps the object past its closing. */
  g_object_ref (editor);
  g_signal_connect (editor, "apply", G_CALLBACK (applied_cb), f);
  gtk_window_present (GTK_WINDOW (editor));
  return editor;
}

static void
editor_free (CohortClusterEditor *editor)
{
  if (gtk_widget_get_visible (GTK_WIDGET (editor)))
    gtk_window_destroy (GTK_WINDOW (editor));
  g_object_unref (editor);
}

static gboolean
apply_enabled (CohortClusterEditor *editor)
{
  return gtk_widget_get_sensitive (child (editor, "apply_button"));
}

static const char *
shown_status (CohortClusterEditor *editor)
{
  if (!gtk_info_bar_get_revealed (child (editor, "status_bar")))
    return NULL;
  return gtk_label_get_label (child (editor, "status_label"));
}

/* Apply is disabled and the dialog shows @expected, the loader's reason
 * (or, with @prefix, a reason that starts so). */
static void
assert_problem (CohortClusterEditor *editor,
                const char          *expected,
                gboolean             prefix)
{
  const char *problem = cohort_cluster_editor_get_problem (editor);

  g_test_message ("problem: %s", problem);
  g_assert_nonnull (problem);
  if (prefix)
    g_assert_true (g_str_has_prefix (problem, expected));
  else
    g_assert_cmpstr (problem, ==, expected);
  g_assert_cmpstr (shown_status (editor), ==, problem);
  g_assert_null (cohort_cluster_editor_get_spec (editor));
  g_assert_false (apply_enabled (editor));
  g_assert_false (cohort_cluster_editor_apply (editor));
}

static void
assert_valid (CohortClusterEditor *editor)
{
  if (cohort_cluster_editor_get_problem (editor) != NULL)
    g_error ("unexpected problem: %s", cohort_cluster_editor_get_problem (editor));
  g_assert_nonnull (cohort_cluster_editor_get_spec (editor));
  g_assert_true (apply_enabled (editor));
}

/* Every key of @spec's kind has the expected text: @expected holds
 * "Key", "text" pairs, and names every key. */
static void
assert_keys (const CohortClusterSpec *spec,
             const char * const      *expected)
{
  const char * const *keys = cohort_cluster_spec_list_keys (spec->kind);
  guint n = 0;

  for (guint i = 0; expected[i] != NULL; i += 2)
    {
      g_autofree char *text = cohort_cluster_spec_value_text (spec, expected[i]);

      g_test_message ("%s=%s", expected[i], text);
      g_assert_cmpstr (text, ==, expected[i + 1]);
      n++;
    }
  g_assert_cmpuint (n, ==, g_strv_length ((char **) keys));
}

static void
collect (GtkWidget  *widget,
         GType       type,
         const char *tooltip,
         GPtrArray  *out)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type) &&
      (tooltip == NULL || g_strcmp0 (gtk_widget_get_tooltip_text (widget), tooltip) == 0))
    g_ptr_array_add (out, widget);
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    collect (c, type, tooltip, out);
}

/* The environment's entries, name and value by turn. */
static GPtrArray *
variable_entries (CohortClusterEditor *editor)
{
  GPtrArray *entries = g_ptr_array_new ();

  collect (child (editor, "environment_group"), GTK_TYPE_ENTRY, NULL, entries);
  g_assert_cmpuint (entries->len % 2, ==, 0);
  return entries;
}

static gboolean
applied (gpointer data)
{
  Fixture *f = data;

  return f->n_applied > 0;
}

/* Enter in @editable, as the keyboard does it: the default button
 * activates (and shows it pressed for a moment before it is clicked). */
static void
press_enter (Fixture     *f,
             GtkEditable *editable)
{
  GtkEditable *text = gtk_editable_get_delegate (editable);

  g_assert_true (GTK_IS_TEXT (text));
  g_signal_emit_by_name (text, "activate");
  g_assert_true (cohort_test_wait_until (applied, f, 5000));
}

static void
set_arguments (CohortClusterEditor *editor,
               const char          *text)
{
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (child (editor, "arguments_view")), text, -1);
}

static char *
arguments (CohortClusterEditor *editor)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (child (editor, "arguments_view"));
  GtkTextIter start;
  GtkTextIter end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
test_new_process (Fixture       *f,
                  gconstpointer  data)
{
  const char * const taken[] = { "web", "hashing", NULL };
  g_autofree char *sub = g_build_filename (f->dir, "sub", NULL);
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GPtrArray) removes = NULL;
  CohortClusterEditor *editor = editor_new (f, NULL, NULL, taken);
  const char * const expected[] = {
    "Kind", "process",
    "Command", "cohort-demo-worker --serve",
    "Instances", "3",
    "WorkingDirectory", sub,
    "Environment", "GREETING=hello world\\;\\sagain;MODE=demo;",
    "Listen", "127.0.0.1:8080",
    "Channel", "ndjson",
    "Restart", "always",
    "RestartDelay", "500",
    "RestartDelayMax", "20000",
    "MinUptime", "2.5",
    "MaxRestarts", "4",
    "StopMessage", "{\"cmd\":\"stop\"}",
    "StopSignal", "SIGINT",
    "StopTimeout", "3",
    "ReadyTimeout", "2",
    "MaxMemory", "256",
    NULL
  };

  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (editor)), ==, "New Cluster");
  g_assert_true (gtk_widget_get_visible (child (editor, "program_group")));
  g_assert_false (gtk_widget_get_visible (child (editor, "task_group")));

  /* The name: needed, free, and by the loader's rules. */
  assert_problem (editor, "Name: give the cluster a name, such as “web”", FALSE);
  gtk_editable_set_text (ENTRY (editor, "name_entry"), "web");
  assert_problem (editor, "Name: “web” is taken by another cluster of this profile", FALSE);
  gtk_editable_set_text (ENTRY (editor, "name_entry"), "my app");
  assert_problem (editor, "cluster name “my app”: use letters, digits, “-”, “_” and “.”", FALSE);
  gtk_editable_set_text (ENTRY (editor, "name_entry"), "api");
  /* The loader's own message for a missing Command. */
  assert_problem (editor, "[Cluster api] needs a Command (the program to run and its arguments)", FALSE);
  g_assert_true (gtk_widget_has_css_class (child (editor, "command_entry"), "error"));

  gtk_editable_set_text (ENTRY (editor, "command_entry"), "cohort-demo-worker --serve");
  assert_valid (editor);
  g_assert_false (gtk_widget_has_css_class (child (editor, "command_entry"), "error"));
  gtk_editable_set_text (ENTRY (editor, "command_entry"), "cohort-demo-worker 'unfinished");
  assert_problem (editor, "Command: ", TRUE);
  gtk_editable_set_text (ENTRY (editor, "command_entry"), "cohort-demo-worker --serve");
  assert_valid (editor);
  /* Nothing to say about a new cluster's workers. */
  g_assert_null (shown_status (editor));
  g_assert_null (cohort_cluster_editor_get_plan (editor));

  gtk_spin_button_set_value (SPIN (editor, "instances_spin"), 3);
  gtk_editable_set_text (ENTRY (editor, "directory_entry"), "sub");

  /* The environment: rows added with the button, checked names. */
  g_signal_emit_by_name (child (editor, "add_variable_button"), "clicked");
  entries = variable_entries (editor);
  g_assert_cmpuint (entries->len, ==, 2);
  assert_valid (editor);   /* an empty row is no variable */
  gtk_editable_set_text (entries->pdata[0], "1X");
  gtk_editable_set_text (entries->pdata[1], "hello world; again");
  assert_problem (editor, "Environment: “1X” is not a variable name: use letters, digits and “_”, "
                          "not starting with a digit", FALSE);
  g_assert_true (gtk_widget_has_css_class (entries->pdata[0], "error"));
  gtk_editable_set_text (entries->pdata[0], "GREETING");
  assert_valid (editor);
  cohort_cluster_editor_add_variable (editor, "MODE", "demo");
  cohort_cluster_editor_add_variable (editor, "MODE", "again");
  assert_problem (editor, "Environment: MODE is set twice", FALSE);
  removes = g_ptr_array_new ();
  collect (child (editor, "environment_group"), GTK_TYPE_BUTTON, "Remove Variable", removes);
  g_assert_cmpuint (removes->len, ==, 3);
  g_signal_emit_by_name (removes->pdata[2], "clicked");
  assert_valid (editor);

  gtk_editable_set_text (ENTRY (editor, "listen_entry"), "nowhere");
  assert_problem (editor, "Listen: ", TRUE);
  gtk_editable_set_text (ENTRY (editor, "listen_entry"), "127.0.0.1:8080");
  assert_valid (editor);

  adw_combo_row_set_selected (COMBO (editor, "channel_row"), 3);   /* none */
  gtk_spin_button_set_value (SPIN (editor, "ready_timeout_spin"), 2);
  assert_problem (editor, "ReadyTimeout: a worker says it is ready on its channel, and Channel is none", FALSE);
  adw_combo_row_set_selected (COMBO (editor, "channel_row"), 1);   /* ndjson */
  assert_valid (editor);

  adw_combo_row_set_selected (COMBO (editor, "restart_row"), 1);   /* always */
  gtk_spin_button_set_value (SPIN (editor, "restart_delay_spin"), 500);
  gtk_spin_button_set_value (SPIN (editor, "restart_delay_max_spin"), 200);
  assert_problem (editor, "RestartDelayMax: 200 ms is below RestartDelay (500 ms)", FALSE);
  /* The row with the problem is shown, in the folded Back-off row. */
  g_assert_true (adw_expander_row_get_expanded (child (editor, "backoff_row")));
  gtk_spin_button_set_value (SPIN (editor, "restart_delay_max_spin"), 20000);
  gtk_spin_button_set_value (SPIN (editor, "min_uptime_spin"), 2.5);
  gtk_spin_button_set_value (SPIN (editor, "max_restarts_spin"), 4);
  assert_valid (editor);

  /* StopMessage is JSON, checked by the loader as you type. */
  gtk_editable_set_text (ENTRY (editor, "stop_message_entry"), "{\"cmd\": \"stop\"");
  assert_problem (editor, "StopMessage: not valid JSON", TRUE);
  g_assert_true (gtk_widget_has_css_class (child (editor, "stop_message_entry"), "error"));
  gtk_editable_set_text (ENTRY (editor, "stop_message_entry"), "{\"cmd\": \"stop\"}");
  adw_combo_row_set_selected (COMBO (editor, "stop_signal_row"), 1);   /* SIGINT */
  gtk_spin_button_set_value (SPIN (editor, "stop_timeout_spin"), 3);
  gtk_spin_button_set_value (SPIN (editor, "max_memory_spin"), 256);
  assert_valid (editor);
  g_assert_cmpstr (gtk_editable_get_text (ENTRY (editor, "min_uptime_spin")), ==, "2.5");

  /* Enter applies: the spec holds every key as set. */
  g_assert_cmpuint (f->n_applied, ==, 0);
  press_enter (f, ENTRY (editor, "name_entry"));
  g_assert_cmpuint (f->n_applied, ==, 1);
  g_assert_null (f->old_name);
  g_assert_cmpstr (f->applied->name, ==, "api");
  g_assert_cmpint (f->applied->kind, ==, COHORT_CLUSTER_KIND_PROCESS);
  assert_keys (f->applied, expected);
  g_assert_cmpstr (f->applied->environment[0], ==, "GREETING=hello world; again");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (editor)));
  editor_free (editor);
}

/* A spec with a value other than the default for every key. */
static CohortClusterSpec *
parse (Fixture            *f,
       const char         *name,
       const char * const *pairs)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  CohortClusterSpec *spec;

  for (guint i = 0; pairs[i] != NULL; i += 2)
    {
      g_ptr_array_add (keys, (gpointer) pairs[i]);
      g_ptr_array_add (values, (gpointer) pairs[i + 1]);
    }
  g_ptr_array_add (keys, NULL);
  g_ptr_array_add (values, NULL);
  spec = cohort_profile_parse_cluster (name, (const char * const *) keys->pdata,
                                       (const char * const *) values->pdata, f->dir, &error);
  g_assert_no_error (error);
  return spec;
}

static void
test_existing (Fixture       *f,
               gconstpointer  data)
{
  const char * const taken[] = { "web", "api", NULL };
  g_autofree char *folder = g_build_filename (f->dir, "app", NULL);
  const char * const pairs[] = {
    "Kind", "process",
    "Command", "node 'my server.js' --port 80",
    "Instances", "max",
    "WorkingDirectory", folder,
    "Environment", "GREETING=hello;EMPTY=;SEMI=a\\;b;",
    "Listen", "127.0.0.1:9090",
    "Channel", "node",
    "Restart", "never",
    "RestartDelay", "250",
    "RestartDelayMax", "9000",
    "MinUptime", "0.25",
    "MaxRestarts", "7",
    "StopMessage", "{\"cmd\":\"bye\",\"n\":[1,2]}",
    "StopSignal", "SIGCONT",
    "StopTimeout", "1.5",
    "ReadyTimeout", "12",
    "MaxMemory", "1024",
    NULL
  };
  g_autoptr(CohortClusterSpec) spec = parse (f, "web", pairs);
  g_autoptr(GPtrArray) entries = NULL;
  CohortClusterEditor *editor = editor_new (f, spec, NULL, taken);
  GtkStringList *signals;

  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (editor)), ==, "Edit “web”");

  /* Every widget shows its key's value. */
  g_assert_cmpstr (gtk_editable_get_text (ENTRY (editor, "name_entry")), ==, "web");
  g_assert_true (gtk_toggle_button_get_active (child (editor, "process_toggle")));
  g_assert_cmpstr (gtk_editable_get_text (ENTRY (editor, "command_entry")), ==, "node 'my server.js' --port 80");
  g_assert_true (gtk_switch_get_active (SWITCH (editor, "instances_max_switch")));
  g_assert_false (gtk_widget_get_sensitive (child (editor, "instances_spin")));
  g_assert_cmpstr (gtk_editable_get_text (ENTRY (editor, "directory_entry")), ==, folder);
  entries = variable_entries (editor);
  g_assert_cmpuint (entries->len, ==, 6);
  g_assert_cmpstr (gtk_editable_get_text (entries->pdata[0]), ==, "GREETING");
  g_assert_cmpstr (gtk_editable_get_text (entries->pdata[1]), ==, "hello");
  g_assert_cmpstr (gtk_editable_get_text (entries->pdata[2]), ==, "EMPTY");
  g_assert_cmpstr (gtk_editable_get_text (entries->pdata[3]), ==, "");
  g_assert_cmpstr (gtk_editable_get_text (entries->pdata[4]), ==, "SEMI");
  g_assert_cmpstr (gtk_editable_get_text (entries->pdata[5]), ==, "a;b");
  g_assert_cmpstr (gtk_editable_get_text (ENTRY (editor, "listen_entry")), ==, "127.0.0.1:9090");
  g_assert_cmpuint (adw_combo_row_get_selected (COMBO (editor, "channel_row")), ==, COHORT_CHANNEL_NODE);
  g_assert_cmpuint (adw_combo_row_get_selected (COMBO (editor, "restart_row")), ==, COHORT_RESTART_NEVER);
  g_assert_cmpfloat (gtk_spin_button_get_value (SPIN (editor, "restart_delay_spin")), ==, 250);
  g_assert_cmpfloat (gtk_spin_button_get_value (SPIN (editor, "restart_delay_max_spin")), ==, 9000);
  g_assert_cmpfloat (gtk_spin_button_get_value (SPIN (editor, "min_uptime_spin")), ==, 0.25);
  g_assert_cmpstr (gtk_editable_get_text (ENTRY (editor, "min_uptime_spin")), ==, "0.25");
  g_assert_cmpfloat (gtk_spin_button_get_value (SPIN (editor, "max_restarts_spin")), ==, 7);
  g_assert_cmpstr (gtk_editable_get_text (ENTRY (editor, "stop_message_entry")), ==, "{\"cmd\":\"bye\",\"n\":[1,2]}");
  signals = GTK_STRING_LIST (adw_combo_row_get_model (COMBO (editor, "stop_signal_row")));
  g_assert_cmpstr (gtk_string_list_get_string (signals, adw_combo_row_get_selected (COMBO (editor, "stop_signal_row"))),
                   ==, "SIGCONT");
  g_assert_cmpfloat (gtk_spin_button_get_value (SPIN (editor, "stop_timeout_spin")), ==, 1.5);
  g_assert_cmpstr (gtk_editable_get_text (ENTRY (editor, "stop_timeout_spin")), ==, "1.5");
  g_assert_cmpfloat (gtk_spin_button_get_value (SPIN (editor, "ready_timeout_spin")), ==, 12);
  g_assert_cmpfloat (gtk_spin_button_get_value (SPIN (editor, "max_memory_spin")), ==, 1024);

  /* Unchanged, it gives the same spec back, for the same name. */
  assert_valid (editor);
  g_assert_true (cohort_cluster_spec_equal (cohort_cluster_editor_get_spec (editor), spec));
  g_assert_true (cohort_cluster_editor_apply (editor));
  g_assert_cmpuint (f->n_applied, ==, 1);
  g_assert_cmpstr (f->old_name, ==, "web");
  g_assert_true (cohort_cluster_spec_equal (f->applied, spec));
  editor_free (editor);

  /* Renamed: not to a name in use; the old name comes with the spec. */
  editor = editor_new (f, spec, NULL, taken);
  gtk_editable_set_text (ENTRY (editor, "name_entry"), "api");
  assert_problem (editor, "Name: “api” is taken by another cluster of this profile", FALSE);
  gtk_editable_set_text (ENTRY (editor, "name_entry"), "web.v2");
  gtk_switch_set_active (SWITCH (editor, "instances_max_switch"), FALSE);
  gtk_spin_button_set_value (SPIN (editor, "instances_spin"), 6);
  assert_valid (editor);
  g_assert_true (cohort_cluster_editor_apply (editor));
  g_assert_cmpstr (f->old_name, ==, "web");
  g_assert_cmpstr (f->applied->name, ==, "web.v2");
  g_assert_cmpint (f->applied->instances, ==, 6);
  editor_free (editor);

  /* A duplicate: a copy under a free name is a new cluster. */
  {
    g_autofree char *name = cohort_cluster_editor_unique_name ("web", taken);
    g_autoptr(CohortClusterSpec) copy = cohort_cluster_spec_copy (spec);

    g_assert_cmpstr (name, ==, "web-2");
    g_free (copy->name);
    copy->name = g_strdup (name);
    editor = editor_new (f, copy, NULL, taken);
    g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (editor)), ==, "New Cluster");
    g_assert_cmpstr (gtk_editable_get_text (ENTRY (editor, "name_entry")), ==, "web-2");
    g_assert_true (cohort_cluster_editor_apply (editor));
    g_assert_null (f->old_name);
    g_assert_true (cohort_cluster_spec_equal (f->applied, copy));
    editor_free (editor);
  }
}

static void
refuse_cb (CohortClusterEditor *editor,
           CohortClusterSpec   *spec,
           const char          *old_name,
           gpointer             data)
{
  cohort_cluster_editor_set_apply_error (editor, data);
}

static void
test_apply_error (Fixture       *f,
                  gconstpointer  data)
{
  const char * const taken[] = { "web", NULL };
  const char * const pairs[] = { "Command", "true", NULL };
  g_autoptr(CohortClusterSpec) spec = parse (f, "web", pairs);
  CohortClusterEditor *editor = editor_new (f, spec, NULL, taken);

  g_signal_connect (editor, "apply", G_CALLBACK (refuse_cb), (gpointer) "Cannot save: disk full");
  g_assert_false (cohort_cluster_editor_apply (editor));
  g_assert_cmpuint (f->n_applied, ==, 1);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (editor)));
  g_assert_cmpstr (shown_status (editor), ==, "Cannot save: disk full");
  /* Still valid: the user may try again, or change something. */
  g_assert_true (apply_enabled (editor));
  gtk_editable_set_text (ENTRY (editor, "command_entry"), "false");
  g_assert_null (shown_status (editor));
  editor_free (editor);
}

/* The toplevel file chooser the native one fell back to (no portal
 * here), or NULL. */
static GtkFileChooser *
find_chooser (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();   /* (transfer none) */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (GTK_IS_FILE_CHOOSER_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        return GTK_FILE_CHOOSER (window);
    }
  return NULL;
}

static gboolean
chooser_shown (gpointer data)
{
  return find_chooser () != NULL;
}

/* Opens the chooser of @button, and cancels it. */
static void
open_and_cancel (CohortClusterEditor *editor,
                 const char          *button)
{
  g_signal_emit_by_name (child (editor, button), "clicked");
  g_assert_true (cohort_test_wait_until (chooser_shown, NULL, 5000));
  gtk_dialog_response (GTK_DIALOG (find_chooser ()), GTK_RESPONSE_CANCEL);
  g_assert_false (chooser_shown (NULL));
}

/* The choosers open and a cancelled one changes nothing. (What a chosen
 * program does to the command is cohort_cluster_editor_replace_program (),
 * checked in /Cohort/Editor/names; which file GTK's own chooser reports
 * is not this dialog's to test.) */
static void
test_choosers (Fixture       *f,
               gconstpointer  data)
{
  CohortClusterEditor *editor = editor_new (f, NULL, NULL, NULL);

  gtk_editable_set_text (ENTRY (editor, "command_entry"), "old --serve");
  gtk_editable_set_text (ENTRY (editor, "directory_entry"), "~/app");
  open_and_cancel (editor, "choose_program_button");
  open_and_cancel (editor, "choose_directory_button");
  g_assert_cmpstr (gtk_editable_get_text (ENTRY (editor, "command_entry")), ==, "old --serve");
  g_assert_cmpstr (gtk_editable_get_text (ENTRY (editor, "directory_entry")), ==, "~/app");

  /* A chooser still open goes with the dialog. */
  g_signal_emit_by_name (child (editor, "choose_program_button"), "clicked");
  g_assert_true (cohort_test_wait_until (chooser_shown, NULL, 5000));
  editor_free (editor);
  g_assert_false (chooser_shown (NULL));
}

static void
test_threads (Fixture       *f,
              gconstpointer  data)
{
  const char * const expected[] = {
    "Kind", "threads",
    "Task", "sum",
    "Threads", "4",
    "Arguments", "{\"n\":1000}",
    "Repeat", "true",
    "TaskTimeout", "30",
    NULL
  };
  CohortClusterEditor *editor = editor_new (f, NULL, NULL, NULL);
  g_autofree char *text = NULL;

  gtk_editable_set_text (ENTRY (editor, "name_entry"), "hashing");
  assert_problem (editor, "[Cluster hashing] needs a Command", TRUE);
  gtk_toggle_button_set_active (child (editor, "threads_toggle"), TRUE);
  g_assert_false (gtk_widget_get_visible (child (editor, "program_group")));
  g_assert_false (gtk_widget_get_visible (child (editor, "environment_group")));
  g_assert_true (gtk_widget_get_visible (child (editor, "task_group")));
  g_assert_true (gtk_widget_get_visible (child (editor, "arguments_group")));

  /* Tasks as messages only: nothing to repeat. */
  g_assert_cmpuint (adw_combo_row_get_selected (COMBO (editor, "task_row")), ==,
                    g_strv_length ((char **) cohort_task_list_names ()));
  assert_valid (editor);
  g_assert_false (gtk_widget_get_sensitive (child (editor, "repeat_row")));

  /* A task brings its example; another replaces it while untouched. */
  adw_combo_row_set_selected (COMBO (editor, "task_row"), 0);   /* sum */
  text = arguments (editor);
  g_assert_cmpstr (text, ==, "{\"n\": 1000000000}");
  assert_valid (editor);
  adw_combo_row_set_selected (COMBO (editor, "task_row"), 1);   /* primes */
  g_clear_pointer (&text, g_free);
  text = arguments (editor);
  g_assert_cmpstr (text, ==, "{\"below\": 10000000}");
  assert_valid (editor);

  /* The task's own checks, in the loader's words. */
  set_arguments (editor, "{\"below\": -1}");
  assert_problem (editor, "Arguments: ", TRUE);
  set_arguments (editor, "{\"below\": ");
  assert_problem (editor, "Arguments: not valid JSON", TRUE);
  set_arguments (editor, "[1, 2]");
  assert_problem (editor, "Arguments: expected a JSON object", TRUE);

  /* What the user wrote stays when the task changes. */
  set_arguments (editor, "{\n  \"n\": 1000\n}\n");
  adw_combo_row_set_selected (COMBO (editor, "task_row"), 0);   /* sum */
  g_clear_pointer (&text, g_free);
  text = arguments (editor);
  g_assert_cmpstr (text, ==, "{\n  \"n\": 1000\n}\n");
  assert_valid (editor);

  gtk_spin_button_set_value (SPIN (editor, "threads_spin"), 4);
  gtk_switch_set_active (SWITCH (editor, "repeat_switch"), TRUE);
  gtk_spin_button_set_value (SPIN (editor, "task_timeout_spin"), 30);
  assert_valid (editor);

  /* Enter in a spin button applies too, with the value typed. */
  gtk_editable_set_text (ENTRY (editor, "threads_spin"), "4");
  press_enter (f, ENTRY (editor, "threads_spin"));
  g_assert_cmpuint (f->n_applied, ==, 1);
  g_assert_null (f->old_name);
  assert_keys (f->applied, expected);
  editor_free (editor);
}

static gboolean
online (gpointer data)
{
  return cohort_test_count_state (data, COHORT_WORKER_STATE_ONLINE) == 2;
}

static gboolean
mapped (gpointer data)
{
  return gtk_widget_get_mapped (data);
}

/* COHORT_SCREENSHOT_DIR keeps them; else they go with the test's folder. */
static void
screenshot (Fixture             *f,
            CohortClusterEditor *editor,
            const char          *name)
{
  const char *dir = g_getenv ("COHORT_SCREENSHOT_DIR");
  g_autofree char *path = g_build_filename (dir != NULL ? dir : f->dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *png = NULL;
  gsize size = 0;

  /* A few frames for the style and the info bar's reveal. */
  cohort_test_sleep (600);
  cohort_save_window_png (GTK_WIDGET (editor), path, &error);
  g_assert_no_error (error);
  /* A blank or half-drawn dialog compresses to a few kilobytes. */
  g_assert_true (g_file_get_contents (path, &png, &size, NULL));
  g_test_message ("%s: %" G_GSIZE_FORMAT " bytes", path, size);
  g_assert_cmpuint (size, >, 20000);
}

static void
test_plan (Fixture       *f,
           gconstpointer  data)
{
  const char * const taken[] = { "web", "hashing", NULL };
  g_autofree char *demo_dir = g_path_get_dirname (cohort_test_binary ("COHORT_DEMO_WORKER"));
  g_autofree char *path = g_strconcat (demo_dir, ":", g_getenv ("PATH"), NULL);
  g_autoptr(CohortCluster) cluster = NULL;
  CohortClusterEditor *editor;
  AdwStyleManager *style = adw_style_manager_get_default ();

  /* The demo worker by name, as a profile would have it. */
  g_setenv ("PATH", path, TRUE);
  cluster = cohort_test_start (f->dir,
                               "[Cluster web]\nCommand=cohort-demo-worker --serve\nInstances=2\n"
                               "Environment=GREETING=hello;MODE=demo;\nListen=127.0.0.1:0\n",
                               &f->supervisor);
  /* The dialog needs no samples: as few as can be keeps the test about it. */
  cohort_sampler_set_interval (cohort_supervisor_get_sampler (f->supervisor), G_MAXUINT);
  g_assert_true (cohort_test_wait_until (online, cluster, 10000));

  editor = editor_new (f, cohort_cluster_get_spec (cluster), cluster, taken);
  g_assert_cmpstr (cohort_cluster_editor_get_plan (editor), ==, "No changes");
  g_assert_cmpstr (shown_status (editor), ==, "No changes");

  gtk_spin_button_set_value (SPIN (editor, "instances_spin"), 5);
  g_assert_cmpstr (cohort_cluster_editor_get_plan (editor), ==, "Adds 3 workers");
  g_assert_cmpstr (shown_status (editor), ==, "Adds 3 workers");

  /* Live: a change of what the workers run restarts them. */
  gtk_editable_set_text (ENTRY (editor, "listen_entry"), "127.0.0.1:8080");
  g_assert_cmpstr (shown_status (editor), ==, "Restarts 2 workers and adds 3");
  gtk_editable_set_text (ENTRY (editor, "listen_entry"), "127.0.0.1:0");
  gtk_spin_button_set_value (SPIN (editor, "instances_spin"), 1);
  g_assert_cmpstr (shown_status (editor), ==, "Removes 1 worker");
  gtk_spin_button_set_value (SPIN (editor, "stop_timeout_spin"), 4);
  gtk_spin_button_set_value (SPIN (editor, "instances_spin"), 2);
  g_assert_cmpstr (shown_status (editor), ==, "Nothing restarts; the new settings apply at once");
  /* A problem replaces the sentence. */
  gtk_editable_set_text (ENTRY (editor, "command_entry"), "");
  assert_problem (editor, "[Cluster web] needs a Command", TRUE);
  g_assert_null (cohort_cluster_editor_get_plan (editor));

  /* The picture: an edit of the running cluster, in light and dark. */
  gtk_editable_set_text (ENTRY (editor, "command_entry"), "cohort-demo-worker --serve");
  gtk_spin_button_set_value (SPIN (editor, "instances_spin"), 4);
  gtk_editable_set_text (ENTRY (editor, "listen_entry"), "127.0.0.1:8080");
  g_assert_cmpstr (shown_status (editor), ==, "Restarts 2 workers and adds 2");
  g_assert_true (cohort_test_wait_until (mapped, editor, 5000));
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  screenshot (f, editor, "editor.png");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  screenshot (f, editor, "editor-dark.png");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);

  /* The thread form too. */
  gtk_toggle_button_set_active (child (editor, "threads_toggle"), TRUE);
  adw_combo_row_set_selected (COMBO (editor, "task_row"), 4);   /* thumbnail */
  g_assert_cmpstr (shown_status (editor), ==, "Stops 2 workers and starts 2 new ones");
  screenshot (f, editor, "editor-threads.png");
  editor_free (editor);
}

static void
test_names (void)
{
  const char * const taken[] = { "web", "web-2", "api-7", "x-1", NULL };
  struct {
    const char *base;
    const char *expected;
  } names[] = {
    { "api", "api" },
    { "web", "web-3" },
    { "web-2", "web-3" },
    { "api-7", "api-2" },
    { "x-1", "x-2" },
    { "", "cluster" },
  };
  struct {
    const char *command;
    const char *path;
    const char *expected;
  } programs[] = {
    { "", "/usr/bin/node", "/usr/bin/node" },
    { NULL, "/usr/bin/node", "/usr/bin/node" },
    { "node server.js --port 80", "/opt/node/bin/node", "/opt/node/bin/node server.js --port 80" },
    { "  'my app' --serve", "/usr/bin/app", "/usr/bin/app --serve" },
    { "\"a b\\\" c\" -x", "/bin/true", "/bin/true -x" },
    { "old\\ name -v", "/home/me/My Apps/it's", "'/home/me/My Apps/it'\\''s' -v" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *name = cohort_cluster_editor_unique_name (names[i].base, taken);

      g_assert_cmpstr (name, ==, names[i].expected);
    }
  for (guint i = 0; i < G_N_ELEMENTS (programs); i++)
    {
      g_autofree char *command = cohort_cluster_editor_replace_program (programs[i].command, programs[i].path);
      g_auto(GStrv) argv = NULL;

      g_assert_cmpstr (command, ==, programs[i].expected);
      g_assert_true (g_shell_parse_argv (command, NULL, &argv, NULL));
      g_assert_cmpstr (argv[0], ==, programs[i].path);
    }
}

static void
test_no_display (void)
{
  g_test_skip ("no display: run the GUI suite under xvfb-run, as build-aux/cohort-dev test does");
}

#define ADD(path, func) \
  g_test_add ((path), Fixture, NULL, fixture_set_up, (func), fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  /* gtk_test_init () aborts without a display; say why instead. */
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_test_init (&argc, &argv, NULL);
      g_test_add_func ("/Cohort/Editor/new-process", test_no_display);
      return g_test_run ();
    }

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  ADD ("/Cohort/Editor/new-process", test_new_process);
  ADD ("/Cohort/Editor/existing", test_existing);
  ADD ("/Cohort/Editor/apply-error", test_apply_error);
  ADD ("/Cohort/Editor/choosers", test_choosers);
  ADD ("/Cohort/Editor/threads", test_threads);
  ADD ("/Cohort/Editor/plan", test_plan);
  g_test_add_func ("/Cohort/Editor/names", test_names);
  return g_test_run ();
}
