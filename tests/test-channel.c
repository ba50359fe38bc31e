/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-channel.c: the message channel with real workers in C, Node,
 * Python and bash: messages both ways, readiness, the StopMessage step,
 * reload (also under load on a shared port), and every kind of bad input
 * a worker can throw at Cohort, with the counts, the bound on memory and
 * the main loop's responsiveness checked. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cohort-channel.h"
#include "cohort-line-reader.h"
#include "cohort-process-worker.h"
#include "cohort-test-util.h"

typedef CohortTestFixture Fixture;

#define fixture_setup cohort_test_fixture_setup
#define fixture_teardown cohort_test_fixture_teardown

static char *
fixture_path (const char *name)
{
  g_autofree char *path = g_build_filename (cohort_test_binary ("COHORT_FIXTURES"), name, NULL);

  return g_shell_quote (path);
}

static char *
node_path (void)
{
  g_autofree char *node = g_find_program_in_path ("node");

  /* The set-up script installs nodejs: a missing node is a failure. */
  g_assert_nonnull (node);
  return g_shell_quote (node);
}

static JsonNode *
json (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  return node;
}

static void
send_json (CohortWorker *worker,
           const char   *text)
{
  g_autoptr(JsonNode) node = json (text);
  g_autoptr(GError) error = NULL;

  cohort_worker_send (worker, node, &error);
  g_assert_no_error (error);
}

typedef struct
{
  CohortWorker *worker;
  guint64       count;
} InWait;

static gboolean
has_messages_in (gpointer data)
{
  InWait *w = data;

  return cohort_worker_get_messages_in (w->worker) >= w->count;
}

static void
wait_messages_in (CohortWorker *worker,
                  guint64       count,
                  guint         timeout_ms)
{
  InWait w = { worker, count };

  if (!cohort_test_wait_until (has_messages_in, &w, timeout_ms))
    g_error ("waited %u ms for %" G_GUINT64_FORMAT " messages from worker %u; have %" G_GUINT64_FORMAT,
             timeout_ms, count, cohort_worker_get_id (worker), cohort_worker_get_messages_in (worker));
}

/* The newest message received from @worker, as compact JSON. */
static char *
last_in (CohortWorker *worker)
{
  g_autoptr(GPtrArray) messages = cohort_worker_dup_messages (worker, 0);

  for (guint i = messages->len; i > 0; i--)
    {
      CohortMessage *message = g_ptr_array_index (messages, i - 1);

      if (!message->outgoing)
        return g_strdup (message->json);
    }
  return NULL;
}

/* Memory grew by less than @mib MiB. AddressSanitizer keeps freed memory
 * in quarantine, so under it the figure says nothing about Cohort. */
static void
assert_memory_bounded (guint64 before,
                       guint64 after,
                       guint   mib)
{
#ifdef __SANITIZE_ADDRESS__
  g_test_message ("RSS bound not checked under AddressSanitizer (%" G_GUINT64_FORMAT " → %" G_GUINT64_FORMAT " KiB)",
                  before / 1024, after / 1024);
#else
  g_assert_cmpuint (after, <, before + (guint64) mib * 1024 * 1024);
#endif
}

static gboolean
cluster_stopped (gpointer data)
{
  return cohort_cluster_get_state (data) == COHORT_CLUSTER_STATE_STOPPED;
}

/* Messages both ways */

static void
test_echo_c (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonNode) ping = json ("\"ping\"");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autofree char *echo0 = NULL;
  g_autofree char *echo1 = NULL;
  CohortWorker *w0;
  CohortWorker *w1;
  guint sent = 0;

  cluster = start (f, "[Cluster echo]\nCommand=%s --channel-echo\nInstances=2\n", f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  w0 = cohort_cluster_lookup_worker (cluster, 0);
  w1 = cohort_cluster_lookup_worker (cluster, 1);

  /* To every worker of the cluster … */
  g_assert_true (cohort_cluster_send (cluster, -1, ping, &sent, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sent, ==, 2);
  wait_messages_in (w0, 1, 5000);
  wait_messages_in (w1, 1, 5000);
  echo0 = last_in (w0);
  echo1 = last_in (w1);
  g_assert_cmpstr (echo0, ==, "{\"echo\":\"ping\"}");
  g_assert_cmpstr (echo1, ==, "{\"echo\":\"ping\"}");

  /* Counted on the wire, newline included. */
  g_assert_cmpuint (cohort_worker_get_messages_out (w0), ==, 1);
  g_assert_cmpuint (cohort_worker_get_bytes_out (w0), ==, strlen ("\"ping\"\n"));
  g_assert_cmpuint (cohort_worker_get_bytes_in (w0), ==, strlen ("{\"echo\":\"ping\"}\n"));
  g_assert_cmpuint (cohort_worker_get_bad_messages (w0), ==, 0);

  /* … or to one. */
  send_json (w1, "{\"n\": 1, \"text\": \"h\\u00e9 \\\"quoted\\\"\"}");
  wait_messages_in (w1, 2, 5000);
  g_assert_cmpuint (cohort_worker_get_messages_out (w0), ==, 1);
  g_assert_cmpuint (cohort_worker_get_messages_out (w1), ==, 2);

  /* Recent messages, in order, with direction and time. */
  messages = cohort_worker_dup_messages (w1, 0);
  g_assert_cmpuint (messages->len, ==, 4);
  g_assert_true (((CohortMessage *) g_ptr_array_index (messages, 0))->outgoing);
  g_assert_cmpstr (((CohortMessage *) g_ptr_array_index (messages, 0))->json, ==, "\"ping\"");
  g_assert_false (((CohortMessage *) g_ptr_array_index (messages, 1))->outgoing);
  g_assert_cmpstr (((CohortMessage *) g_ptr_array_index (messages, 3))->json, ==,
                   "{\"echo\":{\"n\":1,\"text\":\"hé \\\"quoted\\\"\"}}");
  g_assert_cmpint (((CohortMessage *) g_ptr_array_index (messages, 3))->time, >=,
                   ((CohortMessage *) g_ptr_array_index (messages, 0))->time);
}

/* Messages sent since @from, in order, as "<" or ">" and the text. */
static char *
history_since (CohortWorker *worker,
               guint         from)
{
  g_autoptr(GPtrArray) messages = cohort_worker_dup_messages (worker, 0);
  GString *out = g_string_new (NULL);

  for (guint i = from; i < messages->len; i++)
    {
      CohortMessage *message = g_ptr_array_index (messages, i);

      g_string_append_printf (out, "%s%s\n", message->outgoing ? ">" : "<", message->json);
    }
  return g_string_free (out, FALSE);
}

/* A prepared message goes out byte for byte as cohort_worker_send()
 * writes the same JsonNode, and is counted and kept the same way. */
static void
test_prepared (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonNode) node = json ("{\"n\": 1.5, \"s\": \"h\\u00e9 \\\"q\\\" \\\\ \\t \\u0001\", "
                                   "\"a\": [true, null, -3, {}]}");
  g_autoptr(CohortPreparedMessage) prepared = NULL;
  g_autoptr(CohortPreparedMessage) big = NULL;
  g_autoptr(JsonNode) big_node = json_node_new (JSON_NODE_VALUE);
  g_autoptr(GError) error = NULL;
  g_autofree char *serialized = NULL;
  g_autofree char *expected_echo = NULL;
  g_autofree char *echo0 = NULL;
  g_autofree char *echo1 = NULL;
  g_autofree char *history0 = NULL;
  g_autofree char *history1 = NULL;
  g_autofree char *filler = g_strnfill (300 * 1024, 'x');
  const char *text;
  gsize length;
  gsize big_length;
  CohortWorker *w0;
  CohortWorker *w1;

  cluster = start (f, "[Cluster echo]\nCommand=%s --channel-echo\nInstances=2\n", f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  w0 = cohort_cluster_lookup_worker (cluster, 0);
  w1 = cohort_cluster_lookup_worker (cluster, 1);

  prepared = cohort_message_prepare (node, &error);
  g_assert_no_error (error);
  text = cohort_prepared_message_get_text (prepared, &length);
  serialized = cohort_json_to_string (node, NULL);
  g_assert_cmpstr (text, ==, serialized);
  g_assert_cmpuint (length, ==, strlen (serialized));

  /* The same message, prepared to one worker, serialized to the other. */
  g_assert_true (cohort_worker_send_prepared (w0, prepared, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_worker_send (w1, node, &error));
  g_assert_no_error (error);
  wait_messages_in (w0, 1, 5000);
  wait_messages_in (w1, 1, 5000);
  expected_echo = g_strdup_printf ("{\"echo\":%s}", text);
  echo0 = last_in (w0);
  echo1 = last_in (w1);
  g_assert_cmpstr (echo0, ==, expected_echo);
  g_assert_cmpstr (echo1, ==, expected_echo);
  g_assert_cmpuint (cohort_worker_get_messages_out (w0), ==, 1);
  g_assert_cmpuint (cohort_worker_get_messages_out (w1), ==, 1);
  g_assert_cmpuint (cohort_worker_get_bytes_out (w0), ==, length + 1);
  g_assert_cmpuint (cohort_worker_get_bytes_out (w1), ==, length + 1);
  history0 = history_since (w0, 0);
  history1 = history_since (w1, 0);
  g_assert_cmpstr (history0, ==, history1);

  /* Sent again, as often as wanted: it does not change. */
  for (guint i = 0; i < 3; i++)
    g_assert_true (cohort_worker_send_prepared (w0, prepared, &error));
  wait_messages_in (w0, 4, 5000);
  g_assert_cmpuint (cohort_worker_get_messages_out (w0), ==, 4);
  g_assert_cmpuint (cohort_worker_get_bytes_out (w0), ==, 4 * (length + 1));
  g_clear_pointer (&echo0, g_free);
  echo0 = last_in (w0);
  g_assert_cmpstr (echo0, ==, expected_echo);

  /* More than the socket takes at once: the rest is queued, still
   * whole, and the echo counts every byte. */
  json_node_set_string (big_node, filler);
  big = cohort_message_prepare (big_node, &error);
  g_assert_no_error (error);
  cohort_prepared_message_get_text (big, &big_length);
  g_assert_cmpuint (big_length, ==, 300 * 1024 + 2);
  g_assert_true (cohort_worker_send_prepared (w1, big, &error));
  g_assert_no_error (error);
  wait_messages_in (w1, 2, 5000);
  g_assert_cmpuint (cohort_worker_get_bytes_out (w1), ==, length + 1 + big_length + 1);
  g_assert_cmpuint (cohort_worker_get_bytes_in (w1), ==,
                    strlen (expected_echo) + 1 + strlen ("{\"echo\":}\n") + big_length);
  g_assert_cmpuint (cohort_worker_get_bad_messages (w1), ==, 0);
}

/* A message to every worker is serialized once and reaches each one the
 * same, byte for byte. */
static void
test_broadcast (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(JsonNode) node = json ("[\"\\u00e9t\\u00e9\", 12345678901, -0.25, {\"k\": \"a\\nb\"}]");
  g_autoptr(GError) error = NULL;
  g_autofree char *text = cohort_json_to_string (node, NULL);
  g_autofree char *expected_echo = g_strdup_printf ("{\"echo\":%s}", text);
  g_autofree char *expected_history = g_strdup_printf (">%s\n<%s\n", text, expected_echo);
  guint sent = 0;

  cluster = start (f, "[Cluster echo]\nCommand=%s --channel-echo\nInstances=3\n", f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 3, 5000);

  g_assert_true (cohort_cluster_send (cluster, -1, node, &sent, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sent, ==, 3);
  for (guint id = 0; id < 3; id++)
    {
      CohortWorker *worker = cohort_cluster_lookup_worker (cluster, id);
      g_autofree char *history = NULL;

      wait_messages_in (worker, 1, 5000);
      history = history_since (worker, 0);
      g_assert_cmpstr (history, ==, expected_history);
      g_assert_cmpuint (cohort_worker_get_messages_out (worker), ==, 1);
      g_assert_cmpuint (cohort_worker_get_bytes_out (worker), ==, strlen (text) + 1);
      g_assert_cmpuint (cohort_worker_get_bytes_in (worker), ==, strlen (expected_echo) + 1);
    }
}

static void
test_echo_scripts (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *sh = fixture_path ("sh-worker.sh");
  g_autofree char *py = fixture_path ("py-worker.py");
  g_autoptr(CohortCluster) shell = NULL;
  g_autoptr(CohortCluster) python = NULL;
  CohortWorker *ws;
  CohortWorker *wp;
  g_autofree char *echo_sh = NULL;
  g_autofree char *echo_py = NULL;

  /* Both say "ready" first; ReadyTimeout makes Cohort wait for it. */
  shell = start (f,
                 "[Cluster shell]\nCommand=/bin/bash %s\nReadyTimeout=10\nStopTimeout=5\n"
                 "[Cluster python]\nCommand=python3 %s\nReadyTimeout=10\nStopTimeout=5\n",
                 sh, py);
  python = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  cohort_test_wait_state (shell, COHORT_WORKER_STATE_ONLINE, 1, 10000);
  cohort_test_wait_state (python, COHORT_WORKER_STATE_ONLINE, 1, 10000);
  ws = cohort_cluster_lookup_worker (shell, 0);
  wp = cohort_cluster_lookup_worker (python, 0);
  g_assert_cmpuint (cohort_worker_get_messages_in (ws), ==, 1);

  send_json (ws, "{\"a\": [1, 2]}");
  send_json (wp, "{\"a\": [1, 2]}");
  wait_messages_in (ws, 2, 5000);
  wait_messages_in (wp, 2, 5000);
  echo_sh = last_in (ws);
  echo_py = last_in (wp);
  g_assert_cmpstr (echo_sh, ==, "{\"echo\":{\"a\":[1,2]}}");
  g_assert_cmpstr (echo_py, ==, "{\"echo\":{\"a\":[1,2]}}");

  /* "shutdown" ends both before any signal. */
  cohort_supervisor_stop (f->supervisor);
  g_assert_true (cohort_test_wait_until (cluster_stopped, shell, 5000));
  g_assert_true (cohort_test_wait_until (cluster_stopped, python, 5000));
  g_assert_cmpint (cohort_worker_get_stop_step (ws), ==, COHORT_STOP_STEP_MESSAGE);
  g_assert_cmpint (cohort_worker_get_stop_step (wp), ==, COHORT_STOP_STEP_MESSAGE);
  g_assert_cmpstr (cohort_worker_get_last_exit (ws), ==, "exit 0");
  g_assert_cmpstr (cohort_worker_get_last_exit (wp), ==, "exit 0");
}

/* The Node tutorial's patterns, unchanged: process.on('message'),
 * process.send(), a worker that leaves on 'shutdown', and 'ready'. */
static void
test_node (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *node = node_path ();
  g_autofree char *script = fixture_path ("node-worker.js");
  g_autoptr(CohortCluster) echo = NULL;
  g_autoptr(CohortCluster) ready = NULL;
  g_autofree char *answer = NULL;
  CohortWorker *we;
  CohortWorker *wr;

  echo = start (f,
                "[Cluster echo]\nCommand=%s %s echo\nStopTimeout=10\n"
                "[Cluster ready]\nCommand=%s %s ready 300\nReadyTimeout=10\n",
                node, script, node, script);
  ready = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  we = cohort_cluster_lookup_worker (echo, 0);
  wr = cohort_cluster_lookup_worker (ready, 0);

  /* Not online until it says so. */
  g_assert_cmpint (cohort_worker_get_state (wr), ==, COHORT_WORKER_STATE_STARTING);
  cohort_test_wait_state (ready, COHORT_WORKER_STATE_ONLINE, 1, 10000);
  g_assert_cmpuint (cohort_worker_get_messages_in (wr), ==, 1);
  g_assert_cmpfloat (cohort_worker_get_uptime (wr), >=, 0.3);

  cohort_test_wait_state (echo, COHORT_WORKER_STATE_ONLINE, 1, 10000);
  send_json (we, "{\"greeting\": \"héllo\", \"n\": [1, 2.5, null, true]}");
  wait_messages_in (we, 1, 10000);
  answer = last_in (we);
  g_assert_cmpstr (answer, ==, "{\"echo\":{\"greeting\":\"héllo\",\"n\":[1,2.5,null,true]}}");

  /* Its 'shutdown' handler exits before any signal (StopTimeout is 10 s). */
  cohort_cluster_stop (echo);
  g_assert_true (cohort_test_wait_until (cluster_stopped, echo, 5000));
  g_assert_cmpint (cohort_worker_get_stop_step (we), ==, COHORT_STOP_STEP_MESSAGE);
  g_assert_cmpstr (cohort_worker_get_last_exit (we), ==, "exit 0");
}

/* Readiness and the stop message */

static void
note_online_cb (CohortWorker *worker,
                GParamSpec   *pspec,
                gboolean     *was_online)
{
  *was_online |= cohort_worker_get_state (worker) == COHORT_WORKER_STATE_ONLINE;
}

static void
test_ready_timeout (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  CohortWorker *worker;
  gboolean was_online = FALSE;

  cluster = start (f,
                   "[Cluster mute]\nCommand=%s --on-shutdown-exit 0\nReadyTimeout=0.3\n"
                   "RestartDelay=50\nMinUptime=10\nMaxRestarts=1\nStopTimeout=1\n",
                   f->worker);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  g_signal_connect (worker, "notify::state", G_CALLBACK (note_online_cb), &was_online);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ERRORED, 1, 10000);
  g_signal_handlers_disconnect_by_data (worker, &was_online);

  /* Never online; restarted once for the timeout, then given up. */
  g_assert_false (was_online);
  g_assert_cmpuint (cohort_worker_get_restarts (worker), ==, 1);
  g_assert_cmpstr (cohort_worker_get_last_exit (worker), ==, "timeout");
  g_test_message ("%s", cohort_worker_get_reason (worker));
  g_assert_nonnull (strstr (cohort_worker_get_reason (worker), "not ready within 0.3 s"));
  /* It was asked to stop with the message, and it obeyed. */
  g_assert_cmpuint (cohort_worker_get_messages_out (worker), ==, 2);
}

static void
test_stop_message (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(CohortCluster) polite = NULL;
  g_autoptr(CohortCluster) deaf = NULL;
  g_autoptr(GPtrArray) sent = NULL;
  CohortWorker *wp;
  CohortWorker *wd;

  polite = start (f,
                  "[Cluster polite]\nCommand=%s --on-shutdown-exit 0 --term-delay 50\nStopTimeout=5\n"
                  "[Cluster deaf]\nCommand=%s --on-shutdown-exit 0\nStopMessage={\"cmd\": \"quit\"}\n"
                  "StopTimeout=0.3\n",
                  f->worker, f->worker);
  deaf = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  cohort_test_wait_state (polite, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  cohort_test_wait_state (deaf, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  wp = cohort_cluster_lookup_worker (polite, 0);
  wd = cohort_cluster_lookup_worker (deaf, 0);

  cohort_supervisor_stop (f->supervisor);
  g_assert_cmpint (cohort_worker_get_stop_step (wp), ==, COHORT_STOP_STEP_MESSAGE);
  g_assert_true (cohort_test_wait_until (cluster_stopped, polite, 5000));
  g_assert_true (cohort_test_wait_until (cluster_stopped, deaf, 5000));

  g_assert_cmpint (cohort_worker_get_stop_step (wp), ==, COHORT_STOP_STEP_MESSAGE);
  g_assert_cmpstr (cohort_worker_get_last_exit (wp), ==, "exit 0");
  g_assert_cmpstr (cohort_worker_get_reason (wp), ==, "stopped by message");

  /* A message it does not understand: the signal step ends it. */
  g_assert_cmpint (cohort_worker_get_stop_step (wd), ==, COHORT_STOP_STEP_SIGNAL);
  g_assert_cmpstr (cohort_worker_get_last_exit (wd), ==, "signal 15");
  sent = cohort_worker_dup_messages (wd, 0);
  g_assert_cmpuint (sent->len, ==, 1);
  g_assert_cmpstr (((CohortMessage *) g_ptr_array_index (sent, 0))->json, ==, "{\"cmd\":\"quit\"}");
}

/* Bad input */

static void
test_bad_lines (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  CohortWorker *worker;

  cluster = start (f, "[Cluster bad]\nCommand=%s --bad-lines\n", f->worker);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  wait_messages_in (worker, 2, 5000);
  while (cohort_worker_get_bad_messages (worker) < 2)
    cohort_test_sleep (10);

  /* Invalid JSON and invalid UTF-8 dropped and counted; the good ones
   * around them arrive. */
  messages = cohort_worker_dup_messages (worker, 0);
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpstr (((CohortMessage *) g_ptr_array_index (messages, 0))->json, ==, "{\"ok\":1}");
  g_assert_cmpstr (((CohortMessage *) g_ptr_array_index (messages, 1))->json, ==, "{\"ok\":2}");
  g_assert_cmpuint (cohort_worker_get_bad_messages (worker), ==, 2);
  g_assert_nonnull (cohort_worker_get_last_bad_message (worker));
  g_assert_cmpint (cohort_worker_get_state (worker), ==, COHORT_WORKER_STATE_ONLINE);
}

static void
test_huge_line (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortCluster) endless = NULL;
  g_autoptr(CohortCluster) echo = NULL;
  g_autofree char *after = NULL;
  g_autofree char *answer = NULL;
  CohortWorker *worker;
  CohortWorker *we;
  CohortWorker *wecho;
  guint64 rss_before;
  guint64 rss_after;

  rss_before = cohort_test_self_rss ();
  cluster = start (f,
                   "[Cluster huge]\nCommand=%s --huge-line 1100000\n"
                   "[Cluster endless]\nCommand=%s --huge-line 3000000 --no-newline\n"
                   "[Cluster echo]\nCommand=%s --channel-echo\n",
                   f->worker, f->worker, f->worker);
  endless = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  echo = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 2);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  we = cohort_cluster_lookup_worker (endless, 0);
  cohort_test_wait_state (echo, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  wecho = cohort_cluster_lookup_worker (echo, 0);

  /* Over 1 MiB: dropped, counted once, and the next line is whole. */
  wait_messages_in (worker, 1, 10000);
  after = last_in (worker);
  g_assert_cmpstr (after, ==, "{\"after\":\"huge\"}");
  g_assert_cmpuint (cohort_worker_get_bad_messages (worker), ==, 1);

  /* 3 MB and never a newline: counted once it passes 1 MiB, the rest is
   * skipped, and nothing of it is kept. */
  while (cohort_worker_get_bad_messages (we) < 1)
    cohort_test_sleep (10);
  cohort_test_sleep (300);
  g_assert_cmpuint (cohort_worker_get_bad_messages (we), ==, 1);
  g_assert_cmpuint (cohort_worker_get_messages_in (we), ==, 0);

  /* Others' messages still flow; memory stays bounded. */
  send_json (wecho, "\"still here\"");
  wait_messages_in (wecho, 1, 5000);
  answer = last_in (wecho);
  g_assert_cmpstr (answer, ==, "{\"echo\":\"still here\"}");
  rss_after = cohort_test_self_rss ();
  g_test_message ("RSS %" G_GUINT64_FORMAT " → %" G_GUINT64_FORMAT " KiB",
                  rss_before / 1024, rss_after / 1024);
  assert_memory_bounded (rss_before, rss_after, 16);
}

static gboolean
send_fails_closed (gpointer data)
{
  g_autoptr(JsonNode) node = json ("\"anyone?\"");
  g_autoptr(GError) error = NULL;

  if (cohort_worker_send (data, node, &error))
    return FALSE;
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  return TRUE;
}

static void
test_worker_closes_channel (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  CohortWorker *worker;

  cluster = start (f, "[Cluster closer]\nCommand=%s --close-channel\nStopMessage=\"shutdown\"\nStopTimeout=5\n",
                   f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 0);

  /* Sends fail with a clear error once Cohort has seen the close … */
  g_assert_true (cohort_test_wait_until (send_fails_closed, worker, 5000));
  /* … the worker stays up, and a stop skips straight to the signal. */
  g_assert_cmpint (cohort_worker_get_state (worker), ==, COHORT_WORKER_STATE_ONLINE);
  cohort_cluster_stop (cluster);
  g_assert_cmpint (cohort_worker_get_stop_step (worker), ==, COHORT_STOP_STEP_SIGNAL);
  g_assert_true (cohort_test_wait_until (cluster_stopped, cluster, 5000));
}

typedef struct
{
  gint64 last;
  gint64 max_gap;
} Lag;

static gboolean
lag_tick_cb (gpointer data)
{
  Lag *lag = data;
  gint64 now = g_get_monotonic_time ();

  if (lag->last != 0)
    lag->max_gap = MAX (lag->max_gap, now - lag->last);
  lag->last = now;
  return G_SOURCE_CONTINUE;
}

static void
test_flood (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortCluster) echo = NULL;
  g_autofree char *last = NULL;
  g_autofree char *answer = NULL;
  CohortWorker *worker;
  CohortWorker *wecho;
  Lag lag = { 0 };
  guint64 rss_before;
  guint64 rss_after;
  guint tick;

  rss_before = cohort_test_self_rss ();
  cluster = start (f,
                   "[Cluster flood]\nCommand=%s --flood 1000000\n"
                   "[Cluster echo]\nCommand=%s --channel-echo\n",
                   f->worker, f->worker);
  echo = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  wecho = cohort_cluster_lookup_worker (echo, 0);
  tick = g_timeout_add (10, lag_tick_cb, &lag);

  /* Mid-flood, another worker is answered. */
  wait_messages_in (worker, 1000, 10000);
  send_json (wecho, "\"during the flood\"");
  wait_messages_in (wecho, 1, 10000);
  answer = last_in (wecho);
  g_assert_cmpstr (answer, ==, "{\"echo\":\"during the flood\"}");
  g_test_message ("flood at %" G_GUINT64_FORMAT " when the echo came back",
                  cohort_worker_get_messages_in (worker));

  /* A million messages, all counted, none lost. */
  wait_messages_in (worker, 1000001, 120000);
  g_clear_handle_id (&tick, g_source_remove);
  last = last_in (worker);
  g_assert_cmpstr (last, ==, "\"flood-done\"");
  g_assert_cmpuint (cohort_worker_get_messages_in (worker), ==, 1000001);
  g_assert_cmpuint (cohort_worker_get_bad_messages (worker), ==, 0);

  /* The main loop kept turning; memory did not grow with the flood. */
  rss_after = cohort_test_self_rss ();
  g_test_message ("longest main-loop gap %" G_GINT64_FORMAT " ms; RSS %" G_GUINT64_FORMAT
                  " → %" G_GUINT64_FORMAT " KiB",
                  lag.max_gap / 1000, rss_before / 1024, rss_after / 1024);
  /* Generous: the machine is shared; reading a million messages in one
   * go would take seconds. */
  g_assert_cmpint (lag.max_gap, <, 2000 * 1000);
  assert_memory_bounded (rss_before, rss_after, 32);
}

static void
test_never_reads (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) big = NULL;
  g_autofree char *text = NULL;
  CohortWorker *worker;
  guint accepted = 0;
  guint64 rss_before;

  cluster = start (f, "[Cluster deaf]\nCommand=%s --never-read\nStopMessage=\n", f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  rss_before = cohort_test_self_rss ();

  text = g_strnfill (64 * 1024, 'x');
  big = json_node_new (JSON_NODE_VALUE);
  json_node_set_string (big, text);

  /* Queued up to the bound, then refused with an error. */
  while (accepted < 1000)
    {
      if (!cohort_worker_send (worker, big, &error))
        break;
      accepted++;
    }
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  g_test_message ("%u messages of 64 KiB accepted: %s", accepted, error->message);
  g_assert_cmpuint (accepted, >=, COHORT_CHANNEL_MAX_QUEUED / (64 * 1024) - 1);
  g_assert_cmpuint (accepted, <, 200);
  g_assert_cmpuint (cohort_worker_get_messages_out (worker), ==, accepted);
  assert_memory_bounded (rss_before, cohort_test_self_rss (), 16);

  /* Small messages are refused too, rather than lost, while it is full. */
  g_clear_error (&error);
  g_assert_false (cohort_cluster_send (cluster, -1, big, NULL, &error));
  g_assert_nonnull (strstr (error->message, "not reading its messages"));
}

static void
test_refused_messages (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *report = g_build_filename (f->dir, "report.json", NULL);
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortCluster) mute = NULL;
  g_autoptr(JsonNode) internal = json ("{\"cmd\": \"NODE_HANDLE_ACK\"}");
  g_autoptr(JsonNode) hello = json ("\"hello\"");
  g_autoptr(JsonObject) r = NULL;
  g_autoptr(GError) error = NULL;
  CohortWorker *worker;

  cluster = start (f,
                   "[Cluster echo]\nCommand=%s --channel-echo\n"
                   "[Cluster mute]\nCommand=%s --report %s\nChannel=none\n",
                   f->worker, f->worker, report);
  mute = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 0);

  /* Node's own commands are never sent (they would confuse a Node worker). */
  g_assert_false (cohort_worker_send (worker, internal, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (cohort_worker_get_messages_out (worker), ==, 0);
  g_clear_error (&error);
  g_assert_null (cohort_message_prepare (internal, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (cohort_cluster_send (cluster, -1, internal, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (cohort_worker_get_messages_out (worker), ==, 0);
  g_clear_error (&error);

  /* Channel=none: no descriptor, no variable, and a clear error. */
  r = cohort_test_read_json (report);
  g_assert_false (json_object_has_member (json_object_get_object_member (r, "env"), "COHORT_CHANNEL_FD"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (r, "fds")), ==, 3);
  g_assert_false (cohort_cluster_send (mute, -1, hello, NULL, &error));
  g_assert_nonnull (strstr (error->message, "Channel=none"));
}

/* Reload */

static void
count_items_cb (GListModel *model,
                guint       position,
                guint       removed,
                guint       added,
                guint      *most)
{
  *most = MAX (*most, g_list_model_get_n_items (model));
}

/* During a reload, a replacement comes right after the worker of its id
 * (the window's table and the sampler take the last of an id). */
static void
replacement_order_cb (GListModel *model,
                      guint       position,
                      guint       removed,
                      guint       added,
                      guint      *n_added)
{
  g_autoptr(CohortWorker) before = NULL;
  g_autoptr(CohortWorker) replacement = NULL;

  if (added == 0)
    return;
  g_assert_cmpuint (added, ==, 1);
  g_assert_cmpuint (position, >, 0);
  before = g_list_model_get_item (model, position - 1);
  replacement = g_list_model_get_item (model, position);
  g_assert_cmpuint (cohort_worker_get_id (before), ==, cohort_worker_get_id (replacement));
  (*n_added)++;
}

static void
test_reload (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(GPtrArray) history = NULL;
  CohortTestReload r = { 0 };
  GPid before[2];
  guint most = 0;
  guint n_added = 0;

  cluster = start (f,
                   "[Cluster web]\nCommand=%s --channel-echo --on-shutdown-exit 0 --send-ready --ready-after 100\n"
                   "Instances=2\nReadyTimeout=5\nStopTimeout=5\n",
                   f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  for (guint id = 0; id < 2; id++)
    before[id] = cohort_test_worker_pid (cluster, id);
  send_json (cohort_cluster_lookup_worker (cluster, 0), "\"before the reload\"");
  wait_messages_in (cohort_cluster_lookup_worker (cluster, 0), 2, 5000);

  g_signal_connect (cohort_cluster_get_workers (cluster), "items-changed",
                    G_CALLBACK (count_items_cb), &most);
  g_signal_connect (cohort_cluster_get_workers (cluster), "items-changed",
                    G_CALLBACK (replacement_order_cb), &n_added);
  cohort_cluster_reload_async (cluster, NULL, cohort_test_reload_cb, &r);
  g_assert_true (cohort_cluster_get_reloading (cluster));
  /* The old worker serves until its replacement is ready. */
  g_assert_cmpuint (cohort_cluster_get_n_online (cluster), ==, 2);
  g_assert_true (cohort_test_wait_until (cohort_test_reload_done, &r, 20000));
  g_signal_handlers_disconnect_by_data (cohort_cluster_get_workers (cluster), &most);
  g_signal_handlers_disconnect_by_data (cohort_cluster_get_workers (cluster), &n_added);
  g_assert_cmpuint (n_added, ==, 2);

  g_assert_no_error (r.error);
  g_assert_cmpuint (r.replaced, ==, 2);
  g_assert_false (cohort_cluster_get_reloading (cluster));
  /* One at a time: never more than one extra worker. */
  g_assert_cmpuint (most, ==, 3);
  g_assert_cmpuint (g_list_model_get_n_items (cohort_cluster_get_workers (cluster)), ==, 2);
  for (guint id = 0; id < 2; id++)
    {
      CohortWorker *worker = cohort_cluster_lookup_worker (cluster, id);

      g_assert_cmpint (cohort_worker_get_state (worker), ==, COHORT_WORKER_STATE_ONLINE);
      g_assert_cmpint (cohort_test_worker_pid (cluster, id), !=, before[id]);
      g_assert_false (cohort_test_pid_exists (before[id]));
      g_assert_cmpuint (cohort_worker_get_restarts (worker), ==, 1);
    }

  /* The slot keeps its history across the reload. */
  history = cohort_worker_dup_messages (cohort_cluster_lookup_worker (cluster, 0), 0);
  g_assert_cmpstr (((CohortMessage *) g_ptr_array_index (history, 1))->json, ==, "\"before the reload\"");
}

/* The message history is a ring of reused buffers: past its 100 places the
 * oldest go, in order, whatever the sizes (a message over 16 KiB is kept
 * as a summary); a send from a handler of a send goes out too; a reload's
 * replacement takes over a ring that has wrapped. */
typedef struct
{
  guint     nested_at;
  gboolean  nested_sent;
} NestedSend;

static void
nested_send_cb (CohortWorker        *worker,
                const CohortMessage *message,
                NestedSend          *n)
{
  g_autofree char *at = g_strdup_printf ("{\"i\":%u,", n->nested_at);

  if (message->outgoing && !n->nested_sent && g_str_has_prefix (message->json, at))
    {
      n->nested_sent = TRUE;
      send_json (worker, "\"nested\"");
      /* The outer message is still what this handler was given. */
      g_assert_true (g_str_has_prefix (message->json, at));
    }
}

static char *
history_message (guint i)
{
  static const gsize pads[] = { 0, 100, 5000, 20000, 37, 17000 };
  g_autofree char *pad = g_strnfill (pads[i % G_N_ELEMENTS (pads)], 'x');

  return g_strdup_printf ("{\"i\":%u,\"pad\":\"%s\"}", i, pad);
}

/* What the history keeps of @json, after a mark of its direction: '>'
 * out, '<' in. */
static char *
kept (gboolean    outgoing,
      const char *json)
{
  gsize length = strlen (json);

  if (length > 16 * 1024)
    return g_strdup_printf ("%c{\"not_kept\":true,\"bytes\":%" G_GSIZE_FORMAT "}",
                            outgoing ? '>' : '<', length);
  return g_strdup_printf ("%c%s", outgoing ? '>' : '<', json);
}

/* @history's message @i is @want, a string from kept(). */
static void
assert_kept (GPtrArray  *history,
             guint       i,
             const char *want)
{
  CohortMessage *message = g_ptr_array_index (history, i);

  g_assert_cmpstr (message->json, ==, want + 1);
  g_assert_cmpint (message->outgoing, ==, want[0] == '>');
  if (i > 0)
    g_assert_cmpint (message->time, >=, ((CohortMessage *) g_ptr_array_index (history, i - 1))->time);
}

static void
test_history (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GPtrArray) newest = NULL;
  NestedSend n = { 61, FALSE };
  CohortTestReload r = { 0 };
  CohortWorker *worker;
  guint64 in = 1;  /* "ready" */

  cluster = start (f,
                   "[Cluster echo]\nCommand=%s --channel-echo --on-shutdown-exit 0 --send-ready\n"
                   "ReadyTimeout=5\nStopTimeout=5\n",
                   f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  g_ptr_array_add (expected, kept (FALSE, "\"ready\""));
  g_signal_connect (worker, "message", G_CALLBACK (nested_send_cb), &n);

  for (guint i = 0; i < 130; i++)
    {
      g_autofree char *message = history_message (i);
      g_autofree char *echo = g_strdup_printf ("{\"echo\":%s}", message);

      send_json (worker, message);
      g_ptr_array_add (expected, kept (TRUE, message));
      in++;
      if (i == n.nested_at)
        {
          g_assert_true (n.nested_sent);
          g_ptr_array_add (expected, kept (TRUE, "\"nested\""));
          in++;
        }
      wait_messages_in (worker, in, 5000);
      g_ptr_array_add (expected, kept (FALSE, echo));
      if (i == n.nested_at)
        g_ptr_array_add (expected, kept (FALSE, "{\"echo\":\"nested\"}"));
    }
  g_signal_handlers_disconnect_by_data (worker, &n);

  history = cohort_worker_dup_messages (worker, 0);
  g_assert_cmpuint (history->len, ==, 100);
  for (guint i = 0; i < 100; i++)
    assert_kept (history, i, g_ptr_array_index (expected, expected->len - 100 + i));
  newest = cohort_worker_dup_messages (worker, 7);
  g_assert_cmpuint (newest->len, ==, 7);
  for (guint i = 0; i < 7; i++)
    assert_kept (newest, i, g_ptr_array_index (expected, expected->len - 7 + i));

  /* The replacement's "ready" comes after the 99 newest of the old. */
  cohort_cluster_reload_async (cluster, NULL, cohort_test_reload_cb, &r);
  g_assert_true (cohort_test_wait_until (cohort_test_reload_done, &r, 20000));
  g_assert_no_error (r.error);
  g_ptr_array_unref (history);
  history = cohort_worker_dup_messages (cohort_cluster_lookup_worker (cluster, 0), 0);
  g_assert_cmpuint (history->len, ==, 100);
  for (guint i = 0; i < 99; i++)
    assert_kept (history, i, g_ptr_array_index (expected, expected->len - 99 + i));
  assert_kept (history, 99, "<\"ready\"");
}

/* After a failed reload: the two old workers, by pid, still online, and
 * the failed replacement gone. */
static void
assert_still_serving (CohortCluster *cluster,
                      const GPid    *before)
{
  while (g_list_model_get_n_items (cohort_cluster_get_workers (cluster)) > 2)
    cohort_test_sleep (10);
  for (guint id = 0; id < 2; id++)
    {
      g_assert_cmpint (cohort_test_worker_pid (cluster, id), ==, before[id]);
      g_assert_cmpint (cohort_worker_get_state (cohort_cluster_lookup_worker (cluster, id)), ==,
                       COHORT_WORKER_STATE_ONLINE);
    }
  g_assert_cmpuint (cohort_cluster_get_n_online (cluster), ==, 2);
}

static void
test_reload_failure (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *flag = g_build_filename (f->dir, "broken", NULL);
  g_autofree char *script = NULL;
  g_autofree char *quoted = NULL;
  g_autoptr(CohortCluster) cluster = NULL;
  CohortTestReload r = { 0 };
  GPid before[2];

  /* The new version of the program does not start. */
  script = g_strdup_printf ("test -e %s && exit 1; exec %s --channel-echo --on-shutdown-exit 0 --send-ready",
                            flag, f->worker);
  quoted = g_shell_quote (script);
  cluster = start (f,
                   "[Cluster web]\nCommand=/bin/sh -c %s\nInstances=2\nReadyTimeout=5\nStopTimeout=5\n"
                   "RestartDelay=50\nMinUptime=10\nMaxRestarts=0\n",
                   quoted);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  for (guint id = 0; id < 2; id++)
    before[id] = cohort_test_worker_pid (cluster, id);

  g_assert_true (g_file_set_contents (flag, "", 0, NULL));
  cohort_cluster_reload_async (cluster, NULL, cohort_test_reload_cb, &r);
  g_assert_true (cohort_test_wait_until (cohort_test_reload_done, &r, 20000));

  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_test_message ("%s", r.error->message);
  g_assert_nonnull (strstr (r.error->message, "did not come online"));
  g_clear_error (&r.error);

  /* The old workers still serve, untouched. */
  assert_still_serving (cluster, before);
}

/* Without a readiness handshake, a replacement whose exec fails (the
 * program is there and executable, its #! interpreter is not: found out
 * only by the exec, after cohort_spawn() has returned) is never taken
 * for a working one: the reload fails and the old workers still serve. */
static void
test_reload_exec_failure (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *script = g_build_filename (f->dir, "app", NULL);
  g_autofree char *good = g_strdup_printf ("#!/bin/sh\nexec %s --channel-echo --on-shutdown-exit 0\n", f->worker);
  g_autoptr(CohortCluster) cluster = NULL;
  CohortTestReload r = { 0 };
  GPid before[2];

  g_assert_true (g_file_set_contents (script, good, -1, NULL));
  g_assert_cmpint (g_chmod (script, 0755), ==, 0);
  cluster = start (f,
                   "[Cluster web]\nCommand=%s\nInstances=2\nStopTimeout=5\n"
                   "RestartDelay=50\nMinUptime=10\nMaxRestarts=0\n",
                   script);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  for (guint id = 0; id < 2; id++)
    before[id] = cohort_test_worker_pid (cluster, id);

  g_assert_true (g_file_set_contents (script, "#!/nonexistent/interpreter\n", -1, NULL));
  g_assert_cmpint (g_chmod (script, 0755), ==, 0);
  cohort_cluster_reload_async (cluster, NULL, cohort_test_reload_cb, &r);
  g_assert_true (cohort_test_wait_until (cohort_test_reload_done, &r, 20000));
  g_assert_nonnull (r.error);
  g_test_message ("%s", r.error->message);
  g_assert_nonnull (strstr (r.error->message, "No such file or directory"));
  g_clear_error (&r.error);

  assert_still_serving (cluster, before);
}


/* Steady loopback load during a reload of Node servers on one port. */

typedef struct
{
  guint16   port;
  gint      stop;
  guint     ok;
  guint     failed;
  char     *first_failure;
} Load;

static gpointer
load_thread (gpointer data)
{
  Load *load = data;

  while (!g_atomic_int_get (&load->stop))
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *body = cohort_test_http_get (load->port, &error);

      if (body != NULL && g_str_has_prefix (body, "worker "))
        load->ok++;
      else
        {
          load->failed++;
          if (load->first_failure == NULL)
            load->first_failure = g_strdup (error != NULL ? error->message : body);
        }
    }
  return NULL;
}

static void
test_reload_under_load (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *node = node_path ();
  g_autofree char *script = fixture_path ("node-worker.js");
  g_autoptr(CohortCluster) cluster = NULL;
  Load load = { 0 };
  CohortTestReload r = { 0 };
  GThread *thread;
  guint ok_before;

  cluster = start (f,
                   "[Cluster web]\nCommand=%s %s serve\nInstances=2\nListen=127.0.0.1:0\n"
                   "ReadyTimeout=10\nStopTimeout=10\n",
                   node, script);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 10000);
  load.port = cohort_cluster_get_listen_port (cluster);

  thread = g_thread_new ("load", load_thread, &load);
  cohort_test_sleep (300);
  ok_before = load.ok;
  cohort_cluster_reload_async (cluster, NULL, cohort_test_reload_cb, &r);
  g_assert_true (cohort_test_wait_until (cohort_test_reload_done, &r, 30000));
  cohort_test_sleep (300);
  g_atomic_int_set (&load.stop, 1);
  g_thread_join (thread);

  g_assert_no_error (r.error);
  g_assert_cmpuint (r.replaced, ==, 2);
  g_test_message ("%u requests before the reload, %u in all, %u failed (%s)",
                  ok_before, load.ok, load.failed, load.first_failure);
  g_assert_cmpuint (load.failed, ==, 0);
  g_assert_cmpuint (load.ok, >, ok_before);
  g_free (load.first_failure);
}

/* Bursts: many messages of mixed sizes (up to 64 KiB) sent back to back
 * without waiting, to a real echo worker: every echo arrives whole and in
 * order, and the counts match. */
typedef struct
{
  GPtrArray *texts;
} Collect;

static void
collect_in_cb (CohortWorker        *worker,
               const CohortMessage *message,
               gpointer             data)
{
  Collect *c = data;

  if (!message->outgoing)
    g_ptr_array_add (c->texts, g_strdup (message->json));
}

static gsize
burst_size (guint i)
{
  static const gsize sizes[] = { 1, 50, 4000, 65536, 17, 16383, 16384, 65535, 200 };

  return sizes[i % G_N_ELEMENTS (sizes)];
}

/* A handler of the first echo runs a nested main loop (as a dialog
 * would), in which the worker exits: the echoes read with it, and those
 * still in the socket, all arrive; the exit is handled once the handler
 * is done. */
typedef struct
{
  GPtrArray *texts;
  gboolean   nested;
} NestedExit;

static void
nested_exit_cb (CohortWorker        *worker,
                const CohortMessage *message,
                gpointer             data)
{
  NestedExit *n = data;

  if (message->outgoing)
    return;
  g_ptr_array_add (n->texts, g_strdup (message->json));
  if (!n->nested)
    {
      n->nested = TRUE;
      cohort_test_sleep (300);
    }
}

static gboolean
four_texts (gpointer data)
{
  return ((NestedExit *) data)->texts->len >= 4;
}

static void
test_exit_in_nested_loop (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  NestedExit n = { g_ptr_array_new_with_free_func (g_free), FALSE };
  CohortWorker *worker;
  gulong handler;

  cluster = start (f, "[Cluster echo]\nCommand=%s --channel-echo --on-shutdown-exit 0\n"
                   "StopMessage=\nRestartDelay=10000\n", f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  handler = g_signal_connect (worker, "message", G_CALLBACK (nested_exit_cb), &n);
  send_json (worker, "{\"n\":1}");
  send_json (worker, "{\"n\":2}");
  send_json (worker, "{\"n\":3}");
  send_json (worker, "\"shutdown\"");

  g_assert_true (cohort_test_wait_until (four_texts, &n, 10000));
  g_signal_handler_disconnect (worker, handler);
  /* The three echoes, then the echo of "shutdown", its last words. */
  g_assert_cmpuint (n.texts->len, ==, 4);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *expected = g_strdup_printf ("{\"echo\":{\"n\":%u}}", i + 1);

      g_assert_cmpstr (g_ptr_array_index (n.texts, i), ==, expected);
    }
  g_assert_cmpstr (g_ptr_array_index (n.texts, 3), ==, "{\"echo\":\"shutdown\"}");
  g_assert_cmpuint (cohort_worker_get_messages_in (worker), ==, 4);
  g_ptr_array_unref (n.texts);
}

static char *
burst_message (guint i)
{
  GString *text = g_string_new (NULL);
  gsize size = burst_size (i);

  g_string_append_printf (text, "{\"i\":%u,\"p\":\"", i);
  for (gsize k = 0; k < size; k++)
    g_string_append_c (text, (char) ('a' + (i + k) % 26));
  g_string_append (text, "\"}");
  return g_string_free (text, FALSE);
}

static void
test_bursts (Fixture       *f,
             gconstpointer  data)
{
  const guint n = 150;   /* about 2.8 MB: under COHORT_CHANNEL_MAX_QUEUED */
  g_autoptr(CohortCluster) cluster = NULL;
  Collect c = { g_ptr_array_new_with_free_func (g_free) };
  guint64 bytes_out = 0;
  CohortWorker *worker;
  InWait wait;
  gulong handler;

  cluster = start (f, "[Cluster echo]\nCommand=%s --channel-echo\n", f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  handler = g_signal_connect (worker, "message", G_CALLBACK (collect_in_cb), &c);

  /* All at once: most of them wait in the queue for the socket. */
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = burst_message (i);

      send_json (worker, text);
      bytes_out += strlen (text) + 1;
    }
  g_assert_cmpuint (cohort_worker_get_bytes_out (worker), ==, bytes_out);

  wait.worker = worker;
  wait.count = n;
  g_assert_true (cohort_test_wait_until (has_messages_in, &wait, 30000));
  g_signal_handler_disconnect (worker, handler);

  /* The history keeps big messages as their size only. */
  g_assert_cmpuint (c.texts->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = burst_message (i);
      g_autofree char *expected = g_strdup_printf ("{\"echo\":%s}", text);
      g_autofree char *not_kept = g_strdup_printf ("{\"not_kept\":true,\"bytes\":%" G_GSIZE_FORMAT "}",
                                                   strlen (expected));
      const char *got = g_ptr_array_index (c.texts, i);

      if (!g_str_equal (got, expected) && !g_str_equal (got, not_kept))
        g_error ("echo %u: %.60s… (%" G_GSIZE_FORMAT " bytes), not %.60s… (%" G_GSIZE_FORMAT ")",
                 i, got, strlen (got), expected, strlen (expected));
    }
  g_assert_cmpuint (cohort_worker_get_bad_messages (worker), ==, 0);
  g_assert_cmpuint (cohort_worker_get_bytes_in (worker), ==, bytes_out + n * strlen ("{\"echo\":}"));
  g_ptr_array_unref (c.texts);
}

/* CohortWorker::message carries its direction as detail: a handler of
 * "message::received" sees the echoes only, one of "message::sent" the
 * sends only, a plain one both, in the order they happened. */
typedef struct
{
  GString *received;
  GString *sent;
  GString *both;
} Directions;

static void
direction_cb (CohortWorker        *worker,
              const CohortMessage *message,
              GString             *into)
{
  g_string_append_printf (into, "%s%s;", message->outgoing ? ">" : "<", message->json);
}

static void
test_message_details (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  Directions d = { g_string_new (NULL), g_string_new (NULL), g_string_new (NULL) };
  CohortWorker *worker;
  gulong handlers[3];

  cluster = start (f, "[Cluster echo]\nCommand=%s --channel-echo\n", f->worker);
  cohort_test_wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  handlers[0] = g_signal_connect (worker, "message::received", G_CALLBACK (direction_cb), d.received);
  handlers[1] = g_signal_connect (worker, "message::sent", G_CALLBACK (direction_cb), d.sent);
  handlers[2] = g_signal_connect (worker, "message", G_CALLBACK (direction_cb), d.both);

  send_json (worker, "1");
  wait_messages_in (worker, cohort_worker_get_messages_in (worker) + 1, 5000);
  send_json (worker, "[2]");
  wait_messages_in (worker, cohort_worker_get_messages_in (worker) + 1, 5000);
  for (guint i = 0; i < G_N_ELEMENTS (handlers); i++)
    g_signal_handler_disconnect (worker, handlers[i]);

  g_assert_cmpstr (d.received->str, ==, "<{\"echo\":1};<{\"echo\":[2]};");
  g_assert_cmpstr (d.sent->str, ==, ">1;>[2];");
  g_assert_cmpstr (d.both->str, ==, ">1;<{\"echo\":1};>[2];<{\"echo\":[2]};");
  g_string_free (d.received, TRUE);
  g_string_free (d.sent, TRUE);
  g_string_free (d.both, TRUE);
}

/* The channel on its own, over a socketpair the test holds the other end
 * of: lines written in odd pieces and in one big write come out whole and
 * in order; and a peer that reads late still gets every send whole and in
 * order, although the socket took only part of one of them at first. */
static void
channel_message_cb (JsonNode   *node,
                    const char *text,
                    guint64     bytes,
                    gpointer    data)
{
  GPtrArray *texts = data;

  g_assert_cmpuint (strlen (text), ==, bytes);
  g_ptr_array_add (texts, g_strdup (text));
}

static const CohortChannelHandler texts_handler = { .message = channel_message_cb };

/* Writes it all, letting the main loop (the channel) read meanwhile. */
static void
write_all (int         fd,
           const char *data,
           gsize       length)
{
  while (length > 0)
    {
      ssize_t n = send (fd, data, length, MSG_DONTWAIT);

      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        {
          g_main_context_iteration (NULL, FALSE);
          continue;
        }
      g_assert_cmpint (n, >, 0);
      data += n;
      length -= n;
    }
}

typedef struct
{
  GPtrArray *texts;
  guint      count;
} TextsWait;

static gboolean
texts_reached (gpointer data)
{
  TextsWait *w = data;

  return w->texts->len >= w->count;
}

/* Descriptors passed with a message (Node sends a handle so) are not
 * kept: the message arrives whole, the next one too, and once the test
 * closes its own copy of a pipe's write end, none is left in this process
 * (the read end sees end of file). */
static void
test_channel_passed_fds (void)
{
  g_autoptr(CohortChannel) channel = NULL;
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  static const char first[] = "{\"with\":\"fds\"}\n";
  static const char second[] = "{\"after\":1}\n";
  TextsWait wait = { texts, 2 };
  char control[CMSG_SPACE (sizeof (int) * 3)] = { 0 };
  struct iovec iov = { (char *) first, sizeof first - 1 };
  struct msghdr msg = { 0 };
  struct cmsghdr *c;
  struct pollfd hup;
  int fds[3];
  int pipe_fds[2];
  int pair[2];
  char byte;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  g_assert_true (g_unix_open_pipe (pipe_fds, FD_CLOEXEC, NULL));
  channel = cohort_channel_new (pair[0], &texts_handler, texts);

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    fds[i] = pipe_fds[1];
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  c = CMSG_FIRSTHDR (&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof fds);
  memcpy (CMSG_DATA (c), fds, sizeof fds);
  g_assert_cmpint (sendmsg (pair[1], &msg, 0), ==, (gssize) sizeof first - 1);
  write_all (pair[1], second, sizeof second - 1);
  close (pipe_fds[1]);

  g_assert_true (cohort_test_wait_until (texts_reached, &wait, 10000));
  g_assert_cmpuint (texts->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (texts, 0), ==, "{\"with\":\"fds\"}");
  g_assert_cmpstr (g_ptr_array_index (texts, 1), ==, "{\"after\":1}");

  hup = (struct pollfd) { pipe_fds[0], POLLIN, 0 };
  g_assert_cmpint (poll (&hup, 1, 5000), ==, 1);
  g_assert_cmpint (read (pipe_fds[0], &byte, 1), ==, 0);
  close (pipe_fds[0]);
  close (pair[1]);
}

static void
test_channel_pieces (void)
{
  g_autoptr(CohortChannel) channel = NULL;
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) stream = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) received = g_string_new (NULL);
  TextsWait wait = { texts, 0 };
  const guint n = 200;
  gsize offset = 0;
  gsize piece = 1;
  int pair[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  channel = cohort_channel_new (pair[0], &texts_handler, texts);

  /* In: the same stream twice, once in growing odd pieces (so that lines
   * and CRLFs straddle reads), once in one write. */
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = burst_message (i);

      g_string_append (stream, text);
      g_string_append (stream, i % 7 == 3 ? "\r\n" : "\n");
    }
  while (offset < stream->len)
    {
      gsize length = MIN (piece, stream->len - offset);

      write_all (pair[1], stream->str + offset, length);
      offset += length;
      piece = (piece * 3 + 1) % 100000;
      g_main_context_iteration (NULL, FALSE);
    }
  wait.count = n;
  g_assert_true (cohort_test_wait_until (texts_reached, &wait, 10000));
  write_all (pair[1], stream->str, stream->len);
  wait.count = 2 * n;
  g_assert_true (cohort_test_wait_until (texts_reached, &wait, 10000));
  g_assert_cmpuint (texts->len, ==, 2 * n);
  for (guint i = 0; i < 2 * n; i++)
    {
      g_autofree char *text = burst_message (i % n);

      if (!g_str_equal (g_ptr_array_index (texts, i), text))
        g_error ("message %u: %.60s…, not %.60s…", i, (char *) g_ptr_array_index (texts, i), text);
    }

  /* Out: more than the socket holds, sent while the peer reads nothing. */
  for (guint i = 0; i < n; i++)
    {
      char *text = burst_message (i);

      g_assert_true (cohort_channel_send (channel, text, strlen (text), &error));
      g_assert_no_error (error);
      g_ptr_array_add (sent, text);
    }
  g_assert_cmpuint (cohort_channel_get_queued (channel), >, 0);
  while (cohort_channel_get_queued (channel) > 0 || received->len == 0)
    {
      char buf[65536];
      ssize_t got;

      g_main_context_iteration (NULL, FALSE);
      got = recv (pair[1], buf, sizeof buf, MSG_DONTWAIT);
      if (got > 0)
        g_string_append_len (received, buf, got);
    }
  for (;;)
    {
      char buf[65536];
      ssize_t got = recv (pair[1], buf, sizeof buf, MSG_DONTWAIT);

      if (got <= 0)
        break;
      g_string_append_len (received, buf, got);
    }
  offset = 0;
  for (guint i = 0; i < n; i++)
    {
      const char *text = g_ptr_array_index (sent, i);
      gsize length = strlen (text);

      g_assert_cmpuint (offset + length + 1, <=, received->len);
      g_assert_true (memcmp (received->str + offset, text, length) == 0);
      g_assert_cmpint (received->str[offset + length], ==, '\n');
      offset += length + 1;
    }
  g_assert_cmpuint (offset, ==, received->len);

  cohort_channel_close (channel);
  close (pair[1]);
}

/* Framing: each message as "M " and its text ("M+" when the channel parsed
 * it), each bad line as "B". */
static void
framing_message_cb (JsonNode   *node,
                    const char *text,
                    guint64     bytes,
                    gpointer    data)
{
  g_ptr_array_add (data, g_strdup_printf ("M%s %s", node != NULL ? "+" : "", text));
}

static void
framing_bad_cb (const char *reason,
                gpointer    data)
{
  g_ptr_array_add (data, g_strdup ("B"));
}

static const CohortChannelHandler framing_handler = {
  .message = framing_message_cb,
  .bad_message = framing_bad_cb,
};

static gboolean
framing_ended (gpointer data)
{
  GPtrArray *events = data;

  return events->len > 0 && g_str_equal (g_ptr_array_index (events, events->len - 1), "M+ \"end\"");
}

/* A newline ends a line wherever it is, even where JSON would take it as
 * whitespace. The same stream written at once (each line found by the
 * validation, cohort_json_validate_line()) and in small pieces (lines that
 * straddle reads, found by the line reader) gives the same messages. */
static void
test_channel_framing (void)
{
  g_autofree char *deep = g_strnfill (COHORT_JSON_MAX_DEPTH + 1, '[');
  g_autofree char *filler = g_strnfill (100000, 'x');
  g_autofree char *stream = g_strconcat ("{\"a\":\n1}\n",
                                         "\"x\ny\"\n",
                                         "  {\"b\": 2}  \r\n",
                                         "\n \t \n",
                                         "[1,2]\n\"ready\"\n{\"cmd\":\"NODE_X\"}\n{\"ready\":true}\n",
                                         "{\"n\":1} x\n{\"s\":\"\\u00e9\"}\n1\n-0.5e3\r\ntrue\n",
                                         deep, "\n{\"big\":\"", filler, "\"}\n",
                                         "\"end\"\n", NULL);
  g_autofree char *big = g_strdup_printf ("M {\"big\":\"%s\"}", filler);
  const char *expected[] = {
    "B", "B", "B", "B", "M   {\"b\": 2}  ", "M [1,2]", "M+ \"ready\"", "M+ {\"ready\":true}",
    "B", "M {\"s\":\"\\u00e9\"}", "M 1", "M -0.5e3", "M true", "B", big, "M+ \"end\"",
  };
  gsize length = strlen (stream);
  gsize small = strstr (stream, deep) - stream + strlen (deep) + 1;

  for (guint pass = 0; pass < 2; pass++)
    {
      g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(CohortChannel) channel = NULL;
      TextsWait want = { events, G_N_ELEMENTS (expected) - 2 };
      int pair[2];

      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
      channel = cohort_channel_new (pair[0], &framing_handler, events);
      if (pass == 0)
        {
          /* The short lines in one read, which ends with a newline: the
           * case where the validation finds the lines. */
          write_all (pair[1], stream, small);
          g_assert_true (cohort_test_wait_until (texts_reached, &want, 10000));
          write_all (pair[1], stream + small, length - small);
        }
      else
        for (gsize offset = 0; offset < length; offset += 7)
          {
            write_all (pair[1], stream + offset, MIN (7, length - offset));
            g_main_context_iteration (NULL, FALSE);
          }
      g_assert_true (cohort_test_wait_until (framing_ended, events, 10000));

      g_assert_cmpuint (events->len, ==, G_N_ELEMENTS (expected));
      for (guint i = 0; i < events->len; i++)
        g_assert_cmpstr (g_ptr_array_index (events, i), ==, expected[i]);

      cohort_channel_close (channel);
      close (pair[1]);
    }
}

typedef struct
{
  GPtrArray     *texts;
  CohortChannel *channel;
} Draining;

/* A handler that reads the channel again (as a nested main loop running
 * the child watch's drain would): nothing is read twice or lost, and the
 * channel stays open. */
static void
draining_message_cb (JsonNode   *node,
                     const char *text,
                     guint64     bytes,
                     gpointer    data)
{
  Draining *draining = data;

  channel_message_cb (node, text, bytes, draining->texts);
  cohort_channel_drain (draining->channel);
}

static const CohortChannelHandler draining_handler = { .message = draining_message_cb };

static void
test_channel_nested_read (void)
{
  g_autoptr(CohortChannel) channel = NULL;
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  TextsWait wait = { texts, 3 };
  Draining draining = { texts, NULL };
  int pair[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  channel = cohort_channel_new (pair[0], &draining_handler, &draining);
  draining.channel = channel;
  write_all (pair[1], "1\n2\n", 4);
  write_all (pair[1], "3\n", 2);
  g_assert_true (cohort_test_wait_until (texts_reached, &wait, 5000));
  g_assert_true (cohort_channel_is_open (channel));
  g_assert_cmpuint (texts->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (texts, 0), ==, "1");
  g_assert_cmpstr (g_ptr_array_index (texts, 1), ==, "2");
  g_assert_cmpstr (g_ptr_array_index (texts, 2), ==, "3");

  cohort_channel_close (channel);
  close (pair[1]);
}

/* Reading straight into the line reader: lines come out NUL-terminated
 * where they landed, across commits, and a callback that flushes the
 * reader (the stream ended under it) loses nothing already read: the
 * lines after it, then the unfinished one. */
typedef struct
{
  CohortLineReader *reader;
  GPtrArray        *lines;
  guint             flush_after;
} InPlace;

static void
in_place_line_cb (const char *line,
                  gsize       length,
                  gboolean    truncated,
                  gpointer    data)
{
  InPlace *p = data;

  g_assert_cmpuint (strlen (line), ==, length);
  g_ptr_array_add (p->lines, g_strdup (line));
  if (p->lines->len == p->flush_after)
    cohort_line_reader_flush (p->reader);
}

static void
commit_text (CohortLineReader *reader,
             const char       *text)
{
  gsize length = strlen (text);

  memcpy (cohort_line_reader_reserve (reader, length), text, length);
  cohort_line_reader_commit (reader, length);
}

static void
test_reader_in_place (void)
{
  InPlace p = { NULL, g_ptr_array_new_with_free_func (g_free), 0 };
  g_autofree char *big = g_strnfill (300 * 1024, 'x');

  p.reader = cohort_line_reader_new (512 * 1024, in_place_line_cb, &p);
  commit_text (p.reader, "one\r\ntw");
  commit_text (p.reader, "o\n\nthree");
  g_assert_cmpuint (p.lines->len, ==, 3);
  g_assert_cmpuint (cohort_line_reader_get_pending (p.reader), ==, 5);
  commit_text (p.reader, big);
  commit_text (p.reader, "\nfour\n");
  g_assert_cmpuint (p.lines->len, ==, 5);
  g_assert_cmpstr (g_ptr_array_index (p.lines, 0), ==, "one");
  g_assert_cmpstr (g_ptr_array_index (p.lines, 1), ==, "two");
  g_assert_cmpstr (g_ptr_array_index (p.lines, 2), ==, "");
  g_assert_cmpuint (strlen (g_ptr_array_index (p.lines, 3)), ==, strlen ("three") + strlen (big));
  g_assert_cmpstr (g_ptr_array_index (p.lines, 4), ==, "four");

  /* Flushed from the callback of the 6th line ("five"): "six", "seven"
   * and the unfinished "eig" still come, and nothing is left pending. */
  p.flush_after = 6;
  commit_text (p.reader, "five\nsix\nseven\neig");
  g_assert_cmpuint (p.lines->len, ==, 9);
  g_assert_cmpstr (g_ptr_array_index (p.lines, 6), ==, "six");
  g_assert_cmpstr (g_ptr_array_index (p.lines, 7), ==, "seven");
  g_assert_cmpstr (g_ptr_array_index (p.lines, 8), ==, "eig");
  g_assert_cmpuint (cohort_line_reader_get_pending (p.reader), ==, 0);
  commit_text (p.reader, "nine\n");
  g_assert_cmpuint (p.lines->len, ==, 10);
  g_assert_cmpstr (g_ptr_array_index (p.lines, 9), ==, "nine");

  cohort_line_reader_free (p.reader);
  g_ptr_array_unref (p.lines);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  cohort_test_note_inherited_fds ();

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/Cohort/Channel/echo-c", test_echo_c);
  ADD ("/Cohort/Channel/prepared", test_prepared);
  ADD ("/Cohort/Channel/broadcast", test_broadcast);
  ADD ("/Cohort/Channel/echo-shell-python", test_echo_scripts);
  ADD ("/Cohort/Channel/node", test_node);
  ADD ("/Cohort/Channel/ready-timeout", test_ready_timeout);
  ADD ("/Cohort/Channel/stop-message", test_stop_message);
  ADD ("/Cohort/Channel/bad-lines", test_bad_lines);
  ADD ("/Cohort/Channel/huge-line", test_huge_line);
  ADD ("/Cohort/Channel/worker-closes-channel", test_worker_closes_channel);
  ADD ("/Cohort/Channel/flood", test_flood);
  ADD ("/Cohort/Channel/bursts", test_bursts);
  ADD ("/Cohort/Channel/message-details", test_message_details);
  ADD ("/Cohort/Channel/never-reads", test_never_reads);
  ADD ("/Cohort/Channel/refused-messages", test_refused_messages);
  ADD ("/Cohort/Channel/reload", test_reload);
  ADD ("/Cohort/Channel/history", test_history);
  ADD ("/Cohort/Channel/reload-failure", test_reload_failure);
  ADD ("/Cohort/Channel/reload-exec-failure", test_reload_exec_failure);
  ADD ("/Cohort/Channel/reload-under-load", test_reload_under_load);

  g_test_add_func ("/Cohort/Channel/pieces", test_channel_pieces);
  g_test_add_func ("/Cohort/Channel/passed-fds", test_channel_passed_fds);
  g_test_add_func ("/Cohort/Channel/framing", test_channel_framing);
  g_test_add_func ("/Cohort/Channel/nested-read", test_channel_nested_read);
  ADD ("/Cohort/Channel/exit-in-nested-loop", test_exit_in_nested_loop);
  g_test_add_func ("/Cohort/Channel/reader-in-place", test_reader_in_place);

  return g_test_run ();
}
