/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-sampler.c: CPU, memory and message traffic of every worker, and
 * of Cohort itself, at the sample interval, kept as history.
 *
 * Everything happens in one timer callback on the main thread, so that an
 * idle Cohort wakes once per interval, not once per worker or cluster.
 * With a whole number of seconds, the timer is a g_timeout_add_seconds()
 * one, which GLib fires in the same main-loop iteration as Cohort's other
 * once-a-second timers (the reaper's): one poll of the main loop's
 * descriptors a second, which with a few hundred workers' pipes, channels
 * and child watches is the largest cost of all.
 *
 * A worker costs one system call a tick: clock_gettime() on its process
 * CPU clock (ns, every thread, as /proc/PID/stat's utime + stime but
 * exact). Its resident memory (/proc/PID/statm) and its children list
 * are read, each through a descriptor kept open (a pread at offset 0
 * returns fresh figures), only when that clock says it has run since
 * they were last read, or every FULL_READ_TICKS: a process that has not
 * run has forked nothing, reaped nothing and touched no page. Its
 * descendants, when it has some, are read every tick through their own
 * /proc/PID/stat, parsed by hand. No libgtop: its calls reopen several
 * files each.
 *
 * What a tick needs of a worker object but its message counters (its pid,
 * whether it runs, whether it speaks for its slot) is noted in an array
 * per cluster, beside the slots, only when clusters, workers or their
 * states change, or the reaper's tracked pids (note_workers()); a tick
 * then walks that array and asks nothing of list models, specs, names or
 * the reaper. It reads 32 bytes of each worker object (its message
 * counters) only when some worker's counters moved since the last tick
 * (one global count says so): an idle tick reads no process worker's
 * object at all (a thread worker's CPU clock and memory are in it). On a
 * virtual machine whose caches and TLB go cold within the idle second,
 * every cache line and page a tick touches, of code or data, is paid for
 * again at each tick.
 *
 * Pid reuse: a worker's pid is read only while the reaper still tracks it
 * (an unreaped child, whose pid the kernel gives to no one else); a
 * descendant's descriptors stay tied to the process they were opened
 * for (reads fail once it is gone, even after its pid went to another
 * process, and a pid that failed is not reopened), and a fresh one is
 * checked against the parent it should have.
 *
 * CPU comes from deltas between ticks; the figures go into fixed-size
 * series. Reading a hundred workers this way takes a fraction of a
 * millisecond, so the window's frames do not notice it. */

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cohort-cluster-private.h"
#include "cohort-process-worker.h"
#include "cohort-reaper.h"
#include "cohort-sampler.h"
#include "cohort-spawn.h"
#include "cohort-status.h"
#include "cohort-supervisor.h"
#include "cohort-thread-worker.h"
#include "cohort-worker-private.h"

#define MIN_INTERVAL_MS      100
#define MAX_INTERVAL_MS      10000
#define DEFAULT_INTERVAL_MS  1000
#define MIN_HISTORY_S        10
#define MAX_HISTORY_S        3600
#define DEFAULT_HISTORY_S    600
/* Unwatched (no window shows the graphs): sample this many times slower. */
#define UNWATCHED_FACTOR     5
#define MAX_EVENTS           1000
/* A worker's descendants followed, at most. */
#define MAX_DESCENDANTS      64

/* Reading /proc */

typedef struct
{
  GPid    pid;
  GPid    ppid;
  guint64 start_time;   /* clock ticks since boot */
  guint64 rtime;        /* utime + stime, clock ticks (or ns for a thread) */
  guint64 frequency;    /* rtime units per second */
  guint64 rss;          /* bytes */
  char    command[40];
} Reading;

typedef struct
{
  GPid     pid;
  guint64  start_time;
  guint64  rtime;
  gint64   mono;
} CpuMark;

/* A process followed from tick to tick, through descriptors kept open. A
 * worker (or Cohort itself) is read through its CPU clock and
 * /proc/PID/statm; a descendant through /proc/PID/stat, which also names
 * it and its parent. */
typedef struct
{
  GPid      pid;
  int       fd;            /* a worker's statm, a descendant's stat; -1 when not open */
  int       children_fd;   /* /proc/PID/task/PID/children, -1 when not open */
  gboolean  gone;          /* a read failed: never reopen this pid */
  guint     tick;          /* the last tick that read it */
  CpuMark   cpu;
  /* A worker's */
  clockid_t clock;         /* its CPU clock */
  guint64   ns;            /* its CPU time at the last full read */
  guint64   rss;           /* bytes, at the last full read */
  guint     full_tick;     /* the tick of the last full read, 0 before */
} Proc;

/* The CPU clock of process @pid for clock_gettime(), in the kernel's
 * encoding (MAKE_PROCESS_CPUCLOCK (pid, CPUCLOCK_SCHED)): glibc's
 * clock_getcpuclockid() spends a system call checking it. */
#define PROCESS_CLOCK(pid) ((clockid_t) (((guint) ~(pid) << 3) | 2))

/* A worker that has not run since its last full read has the same
 * children and, but for the kernel reclaiming its pages (slow, in the
 * background), the same resident memory: it is read in full again after
 * this many ticks, a minute at the default interval (five while no
 * window shows the graphs). */
#define FULL_READ_TICKS 60

static long clock_ticks;
static long page_size;

static void
proc_close (Proc *proc)
{
  if (proc->fd >= 0)
    close (proc->fd);
  if (proc->children_fd >= 0)
    close (proc->children_fd);
  proc->fd = -1;
  proc->children_fd = -1;
}

/* Follow @pid from now on (0: nothing); a change of pid forgets the last. */
static void
proc_reset (Proc *proc,
            GPid  pid)
{
  proc_close (proc);
  memset (&proc->cpu, 0, sizeof proc->cpu);
  proc->pid = pid;
  proc->gone = FALSE;
  proc->clock = PROCESS_CLOCK (pid);
  proc->full_tick = 0;
}

static Proc *
proc_new (GPid pid)
{
  Proc *proc = g_new0 (Proc, 1);

  proc->fd = -1;
  proc->children_fd = -1;
  proc->pid = pid;
  return proc;
}

static void
proc_gone (Proc *proc)
{
  proc_close (proc);
  proc->gone = TRUE;
}

/* Opens /proc/PID/@name of @proc as its descriptor if it has none. */
static gboolean
proc_open (Proc       *proc,
           const char *name)
{
  char path[64];

  if (proc->fd >= 0)
    return TRUE;
  if (proc->gone || proc->pid <= 0)
    return FALSE;
  g_snprintf (path, sizeof path, "/proc/%d/%s", proc->pid, name);
  proc->fd = open (path, O_RDONLY | O_CLOEXEC);
  /* Gone only if the process is: out of descriptors or memory, it is
   * tried again next tick. */
  if (proc->fd < 0 && (errno == ENOENT || errno == ESRCH))
    proc_gone (proc);
  return proc->fd >= 0;
}

/* Reads @proc's descriptor from its start (fresh figures each time). */
static gboolean
proc_pread (Proc   *proc,
            char   *buf,
            gsize   size)
{
  ssize_t n;

  do
    n = pread (proc->fd, buf, size - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    {
      proc_gone (proc);
      return FALSE;
    }
  buf[n] = '\0';
  return TRUE;
}

static void
proc_free (gpointer data)
{
  proc_close (data);
  g_free (data);
}

/* The next space-separated number of /proc/PID/stat. */
static guint64
next_field (const char **p)
{
  const char *s = *p;
  guint64 value = 0;
  gboolean negative = FALSE;

  while (*s == ' ')
    s++;
  if (*s == '-')
    {
      negative = TRUE;
      s++;
    }
  for (; *s >= '0' && *s <= '9'; s++)
    value = value * 10 + (guint64) (*s - '0');
  while (*s != ' ' && *s != '\0')
    s++;
  *p = s;
  return negative ? 0 : value;
}

/* Command, parent, CPU time, start time and resident memory from the text
 * of /proc/PID/stat (proc(5)). */
static gboolean
parse_stat (const char *text,
            Reading    *reading)
{
  const char *open = strchr (text, '(');
  /* The command may hold spaces and parentheses: fields resume after the
   * last ')'. */
  const char *close = strrchr (text, ')');
  const char *p;
  guint64 utime = 0;
  guint64 stime = 0;
  guint64 rss = 0;

  if (open == NULL || close == NULL || close < open || close[1] != ' ' || close[2] == '\0')
    return FALSE;
  g_strlcpy (reading->command, open + 1,
             MIN (sizeof reading->command, (gsize) (close - open)));

  /* Field 3, the state, is one character; fields count from there. */
  p = close + 3;
  for (guint field = 4; field <= 24; field++)
    {
      guint64 value;

      if (*p == '\0')
        return FALSE;
      value = next_field (&p);
      switch (field)
        {
        case 4: reading->ppid = (GPid) value; break;
        case 14: utime = value; break;
        case 15: stime = value; break;
        case 22: reading->start_time = value; break;
        case 24: rss = value; break;
        default: break;
        }
    }

  reading->rtime = utime + stime;
  reading->frequency = clock_ticks;
  reading->rss = rss * (guint64) page_size;
  return TRUE;
}

/* A descendant's figures now, from its /proc/PID/stat (opened the first
 * time); FALSE once the process is gone. A process opened afresh must be
 * a child of @parent, or its pid has gone to another process meanwhile. */
static gboolean
proc_read_stat (Proc    *proc,
                GPid     parent,
                Reading *reading)
{
  gboolean fresh = proc->fd < 0;
  char buf[1024];

  if (!proc_open (proc, "stat") || !proc_pread (proc, buf, sizeof buf))
    return FALSE;
  reading->pid = proc->pid;
  if (!parse_stat (buf, reading) || (fresh && reading->ppid != parent))
    {
      proc_gone (proc);
      return FALSE;
    }
  return TRUE;
}

/* A worker's (or Cohort's own) figures now: CPU time from its CPU clock,
 * in ns, which costs one cheap system call; resident memory from
 * /proc/PID/statm, read only when the clock says the process has run
 * since the last full read (*@full then), or every FULL_READ_TICKS. The
 * caller makes sure the pid is still the worker's. FALSE once it is gone. */
static gboolean
proc_read_worker (Proc     *proc,
                  guint     tick,
                  Reading  *reading,
                  gboolean *full)
{
  struct timespec ts;
  guint64 ns;

  if (proc->gone || clock_gettime (proc->clock, &ts) != 0)
    {
      proc_gone (proc);
      return FALSE;
    }
  ns = (guint64) ts.tv_sec * 1000000000 + (guint64) ts.tv_nsec;

  *full = proc->full_tick == 0 || ns != proc->ns || tick - proc->full_tick >= FULL_READ_TICKS;
  if (*full)
    {
      char buf[256];
      const char *p = buf;

      if (!proc_open (proc, "statm") || !proc_pread (proc, buf, sizeof buf))
        return FALSE;
      next_field (&p);   /* the size; the resident pages come next */
      proc->rss = next_field (&p) * (guint64) page_size;
      proc->ns = ns;
      proc->full_tick = tick;
    }

  memset (reading, 0, sizeof *reading);
  reading->pid = proc->pid;
  reading->start_time = 1;   /* the pid is checked by the caller */
  reading->rtime = ns;
  reading->frequency = 1000000000;
  reading->rss = proc->rss;
  return TRUE;
}

/* The pids of @proc's children, as forked by its main thread (Node's
 * child_process, Python's multiprocessing and the usual forking servers
 * fork from there), into @pids; how many. A worker keeps the list open
 * (@keep); a descendant, most often a leaf, opens it for the read only,
 * so that a hundred workers with a few children each do not hold
 * hundreds of descriptors more. */
static guint
proc_read_children (Proc     *proc,
                    gboolean  keep,
                    GPid     *pids,
                    guint     max)
{
  char text[4096];
  const char *p;
  guint n_pids = 0;
  ssize_t n;

  if (proc->fd < 0)
    return 0;
  if (proc->children_fd < 0)
    {
      char path[80];

      g_snprintf (path, sizeof path, "/proc/%d/task/%d/children", proc->pid, proc->pid);
      proc->children_fd = open (path, O_RDONLY | O_CLOEXEC);
      if (proc->children_fd < 0)
        return 0;
    }
  n = pread (proc->children_fd, text, sizeof text - 1, 0);
  if (!keep)
    {
      close (proc->children_fd);
      proc->children_fd = -1;
    }
  if (n <= 0)
    return 0;
  text[n] = '\0';

  for (p = text; *p != '\0' && n_pids < max;)
    {
      guint64 pid = next_field (&p);

      if (pid > 0)
        pids[n_pids++] = (GPid) pid;
    }
  return n_pids;
}

/* The main thread */

/* What an idle tick reads and writes of a slot comes first, together. */
typedef struct
{
  CohortSeries *series[COHORT_N_METRICS];
  Proc          proc;           /* the worker's process; for a thread, only its CpuMark (ns) */
  guint64       counters[4];    /* messages and bytes, in and out */
  gint64        counters_mono;
  GHashTable   *descendants;    /* pid → Proc; NULL when it has none */
  GPtrArray    *children;       /* CohortProcessSample, the last sample; empty while
                                 * descendants is NULL */
} Slot;

/* What a tick needs of a worker but its counters, noted when the workers,
 * their states or the reaper's tracked pids change (not at every tick),
 * side by side for a cluster's workers: an idle tick reads these and its
 * slots, and no process worker's object. */
typedef struct
{
  CohortWorker *worker;         /* borrowed: the entries are made again whenever
                                 * the cluster's workers change */
  Slot         *slot;           /* NULL: the worker does not speak for a slot (a
                                 * reload's replacement not yet online, or a
                                 * worker retiring from its slot) */
  GPid          pid;            /* a process worker's */
  guint8        running;
  guint8        thread;         /* a thread worker */
  guint8        tracked;        /* its pid is the reaper's, unreaped */
} Entry;

typedef struct
{
  CohortSeries *totals[COHORT_N_METRICS];
  /* Its slots by worker id, so that a tick finds them without building
   * and hashing keys; borrowed from the sampler's slots, and refilled
   * whenever slots are removed or renamed (the generation changes). */
  GPtrArray    *slots;
  guint         generation;
  /* Series made for slots still to come, COHORT_N_METRICS a slot, the
   * next slot's at the end (see take_series()). */
  GPtrArray    *spare;
  /* Noted by note_workers(), valid while the sampler's layout holds. */
  CohortCluster *cluster;       /* borrowed */
  gboolean      threads;
  GArray       *entries;        /* Entry, one per worker of the cluster, in its order */
} ClusterState;

struct _CohortSampler
{
  GObject           parent_instance;

  CohortSupervisor *supervisor;  /* weak: the supervisor owns its sampler */
  guint             interval_ms;
  guint             history_s;
  gboolean          watched;
  guint             tick_source;
  guint             tick;        /* samples taken */

  GHashTable       *slots;       /* "cluster/id" → Slot */
  guint             generation;  /* of the slots: changes when some are removed or renamed */
  /* The clusters' states in the supervisor's order, with their entries,
   * as noted (note_workers()) when the layout last changed: clusters or
   * workers added or removed, a cluster renamed, a worker's pid, state,
   * incoming or retiring flag changed, slots removed or renamed, a pid
   * tracked or untracked by the reaper. */
  GPtrArray        *walk;        /* ClusterState, borrowed */
  guint             layout;      /* changes with the clusters, their names and specs,
                                  * and workers' pids (from 1: nothing noted yet) */
  guint             noted_layout;
  guint             noted_changes;   /* _cohort_worker_get_sample_changes() then: the
                                      * clusters' lists of workers, their states and
                                      * flags */
  guint             noted_tracking;  /* cohort_reaper_get_tracking_changes() then */
  guint64           traffic;     /* _cohort_worker_get_traffic() at the last tick */
  GHashTable       *clusters;    /* cluster name → ClusterState */
  GHashTable       *tasks;       /* thread cluster name → CohortSeries *[COHORT_N_TASK_METRICS] */
  CohortSeries     *self_series[COHORT_N_SELF_METRICS];
  Proc              self_proc;
  GQueue            events;
};

G_DEFINE_FINAL_TYPE (CohortSampler, cohort_sampler, G_TYPE_OBJECT)

enum {
  SAMPLED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
cohort_process_sample_free (CohortProcessSample *sample)
{
  if (sample == NULL)
    return;
  g_free (sample->command);
  g_free (sample);
}

void
cohort_event_free (CohortEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->cluster);
  g_free (event->kind);
  g_free (event->text);
  g_free (event);
}

const char *
cohort_metric_to_string (CohortMetric metric)
{
  static const char * const names[] = {
    "cpu", "rss", "messages_in", "messages_out", "bytes_in", "bytes_out", "tree_cpu", "tree_rss"
  };

  g_return_val_if_fail (metric < COHORT_N_METRICS, "unknown");
  return names[metric];
}

static guint
capacity (CohortSampler *self)
{
  return MAX (2, self->history_s * 1000 / self->interval_ms);
}

/* A slot whose worker no longer runs lets go of its processes. */
static void
slot_release (Slot *slot)
{
  proc_reset (&slot->proc, 0);
  g_ptr_array_set_size (slot->children, 0);
  g_clear_pointer (&slot->descendants, g_hash_table_unref);
}

static void
slot_free (gpointer data)
{
  Slot *slot = data;

  for (guint i = 0; i < COHORT_N_METRICS; i++)
    cohort_series_unref (slot->series[i]);
  proc_close (&slot->proc);
  g_clear_pointer (&slot->descendants, g_hash_table_unref);
  g_ptr_array_unref (slot->children);
  g_free (slot);
}

static void
cluster_state_free (gpointer data)
{
  ClusterState *state = data;

  for (guint i = 0; i < COHORT_N_METRICS; i++)
    cohort_series_unref (state->totals[i]);
  g_ptr_array_unref (state->slots);
  g_ptr_array_unref (state->spare);
  g_array_unref (state->entries);
  g_free (state);
}

static void
task_series_free (gpointer data)
{
  CohortSeries **series = data;

  for (guint i = 0; i < COHORT_N_TASK_METRICS; i++)
    cohort_series_unref (series[i]);
  g_free (series);
}

/* The series of a new slot of @state's cluster. They are made for the
 * next @n_more slots at once (the workers of the tick still without one)
 * with cohort_series_new_groups(), so that a tick writes the rows of a
 * cluster's workers side by side. */
static void
take_series (CohortSampler *self,
             ClusterState  *state,
             guint          n_more,
             CohortSeries **series)
{
  /* Spares always have the current capacity: resize_all() drops them. */
  if (state->spare->len == 0)
    {
      guint n = MAX (n_more, 1);
      g_autofree CohortSeries **fresh = g_new (CohortSeries *, n * COHORT_N_METRICS);

      cohort_series_new_groups (capacity (self), COHORT_N_METRICS, n, fresh);
      for (guint g = n; g-- > 0;)
        for (guint m = 0; m < COHORT_N_METRICS; m++)
          g_ptr_array_add (state->spare, fresh[g * COHORT_N_METRICS + m]);
    }
  for (guint m = COHORT_N_METRICS; m-- > 0;)
    series[m] = g_ptr_array_steal_index (state->spare, state->spare->len - 1);
}

static Slot *
lookup_slot (CohortSampler *self,
             const char    *cluster,
             guint          id,
             CohortSeries **series)
{
  char buf[128];
  g_autofree char *long_key = NULL;
  const char *key = buf;
  Slot *slot;

  if ((gsize) g_snprintf (buf, sizeof buf, "%s/%u", cluster, id) >= sizeof buf)
    key = long_key = g_strdup_printf ("%s/%u", cluster, id);

  slot = g_hash_table_lookup (self->slots, key);
  if (slot == NULL && series != NULL)
    {
      slot = g_new0 (Slot, 1);
      memcpy (slot->series, series, sizeof slot->series);
      slot->proc.fd = -1;
      slot->proc.children_fd = -1;
      slot->children = g_ptr_array_new_with_free_func ((GDestroyNotify) cohort_process_sample_free);
      g_hash_table_insert (self->slots, g_strdup (key), slot);
    }
  return slot;
}

static ClusterState *
lookup_cluster (CohortSampler *self,
                const char    *cluster,
                gboolean       create)
{
  ClusterState *state = g_hash_table_lookup (self->clusters, cluster);

  if (state == NULL && create)
    {
      state = g_new0 (ClusterState, 1);
      cohort_series_new_columns (capacity (self), COHORT_N_METRICS, state->totals);
      state->slots = g_ptr_array_new ();
      state->spare = g_ptr_array_new_with_free_func ((GDestroyNotify) cohort_series_unref);
      state->entries = g_array_new (FALSE, TRUE, sizeof (Entry));
      state->generation = self->generation;
      g_hash_table_insert (self->clusters, g_strdup (cluster), state);
    }
  return state;
}

/* The slot of worker @id of @cluster, whose state is @state; @n_more:
 * how many workers of the cluster this tick has still to go, this one
 * included. */
static Slot *
cluster_slot (CohortSampler *self,
              ClusterState  *state,
              const char    *cluster,
              guint          id,
              guint          n_more)
{
  Slot *slot;

  if (state->generation != self->generation)
    {
      g_ptr_array_set_size (state->slots, 0);
      state->generation = self->generation;
    }
  if (id < state->slots->len && (slot = g_ptr_array_index (state->slots, id)) != NULL)
    return slot;

  slot = lookup_slot (self, cluster, id, NULL);
  if (slot == NULL)
    {
      CohortSeries *series[COHORT_N_METRICS];

      take_series (self, state, n_more, series);
      slot = lookup_slot (self, cluster, id, series);
    }
  if (id >= state->slots->len)
    g_ptr_array_set_size (state->slots, id + 1);
  g_ptr_array_index (state->slots, id) = slot;
  return slot;
}

static CohortSeries **
lookup_task_series (CohortSampler *self,
                    const char    *cluster,
                    gboolean       create)
{
  CohortSeries **series = g_hash_table_lookup (self->tasks, cluster);

  if (series == NULL && create)
    {
      series = g_new0 (CohortSeries *, COHORT_N_TASK_METRICS);
      cohort_series_new_columns (capacity (self), COHORT_N_TASK_METRICS, series);
      g_hash_table_insert (self->tasks, g_strdup (cluster), series);
    }
  return series;
}

/* Percent of one core between two readings of the same process. */
static double
cpu_percent (CpuMark       *mark,
             const Reading *reading,
             gint64         mono)
{
  double percent = NAN;

  if (mark->pid == reading->pid && mark->start_time == reading->start_time &&
      mono > mark->mono && reading->rtime >= mark->rtime)
    percent = 100.0 * ((double) (reading->rtime - mark->rtime) / reading->frequency) /
              ((mono - mark->mono) / (double) G_USEC_PER_SEC);

  mark->pid = reading->pid;
  mark->start_time = reading->start_time;
  mark->rtime = reading->rtime;
  mark->mono = mono;
  return percent;
}

/* The worker's descendants, breadth first, each read through its own
 * descriptors; their sum goes into the tree figures. Processes no longer
 * among them are let go. */
static void
sample_tree (CohortSampler *self,
             Slot          *slot,
             gint64         mono,
             double        *tree_cpu,
             guint64       *tree_rss)
{
  GPid pids[MAX_DESCENDANTS];
  GPid parents[MAX_DESCENDANTS];
  guint n_pids;
  guint n_seen = 0;

  g_ptr_array_set_size (slot->children, 0);
  n_pids = proc_read_children (&slot->proc, TRUE, pids, MAX_DESCENDANTS);
  for (guint i = 0; i < n_pids; i++)
    parents[i] = slot->proc.pid;

  for (guint i = 0; i < n_pids; i++)
    {
      Proc *proc;
      CohortProcessSample *sample;
      Reading reading;
      guint n_more;

      if (slot->descendants == NULL)
        slot->descendants = g_hash_table_new_full (NULL, NULL, NULL, proc_free);
      proc = g_hash_table_lookup (slot->descendants, GINT_TO_POINTER (pids[i]));
      if (proc == NULL)
        {
          proc = proc_new (pids[i]);
          g_hash_table_insert (slot->descendants, GINT_TO_POINTER (pids[i]), proc);
        }
      else if (proc->tick == self->tick)
        continue;   /* listed twice: it changed parents meanwhile */
      proc->tick = self->tick;
      n_seen++;
      if (!proc_read_stat (proc, parents[i], &reading))
        continue;

      sample = g_new0 (CohortProcessSample, 1);
      sample->pid = reading.pid;
      sample->ppid = reading.ppid;
      sample->cpu = cpu_percent (&proc->cpu, &reading, mono);
      sample->rss = reading.rss;
      sample->command = g_strdup (reading.command);
      g_ptr_array_add (slot->children, sample);
      if (!isnan (sample->cpu))
        *tree_cpu += sample->cpu;
      *tree_rss += reading.rss;

      n_more = proc_read_children (proc, FALSE, pids + n_pids, MAX_DESCENDANTS - n_pids);
      for (guint j = n_pids; j < n_pids + n_more; j++)
        parents[j] = proc->pid;
      n_pids += n_more;
    }

  /* Forget the descendants that are gone. */
  if (slot->descendants != NULL && g_hash_table_size (slot->descendants) > n_seen)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, slot->descendants);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (((Proc *) value)->tick != self->tick)
          g_hash_table_iter_remove (&iter);
    }
  if (n_seen == 0)
    g_clear_pointer (&slot->descendants, g_hash_table_unref);
}

/* A thread cluster's queue and task times; gaps while it is stopped. */
static void
sample_tasks (CohortSampler *self,
              CohortCluster *cluster,
              gint64         wall)
{
  CohortSeries **series = lookup_task_series (self, cohort_cluster_get_name (cluster), TRUE);
  double values[COHORT_N_TASK_METRICS] = { NAN, NAN, NAN };

  if (cohort_cluster_get_state (cluster) != COHORT_CLUSTER_STATE_STOPPED)
    {
      double wait[3];
      double run[3];

      values[COHORT_TASK_METRIC_QUEUE] = cohort_cluster_get_queue_depth (cluster);
      if (cohort_cluster_get_task_percentiles (cluster, wait, run) > 0)
        {
          values[COHORT_TASK_METRIC_RUN_P50] = run[0];
          values[COHORT_TASK_METRIC_WAIT_P50] = wait[0];
        }
    }
  cohort_series_push_row (series[0], wall, values);
}

/* A process worker's own figures and its tree's. */
static void
sample_process (CohortSampler *self,
                Slot          *slot,
                GPid           pid,
                gboolean       tracked,
                gint64         mono,
                double        *values)
{
  Reading reading;
  gboolean full;
  double tree_cpu;
  guint64 tree_rss;

  if (pid != slot->proc.pid)
    {
      proc_reset (&slot->proc, pid);
      g_clear_pointer (&slot->descendants, g_hash_table_unref);
    }
  slot->proc.tick = self->tick;
  /* A worker that has exited and been reaped may still show its pid for a
   * while (its group is being stopped), and the pid may by now be another
   * process's: only a pid that the reaper still tracks, unreaped, is the
   * worker's for sure (@tracked: noted at the first tick after the
   * reaper's tracking last changed). Before its exec (looked at until the
   * first reading), it runs on Cohort's memory. */
  if (pid <= 0 || !tracked ||
      (slot->proc.full_tick == 0 && cohort_spawn_is_pending (pid)) ||
      !proc_read_worker (&slot->proc, self->tick, &reading, &full))
    {
      slot_release (slot);
      return;
    }

  values[COHORT_METRIC_CPU] = cpu_percent (&slot->proc.cpu, &reading, mono);
  values[COHORT_METRIC_RSS] = reading.rss;
  tree_cpu = isnan (values[COHORT_METRIC_CPU]) ? 0 : values[COHORT_METRIC_CPU];
  tree_rss = reading.rss;
  /* A worker that has not run since its last full read cannot have forked
   * or reaped a child: unless it has descendants to read, nothing is. */
  if (full || slot->descendants != NULL)
    sample_tree (self, slot, mono, &tree_cpu, &tree_rss);
  /* Without descendants there are no children (and their array, memory
   * of its own, is not read). */
  if (slot->descendants != NULL && slot->children->len > 0)
    {
      values[COHORT_METRIC_TREE_CPU] = tree_cpu;
      values[COHORT_METRIC_TREE_RSS] = tree_rss;
    }
}

/* One worker's figures, read now, pushed into its slot's series. */
static void
sample_worker (CohortSampler *self,
               const Entry   *entry,
               gboolean       quiet,
               gint64         mono,
               gint64         wall,
               double        *values)
{
  Slot *slot = entry->slot;
  guint64 counters[4];
  double dt;

  for (guint i = 0; i < COHORT_N_METRICS; i++)
    values[i] = NAN;

  /* @quiet: no worker's counters moved since the last tick, when this
   * worker spoke for this slot: they are the slot's. */
  if (quiet)
    memcpy (counters, slot->counters, sizeof counters);
  else
    _cohort_worker_peek_counters (entry->worker, counters);

  if (entry->running)
    {
      if (!entry->thread)
        sample_process (self, slot, entry->pid, entry->tracked, mono, values);
      else
        {
          CohortThreadWorker *thread = COHORT_THREAD_WORKER (entry->worker);
          gint64 ns = cohort_thread_worker_get_cpu_time (thread);
          Reading reading = { 0 };

          slot->proc.tick = self->tick;
          if (ns >= 0)
            {
              /* The thread's clock, in ns, as if it were ticks. */
              reading.pid = cohort_thread_worker_get_tid (thread);
              reading.start_time = 1;
              reading.rtime = (guint64) ns;
              reading.frequency = 1000000000;
              values[COHORT_METRIC_CPU] = cpu_percent (&slot->proc.cpu, &reading, mono);
            }
          values[COHORT_METRIC_RSS] = cohort_thread_worker_get_memory (thread);
        }

      dt = (mono - slot->counters_mono) / (double) G_USEC_PER_SEC;
      if (slot->counters_mono > 0 && dt > 0)
        for (guint i = 0; i < 4; i++)
          values[COHORT_METRIC_MESSAGES_IN + i] =
            counters[i] >= slot->counters[i] ? (counters[i] - slot->counters[i]) / dt : 0;
    }
  else
    slot_release (slot);

  memcpy (slot->counters, counters, sizeof counters);
  slot->counters_mono = mono;

  cohort_series_push_row (slot->series[0], wall, values);
}

/* Slots no worker spoke for this tick (scaled down, removed, or between
 * a reload's workers) let go of their processes' descriptors. */
static void
release_unsampled (CohortSampler *self,
                   guint          n_sampled)
{
  GHashTableIter iter;
  gpointer value;

  if (g_hash_table_size (self->slots) <= n_sampled)
    return;
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Slot *slot = value;

      if (slot->proc.tick != self->tick && slot->proc.fd >= 0)
        slot_release (slot);
    }
}

/* Notes each cluster's state and, for each of its workers, what a tick
 * needs of it (its slot made if it has none yet), so that the ticks until
 * the next change read no worker object but its counters (and those only
 * when some moved), and no list model, spec or name. */
static void
note_workers (CohortSampler *self)
{
  GListModel *clusters = cohort_supervisor_get_clusters (self->supervisor);
  guint n_clusters = g_list_model_get_n_items (clusters);

  g_ptr_array_set_size (self->walk, 0);
  for (guint i = 0; i < n_clusters; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);
      guint n_workers;
      CohortWorker * const *workers = _cohort_cluster_peek_workers (cluster, &n_workers);
      const char *name = cohort_cluster_get_name (cluster);
      ClusterState *state = lookup_cluster (self, name, TRUE);

      state->cluster = cluster;
      state->threads = cohort_cluster_get_spec (cluster)->kind == COHORT_CLUSTER_KIND_THREADS;
      g_array_set_size (state->entries, n_workers);
      for (guint j = 0; j < n_workers; j++)
        {
          CohortWorker *worker = workers[j];
          Entry *entry = &g_array_index (state->entries, Entry, j);

          entry->worker = worker;
          entry->running = cohort_worker_is_running (worker);
          entry->thread = COHORT_IS_THREAD_WORKER (worker);
          entry->pid = COHORT_IS_PROCESS_WORKER (worker)
                         ? cohort_process_worker_get_pid (COHORT_PROCESS_WORKER (worker)) : 0;
          entry->tracked = entry->pid > 0 && cohort_reaper_is_tracked (entry->pid);
          /* A reload's replacement is sampled once it owns the slot, and a
           * worker retiring from a slot no longer speaks for it. */
          entry->slot = _cohort_worker_get_incoming (worker) || _cohort_worker_get_retiring (worker)
                          ? NULL
                          : cluster_slot (self, state, name, cohort_worker_get_id (worker), n_workers - j);
        }
      g_ptr_array_add (self->walk, state);
    }
  self->noted_layout = self->layout;
  self->noted_changes = _cohort_worker_get_sample_changes ();
  self->noted_tracking = cohort_reaper_get_tracking_changes ();
}

/* Something a tick notes of the clusters or workers changed. */
static void
layout_changed (CohortSampler *self)
{
  self->layout++;
}

static void
sample (CohortSampler *self)
{
  gint64 mono = g_get_monotonic_time ();
  gint64 wall = g_get_real_time ();
  guint n_sampled = 0;
  double task_cpu = 0;
  Reading reading;
  gboolean full;
  guint64 traffic = _cohort_worker_get_traffic ();
  gboolean quiet = traffic == self->traffic;

  self->tick++;
  self->traffic = traffic;
  /* Workers noted afresh may speak for other slots than at the last tick:
   * their counters are read. */
  if (self->noted_layout != self->layout ||
      self->noted_changes != _cohort_worker_get_sample_changes () ||
      self->noted_tracking != cohort_reaper_get_tracking_changes ())
    {
      note_workers (self);
      quiet = FALSE;
    }
  for (guint i = 0; i < self->walk->len; i++)
    {
      ClusterState *state = g_ptr_array_index (self->walk, i);
      gboolean threads = state->threads;
      const Entry *entries = (const Entry *) (gpointer) state->entries->data;
      guint n_entries = state->entries->len;
      double sums[COHORT_N_METRICS] = { 0 };
      guint counted[COHORT_N_METRICS] = { 0 };

      for (guint j = 0; j < n_entries; j++)
        {
          double values[COHORT_N_METRICS];

          if (entries[j].slot == NULL)
            continue;
          sample_worker (self, &entries[j], quiet, mono, wall, values);
          n_sampled++;
          if (threads && !isnan (values[COHORT_METRIC_CPU]))
            task_cpu += values[COHORT_METRIC_CPU];
          for (guint m = 0; m < COHORT_N_METRICS; m++)
            if (!isnan (values[m]))
              {
                sums[m] += values[m];
                counted[m]++;
              }
        }
      for (guint m = 0; m < COHORT_N_METRICS; m++)
        sums[m] = counted[m] > 0 ? sums[m] : NAN;
      cohort_series_push_row (state->totals[0], wall, sums);
      if (threads)
        sample_tasks (self, state->cluster, wall);
    }
  release_unsampled (self, n_sampled);

  /* Cohort's own work: its thread clusters' tasks are theirs. */
  if (proc_read_worker (&self->self_proc, self->tick, &reading, &full))
    {
      double cpu = cpu_percent (&self->self_proc.cpu, &reading, mono);

      cohort_series_push (self->self_series[COHORT_SELF_CPU], wall,
                          isnan (cpu) ? NAN : MAX (0, cpu - task_cpu));
      cohort_series_push (self->self_series[COHORT_SELF_RSS], wall, reading.rss);
    }

  g_signal_emit (self, signals[SAMPLED], 0);
}

/* The timer's lateness is the main loop's lag: how long something else
 * held it when the tick was due. */
static gboolean
tick_cb (gpointer data)
{
  CohortSampler *self = data;
  gint64 due = g_source_get_ready_time (g_main_current_source ());
  double lag_ms = MAX (0, g_get_monotonic_time () - due) / 1000.0;

  cohort_series_push (self->self_series[COHORT_SELF_LAG], g_get_real_time (), lag_ms);
  cohort_sampler_sample_now (self);
  return G_SOURCE_CONTINUE;
}

static void
schedule (CohortSampler *self)
{
  guint interval = self->interval_ms;

  if (!self->watched)
    interval = MIN (MAX_INTERVAL_MS, interval * UNWATCHED_FACTOR);
  g_clear_handle_id (&self->tick_source, g_source_remove);
  /* Whole seconds: GLib fires it with Cohort's other once-a-second
   * timers, in one wake-up. */
  if (interval % 1000 == 0)
    self->tick_source = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, interval / 1000, tick_cb, self, NULL);
  else
    self->tick_source = g_timeout_add_full (G_PRIORITY_DEFAULT, interval, tick_cb, self, NULL);
  g_source_set_name_by_id (self->tick_source, "[cohort] sampler tick");
}

/**
 * cohort_sampler_sample_now:
 *
 * Takes a sample at once ("sampled" is emitted before this returns); the
 * next tick stays where it was.
 */
void
cohort_sampler_sample_now (CohortSampler *self)
{
  g_return_if_fail (COHORT_IS_SAMPLER (self));

  if (self->supervisor == NULL)
    return;
  sample (self);
}

/* Events */

static void
add_event (CohortSampler *self,
           const char    *cluster,
           int            worker,
           const char    *kind,
           const char    *text)
{
  CohortEvent *event = g_new0 (CohortEvent, 1);

  event->time = g_get_real_time ();
  event->cluster = g_strdup (cluster);
  event->worker = worker;
  event->kind = g_strdup (kind);
  event->text = g_strdup (text);
  g_queue_push_tail (&self->events, event);
  if (self->events.length > MAX_EVENTS)
    cohort_event_free (g_queue_pop_head (&self->events));
}

static void
restarts_cb (CohortWorker  *worker,
             GParamSpec    *pspec,
             CohortSampler *self)
{
  CohortCluster *cluster = cohort_worker_get_cluster (worker);
  const char *reason = cohort_worker_get_reason (worker);

  if (cluster == NULL || cohort_worker_get_restarts (worker) == 0)
    return;
  add_event (self, cohort_cluster_get_name (cluster), (int) cohort_worker_get_id (worker), "restart",
             reason != NULL ? reason : cohort_worker_get_last_exit (worker));
}

static void
cluster_event_cb (CohortCluster *cluster,
                  const char    *kind,
                  const char    *text,
                  CohortSampler *self)
{
  add_event (self, cohort_cluster_get_name (cluster), -1, kind, text);
}

static void
workers_changed_cb (GListModel    *workers,
                    guint          position,
                    guint          removed,
                    guint          added,
                    CohortSampler *self)
{
  /* The change itself is counted by the cluster, before the list says
   * so (_cohort_worker_note_sample_change()). */
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      g_signal_connect_object (worker, "notify::restarts", G_CALLBACK (restarts_cb), self, 0);
      if (COHORT_IS_PROCESS_WORKER (worker))
        g_signal_connect_object (worker, "notify::pid", G_CALLBACK (layout_changed),
                                 self, G_CONNECT_SWAPPED);
    }
}

static void
clusters_changed_cb (GListModel    *clusters,
                     guint          position,
                     guint          removed,
                     guint          added,
                     CohortSampler *self)
{
  layout_changed (self);
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);
      GListModel *workers = cohort_cluster_get_workers (cluster);

      g_signal_connect_object (cluster, "event", G_CALLBACK (cluster_event_cb), self, 0);
      g_signal_connect_object (cluster, "notify::name", G_CALLBACK (layout_changed),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (cluster, "notify::spec", G_CALLBACK (layout_changed),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (workers, "items-changed", G_CALLBACK (workers_changed_cb), self, 0);
      workers_changed_cb (workers, 0, 0, g_list_model_get_n_items (workers), self);
    }
}

/* GObject */

static void
cohort_sampler_dispose (GObject *object)
{
  CohortSampler *self = (CohortSampler *) object;

  g_clear_handle_id (&self->tick_source, g_source_remove);
  g_clear_weak_pointer (&self->supervisor);

  G_OBJECT_CLASS (cohort_sampler_parent_class)->dispose (object);
}

static void
cohort_sampler_finalize (GObject *object)
{
  CohortSampler *self = (CohortSampler *) object;

  g_ptr_array_unref (self->walk);
  g_hash_table_unref (self->slots);
  g_hash_table_unref (self->clusters);
  g_hash_table_unref (self->tasks);
  for (guint i = 0; i < COHORT_N_SELF_METRICS; i++)
    cohort_series_unref (self->self_series[i]);
  proc_close (&self->self_proc);
  g_queue_clear_full (&self->events, (GDestroyNotify) cohort_event_free);

  G_OBJECT_CLASS (cohort_sampler_parent_class)->finalize (object);
}

static void
cohort_sampler_class_init (CohortSamplerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cohort_sampler_dispose;
  object_class->finalize = cohort_sampler_finalize;

  clock_ticks = sysconf (_SC_CLK_TCK);
  if (clock_ticks <= 0)
    clock_ticks = 100;
  page_size = sysconf (_SC_PAGESIZE);

  /**
   * CohortSampler::sampled:
   *
   * New figures are in every series.
   */
  signals[SAMPLED] =
    g_signal_new ("sampled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cohort_sampler_init (CohortSampler *self)
{
  self->interval_ms = DEFAULT_INTERVAL_MS;
  self->history_s = DEFAULT_HISTORY_S;
  self->watched = TRUE;
  self->slots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, slot_free);
  self->clusters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, cluster_state_free);
  self->walk = g_ptr_array_new ();
  self->layout = 1;
  self->tasks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, task_series_free);
  for (guint i = 0; i < COHORT_N_SELF_METRICS; i++)
    self->self_series[i] = cohort_series_new (capacity (self));
  self->self_proc.fd = -1;
  self->self_proc.children_fd = -1;
  self->self_proc.pid = getpid ();
  self->self_proc.clock = CLOCK_PROCESS_CPUTIME_ID;
  g_queue_init (&self->events);
}

/**
 * cohort_sampler_new:
 * @supervisor: whose workers to sample; the supervisor owns the sampler
 */
CohortSampler *
cohort_sampler_new (CohortSupervisor *supervisor)
{
  CohortSampler *self;
  GListModel *clusters;

  g_return_val_if_fail (COHORT_IS_SUPERVISOR (supervisor), NULL);

  self = g_object_new (COHORT_TYPE_SAMPLER, NULL);
  g_set_weak_pointer (&self->supervisor, supervisor);
  clusters = cohort_supervisor_get_clusters (supervisor);
  g_signal_connect_object (clusters, "items-changed", G_CALLBACK (clusters_changed_cb), self, 0);
  clusters_changed_cb (clusters, 0, 0, g_list_model_get_n_items (clusters), self);
  schedule (self);
  return self;
}

guint
cohort_sampler_get_interval (CohortSampler *self)
{
  g_return_val_if_fail (COHORT_IS_SAMPLER (self), 0);
  return self->interval_ms;
}

static void
resize_all (CohortSampler *self)
{
  GHashTableIter iter;
  gpointer value;
  guint n = capacity (self);
  g_autoptr(GPtrArray) rings = g_ptr_array_sized_new (g_hash_table_size (self->slots));

  /* Every worker's ring into one new block: a tick still writes their
   * rows side by side (a metric's series shares its ring with the slot's
   * others). Spares of the old length go. */
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (rings, ((Slot *) value)->series[0]);
  cohort_series_resize_groups ((CohortSeries **) rings->pdata, rings->len, n);
  g_hash_table_iter_init (&iter, self->clusters);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      ClusterState *state = value;

      g_ptr_array_set_size (state->spare, 0);
      for (guint i = 0; i < COHORT_N_METRICS; i++)
        cohort_series_resize (state->totals[i], n);
    }
  g_hash_table_iter_init (&iter, self->tasks);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    for (guint i = 0; i < COHORT_N_TASK_METRICS; i++)
      cohort_series_resize (((CohortSeries **) value)[i], n);
  for (guint i = 0; i < COHORT_N_SELF_METRICS; i++)
    cohort_series_resize (self->self_series[i], n);
}

/* 100 ms to 10 s; the history keeps its length in time. */
void
cohort_sampler_set_interval (CohortSampler *self,
                             guint          interval_ms)
{
  g_return_if_fail (COHORT_IS_SAMPLER (self));

  interval_ms = CLAMP (interval_ms, MIN_INTERVAL_MS, MAX_INTERVAL_MS);
  if (interval_ms == self->interval_ms)
    return;
  self->interval_ms = interval_ms;
  resize_all (self);
  schedule (self);
}

guint
cohort_sampler_get_history (CohortSampler *self)
{
  g_return_val_if_fail (COHORT_IS_SAMPLER (self), 0);
  return self->history_s;
}

/* Seconds of history kept, 10 s to an hour: this, not how long Cohort
 * runs, fixes the memory the series use. */
void
cohort_sampler_set_history (CohortSampler *self,
                            guint          seconds)
{
  g_return_if_fail (COHORT_IS_SAMPLER (self));

  seconds = CLAMP (seconds, MIN_HISTORY_S, MAX_HISTORY_S);
  if (seconds == self->history_s)
    return;
  self->history_s = seconds;
  resize_all (self);
}

/* Whether anyone looks at the graphs; when not, sampling slows down. */
void
cohort_sampler_set_watched (CohortSampler *self,
                            gboolean       watched)
{
  g_return_if_fail (COHORT_IS_SAMPLER (self));

  watched = !!watched;
  if (watched == self->watched)
    return;
  self->watched = watched;
  schedule (self);
}

/**
 * cohort_sampler_get_series:
 *
 * Returns: (transfer none) (nullable): the history of @metric for slot
 *   @worker of @cluster, or %NULL before its first sample
 */
CohortSeries *
cohort_sampler_get_series (CohortSampler *self,
                           const char    *cluster,
                           guint          worker,
                           CohortMetric   metric)
{
  Slot *slot;

  g_return_val_if_fail (COHORT_IS_SAMPLER (self), NULL);
  g_return_val_if_fail (metric < COHORT_N_METRICS, NULL);

  slot = lookup_slot (self, cluster, worker, NULL);
  return slot != NULL ? slot->series[metric] : NULL;
}

/* Returns: (transfer none) (nullable): the cluster's total of @metric */
CohortSeries *
cohort_sampler_get_cluster_series (CohortSampler *self,
                                   const char    *cluster,
                                   CohortMetric   metric)
{
  ClusterState *state;

  g_return_val_if_fail (COHORT_IS_SAMPLER (self), NULL);
  g_return_val_if_fail (metric < COHORT_N_METRICS, NULL);

  state = lookup_cluster (self, cluster, FALSE);
  return state != NULL ? state->totals[metric] : NULL;
}

/* Returns: (transfer none): Cohort's own CPU, memory or main-loop lag */
CohortSeries *
cohort_sampler_get_self_series (CohortSampler    *self,
                                CohortSelfMetric  metric)
{
  g_return_val_if_fail (COHORT_IS_SAMPLER (self), NULL);
  g_return_val_if_fail (metric < COHORT_N_SELF_METRICS, NULL);
  return self->self_series[metric];
}

/**
 * cohort_sampler_get_task_series:
 *
 * Returns: (transfer none) (nullable): the history of @metric of thread
 *   cluster @cluster, or %NULL for a process cluster or before its first
 *   sample
 */
CohortSeries *
cohort_sampler_get_task_series (CohortSampler    *self,
                                const char       *cluster,
                                CohortTaskMetric  metric)
{
  CohortSeries **series;

  g_return_val_if_fail (COHORT_IS_SAMPLER (self), NULL);
  g_return_val_if_fail (cluster != NULL, NULL);
  g_return_val_if_fail (metric < COHORT_N_TASK_METRICS, NULL);

  series = lookup_task_series (self, cluster, FALSE);
  return series != NULL ? series[metric] : NULL;
}

/* The newest figure of @metric for @worker's slot; NAN when unknown. */
double
cohort_sampler_get_current (CohortSampler *self,
                            CohortWorker  *worker,
                            CohortMetric   metric)
{
  CohortCluster *cluster;
  CohortSeries *series;

  g_return_val_if_fail (COHORT_IS_SAMPLER (self), NAN);
  g_return_val_if_fail (COHORT_IS_WORKER (worker), NAN);

  cluster = cohort_worker_get_cluster (worker);
  if (cluster == NULL || !cohort_worker_is_running (worker))
    return NAN;
  series = cohort_sampler_get_series (self, cohort_cluster_get_name (cluster),
                                      cohort_worker_get_id (worker), metric);
  return series != NULL ? cohort_series_get_last (series) : NAN;
}

/**
 * cohort_sampler_dup_children:
 *
 * Returns: (transfer container) (element-type CohortProcessSample): the
 *   worker's descendants at the last sample, with their figures
 */
GPtrArray *
cohort_sampler_dup_children (CohortSampler *self,
                             CohortWorker  *worker)
{
  GPtrArray *children = g_ptr_array_new_with_free_func ((GDestroyNotify) cohort_process_sample_free);
  CohortCluster *cluster;
  Slot *slot;

  g_return_val_if_fail (COHORT_IS_SAMPLER (self), children);

  cluster = cohort_worker_get_cluster (worker);
  slot = cluster != NULL ? lookup_slot (self, cohort_cluster_get_name (cluster),
                                        cohort_worker_get_id (worker), NULL) : NULL;
  for (guint i = 0; slot != NULL && i < slot->children->len; i++)
    {
      const CohortProcessSample *sample = g_ptr_array_index (slot->children, i);
      CohortProcessSample *copy = g_memdup2 (sample, sizeof *sample);

      copy->command = g_strdup (sample->command);
      g_ptr_array_add (children, copy);
    }
  return children;
}

/* The slots' keys are "cluster/id". */
static gboolean
slot_of (const char *key,
         const char *cluster)
{
  gsize n = strlen (cluster);

  return strncmp (key, cluster, n) == 0 && key[n] == '/';
}

/**
 * cohort_sampler_rename_cluster:
 *
 * A cluster renamed in place keeps its history: its series, totals, task
 * figures and events go under the new name.
 */
void
cohort_sampler_rename_cluster (CohortSampler *self,
                               const char    *old_name,
                               const char    *new_name)
{
  g_autoptr(GPtrArray) moved = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  g_return_if_fail (COHORT_IS_SAMPLER (self));
  g_return_if_fail (old_name != NULL && new_name != NULL);

  if (g_str_equal (old_name, new_name))
    return;
  cohort_sampler_forget_cluster (self, new_name);
  self->generation++;
  layout_changed (self);

  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (slot_of (key, old_name))
      g_ptr_array_add (moved, g_strdup (key));
  for (guint i = 0; i < moved->len; i++)
    {
      const char *old_key = g_ptr_array_index (moved, i);
      char *new_key = g_strconcat (new_name, old_key + strlen (old_name), NULL);
      gpointer stolen_key;
      gpointer slot;

      g_hash_table_steal_extended (self->slots, old_key, &stolen_key, &slot);
      g_free (stolen_key);
      g_hash_table_insert (self->slots, new_key, slot);
    }
  if (g_hash_table_steal_extended (self->clusters, old_name, &key, &value))
    {
      g_free (key);
      g_hash_table_insert (self->clusters, g_strdup (new_name), value);
    }
  if (g_hash_table_steal_extended (self->tasks, old_name, &key, &value))
    {
      g_free (key);
      g_hash_table_insert (self->tasks, g_strdup (new_name), value);
    }
  for (GList *l = self->events.head; l != NULL; l = l->next)
    {
      CohortEvent *event = l->data;

      if (g_strcmp0 (event->cluster, old_name) == 0)
        {
          g_free (event->cluster);
          event->cluster = g_strdup (new_name);
        }
    }
}

/**
 * cohort_sampler_forget_cluster:
 *
 * A cluster that is gone takes its history with it, so that another one
 * given its name later starts afresh (and --export lists it no more).
 */
void
cohort_sampler_forget_cluster (CohortSampler *self,
                               const char    *name)
{
  GHashTableIter iter;
  gpointer key;
  GList *l;

  g_return_if_fail (COHORT_IS_SAMPLER (self));
  g_return_if_fail (name != NULL);

  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (slot_of (key, name))
      g_hash_table_iter_remove (&iter);
  g_hash_table_remove (self->clusters, name);
  self->generation++;
  layout_changed (self);
  g_hash_table_remove (self->tasks, name);
  for (l = self->events.head; l != NULL;)
    {
      GList *next = l->next;
      CohortEvent *event = l->data;

      if (g_strcmp0 (event->cluster, name) == 0)
        {
          cohort_event_free (event);
          g_queue_delete_link (&self->events, l);
        }
      l = next;
    }
}

/* Returns: (transfer container) (element-type CohortEvent): restarts,
 *   scaling and reloads, oldest first */
GPtrArray *
cohort_sampler_dup_events (CohortSampler *self)
{
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) cohort_event_free);

  g_return_val_if_fail (COHORT_IS_SAMPLER (self), events);

  for (GList *l = self->events.head; l != NULL; l = l->next)
    {
      const CohortEvent *event = l->data;
      CohortEvent *copy = g_memdup2 (event, sizeof *event);

      copy->cluster = g_strdup (event->cluster);
      copy->kind = g_strdup (event->kind);
      copy->text = g_strdup (event->text);
      g_ptr_array_add (events, copy);
    }
  return events;
}

/* CSV */

static void
append_number (GString *out,
               double   value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append_c (out, ',');
  if (isnan (value))
    return;
  /* Bytes and counts whole, rates and percentages to a thousandth. */
  if (value == floor (value) && fabs (value) < 1e15)
    g_string_append_printf (out, "%.0f", value);
  else
    g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.3f", value));
}

static int
compare_keys (gconstpointer a,
              gconstpointer b)
{
  return g_strcmp0 (*(const char **) a, *(const char **) b);
}

/**
 * cohort_sampler_export_csv:
 *
 * Writes the history of every series: a row per worker and sample time
 * (empty cells for gaps), then Cohort's own rows. Atomic: the file is
 * replaced whole or not at all.
 */
gboolean
cohort_sampler_export_csv (CohortSampler  *self,
                           const char     *path,
                           GError        **error)
{
  g_autoptr(GString) out = g_string_new ("time,cluster,worker");
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (COHORT_IS_SAMPLER (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  for (guint m = 0; m < COHORT_N_METRICS; m++)
    g_string_append_printf (out, ",%s", cohort_metric_to_string (m));
  g_string_append (out, ",lag_ms\n");

  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_keys);

  for (guint k = 0; k < keys->len; k++)
    {
      const char *slot_key = g_ptr_array_index (keys, k);
      Slot *slot = g_hash_table_lookup (self->slots, slot_key);
      const char *slash = strrchr (slot_key, '/');
      g_autofree char *cluster = g_strndup (slot_key, slash - slot_key);
      guint n = cohort_series_get_length (slot->series[0]);

      for (guint i = 0; i < n; i++)
        {
          g_autofree char *time = cohort_status_format_time (cohort_series_get_time (slot->series[0], i));

          g_string_append_printf (out, "%s,%s,%s", time, cluster, slash + 1);
          for (guint m = 0; m < COHORT_N_METRICS; m++)
            append_number (out, cohort_series_get_value (slot->series[m], i));
          g_string_append (out, ",\n");
        }
    }

  for (guint i = 0; i < cohort_series_get_length (self->self_series[COHORT_SELF_CPU]); i++)
    {
      CohortSeries *cpu = self->self_series[COHORT_SELF_CPU];
      CohortSeries *rss = self->self_series[COHORT_SELF_RSS];
      CohortSeries *lag = self->self_series[COHORT_SELF_LAG];
      g_autofree char *time = cohort_status_format_time (cohort_series_get_time (cpu, i));
      guint lag_index = cohort_series_get_length (lag) - MIN (cohort_series_get_length (lag),
                                                              cohort_series_get_length (cpu) - i);

      g_string_append_printf (out, "%s,cohort,self", time);
      append_number (out, cohort_series_get_value (cpu, i));
      append_number (out, i < cohort_series_get_length (rss) ? cohort_series_get_value (rss, i) : NAN);
      for (guint m = COHORT_METRIC_MESSAGES_IN; m < COHORT_N_METRICS; m++)
        g_string_append_c (out, ',');
      append_number (out, lag_index < cohort_series_get_length (lag)
                            ? cohort_series_get_value (lag, lag_index) : NAN);
      g_string_append_c (out, '\n');
    }

  return g_file_set_contents_full (path, out->str, out->len,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}
