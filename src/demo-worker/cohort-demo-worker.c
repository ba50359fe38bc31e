/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-demo-worker.c: the small HTTP server that Cohort's demo profile clusters. */

/*
 * cohort-demo-worker --serve [--port N]
 *
 * Serves on the listening socket passed as fd 3 (LISTEN_FDS=1 and
 * LISTEN_PID=<our pid>, the systemd socket-activation convention Cohort uses
 * for Listen=), or else binds 127.0.0.1:N itself (default 8080).  Sibling
 * workers share the passed socket, so it is non-blocking and accept() may
 * find nothing: another worker took the connection.
 *
 * One GLib main loop, every connection non-blocking, one response per
 * connection ("Connection: close"), then a lingering close: shut down the
 * write side and read until the client closes, so that a request with
 * unread bytes does not turn our close into a reset that eats the response.
 *
 * The channel: when COHORT_CHANNEL_FD names a socket (Cohort's message
 * channel), it speaks newline-delimited JSON on it, non-blocking, in the same
 * main loop.  Out: "ready" once listening, {"requests": N} every 10 s,
 * {"pong": X, "worker": ID} for {"ping": X}, {"worker": ID, "requests": N,
 * "uptime_ms": T} for "stats".  In: "shutdown" stops gracefully, like SIGTERM.
 * Lines over 1 MiB, invalid UTF-8, invalid JSON and JSON nested deeper than
 * 64 levels are dropped with a note on stderr; other messages are ignored.
 * Every line written is built by json-glib (valid JSON, never over 1 MiB);
 * while the peer does not read, at most 4 MiB wait and newer messages are
 * dropped whole.  At EOF (Cohort gone) the channel closes; serving goes on.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <math.h>

#define EXIT_USAGE           64
#define LISTEN_FD            3
#define MAX_CONNECTIONS      256
#define REQUEST_MAX          (16 * 1024)
#define IDLE_TIMEOUT_MS      10000
#define LINGER_TIMEOUT_MS    2000
#define LINGER_MAX_BYTES     (64 * 1024)
#define SHUTDOWN_GRACE_MS    2000
#define ACCEPT_RETRY_MS      100
#define WORK_MAX_MS          5000
#define LOG_TARGET_MAX       256
#define CHANNEL_LINE_MAX     (1024 * 1024)
#define CHANNEL_OUT_MAX      (4 * 1024 * 1024)
#define CHANNEL_READ_CHUNK   (64 * 1024)
#define CHANNEL_DEPTH_MAX    64
#define HEARTBEAT_SECONDS    10

typedef struct _Server Server;

typedef enum
{
  CONN_READING,
  CONN_WRITING,
  CONN_LINGERING,
} ConnState;

typedef struct
{
  GList      link;
  Server    *server;
  int        fd;
  ConnState  state;
  guint      io_id;
  guint      timeout_id;
  gint64     last_activity;
  GString   *response;
  gsize      sent;
  gsize      discarded;
  gsize      len;
  char       buf[REQUEST_MAX];
} Connection;

struct _Server
{
  GMainLoop *loop;
  const char *id;
  long        pid;
  int         listen_fd;
  guint       listen_id;
  guint       retry_id;
  guint       grace_id;
  GQueue      connections;
  gboolean    stopping;
  int         exit_status;
  guint64     requests;
  gint64      started;            /* monotonic, microseconds */

  /* The message channel; fd -1: none, or closed. */
  int         channel_fd;
  guint       channel_in_id;
  guint       channel_out_id;
  guint       heartbeat_id;
  GString    *channel_in;
  gboolean    channel_discarding;
  GString    *channel_out;
  gsize       channel_out_sent;
  gboolean    channel_out_full;   /* a drop was noted; quiet until it drains */
};

static gboolean on_connection_io (int          fd,
                                  GIOCondition condition,
                                  gpointer     user_data);
static void     server_resume_accepting (Server *server);

/* ---------------------------------------------------------------------- */
/* Connections                                                            */
/* ---------------------------------------------------------------------- */

static void
connection_watch (Connection   *conn,
                  GIOCondition  condition)
{
  g_clear_handle_id (&conn->io_id, g_source_remove);
  conn->io_id = g_unix_fd_add (conn->fd, condition, on_connection_io, conn);
}

static void
connection_close (Connection *conn)
{
  Server *server = conn->server;

  g_clear_handle_id (&conn->io_id, g_source_remove);
  g_clear_handle_id (&conn->timeout_id, g_source_remove);
  close (conn->fd);
  if (conn->response != NULL)
    g_string_free (conn->response, TRUE);
  g_queue_unlink (&server->connections, &conn->link);
  g_free (conn);

  if (server->stopping)
    {
      if (server->connections.length == 0)
        g_main_loop_quit (server->loop);
    }
  else
    {
      server_resume_accepting (server);
    }
}

static gboolean on_connection_timeout (gpointer user_data);

static void
connection_arm_timeout (Connection *conn,
                        guint       ms)
{
  g_clear_handle_id (&conn->timeout_id, g_source_remove);
  conn->timeout_id = g_timeout_add (ms, on_connection_timeout, conn);
}

static gboolean
on_connection_timeout (gpointer user_data)
{
  Connection *conn = user_data;
  gint64 limit_ms = conn->state == CONN_LINGERING ? LINGER_TIMEOUT_MS : IDLE_TIMEOUT_MS;
  gint64 idle_ms = (g_get_monotonic_time () - conn->last_activity) / 1000;

  conn->timeout_id = 0;

  if (idle_ms >= limit_ms)
    connection_close (conn);
  else
    connection_arm_timeout (conn, (guint) (limit_ms - idle_ms));

  return G_SOURCE_REMOVE;
}

static void
connection_touch (Connection *conn)
{
  conn->last_activity = g_get_monotonic_time ();
}

static void
log_request (const char *method,
             const char *target,
             guint       status)
{
  if (strlen (target) > LOG_TARGET_MAX)
    printf ("%s %.*s... %u\n", method, LOG_TARGET_MAX, target, status);
  else
    printf ("%s %s %u\n", method, target, status);
  fflush (stdout);
}

static const char *
status_reason (guint status)
{
  switch (status)
    {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 505: return "HTTP Version Not Supported";
    default:  return "Error";
    }
}

/* Returns FALSE once the connection is closed. */
static gboolean
connection_write (Connection *conn)
{
  while (conn->sent < conn->response->len)
    {
      ssize_t n = send (conn->fd,
                        conn->response->str + conn->sent,
                        conn->response->len - conn->sent,
                        MSG_NOSIGNAL);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            {
              if (conn->state != CONN_WRITING)
                {
                  conn->state = CONN_WRITING;
                  connection_watch (conn, G_IO_OUT);
                }
              return TRUE;
            }
          connection_close (conn);
          return FALSE;
        }

      conn->sent += (gsize) n;
      connection_touch (conn);
    }

  /* Done: linger until the client closes its side (or the timeout). */
  if (shutdown (conn->fd, SHUT_WR) < 0)
    {
      connection_close (conn);
      return FALSE;
    }
  g_string_free (conn->response, TRUE);
  conn->response = NULL;
  conn->state = CONN_LINGERING;
  connection_watch (conn, G_IO_IN);
  connection_touch (conn);
  connection_arm_timeout (conn, LINGER_TIMEOUT_MS);

  return TRUE;
}

static gboolean
connection_respond (Connection  *conn,
                    const char  *method,
                    const char  *target,
                    guint        status,
                    const char  *extra_headers,
                    const char  *body,
                    gboolean     head_only)
{
  GString *response = g_string_new (NULL);

  g_string_append_printf (response,
                          "HTTP/1.1 %u %s\r\n"
                          "Content-Type: text/plain; charset=utf-8\r\n"
                          "Content-Length: %" G_GSIZE_FORMAT "\r\n"
                          "Cache-Control: no-store\r\n"
                          "Connection: close\r\n"
                          "%s"
                          "\r\n",
                          status, status_reason (status),
                          strlen (body),
                          extra_headers ? extra_headers : "");
  if (!head_only)
    g_string_append (response, body);

  conn->server->requests++;

  conn->response = response;
  conn->sent = 0;
  log_request (method, target, status);

  return connection_write (conn);
}

static gboolean
is_token_char (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Keeps the compiler from dropping the busy loop's arithmetic. */
static volatile guint64 work_sink;

static guint64
busy_work (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  guint64 x = 88172645463325252ULL;

  while (g_get_monotonic_time () < end)
    {
      for (guint i = 0; i < 4096; i++)
        {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
        }
    }

  return x;
}

/* Parses "ms=N" from QUERY (NULL if none).  Returns FALSE if missing or bad. */
static gboolean
parse_work_ms (const char *query,
               guint      *ms)
{
  g_auto(GStrv) pairs = NULL;
  gboolean found = FALSE;

  if (query == NULL)
    return FALSE;

  pairs = g_strsplit (query, "&", -1);
  for (guint i = 0; pairs[i] != NULL; i++)
    {
      guint64 value;

      if (!g_str_has_prefix (pairs[i], "ms="))
        continue;
      if (!g_ascii_string_to_unsigned (pairs[i] + 3, 10, 0, G_MAXUINT64, &value, NULL))
        return FALSE;
      *ms = (guint) MIN (value, (guint64) WORK_MAX_MS);
      found = TRUE;
    }

  return found;
}

static gboolean
connection_handle_request (Connection *conn)
{
  Server *server = conn->server;
  const char *p = conn->buf;
  const char *end = conn->buf + conn->len;
  const char *line_end;
  g_autofree char *line = NULL;
  g_autofree char *body = NULL;
  char *method;
  char *target;
  char *version;
  char *query;
  gboolean head_only;
  gboolean known_path;

  /* RFC 9112: ignore empty lines before the request line. */
  while (p < end && (*p == '\r' || *p == '\n'))
    p++;
  line_end = memchr (p, '\n', (size_t) (end - p));
  if (line_end == NULL)
    return connection_respond (conn, "-", "-", 400, NULL, "bad request\n", FALSE);
  if (line_end > p && line_end[-1] == '\r')
    line_end--;
  line = g_strndup (p, (gsize) (line_end - p));

  method = line;
  target = strchr (method, ' ');
  if (target == NULL)
    return connection_respond (conn, "-", "-", 400, NULL, "bad request\n", FALSE);
  *target++ = '\0';
  version = strchr (target, ' ');
  if (version == NULL)
    return connection_respond (conn, "-", "-", 400, NULL, "bad request\n", FALSE);
  *version++ = '\0';

  if (*method == '\0' || strlen (method) > 32)
    return connection_respond (conn, "-", "-", 400, NULL, "bad request\n", FALSE);
  for (const char *c = method; *c != '\0'; c++)
    if (!is_token_char (*c))
      return connection_respond (conn, "-", "-", 400, NULL, "bad request\n", FALSE);
  if (*target != '/')
    return connection_respond (conn, method, "-", 400, NULL, "bad request\n", FALSE);
  for (const char *c = target; *c != '\0'; c++)
    if ((guchar) *c <= 0x20 || (guchar) *c >= 0x7f)
      return connection_respond (conn, method, "-", 400, NULL, "bad request\n", FALSE);
  if (!g_str_has_prefix (version, "HTTP/"))
    return connection_respond (conn, method, target, 400, NULL, "bad request\n", FALSE);
  if (strcmp (version, "HTTP/1.0") != 0 && strcmp (version, "HTTP/1.1") != 0)
    return connection_respond (conn, method, target, 505, NULL,
                               "HTTP version not supported\n", FALSE);

  /* TARGET stays whole for the log; split a copy. */
  {
    g_autofree char *path = g_strdup (target);
    guint ms = 0;

    query = strchr (path, '?');
    if (query != NULL)
      *query++ = '\0';

    known_path = strcmp (path, "/") == 0
                 || strcmp (path, "/health") == 0
                 || strcmp (path, "/work") == 0;
    head_only = strcmp (method, "HEAD") == 0;

    if (!known_path)
      return connection_respond (conn, method, target, 404, NULL, "not found\n", head_only);
    if (strcmp (method, "GET") != 0 && !head_only)
      return connection_respond (conn, method, target, 405, "Allow: GET, HEAD\r\n",
                                 "method not allowed\n", FALSE);

    if (strcmp (path, "/") == 0)
      {
        body = g_strdup_printf ("Hello from worker %s (pid %ld)\n", server->id, server->pid);
      }
    else if (strcmp (path, "/health") == 0)
      {
        body = g_strdup ("ok\n");
      }
    else
      {
        if (!parse_work_ms (query, &ms))
          return connection_respond (conn, method, target, 400, NULL,
                                     "usage: /work?ms=N (N up to 5000)\n", head_only);
        /* The point is to burn CPU on this worker, so that graphs move. */
        work_sink = busy_work (ms);
        body = g_strdup_printf ("worker %s worked %u ms\n", server->id, ms);
      }
  }

  return connection_respond (conn, method, target, 200, NULL, body, head_only);
}

static gboolean
connection_read (Connection *conn)
{
  for (;;)
    {
      gsize old_len = conn->len;
      gsize from;
      ssize_t n;

      if (conn->len == sizeof conn->buf)
        return connection_respond (conn, "-", "-", 431, NULL, "request too large\n", FALSE);

      n = recv (conn->fd, conn->buf + conn->len, sizeof conn->buf - conn->len, 0);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            return TRUE;
          connection_close (conn);
          return FALSE;
        }
      if (n == 0)
        {
          /* The client went away before a whole request came. */
          connection_close (conn);
          return FALSE;
        }

      conn->len += (gsize) n;
      connection_touch (conn);

      /* Search only the new bytes (and the 3 before them): a client that
       * sends one byte at a time must not cost quadratic time. */
      from = old_len > 3 ? old_len - 3 : 0;
      for (gsize i = from; i < conn->len; i++)
        {
          if (conn->buf[i] != '\n')
            continue;
          if ((i >= 1 && conn->buf[i - 1] == '\n')
              || (i >= 3 && memcmp (conn->buf + i - 3, "\r\n\r\n", 4) == 0))
            {
              /* Ignore the blank lines allowed before the request line. */
              gboolean only_blank = TRUE;

              for (gsize j = 0; j < i && only_blank; j++)
                only_blank = conn->buf[j] == '\r' || conn->buf[j] == '\n';
              if (!only_blank)
                return connection_handle_request (conn);
            }
        }
    }
}

static gboolean
connection_linger (Connection *conn)
{
  char scratch[4096];

  for (;;)
    {
      ssize_t n = recv (conn->fd, scratch, sizeof scratch, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return TRUE;
      if (n <= 0)
        break;

      conn->discarded += (gsize) n;
      if (conn->discarded > LINGER_MAX_BYTES)
        break;
    }

  connection_close (conn);
  return FALSE;
}

static gboolean
on_connection_io (int          fd,
                  GIOCondition condition,
                  gpointer     user_data)
{
  Connection *conn = user_data;
  guint io_id = conn->io_id;
  gboolean alive = FALSE;

  switch (conn->state)
    {
    case CONN_READING:
      alive = connection_read (conn);
      break;

    case CONN_WRITING:
      alive = connection_write (conn);
      break;

    case CONN_LINGERING:
      alive = connection_linger (conn);
      break;

    default:
      g_assert_not_reached ();
    }

  /* Keep this source only if the connection lives and still uses it (a
   * state change may have replaced it with a watch for other conditions). */
  if (alive && conn->io_id == io_id)
    return G_SOURCE_CONTINUE;

  return G_SOURCE_REMOVE;
}

static void
connection_new (Server *server,
                int     fd)
{
  Connection *conn = g_new0 (Connection, 1);

  conn->server = server;
  conn->fd = fd;
  conn->state = CONN_READING;
  conn->link.data = conn;
  g_queue_push_tail_link (&server->connections, &conn->link);
  connection_touch (conn);
  conn->io_id = g_unix_fd_add (fd, G_IO_IN, on_connection_io, conn);
  connection_arm_timeout (conn, IDLE_TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* Listening                                                              */
/* ---------------------------------------------------------------------- */

static gboolean
on_accept_retry (gpointer user_data)
{
  Server *server = user_data;

  server->retry_id = 0;
  server_resume_accepting (server);

  return G_SOURCE_REMOVE;
}

static gboolean
on_listen_ready (int          fd,
                 GIOCondition condition,
                 gpointer     user_data)
{
  Server *server = user_data;

  while (server->connections.length < MAX_CONNECTIONS)
    {
      int conn_fd = accept4 (fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

      if (conn_fd >= 0)
        {
          connection_new (server, conn_fd);
          continue;
        }

      switch (errno)
        {
        case EAGAIN:
#if EAGAIN != EWOULDBLOCK
        case EWOULDBLOCK:
#endif
          /* Nothing left, or a sibling worker took it. */
          return G_SOURCE_CONTINUE;

        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case EPERM:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
          continue;

        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
          g_printerr ("cohort-demo-worker: accept: %s; pausing\n", g_strerror (errno));
          server->listen_id = 0;
          server->retry_id = g_timeout_add (ACCEPT_RETRY_MS, on_accept_retry, server);
          return G_SOURCE_REMOVE;

        default:
          g_printerr ("cohort-demo-worker: accept: %s\n", g_strerror (errno));
          server->listen_id = 0;
          server->exit_status = 1;
          g_main_loop_quit (server->loop);
          return G_SOURCE_REMOVE;
        }
    }

  /* At the cap: stop accepting until a connection closes. */
  server->listen_id = 0;
  return G_SOURCE_REMOVE;
}

static void
server_resume_accepting (Server *server)
{
  if (server->stopping
      || server->listen_fd < 0
      || server->listen_id != 0
      || server->retry_id != 0
      || server->connections.length >= MAX_CONNECTIONS)
    return;

  server->listen_id = g_unix_fd_add (server->listen_fd, G_IO_IN, on_listen_ready, server);
}

static gboolean
is_listening_socket (int fd)
{
  struct stat st;
  int accepting = 0;
  socklen_t len = sizeof accepting;

  if (fstat (fd, &st) < 0 || !S_ISSOCK (st.st_mode))
    return FALSE;
  if (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0)
    return FALSE;

  return accepting != 0;
}

static gboolean
socket_activated (void)
{
  const char *fds = g_getenv ("LISTEN_FDS");
  const char *pid = g_getenv ("LISTEN_PID");
  gint64 value;

  if (g_strcmp0 (fds, "1") != 0 || pid == NULL)
    return FALSE;
  if (!g_ascii_string_to_signed (pid, 10, 1, G_MAXINT64, &value, NULL))
    return FALSE;

  return value == (gint64) getpid ();
}

/* Returns the listening descriptor, or -1 after printing why not. */
static int
open_listener (int port)
{
  struct sockaddr_in addr;
  int one = 1;
  int fd;

  if (socket_activated ())
    {
      int flags;

      if (!is_listening_socket (LISTEN_FD))
        {
          g_printerr ("cohort-demo-worker: fd %d (LISTEN_FDS) is not a listening socket\n",
                      LISTEN_FD);
          return -1;
        }
      /* Shared with siblings: never block in accept(). */
      flags = fcntl (LISTEN_FD, F_GETFL);
      if (flags < 0 || fcntl (LISTEN_FD, F_SETFL, flags | O_NONBLOCK) < 0
          || fcntl (LISTEN_FD, F_SETFD, FD_CLOEXEC) < 0)
        {
          g_printerr ("cohort-demo-worker: fd %d: %s\n", LISTEN_FD, g_strerror (errno));
          return -1;
        }
      return LISTEN_FD;
    }

  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    {
      g_printerr ("cohort-demo-worker: socket: %s\n", g_strerror (errno));
      return -1;
    }
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);

  memset (&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons ((guint16) port);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);

  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0
      || listen (fd, SOMAXCONN) < 0)
    {
      g_printerr ("cohort-demo-worker: cannot listen on 127.0.0.1:%d: %s\n",
                  port, g_strerror (errno));
      close (fd);
      return -1;
    }

  return fd;
}

static char *
describe_address (int fd)
{
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  char host[INET6_ADDRSTRLEN];

  memset (&addr, 0, sizeof addr);
  if (getsockname (fd, (struct sockaddr *) &addr, &len) < 0)
    return g_strdup ("?");

  switch (addr.ss_family)
    {
    case AF_INET:
      {
        struct sockaddr_in *in = (struct sockaddr_in *) &addr;

        inet_ntop (AF_INET, &in->sin_addr, host, sizeof host);
        return g_strdup_printf ("%s:%u", host, ntohs (in->sin_port));
      }

    case AF_INET6:
      {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &addr;

        inet_ntop (AF_INET6, &in6->sin6_addr, host, sizeof host);
        return g_strdup_printf ("[%s]:%u", host, ntohs (in6->sin6_port));
      }

    case AF_UNIX:
      {
        struct sockaddr_un *un = (struct sockaddr_un *) &addr;

        if (len > offsetof (struct sockaddr_un, sun_path) && un->sun_path[0] != '\0')
          return g_strdup_printf ("unix:%.*s",
                                  (int) (len - offsetof (struct sockaddr_un, sun_path)),
                                  un->sun_path);
        return g_strdup ("unix:(unnamed)");
      }

    default:
      return g_strdup_printf ("(address family %d)", addr.ss_family);
    }
}

/* ---------------------------------------------------------------------- */
/* Stopping                                                               */
/* ---------------------------------------------------------------------- */

static gboolean
on_grace_expired (gpointer user_data)
{
  Server *server = user_data;

  server->grace_id = 0;
  g_main_loop_quit (server->loop);

  return G_SOURCE_REMOVE;
}

/* Stops accepting; quits once the connections are done (or after the grace
 * period).  Does nothing if already stopping. */
static void
server_stop (Server *server)
{
  if (server->stopping)
    return;

  server->stopping = TRUE;
  g_clear_handle_id (&server->listen_id, g_source_remove);
  g_clear_handle_id (&server->retry_id, g_source_remove);
  /* Only our reference: siblings sharing the socket keep serving. */
  if (server->listen_fd >= 0)
    {
      close (server->listen_fd);
      server->listen_fd = -1;
    }

  if (server->connections.length == 0)
    g_main_loop_quit (server->loop);
  else
    server->grace_id = g_timeout_add (SHUTDOWN_GRACE_MS, on_grace_expired, server);
}

static gboolean
on_stop_signal (gpointer user_data)
{
  Server *server = user_data;

  if (server->stopping)
    {
      /* A second request (after a signal or a "shutdown" message): do not
       * wait for the stragglers. */
      g_main_loop_quit (server->loop);
      return G_SOURCE_CONTINUE;
    }

  server_stop (server);

  return G_SOURCE_CONTINUE;
}

/* ---------------------------------------------------------------------- */
/* The message channel                                                    */
/* ---------------------------------------------------------------------- */

static void     channel_close      (Server   *server);
static gboolean on_channel_out     (int          fd,
                                    GIOCondition condition,
                                    gpointer     user_data);

/* Writes what is pending; watches for room if the peer is slow.  Returns
 * FALSE if the channel was closed (peer gone). */
static gboolean
channel_flush (Server *server)
{
  GString *out = server->channel_out;

  while (server->channel_out_sent < out->len)
    {
      ssize_t n = send (server->channel_fd,
                        out->str + server->channel_out_sent,
                        out->len - server->channel_out_sent,
                        MSG_NOSIGNAL | MSG_DONTWAIT);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            {
              if (server->channel_out_id == 0)
                server->channel_out_id = g_unix_fd_add (server->channel_fd, G_IO_OUT,
                                                        on_channel_out, server);
              return TRUE;
            }
          if (errno != EPIPE && errno != ECONNRESET)
            g_printerr ("cohort-demo-worker: channel: %s\n", g_strerror (errno));
          channel_close (server);
          return FALSE;
        }
      server->channel_out_sent += (gsize) n;
    }

  g_string_truncate (out, 0);
  server->channel_out_sent = 0;
  server->channel_out_full = FALSE;
  g_clear_handle_id (&server->channel_out_id, g_source_remove);

  return TRUE;
}

static gboolean
on_channel_out (int          fd,
                GIOCondition condition,
                gpointer     user_data)
{
  Server *server = user_data;
  guint id = server->channel_out_id;

  if (!channel_flush (server))
    return G_SOURCE_REMOVE;         /* channel_close() removed this source */

  /* channel_flush() clears channel_out_id once everything is written;
   * it has then removed this very source already. */
  return server->channel_out_id == id ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Sends NODE as one line; takes NODE.  Messages are whole or not at all. */
static void
channel_send (Server   *server,
              JsonNode *node)
{
  g_autofree char *text = NULL;
  gsize len;

  if (server->channel_fd < 0)
    {
      json_node_unref (node);
      return;
    }

  text = json_to_string (node, FALSE);
  json_node_unref (node);
  len = strlen (text);

  if (len > CHANNEL_LINE_MAX)
    {
      g_printerr ("cohort-demo-worker: channel: not sending a %" G_GSIZE_FORMAT
                  "-byte message (over 1 MiB)\n", len);
      return;
    }
  if (server->channel_out->len + len + 1 > CHANNEL_OUT_MAX)
    {
      if (!server->channel_out_full)
        g_printerr ("cohort-demo-worker: channel: the peer is not reading; "
                    "dropping messages\n");
      server->channel_out_full = TRUE;
      return;
    }

  g_string_append_len (server->channel_out, text, (gssize) len);
  g_string_append_c (server->channel_out, '\n');
  if (server->channel_out_id == 0)
    channel_flush (server);
}

/* COHORT_WORKER_ID as a JSON number when it is one, else as a string. */
static void
builder_add_worker_id (JsonBuilder *builder,
                       const char  *id)
{
  gint64 value;

  json_builder_set_member_name (builder, "worker");
  if (g_ascii_string_to_signed (id, 10, 0, G_MAXINT32, &value, NULL))
    json_builder_add_int_value (builder, value);
  else
    json_builder_add_string_value (builder, id);
}

static void
channel_send_string (Server     *server,
                     const char *value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (node, value);
  channel_send (server, node);
}

static void
channel_send_requests (Server *server)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "requests");
  json_builder_add_int_value (builder, (gint64) MIN (server->requests, (guint64) G_MAXINT64));
  json_builder_end_object (builder);
  channel_send (server, json_builder_get_root (builder));
}

static void
channel_send_stats (Server *server)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  json_builder_begin_object (builder);
  builder_add_worker_id (builder, server->id);
  json_builder_set_member_name (builder, "requests");
  json_builder_add_int_value (builder, (gint64) MIN (server->requests, (guint64) G_MAXINT64));
  json_builder_set_member_name (builder, "uptime_ms");
  json_builder_add_int_value (builder, (g_get_monotonic_time () - server->started) / 1000);
  json_builder_end_object (builder);
  channel_send (server, json_builder_get_root (builder));
}

/* json-glib writes a non-finite double as "inf.0"/"nan.0": not JSON. */
static gboolean
node_is_finite (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_VALUE:
      return json_node_get_value_type (node) != G_TYPE_DOUBLE
             || isfinite (json_node_get_double (node));

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          if (!node_is_finite (json_array_get_element (array, i)))
            return FALSE;
        return TRUE;
      }

    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, &name, &member))
          if (!node_is_finite (member))
            return FALSE;
        return TRUE;
      }

    case JSON_NODE_NULL:
    default:
      return TRUE;
    }
}

static void
channel_send_pong (Server   *server,
                   JsonNode *value)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "pong");
  json_builder_add_value (builder, json_node_copy (value));
  builder_add_worker_id (builder, server->id);
  json_builder_end_object (builder);
  channel_send (server, json_builder_get_root (builder));
}

/* json-glib's parser recurses once per level: bound the nesting before
 * handing it a line, so that "[[[[..." cannot overflow the stack. */
static gboolean
json_depth_ok (const char *line,
               gsize       len)
{
  gboolean in_string = FALSE;
  gboolean escaped = FALSE;
  guint depth = 0;

  for (gsize i = 0; i < len; i++)
    {
      char c = line[i];

      if (in_string)
        {
          if (escaped)
            escaped = FALSE;
          else if (c == '\\')
            escaped = TRUE;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          if (++depth > CHANNEL_DEPTH_MAX)
            return FALSE;
        }
      else if ((c == ']' || c == '}') && depth > 0)
        depth--;
    }

  return TRUE;
}

static void
channel_handle_line (Server     *server,
                     const char *line,
                     gsize       len)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  if (!g_utf8_validate_len (line, len, NULL))
    {
      g_printerr ("cohort-demo-worker: channel: dropped a line that is not UTF-8\n");
      return;
    }
  if (!json_depth_ok (line, len))
    {
      g_printerr ("cohort-demo-worker: channel: dropped a line nested over %d levels\n",
                  CHANNEL_DEPTH_MAX);
      return;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, line, (gssize) len, &error))
    {
      g_printerr ("cohort-demo-worker: channel: dropped a line that is not JSON: %s\n",
                  error->message);
      return;
    }
  root = json_parser_get_root (parser);
  if (root == NULL)
    return;                         /* a blank line */

  if (JSON_NODE_HOLDS_VALUE (root) && json_node_get_value_type (root) == G_TYPE_STRING)
    {
      const char *message = json_node_get_string (root);

      if (strcmp (message, "shutdown") == 0)
        server_stop (server);
      else if (strcmp (message, "stats") == 0)
        channel_send_stats (server);
    }
  else if (JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonNode *ping = json_object_get_member (json_node_get_object (root), "ping");

      if (ping != NULL)
        {
          if (node_is_finite (ping))
            channel_send_pong (server, ping);
          else
            g_printerr ("cohort-demo-worker: channel: not answering a ping with a "
                        "number JSON cannot hold\n");
        }
    }
}

/* Splits DATA into lines, completing the one in progress; drops (with a
 * note) any line over CHANNEL_LINE_MAX. */
static void
channel_feed (Server     *server,
              const char *data,
              gsize       len)
{
  const char *p = data;
  const char *end = data + len;

  while (p < end && server->channel_fd >= 0)
    {
      const char *nl = memchr (p, '\n', (gsize) (end - p));
      gsize seg = (gsize) ((nl != NULL ? nl : end) - p);
      GString *in = server->channel_in;

      if (server->channel_discarding)
        {
          if (nl != NULL)
            server->channel_discarding = FALSE;
        }
      else if (in->len + seg > CHANNEL_LINE_MAX)
        {
          g_printerr ("cohort-demo-worker: channel: dropped a line over 1 MiB\n");
          g_string_truncate (in, 0);
          server->channel_discarding = nl == NULL;
        }
      else if (nl != NULL && in->len == 0)
        {
          /* The whole line is in DATA: no copy. */
          channel_handle_line (server, p, seg);
        }
      else
        {
          g_string_append_len (in, p, (gssize) seg);
          if (nl != NULL)
            {
              channel_handle_line (server, in->str, in->len);
              g_string_truncate (in, 0);
            }
        }

      p = nl != NULL ? nl + 1 : end;
    }
}

static gboolean
on_channel_in (int          fd,
               GIOCondition condition,
               gpointer     user_data)
{
  Server *server = user_data;
  char buf[CHANNEL_READ_CHUNK];
  ssize_t n;

  /* One read per dispatch: requests get their turn however fast Cohort writes. */
  n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0)
    {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
        return G_SOURCE_CONTINUE;
      if (errno != ECONNRESET)
        g_printerr ("cohort-demo-worker: channel: %s\n", g_strerror (errno));
      n = 0;
    }
  if (n == 0)
    {
      /* Cohort is gone (or closed the channel): keep serving without it. */
      server->channel_in_id = 0;
      channel_close (server);
      return G_SOURCE_REMOVE;
    }

  channel_feed (server, buf, (gsize) n);

  /* A failed write inside may have closed the channel and removed us. */
  return server->channel_in_id != 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
on_heartbeat (gpointer user_data)
{
  Server *server = user_data;

  channel_send_requests (server);

  return server->heartbeat_id != 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
channel_close (Server *server)
{
  if (server->channel_fd < 0)
    return;

  g_clear_handle_id (&server->channel_in_id, g_source_remove);
  g_clear_handle_id (&server->channel_out_id, g_source_remove);
  g_clear_handle_id (&server->heartbeat_id, g_source_remove);
  close (server->channel_fd);
  server->channel_fd = -1;
  g_string_truncate (server->channel_in, 0);
  g_string_truncate (server->channel_out, 0);
  server->channel_out_sent = 0;
}

/* Takes up COHORT_CHANNEL_FD if it names a socket; warns and goes on
 * without a channel otherwise. */
static void
channel_open (Server *server)
{
  const char *value = g_getenv ("COHORT_CHANNEL_FD");
  struct stat st;
  gint64 fd;
  int flags;

  server->channel_fd = -1;
  server->channel_in = g_string_new (NULL);
  server->channel_out = g_string_new (NULL);

  if (value == NULL)
    return;
  if (!g_ascii_string_to_signed (value, 10, 0, G_MAXINT, &fd, NULL)
      || fstat ((int) fd, &st) < 0 || !S_ISSOCK (st.st_mode))
    {
      g_printerr ("cohort-demo-worker: COHORT_CHANNEL_FD=%s is not a socket; "
                  "no channel\n", value);
      return;
    }

  flags = fcntl ((int) fd, F_GETFL);
  if (flags < 0 || fcntl ((int) fd, F_SETFL, flags | O_NONBLOCK) < 0
      || fcntl ((int) fd, F_SETFD, FD_CLOEXEC) < 0)
    {
      g_printerr ("cohort-demo-worker: channel fd %d: %s; no channel\n",
                  (int) fd, g_strerror (errno));
      return;
    }

  server->channel_fd = (int) fd;
  server->channel_in_id = g_unix_fd_add (server->channel_fd, G_IO_IN,
                                         on_channel_in, server);
  server->heartbeat_id = g_timeout_add_seconds (HEARTBEAT_SECONDS, on_heartbeat, server);
}

/* ---------------------------------------------------------------------- */

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;
  gboolean serve = FALSE;
  int port = 8080;
  const char *id;
  Server server = { 0 };
  guint sigterm_id;
  guint sigint_id;
  GOptionEntry entries[] = {
    { "serve", 0, 0, G_OPTION_ARG_NONE, &serve,
      "Serve HTTP (required)", NULL },
    { "port", 'p', 0, G_OPTION_ARG_INT, &port,
      "Port to bind on 127.0.0.1 when no socket is passed (default 8080)", "N" },
    G_OPTION_ENTRY_NULL
  };

  setlocale (LC_ALL, "");
  /* stdout is usually a pipe to Cohort: one line per request, promptly. */
  setvbuf (stdout, NULL, _IOLBF, 0);
  signal (SIGPIPE, SIG_IGN);

  context = g_option_context_new ("- demo HTTP worker for Cohort");
  g_option_context_set_summary (context,
    "A small HTTP server for Cohort's demo profile.\n"
    "\n"
    "Serves on fd 3 when LISTEN_FDS=1 and LISTEN_PID is this process\n"
    "(a socket shared by sibling workers), or else on 127.0.0.1:PORT.\n"
    "\n"
    "Routes:\n"
    "  GET /            hello from this worker\n"
    "  GET /work?ms=N   burn N ms of CPU (at most 5000), then answer\n"
    "  GET /health      ok\n"
    "\n"
    "Identifies itself by COHORT_WORKER_ID. SIGTERM or SIGINT stops it\n"
    "gracefully: in-flight requests get up to 2 seconds.\n"
    "\n"
    "Channel: when COHORT_CHANNEL_FD names a socket (Cohort's message channel),\n"
    "it speaks newline-delimited JSON there:\n"
    "  sends \"ready\" once listening, and {\"requests\": N} every 10 seconds;\n"
    "  \"shutdown\"      stops gracefully, like SIGTERM\n"
    "  {\"ping\": X}     answers {\"pong\": X, \"worker\": ID}\n"
    "  \"stats\"         answers {\"worker\": ID, \"requests\": N, \"uptime_ms\": T}\n"
    "If the channel closes, it keeps serving.");
  g_option_context_add_main_entries (context, entries, NULL);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("cohort-demo-worker: %s\nTry 'cohort-demo-worker --help'.\n",
                  error->message);
      return EXIT_USAGE;
    }
  if (argc > 1)
    {
      g_printerr ("cohort-demo-worker: unexpected argument '%s'\n"
                  "Try 'cohort-demo-worker --help'.\n", argv[1]);
      return EXIT_USAGE;
    }
  if (!serve)
    {
      g_printerr ("cohort-demo-worker: nothing to do: pass --serve\n"
                  "Try 'cohort-demo-worker --help'.\n");
      return EXIT_USAGE;
    }
  if (port < 0 || port > 65535)
    {
      g_printerr ("cohort-demo-worker: --port must be in 0..65535, not %d\n", port);
      return EXIT_USAGE;
    }

  id = g_getenv ("COHORT_WORKER_ID");
  if (id == NULL || *id == '\0')
    id = "0";

  server.id = id;
  server.pid = (long) getpid ();
  server.started = g_get_monotonic_time ();
  g_queue_init (&server.connections);
  server.listen_fd = open_listener (port);
  if (server.listen_fd < 0)
    return 1;

  address = describe_address (server.listen_fd);
  printf ("worker %s (pid %ld) serving on %s\n", server.id, server.pid, address);
  fflush (stdout);

  server.loop = g_main_loop_new (NULL, FALSE);
  sigterm_id = g_unix_signal_add (SIGTERM, on_stop_signal, &server);
  sigint_id = g_unix_signal_add (SIGINT, on_stop_signal, &server);
  server_resume_accepting (&server);

  /* Listening: tell Cohort (if there is a channel). */
  channel_open (&server);
  channel_send_string (&server, "ready");

  g_main_loop_run (server.loop);

  server.stopping = TRUE;
  while (server.connections.head != NULL)
    connection_close (server.connections.head->data);
  g_clear_handle_id (&server.listen_id, g_source_remove);
  g_clear_handle_id (&server.retry_id, g_source_remove);
  g_clear_handle_id (&server.grace_id, g_source_remove);
  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);
  channel_close (&server);
  g_string_free (server.channel_in, TRUE);
  g_string_free (server.channel_out, TRUE);
  if (server.listen_fd >= 0)
    close (server.listen_fd);
  g_main_loop_unref (server.loop);

  printf ("worker %s stopping\n", server.id);
  fflush (stdout);

  return server.exit_status;
}
