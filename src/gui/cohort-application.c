/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-application.c: the window's instance. It opens a profile (the one
 * named, the last one, or the demo), starts its clusters, and is also the
 * target of `cohort --status` and the other remote commands, through the
 * same CohortControl as the headless runner. */

#include "config.h"

#include <glib/gi18n.h>

#include "cohort-application.h"
#include "cohort-control.h"
#include "cohort-headless.h"
#include "cohort-preferences-window.h"
#include "cohort-profile.h"
#include "cohort-supervisor.h"
#include "cohort-window.h"

struct _CohortApplication
{
  AdwApplication    parent_instance;

  GSettings        *settings;
  CohortSupervisor *supervisor;
  CohortControl    *control;
  CohortWindow     *window;
  GtkWindow        *preferences;    /* weak: the open Preferences window */
  char             *first_path;
  char             *screenshot;
  double            screenshot_after;
};

G_DEFINE_FINAL_TYPE (CohortApplication, cohort_application, ADW_TYPE_APPLICATION)

static const GOptionEntry gui_entries[] = {
  { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    N_("Save a PNG of the window, then quit"), N_("FILE.png") },
  { "after", 0, 0, G_OPTION_ARG_DOUBLE, NULL,
    N_("With --screenshot: seconds to wait first (default 2)"), N_("SECONDS") },
  { NULL }
};

/* Screenshots: the window as the user sees it, rendered by its own
 * renderer. */
gboolean
cohort_save_window_png (GtkWidget   *widget,
                        const char  *path,
                        GError     **error)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL || renderer == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("The window has not been drawn yet"));
      return FALSE;
    }
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot write %s"), path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
screenshot_cb (gpointer data)
{
  CohortApplication *self = data;
  g_autoptr(GError) error = NULL;

  if (!cohort_save_window_png (GTK_WIDGET (self->window), self->screenshot, &error))
    g_printerr ("cohort: %s\n", error->message);
  else
    g_print (_("Saved %s\n"), self->screenshot);
  cohort_supervisor_kill (self->supervisor);
  g_application_quit (G_APPLICATION (self));
  return G_SOURCE_REMOVE;
}


#define MAX_RECENT 10

/* Returns: (transfer full): the recent profiles, most recent first */
GStrv
cohort_application_dup_recent (CohortApplication *self)
{
  g_return_val_if_fail (COHORT_IS_APPLICATION (self), NULL);

  if (self->settings == NULL)
    return g_new0 (char *, 1);
  return g_settings_get_strv (self->settings, "recent-profiles");
}

/* Puts @path first in the recent profiles and makes it the last one. */
void
cohort_application_add_recent (CohortApplication *self,
                               const char        *path)
{
  g_auto(GStrv) old = NULL;
  g_autoptr(GStrvBuilder) builder = NULL;
  g_auto(GStrv) recent = NULL;
  guint n = 1;

  g_return_if_fail (COHORT_IS_APPLICATION (self));

  if (self->settings == NULL || path == NULL)
    return;
  old = g_settings_get_strv (self->settings, "recent-profiles");
  builder = g_strv_builder_new ();
  g_strv_builder_add (builder, path);
  for (guint i = 0; old[i] != NULL && n < MAX_RECENT; i++)
    if (!g_str_equal (old[i], path) && g_file_test (old[i], G_FILE_TEST_IS_REGULAR))
      {
        g_strv_builder_add (builder, old[i]);
        n++;
      }
  recent = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "recent-profiles", (const char * const *) recent);
  g_settings_set_string (self->settings, "last-profile", path);
  if (self->window != NULL)
    cohort_window_update_recent (self->window);
}

/**
 * cohort_application_open_profile:
 *
 * Loads @path into the window and starts its clusters; a profile with
 * errors is shown with its problems and starts nothing; one that Cohort
 * did not save here starts once the user says so.
 */
gboolean
cohort_application_open_profile (CohortApplication *self,
                                 const char        *path)
{
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *absolute = g_canonicalize_filename (path, NULL);

  g_return_val_if_fail (COHORT_IS_APPLICATION (self), FALSE);

  /* A profile that cannot run: its problems in the banner, or, over a
   * profile already open (which stays as it was), in a dialog. */
  if (!cohort_profile_load_file (profile, absolute, &error)
      || !cohort_supervisor_load (self->supervisor, profile, &error))
    {
      if (cohort_window_get_profile (self->window) != NULL)
        cohort_window_show_open_error (self->window, profile, absolute);
      else
        cohort_window_show_problems (self->window, profile);
      return FALSE;
    }
  cohort_window_show_profile (self->window, profile, absolute);
  cohort_application_add_recent (self, absolute);
  /* --screenshot FILE.png FILE.cohort: the user named both; a profile
   * picked for them asks like any other. */
  if (cohort_profile_get_trusted (profile)
      || (self->screenshot != NULL && self->first_path != NULL && g_str_equal (path, self->first_path)))
    cohort_supervisor_start (self->supervisor);
  else
    cohort_window_ask_trust (self->window);
  return TRUE;
}

/* An empty, unsaved profile in the window. */
void
cohort_application_new_profile (CohortApplication *self)
{
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autoptr(GError) error = NULL;

  g_return_if_fail (COHORT_IS_APPLICATION (self));

  if (!cohort_profile_load_data (profile, "[Profile]\n", -1, NULL, &error)
      || !cohort_supervisor_load (self->supervisor, profile, &error))
    {
      g_warning ("An empty profile: %s", error->message);
      return;
    }
  cohort_window_show_profile (self->window, profile, NULL);
}

CohortSupervisor *
cohort_application_get_supervisor (CohortApplication *self)
{
  g_return_val_if_fail (COHORT_IS_APPLICATION (self), NULL);
  return self->supervisor;
}

GtkWindow *
cohort_application_get_main_window (CohortApplication *self)
{
  g_return_val_if_fail (COHORT_IS_APPLICATION (self), NULL);
  return GTK_WINDOW (self->window);
}

/**
 * cohort_application_request_quit:
 *
 * What `cohort --quit` does once every worker has stopped: the
 * application ends, after the window has asked about unsaved changes.
 */
void
cohort_application_request_quit (CohortApplication *self)
{
  CohortProfile *profile = self->window != NULL ? cohort_window_get_profile (self->window) : NULL;

  /* `cohort --quit` has stopped every worker; unsaved changes in the
   * window are still the user's to keep or let go: the window asks, and
   * the application ends when it closes. */
  if (profile != NULL && cohort_profile_get_modified (profile))
    {
      gtk_window_present (GTK_WINDOW (self->window));
      gtk_window_close (GTK_WINDOW (self->window));
      return;
    }
  g_application_quit (G_APPLICATION (self));
}

static void
quit_requested_cb (CohortApplication *self)
{
  cohort_application_request_quit (self);
}

static void
about_action (GSimpleAction *action,
              GVariant      *param,
              gpointer       data)
{
  CohortApplication *self = data;
  const char *developers[] = { _("The Cohort developers"), NULL };

  adw_show_about_window (GTK_WINDOW (self->window),
                         "application-name", "Cohort",
                         "application-icon", APPLICATION_ID,
                         "version", PACKAGE_VERSION,
                         "developer-name", _("The Cohort developers"),
                         "developers", developers,
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "comments", _("Run a program as a cluster of workers and watch it live."),
                         NULL);
}

static void
quit_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       data)
{
  CohortApplication *self = data;

  if (self->window != NULL)
    gtk_window_close (GTK_WINDOW (self->window));
}

/* Export: the metric history of every worker, as --export writes it. */
static void
export_response_cb (GtkNativeDialog   *dialog,
                    int                response,
                    CohortApplication *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr(GError) error = NULL;

      if (path != NULL &&
          !cohort_sampler_export_csv (cohort_supervisor_get_sampler (self->supervisor), path, &error))
        {
          AdwMessageDialog *alert =
            ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self->window), _("Export Failed"),
                                                        error->message));

          adw_message_dialog_add_response (alert, "close", _("_Close"));
          gtk_window_present (GTK_WINDOW (alert));
        }
    }
  g_object_unref (dialog);
}

static void
export_action (GSimpleAction *action,
               GVariant      *param,
               gpointer       data)
{
  CohortApplication *self = data;
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  dialog = gtk_file_chooser_native_new (_("Export Metrics"), GTK_WINDOW (self->window),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), "cohort-metrics.csv");
  gtk_file_filter_set_name (filter, _("CSV files"));
  gtk_file_filter_add_pattern (filter, "*.csv");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  g_signal_connect (dialog, "response", G_CALLBACK (export_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* Preferences: the sample interval and the history length, applied to
 * the running sampler at once and kept in GSettings. */
static void
settings_changed_cb (CohortApplication *self,
                     const char        *key)
{
  CohortSampler *sampler = cohort_supervisor_get_sampler (self->supervisor);

  if (g_str_equal (key, "sample-interval"))
    cohort_sampler_set_interval (sampler, g_settings_get_uint (self->settings, key));
  else if (g_str_equal (key, "history-length"))
    cohort_sampler_set_history (sampler, g_settings_get_uint (self->settings, key));
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *param,
                    gpointer       data)
{
  CohortApplication *self = data;

  if (self->settings == NULL)
    return;
  /* One Preferences window: asking again brings it forward. */
  if (self->preferences == NULL)
    {
      self->preferences = GTK_WINDOW (cohort_preferences_window_new (GTK_WINDOW (self->window), self->settings));
      g_object_add_weak_pointer (G_OBJECT (self->preferences), (gpointer *) &self->preferences);
    }
  gtk_window_present (self->preferences);
}

static const GActionEntry app_actions[] = {
  { "about", about_action, NULL, NULL, NULL, { 0 } },
  { "export", export_action, NULL, NULL, NULL, { 0 } },
  { "preferences", preferences_action, NULL, NULL, NULL, { 0 } },
  { "quit", quit_action, NULL, NULL, NULL, { 0 } },
};

/* GApplication */

static int
cohort_application_handle_local_options (GApplication *application,
                                         GVariantDict *options)
{
  CohortApplication *self = COHORT_APPLICATION (application);
  g_auto(GStrv) files = NULL;
  int status;

  status = cohort_control_handle_local_options (application, options);
  if (status >= 0 || cohort_control_wants_instance (options))
    return status;

  g_variant_dict_lookup (options, "screenshot", "^ay", &self->screenshot);
  if (!g_variant_dict_lookup (options, "after", "d", &self->screenshot_after))
    self->screenshot_after = 2;
  g_variant_dict_lookup (options, G_OPTION_REMAINING, "^as", &files);
  if (files != NULL && files[0] != NULL && files[1] != NULL)
    {
      g_printerr (_("cohort: one profile at a time\n"));
      return COHORT_EXIT_USAGE;
    }
  if (files != NULL && files[0] != NULL)
    self->first_path = g_strdup (files[0]);

  return cohort_control_become_instance (application);
}

static void
cohort_application_startup (GApplication *application)
{
  CohortApplication *self = COHORT_APPLICATION (application);
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *help_accels[] = { "F1", "<Control>question", NULL };
  const char *preferences_accels[] = { "<Control>comma", NULL };
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();

  G_APPLICATION_CLASS (cohort_application_parent_class)->startup (application);

  /* Run from the build tree without the schema installed: no settings,
   * rather than an abort. */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APPLICATION_ID, TRUE);
  if (schema != NULL)
    self->settings = g_settings_new (APPLICATION_ID);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.show-help-overlay", help_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences", preferences_accels);

  gtk_css_provider_load_from_resource (css, "/org/cohort/Cohort/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

  self->supervisor = cohort_supervisor_new ();
  if (self->settings != NULL)
    {
      CohortSampler *sampler = cohort_supervisor_get_sampler (self->supervisor);

      cohort_sampler_set_interval (sampler, g_settings_get_uint (self->settings, "sample-interval"));
      cohort_sampler_set_history (sampler, g_settings_get_uint (self->settings, "history-length"));
      g_signal_connect_object (self->settings, "changed", G_CALLBACK (settings_changed_cb),
                               self, G_CONNECT_SWAPPED);
    }
  self->control = cohort_control_new (self->supervisor);
  g_signal_connect_object (self->control, "quit-requested", G_CALLBACK (quit_requested_cb),
                           self, G_CONNECT_SWAPPED);
}

/* The window's size, kept for the next start. */
static gboolean
save_window_state_cb (GtkWindow         *window,
                      CohortApplication *self)
{
  int width = 0;
  int height = 0;

  if (self->settings == NULL)
    return FALSE;
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
  if (!gtk_window_is_maximized (window))
    {
      gtk_window_get_default_size (window, &width, &height);
      if (width > 0 && height > 0)
        {
          g_settings_set_int (self->settings, "window-width", width);
          g_settings_set_int (self->settings, "window-height", height);
        }
    }
  return FALSE;
}

static int
cohort_application_command_line (GApplication            *application,
                                 GApplicationCommandLine *command_line)
{
  CohortApplication *self = COHORT_APPLICATION (application);
  g_autofree char *path = NULL;

  if (g_application_command_line_get_is_remote (command_line))
    return cohort_control_run (self->control, command_line);

  if (self->window == NULL)
    {
      self->window = cohort_window_new (GTK_APPLICATION (self), self->supervisor);
      if (self->settings != NULL)
        {
          gtk_window_set_default_size (GTK_WINDOW (self->window),
                                       g_settings_get_int (self->settings, "window-width"),
                                       g_settings_get_int (self->settings, "window-height"));
          if (g_settings_get_boolean (self->settings, "window-maximized"))
            gtk_window_maximize (GTK_WINDOW (self->window));
        }
      g_signal_connect_object (self->window, "close-request", G_CALLBACK (save_window_state_cb),
                               self, 0);
    }

  path = self->first_path != NULL ? g_strdup (self->first_path) : cohort_control_default_profile ();
  cohort_application_open_profile (self, path);
  gtk_window_present (GTK_WINDOW (self->window));

  if (self->screenshot != NULL)
    g_timeout_add ((guint) (MAX (0.1, self->screenshot_after) * 1000), screenshot_cb, self);
  return 0;
}

static void
cohort_application_add_platform_data (GApplication    *application,
                                      GVariantBuilder *builder)
{
  G_APPLICATION_CLASS (cohort_application_parent_class)->add_platform_data (application, builder);
  cohort_control_add_platform_data (builder);
}

static void
cohort_application_shutdown (GApplication *application)
{
  CohortApplication *self = COHORT_APPLICATION (application);

  if (self->control != NULL)
    cohort_control_finish_all (self->control);
  /* Anything still running goes now: the window already asked. */
  if (self->supervisor != NULL && cohort_supervisor_get_running (self->supervisor))
    cohort_supervisor_kill (self->supervisor);

  G_APPLICATION_CLASS (cohort_application_parent_class)->shutdown (application);
}

static void
cohort_application_dispose (GObject *object)
{
  CohortApplication *self = (CohortApplication *) object;

  g_clear_weak_pointer (&self->preferences);
  g_clear_object (&self->control);
  g_clear_object (&self->supervisor);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (cohort_application_parent_class)->dispose (object);
}

static void
cohort_application_finalize (GObject *object)
{
  CohortApplication *self = (CohortApplication *) object;

  g_free (self->first_path);
  g_free (self->screenshot);

  G_OBJECT_CLASS (cohort_application_parent_class)->finalize (object);
}

static void
cohort_application_class_init (CohortApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = cohort_application_dispose;
  object_class->finalize = cohort_application_finalize;
  app_class->handle_local_options = cohort_application_handle_local_options;
  app_class->startup = cohort_application_startup;
  app_class->command_line = cohort_application_command_line;
  app_class->add_platform_data = cohort_application_add_platform_data;
  app_class->shutdown = cohort_application_shutdown;
}

static void
cohort_application_init (CohortApplication *self)
{
  cohort_control_add_options (G_APPLICATION (self));
  g_application_add_main_option_entries (G_APPLICATION (self), gui_entries);
}

CohortApplication *
cohort_application_new (void)
{
  return g_object_new (COHORT_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_COMMAND_LINE,
                       "resource-base-path", "/org/cohort/Cohort",
                       NULL);
}
