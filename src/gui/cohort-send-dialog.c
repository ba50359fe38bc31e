/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-send-dialog.c: a small window to send a message: the target (the
 * cluster or one worker), a JSON editor validated as you type (Send stays
 * disabled, with the reason shown, while the text is not valid JSON), and
 * the recently sent messages to pick from. The layout is the template
 * ui/cohort-send-dialog.ui. */

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "cohort-send-dialog.h"

#define MAX_RECENT 12

struct _CohortSendDialog
{
  AdwWindow      parent_instance;

  CohortCluster *cluster;
  GArray        *target_ids;   /* int: -1 for the cluster */

  /* template */
  GtkDropDown   *target;
  GtkStringList *targets;
  GtkTextView   *editor;
  GtkLabel      *status;
  GtkButton     *send_button;
  GtkDropDown   *recent;
  GtkStringList *recent_list;
};

G_DEFINE_FINAL_TYPE (CohortSendDialog, cohort_send_dialog, ADW_TYPE_WINDOW)

/* Recently sent texts, newest first, shared by every dialog. */
static GQueue recent_texts = G_QUEUE_INIT;

static char *
editor_text (CohortSendDialog *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->editor);
  GtkTextIter start;
  GtkTextIter end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
validate (CohortSendDialog *self)
{
  g_autofree char *text = editor_text (self);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  gboolean valid = FALSE;

  if (g_strstrip (text)[0] == '\0')
    gtk_label_set_label (self->status, _("Type a JSON value, for example \"ping\" or {\"cmd\": \"reload\"}"));
  else if ((node = json_from_string (text, &error)) == NULL)
    gtk_label_set_label (self->status, error->message);
  else
    {
      valid = TRUE;
      gtk_label_set_label (self->status, _("Valid JSON"));
    }
  gtk_widget_set_sensitive (GTK_WIDGET (self->send_button), valid);
  if (valid)
    gtk_widget_remove_css_class (GTK_WIDGET (self->status), "error");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->status), "error");
}

void
cohort_send_dialog_set_text (CohortSendDialog *self,
                             const char       *text)
{
  g_return_if_fail (COHORT_IS_SEND_DIALOG (self));
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->editor), text, -1);
}

static void
remember (const char *text)
{
  for (GList *l = recent_texts.head; l != NULL; l = l->next)
    if (g_str_equal (l->data, text))
      {
        g_free (l->data);
        g_queue_delete_link (&recent_texts, l);
        break;
      }
  g_queue_push_head (&recent_texts, g_strdup (text));
  while (recent_texts.length > MAX_RECENT)
    g_free (g_queue_pop_tail (&recent_texts));
}

/* Preselects worker @id as the target (-1: the cluster). */
void
cohort_send_dialog_set_target (CohortSendDialog *self,
                               int               id)
{
  g_return_if_fail (COHORT_IS_SEND_DIALOG (self));

  for (guint i = 0; i < self->target_ids->len; i++)
    if (g_array_index (self->target_ids, int, i) == id)
      gtk_drop_down_set_selected (self->target, i);
}

/* Sends the editor's message to the chosen target. */
gboolean
cohort_send_dialog_send (CohortSendDialog  *self,
                         GError           **error)
{
  g_autofree char *text = editor_text (self);
  g_autoptr(JsonNode) node = json_from_string (text, error);
  guint selected;
  int id;

  g_return_val_if_fail (COHORT_IS_SEND_DIALOG (self), FALSE);

  if (node == NULL)
    return FALSE;
  selected = gtk_drop_down_get_selected (self->target);
  id = selected < self->target_ids->len ? g_array_index (self->target_ids, int, selected) : -1;
  if (!cohort_cluster_send (self->cluster, id, node, NULL, error))
    return FALSE;
  remember (g_strstrip (text));
  return TRUE;
}

static void
send_clicked_cb (CohortSendDialog *self)
{
  g_autoptr(GError) error = NULL;

  if (!cohort_send_dialog_send (self, &error))
    {
      gtk_label_set_label (self->status, error->message);
      gtk_widget_add_css_class (GTK_WIDGET (self->status), "error");
      return;
    }
  gtk_window_close (GTK_WINDOW (self));
}

static void
recent_selected_cb (CohortSendDialog *self)
{
  guint selected = gtk_drop_down_get_selected (self->recent);
  const char *text;

  if (selected == 0 || selected == GTK_INVALID_LIST_POSITION)
    return;
  text = gtk_string_list_get_string (self->recent_list, selected);
  cohort_send_dialog_set_text (self, text);
}

static void
cohort_send_dialog_dispose (GObject *object)
{
  CohortSendDialog *self = (CohortSendDialog *) object;

  g_clear_object (&self->cluster);
  g_clear_pointer (&self->target_ids, g_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), COHORT_TYPE_SEND_DIALOG);

  G_OBJECT_CLASS (cohort_send_dialog_parent_class)->dispose (object);
}

static void
cohort_send_dialog_class_init (CohortSendDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cohort_send_dialog_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/cohort/Cohort/cohort-send-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, CohortSendDialog, target);
  gtk_widget_class_bind_template_child (widget_class, CohortSendDialog, targets);
  gtk_widget_class_bind_template_child (widget_class, CohortSendDialog, editor);
  gtk_widget_class_bind_template_child (widget_class, CohortSendDialog, status);
  gtk_widget_class_bind_template_child (widget_class, CohortSendDialog, send_button);
  gtk_widget_class_bind_template_child (widget_class, CohortSendDialog, recent);
  gtk_widget_class_bind_template_child (widget_class, CohortSendDialog, recent_list);
  gtk_widget_class_bind_template_callback (widget_class, validate);
  gtk_widget_class_bind_template_callback (widget_class, send_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, recent_selected_cb);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
cohort_send_dialog_init (CohortSendDialog *self)
{
  self->target_ids = g_array_new (FALSE, FALSE, sizeof (int));

  gtk_widget_init_template (GTK_WIDGET (self));

  for (GList *l = recent_texts.head; l != NULL; l = l->next)
    gtk_string_list_append (self->recent_list, l->data);
  gtk_widget_set_sensitive (GTK_WIDGET (self->recent), recent_texts.length > 0);
}

CohortSendDialog *
cohort_send_dialog_new (CohortCluster *cluster)
{
  CohortSendDialog *self;
  GListModel *workers;
  int all = -1;

  g_return_val_if_fail (COHORT_IS_CLUSTER (cluster), NULL);

  self = g_object_new (COHORT_TYPE_SEND_DIALOG, NULL);
  self->cluster = g_object_ref (cluster);

  if (cohort_cluster_get_spec (cluster)->kind == COHORT_CLUSTER_KIND_THREADS)
    gtk_string_list_append (self->targets, _("The first free thread"));
  else
    gtk_string_list_append (self->targets, _("Every worker"));
  g_array_append_val (self->target_ids, all);
  workers = cohort_cluster_get_workers (cluster);
  for (guint i = 0; i < g_list_model_get_n_items (workers); i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);
      g_autofree char *label = g_strdup_printf (_("Worker %u"), cohort_worker_get_id (worker));
      int id = (int) cohort_worker_get_id (worker);

      if (!cohort_worker_is_running (worker))
        continue;
      gtk_string_list_append (self->targets, label);
      g_array_append_val (self->target_ids, id);
    }

  cohort_send_dialog_set_text (self, cohort_cluster_get_spec (cluster)->kind == COHORT_CLUSTER_KIND_THREADS
                                       ? "{\"task\": \"primes\", \"args\": {\"below\": 1000000}}"
                                       : "\"ping\"");
  validate (self);
  return self;
}
