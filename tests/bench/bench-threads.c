/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-threads.c: Cohort's thread clusters, driven through the real
 * engine (a profile file, a supervisor, the GLib main loop), for
 * comparison with Node's worker_threads (tests/bench/node-worker-pool.js,
 * the same modes and the same output).
 *
 *   --mode throughput  tasks per second of a trivial task: sum with n=1,
 *                      sent to a Kind=threads cluster of --threads threads
 *                      (Repeat=false), each sent to the cluster (the first
 *                      free thread takes it), with --inflight tasks kept in
 *                      flight: the next one is sent from the handler of
 *                      each result (the worker's "message" signal). After
 *                      --warmup seconds the results of --seconds seconds
 *                      are counted.
 *     --batch K        the same, K tasks to a message: {"task":"sum","batch":
 *                      [{"n":1}, … K]}, answered by one message with K
 *                      results; --inflight tasks in flight, so --inflight/K
 *                      messages; tasks (not messages) per second
 *     --repeat         the same cluster with Repeat=true: every thread runs
 *                      the task back to back; tasks done per second, from
 *                      cohort_thread_worker_get_tasks_done() (reported by
 *                      the threads every 100 ms, so a window of S seconds
 *                      is known to within 0.1 s per thread)
 *
 *   --mode speedup     wall time of --tasks sums of n=--n sent at once to a
 *                      cluster of 1 thread, then to one of 2 threads
 *                      (--order 2,1 for the other way round); the speed-up
 *                      is time(1)/time(2). Every sum is checked against
 *                      n(n-1)/2.
 *     --peer raw       the same sums with bare pthreads and no Cohort: no
 *                      GLib thread pool, no message, no main loop. 1 thread
 *                      then 2 (or as --order says), each taking the next
 *                      task from an atomic counter and running the very
 *                      loop of Cohort's sum task (_cohort_task_sum_range()
 *                      in src/core/cohort-task.c, in one go: no stop check
 *                      or progress between slices). Not a peer: the
 *                      ceiling of this machine for this loop, in the same
 *                      run, against which Cohort's speed-up is read.
 *
 * The task message is {"task":"sum","args":{"n":N}}, as Node's peer posts
 * it. One message object is sent again and again: the engine checks it
 * and queues plain values, so no JSON tree is shared with the pool
 * threads.
 *
 * One line of JSON on stdout:
 *
 *   {"peer":"cohort","worker":"messages"|"batched"|"repeat",
 *    "test":"throughput","threads":2,"inflight":1000,"batch":K,"tasks":N,
 *    "seconds":S,"per_second":X,"cpu_seconds":C,"cpu_us_per_task":U}
 *   {"peer":"cohort","worker":"messages","test":"speedup","tasks":K,
 *    "n":N,"order":"1,2","seconds_1":T1,"seconds_2":T2,"speedup":T1/T2,
 *    "cores_1":C1,"cores_2":C2,"runq_1":R1,"runq_2":R2}
 *   {"peer":"raw","worker":"pthreads","test":"speedup", … the same}
 *
 * cpu_* is this whole process's user+system time over the window (every
 * thread: the pool's, the main loop's, the sampler's); cores_T is that
 * time over the wall time of the T-thread phase: the cores the process
 * actually got (on a shared machine, a cores_2 well below 2 means someone
 * else had a core, and the speed-up says little). runq_T says which: the
 * seconds this process's threads spent runnable but waiting for a CPU in
 * that phase (the kernel's schedstat), over the phase's wall time. With
 * T threads busy, cores_T + runq_T ≈ T when only the machine held them
 * back; less when the threads themselves waited (a lock, an empty queue).
 * A task that
 * reports an error, or a wrong sum, is an error: exit 1. */

#include "config.h"

#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-util.h"
#include "cohort-cluster.h"
#include "cohort-supervisor.h"
#include "cohort-task.h"
#include "cohort-thread-worker.h"
#include "cohort-worker.h"

static char    *opt_mode = NULL;
static gboolean opt_repeat = FALSE;
static gint     opt_threads = 2;
static gint     opt_inflight = 1000;
static gint     opt_batch = 0;
static double   opt_seconds = 3.0;
static double   opt_warmup = 0.5;
static gint     opt_tasks = 8;
static gint64   opt_n = 200000000;
static char    *opt_order = NULL;
static char    *opt_peer = NULL;

static GOptionEntry entries[] = {
  { "mode", 0, 0, G_OPTION_ARG_STRING, &opt_mode, "throughput (default) or speedup", "MODE" },
  { "repeat", 0, 0, G_OPTION_ARG_NONE, &opt_repeat, "throughput with Repeat=true", NULL },
  { "batch", 0, 0, G_OPTION_ARG_INT, &opt_batch, "throughput: K tasks to a message (default 0: one)", "K" },
  { "threads", 0, 0, G_OPTION_ARG_INT, &opt_threads, "throughput: threads (default 2)", "N" },
  { "inflight", 0, 0, G_OPTION_ARG_INT, &opt_inflight, "throughput: tasks in flight (default 1000)", "N" },
  { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_seconds, "throughput: measured interval (default 3)", "S" },
  { "warmup", 0, 0, G_OPTION_ARG_DOUBLE, &opt_warmup, "throughput: warm-up before it (default 0.5)", "S" },
  { "tasks", 0, 0, G_OPTION_ARG_INT, &opt_tasks, "speedup: tasks per pool (default 8)", "K" },
  { "n", 0, 0, G_OPTION_ARG_INT64, &opt_n, "speedup: the sum's n (default 200000000)", "N" },
  { "order", 0, 0, G_OPTION_ARG_STRING, &opt_order, "speedup: 1,2 (default) or 2,1", "ORDER" },
  { "peer", 0, 0, G_OPTION_ARG_STRING, &opt_peer, "speedup: cohort (default) or raw (bare pthreads)", "PEER" },
  { NULL }
};

static const char *
fmt (char       *buf,
     const char *format,
     double      value)
{
  return g_ascii_formatd (buf, G_ASCII_DTOSTR_BUF_SIZE, format, value);
}

/* Seconds this process's threads have spent runnable but not running. */
static double
runq_seconds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;
  double total = 0;

  while (dir != NULL && (tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/schedstat", tid);
      g_autofree char *text = NULL;
      guint64 on_cpu, waiting;

      if (g_file_get_contents (path, &text, NULL, NULL) &&
          sscanf (text, "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, &on_cpu, &waiting) == 2)
        total += waiting / 1e9;
    }
  return total;
}

/* ---- the main loop ------------------------------------------------------ */

static gboolean
timed_out_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
workers_online (gpointer data)
{
  CohortCluster *cluster = data;
  GListModel *workers = cohort_cluster_get_workers (cluster);
  guint n = g_list_model_get_n_items (workers);

  if (n < cohort_cluster_get_desired (cluster))
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      /* Online, and its thread has started its loop. */
      if (cohort_worker_get_state (worker) != COHORT_WORKER_STATE_ONLINE ||
          cohort_thread_worker_get_tid (COHORT_THREAD_WORKER (worker)) <= 0)
        return FALSE;
    }
  return TRUE;
}

/* A supervisor running PROFILE_TEXT with every cluster's threads online;
 * NULL with a message on stderr. */
static CohortSupervisor *
start_supervisor (const char *profile_text)
{
  g_autoptr(CohortSupervisor) supervisor = bench_start_supervisor ("bench-threads", profile_text);
  GListModel *clusters;

  if (supervisor == NULL)
    return NULL;
  clusters = cohort_supervisor_get_clusters (supervisor);
  for (guint i = 0; i < g_list_model_get_n_items (clusters); i++)
    {
      g_autoptr(CohortCluster) cluster = g_list_model_get_item (clusters, i);

      if (!bench_iterate_until (workers_online, cluster, BENCH_STARTUP_TIMEOUT))
        {
          g_printerr ("bench-threads: the threads of %s did not come online\n",
                      cohort_cluster_get_name (cluster));
          bench_stop_supervisor ("bench-threads", supervisor);
          return NULL;
        }
    }
  return g_steal_pointer (&supervisor);
}

/* ---- results ------------------------------------------------------------ */

typedef struct
{
  CohortCluster *cluster;
  JsonNode      *task;          /* what to send */
  guint          per_message;   /* tasks in it: 1, or a batch's K */
  gint64         expected_sum;  /* -1: not checked */

  /* throughput */
  gint64         warmup_us;
  gint64         measure_us;
  gint64         phase_start;
  gboolean       measuring;
  gboolean       feeding;       /* send the next task from each result */
  guint64        counted;       /* tasks in the measured window */
  gint64         elapsed_us;
  double         cpu_start;
  double         cpu;

  guint64        results;       /* every task's result */
  guint64        wanted;        /* stop at this many (0: never) */
  gboolean       done;
  char          *error;         /* the first error */
} Run;

static void
fail (Run        *run,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static void
fail (Run        *run,
      const char *format,
      ...)
{
  va_list args;

  if (run->error == NULL)
    {
      va_start (args, format);
      run->error = g_strdup_vprintf (format, args);
      va_end (args);
    }
  run->done = TRUE;
  run->feeding = FALSE;
}

static void
send_task (Run *run)
{
  g_autoptr(GError) error = NULL;

  if (!cohort_cluster_send (run->cluster, -1, run->task, NULL, &error))
    fail (run, "send: %s", error->message);
}

/* Checks a result message: {"task": "sum", "result": {"n": N, "sum": S}, "ms": …}. */
static void
check_result (Run                 *run,
              const CohortMessage *message)
{
  g_autoptr(JsonNode) node = json_from_string (message->json, NULL);
  JsonObject *object = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonNode *result = object != NULL ? json_object_get_member (object, "result") : NULL;
  JsonObject *fields = result != NULL && JSON_NODE_HOLDS_OBJECT (result) ? json_node_get_object (result) : NULL;

  if (fields == NULL || !json_object_has_member (fields, "sum"))
    {
      fail (run, "not a result: %s", message->json);
      return;
    }
  if (run->expected_sum >= 0 && json_object_get_int_member (fields, "sum") != run->expected_sum)
    fail (run, "wrong sum: %s (expected %" G_GINT64_FORMAT ")", message->json, run->expected_sum);
}

/* The results of a batch: as many as it had tasks, and no error. */
static void
check_batch (Run                 *run,
             const CohortMessage *message)
{
  guint n = 0;

  /* Over 16 KiB the worker's log keeps only the size: counted unchecked. */
  if (g_str_has_prefix (message->json, "{\"not_kept\":"))
    return;
  for (const char *p = message->json; (p = strstr (p, "{\"result\":")) != NULL; p++)
    n++;
  if (n != run->per_message || strstr (message->json, "{\"error\":") != NULL)
    fail (run, "not %u results: %.200s", run->per_message, message->json);
}

static void
message_cb (CohortWorker        *worker,
            const CohortMessage *message,
            gpointer             data)
{
  Run *run = data;
  gint64 now;

  if (message->outgoing || run->done)
    return;

  /* The cheap test for every result; the full one when it is cheap. */
  if (run->per_message > 1)
    check_batch (run, message);
  else if (strstr (message->json, "\"error\"") != NULL || run->expected_sum >= 0)
    check_result (run, message);
  if (run->done)
    return;

  run->results += run->per_message;
  if (run->wanted > 0 && run->results >= run->wanted)
    {
      run->done = TRUE;
      return;
    }

  if (run->measure_us > 0)
    {
      now = g_get_monotonic_time ();
      if (!run->measuring)
        {
          if (now - run->phase_start >= run->warmup_us)
            {
              run->measuring = TRUE;
              run->phase_start = now;
              run->cpu_start = bench_cpu_seconds ();
            }
        }
      else
        {
          run->counted += run->per_message;
          if (now - run->phase_start >= run->measure_us)
            {
              run->elapsed_us = now - run->phase_start;
              run->cpu = bench_cpu_seconds () - run->cpu_start;
              run->done = TRUE;
              return;
            }
        }
    }

  if (run->feeding)
    send_task (run);
}

static gboolean
run_done (gpointer data)
{
  return ((Run *) data)->done;
}

static GArray *
connect_workers (CohortCluster *cluster,
                 Run           *run)
{
  GListModel *workers = cohort_cluster_get_workers (cluster);
  GArray *handlers = g_array_new (FALSE, FALSE, sizeof (gulong));

  for (guint i = 0; i < g_list_model_get_n_items (workers); i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);
      gulong id = g_signal_connect (worker, "message::received", G_CALLBACK (message_cb), run);

      g_array_append_val (handlers, id);
    }
  return handlers;
}

static void
disconnect_workers (CohortCluster *cluster,
                    GArray        *handlers)
{
  GListModel *workers = cohort_cluster_get_workers (cluster);

  for (guint i = 0; i < g_list_model_get_n_items (workers) && i < handlers->len; i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      g_signal_handler_disconnect (worker, g_array_index (handlers, gulong, i));
    }
  g_array_unref (handlers);
}

/* ---- throughput --------------------------------------------------------- */

static guint64
tasks_done (CohortCluster *cluster)
{
  GListModel *workers = cohort_cluster_get_workers (cluster);
  guint64 n = 0;

  for (guint i = 0; i < g_list_model_get_n_items (workers); i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      n += cohort_thread_worker_get_tasks_done (COHORT_THREAD_WORKER (worker));
    }
  return n;
}

/* Runs the main loop until @deadline (monotonic µs). */
static void
iterate_to (gint64 deadline)
{
  gboolean fired = FALSE;
  guint id = g_timeout_add ((guint) MAX (0, (deadline - g_get_monotonic_time () + 999) / 1000),
                            timed_out_cb, &fired);

  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  if (!fired)
    g_source_remove (id);
}

static int
run_throughput (void)
{
  g_autofree char *profile_text = NULL;
  g_autoptr(CohortSupervisor) supervisor = NULL;
  g_autoptr(CohortCluster) cluster = NULL;
  char buf[4][G_ASCII_DTOSTR_BUF_SIZE];
  guint64 count;
  double seconds, cpu;
  int status = 0;

  profile_text = g_strdup_printf ("[Profile]\nName=Bench\n\n"
                                  "[Cluster pool]\nKind=threads\nTask=sum\nThreads=%d\n"
                                  "Arguments={\"n\": 1}\nRepeat=%s\n",
                                  opt_threads, opt_repeat ? "true" : "false");
  supervisor = start_supervisor (profile_text);
  if (supervisor == NULL)
    return 2;
  cluster = g_list_model_get_item (cohort_supervisor_get_clusters (supervisor), 0);

  if (opt_repeat)
    {
      gint64 start, end;
      guint64 done_start;
      double cpu_start;

      /* The threads report every 100 ms; the window is read between reports. */
      iterate_to (g_get_monotonic_time () + (gint64) (opt_warmup * G_USEC_PER_SEC));
      start = g_get_monotonic_time ();
      done_start = tasks_done (cluster);
      cpu_start = bench_cpu_seconds ();
      iterate_to (start + (gint64) (opt_seconds * G_USEC_PER_SEC));
      end = g_get_monotonic_time ();
      count = tasks_done (cluster) - done_start;
      cpu = bench_cpu_seconds () - cpu_start;
      seconds = (end - start) / (double) G_USEC_PER_SEC;
      if (count == 0)
        {
          g_printerr ("bench-threads: no task done with Repeat=true\n");
          status = 1;
        }
    }
  else
    {
      Run run = { 0 };
      GArray *handlers;
      g_autoptr(GError) error = NULL;

      run.cluster = cluster;
      run.per_message = MAX (1, opt_batch);
      if (opt_batch > 0)
        {
          g_autoptr(GString) text = g_string_new ("{\"task\":\"sum\",\"batch\":[");

          for (int i = 0; i < opt_batch; i++)
            g_string_append (text, i > 0 ? ",{\"n\":1}" : "{\"n\":1}");
          g_string_append (text, "]}");
          run.task = json_from_string (text->str, &error);
        }
      else
        run.task = json_from_string ("{\"task\":\"sum\",\"args\":{\"n\":1}}", &error);
      g_assert_no_error (error);
      run.expected_sum = -1;
      run.warmup_us = (gint64) (opt_warmup * G_USEC_PER_SEC);
      run.measure_us = (gint64) (opt_seconds * G_USEC_PER_SEC);
      run.feeding = TRUE;

      handlers = connect_workers (cluster, &run);
      run.phase_start = g_get_monotonic_time ();
      for (int i = 0; i < MAX (1, opt_inflight / (int) run.per_message) && !run.done; i++)
        send_task (&run);
      bench_iterate_until (run_done, &run, run.warmup_us + run.measure_us + 30 * G_USEC_PER_SEC);
      disconnect_workers (cluster, handlers);
      json_node_unref (run.task);

      count = run.counted;
      seconds = run.elapsed_us / (double) G_USEC_PER_SEC;
      cpu = run.cpu;
      if (run.error != NULL || !run.done || count == 0)
        {
          g_printerr ("bench-threads: %s (%" G_GUINT64_FORMAT " results)\n",
                      run.error != NULL ? run.error : "no result for too long", run.results);
          status = 1;
        }
      g_free (run.error);
    }

  if (status == 0)
    g_print ("{\"peer\":\"cohort\",\"worker\":\"%s\",\"test\":\"throughput\",\"threads\":%d,"
             "\"inflight\":%d,\"batch\":%d,\"tasks\":%" G_GUINT64_FORMAT ",\"seconds\":%s,\"per_second\":%s,"
             "\"cpu_seconds\":%s,\"cpu_us_per_task\":%s}\n",
             opt_repeat ? "repeat" : opt_batch > 0 ? "batched" : "messages", opt_threads,
             opt_repeat ? 0 : opt_inflight, opt_repeat ? 0 : opt_batch, count,
             fmt (buf[0], "%.4f", seconds), fmt (buf[1], "%.1f", count / seconds),
             fmt (buf[2], "%.4f", cpu), fmt (buf[3], "%.3f", cpu * 1e6 / count));

  bench_stop_supervisor ("bench-threads", supervisor);
  return status;
}

/* ---- speed-up ----------------------------------------------------------- */

/* --order as the thread counts of the two phases, 1 and 2 either way
 * round; FALSE with a message on stderr. */
static gboolean
parse_order (int order[2])
{
  g_auto(GStrv) parts = g_strsplit (opt_order != NULL ? opt_order : "1,2", ",", -1);

  if (g_strv_length (parts) != 2 ||
      !((g_str_equal (parts[0], "1") && g_str_equal (parts[1], "2")) ||
        (g_str_equal (parts[0], "2") && g_str_equal (parts[1], "1"))))
    {
      g_printerr ("bench-threads: --order is 1,2 or 2,1\n");
      return FALSE;
    }
  order[0] = atoi (parts[0]);
  order[1] = atoi (parts[1]);
  return TRUE;
}

/* The speed-up line; SECONDS, CORES and RUNQ are indexed by threads (1, 2). */
static void
print_speedup (const char   *peer,
               const char   *worker,
               const int     order[2],
               const double *seconds,
               const double *cores,
               const double *runq)
{
  char buf[7][G_ASCII_DTOSTR_BUF_SIZE];

  g_print ("{\"peer\":\"%s\",\"worker\":\"%s\",\"test\":\"speedup\",\"tasks\":%d,"
           "\"n\":%" G_GINT64_FORMAT ",\"order\":\"%d,%d\",\"seconds_1\":%s,\"seconds_2\":%s,"
           "\"speedup\":%s,\"cores_1\":%s,\"cores_2\":%s,\"runq_1\":%s,\"runq_2\":%s}\n",
           peer, worker, opt_tasks, opt_n, order[0], order[1],
           fmt (buf[0], "%.4f", seconds[1]), fmt (buf[1], "%.4f", seconds[2]),
           fmt (buf[2], "%.3f", seconds[1] / seconds[2]),
           fmt (buf[3], "%.3f", cores[1]), fmt (buf[4], "%.3f", cores[2]),
           fmt (buf[5], "%.3f", runq[1]), fmt (buf[6], "%.3f", runq[2]));
}

static int
run_speedup (void)
{
  g_autofree char *profile_text = NULL;
  g_autoptr(CohortSupervisor) supervisor = NULL;
  g_autoptr(GError) error = NULL;
  int order[2];
  double seconds[3] = { 0 };
  double cores[3] = { 0 };
  double runq[3] = { 0 };
  JsonNode *task;
  int status = 0;

  if (!parse_order (order))
    return 2;

  profile_text = g_strdup_printf ("[Profile]\nName=Bench\n\n"
                                  "[Cluster t1]\nKind=threads\nTask=sum\nThreads=1\n"
                                  "Arguments={\"n\": %" G_GINT64_FORMAT "}\n\n"
                                  "[Cluster t2]\nKind=threads\nTask=sum\nThreads=2\n"
                                  "Arguments={\"n\": %" G_GINT64_FORMAT "}\n",
                                  opt_n, opt_n);
  supervisor = start_supervisor (profile_text);
  if (supervisor == NULL)
    return 2;

  {
    g_autofree char *text = g_strdup_printf ("{\"task\":\"sum\",\"args\":{\"n\":%" G_GINT64_FORMAT "}}", opt_n);

    task = json_from_string (text, &error);
  }
  g_assert_no_error (error);

  for (guint k = 0; k < 2 && status == 0; k++)
    {
      int threads = order[k];
      g_autofree char *name = g_strdup_printf ("t%d", threads);
      Run run = { 0 };
      GArray *handlers;
      gint64 start;
      double cpu_start;
      double runq_start;

      run.cluster = cohort_supervisor_lookup (supervisor, name);
      run.task = task;
      run.per_message = 1;
      run.expected_sum = opt_n * (opt_n - 1) / 2;
      run.wanted = opt_tasks;

      handlers = connect_workers (run.cluster, &run);
      start = g_get_monotonic_time ();
      cpu_start = bench_cpu_seconds ();
      runq_start = runq_seconds ();
      for (int i = 0; i < opt_tasks && !run.done; i++)
        send_task (&run);
      bench_iterate_until (run_done, &run, 600 * G_USEC_PER_SEC);
      seconds[threads] = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
      cores[threads] = (bench_cpu_seconds () - cpu_start) / seconds[threads];
      runq[threads] = (runq_seconds () - runq_start) / seconds[threads];
      disconnect_workers (run.cluster, handlers);

      if (run.error != NULL || run.results < (guint64) opt_tasks)
        {
          g_printerr ("bench-threads: %d thread(s): %s (%" G_GUINT64_FORMAT " of %d results)\n", threads,
                      run.error != NULL ? run.error : "too slow", run.results, opt_tasks);
          status = 1;
        }
      g_free (run.error);
    }
  json_node_unref (task);

  if (status == 0)
    print_speedup ("cohort", "messages", order, seconds, cores, runq);

  bench_stop_supervisor ("bench-threads", supervisor);
  return status;
}

/* ---- speed-up, bare pthreads -------------------------------------------- */

typedef struct
{
  guint64           n;
  gint              tasks;
  gint              next;       /* the next task to take (atomic) */
  gint              wrong;      /* sums other than n(n-1)/2 (atomic) */
  pthread_barrier_t start;      /* the threads and the main thread */
  pthread_barrier_t done;
  pthread_barrier_t leave;
} RawRun;

static void *
raw_thread (void *data)
{
  RawRun *run = data;
  guint64 expected = run->n * (run->n - 1) / 2;

  /* Started before the clock, as a cluster's threads are. */
  pthread_barrier_wait (&run->start);
  while (g_atomic_int_add (&run->next, 1) < run->tasks)
    if (_cohort_task_sum_range (0, 0, run->n) != expected)
      g_atomic_int_inc (&run->wrong);
  pthread_barrier_wait (&run->done);
  /* Alive until the phase is measured: an exited thread leaves
   * /proc/self/task, and takes its runq time with it. */
  pthread_barrier_wait (&run->leave);
  return NULL;
}

static int
run_speedup_raw (void)
{
  int order[2];
  double seconds[3] = { 0 };
  double cores[3] = { 0 };
  double runq[3] = { 0 };
  int status = 0;

  if (!parse_order (order))
    return 2;

  for (guint k = 0; k < 2 && status == 0; k++)
    {
      int threads = order[k];
      RawRun run = { 0 };
      pthread_t ids[2];
      gint64 start;
      double cpu_start;
      double runq_start;
      int err;

      run.n = (guint64) opt_n;
      run.tasks = opt_tasks;
      pthread_barrier_init (&run.start, NULL, threads + 1);
      pthread_barrier_init (&run.done, NULL, threads + 1);
      pthread_barrier_init (&run.leave, NULL, threads + 1);
      for (int i = 0; i < threads; i++)
        if ((err = pthread_create (&ids[i], NULL, raw_thread, &run)) != 0)
          {
            /* Returning from main ends the threads already waiting. */
            g_printerr ("bench-threads: pthread_create: %s\n", g_strerror (err));
            return 1;
          }

      start = g_get_monotonic_time ();
      cpu_start = bench_cpu_seconds ();
      runq_start = runq_seconds ();
      pthread_barrier_wait (&run.start);
      pthread_barrier_wait (&run.done);
      seconds[threads] = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
      cores[threads] = (bench_cpu_seconds () - cpu_start) / seconds[threads];
      runq[threads] = (runq_seconds () - runq_start) / seconds[threads];
      pthread_barrier_wait (&run.leave);

      for (int i = 0; i < threads; i++)
        pthread_join (ids[i], NULL);
      pthread_barrier_destroy (&run.start);
      pthread_barrier_destroy (&run.done);
      pthread_barrier_destroy (&run.leave);

      if (run.wrong > 0)
        {
          g_printerr ("bench-threads: raw, %d thread(s): %d of %d sums not %" G_GUINT64_FORMAT "\n",
                      threads, run.wrong, opt_tasks, run.n * (run.n - 1) / 2);
          status = 1;
        }
    }

  if (status == 0)
    print_speedup ("raw", "pthreads", order, seconds, cores, runq);
  return status;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;

  setlocale (LC_ALL, "");
  signal (SIGPIPE, SIG_IGN);

  context = g_option_context_new ("- Cohort's thread clusters: throughput and speed-up");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-threads: %s\n", error->message);
      return 2;
    }
  if (opt_mode == NULL)
    opt_mode = g_strdup ("throughput");
  if (opt_threads < 1 || opt_threads > 64 || opt_inflight < 1 || opt_inflight > 10000 ||
      opt_batch < 0 || opt_batch > 1000 || (opt_batch > 0 && opt_repeat) ||
      opt_seconds <= 0 || opt_warmup < 0 || opt_tasks < 1 || opt_tasks > 10000 ||
      opt_n < 1 || opt_n > (G_GINT64_CONSTANT (1) << 32))
    {
      g_printerr ("bench-threads: --threads is 1..64, --inflight 1..10000, --batch 0..1000 "
                  "(not with --repeat), --seconds > 0, "
                  "--warmup >= 0, --tasks 1..10000, --n 1..2^32\n");
      return 2;
    }

  if (opt_peer == NULL)
    opt_peer = g_strdup ("cohort");
  if (!g_str_equal (opt_peer, "cohort") &&
      !(g_str_equal (opt_peer, "raw") && g_str_equal (opt_mode, "speedup")))
    {
      g_printerr ("bench-threads: --peer is cohort, or raw with --mode speedup, not %s\n", opt_peer);
      return 2;
    }

  if (g_str_equal (opt_mode, "throughput"))
    return run_throughput ();
  if (g_str_equal (opt_mode, "speedup"))
    return g_str_equal (opt_peer, "raw") ? run_speedup_raw () : run_speedup ();
  g_printerr ("bench-threads: --mode is throughput or speedup, not %s\n", opt_mode);
  return 2;
}
