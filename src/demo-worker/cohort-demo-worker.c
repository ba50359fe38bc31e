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

static gboolean
on_stop_signal (gpointer user_data)
{
  Server *server = user_data;

  if (server->stopping)
    {
      /* A second signal: do not wait for the stragglers. */
      g_main_loop_quit (server->loop);
      return G_SOURCE_CONTINUE;
    }

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

  return G_SOURCE_CONTINUE;
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
    "gracefully: in-flight requests get up to 2 seconds.");
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

  g_main_loop_run (server.loop);

  server.stopping = TRUE;
  while (server.connections.head != NULL)
    connection_close (server.connections.head->data);
  g_clear_handle_id (&server.listen_id, g_source_remove);
  g_clear_handle_id (&server.retry_id, g_source_remove);
  g_clear_handle_id (&server.grace_id, g_source_remove);
  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);
  if (server.listen_fd >= 0)
    close (server.listen_fd);
  g_main_loop_unref (server.loop);

  printf ("worker %s stopping\n", server.id);
  fflush (stdout);

  return server.exit_status;
}
