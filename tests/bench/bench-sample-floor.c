/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-sample-floor.c: the floor of the sampling workload (tests/bench/run
 * sampling, tests/bench/sampling-peer --manager floor).
 *
 *   bench-sample-floor PROGRAM N
 *
 * Starts N copies of PROGRAM (stdin /dev/null, stdout and stderr
 * inherited) and then, once a second on the second, does what sampling
 * every worker each second cannot do without: reads each worker's CPU
 * clock (one system call), and its resident memory from /proc/PID/statm
 * (kept open) when that clock has moved since the last read or every ten
 * seconds — the same policy as Cohort's sampler — into an array. Nothing
 * else: no pipes, no message channel, no restarts, no child watches, no
 * history. A figure for what sampling alone costs on this machine, so that
 * Cohort's can be read against it; not a process manager.
 *
 * Plain POSIX C, no GLib. SIGTERM or SIGINT: SIGTERM to every worker,
 * reap them, exit 0. */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FULL_READ_SECONDS 10

typedef struct
{
  pid_t              pid;
  clockid_t          clock;
  int                statm;
  unsigned long long ns;
  unsigned long long rss_pages;
  unsigned           full_tick;
} Worker;

extern char **environ;

static volatile sig_atomic_t stopping;

static void
on_stop (int signum)
{
  (void) signum;
  stopping = 1;
}

static void
sample (Worker   *w,
        unsigned  tick)
{
  struct timespec ts;
  unsigned long long ns;

  if (w->pid <= 0 || clock_gettime (w->clock, &ts) != 0)
    return;
  ns = (unsigned long long) ts.tv_sec * 1000000000ULL + (unsigned long long) ts.tv_nsec;
  if (ns != w->ns || tick - w->full_tick >= FULL_READ_SECONDS)
    {
      char buf[256];
      ssize_t n = pread (w->statm, buf, sizeof buf - 1, 0);

      if (n > 0)
        {
          char *p;

          buf[n] = '\0';
          strtoull (buf, &p, 10);
          w->rss_pages = strtoull (p, NULL, 10);
        }
      w->ns = ns;
      w->full_tick = tick;
    }
}

int
main (int    argc,
      char **argv)
{
  posix_spawn_file_actions_t actions;
  struct sigaction stop = { .sa_handler = on_stop };
  struct timespec next;
  Worker *workers;
  unsigned tick = 0;
  int n;

  if (argc != 3 || (n = atoi (argv[2])) <= 0)
    {
      fprintf (stderr, "usage: bench-sample-floor PROGRAM N\n");
      return 2;
    }
  workers = calloc ((size_t) n, sizeof *workers);
  if (workers == NULL)
    return 1;
  sigaction (SIGTERM, &stop, NULL);
  sigaction (SIGINT, &stop, NULL);

  posix_spawn_file_actions_init (&actions);
  posix_spawn_file_actions_addopen (&actions, 0, "/dev/null", O_RDONLY, 0);
  for (int i = 0; i < n; i++)
    {
      char *child_argv[] = { argv[1], NULL };
      char path[64];
      int err = posix_spawn (&workers[i].pid, argv[1], &actions, NULL, child_argv, environ);

      if (err != 0)
        {
          fprintf (stderr, "bench-sample-floor: %s: %s\n", argv[1], strerror (err));
          workers[i].pid = 0;
          stopping = 1;
          break;
        }
      clock_getcpuclockid (workers[i].pid, &workers[i].clock);
      snprintf (path, sizeof path, "/proc/%d/statm", (int) workers[i].pid);
      workers[i].statm = open (path, O_RDONLY | O_CLOEXEC);
    }
  posix_spawn_file_actions_destroy (&actions);

  clock_gettime (CLOCK_MONOTONIC, &next);
  while (!stopping)
    {
      next.tv_sec++;
      next.tv_nsec = 0;
      if (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
        continue;
      tick++;
      for (int i = 0; i < n; i++)
        sample (&workers[i], tick);
    }

  for (int i = 0; i < n; i++)
    if (workers[i].pid > 0)
      kill (workers[i].pid, SIGTERM);
  for (int i = 0; i < n; i++)
    if (workers[i].pid > 0)
      while (waitpid (workers[i].pid, NULL, 0) < 0 && errno == EINTR)
        ;
  free (workers);
  return 0;
}
