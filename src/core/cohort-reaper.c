/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-reaper.c: reaping the orphans that workers leave behind.
 *
 * With PR_SET_CHILD_SUBREAPER, a process whose parent (a worker) dies is
 * re-parented to Cohort instead of init, so a worker's whole tree stays
 * within reach. Child watches (cohort-watch.c) reap only the pids they
 * watch, so the orphans would stay zombies: this module finds them and
 * reaps them, one pid at a time. It never calls waitpid(-1), which would
 * steal exits from those watches, and it leaves alone any child in
 * Cohort's own process group (those are Cohort's own helpers, spawned by
 * GLib, whose exits GLib is waiting for); workers and their descendants
 * run in groups of their own.
 *
 * It looks once a second, and only after a child has exited: a SIGCHLD
 * handler of its own sets a flag. Looking costs a waitid() that walks
 * every child of Cohort's, whose task structures, after a second of
 * idling on a virtual machine, are cold: with 64 idle workers that walk
 * was 7 % of Cohort's idle CPU. The handler passes each signal on to
 * the one it replaced; GLib installs its own for its child watches (a
 * GSubprocess), and takes it away again: each tick checks that the
 * handler is still ours (one sigaction()), puts it back, chaining to
 * GLib's, if not, and looks once in case an exit went unseen meanwhile. */

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cohort-reaper.h"

#define REAP_INTERVAL_MS 1000

static guint reap_source;
static guint n_reaped;
static gint child_exited = 1;          /* a SIGCHLD since the last look */
static struct sigaction chained;       /* the handler ours passes signals on to */
static GHashTable *tracked;   /* pids whose exit a child watch awaits */
static guint tracking_changes;         /* pids tracked or untracked, so far */

/* State and process group of @pid from /proc/PID/stat; FALSE if gone. */
static gboolean
read_stat (GPid   pid,
           char  *state,
           GPid  *ppid,
           GPid  *pgid)
{
  char path[64];
  char buf[512];
  const char *close_paren;
  FILE *file;
  size_t n;
  int parent;
  int group;

  g_snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  file = fopen (path, "re");
  if (file == NULL)
    return FALSE;
  n = fread (buf, 1, sizeof buf - 1, file);
  fclose (file);
  buf[n] = '\0';

  /* The command name may hold spaces and parentheses: parse after the
   * last ')'. */
  close_paren = strrchr (buf, ')');
  if (close_paren == NULL ||
      sscanf (close_paren + 1, " %c %d %d", state, &parent, &group) != 3)
    return FALSE;
  *ppid = parent;
  *pgid = group;
  return TRUE;
}

static void
reap_children_of_task (const char *task,
                       GPid        self_pid,
                       GPid        self_pgid)
{
  char path[128];
  char buf[4096];
  char *p;
  FILE *file;
  size_t n;

  g_snprintf (path, sizeof path, "/proc/self/task/%s/children", task);
  file = fopen (path, "re");
  if (file == NULL)
    return;
  n = fread (buf, 1, sizeof buf - 1, file);
  fclose (file);
  buf[n] = '\0';

  for (p = buf; *p != '\0';)
    {
      char *end = NULL;
      long pid = strtol (p, &end, 10);
      char state;
      GPid ppid;
      GPid pgid;

      if (end == p)
        break;
      p = end;

      /* Workers are their child watches' to reap; checked first, since
       * it costs no file to read. */
      if (pid <= 0 || (tracked != NULL && g_hash_table_contains (tracked, GINT_TO_POINTER (pid))))
        continue;
      if (!read_stat ((GPid) pid, &state, &ppid, &pgid))
        continue;
      if (state != 'Z' || ppid != self_pid || pgid == self_pgid)
        continue;
      if (waitpid ((pid_t) pid, NULL, WNOHANG) > 0)
        n_reaped++;
    }
}

/**
 * cohort_reaper_reap:
 *
 * Reaps every adopted orphan that has exited. Cheap: when no child of
 * Cohort has exited, the usual case, one system call; otherwise it reads
 * the children lists of Cohort's own threads and the stat of each child.
 */
void
cohort_reaper_reap (void)
{
  GPid self_pid;
  GPid self_pgid;
  siginfo_t info;
  DIR *dir;
  struct dirent *entry;

  /* WNOWAIT: a look, not a reaping; a worker's exit stays its watch's. */
  memset (&info, 0, sizeof info);
  if (waitid (P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
    return;

  self_pid = getpid ();
  self_pgid = getpgrp ();
  dir = opendir ("/proc/self/task");
  if (dir == NULL)
    return;
  while ((entry = readdir (dir)) != NULL)
    if (entry->d_name[0] != '.')
      reap_children_of_task (entry->d_name, self_pid, self_pgid);
  closedir (dir);
}

static void
sigchld_handler (int        signum,
                 siginfo_t *info,
                 void      *context)
{
  int saved_errno = errno;

  g_atomic_int_set (&child_exited, 1);
  if (chained.sa_flags & SA_SIGINFO)
    {
      if (chained.sa_sigaction != NULL)
        chained.sa_sigaction (signum, info, context);
    }
  else if (chained.sa_handler != SIG_DFL && chained.sa_handler != SIG_IGN)
    chained.sa_handler (signum);
  errno = saved_errno;
}

/* Whether SIGCHLD is handled by sigchld_handler(): if another handler
 * (or none) took its place, it is put back in front of that one, and a
 * look is due. */
static gboolean
ensure_handler (void)
{
  struct sigaction now;
  struct sigaction ours;

  if (sigaction (SIGCHLD, NULL, &now) != 0)
    return FALSE;
  if ((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == sigchld_handler)
    return TRUE;

  chained = now;
  memset (&ours, 0, sizeof ours);
  ours.sa_sigaction = sigchld_handler;
  ours.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
  sigemptyset (&ours.sa_mask);
  if (sigaction (SIGCHLD, &ours, NULL) != 0)
    return FALSE;
  g_atomic_int_set (&child_exited, 1);
  return TRUE;
}

static gboolean
reap_timeout_cb (gpointer data)
{
  /* Without the handler (sigaction() failed), every tick looks. */
  if (ensure_handler () && !g_atomic_int_compare_and_exchange (&child_exited, 1, 0))
    return G_SOURCE_CONTINUE;
  cohort_reaper_reap ();
  return G_SOURCE_CONTINUE;
}

/**
 * cohort_reaper_init:
 *
 * Makes Cohort the subreaper of everything it starts, and reaps adopted
 * orphans from now on. Call once, from the main thread.
 */
void
cohort_reaper_init (void)
{
  if (reap_source != 0)
    return;

  if (prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    g_warning ("Cannot become the child subreaper: %s", g_strerror (errno));
  ensure_handler ();
  /* Whole seconds: GLib wakes for it together with Cohort's other
   * once-a-second timers (the sampler's). The same priority as theirs,
   * or GLib would run it in a main-loop iteration of its own, which polls
   * every worker's descriptors once more. */
  reap_source = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, REAP_INTERVAL_MS / 1000, reap_timeout_cb, NULL, NULL);
  g_source_set_name_by_id (reap_source, "[cohort] reaper");
}

/* Whether any process is left in group @pgid (zombies count, so reap
 * first). */
gboolean
cohort_reaper_group_alive (GPid pgid)
{
  cohort_reaper_reap ();
  return kill (-pgid, 0) == 0 || errno == EPERM;
}

typedef struct
{
  GPid  pgid;
} StrayGroup;

static gboolean
kill_stray_group_cb (gpointer data)
{
  StrayGroup *stray = data;

  if (cohort_reaper_group_alive (stray->pgid))
    kill (-stray->pgid, SIGKILL);
  return G_SOURCE_REMOVE;
}

/**
 * cohort_reaper_end_group:
 *
 * What is left of a worker's process group after the worker itself died
 * (its children, now Cohort's): @signum now, SIGKILL after @timeout_ms.
 */
void
cohort_reaper_end_group (GPid  pgid,
                         int   signum,
                         guint timeout_ms)
{
  StrayGroup *stray;

  g_return_if_fail (pgid > 1);

  if (!cohort_reaper_group_alive (pgid))
    return;
  kill (-pgid, signum);
  stray = g_new0 (StrayGroup, 1);
  stray->pgid = pgid;
  g_timeout_add_full (G_PRIORITY_DEFAULT, timeout_ms, kill_stray_group_cb, stray, g_free);
}

void
cohort_reaper_track (GPid pid)
{
  if (tracked == NULL)
    tracked = g_hash_table_new (NULL, NULL);
  g_hash_table_add (tracked, GINT_TO_POINTER (pid));
  tracking_changes++;
}

void
cohort_reaper_untrack (GPid pid)
{
  if (tracked != NULL && g_hash_table_remove (tracked, GINT_TO_POINTER (pid)))
    tracking_changes++;
}

/* Whether @pid is a worker not yet reaped: until it is, the kernel cannot
 * give its pid to another process, so the pid still names the worker. */
gboolean
cohort_reaper_is_tracked (GPid pid)
{
  return tracked != NULL && g_hash_table_contains (tracked, GINT_TO_POINTER (pid));
}

/* How many times a pid was tracked or untracked: while it stays the
 * same, so does what cohort_reaper_is_tracked() says of any pid. */
guint
cohort_reaper_get_tracking_changes (void)
{
  return tracking_changes;
}

guint
cohort_reaper_get_n_reaped (void)
{
  return n_reaped;
}
