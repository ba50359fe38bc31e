/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-idle.c: the idle C worker of the lifecycle benchmarks (cold start,
 * restart, graceful stop, status; tests/bench/lifecycle.js), and
 * tests/bench/bench-idle.js is the same thing in Node.
 *
 * Plain POSIX C, no GLib: it starts as fast as a C program can. Every
 * setting comes from the environment, so that any manager (a shell loop,
 * Cohort, supervisord, PM2) runs it with the same command line:
 *
 *   BENCH_NOTIFY=FIFO   first thing in main(), read CLOCK_MONOTONIC, open
 *                       FIFO for writing and write "start PID NS\n" (NS:
 *                       that clock, in ns; one write of under PIPE_BUF
 *                       bytes, so lines never mix). The descriptor stays
 *                       open for the worker's life: the reader sees end of
 *                       file once every worker of a run is gone. Just
 *                       before exiting on a stop, "exit PID NS\n".
 *   BENCH_STOP_MS=MS    on a stop request, wait MS ms, then exit 0
 *                       (default 0: exit at once)
 *
 * A stop request: SIGTERM or SIGINT, or the line "shutdown" (a JSON string,
 * quotes included) on the message channel, the socket named by
 * COHORT_CHANNEL_FD (Cohort) or NODE_CHANNEL_FD (PM2's fork mode), when
 * there is one. At end of file on the channel it stops reading it and keeps
 * running. Otherwise it waits, using no CPU, until stopped or killed. */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096

static int notify_fd = -1;

static long long
monotonic_ns (void)
{
  struct timespec t;

  clock_gettime (CLOCK_MONOTONIC, &t);
  return (long long) t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void
notify (const char *what,
        long long   ns)
{
  char line[96];
  int n;

  if (notify_fd < 0)
    return;
  n = snprintf (line, sizeof line, "%s %ld %lld\n", what, (long) getpid (), ns);
  while (write (notify_fd, line, (size_t) n) < 0 && errno == EINTR)
    ;
}

static int
env_int (const char *name,
         int         fallback)
{
  const char *text = getenv (name);
  char *end;
  long value;

  if (text == NULL || *text == '\0')
    return fallback;
  value = strtol (text, &end, 10);
  return *end == '\0' && value >= 0 && value < 1000000 ? (int) value : fallback;
}

static void
stop (int stop_ms)
{
  struct timespec wait = { stop_ms / 1000, (long) (stop_ms % 1000) * 1000000L };

  while (nanosleep (&wait, &wait) < 0 && errno == EINTR)
    ;
  notify ("exit", monotonic_ns ());
  _exit (0);
}

int
main (void)
{
  long long started = monotonic_ns ();
  const char *path = getenv ("BENCH_NOTIFY");
  int stop_ms = env_int ("BENCH_STOP_MS", 0);
  int channel = env_int ("COHORT_CHANNEL_FD", env_int ("NODE_CHANNEL_FD", -1));
  char line[LINE_MAX_BYTES];
  size_t used = 0;
  sigset_t signals;
  struct pollfd fds[2];

  if (path != NULL && *path != '\0')
    {
      notify_fd = open (path, O_WRONLY | O_CLOEXEC);
      if (notify_fd < 0)
        {
          fprintf (stderr, "bench-idle: %s: %s\n", path, strerror (errno));
          return 1;
        }
    }
  notify ("start", started);

  sigemptyset (&signals);
  sigaddset (&signals, SIGTERM);
  sigaddset (&signals, SIGINT);
  sigprocmask (SIG_BLOCK, &signals, NULL);
  fds[0].fd = signalfd (-1, &signals, SFD_CLOEXEC);
  fds[0].events = POLLIN;
  fds[1].fd = channel;
  fds[1].events = POLLIN;
  if (fds[0].fd < 0)
    {
      fprintf (stderr, "bench-idle: signalfd: %s\n", strerror (errno));
      return 1;
    }

  for (;;)
    {
      ssize_t n;

      if (poll (fds, fds[1].fd >= 0 ? 2 : 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          fprintf (stderr, "bench-idle: poll: %s\n", strerror (errno));
          return 1;
        }
      if (fds[0].revents & POLLIN)
        stop (stop_ms);
      if (fds[1].fd < 0 || !(fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;

      n = read (fds[1].fd, line + used, sizeof line - used);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0)
        {
          fds[1].fd = -1;             /* end of the channel: keep running */
          continue;
        }
      used += (size_t) n;
      for (;;)
        {
          char *newline = memchr (line, '\n', used);
          size_t length;

          if (newline == NULL)
            break;
          length = (size_t) (newline - line);
          if (length == strlen ("\"shutdown\"") && memcmp (line, "\"shutdown\"", length) == 0)
            stop (stop_ms);
          used -= length + 1;
          memmove (line, newline + 1, used);
        }
      if (used == sizeof line)
        used = 0;                     /* a line too long to be "shutdown" */
    }
}
