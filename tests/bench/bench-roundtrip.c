/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-roundtrip.c: message round trips per second between a parent and
 * one echo worker, ping-pong (one message in flight at a time).
 *
 *   --peer cohort  (default) the real engine: a profile file, a supervisor,
 *                  one process worker, the message prepared once
 *                  (cohort_message_prepare()) and sent with
 *                  cohort_worker_send_prepared(), the echo taken from the
 *                  worker's "message" signal, driven by the GLib main loop
 *   --peer cohort-tree  the same, but the message is a JsonNode that
 *                  cohort_worker_send() serializes at every send
 *   --peer raw     the floor: a bare socketpair, the worker spawned with
 *                  fork/exec and the channel variables, blocking write()
 *                  and read(), no main loop, no JSON parsing
 *   --peer raw-poll  the same, but each read waits in poll() first, as
 *                  any event loop waits (GLib's, Node's libuv, Python's
 *                  asyncio): the floor of a manager that must not block on
 *                  one worker. Measured apart because on this VM, with the
 *                  two processes on different CPUs, a 64 KiB round trip
 *                  waited for in poll() is a sixth slower than one waited
 *                  for in read(), in a bare C program too
 *   --peer raw-epoll  the same, waiting in epoll_wait() (the socket added
 *                  once) instead of poll(): libuv's and asyncio's way, to
 *                  tell whether the other wait of event loops does better
 *
 *   --worker node  node tests/fixtures/node-worker.js echo ({"echo": M})
 *   --worker c     cohort-test-worker --channel-echo ({"echo":L})
 *
 * The message is the JSON object {"p":"xxx…"}, --size bytes serialized (at
 * least 8). The next one is sent from the handler of the previous echo.
 * After a warm-up, the round trips completed in --seconds are counted; the
 * result is one line of JSON on stdout:
 *
 *   {"peer":"cohort","worker":"node","size":50,"roundtrips":N,
 *    "seconds":S,"per_second":X,"cpu_seconds":C,"cpu_us_per_roundtrip":U}
 *
 * "seconds" is the measured interval (a hair over --seconds); cpu_* is this
 * process's own user+system time over that interval (the worker's is not
 * included). Every echo is checked by its length (the byte counts of the
 * engine, or the line read): a wrong echo is an error, exit 1. */

#include "config.h"

#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"
#include "cohort-cluster.h"
#include "cohort-process-worker.h"
#include "cohort-supervisor.h"
#include "cohort-worker.h"

#define WARMUP_US       (G_USEC_PER_SEC / 2)

static char   *opt_peer = NULL;
static char   *opt_worker = NULL;
static gint    opt_size = 50;
static double  opt_seconds = 3.0;
static double  opt_warmup = 0.5;
static char   *opt_node = NULL;
static char   *opt_script = NULL;
static char   *opt_c_worker = NULL;

static GOptionEntry entries[] = {
  { "peer", 0, 0, G_OPTION_ARG_STRING, &opt_peer, "cohort (default), cohort-tree, raw, raw-poll or raw-epoll", "PEER" },
  { "worker", 0, 0, G_OPTION_ARG_STRING, &opt_worker, "node (default) or c", "KIND" },
  { "size", 0, 0, G_OPTION_ARG_INT, &opt_size, "message size in bytes, serialized (default 50)", "BYTES" },
  { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_seconds, "measured interval (default 3)", "S" },
  { "warmup", 0, 0, G_OPTION_ARG_DOUBLE, &opt_warmup, "warm-up before it (default 0.5)", "S" },
  { "node", 0, 0, G_OPTION_ARG_FILENAME, &opt_node, "the node program (default: node in PATH)", "PATH" },
  { "script", 0, 0, G_OPTION_ARG_FILENAME, &opt_script, "node-worker.js", "PATH" },
  { "c-worker", 0, 0, G_OPTION_ARG_FILENAME, &opt_c_worker, "cohort-test-worker", "PATH" },
  { NULL }
};

/* {"p":"xxx…"}: 8 bytes of frame, the rest 'x'. */
static char *
make_message (gsize size)
{
  gsize n = size > 8 ? size - 8 : 0;
  GString *text = g_string_sized_new (n + 9);

  g_string_append (text, "{\"p\":\"");
  for (gsize i = 0; i < n; i++)
    g_string_append_c (text, 'x');
  g_string_append (text, "\"}");
  return g_string_free (text, FALSE);
}

/* The worker's argv; NULL with a message on stderr when something is missing. */
static GStrv
worker_argv (void)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  if (g_str_equal (opt_worker, "node"))
    {
      g_autofree char *node = opt_node != NULL ? g_strdup (opt_node) : g_find_program_in_path ("node");

      if (node == NULL || opt_script == NULL)
        {
          g_printerr ("bench-roundtrip: --worker node needs node in PATH (or --node) and --script\n");
          return NULL;
        }
      g_strv_builder_add_many (builder, node, opt_script, "echo", NULL);
    }
  else if (g_str_equal (opt_worker, "c"))
    {
      if (opt_c_worker == NULL)
        {
          g_printerr ("bench-roundtrip: --worker c needs --c-worker\n");
          return NULL;
        }
      g_strv_builder_add_many (builder, opt_c_worker, "--channel-echo", NULL);
    }
  else
    {
      g_printerr ("bench-roundtrip: --worker is node or c, not %s\n", opt_worker);
      return NULL;
    }
  return g_strv_builder_end (builder);
}

static void
print_result (guint64 roundtrips,
              double  seconds,
              double  cpu)
{
  char buf[4][G_ASCII_DTOSTR_BUF_SIZE];

  g_print ("{\"peer\":\"%s\",\"worker\":\"%s\",\"size\":%d,\"roundtrips\":%" G_GUINT64_FORMAT
           ",\"seconds\":%s,\"per_second\":%s,\"cpu_seconds\":%s,\"cpu_us_per_roundtrip\":%s}\n",
           opt_peer, opt_worker, opt_size, roundtrips,
           g_ascii_formatd (buf[0], sizeof buf[0], "%.4f", seconds),
           g_ascii_formatd (buf[1], sizeof buf[1], "%.1f", roundtrips / seconds),
           g_ascii_formatd (buf[2], sizeof buf[2], "%.4f", cpu),
           g_ascii_formatd (buf[3], sizeof buf[3], "%.2f",
                            roundtrips > 0 ? cpu * 1e6 / roundtrips : 0.0));
}

/* ---- Cohort ------------------------------------------------------------ */

typedef struct
{
  CohortWorker *worker;
  JsonNode     *message;
  CohortPreparedMessage *prepared;  /* NULL: serialize at every send */
  gint64        warmup_us;
  gint64        measure_us;

  gint64        phase_start;
  gboolean      measuring;
  gboolean      done;
  guint64       echoes;        /* every echo, warm-up included */
  guint64       roundtrips;    /* those of the measured interval */
  gint64        elapsed_us;
  double        cpu_start;
  double        cpu;
  GError       *error;
} Bench;

static void
send_next (Bench *b)
{
  gboolean sent = b->prepared != NULL
                  ? cohort_worker_send_prepared (b->worker, b->prepared, &b->error)
                  : cohort_worker_send (b->worker, b->message, &b->error);

  if (!sent)
    b->done = TRUE;
}

static void
message_cb (CohortWorker        *worker,
            const CohortMessage *message,
            gpointer             data)
{
  Bench *b = data;
  gint64 now;

  if (message->outgoing || b->done)
    return;

  now = g_get_monotonic_time ();
  b->echoes++;
  if (!b->measuring)
    {
      if (now - b->phase_start >= b->warmup_us)
        {
          b->measuring = TRUE;
          b->phase_start = now;
          b->cpu_start = bench_cpu_seconds ();
        }
    }
  else
    {
      b->roundtrips++;
      if (now - b->phase_start >= b->measure_us)
        {
          b->elapsed_us = now - b->phase_start;
          b->cpu = bench_cpu_seconds () - b->cpu_start;
          b->done = TRUE;
          return;
        }
    }
  send_next (b);
}

static gboolean
worker_online (gpointer data)
{
  CohortWorker *w = data;
  CohortWorkerState state = cohort_worker_get_state (w);

  return state == COHORT_WORKER_STATE_ONLINE || state == COHORT_WORKER_STATE_ERRORED ||
         state == COHORT_WORKER_STATE_EXITED || state == COHORT_WORKER_STATE_KILLED;
}

static gboolean
bench_done (gpointer data)
{
  return ((Bench *) data)->done;
}

static int
run_cohort (const char *message_text,
            gboolean    prepare)
{
  g_auto(GStrv) argv = worker_argv ();
  g_autoptr(GError) error = NULL;
  g_autofree char *command = NULL;
  g_autofree char *profile_text = NULL;
  g_autoptr(CohortSupervisor) supervisor = NULL;
  g_autoptr(CohortCluster) cluster = NULL;
  CohortWorker *worker;
  Bench b = { 0 };
  gsize length = strlen (message_text);
  guint64 bytes_in_start;
  guint64 bad_start;
  guint64 expected_bytes;
  gulong handler;
  int status = 0;

  if (argv == NULL)
    return 2;

  for (guint i = 0; argv[i] != NULL; i++)
    {
      g_autofree char *quoted = g_shell_quote (argv[i]);
      char *joined = command == NULL ? g_strdup (quoted) : g_strconcat (command, " ", quoted, NULL);

      g_free (command);
      command = joined;
    }

  profile_text = g_strdup_printf ("[Profile]\nName=Bench\n\n"
                                  "[Cluster bench]\nCommand=%s\nStopMessage=\n", command);
  supervisor = bench_start_supervisor ("bench-roundtrip", profile_text);
  if (supervisor == NULL)
    return 2;
  cluster = g_list_model_get_item (cohort_supervisor_get_clusters (supervisor), 0);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  bench_iterate_until (worker_online, worker, BENCH_STARTUP_TIMEOUT);
  if (cohort_worker_get_state (worker) != COHORT_WORKER_STATE_ONLINE)
    {
      g_printerr ("bench-roundtrip: the worker is %s, not online (%s)\n",
                  cohort_worker_state_to_string (cohort_worker_get_state (worker)),
                  cohort_worker_get_reason (worker) ? cohort_worker_get_reason (worker) : "");
      status = 2;
      goto out;
    }

  b.worker = worker;
  b.message = json_from_string (message_text, &error);
  g_assert_no_error (error);
  if (prepare)
    {
      b.prepared = cohort_message_prepare (b.message, &error);
      g_assert_no_error (error);
    }
  b.warmup_us = (gint64) (opt_warmup * G_USEC_PER_SEC);
  b.measure_us = (gint64) (opt_seconds * G_USEC_PER_SEC);
  bytes_in_start = cohort_worker_get_bytes_in (worker);
  bad_start = cohort_worker_get_bad_messages (worker);

  handler = g_signal_connect (worker, "message::received", G_CALLBACK (message_cb), &b);
  b.phase_start = g_get_monotonic_time ();
  send_next (&b);
  bench_iterate_until (bench_done, &b,
                 b.warmup_us + b.measure_us + 30 * G_USEC_PER_SEC);
  g_signal_handler_disconnect (worker, handler);

  if (b.error != NULL)
    {
      g_printerr ("bench-roundtrip: send: %s\n", b.error->message);
      status = 1;
      goto out;
    }
  if (!b.done || b.roundtrips == 0)
    {
      g_printerr ("bench-roundtrip: no echo for too long (%" G_GUINT64_FORMAT " echoes; worker %s)\n",
                  b.echoes, cohort_worker_state_to_string (cohort_worker_get_state (worker)));
      status = 1;
      goto out;
    }

  /* {"echo":M} and its newline, for each. */
  expected_bytes = b.echoes * (length + 10);
  if (cohort_worker_get_bytes_in (worker) - bytes_in_start != expected_bytes ||
      cohort_worker_get_bad_messages (worker) != bad_start)
    {
      g_printerr ("bench-roundtrip: wrong echoes: %" G_GUINT64_FORMAT " bytes in for %" G_GUINT64_FORMAT
                  " echoes (expected %" G_GUINT64_FORMAT "), %" G_GUINT64_FORMAT " bad\n",
                  cohort_worker_get_bytes_in (worker) - bytes_in_start, b.echoes, expected_bytes,
                  cohort_worker_get_bad_messages (worker) - bad_start);
      status = 1;
      goto out;
    }

  print_result (b.roundtrips, b.elapsed_us / (double) G_USEC_PER_SEC, b.cpu);

out:
  g_clear_pointer (&b.message, json_node_unref);
  g_clear_pointer (&b.prepared, cohort_prepared_message_unref);
  g_clear_error (&b.error);
  bench_stop_supervisor ("bench-roundtrip", supervisor);
  return status;
}

/* ---- raw --------------------------------------------------------------- */

static gboolean
write_all (int         fd,
           const char *data,
           gsize       length)
{
  while (length > 0)
    {
      ssize_t n = write (fd, data, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      length -= n;
    }
  return TRUE;
}

typedef enum
{
  WAIT_IN_READ,          /* block in read() */
  WAIT_IN_POLL,          /* wait in poll(), then read() */
  WAIT_IN_EPOLL,         /* wait in epoll_wait(), then read() */
} Wait;

typedef struct
{
  int     fd;
  Wait    wait;
  int     epoll_fd;      /* WAIT_IN_EPOLL: the socket added, for input */
  char   *buf;
  gsize   cap;
  gsize   start;
  gsize   end;
} Reader;

/* One line (without its newline) into *length; FALSE at EOF or error. */
static const char *
read_line (Reader *r,
           gsize  *length)
{
  for (;;)
    {
      char *newline = memchr (r->buf + r->start, '\n', r->end - r->start);
      ssize_t n;

      if (newline != NULL)
        {
          const char *line = r->buf + r->start;

          *length = newline - line;
          r->start = newline + 1 - r->buf;
          return line;
        }
      if (r->start > 0)
        {
          memmove (r->buf, r->buf + r->start, r->end - r->start);
          r->end -= r->start;
          r->start = 0;
        }
      if (r->end == r->cap)
        {
          r->cap *= 2;
          r->buf = g_realloc (r->buf, r->cap);
        }
      if (r->wait == WAIT_IN_POLL)
        {
          struct pollfd p = { r->fd, POLLIN, 0 };

          if (poll (&p, 1, -1) < 0 && errno != EINTR)
            return NULL;
          if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        }
      else if (r->wait == WAIT_IN_EPOLL)
        {
          struct epoll_event event;
          int n_events = epoll_wait (r->epoll_fd, &event, 1, -1);

          if (n_events < 0 && errno != EINTR)
            return NULL;
          if (n_events <= 0)
            continue;
        }
      n = read (r->fd, r->buf + r->end, r->cap - r->end);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return NULL;
      r->end += n;
    }
}

static int
run_raw (const char *message_text,
         Wait        wait)
{
  g_auto(GStrv) argv = worker_argv ();
  g_auto(GStrv) envp = NULL;
  g_autofree char *line = NULL;
  gsize length = strlen (message_text);
  Reader r = { -1, wait, -1, NULL, 256 * 1024, 0, 0 };
  int pair[2];
  pid_t pid;
  gint64 start, now = 0, deadline;
  guint64 roundtrips = 0;
  double cpu_start = 0, cpu = 0;
  gboolean measuring = FALSE;
  int status = 0;
  int wstatus;

  if (argv == NULL)
    return 2;

  envp = g_get_environ ();
  envp = g_environ_setenv (envp, "COHORT_CHANNEL_FD", "3", TRUE);
  envp = g_environ_setenv (envp, "COHORT_WORKER_ID", "0", TRUE);
  if (g_str_equal (opt_worker, "node"))
    {
      envp = g_environ_setenv (envp, "NODE_CHANNEL_FD", "3", TRUE);
      envp = g_environ_setenv (envp, "NODE_CHANNEL_SERIALIZATION_MODE", "json", TRUE);
    }

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    {
      g_printerr ("bench-roundtrip: socketpair: %s\n", g_strerror (errno));
      return 2;
    }

  pid = fork ();
  if (pid < 0)
    {
      g_printerr ("bench-roundtrip: fork: %s\n", g_strerror (errno));
      return 2;
    }
  if (pid == 0)
    {
      prctl (PR_SET_PDEATHSIG, SIGTERM);
      if (dup2 (pair[1], 3) < 0)
        _exit (127);
      execve (argv[0], argv, envp);
      _exit (127);
    }
  close (pair[1]);

  line = g_strconcat (message_text, "\n", NULL);
  r.fd = pair[0];
  if (wait == WAIT_IN_EPOLL)
    {
      struct epoll_event event = { .events = EPOLLIN, .data.fd = r.fd };

      r.epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
      if (r.epoll_fd < 0 || epoll_ctl (r.epoll_fd, EPOLL_CTL_ADD, r.fd, &event) != 0)
        {
          g_printerr ("bench-roundtrip: epoll: %s\n", g_strerror (errno));
          kill (pid, SIGKILL);
          waitpid (pid, NULL, 0);
          return 2;
        }
    }
  r.buf = g_malloc (r.cap);
  start = g_get_monotonic_time ();

  for (;;)
    {
      const char *echo;
      gsize echo_length;

      if (!write_all (pair[0], line, length + 1) ||
          (echo = read_line (&r, &echo_length)) == NULL)
        {
          g_printerr ("bench-roundtrip: the worker closed the channel\n");
          status = 1;
          break;
        }
      if (echo_length != length + 9 || strncmp (echo, "{\"echo\":", 8) != 0)
        {
          g_printerr ("bench-roundtrip: wrong echo (%" G_GSIZE_FORMAT " bytes)\n", echo_length);
          status = 1;
          break;
        }

      now = g_get_monotonic_time ();
      if (!measuring)
        {
          if (now - start >= (gint64) (opt_warmup * G_USEC_PER_SEC))
            {
              measuring = TRUE;
              start = now;
              cpu_start = bench_cpu_seconds ();
            }
        }
      else
        {
          roundtrips++;
          if (now - start >= (gint64) (opt_seconds * G_USEC_PER_SEC))
            {
              cpu = bench_cpu_seconds () - cpu_start;
              break;
            }
        }
    }

  if (status == 0)
    print_result (roundtrips, (now - start) / (double) G_USEC_PER_SEC, cpu);

  /* Closing the channel ends both workers; SIGKILL if it does not. */
  close (pair[0]);
  if (r.epoll_fd >= 0)
    close (r.epoll_fd);
  g_free (r.buf);
  deadline = g_get_monotonic_time () + BENCH_STOP_TIMEOUT;
  while (waitpid (pid, &wstatus, WNOHANG) == 0)
    {
      if (g_get_monotonic_time () > deadline)
        {
          kill (pid, SIGKILL);
          waitpid (pid, &wstatus, 0);
          break;
        }
      g_usleep (2000);
    }
  return status;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  setlocale (LC_ALL, "");
  signal (SIGPIPE, SIG_IGN);

  context = g_option_context_new ("- message round trips per second");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-roundtrip: %s\n", error->message);
      return 2;
    }
  if (opt_peer == NULL)
    opt_peer = g_strdup ("cohort");
  if (opt_worker == NULL)
    opt_worker = g_strdup ("node");
  if (opt_size < 8 || opt_size > 512 * 1024 || opt_seconds <= 0 || opt_warmup < 0)
    {
      g_printerr ("bench-roundtrip: --size is 8..524288, --seconds > 0, --warmup >= 0\n");
      return 2;
    }

  message = make_message (opt_size);
  if (g_str_equal (opt_peer, "cohort") || g_str_equal (opt_peer, "cohort-tree"))
    return run_cohort (message, g_str_equal (opt_peer, "cohort"));
  if (g_str_equal (opt_peer, "raw"))
    return run_raw (message, WAIT_IN_READ);
  if (g_str_equal (opt_peer, "raw-poll"))
    return run_raw (message, WAIT_IN_POLL);
  if (g_str_equal (opt_peer, "raw-epoll"))
    return run_raw (message, WAIT_IN_EPOLL);
  g_printerr ("bench-roundtrip: --peer is cohort, cohort-tree, raw, raw-poll or raw-epoll, not %s\n", opt_peer);
  return 2;
}
