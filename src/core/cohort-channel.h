/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-channel.h: the message channel to one worker process. */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A line over this is dropped and counted as a bad message. */
#define COHORT_CHANNEL_MAX_LINE   (1024 * 1024)
/* What may wait, unread by the worker, before sends are refused. */
#define COHORT_CHANNEL_MAX_QUEUED (4 * 1024 * 1024)

#define COHORT_TYPE_CHANNEL (cohort_channel_get_type ())

G_DECLARE_FINAL_TYPE (CohortChannel, cohort_channel, COHORT, CHANNEL, GObject)

/* The one listener of a channel, called directly (no GObject signal).
 * message: @node is the parsed message, valid during the call only, or
 * NULL when the channel did not parse it (it can be neither "ready" nor
 * {"ready": true}; it is valid JSON all the same); @text is its line as
 * received, @bytes its length on the wire. bad_message: why a line was
 * refused. */
typedef struct
{
  void (*message)     (JsonNode   *node,
                       const char *text,
                       guint64     bytes,
                       gpointer    user_data);
  void (*bad_message) (const char *reason,
                       gpointer    user_data);
} CohortChannelHandler;

CohortChannel *cohort_channel_new            (int                         fd,
                                              const CohortChannelHandler *handler,
                                              gpointer                    user_data);
gboolean       cohort_channel_send           (CohortChannel *self,
                                              const char    *json,
                                              gsize          length,
                                              GError       **error);
gboolean       cohort_channel_is_open        (CohortChannel *self);
gboolean       cohort_channel_is_reading     (CohortChannel *self);
gsize          cohort_channel_get_queued     (CohortChannel *self);
void           cohort_channel_drain          (CohortChannel *self);
void           cohort_channel_close          (CohortChannel *self);
void           cohort_channel_forget_handler (CohortChannel *self);

G_END_DECLS
