/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-channel.c: newline-delimited JSON over a socketpair, the framing
 * of Node's IPC channel in json mode, so Node workers need no change and
 * any other language can speak it.
 *
 * Everything a worker can do to the channel is bounded: a line is at most
 * COHORT_CHANNEL_MAX_LINE (longer ones are dropped and counted as bad),
 * each main-loop dispatch reads at most READ_BUDGET bytes (a flood is read
 * at a bounded rate and the socket's buffer holds the worker back), and
 * what the worker does not read is queued up to COHORT_CHANNEL_MAX_QUEUED,
 * past which sends are refused with an error rather than silently lost.
 *
 * A message costs as few copies and system calls as the framing allows:
 * it is read straight into the line reader's buffer and handed on from
 * there to the channel's one handler, a direct call (the text is that
 * buffer), and a send goes out at once with its newline in one sendmsg()
 * and is queued only for what the socket did not take. The handler is no
 * GObject signal: an emission cost about as much as validating a 50-byte
 * message, and the channel has exactly one listener, its process worker.
 * Cohort only ever writes valid JSON, since one invalid line kills a Node
 * worker, and never an object whose "cmd" starts with NODE_.
 *
 * A line is validated in one pass without building anything; it is parsed
 * into a tree only when it may be one of the few messages the channel and
 * the worker look into (Node's internal ones and "ready"). Everything
 * downstream uses the text. */

#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cohort-channel.h"
#include "cohort-watch.h"
#include "cohort-json.h"
#include "cohort-line-reader.h"

#define READ_CHUNK    (64 * 1024)
/* A 64 KiB message and its echo's framing fit in one dispatch. */
#define READ_BUDGET   (256 * 1024)
#define MAX_RIGHTS    16
/* The longest spelling of the string "ready": every letter escaped. */
#define MAX_READY_SPELLED (2 + 5 * 6)

struct _CohortChannel
{
  GObject           parent_instance;

  int               fd;
  guint             in_source;
  guint             out_source;
  CohortLineReader *reader;
  JsonParser       *parser;
  GByteArray       *queue;
  gsize             queue_offset;
  CohortChannelHandler handler;   /* all NULL once forgotten */
  gpointer          user_data;
  /* the line line_end_cb() found and validated, and what it saw */
  const char       *checked_line;
  CohortJsonInfo    checked_info;
};

G_DEFINE_FINAL_TYPE (CohortChannel, cohort_channel, G_TYPE_OBJECT)

static gboolean write_queue (CohortChannel *self);

static void
hand_on (CohortChannel *self,
         JsonNode      *node,
         const char    *text,
         gsize          length)
{
  if (self->handler.message != NULL)
    self->handler.message (node, text, (guint64) length, self->user_data);
}

static void
hand_on_bad (CohortChannel *self,
             const char    *reason)
{
  if (self->handler.bad_message != NULL)
    self->handler.bad_message (reason, self->user_data);
}

static void
queue_raw (CohortChannel *self,
           const char    *data,
           gsize          length)
{
  g_byte_array_append (self->queue, (const guint8 *) data, length);
  write_queue (self);
}

static void
handle_internal (CohortChannel *self,
                 JsonObject    *object)
{
  const char *cmd = json_object_get_string_member (object, "cmd");

  /* A handle sent with process.send(msg, handle): Node holds back every
   * later message until the parent answers. The descriptor itself was
   * closed on arrival; the message it came with is the program's. */
  if (g_str_equal (cmd, "NODE_HANDLE"))
    {
      static const char ack[] = "{\"cmd\":\"NODE_HANDLE_ACK\"}\n";
      JsonNode *inner = json_object_get_member (object, "msg");

      queue_raw (self, ack, sizeof ack - 1);
      if (inner != NULL)
        {
          gsize length;
          g_autofree char *text = cohort_json_to_string (inner, &length);

          hand_on (self, inner, text, length);
        }
      return;
    }

  g_debug ("channel: ignoring Node's internal %s", cmd);
}

/* The members of a top-level object that matter here, in the order of
 * the bits of CohortJsonInfo.names. */
static const char * const watched_names[] = { "cmd", "ready", NULL };

/* Whether the tree of a valid message is needed: only to tell Node's
 * internal messages ({"cmd": "NODE_…"}) and "ready" or {"ready": true}. */
static gboolean
needs_tree (const CohortJsonInfo *info)
{
  switch (info->kind)
    {
    case COHORT_JSON_KIND_OBJECT:
      return info->names != 0;
    case COHORT_JSON_KIND_STRING:
      return info->end - info->start <= MAX_READY_SPELLED;
    case COHORT_JSON_KIND_ARRAY:
    case COHORT_JSON_KIND_NUMBER:
    case COHORT_JSON_KIND_BOOLEAN:
    case COHORT_JSON_KIND_NULL:
    default:
      return FALSE;
    }
}

/* The line reader's search for the newline and the validation would read
 * each message twice: the validation finds the newline too. */
static gssize
line_end_cb (const char *data,
             gsize       length,
             gpointer    user_data)
{
  CohortChannel *self = user_data;
  gsize line_length;

  if (!cohort_json_validate_line (data, length, watched_names, &self->checked_info, &line_length))
    return -1;
  self->checked_line = data;
  return line_length;
}

static void
line_cb (const char *line,
         gsize       length,
         gboolean    truncated,
         gpointer    user_data)
{
  CohortChannel *self = user_data;
  g_autoptr(GError) error = NULL;
  /* Found by line_end_cb(): the line reader hands it on next. */
  gboolean checked = line == self->checked_line;
  CohortJsonInfo info = self->checked_info;
  JsonNode *root = NULL;

  self->checked_line = NULL;
  if (truncated)
    {
      hand_on_bad (self, _("line longer than 1 MiB"));
      return;
    }
  if (length == 0)
    return;
  if (!checked && !cohort_json_validate (line, length, watched_names, &info, &error))
    {
      g_autofree char *reason = NULL;

      /* A line of blanks is no message, nor a bad one. */
      if (g_error_matches (error, COHORT_JSON_ERROR, COHORT_JSON_ERROR_EMPTY))
        return;
      if (g_error_matches (error, COHORT_JSON_ERROR, COHORT_JSON_ERROR_INVALID_UTF8))
        reason = g_strdup (_("invalid UTF-8"));
      else
        reason = g_strdup_printf (_("invalid JSON: %s"), error->message);
      hand_on_bad (self, reason);
      return;
    }

  if (needs_tree (&info))
    {
      if (!json_parser_load_from_data (self->parser, line + info.start,
                                       info.end - info.start, &error))
        {
          g_autofree char *reason = g_strdup_printf (_("invalid JSON: %s"), error->message);

          hand_on_bad (self, reason);
          return;
        }
      root = json_parser_get_root (self->parser);
      if (cohort_message_is_internal (root))
        {
          handle_internal (self, json_node_get_object (root));
          return;
        }
    }

  /* The line ends with a NUL where its newline was (the line reader). */
  hand_on (self, root, line, length);
}

static void
close_fd (CohortChannel *self)
{
  g_clear_handle_id (&self->in_source, cohort_watch_remove);
  g_clear_handle_id (&self->out_source, g_source_remove);
  if (self->fd >= 0)
    {
      close (self->fd);
      self->fd = -1;
    }
}

static void
closed (CohortChannel *self)
{
  if (self->reader != NULL)
    cohort_line_reader_flush (self->reader);
  close_fd (self);
  g_byte_array_set_size (self->queue, 0);
  self->queue_offset = 0;
}

/* Reads what one dispatch may: at most READ_BUDGET bytes. Descriptors that
 * arrive with Node's handle messages are closed at once. */
static gboolean
read_some (CohortChannel *self)
{
  gsize budget = READ_BUDGET;

  /* Called again from a handler's nested main loop (the worker exited
   * meanwhile): the outer read goes on, and what is left stays in the
   * socket for the next dispatch. */
  if (cohort_line_reader_is_busy (self->reader))
    return self->fd >= 0;

  while (budget > 0 && self->fd >= 0)
    {
      /* All the room the buffer has: once it has held a long message,
       * the next one of that size comes in one recvmsg(). */
      gsize room = MIN (MAX (READ_CHUNK, cohort_line_reader_get_spare (self->reader)), budget);
      char control[CMSG_SPACE (sizeof (int) * MAX_RIGHTS)];
      struct iovec iov = { cohort_line_reader_reserve (self->reader, room), room };
      struct msghdr msg = { 0 };
      ssize_t n;

      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;

      n = recvmsg (self->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return TRUE;
      if (n <= 0)
        {
          closed (self);
          return FALSE;
        }

      for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c != NULL; c = CMSG_NXTHDR (&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
          {
            int count = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);
            int fds[MAX_RIGHTS];

            memcpy (fds, CMSG_DATA (c), sizeof (int) * MIN (count, MAX_RIGHTS));
            for (int i = 0; i < MIN (count, MAX_RIGHTS); i++)
              close (fds[i]);
          }

      budget -= n;
      cohort_line_reader_commit (self->reader, n);
    }
  return self->fd >= 0;
}

static gboolean
readable_cb (int          fd,
             GIOCondition condition,
             gpointer     user_data)
{
  CohortChannel *self = user_data;
  g_autoptr(CohortChannel) hold = g_object_ref (self);

  if (!read_some (self))
    {
      self->in_source = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
writable_cb (int          fd,
             GIOCondition condition,
             gpointer     user_data)
{
  CohortChannel *self = user_data;

  self->out_source = 0;
  write_queue (self);
  return G_SOURCE_REMOVE;
}

static void
watch_writable (CohortChannel *self)
{
  if (self->out_source == 0)
    self->out_source = g_unix_fd_add (self->fd, G_IO_OUT, writable_cb, self);
}

/* Writes what the socket takes now; the rest waits for G_IO_OUT. */
static gboolean
write_queue (CohortChannel *self)
{
  while (self->fd >= 0 && self->queue_offset < self->queue->len)
    {
      ssize_t n = send (self->fd, self->queue->data + self->queue_offset,
                        self->queue->len - self->queue_offset, MSG_NOSIGNAL | MSG_DONTWAIT);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          watch_writable (self);
          return TRUE;
        }
      if (n < 0)
        {
          g_debug ("channel: write failed: %s", g_strerror (errno));
          closed (self);
          return FALSE;
        }
      self->queue_offset += n;
    }

  if (self->queue_offset == self->queue->len)
    {
      g_byte_array_set_size (self->queue, 0);
      self->queue_offset = 0;
    }
  else if (self->queue_offset > self->queue->len / 2)
    {
      g_byte_array_remove_range (self->queue, 0, self->queue_offset);
      self->queue_offset = 0;
    }
  return TRUE;
}

static void
cohort_channel_dispose (GObject *object)
{
  CohortChannel *self = (CohortChannel *) object;

  close_fd (self);

  G_OBJECT_CLASS (cohort_channel_parent_class)->dispose (object);
}

static void
cohort_channel_finalize (GObject *object)
{
  CohortChannel *self = (CohortChannel *) object;

  g_clear_pointer (&self->reader, cohort_line_reader_free);
  g_clear_object (&self->parser);
  g_clear_pointer (&self->queue, g_byte_array_unref);

  G_OBJECT_CLASS (cohort_channel_parent_class)->finalize (object);
}

static void
cohort_channel_class_init (CohortChannelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cohort_channel_dispose;
  object_class->finalize = cohort_channel_finalize;
}

static void
cohort_channel_init (CohortChannel *self)
{
  self->fd = -1;
  self->parser = json_parser_new ();
  self->queue = g_byte_array_new ();
  self->reader = cohort_line_reader_new (COHORT_CHANNEL_MAX_LINE, line_cb, self);
  cohort_line_reader_set_end_func (self->reader, line_end_cb);
}

/**
 * cohort_channel_new:
 * @fd: Cohort's end of the socketpair; the channel owns it
 * @handler: what is called with each message and each bad one, from the
 *   main loop (or from cohort_channel_drain() and cohort_channel_close(),
 *   which hand on what is left); copied
 * @user_data: for @handler's functions
 */
CohortChannel *
cohort_channel_new (int                         fd,
                    const CohortChannelHandler *handler,
                    gpointer                    user_data)
{
  CohortChannel *self;

  g_return_val_if_fail (fd >= 0, NULL);
  g_return_val_if_fail (handler != NULL, NULL);

  self = g_object_new (COHORT_TYPE_CHANNEL, NULL);
  self->handler = *handler;
  self->user_data = user_data;
  self->fd = fd;
  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
  /* Behind the one epoll descriptor while quiet, a source of its own
   * while busy (cohort-watch.c). The rare wait for room to write stays a
   * GLib source: an epoll set holds a descriptor once. */
  self->in_source = cohort_watch_fd (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, readable_cb, self);
  return self;
}

/**
 * cohort_channel_send:
 * @json: one JSON value, compact (no newline)
 *
 * Queues @json and a newline. Refused when the channel is closed, or when
 * the worker has left COHORT_CHANNEL_MAX_QUEUED bytes unread.
 */
gboolean
cohort_channel_send (CohortChannel  *self,
                     const char     *json,
                     gsize           length,
                     GError        **error)
{
  gsize queued;

  g_return_val_if_fail (COHORT_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (json != NULL, FALSE);
#if defined(G_ENABLE_DEBUG) || defined(__SANITIZE_ADDRESS__)
  /* A newline would end the message early and the rest would reach the
   * worker as a line of its own. Only code can make that mistake (the
   * callers pass the serializer's output, which escapes every control
   * character), and the check is one more pass over the whole message,
   * a few per cent of a 64 KiB round trip: made in the sanitizer build
   * the tests run in (and with -DG_ENABLE_DEBUG), not at every send of a
   * user's. GCC and clang 14+ both define __SANITIZE_ADDRESS__. */
  g_return_val_if_fail (memchr (json, '\n', length) == NULL, FALSE);
#endif

  if (self->fd < 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           _("the worker's channel is closed"));
      return FALSE;
    }

  queued = self->queue->len - self->queue_offset;
  if (queued + length + 1 > COHORT_CHANNEL_MAX_QUEUED)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                   _("the worker is not reading its messages (%" G_GSIZE_FORMAT " KiB wait unread); message refused"),
                   queued / 1024);
      return FALSE;
    }

  /* Nothing waits: straight out, the newline with it, and only what the
   * socket did not take is queued. */
  if (queued == 0)
    {
      struct iovec iov[2] = { { (char *) json, length }, { (char *) "\n", 1 } };
      struct msghdr msg = { 0 };
      ssize_t n;

      msg.msg_iov = iov;
      msg.msg_iovlen = G_N_ELEMENTS (iov);
      do
        n = sendmsg (self->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      while (n < 0 && errno == EINTR);
      if (n == (ssize_t) length + 1)
        return TRUE;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        {
          g_debug ("channel: write failed: %s", g_strerror (errno));
          closed (self);
          return TRUE;
        }
      n = MAX (n, 0);
      if ((gsize) n < length)
        g_byte_array_append (self->queue, (const guint8 *) json + n, length - n);
      g_byte_array_append (self->queue, (const guint8 *) "\n", 1);
      watch_writable (self);
      return TRUE;
    }

  g_byte_array_append (self->queue, (const guint8 *) json, length);
  g_byte_array_append (self->queue, (const guint8 *) "\n", 1);
  if (self->out_source == 0)
    write_queue (self);
  return TRUE;
}

gboolean
cohort_channel_is_open (CohortChannel *self)
{
  g_return_val_if_fail (COHORT_IS_CHANNEL (self), FALSE);
  return self->fd >= 0;
}

/* Bytes queued that the worker has not read yet. */
gsize
cohort_channel_get_queued (CohortChannel *self)
{
  g_return_val_if_fail (COHORT_IS_CHANNEL (self), 0);
  return self->queue->len - self->queue_offset;
}

/* Whether lines read are being handed on: a handler of one is running,
 * maybe a nested main loop in it. */
gboolean
cohort_channel_is_reading (CohortChannel *self)
{
  g_return_val_if_fail (COHORT_IS_CHANNEL (self), FALSE);
  return self->reader != NULL && cohort_line_reader_is_busy (self->reader);
}

/* Reads what is already there (the worker has exited), within the budget. */
void
cohort_channel_drain (CohortChannel *self)
{
  g_return_if_fail (COHORT_IS_CHANNEL (self));

  if (self->fd >= 0)
    {
      g_autoptr(CohortChannel) hold = g_object_ref (self);

      read_some (self);
    }
}

/* Hands on the lines still buffered, then closes. */
void
cohort_channel_close (CohortChannel *self)
{
  g_return_if_fail (COHORT_IS_CHANNEL (self));
  closed (self);
}

/* Nothing is handed on from now on, not even by cohort_channel_close(). */
void
cohort_channel_forget_handler (CohortChannel *self)
{
  g_return_if_fail (COHORT_IS_CHANNEL (self));
  memset (&self->handler, 0, sizeof self->handler);
  self->user_data = NULL;
}
