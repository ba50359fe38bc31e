/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-metrics.c: the sampler against workers whose load is known: one
 * that burns a core, half a core, or sleeps; one that holds 64 MiB; one
 * with two busy children; message rates against messages sent; a thread
 * cluster's queue and task times; restart events; Cohort's own figures;
 * the slower pace when nobody watches; the CSV export; at the default
 * pace of one tick a second, a busy and an idle worker; resident memory
 * as /proc/PID/statm counts it; no figures from a process that took an
 * exited worker's pid; a worker restarted or replaced between two ticks
 * read as it is now; and no descriptor left open after workers come and
 * go. Bounds are wide: the machine is shared. */

#include "config.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cohort-process-worker.h"
#include "cohort-test-util.h"
#include "cohort-thread-worker.h"

#define INTERVAL_MS 200

typedef struct
{
  char             *dir;
  char             *worker;
  CohortSupervisor *supervisor;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = cohort_test_make_dir ();
  f->worker = g_shell_quote (cohort_test_worker_path ());
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  cohort_test_release (&f->dir, &f->supervisor);
  g_free (f->worker);
}

static CohortSampler *
sampler (Fixture *f)
{
  CohortSampler *s = cohort_supervisor_get_sampler (f->supervisor);

  cohort_sampler_set_interval (s, INTERVAL_MS);
  return s;
}

typedef struct
{
  CohortSampler *sampler;
  guint          left;
} SampleWait;

static void
sampled_cb (CohortSampler *s,
            SampleWait    *w)
{
  if (w->left > 0)
    w->left--;
}

static gboolean
samples_done (gpointer data)
{
  return ((SampleWait *) data)->left == 0;
}

/* Runs until @n more samples have been taken. */
static void
wait_samples (CohortSampler *s,
              guint          n)
{
  SampleWait w = { s, n };

  g_signal_connect (s, "sampled", G_CALLBACK (sampled_cb), &w);
  g_assert_true (cohort_test_wait_until (samples_done, &w, n * INTERVAL_MS * 10 + 5000));
  g_signal_handlers_disconnect_by_data (s, &w);
}

/* The mean of @metric for the slot over the last @seconds; with @seconds
 * 0, its last figure. */
static double
recent_mean (CohortSampler *s,
             const char    *cluster,
             guint          id,
             CohortMetric   metric,
             double         seconds)
{
  CohortSeries *series = cohort_sampler_get_series (s, cluster, id, metric);

  g_assert_nonnull (series);
  if (seconds == 0)
    return cohort_series_get_last (series);
  return cohort_series_get_mean (series, g_get_real_time () - (gint64) (seconds * G_USEC_PER_SEC));
}

#define last(s, cluster, id, metric) recent_mean ((s), (cluster), (id), (metric), 0)

/* /proc/PID/@name, whole. */
static char *
proc_text (GPid        pid,
           const char *name)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/%s", pid, name);
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

/* CPU seconds the kernel has charged to @pid (utime + stime). */
static double
cpu_seconds (GPid pid)
{
  g_autofree char *text = proc_text (pid, "stat");
  unsigned long utime = 0;
  unsigned long stime = 0;
  const char *paren;

  paren = strrchr (text, ')');
  g_assert_cmpint (sscanf (paren + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                           &utime, &stime), ==, 2);
  return (utime + stime) / (double) sysconf (_SC_CLK_TCK);
}

/* Resident bytes of @pid as /proc/PID/statm counts them. */
static guint64
statm_rss (GPid pid)
{
  g_autofree char *text = proc_text (pid, "statm");
  unsigned long size = 0;
  unsigned long resident = 0;

  g_assert_cmpint (sscanf (text, "%lu %lu", &size, &resident), ==, 2);
  return (guint64) resident * (guint64) sysconf (_SC_PAGESIZE);
}

/* Descriptors of this process open on something under /proc: the
 * sampler's, as the tests open none between two counts. */
static guint
count_proc_fds (void)
{
  guint n = 0;

  for (int fd = 0; fd < 4096; fd++)
    {
      char link[32];
      char target[16];
      ssize_t length;

      g_snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
      length = readlink (link, target, sizeof target);
      n += length >= 6 && memcmp (target, "/proc/", 6) == 0;
    }
  return n;
}

static void
test_cpu (Fixture       *f,
          gconstpointer  data)
{
  static const char * const names[] = { "full", "half", "idle" };
  g_autoptr(CohortCluster) cluster = NULL;
  CohortSampler *s;
  double before[3];
  double truth[3];
  double read[3];
  gint64 t0;
  gint64 t1;

  cluster = start (f,
                   "[Cluster full]\nCommand=%s --burn 1\nStopMessage=\n"
                   "[Cluster half]\nCommand=%s --burn 0.5\nStopMessage=\n"
                   "[Cluster idle]\nCommand=%s\nStopMessage=\n",
                   f->worker, f->worker, f->worker);
  s = sampler (f);
  if (data != NULL)
    cohort_sampler_set_interval (s, GPOINTER_TO_UINT (data));
  wait_samples (s, 3);

  /* What the kernel charged over the same window is the truth the
   * sampler must read; on a busy machine a burner may get less than a
   * core, and then it must read that. */
  t0 = g_get_real_time ();
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(CohortCluster) c = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), i);

      before[i] = cpu_seconds (cohort_test_worker_pid (c, 0));
    }
  wait_samples (s, 10);
  t1 = g_get_real_time ();
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(CohortCluster) c = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), i);
      CohortSeries *series = cohort_sampler_get_series (s, names[i], 0, COHORT_METRIC_CPU);

      truth[i] = 100 * (cpu_seconds (cohort_test_worker_pid (c, 0)) - before[i]) / ((t1 - t0) / 1e6);
      read[i] = cohort_series_get_mean (series, t0);
      g_test_message ("%s: read %.1f %%, the kernel says %.1f %%", names[i], read[i], truth[i]);
      g_assert_cmpfloat (fabs (read[i] - truth[i]), <, 10);
    }

  /* And the figures a user expects, when the machine let them run. */
  if (truth[0] >= 90)
    g_assert_cmpfloat (read[0], >=, 85);
  g_assert_cmpfloat (read[0], <=, 101);
  if (truth[1] >= 45)
    {
      g_assert_cmpfloat (read[1], >=, 35);
      g_assert_cmpfloat (read[1], <=, 65);
    }
  g_assert_cmpfloat (read[2], <, 5);
  /* No children: no tree figures. */
  g_assert_true (isnan (last (s, "idle", 0, COHORT_METRIC_TREE_CPU)));

  /* The current figure is what --status shows. */
  g_assert_false (isnan (cohort_sampler_get_current (s, cohort_cluster_lookup_worker (cluster, 0),
                                                     COHORT_METRIC_CPU)));
}

static void
test_memory (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  CohortSampler *s;
  double big;
  double small;

  /* The same program without and with 64 MiB: the difference is what the
   * sampler must see (the program's own size depends on the build). */
  cluster = start (f,
                   "[Cluster big]\nCommand=%s --alloc 64\nStopMessage=\n"
                   "[Cluster small]\nCommand=%s\nStopMessage=\n",
                   f->worker, f->worker);
  s = sampler (f);
  wait_samples (s, 4);

  big = recent_mean (s, "big", 0, COHORT_METRIC_RSS, 0.5);
  small = recent_mean (s, "small", 0, COHORT_METRIC_RSS, 0.5);
  g_test_message ("RSS %.1f MiB with 64 MiB held, %.1f MiB without", big / (1024 * 1024), small / (1024 * 1024));
  g_assert_cmpfloat (fabs (big - small - 64.0 * 1024 * 1024), <, 6.4 * 1024 * 1024);

  /* Each figure is what /proc/PID/statm says, right after a sample. */
  cohort_sampler_sample_now (s);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(CohortCluster) c = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), i);
      guint64 truth = statm_rss (cohort_test_worker_pid (c, 0));
      double read = last (s, cohort_cluster_get_name (c), 0, COHORT_METRIC_RSS);

      g_test_message ("%s: read %.0f bytes, statm says %" G_GUINT64_FORMAT, cohort_cluster_get_name (c), read, truth);
      g_assert_cmpfloat (fabs (read - (double) truth), <=, 256 * 1024);
    }
}

static void
test_tree (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *children_file = g_build_filename (f->dir, "0.children", NULL);
  g_autofree char *pid_file = g_build_filename (f->dir, "0", NULL);
  g_autofree char *listed = NULL;
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(GPtrArray) children = NULL;
  g_auto(GStrv) pids = NULL;
  CohortSampler *s;
  double tree_cpu;
  double own_cpu;
  double before = 0;
  double truth = 0;
  gint64 t0;
  gint64 t1;

  cluster = start (f, "[Cluster family]\nCommand=%s --children 2 --pid-dir %s\nStopMessage=\n",
                   f->worker, f->dir);
  g_assert_cmpint (cohort_test_read_pid (pid_file), >, 0);
  g_assert_true (g_file_get_contents (children_file, &listed, NULL, NULL));
  pids = g_strsplit (g_strstrip (listed), "\n", -1);
  g_assert_cmpuint (g_strv_length (pids), ==, 2);

  s = sampler (f);
  wait_samples (s, 3);
  t0 = g_get_real_time ();
  for (guint i = 0; i < 2; i++)
    before += cpu_seconds (atoi (pids[i]));
  wait_samples (s, 8);
  t1 = g_get_real_time ();
  for (guint i = 0; i < 2; i++)
    truth += cpu_seconds (atoi (pids[i]));
  truth = 100 * (truth - before) / ((t1 - t0) / 1e6);

  /* Both children listed, with their figures; the tree adds them up. */
  children = cohort_sampler_dup_children (s, cohort_cluster_lookup_worker (cluster, 0));
  g_assert_cmpuint (children->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      CohortProcessSample *child = g_ptr_array_index (children, i);
      g_autofree char *pid = g_strdup_printf ("%d", child->pid);

      g_assert_true (g_strv_contains ((const char * const *) pids, pid));
      g_assert_cmpint (child->ppid, ==, cohort_test_worker_pid (cluster, 0));
      g_assert_cmpuint (child->rss, >, 0);
    }
  tree_cpu = cohort_series_get_mean (cohort_sampler_get_series (s, "family", 0, COHORT_METRIC_TREE_CPU), t0);
  own_cpu = cohort_series_get_mean (cohort_sampler_get_series (s, "family", 0, COHORT_METRIC_CPU), t0);
  g_test_message ("worker %.1f %%, its tree %.1f %%; the kernel says the children used %.1f %%",
                  own_cpu, tree_cpu, truth);
  g_assert_cmpfloat (own_cpu, <, 10);
  g_assert_cmpfloat (fabs (tree_cpu - own_cpu - truth), <, 15);
  /* Two busy children on a machine that let them run: over one core. */
  if (truth >= 150)
    g_assert_cmpfloat (tree_cpu, >=, 100);
  g_assert_cmpfloat (recent_mean (s, "family", 0, COHORT_METRIC_TREE_RSS, 1), >,
                     recent_mean (s, "family", 0, COHORT_METRIC_RSS, 1));
}

static void
test_message_rates (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonNode) ping = json_from_string ("\"ping\"", NULL);
  CohortSeries *out_rate;
  CohortSeries *in_rate;
  CohortSampler *s;
  CohortWorker *worker;
  double sent = 0;
  double received = 0;
  gint64 since;

  cluster = start (f, "[Cluster echo]\nCommand=%s --channel-echo\n", f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  s = sampler (f);
  wait_samples (s, 2);
  since = g_get_real_time ();

  /* 40 messages over about a second. */
  for (guint i = 0; i < 40; i++)
    {
      g_assert_true (cohort_worker_send (worker, ping, NULL));
      cohort_test_sleep (25);
    }
  wait_samples (s, 3);

  /* The rates, integrated over the sample intervals, are the counts. */
  out_rate = cohort_sampler_get_series (s, "echo", 0, COHORT_METRIC_MESSAGES_OUT);
  in_rate = cohort_sampler_get_series (s, "echo", 0, COHORT_METRIC_MESSAGES_IN);
  for (guint i = 1; i < cohort_series_get_length (out_rate); i++)
    {
      double dt = (cohort_series_get_time (out_rate, i) - cohort_series_get_time (out_rate, i - 1)) /
                  (double) G_USEC_PER_SEC;

      if (cohort_series_get_time (out_rate, i) <= since)
        continue;
      if (!isnan (cohort_series_get_value (out_rate, i)))
        sent += cohort_series_get_value (out_rate, i) * dt;
      if (!isnan (cohort_series_get_value (in_rate, i)))
        received += cohort_series_get_value (in_rate, i) * dt;
    }
  g_test_message ("messages out %.2f, in %.2f (sent 40)", sent, received);
  g_assert_cmpfloat (fabs (sent - 40), <, 2.5);
  g_assert_cmpfloat (fabs (received - 40), <, 2.5);
}

static void
test_thread_cpu (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  CohortSampler *s;
  double busy;
  double idle;

  cluster = start (f,
                   "[Cluster busy]\nKind=threads\nTask=sum\nArguments={\"n\": 5000000}\nRepeat=true\n"
                   "[Cluster idle]\nKind=threads\n");
  s = sampler (f);
  wait_samples (s, 8);
  busy = recent_mean (s, "busy", 0, COHORT_METRIC_CPU, 1);
  idle = recent_mean (s, "idle", 0, COHORT_METRIC_CPU, 1);
  g_test_message ("busy thread %.1f %%, idle thread %.1f %%", busy, idle);
  /* Its share of a core is what the scheduler gives it: near 100 % on a
   * quiet machine, 59.8 % seen at a load of 18 on 2 cores. Far above the
   * idle thread's either way. */
  g_assert_cmpfloat (busy, >=, 30);
  g_assert_cmpfloat (busy, <=, 101);
  g_assert_cmpfloat (idle, <, 5);
}

static gboolean
queue_drained (gpointer data)
{
  CohortCluster *cluster = data;
  GListModel *workers = cohort_cluster_get_workers (cluster);
  g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, 0);

  return cohort_cluster_get_queue_depth (cluster) == 0 &&
         !cohort_thread_worker_get_busy (COHORT_THREAD_WORKER (worker));
}

/* A thread cluster's queue and task times, as series; none for a process
 * cluster. */
static void
test_task_series (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonNode) task = json_from_string ("{\"task\": \"sum\", \"args\": {\"n\": 200000000}}", NULL);
  CohortSeries *queue;
  CohortSeries *run;
  CohortSeries *wait;
  CohortSampler *s;
  double max_queue = 0;

  cluster = start (f, "[Cluster pool]\nKind=threads\nThreads=1\n[Cluster web]\nCommand=%s\nStopMessage=\n",
                   f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  s = sampler (f);
  wait_samples (s, 2);

  /* Before any task: the queue is sampled, the times are gaps. */
  queue = cohort_sampler_get_task_series (s, "pool", COHORT_TASK_METRIC_QUEUE);
  run = cohort_sampler_get_task_series (s, "pool", COHORT_TASK_METRIC_RUN_P50);
  wait = cohort_sampler_get_task_series (s, "pool", COHORT_TASK_METRIC_WAIT_P50);
  g_assert_nonnull (queue);
  g_assert_nonnull (run);
  g_assert_nonnull (wait);
  g_assert_cmpfloat (cohort_series_get_last (queue), ==, 0);
  g_assert_true (isnan (cohort_series_get_last (run)));
  g_assert_null (cohort_sampler_get_task_series (s, "web", COHORT_TASK_METRIC_QUEUE));

  /* One thread, ten tasks of tens of ms each: most of them wait. */
  for (guint i = 0; i < 10; i++)
    g_assert_true (cohort_cluster_send (cluster, -1, task, NULL, NULL));
  cohort_sampler_sample_now (s);
  g_assert_true (cohort_test_wait_until (queue_drained, cluster, 60000));
  wait_samples (s, 2);

  cohort_series_get_range (queue, 0, NULL, &max_queue);
  g_test_message ("queue max %.0f, run p50 %.1f ms, wait p50 %.1f ms", max_queue,
                  cohort_series_get_last (run), cohort_series_get_last (wait));
  g_assert_cmpuint (cohort_series_get_length (queue), >=, 4);
  g_assert_cmpfloat (max_queue, >=, 1);
  g_assert_cmpfloat (max_queue, <=, 10);
  g_assert_cmpfloat (cohort_series_get_last (queue), ==, 0);
  g_assert_false (isnan (cohort_series_get_last (run)));
  g_assert_cmpfloat (cohort_series_get_last (run), >, 1);
  g_assert_false (isnan (cohort_series_get_last (wait)));
  g_assert_cmpfloat (cohort_series_get_last (wait), >, cohort_series_get_last (run));

  /* Resized with the others. */
  cohort_sampler_set_history (s, 60);
  g_assert_cmpuint (cohort_series_get_capacity (queue), ==, 300);
}

static void
test_restart_event (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(GPtrArray) events = NULL;
  CohortEvent *event = NULL;
  CohortWorker *worker;
  gint64 before;
  gint64 after;

  cluster = start (f, "[Cluster flaky]\nCommand=%s --exit 2 --after 300\nRestartDelay=50\nMinUptime=0.1\n",
                   f->worker);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  before = g_get_real_time ();
  while (cohort_worker_get_restarts (worker) < 1)
    cohort_test_sleep (5);
  after = g_get_real_time ();

  events = cohort_sampler_dup_events (cohort_supervisor_get_sampler (f->supervisor));
  for (guint i = 0; i < events->len && event == NULL; i++)
    if (g_str_equal (((CohortEvent *) g_ptr_array_index (events, i))->kind, "restart"))
      event = g_ptr_array_index (events, i);
  g_assert_nonnull (event);
  g_assert_cmpstr (event->cluster, ==, "flaky");
  g_assert_cmpint (event->worker, ==, 0);
  /* At the restart: after the 300 ms run and the 50 ms delay. */
  g_assert_cmpint (event->time, >=, before + 300 * 1000);
  g_assert_cmpint (event->time, <=, after);
  g_test_message ("restart event: %s", event->text);
  g_assert_nonnull (strstr (event->text, "exit 2"));
}

static void
test_scale_event_and_self (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(GPtrArray) events = NULL;
  CohortSampler *s;
  CohortEvent *last;

  cluster = start (f, "[Cluster pool]\nCommand=%s\nStopMessage=\n", f->worker);
  s = sampler (f);
  g_assert_true (cohort_cluster_scale (cluster, 3, NULL));
  wait_samples (s, 3);

  events = cohort_sampler_dup_events (s);
  g_assert_cmpuint (events->len, >=, 1);
  last = g_ptr_array_index (events, events->len - 1);
  g_assert_cmpstr (last->kind, ==, "scale");
  g_assert_cmpint (last->worker, ==, -1);
  g_assert_cmpstr (last->text, ==, "scaled from 1 to 3 workers");

  /* Cohort's own figures, and the cluster's totals. */
  g_assert_false (isnan (cohort_series_get_last (cohort_sampler_get_self_series (s, COHORT_SELF_CPU))));
  g_assert_cmpfloat (cohort_series_get_last (cohort_sampler_get_self_series (s, COHORT_SELF_RSS)), >, 1024 * 1024);
  g_assert_false (isnan (cohort_series_get_last (cohort_sampler_get_self_series (s, COHORT_SELF_LAG))));
  g_assert_cmpfloat (cohort_series_get_last (cohort_sampler_get_cluster_series (s, "pool", COHORT_METRIC_RSS)), >,
                     cohort_series_get_last (cohort_sampler_get_series (s, "pool", 0, COHORT_METRIC_RSS)));
}

static void
test_history_and_pace (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  CohortSeries *series;
  CohortSampler *s;
  guint before;

  cluster = start (f, "[Cluster one]\nCommand=%s\nStopMessage=\n", f->worker);
  s = sampler (f);
  wait_samples (s, 2);
  series = cohort_sampler_get_series (s, "one", 0, COHORT_METRIC_CPU);

  /* The history's length in time fixes the memory: 600 s at 200 ms. */
  g_assert_cmpuint (cohort_series_get_capacity (series), ==, 3000);
  cohort_sampler_set_history (s, 60);
  g_assert_cmpuint (cohort_series_get_capacity (series), ==, 300);

  /* Nobody watching: five times slower. */
  cohort_sampler_set_watched (s, FALSE);
  before = cohort_series_get_length (series);
  cohort_test_sleep (1500);
  g_assert_cmpuint (cohort_series_get_length (series) - before, <=, 2);
  cohort_sampler_set_watched (s, TRUE);
  before = cohort_series_get_length (series);
  cohort_test_sleep (1500);
  g_assert_cmpuint (cohort_series_get_length (series) - before, >=, 4);
}

static void
test_export (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "history.csv", NULL);
  g_autofree char *text = NULL;
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  CohortSampler *s;
  guint web_rows = 0;
  guint self_rows = 0;

  cluster = start (f, "[Cluster web]\nCommand=%s\nInstances=2\nStopMessage=\n", f->worker);
  s = sampler (f);
  wait_samples (s, 4);

  g_assert_true (cohort_sampler_export_csv (s, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpstr (lines[0], ==,
                   "time,cluster,worker,cpu,rss,messages_in,messages_out,bytes_in,bytes_out,tree_cpu,tree_rss,lag_ms");
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) cells = NULL;

      if (lines[i][0] == '\0')
        continue;
      cells = g_strsplit (lines[i], ",", -1);
      g_assert_cmpuint (g_strv_length (cells), ==, 12);
      g_assert_true (g_str_has_suffix (cells[0], "Z"));
      web_rows += g_str_equal (cells[1], "web");
      self_rows += g_str_equal (cells[1], "cohort");
    }
  g_assert_cmpuint (web_rows, >=, 2 * 4);
  g_assert_cmpuint (self_rows, >=, 4);

  /* A folder that does not exist: a clear error, nothing written. */
  g_clear_error (&error);
  g_assert_false (cohort_sampler_export_csv (s, "/nonexistent/folder/x.csv", &error));
  g_assert_nonnull (error);
}

/* Hands @pid to a new process that burns a core, through the kernel's
 * last-pid knob (root only, and racy on a busy machine: a few tries).
 * Returns the new process, or 0. */
static GPid
take_pid (GPid pid)
{
  for (guint attempt = 0; attempt < 50; attempt++)
    {
      g_autofree char *previous = g_strdup_printf ("%d", pid - 1);
      int fd = open ("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
      gboolean written;
      GPid child;

      written = fd >= 0 && write (fd, previous, strlen (previous)) == (ssize_t) strlen (previous);
      if (fd >= 0)
        close (fd);
      if (!written)
        return 0;
      child = fork ();
      g_assert_cmpint (child, >=, 0);
      if (child == 0)
        {
          alarm (60);
          for (;;)
            ;
        }
      if (child == pid)
        return child;
      kill (child, SIGKILL);
      waitpid (child, NULL, 0);
    }
  return 0;
}

static gboolean
left_running (gpointer data)
{
  return !cohort_worker_is_running (data);
}

static gboolean
back_online (gpointer data)
{
  return cohort_worker_get_state (data) == COHORT_WORKER_STATE_ONLINE;
}

static void
test_pid_reuse (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  CohortWorker *worker;
  CohortSampler *s;
  GPid pid;
  GPid other;
  int status;

  /* A worker that exits after 2 s and comes back 1.5 s later. */
  cluster = start (f, "[Cluster web]\nCommand=%s --exit 1 --after 2000\nRestart=always\n"
                   "RestartDelay=1500\nRestartDelayMax=1500\nMinUptime=1\nStopMessage=\n",
                   f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  s = sampler (f);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  pid = cohort_test_worker_pid (cluster, 0);
  wait_samples (s, 2);
  g_assert_false (isnan (last (s, "web", 0, COHORT_METRIC_RSS)));

  /* Gone, and its pid now another process's, which burns a core. */
  g_assert_true (cohort_test_wait_until (left_running, worker, 5000));
  other = take_pid (pid);
  if (other == 0)
    {
      g_test_skip ("could not give the worker's pid to another process (needs root)");
      return;
    }
  cohort_test_sleep (300);
  cohort_sampler_sample_now (s);
  g_test_message ("pid %d now burns a core: the exited worker reads cpu %.1f, rss %.0f", pid,
                  last (s, "web", 0, COHORT_METRIC_CPU), last (s, "web", 0, COHORT_METRIC_RSS));
  g_assert_true (isnan (last (s, "web", 0, COHORT_METRIC_CPU)));
  g_assert_true (isnan (last (s, "web", 0, COHORT_METRIC_RSS)));

  /* Back with a new pid: its own figures (it sleeps), not the other's. */
  g_assert_true (cohort_test_wait_until (back_online, worker, 10000));
  g_assert_cmpint (cohort_test_worker_pid (cluster, 0), !=, pid);
  wait_samples (s, 4);
  g_test_message ("back as pid %d: cpu %.1f %%", cohort_test_worker_pid (cluster, 0),
                  last (s, "web", 0, COHORT_METRIC_CPU));
  g_assert_cmpfloat (last (s, "web", 0, COHORT_METRIC_CPU), <, 20);
  g_assert_cmpfloat (fabs (last (s, "web", 0, COHORT_METRIC_RSS) -
                           (double) statm_rss (cohort_test_worker_pid (cluster, 0))), <=, 256 * 1024);

  kill (other, SIGKILL);
  g_assert_cmpint (waitpid (other, &status, 0), ==, other);
}

/* A new process for worker @data (not the pid it had when the wait
 * began), online. */
typedef struct
{
  CohortCluster *cluster;
  GPid           old;
} NewPid;

static gboolean
online_under_new_pid (gpointer data)
{
  NewPid *w = data;
  CohortWorker *worker = cohort_cluster_lookup_worker (w->cluster, 0);

  return cohort_worker_get_state (worker) == COHORT_WORKER_STATE_ONLINE &&
         cohort_test_worker_pid (w->cluster, 0) != w->old;
}

/* Slot @id's last figures are those of the process the worker now runs:
 * its memory as statm counts it (reading a process that is gone would
 * leave a gap). */
static void
assert_reads_current (CohortSampler *s,
                      CohortCluster *cluster,
                      guint          id)
{
  GPid pid = cohort_test_worker_pid (cluster, id);
  double rss = last (s, "web", id, COHORT_METRIC_RSS);

  g_test_message ("worker %u, pid %d: rss read %.0f, statm %" G_GUINT64_FORMAT,
                  id, pid, rss, statm_rss (pid));
  g_assert_false (isnan (rss));
  g_assert_cmpfloat (fabs (rss - (double) statm_rss (pid)), <=, 256 * 1024);
}

static gint64
last_time (CohortSampler *s,
           guint          id)
{
  return cohort_series_get_last_time (cohort_sampler_get_series (s, "web", id, COHORT_METRIC_MESSAGES_OUT));
}

/* Messages out of slot @id in the intervals that ended after @since,
 * from the rates: the sampler's own timer may have ticked between the
 * test's ticks too (its interval is long, not infinite). */
static double
messages_out_since (CohortSampler *s,
                    guint          id,
                    gint64         since)
{
  CohortSeries *rate = cohort_sampler_get_series (s, "web", id, COHORT_METRIC_MESSAGES_OUT);
  guint n = cohort_series_get_length (rate);
  double total = 0;

  g_assert_cmpuint (n, >=, 2);
  for (guint i = n - 1; i > 0 && cohort_series_get_time (rate, i) > since; i--)
    total += cohort_series_get_value (rate, i) *
             (cohort_series_get_time (rate, i) - cohort_series_get_time (rate, i - 1)) / (double) G_USEC_PER_SEC;
  return total;
}

static void
send_pings (CohortWorker *worker,
            guint         n)
{
  g_autoptr(JsonNode) ping = json_from_string ("\"ping\"", NULL);

  for (guint i = 0; i < n; i++)
    g_assert_true (cohort_worker_send (worker, ping, NULL));
}

/* Sends @n pings to worker @id of the two of "web" and ticks: the
 * rates since the last tick count them for its slot, none for the other. */
static void
assert_pings_counted (CohortSampler *s,
                      CohortCluster *cluster,
                      guint          id,
                      guint          n)
{
  gint64 since = last_time (s, id);

  send_pings (cohort_cluster_lookup_worker (cluster, id), n);
  cohort_test_sleep (100);
  cohort_sampler_sample_now (s);
  g_test_message ("messages out of %u since the last tick: %.2f (sent %u)",
                  id, messages_out_since (s, id, since), n);
  g_assert_cmpfloat (fabs (messages_out_since (s, id, since) - n), <, 0.5);
  g_assert_cmpfloat (fabs (messages_out_since (s, 1 - id, since)), <, 0.5);
}

/* A tick notes what it needs of the workers and reads them again only
 * when something changed: a worker restarted under a new pid, and one
 * replaced by a reload (a new worker object taking over the slot), each
 * between two ticks, are read as they are now at the next tick, and the
 * message rates count what the slot's current worker was sent. */
static void
test_replaced_between_ticks (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  CohortSampler *s;
  NewPid wait;
  CohortTestReload r = { 0 };

  cluster = start (f, "[Cluster web]\nCommand=%s --channel-echo\nInstances=2\n"
                   "RestartDelay=0\nStopMessage=\n", f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  s = sampler (f);
  /* Only the ticks taken here; each first one after a start waits for
   * the new processes to be done loading (their memory settled). */
  cohort_sampler_set_interval (s, 10000);
  cohort_test_sleep (500);
  cohort_sampler_sample_now (s);
  cohort_sampler_sample_now (s);
  assert_reads_current (s, cluster, 0);
  assert_reads_current (s, cluster, 1);

  /* Killed, and back in the same worker object under another pid. */
  wait.cluster = cluster;
  wait.old = cohort_test_worker_pid (cluster, 0);
  kill (wait.old, SIGKILL);
  g_assert_true (cohort_test_wait_until (online_under_new_pid, &wait, 10000));
  cohort_test_sleep (500);
  cohort_sampler_sample_now (s);
  assert_reads_current (s, cluster, 0);
  cohort_test_sleep (100);
  cohort_sampler_sample_now (s);
  g_assert_false (isnan (last (s, "web", 0, COHORT_METRIC_CPU)));

  /* Replaced by a reload: new worker objects, new pids. */
  send_pings (cohort_cluster_lookup_worker (cluster, 0), 10);
  cohort_sampler_sample_now (s);
  wait.old = cohort_test_worker_pid (cluster, 0);
  cohort_cluster_reload_async (cluster, NULL, cohort_test_reload_cb, &r);
  g_assert_true (cohort_test_wait_until (cohort_test_reload_done, &r, 20000));
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.replaced, ==, 2);
  g_assert_cmpint (cohort_test_worker_pid (cluster, 0), !=, wait.old);
  cohort_test_sleep (500);
  cohort_sampler_sample_now (s);
  assert_reads_current (s, cluster, 0);
  assert_reads_current (s, cluster, 1);

  /* The replacement's messages are the slot's. */
  cohort_test_sleep (100);
  assert_pings_counted (s, cluster, 0, 5);

  /* Ticks while no message moves read no worker object: the next
   * message after them still counts, for its own worker only. */
  cohort_sampler_sample_now (s);
  cohort_sampler_sample_now (s);
  g_assert_cmpfloat (last (s, "web", 0, COHORT_METRIC_MESSAGES_OUT), ==, 0);
  g_assert_cmpfloat (last (s, "web", 1, COHORT_METRIC_MESSAGES_IN), ==, 0);
  assert_pings_counted (s, cluster, 1, 3);
}

static void
test_no_fd_leak (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortCluster) crashing = NULL;
  CohortSampler *s;
  guint before = count_proc_fds ();
  guint during;

  /* Workers with a child each (descendants have descriptors of their
   * own), and one that keeps crashing and coming back with a new pid. */
  cluster = start (f,
                   "[Cluster web]\nCommand=%s --children 1 --child-burn 0.05\nInstances=2\nStopMessage=\n"
                   "[Cluster crashing]\nCommand=%s --exit 1 --after 150\nRestart=always\n"
                   "RestartDelay=50\nRestartDelayMax=50\nMinUptime=0\nMaxRestarts=1000\nStopMessage=\n",
                   f->worker, f->worker);
  crashing = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  s = sampler (f);
  wait_samples (s, 5);

  g_assert_true (cohort_cluster_scale (cluster, 6, NULL));
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 6, 10000);
  wait_samples (s, 5);
  g_assert_true (cohort_cluster_scale (cluster, 1, NULL));
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 10000);
  wait_samples (s, 10);

  /* What is left: the one worker (statm, children list), its child
   * (stat, children list), the crashing worker's, and Cohort's own. */
  during = count_proc_fds () - before;
  g_test_message ("%u descriptors on /proc after scaling down; %u restarts so far", during,
                  cohort_worker_get_restarts (cohort_cluster_lookup_worker (crashing, 0)));
  g_assert_cmpuint (cohort_worker_get_restarts (cohort_cluster_lookup_worker (crashing, 0)), >=, 3);
  g_assert_cmpuint (during, <=, 2 + 2 + 2 + 1);

  cohort_test_stop_all (f->supervisor);
  wait_samples (s, 3);
  g_assert_cmpuint (count_proc_fds () - before, <=, 1);

  g_clear_object (&cluster);
  g_clear_object (&crashing);
  g_clear_object (&f->supervisor);
  g_assert_cmpuint (count_proc_fds (), ==, before);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/Cohort/Metrics/cpu", test_cpu);
  ADD ("/Cohort/Metrics/memory", test_memory);
  ADD ("/Cohort/Metrics/process-tree", test_tree);
  ADD ("/Cohort/Metrics/message-rates", test_message_rates);
  ADD ("/Cohort/Metrics/thread-cpu", test_thread_cpu);
  ADD ("/Cohort/Metrics/task-series", test_task_series);
  ADD ("/Cohort/Metrics/restart-event", test_restart_event);
  ADD ("/Cohort/Metrics/scale-event-and-self", test_scale_event_and_self);
  ADD ("/Cohort/Metrics/history-and-pace", test_history_and_pace);
  ADD ("/Cohort/Metrics/export", test_export);
  /* At the default pace, the headless runner's. */
  g_test_add ("/Cohort/Metrics/cpu-each-second", Fixture, GUINT_TO_POINTER (1000),
              fixture_setup, test_cpu, fixture_teardown);
  ADD ("/Cohort/Metrics/pid-reuse", test_pid_reuse);
  ADD ("/Cohort/Metrics/replaced-between-ticks", test_replaced_between_ticks);
  ADD ("/Cohort/Metrics/no-fd-leak", test_no_fd_leak);

  return g_test_run ();
}
