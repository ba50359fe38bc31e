/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-preferences-window.c: the Preferences window (its layout is
 * ui/cohort-preferences.ui). Every row is bound to its GSettings key, so a
 * change applies at once, and a change made elsewhere (the graph span of a
 * cluster page) shows here too. The rows speak in the units people think
 * in, the keys keep the ones the sampler uses: the interval in seconds is
 * stored in milliseconds, the history in minutes is stored in seconds. */

#include "config.h"

#include "cohort-preferences-window.h"

struct _CohortPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  GSettings           *settings;

  /* template */
  GtkSpinButton       *interval_spin;
  GtkSpinButton       *history_spin;
  AdwComboRow         *span_row;
};

G_DEFINE_FINAL_TYPE (CohortPreferencesWindow, cohort_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

enum {
  PROP_0,
  PROP_SETTINGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define MS_PER_SECOND      1000
#define SECONDS_PER_MINUTE 60

/* A spin button's value is the key's value divided by the scale in
 * @data. */
static gboolean
scaled_from_setting (GValue   *value,
                     GVariant *variant,
                     gpointer  data)
{
  g_value_set_double (value, g_variant_get_uint32 (variant) / (double) GPOINTER_TO_UINT (data));
  return TRUE;
}

static GVariant *
scaled_to_setting (const GValue       *value,
                   const GVariantType *type,
                   gpointer            data)
{
  return g_variant_new_uint32 ((guint32) (g_value_get_double (value) * GPOINTER_TO_UINT (data) + 0.5));
}

/* A combo row's position is the position of the key's nick among the
 * choices of its enum, as the schema lists them (@data). */
static gboolean
choice_from_setting (GValue   *value,
                     GVariant *variant,
                     gpointer  data)
{
  const char * const *choices = data;
  const char *nick = g_variant_get_string (variant, NULL);

  for (guint i = 0; choices[i] != NULL; i++)
    if (g_str_equal (choices[i], nick))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
choice_to_setting (const GValue       *value,
                   const GVariantType *type,
                   gpointer            data)
{
  const char * const *choices = data;
  guint position = g_value_get_uint (value);

  if (position >= g_strv_length ((char **) choices))
    return NULL;
  return g_variant_new_string (choices[position]);
}

/* Returns: (transfer full): the nicks that enum key @key can take, in
 * the schema's order */
static GStrv
dup_choices (GSettings  *settings,
             const char *key)
{
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GSettingsSchemaKey) schema_key = NULL;
  g_autoptr(GVariant) range = NULL;
  g_autoptr(GVariant) choices = NULL;
  const char *kind;

  g_object_get (settings, "settings-schema", &schema, NULL);
  schema_key = g_settings_schema_get_key (schema, key);
  range = g_settings_schema_key_get_range (schema_key);
  g_variant_get (range, "(&sv)", &kind, &choices);
  g_assert (g_str_equal (kind, "enum"));
  return g_variant_dup_strv (choices, NULL);
}

static void
bind_settings (CohortPreferencesWindow *self)
{
  g_settings_bind_with_mapping (self->settings, "sample-interval", self->interval_spin, "value",
                                G_SETTINGS_BIND_DEFAULT, scaled_from_setting, scaled_to_setting,
                                GUINT_TO_POINTER (MS_PER_SECOND), NULL);
  g_settings_bind_with_mapping (self->settings, "history-length", self->history_spin, "value",
                                G_SETTINGS_BIND_DEFAULT, scaled_from_setting, scaled_to_setting,
                                GUINT_TO_POINTER (SECONDS_PER_MINUTE), NULL);
  g_settings_bind_with_mapping (self->settings, "graph-span", self->span_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, choice_from_setting, choice_to_setting,
                                dup_choices (self->settings, "graph-span"), (GDestroyNotify) g_strfreev);
}

static void
cohort_preferences_window_constructed (GObject *object)
{
  CohortPreferencesWindow *self = (CohortPreferencesWindow *) object;

  G_OBJECT_CLASS (cohort_preferences_window_parent_class)->constructed (object);

  g_assert (G_IS_SETTINGS (self->settings));
  bind_settings (self);
}

static void
cohort_preferences_window_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  CohortPreferencesWindow *self = COHORT_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cohort_preferences_window_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  CohortPreferencesWindow *self = COHORT_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cohort_preferences_window_dispose (GObject *object)
{
  CohortPreferencesWindow *self = (CohortPreferencesWindow *) object;

  /* The bindings would outlive the rows until they are finalized. */
  if (self->interval_spin != NULL)
    {
      g_settings_unbind (self->interval_spin, "value");
      g_settings_unbind (self->history_spin, "value");
      g_settings_unbind (self->span_row, "selected");
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), COHORT_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (cohort_preferences_window_parent_class)->dispose (object);
}

static void
cohort_preferences_window_class_init (CohortPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = cohort_preferences_window_constructed;
  object_class->get_property = cohort_preferences_window_get_property;
  object_class->set_property = cohort_preferences_window_set_property;
  object_class->dispose = cohort_preferences_window_dispose;

  /**
   * CohortPreferencesWindow:settings:
   *
   * The application's settings, which the rows show and change.
   */
  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/cohort/Cohort/cohort-preferences.ui");
  gtk_widget_class_bind_template_child (widget_class, CohortPreferencesWindow, interval_spin);
  gtk_widget_class_bind_template_child (widget_class, CohortPreferencesWindow, history_spin);
  gtk_widget_class_bind_template_child (widget_class, CohortPreferencesWindow, span_row);
}

static void
cohort_preferences_window_init (CohortPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

CohortPreferencesWindow *
cohort_preferences_window_new (GtkWindow *parent,
                               GSettings *settings)
{
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  return g_object_new (COHORT_TYPE_PREFERENCES_WINDOW,
                       "transient-for", parent,
                       "settings", settings,
                       NULL);
}
