/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-threads.c: thread clusters: stable threads from an exclusive
 * GThreadPool, tasks back to back or from the queue, results as messages,
 * batches of tasks in one message, timeouts and failures counted as
 * restarts, per-thread CPU, two tasks running at once on two threads,
 * scaling, and a stop that cancels running tasks and ends the threads. */

#include "config.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "cohort-status.h"
#include "cohort-test-util.h"
#include "cohort-thread-worker.h"

typedef struct
{
  char             *dir;
  CohortSupervisor *supervisor;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = cohort_test_make_dir ();
}

static gboolean
stopped (gpointer data)
{
  return !cohort_supervisor_get_running (data);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  if (f->supervisor != NULL)
    {
      cohort_supervisor_stop (f->supervisor);
      g_assert_true (cohort_test_wait_until (stopped, f->supervisor, 10000));
    }
  g_clear_object (&f->supervisor);
  cohort_test_remove_dir (f->dir);
  g_free (f->dir);
}

static CohortThreadWorker *
thread_worker (CohortCluster *cluster,
               guint          id)
{
  CohortWorker *worker = cohort_cluster_lookup_worker (cluster, id);

  g_assert_true (COHORT_IS_THREAD_WORKER (worker));
  return COHORT_THREAD_WORKER (worker);
}

/* Whether thread @tid is one of this process's. */
static gboolean
thread_exists (int tid)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/task/%d", tid);

  return tid > 0 && g_file_test (path, G_FILE_TEST_EXISTS);
}

static gboolean
has_tid (gpointer data)
{
  return cohort_thread_worker_get_tid (data) > 0;
}

static JsonNode *
json (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  return node;
}

typedef struct
{
  CohortCluster *cluster;
  guint64        count;
} Results;

static guint64
results_in (CohortCluster *cluster)
{
  GListModel *workers = cohort_cluster_get_workers (cluster);
  guint64 n = 0;

  for (guint i = 0; i < g_list_model_get_n_items (workers); i++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (workers, i);

      n += cohort_worker_get_messages_in (worker);
    }
  return n;
}

static gboolean
has_results (gpointer data)
{
  Results *r = data;

  return results_in (r->cluster) >= r->count;
}

static void
wait_results (CohortCluster *cluster,
              guint64        count)
{
  Results r = { cluster, count };

  g_assert_true (cohort_test_wait_until (has_results, &r, 20000));
}

/* The newest message received from @worker, parsed. */
static JsonObject *
last_result (CohortWorker *worker)
{
  g_autoptr(GPtrArray) messages = cohort_worker_dup_messages (worker, 0);

  for (guint i = messages->len; i > 0; i--)
    {
      CohortMessage *message = g_ptr_array_index (messages, i - 1);

      if (!message->outgoing)
        {
          g_autoptr(JsonNode) node = json (message->json);

          return json_object_ref (json_node_get_object (node));
        }
    }
  g_assert_not_reached ();
}

static void
test_repeat (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  CohortThreadWorker *w0;
  CohortThreadWorker *w1;
  gint64 cpu_before[2];
  gint64 cpu_after[2];
  guint64 done_before;
  int main_tid = (int) syscall (SYS_gettid);

  cluster = start (f,
                   "[Cluster sums]\nKind=threads\nTask=sum\nArguments={\"n\": 3000000}\n"
                   "Threads=2\nRepeat=true\n");
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  w0 = thread_worker (cluster, 0);
  w1 = thread_worker (cluster, 1);
  g_assert_true (cohort_test_wait_until (has_tid, w0, 5000));
  g_assert_true (cohort_test_wait_until (has_tid, w1, 5000));

  /* Two threads of this process, neither the main one. */
  g_assert_cmpint (cohort_thread_worker_get_tid (w0), !=, cohort_thread_worker_get_tid (w1));
  g_assert_cmpint (cohort_thread_worker_get_tid (w0), !=, main_tid);
  g_assert_true (thread_exists (cohort_thread_worker_get_tid (w0)));
  g_assert_true (thread_exists (cohort_thread_worker_get_tid (w1)));

  /* Back to back: tasks are done, and each thread uses about a core. */
  cohort_test_sleep (300);
  done_before = cohort_thread_worker_get_tasks_done (w0);
  cpu_before[0] = cohort_thread_worker_get_cpu_time (w0);
  cpu_before[1] = cohort_thread_worker_get_cpu_time (w1);
  cohort_test_sleep (1000);
  cpu_after[0] = cohort_thread_worker_get_cpu_time (w0);
  cpu_after[1] = cohort_thread_worker_get_cpu_time (w1);
  g_test_message ("CPU over 1 s: %.2f s and %.2f s; tasks done: %" G_GUINT64_FORMAT,
                  (cpu_after[0] - cpu_before[0]) / 1e9, (cpu_after[1] - cpu_before[1]) / 1e9,
                  cohort_thread_worker_get_tasks_done (w0));
  g_assert_cmpuint (cohort_thread_worker_get_tasks_done (w0), >, done_before);
  g_assert_cmpuint (cohort_thread_worker_get_tasks_done (w1), >, 0);
  /* Generous bounds: the machine is shared. */
  g_assert_cmpint (cpu_after[0] - cpu_before[0], >, 300 * 1000 * 1000);
  g_assert_cmpint (cpu_after[1] - cpu_before[1], >, 300 * 1000 * 1000);
  g_assert_cmpint (cpu_after[0] - cpu_before[0], <, 1200 * 1000 * 1000);
  /* No message per task when they run back to back. */
  g_assert_cmpuint (cohort_worker_get_messages_in (COHORT_WORKER (w0)), ==, 0);
}

static void
test_tasks_as_messages (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonNode) task = json ("{\"task\": \"sum\", \"args\": {\"n\": 1000}}");
  g_autoptr(JsonObject) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) status = NULL;
  CohortThreadWorker *w0;
  CohortThreadWorker *w1;
  JsonObject *value;
  gint64 idle_before;
  double wait[3];
  double run[3];
  guint n_sent = 0;

  cluster = start (f, "[Cluster pool]\nKind=threads\nThreads=2\n");
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  w0 = thread_worker (cluster, 0);
  w1 = thread_worker (cluster, 1);
  g_assert_true (cohort_test_wait_until (has_tid, w1, 5000));

  /* Idle threads wait on the queue and use no CPU. */
  idle_before = cohort_thread_worker_get_cpu_time (w1);
  cohort_test_sleep (500);
  g_assert_cmpint (cohort_thread_worker_get_cpu_time (w1) - idle_before, <, 50 * 1000 * 1000);
  g_assert_false (cohort_thread_worker_get_busy (w1));

  /* One task sent to the cluster: one result, from whichever thread. */
  g_assert_true (cohort_cluster_send (cluster, -1, task, &n_sent, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_sent, ==, 1);
  wait_results (cluster, 1);
  result = last_result (cohort_worker_get_messages_in (COHORT_WORKER (w0)) > 0 ? COHORT_WORKER (w0)
                                                                             : COHORT_WORKER (w1));
  g_assert_cmpstr (json_object_get_string_member (result, "task"), ==, "sum");
  value = json_object_get_object_member (result, "result");
  g_assert_cmpint (json_object_get_int_member (value, "sum"), ==, 499500);
  g_assert_true (json_object_has_member (result, "ms"));
  g_assert_cmpuint (cohort_worker_get_messages_out (COHORT_WORKER (w0)) +
                    cohort_worker_get_messages_out (COHORT_WORKER (w1)), ==, 1);

  /* Ten more: all answered; the queue drains; timings are kept. */
  for (guint i = 0; i < 10; i++)
    g_assert_true (cohort_cluster_send (cluster, -1, task, NULL, NULL));
  wait_results (cluster, 11);
  g_assert_cmpuint (cohort_cluster_get_queue_depth (cluster), ==, 0);
  g_assert_cmpuint (cohort_thread_worker_get_tasks_done (w0) + cohort_thread_worker_get_tasks_done (w1), ==, 11);
  g_assert_cmpuint (cohort_cluster_get_task_percentiles (cluster, wait, run), ==, 11);
  g_assert_cmpfloat (run[0], >=, 0);
  g_assert_cmpfloat (run[2], >=, run[0]);

  /* To one worker: that one answers. */
  g_assert_true (cohort_cluster_send (cluster, 1, task, NULL, &error));
  g_assert_no_error (error);
  wait_results (cluster, 12);

  /* --status --json shows the thread fields. */
  status = cohort_status_to_json (f->supervisor);
  {
    JsonObject *c = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (status), "clusters"), 0);
    JsonObject *w = json_array_get_object_element (json_object_get_array_member (c, "workers"), 1);

    g_assert_cmpstr (json_object_get_string_member (c, "kind"), ==, "threads");
    g_assert_cmpint (json_object_get_int_member (c, "queue_depth"), ==, 0);
    g_assert_true (json_object_has_member (json_object_get_object_member (c, "run_ms"), "p99"));
    g_assert_cmpint (json_object_get_int_member (w, "tid"), ==, cohort_thread_worker_get_tid (w1));
    g_assert_false (json_object_has_member (w, "pid"));
    g_assert_false (json_object_get_boolean_member (w, "busy"));
  }
}

static void
test_bad_tasks (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonNode) unknown = json ("{\"task\": \"mine-bitcoin\"}");
  g_autoptr(JsonNode) wrong_type = json ("{\"task\": \"sum\", \"args\": {\"n\": \"ten\"}}");
  g_autoptr(JsonNode) not_task = json ("\"hello\"");
  g_autoptr(JsonNode) missing = NULL;
  g_autoptr(JsonNode) good = json ("{\"task\": \"primes\", \"args\": {\"below\": 100}}");
  g_autoptr(JsonObject) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  CohortWorker *worker;

  cluster = start (f, "[Cluster pool]\nKind=threads\nThreads=1\n");
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 0);

  /* Refused at once, with the reason, before anything is queued. */
  g_assert_false (cohort_cluster_send (cluster, -1, unknown, NULL, &error));
  g_assert_nonnull (strstr (error->message, "no task named “mine-bitcoin”"));
  g_clear_error (&error);
  g_assert_false (cohort_cluster_send (cluster, -1, wrong_type, NULL, &error));
  g_assert_nonnull (strstr (error->message, "n"));
  g_clear_error (&error);
  g_assert_false (cohort_cluster_send (cluster, 0, not_task, NULL, &error));
  g_assert_nonnull (strstr (error->message, "a thread cluster takes tasks"));
  g_clear_error (&error);

  /* A folder that does not exist is found when the task runs: an error
   * result, a restart counted, and the worker goes on. */
  text = g_strdup_printf ("{\"task\": \"sha256\", \"args\": {\"path\": \"%s/nowhere\"}}", f->dir);
  missing = json (text);
  g_assert_true (cohort_cluster_send (cluster, -1, missing, NULL, &error));
  g_assert_no_error (error);
  wait_results (cluster, 1);
  result = last_result (worker);
  g_assert_true (json_object_has_member (result, "error"));
  g_assert_nonnull (strstr (json_object_get_string_member (result, "error"), "nowhere"));
  g_assert_cmpuint (cohort_worker_get_restarts (worker), ==, 1);
  g_assert_cmpstr (cohort_worker_get_last_exit (worker), ==, "error");
  g_assert_nonnull (strstr (cohort_worker_get_reason (worker), "task failed"));
  g_assert_cmpint (cohort_worker_get_state (worker), ==, COHORT_WORKER_STATE_ONLINE);

  g_clear_pointer (&result, json_object_unref);
  g_assert_true (cohort_cluster_send (cluster, -1, good, NULL, NULL));
  wait_results (cluster, 2);
  result = last_result (worker);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (result, "result"), "count"), ==, 25);
}

static void
test_task_timeout (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonNode) slow = json ("{\"task\": \"primes\", \"args\": {\"below\": 2000000000}}");
  g_autoptr(JsonObject) result = NULL;
  CohortWorker *worker;
  gint64 begin;

  cluster = start (f, "[Cluster pool]\nKind=threads\nThreads=1\nTaskTimeout=0.2\n");
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 0);

  begin = g_get_monotonic_time ();
  g_assert_true (cohort_cluster_send (cluster, -1, slow, NULL, NULL));
  wait_results (cluster, 1);
  g_test_message ("timed out after %.0f ms", (g_get_monotonic_time () - begin) / 1000.0);

  result = last_result (worker);
  g_assert_nonnull (strstr (json_object_get_string_member (result, "error"), "timed out"));
  g_assert_cmpuint (cohort_worker_get_restarts (worker), ==, 1);
  g_assert_cmpstr (cohort_worker_get_last_exit (worker), ==, "timeout");
  g_assert_nonnull (strstr (cohort_worker_get_reason (worker), "task timed out"));
  g_assert_cmpint (cohort_worker_get_state (worker), ==, COHORT_WORKER_STATE_ONLINE);
}

typedef struct
{
  CohortThreadWorker *worker;
} Busy;

static gboolean
is_busy (gpointer data)
{
  return cohort_thread_worker_get_busy (data) && cohort_thread_worker_get_memory (data) > 0;
}

static void
test_stop_cancels (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  CohortThreadWorker *w0;
  CohortThreadWorker *w1;
  int tids[2];
  gint64 begin;
  gint64 took;

  /* Tasks that would run for minutes. */
  cluster = start (f,
                   "[Cluster long]\nKind=threads\nTask=primes\nArguments={\"below\": 2000000000}\n"
                   "Threads=2\nRepeat=true\n");
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  w0 = thread_worker (cluster, 0);
  w1 = thread_worker (cluster, 1);
  g_assert_true (cohort_test_wait_until (is_busy, w0, 5000));
  g_assert_true (cohort_test_wait_until (is_busy, w1, 5000));
  tids[0] = cohort_thread_worker_get_tid (w0);
  tids[1] = cohort_thread_worker_get_tid (w1);
  g_test_message ("memory held by a primes task: %" G_GUINT64_FORMAT " bytes",
                  cohort_thread_worker_get_memory (w0));

  begin = g_get_monotonic_time ();
  cohort_cluster_stop (cluster);
  while (cohort_cluster_get_state (cluster) != COHORT_CLUSTER_STATE_STOPPED)
    cohort_test_sleep (5);
  took = g_get_monotonic_time () - begin;
  g_test_message ("stopped in %.1f ms", took / 1000.0);

  /* Cancelled, not waited out; and the pool's threads are gone. */
  g_assert_cmpint (took, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpint (cohort_worker_get_state (COHORT_WORKER (w0)), ==, COHORT_WORKER_STATE_STOPPED);
  g_assert_cmpuint (cohort_worker_get_restarts (COHORT_WORKER (w0)), ==, 0);
  /* The pool is freed once the loops end; its threads leave right after. */
  for (guint i = 0; i < 200 && (thread_exists (tids[0]) || thread_exists (tids[1])); i++)
    cohort_test_sleep (10);
  g_assert_false (thread_exists (tids[0]));
  g_assert_false (thread_exists (tids[1]));
  g_assert_cmpuint (cohort_thread_worker_get_memory (w0), ==, 0);
}

static void
test_scale (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(GError) error = NULL;
  int tids[3];

  cluster = start (f,
                   "[Cluster sums]\nKind=threads\nTask=sum\nArguments={\"n\": 100000}\n"
                   "Threads=1\nRepeat=true\n");
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  g_assert_true (cohort_test_wait_until (has_tid, thread_worker (cluster, 0), 5000));
  tids[0] = cohort_thread_worker_get_tid (thread_worker (cluster, 0));

  g_assert_true (cohort_cluster_scale (cluster, 3, &error));
  g_assert_no_error (error);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 3, 5000);
  for (guint id = 0; id < 3; id++)
    {
      g_assert_true (cohort_test_wait_until (has_tid, thread_worker (cluster, id), 5000));
      tids[id] = cohort_thread_worker_get_tid (thread_worker (cluster, id));
      g_assert_true (thread_exists (tids[id]));
    }
  /* The first thread was not touched. */
  g_assert_cmpint (tids[0], ==, cohort_thread_worker_get_tid (thread_worker (cluster, 0)));
  g_assert_cmpint (tids[1], !=, tids[2]);

  g_assert_true (cohort_cluster_scale (cluster, 1, &error));
  while (g_list_model_get_n_items (cohort_cluster_get_workers (cluster)) > 1)
    cohort_test_sleep (10);
  /* Surplus pool threads exit once their workers have stopped. */
  for (guint i = 0; i < 200 && (thread_exists (tids[1]) || thread_exists (tids[2])); i++)
    cohort_test_sleep (10);
  g_assert_false (thread_exists (tids[1]));
  g_assert_false (thread_exists (tids[2]));
  g_assert_cmpint (cohort_thread_worker_get_tid (thread_worker (cluster, 0)), ==, tids[0]);
}

/* One message object sent many times: its arguments must reach each
 * thread as a tree of its own (json-glib's reference counts are not
 * atomic, and a shared tree was freed too early about once in 200 000
 * tasks, failing tasks with "missing argument"). */
static void
test_shared_arguments (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonNode) task = json ("{\"task\": \"sum\", \"args\": {\"n\": 3}}");
  guint64 failed = 0;
  guint sent = 0;

  cluster = start (f, "[Cluster pool]\nKind=threads\nThreads=2\n");
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);

  /* Keep the queue fed, under its bound. */
  while (sent < 60000)
    {
      if (sent - results_in (cluster) < 5000)
        {
          g_assert_true (cohort_cluster_send (cluster, -1, task, NULL, NULL));
          sent++;
        }
      else
        g_main_context_iteration (NULL, FALSE);
    }
  wait_results (cluster, sent);

  for (guint id = 0; id < 2; id++)
    failed += cohort_worker_get_restarts (cohort_cluster_lookup_worker (cluster, id));
  g_test_message ("%u tasks, %" G_GUINT64_FORMAT " failed", sent, failed);
  g_assert_cmpuint (failed, ==, 0);
}

/* The entry @i of a batch's "results". */
static JsonObject *
batch_entry (JsonObject *result,
             guint       i)
{
  JsonArray *results = json_object_get_array_member (result, "results");

  g_assert_cmpuint (i, <, json_array_get_length (results));
  return json_array_get_object_element (results, i);
}

static void
test_batch (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonNode) batch = NULL;
  g_autoptr(JsonNode) failing = NULL;
  g_autoptr(JsonObject) result = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  CohortWorker *worker;
  JsonObject *entry;

  cluster = start (f, "[Cluster pool]\nKind=threads\nThreads=1\n");
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 0);

  /* Good and bad tasks in one message: one answer, an entry per task in
   * the order sent, the bad ones as errors and the others run. */
  batch = json ("{\"task\": \"sum\", \"batch\": [{\"n\": 10}, {\"n\": \"ten\"}, {\"n\": 3},"
                " {\"below\": 5}, 7, {\"n\": 1000}]}");
  g_assert_true (cohort_cluster_send (cluster, -1, batch, NULL, &error));
  g_assert_no_error (error);
  wait_results (cluster, 1);
  result = last_result (worker);
  g_assert_cmpstr (json_object_get_string_member (result, "task"), ==, "sum");
  g_assert_true (json_object_has_member (result, "ms"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (result, "results")), ==, 6);
  entry = batch_entry (result, 0);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (entry, "result"), "sum"), ==, 45);
  g_assert_false (json_object_has_member (entry, "error"));
  entry = batch_entry (result, 1);
  g_assert_false (json_object_has_member (entry, "result"));
  g_assert_nonnull (strstr (json_object_get_string_member (entry, "error"), "“n” must be an integer"));
  entry = batch_entry (result, 2);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (entry, "result"), "sum"), ==, 3);
  entry = batch_entry (result, 3);
  g_assert_nonnull (strstr (json_object_get_string_member (entry, "error"), "unknown argument “below”"));
  entry = batch_entry (result, 4);
  g_assert_nonnull (strstr (json_object_get_string_member (entry, "error"), "must be a JSON object"));
  entry = batch_entry (result, 5);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (entry, "result"), "sum"), ==, 499500);

  /* One message each way; six tasks done; the sender's mistakes are not
   * failures of the worker. */
  g_assert_cmpuint (cohort_worker_get_messages_out (worker), ==, 1);
  g_assert_cmpuint (cohort_worker_get_messages_in (worker), ==, 1);
  g_assert_cmpuint (cohort_thread_worker_get_tasks_done (COHORT_THREAD_WORKER (worker)), ==, 6);
  g_assert_cmpuint (cohort_worker_get_restarts (worker), ==, 0);
  messages = cohort_worker_dup_messages (worker, 0);
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_true (((CohortMessage *) g_ptr_array_index (messages, 0))->outgoing);
  g_assert_nonnull (strstr (((CohortMessage *) g_ptr_array_index (messages, 0))->json, "\"batch\":[{\"n\":10},"));

  /* A task that fails as it runs is an error entry too, counted once as
   * a failure; the rest of the batch runs. Sent to the worker itself. */
  text = g_strdup_printf ("{\"task\": \"sha256\", \"batch\": [{\"path\": \"%s/nowhere\"}, {\"bytes\": 0},"
                          " {\"path\": \"%s/nor-here\"}]}", f->dir, f->dir);
  failing = json (text);
  g_assert_true (cohort_cluster_send (cluster, 0, failing, NULL, &error));
  g_assert_no_error (error);
  wait_results (cluster, 2);
  g_clear_pointer (&result, json_object_unref);
  result = last_result (worker);
  g_assert_nonnull (strstr (json_object_get_string_member (batch_entry (result, 0), "error"), "nowhere"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (batch_entry (result, 1), "result"),
                                                  "sha256"),
                   ==, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  g_assert_nonnull (strstr (json_object_get_string_member (batch_entry (result, 2), "error"), "nor-here"));
  g_assert_cmpuint (cohort_worker_get_restarts (worker), ==, 1);
  g_assert_cmpint (cohort_worker_get_state (worker), ==, COHORT_WORKER_STATE_ONLINE);
}

static void
assert_refused (CohortCluster *cluster,
                const char    *message,
                const char    *reason)
{
  g_autoptr(JsonNode) node = json (message);
  g_autoptr(GError) error = NULL;

  g_assert_false (cohort_cluster_send (cluster, -1, node, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%.80s: %s", message, error->message);
  g_assert_nonnull (strstr (error->message, reason));
}

static void
test_bad_batches (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonNode) slow = json ("{\"task\": \"primes\", \"args\": {\"below\": 2000000000}}");
  g_autoptr(GString) text = g_string_new ("{\"task\": \"sum\", \"batch\": [");
  g_autoptr(JsonNode) largest = NULL;
  g_autoptr(GError) error = NULL;
  CohortThreadWorker *worker;

  cluster = start (f, "[Cluster pool]\nKind=threads\nThreads=1\n");
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  worker = thread_worker (cluster, 0);

  /* Refused whole, with the reason, before anything is queued. */
  assert_refused (cluster, "{\"task\": \"sum\", \"batch\": []}", "a batch holds 1 to 1000 tasks, not 0");
  assert_refused (cluster, "{\"task\": \"sum\", \"batch\": {\"n\": 1}}", "“batch” must be an array");
  assert_refused (cluster, "{\"task\": \"sum\", \"args\": {\"n\": 1}, \"batch\": [{\"n\": 1}]}",
                  "not both");
  assert_refused (cluster, "{\"task\": \"mine-bitcoin\", \"batch\": [{}]}", "no task named “mine-bitcoin”");
  for (guint i = 0; i <= COHORT_TASK_BATCH_MAX; i++)
    g_string_append (text, i > 0 ? ", {\"n\": 1}" : "{\"n\": 1}");
  g_string_append (text, "]}");
  assert_refused (cluster, text->str, "a batch holds 1 to 1000 tasks, not 1001");
  g_assert_cmpuint (cohort_cluster_get_queue_depth (cluster), ==, 0);
  g_assert_cmpuint (cohort_worker_get_messages_out (COHORT_WORKER (worker)), ==, 0);

  /* The queue's bound counts a batch as its tasks: with the thread busy,
   * ten of the largest batches fill it, and one task more is refused. */
  g_assert_true (cohort_cluster_send (cluster, -1, slow, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_test_wait_until (is_busy, worker, 5000));
  g_string_truncate (text, text->len - strlen (", {\"n\": 1}]}"));
  g_string_append (text, "]}");
  largest = json (text->str);
  for (guint i = 0; i < COHORT_TASK_QUEUE_MAX / COHORT_TASK_BATCH_MAX; i++)
    {
      g_assert_true (cohort_cluster_send (cluster, -1, largest, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (cohort_cluster_get_queue_depth (cluster), ==, COHORT_TASK_QUEUE_MAX);
  assert_refused (cluster, "{\"task\": \"sum\", \"batch\": [{\"n\": 1}]}", "batch of 1 refused");
  assert_refused (cluster, "{\"task\": \"sum\", \"args\": {\"n\": 1}}", "task refused");
}

/* Two threads run two tasks at the same time: each task runs for minutes
 * unless stopped, so both threads using CPU before either task has ended
 * means both ran at once. A pool that ran one task at a time would leave
 * the second thread waiting, and the wait below would time out. */
static gboolean
both_running (gpointer data)
{
  CohortCluster *cluster = data;
  const gint64 *start = g_object_get_data (G_OBJECT (cluster), "cpu-start");

  for (guint id = 0; id < 2; id++)
    {
      CohortThreadWorker *worker = thread_worker (cluster, id);

      if (!cohort_thread_worker_get_busy (worker) ||
          cohort_thread_worker_get_cpu_time (worker) - start[id] < 50 * 1000 * 1000)
        return FALSE;
    }
  return TRUE;
}

static void
test_two_at_once (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonNode) slow = json ("{\"task\": \"primes\", \"args\": {\"below\": 2000000000}}");
  g_autoptr(GError) error = NULL;
  gint64 start[2];

  cluster = start (f, "[Cluster pool]\nKind=threads\nThreads=2\n");
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  for (guint id = 0; id < 2; id++)
    {
      g_assert_true (cohort_test_wait_until (has_tid, thread_worker (cluster, id), 5000));
      start[id] = cohort_thread_worker_get_cpu_time (thread_worker (cluster, id));
    }
  g_object_set_data (G_OBJECT (cluster), "cpu-start", start);

  g_assert_true (cohort_cluster_send (cluster, -1, slow, NULL, &error));
  g_assert_true (cohort_cluster_send (cluster, -1, slow, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_test_wait_until (both_running, cluster, 20000));
  g_assert_cmpuint (results_in (cluster), ==, 0);
  g_assert_cmpuint (cohort_cluster_get_queue_depth (cluster), ==, 0);
  g_object_set_data (G_OBJECT (cluster), "cpu-start", NULL);
}

static void
test_profile_keys (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(CohortProfile) profile = cohort_profile_new ();
  g_autofree char *path = g_build_filename (f->dir, "t.cohort", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) all = g_string_new (NULL);

  g_assert_true (g_file_set_contents (path,
    "[Cluster a]\nKind=threads\nTask=fold-proteins\n"
    "[Cluster b]\nKind=threads\nTask=sum\nArguments={\"n\": -4}\nRepeat=true\n"
    "[Cluster c]\nKind=threads\nTask=sum\nArguments=[1]\n"
    "[Cluster d]\nKind=threads\nRepeat=yes\nThreads=0\nTaskTimeout=soon\n"
    "[Cluster e]\nKind=threads\nRepeat=true\nCommand=ls\n", -1, NULL));
  g_assert_false (cohort_profile_load_file (profile, path, &error));
  for (guint i = 0; i < cohort_profile_get_n_diagnostics (profile); i++)
    {
      g_autofree char *line =
        cohort_profile_format_diagnostic (profile, cohort_profile_get_diagnostic (profile, i));

      g_string_append_printf (all, "%s\n", line);
    }
  g_test_message ("%s", all->str);
  g_assert_nonnull (strstr (all->str, "t.cohort:3: Task: expected sum | primes | sha256 | compress | thumbnail, got “fold-proteins”"));
  g_assert_nonnull (strstr (all->str, "t.cohort:7: Arguments:"));
  g_assert_nonnull (strstr (all->str, "t.cohort:12: Arguments: expected a JSON object"));
  g_assert_nonnull (strstr (all->str, "t.cohort:15: Repeat: expected true or false"));
  g_assert_nonnull (strstr (all->str, "t.cohort:16: Threads:"));
  g_assert_nonnull (strstr (all->str, "t.cohort:17: TaskTimeout:"));
  g_assert_nonnull (strstr (all->str, "t.cohort:20: Repeat=true needs a Task"));
  g_assert_nonnull (strstr (all->str, "t.cohort:21: warning: Command applies to process clusters only"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/Cohort/Threads/repeat", test_repeat);
  ADD ("/Cohort/Threads/tasks-as-messages", test_tasks_as_messages);
  ADD ("/Cohort/Threads/bad-tasks", test_bad_tasks);
  ADD ("/Cohort/Threads/batch", test_batch);
  ADD ("/Cohort/Threads/bad-batches", test_bad_batches);
  ADD ("/Cohort/Threads/two-at-once", test_two_at_once);
  ADD ("/Cohort/Threads/task-timeout", test_task_timeout);
  ADD ("/Cohort/Threads/stop-cancels", test_stop_cancels);
  ADD ("/Cohort/Threads/scale", test_scale);
  ADD ("/Cohort/Threads/shared-arguments", test_shared_arguments);
  ADD ("/Cohort/Threads/profile-keys", test_profile_keys);

  return g_test_run ();
}
