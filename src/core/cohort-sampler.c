/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-sampler.c: CPU, memory and message traffic of every worker, and
 * of Cohort itself, at the sample interval, kept as history.
 *
 * libgtop has no locking, so all its calls happen on one thread: a single
 * sampler thread for the whole process, fed requests (the pids to read)
 * from the main thread. The hot path, each worker at each tick, is one
 * pread of its /proc/PID/stat through a descriptor kept open (about ten
 * times cheaper than libgtop's calls, which reopen their files); libgtop
 * reads Cohort itself and names the workers' descendants. The thread
 * answers with the readings whole, through a
 * source attached to the main context. The main thread turns readings into
 * figures (CPU from tick deltas, with the start time guarding against pid
 * reuse) and pushes them into fixed-size series. A tick whose request is
 * still being read is skipped, so a slow read never piles up work, and the
 * window's frames never wait for sampling. */

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <fcntl.h>

/* libgtop's headers test macros they never define. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#include <glibtop.h>
#include <glibtop/procmem.h>
#include <glibtop/procstate.h>
#include <glibtop/proctime.h>
#include <glibtop/procuid.h>
#pragma GCC diagnostic pop
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cohort-process-worker.h"
#include "cohort-sampler.h"
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

/* The sampler thread */

typedef struct
{
  GPid     pid;
  GPid     ppid;
  gboolean ok;
  guint64  start_time;
  guint64  rtime;
  guint64  frequency;
  guint64  rss;
  char     command[40];
} Reading;

typedef struct
{
  CohortSampler *sampler;       /* a reference */
  GMainContext  *context;
  gint64         mono;
  gint64         wall;
  GArray        *pids;          /* GPid: the workers asked for */
  GArray        *readings;      /* Reading, one per pid */
  GPtrArray     *trees;         /* GArray of Reading (descendants), one per pid */
  Reading        self;
} Request;

static GAsyncQueue *requests;

/* The sampler thread's own: /proc/PID/stat of each worker, kept open. A
 * descriptor stays tied to the process it was opened for (reads fail once
 * it is gone, even if the pid is reused), and one pread a tick is all a
 * worker costs. */
typedef struct
{
  int    fd;
  int    children_fd;   /* /proc/PID/task/PID/children, or -1 */
  gint64 used;          /* monotonic µs */
} StatFile;

static GHashTable *stat_files;   /* pid → StatFile */

#define STAT_FILE_IDLE_US (30 * G_USEC_PER_SEC)

static void
free_tree (gpointer data)
{
  if (data != NULL)
    g_array_unref (data);
}

static void
request_free (gpointer data)
{
  Request *request = data;

  g_clear_object (&request->sampler);
  g_main_context_unref (request->context);
  g_array_unref (request->pids);
  g_array_unref (request->readings);
  g_ptr_array_unref (request->trees);
  g_free (request);
}

static void
stat_file_free (gpointer data)
{
  StatFile *file = data;

  close (file->fd);
  if (file->children_fd >= 0)
    close (file->children_fd);
  g_free (file);
}

/* CPU time, start time and resident memory from one read of the worker's
 * /proc/PID/stat; FALSE when the process is gone. */
static gboolean
read_stat_fast (GPid     pid,
                Reading *reading)
{
  static long ticks_per_second;
  static long page_size;
  StatFile *file;
  char buf[1024];
  const char *paren;
  unsigned long utime;
  unsigned long stime;
  unsigned long long start;
  long rss;
  ssize_t n;

  if (stat_files == NULL)
    {
      stat_files = g_hash_table_new_full (NULL, NULL, NULL, stat_file_free);
      ticks_per_second = sysconf (_SC_CLK_TCK);
      page_size = sysconf (_SC_PAGESIZE);
    }

  file = g_hash_table_lookup (stat_files, GINT_TO_POINTER (pid));
  if (file == NULL)
    {
      char path[64];
      int fd;

      g_snprintf (path, sizeof path, "/proc/%d/stat", pid);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return FALSE;
      file = g_new0 (StatFile, 1);
      file->fd = fd;
      g_snprintf (path, sizeof path, "/proc/%d/task/%d/children", pid, pid);
      file->children_fd = open (path, O_RDONLY | O_CLOEXEC);
      g_hash_table_insert (stat_files, GINT_TO_POINTER (pid), file);
    }
  file->used = g_get_monotonic_time ();

  n = pread (file->fd, buf, sizeof buf - 1, 0);
  if (n <= 0)
    {
      g_hash_table_remove (stat_files, GINT_TO_POINTER (pid));
      return FALSE;
    }
  buf[n] = '\0';

  /* The command may hold spaces and parentheses: fields start after the
   * last ')'. */
  paren = strrchr (buf, ')');
  if (paren == NULL ||
      sscanf (paren + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d %llu %*u %ld",
              &utime, &stime, &start, &rss) != 4)
    return FALSE;

  memset (reading, 0, sizeof *reading);
  reading->pid = pid;
  reading->ok = TRUE;
  reading->rtime = utime + stime;
  reading->frequency = ticks_per_second > 0 ? ticks_per_second : 100;
  reading->start_time = start;
  reading->rss = (guint64) MAX (rss, 0) * page_size;
  return TRUE;
}

/* Descriptors of workers not asked about for a while. */
static void
close_idle_stat_files (void)
{
  static gint64 last;
  GHashTableIter iter;
  gpointer value;
  gint64 now = g_get_monotonic_time ();

  /* Now and then is enough: a descriptor of a dead process fails its
   * next read and is closed there. */
  if (stat_files == NULL || now - last < STAT_FILE_IDLE_US / 3)
    return;
  last = now;
  g_hash_table_iter_init (&iter, stat_files);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (now - ((StatFile *) value)->used > STAT_FILE_IDLE_US)
      g_hash_table_iter_remove (&iter);
}

/* CPU time and memory: what every worker needs at every tick. Its command
 * and parent (two more libgtop calls, two more files) only for the
 * descendants, which are listed by name. */
static void
read_process (GPid      pid,
              gboolean  describe,
              Reading  *reading)
{
  glibtop_proc_time time;
  glibtop_proc_mem mem;

  memset (reading, 0, sizeof *reading);
  reading->pid = pid;

  glibtop_get_proc_time (&time, pid);
  /* A pid that is gone reads as zeroes with no flags. */
  if (time.flags == 0 || time.start_time == 0)
    return;
  glibtop_get_proc_mem (&mem, pid);

  reading->ok = TRUE;
  reading->start_time = time.start_time;
  reading->rtime = time.rtime;
  reading->frequency = time.frequency > 0 ? time.frequency : 100;
  reading->rss = mem.resident;

  if (describe)
    {
      glibtop_proc_state state;
      glibtop_proc_uid uid;

      glibtop_get_proc_state (&state, pid);
      glibtop_get_proc_uid (&uid, pid);
      reading->ppid = uid.ppid;
      g_strlcpy (reading->command, state.cmd, sizeof reading->command);
    }
}

/* The kernel's list of a process's children, as forked by its main
 * thread (Node's child_process, Python's multiprocessing and the usual
 * forking servers fork from there); one small file, read through the
 * descriptor kept open for a worker. */
static void
add_children (GPid    pid,
              GQueue *out)
{
  StatFile *file = stat_files != NULL ? g_hash_table_lookup (stat_files, GINT_TO_POINTER (pid)) : NULL;
  char text[4096];
  char *p;
  ssize_t n;

  if (file != NULL && file->children_fd >= 0)
    n = pread (file->children_fd, text, sizeof text - 1, 0);
  else
    {
      char path[64];
      int fd;

      g_snprintf (path, sizeof path, "/proc/%d/task/%d/children", pid, pid);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return;
      n = read (fd, text, sizeof text - 1);
      close (fd);
    }
  if (n <= 0)
    return;
  text[n] = '\0';

  for (p = text; *p != '\0';)
    {
      char *end = NULL;
      long child = strtol (p, &end, 10);

      if (end == p)
        break;
      p = end;
      if (child > 0)
        g_queue_push_tail (out, GINT_TO_POINTER (child));
    }
}

static GArray *
read_descendants (GPid pid)
{
  GArray *tree = g_array_new (FALSE, TRUE, sizeof (Reading));
  GQueue pending = G_QUEUE_INIT;

  add_children (pid, &pending);
  while (!g_queue_is_empty (&pending) && tree->len < MAX_DESCENDANTS)
    {
      GPid child = GPOINTER_TO_INT (g_queue_pop_head (&pending));
      Reading reading;

      read_process (child, TRUE, &reading);
      if (!reading.ok)
        continue;
      g_array_append_val (tree, reading);
      add_children (child, &pending);
    }
  g_queue_clear (&pending);
  return tree;
}

static gboolean reading_ready_cb (gpointer data);

static gpointer
sampler_thread (gpointer data)
{
  glibtop_init ();

  for (;;)
    {
      Request *request = g_async_queue_pop (requests);
      GSource *source;

      for (guint i = 0; i < request->pids->len; i++)
        {
          GPid pid = g_array_index (request->pids, GPid, i);
          Reading reading;

          if (!read_stat_fast (pid, &reading))
            {
              memset (&reading, 0, sizeof reading);
              reading.pid = pid;
            }
          g_array_append_val (request->readings, reading);
          g_ptr_array_add (request->trees, reading.ok ? read_descendants (pid) : NULL);
        }
      read_process (getpid (), FALSE, &request->self);
      close_idle_stat_files ();

      source = g_idle_source_new ();
      /* Above GTK's redraw priority: slow frames must not stop sampling. */
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, reading_ready_cb, request, request_free);
      g_source_set_static_name (source, "[cohort] sample");
      g_source_attach (source, request->context);
      g_source_unref (source);
    }
  return NULL;
}

static void
ensure_thread (void)
{
  static gsize started;

  if (g_once_init_enter (&started))
    {
      requests = g_async_queue_new ();
      g_thread_unref (g_thread_new ("cohort-sampler", sampler_thread, NULL));
      g_once_init_leave (&started, 1);
    }
}

/* The main thread */

typedef struct
{
  GPid     pid;
  guint64  start_time;
  guint64  rtime;
  gint64   mono;
} CpuMark;

typedef struct
{
  CohortSeries *series[COHORT_N_METRICS];
  CpuMark       cpu;            /* the process, or a thread (pid 0, rtime in ns) */
  GHashTable   *child_marks;    /* pid → CpuMark */
  guint64       counters[4];    /* messages and bytes, in and out */
  gint64        counters_mono;
  GPtrArray    *children;       /* CohortProcessSample, the last sample */
} Slot;

struct _CohortSampler
{
  GObject           parent_instance;

  CohortSupervisor *supervisor;  /* weak: the supervisor owns its sampler */
  guint             interval_ms;
  guint             history_s;
  gboolean          watched;
  guint             tick_source;
  gint64            expected_tick;
  gboolean          in_flight;

  GHashTable       *slots;       /* "cluster/id" → Slot */
  GHashTable       *clusters;    /* cluster name → CohortSeries *[COHORT_N_METRICS] */
  GHashTable       *tasks;       /* thread cluster name → CohortSeries *[COHORT_N_TASK_METRICS] */
  CohortSeries     *self_series[COHORT_N_SELF_METRICS];
  CpuMark           self_cpu;
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

static void
slot_free (gpointer data)
{
  Slot *slot = data;

  for (guint i = 0; i < COHORT_N_METRICS; i++)
    cohort_series_unref (slot->series[i]);
  g_hash_table_unref (slot->child_marks);
  g_ptr_array_unref (slot->children);
  g_free (slot);
}

static void
cluster_series_free (gpointer data)
{
  CohortSeries **series = data;

  for (guint i = 0; i < COHORT_N_METRICS; i++)
    cohort_series_unref (series[i]);
  g_free (series);
}

static void
task_series_free (gpointer data)
{
  CohortSeries **series = data;

  for (guint i = 0; i < COHORT_N_TASK_METRICS; i++)
    cohort_series_unref (series[i]);
  g_free (series);
}

static Slot *
lookup_slot (CohortSampler *self,
             const char    *cluster,
             guint          id,
             gboolean       create)
{
  g_autofree char *key = g_strdup_printf ("%s/%u", cluster, id);
  Slot *slot = g_hash_table_lookup (self->slots, key);

  if (slot == NULL && create)
    {
      slot = g_new0 (Slot, 1);
      for (guint i = 0; i < COHORT_N_METRICS; i++)
        slot->series[i] = cohort_series_new (capacity (self));
      slot->child_marks = g_hash_table_new_full (NULL, NULL, NULL, g_free);
      slot->children = g_ptr_array_new_with_free_func ((GDestroyNotify) cohort_process_sample_free);
      g_hash_table_insert (self->slots, g_steal_pointer (&key), slot);
    }
  return slot;
}

static CohortSeries **
lookup_cluster_series (CohortSampler *self,
                       const char    *cluster,
                       gboolean       create)
{
  CohortSeries **series = g_hash_table_lookup (self->clusters, cluster);

  if (series == NULL && create)
    {
      series = g_new0 (CohortSeries *, COHORT_N_METRICS);
      for (guint i = 0; i < COHORT_N_METRICS; i++)
        series[i] = cohort_series_new (capacity (self));
      g_hash_table_insert (self->clusters, g_strdup (cluster), series);
    }
  return series;
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
      for (guint i = 0; i < COHORT_N_TASK_METRICS; i++)
        series[i] = cohort_series_new (capacity (self));
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

static const Reading *
find_reading (Request *request,
              GPid     pid,
              GArray **tree)
{
  for (guint i = 0; i < request->pids->len; i++)
    if (g_array_index (request->pids, GPid, i) == pid)
      {
        *tree = g_ptr_array_index (request->trees, i);
        return &g_array_index (request->readings, Reading, i);
      }
  *tree = NULL;
  return NULL;
}

static void
sample_tree (Slot          *slot,
             GArray        *tree,
             gint64         mono,
             double        *tree_cpu,
             guint64       *tree_rss)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);

  g_ptr_array_set_size (slot->children, 0);
  for (guint i = 0; tree != NULL && i < tree->len; i++)
    {
      const Reading *reading = &g_array_index (tree, Reading, i);
      CpuMark *mark = g_hash_table_lookup (slot->child_marks, GINT_TO_POINTER (reading->pid));
      CohortProcessSample *sample = g_new0 (CohortProcessSample, 1);

      if (mark == NULL)
        {
          mark = g_new0 (CpuMark, 1);
          g_hash_table_insert (slot->child_marks, GINT_TO_POINTER (reading->pid), mark);
        }
      sample->pid = reading->pid;
      sample->ppid = reading->ppid;
      sample->cpu = cpu_percent (mark, reading, mono);
      sample->rss = reading->rss;
      sample->command = g_strdup (reading->command);
      g_ptr_array_add (slot->children, sample);
      g_hash_table_add (seen, GINT_TO_POINTER (reading->pid));

      if (!isnan (sample->cpu))
        *tree_cpu += sample->cpu;
      *tree_rss += reading->rss;
    }

  /* Forget the children that are gone. */
  {
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, slot->child_marks);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      if (!g_hash_table_contains (seen, key))
        g_hash_table_iter_remove (&iter);
  }
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
  for (guint i = 0; i < COHORT_N_TASK_METRICS; i++)
    cohort_series_push (series[i], wall, values[i]);
}

/* One worker's figures from the request's readings (or, for a thread, from
 * its own clock), pushed into its series. */
static void
sample_worker (CohortSampler *self,
               CohortCluster *cluster,
               CohortWorker  *worker,
               Request       *request,
               double        *values)
{
  Slot *slot = lookup_slot (self, cohort_cluster_get_name (cluster), cohort_worker_get_id (worker), TRUE);
  guint64 counters[4];
  double dt;

  for (guint i = 0; i < COHORT_N_METRICS; i++)
    values[i] = NAN;

  counters[0] = cohort_worker_get_messages_in (worker);
  counters[1] = cohort_worker_get_messages_out (worker);
  counters[2] = cohort_worker_get_bytes_in (worker);
  counters[3] = cohort_worker_get_bytes_out (worker);

  if (cohort_worker_is_running (worker))
    {
      if (COHORT_IS_PROCESS_WORKER (worker))
        {
          GPid pid = cohort_process_worker_get_pid (COHORT_PROCESS_WORKER (worker));
          GArray *tree = NULL;
          const Reading *reading = pid > 0 ? find_reading (request, pid, &tree) : NULL;

          if (reading != NULL && reading->ok)
            {
              double tree_cpu;
              guint64 tree_rss;

              values[COHORT_METRIC_CPU] = cpu_percent (&slot->cpu, reading, request->mono);
              values[COHORT_METRIC_RSS] = reading->rss;
              tree_cpu = isnan (values[COHORT_METRIC_CPU]) ? 0 : values[COHORT_METRIC_CPU];
              tree_rss = reading->rss;
              sample_tree (slot, tree, request->mono, &tree_cpu, &tree_rss);
              if (slot->children->len > 0)
                {
                  values[COHORT_METRIC_TREE_CPU] = tree_cpu;
                  values[COHORT_METRIC_TREE_RSS] = tree_rss;
                }
            }
        }
      else if (COHORT_IS_THREAD_WORKER (worker))
        {
          CohortThreadWorker *thread = COHORT_THREAD_WORKER (worker);
          gint64 ns = cohort_thread_worker_get_cpu_time (thread);
          Reading reading = { 0 };

          if (ns >= 0)
            {
              /* The thread's clock, in ns, as if it were ticks. */
              reading.pid = cohort_thread_worker_get_tid (thread);
              reading.start_time = 1;
              reading.rtime = (guint64) ns;
              reading.frequency = 1000000000;
              values[COHORT_METRIC_CPU] = cpu_percent (&slot->cpu, &reading, request->mono);
            }
          values[COHORT_METRIC_RSS] = cohort_thread_worker_get_memory (thread);
        }

      dt = (request->mono - slot->counters_mono) / (double) G_USEC_PER_SEC;
      if (slot->counters_mono > 0 && dt > 0)
        for (guint i = 0; i < 4; i++)
          values[COHORT_METRIC_MESSAGES_IN + i] =
            counters[i] >= slot->counters[i] ? (counters[i] - slot->counters[i]) / dt : 0;
    }
  else
    {
      memset (&slot->cpu, 0, sizeof slot->cpu);
      g_ptr_array_set_size (slot->children, 0);
      g_hash_table_remove_all (slot->child_marks);
    }

  memcpy (slot->counters, counters, sizeof counters);
  slot->counters_mono = request->mono;

  for (guint i = 0; i < COHORT_N_METRICS; i++)
    cohort_series_push (slot->series[i], request->wall, values[i]);
}

static gboolean
reading_ready_cb (gpointer data)
{
  Request *request = data;
  CohortSampler *self = request->sampler;
  GListModel *clusters;
  double task_cpu = 0;

  self->in_flight = FALSE;
  if (self->supervisor == NULL)
    return G_SOURCE_REMOVE;

  clusters = cohort_supervisor_get_clusters (self->supervisor);
  for (guint i = 0; i < g_list_model_get_n_items (clusters); i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);
      gboolean threads = cohort_cluster_get_spec (cluster)->kind == COHORT_CLUSTER_KIND_THREADS;
      GListModel *workers = cohort_cluster_get_workers (cluster);
      CohortSeries **totals = lookup_cluster_series (self, cohort_cluster_get_name (cluster), TRUE);
      double sums[COHORT_N_METRICS] = { 0 };
      guint counted[COHORT_N_METRICS] = { 0 };

      for (guint j = 0; j < g_list_model_get_n_items (workers); j++)
        {
          g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, j);
          double values[COHORT_N_METRICS];

          /* A reload's replacement is sampled once it owns the slot, and a
           * worker retiring from a slot no longer speaks for it. */
          if (_cohort_worker_get_incoming (worker) || _cohort_worker_get_retiring (worker))
            continue;
          sample_worker (self, cluster, worker, request, values);
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
        cohort_series_push (totals[m], request->wall, counted[m] > 0 ? sums[m] : NAN);
      if (threads)
        sample_tasks (self, cluster, request->wall);
    }

  /* Cohort's own work: its thread clusters' tasks are theirs. */
  if (request->self.ok)
    {
      double cpu = cpu_percent (&self->self_cpu, &request->self, request->mono);

      cohort_series_push (self->self_series[COHORT_SELF_CPU], request->wall,
                          isnan (cpu) ? NAN : MAX (0, cpu - task_cpu));
      cohort_series_push (self->self_series[COHORT_SELF_RSS], request->wall, request->self.rss);
    }

  g_signal_emit (self, signals[SAMPLED], 0);
  return G_SOURCE_REMOVE;
}

static void schedule (CohortSampler *self);

/* The timer's lateness is the main loop's lag: how long something else
 * held it when the tick was due. */
static gboolean
tick_cb (gpointer data)
{
  CohortSampler *self = data;
  gint64 now = g_get_monotonic_time ();
  double lag_ms = MAX (0, now - self->expected_tick) / 1000.0;

  self->tick_source = 0;
  cohort_series_push (self->self_series[COHORT_SELF_LAG], g_get_real_time (), lag_ms);
  cohort_sampler_sample_now (self);
  schedule (self);
  return G_SOURCE_REMOVE;
}

static void
schedule (CohortSampler *self)
{
  guint interval = self->interval_ms;

  if (!self->watched)
    interval = MIN (MAX_INTERVAL_MS, interval * UNWATCHED_FACTOR);
  g_clear_handle_id (&self->tick_source, g_source_remove);
  self->expected_tick = g_get_monotonic_time () + (gint64) interval * 1000;
  self->tick_source = g_timeout_add_full (G_PRIORITY_DEFAULT, interval, tick_cb, self, NULL);
  g_source_set_name_by_id (self->tick_source, "[cohort] sampler tick");
}

/**
 * cohort_sampler_sample_now:
 *
 * Asks for a sample at once (the next tick stays where it was). Skipped
 * while the previous one is still being read.
 */
void
cohort_sampler_sample_now (CohortSampler *self)
{
  Request *request;
  GListModel *clusters;

  g_return_if_fail (COHORT_IS_SAMPLER (self));

  if (self->in_flight || self->supervisor == NULL)
    return;

  request = g_new0 (Request, 1);
  request->sampler = g_object_ref (self);
  request->context = g_main_context_ref_thread_default ();
  request->mono = g_get_monotonic_time ();
  request->wall = g_get_real_time ();
  request->pids = g_array_new (FALSE, FALSE, sizeof (GPid));
  request->readings = g_array_new (FALSE, TRUE, sizeof (Reading));
  /* NULL for a process that could not be read (it may have just exited). */
  request->trees = g_ptr_array_new_with_free_func (free_tree);

  clusters = cohort_supervisor_get_clusters (self->supervisor);
  for (guint i = 0; i < g_list_model_get_n_items (clusters); i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);
      GListModel *workers = cohort_cluster_get_workers (cluster);

      for (guint j = 0; j < g_list_model_get_n_items (workers); j++)
        {
          g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, j);
          GPid pid;

          if (!COHORT_IS_PROCESS_WORKER (worker))
            continue;
          pid = cohort_process_worker_get_pid (COHORT_PROCESS_WORKER (worker));
          if (pid > 0)
            g_array_append_val (request->pids, pid);
        }
    }

  self->in_flight = TRUE;
  ensure_thread ();
  g_async_queue_push (requests, request);
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
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      g_signal_connect_object (worker, "notify::restarts", G_CALLBACK (restarts_cb), self, 0);
    }
}

static void
clusters_changed_cb (GListModel    *clusters,
                     guint          position,
                     guint          removed,
                     guint          added,
                     CohortSampler *self)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);
      GListModel *workers = cohort_cluster_get_workers (cluster);

      g_signal_connect_object (cluster, "event", G_CALLBACK (cluster_event_cb), self, 0);
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

  g_hash_table_unref (self->slots);
  g_hash_table_unref (self->clusters);
  g_hash_table_unref (self->tasks);
  for (guint i = 0; i < COHORT_N_SELF_METRICS; i++)
    cohort_series_unref (self->self_series[i]);
  g_queue_clear_full (&self->events, (GDestroyNotify) cohort_event_free);

  G_OBJECT_CLASS (cohort_sampler_parent_class)->finalize (object);
}

static void
cohort_sampler_class_init (CohortSamplerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cohort_sampler_dispose;
  object_class->finalize = cohort_sampler_finalize;

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
  self->clusters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, cluster_series_free);
  self->tasks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, task_series_free);
  for (guint i = 0; i < COHORT_N_SELF_METRICS; i++)
    self->self_series[i] = cohort_series_new (capacity (self));
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

  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    for (guint i = 0; i < COHORT_N_METRICS; i++)
      cohort_series_resize (((Slot *) value)->series[i], n);
  g_hash_table_iter_init (&iter, self->clusters);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    for (guint i = 0; i < COHORT_N_METRICS; i++)
      cohort_series_resize (((CohortSeries **) value)[i], n);
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

  slot = lookup_slot (self, cluster, worker, FALSE);
  return slot != NULL ? slot->series[metric] : NULL;
}

/* Returns: (transfer none) (nullable): the cluster's total of @metric */
CohortSeries *
cohort_sampler_get_cluster_series (CohortSampler *self,
                                   const char    *cluster,
                                   CohortMetric   metric)
{
  CohortSeries **series;

  g_return_val_if_fail (COHORT_IS_SAMPLER (self), NULL);
  g_return_val_if_fail (metric < COHORT_N_METRICS, NULL);

  series = lookup_cluster_series (self, cluster, FALSE);
  return series != NULL ? series[metric] : NULL;
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
                                        cohort_worker_get_id (worker), FALSE) : NULL;
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
