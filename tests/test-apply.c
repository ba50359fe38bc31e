/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-apply.c: editing clusters that run real processes: what applying a
 * new spec will do, said before it is done; live settings, scaling and
 * one-at-a-time restarts when it is done; a moved port, a new name; and
 * clusters added, replaced and removed while the others run. */

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <unistd.h>

#include "cohort-process-worker.h"
#include "cohort-test-util.h"
#include "cohort-thread-worker.h"

typedef CohortTestFixture Fixture;

#define fixture_setup cohort_test_fixture_setup
#define fixture_teardown cohort_test_fixture_teardown

#define wait_state cohort_test_wait_state

/* The first cluster of a profile written as a format: the edited spec. */
static CohortClusterSpec *
spec_of (Fixture    *f,
         const char *format,
         ...) G_GNUC_PRINTF (2, 3);

static CohortClusterSpec *
spec_of (Fixture    *f,
         const char *format,
         ...)
{
  g_autofree char *text = NULL;
  g_autoptr(CohortProfile) profile = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  /* Where the running profile was, so relative paths mean the same. */
  profile = cohort_test_profile (f->dir, text);
  g_assert_nonnull (cohort_profile_get_clusters (profile));
  return cohort_cluster_spec_ref (g_ptr_array_index (cohort_profile_get_clusters (profile), 0));
}

/* The environment of @pid, once the kernel shows it: the spawner returns
 * before the child's exec, and until then /proc/PID/environ reads as ours
 * (the child runs on our memory), or as empty while exec is putting the
 * new program in place. */
static gboolean
environ_readable (gpointer data)
{
  char **text = data;
  const char *path = text[0];
  g_autofree char *own = NULL;
  gsize own_length = 0;
  gsize length = 0;

  g_clear_pointer (&text[1], g_free);
  if (!g_file_get_contents (path, &text[1], &length, NULL) || text[1][0] == '\0')
    return FALSE;
  return !g_file_get_contents ("/proc/self/environ", &own, &own_length, NULL) ||
         own_length != length || memcmp (own, text[1], length) != 0;
}

/* The value of @key in the environment @pid was started with. */
static char *
env_of (GPid        pid,
        const char *key)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/environ", pid);
  char *files[2] = { path, NULL };
  g_autofree char *text = NULL;
  gsize key_length = strlen (key);

  if (!cohort_test_wait_until (environ_readable, files, 2000))
    {
      g_free (files[1]);
      return NULL;
    }
  text = files[1];
  /* Entries end in NUL; the file's own length is that of the entries. */
  for (const char *entry = text; *entry != '\0'; entry += strlen (entry) + 1)
    if (strncmp (entry, key, key_length) == 0 && entry[key_length] == '=')
      return g_strdup (entry + key_length + 1);
  return NULL;
}

/* Waits for @n workers online; their pids, by id. */
static void
online_pids (CohortCluster *cluster,
             GPid          *pids,
             guint          n)
{
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, n, 5000);
  for (guint id = 0; id < n; id++)
    pids[id] = cohort_test_worker_pid (cluster, id);
}

static char *
describe (CohortCluster     *cluster,
          CohortClusterSpec *spec,
          CohortApplyPlan   *plan)
{
  cohort_cluster_plan_spec (cluster, spec, plan);
  return cohort_apply_plan_describe (plan);
}

static gboolean
not_reloading (gpointer data)
{
  return !cohort_cluster_get_reloading (data);
}

static gboolean
supervisor_stopped (gpointer data)
{
  return !cohort_supervisor_get_running (data);
}

static guint16
free_port (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, TRUE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* A GET that a worker ending mid-request may drop once; twice means no
 * worker was there to take it. */
static gboolean
port_answers (guint16 port)
{
  for (guint attempt = 0; attempt < 2; attempt++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *body = cohort_test_http_get (port, &error);

      if (body != NULL && g_str_has_prefix (body, "worker "))
        return TRUE;
      g_test_message ("GET :%u: %s", port, error != NULL ? error->message : body);
    }
  return FALSE;
}

/* Watches a one-at-a-time restart from the main loop: the slots served
 * all along, the port answered, and at most one extra worker ran. */
typedef struct
{
  CohortCluster *cluster;
  guint16        port;
  guint          min_online;
  guint          most_items;
  guint          requests;
  guint          failed;
  gint64         next_request;
} Watch;

static gboolean
watch_until_reloaded (gpointer data)
{
  Watch *w = data;
  guint items = g_list_model_get_n_items (cohort_cluster_get_workers (w->cluster));

  w->min_online = MIN (w->min_online, cohort_cluster_get_n_online (w->cluster));
  w->most_items = MAX (w->most_items, items);
  if (w->port != 0 && g_get_monotonic_time () >= w->next_request)
    {
      w->requests++;
      if (!port_answers (w->port))
        w->failed++;
      w->next_request = g_get_monotonic_time () + 20 * 1000;
    }
  return !cohort_cluster_get_reloading (w->cluster);
}

/* Plans and their sentences */

#define PLAN_BASE \
  "[Cluster %s]\nCommand=%s\nInstances=%u\nEnvironment=MODE=%s;\nListen=%s\n%s"

static void
test_plan (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortCluster) waiting = NULL;
  CohortApplyPlan plan;
  static const struct {
    const char *name;
    guint       instances;
    const char *mode;
    const char *listen;
    const char *extra;      /* more lines */
    const char *sentence;
    guint       restart, add, remove;
    gboolean    rename, live;
  } cases[] = {
    { "web", 2, "old", "127.0.0.1:0", "", "No changes", 0, 0, 0, FALSE, FALSE },
    { "web", 5, "old", "127.0.0.1:0", "", "Adds 3 workers", 0, 3, 0, FALSE, FALSE },
    { "web", 3, "old", "127.0.0.1:0", "", "Adds 1 worker", 0, 1, 0, FALSE, FALSE },
    { "web", 1, "old", "127.0.0.1:0", "", "Removes 1 worker", 0, 0, 1, FALSE, FALSE },
    { "web", 2, "new", "127.0.0.1:0", "", "Restarts 2 workers", 2, 0, 0, FALSE, FALSE },
    { "web", 5, "new", "127.0.0.1:0", "", "Restarts 2 workers and adds 3", 2, 3, 0, FALSE, FALSE },
    { "web", 1, "new", "127.0.0.1:0", "", "Restarts 1 worker and removes 1", 1, 0, 1, FALSE, FALSE },
    { "web", 2, "old", "127.0.0.1:0", "WorkingDirectory=/\n", "Restarts 2 workers", 2, 0, 0, FALSE, FALSE },
    { "web", 2, "old", "127.0.0.1:0", "Channel=none\n", "Restarts 2 workers", 2, 0, 0, FALSE, FALSE },
    /* The same socket, written otherwise: nothing to do. */
    { "web", 2, "old", "localhost:0", "", "No changes", 0, 0, 0, FALSE, FALSE },
    { "web", 2, "old", "127.0.0.1:1", "", "Restarts 2 workers", 2, 0, 0, FALSE, FALSE },
    { "web", 2, "old", "127.0.0.1:0", "StopTimeout=1\nRestart=never\n",
      "Nothing restarts; the new settings apply at once", 0, 0, 0, FALSE, TRUE },
    { "web", 2, "old", "127.0.0.1:0", "MaxMemory=100\nReadyTimeout=3\nStopSignal=SIGINT\nMaxRestarts=2\n",
      "Nothing restarts; the new settings apply at once", 0, 0, 0, FALSE, TRUE },
    { "api", 2, "old", "127.0.0.1:0", "",
      "Renames the cluster; running workers keep the old name until they restart", 0, 0, 0, TRUE, FALSE },
    { "api", 2, "new", "127.0.0.1:0", "", "Restarts 2 workers, and renames the cluster", 2, 0, 0, TRUE, FALSE },
  };

  cluster = start (f, "[Cluster web]\nCommand=%s\nInstances=2\nEnvironment=MODE=old;\nListen=127.0.0.1:0\n"
                   "[Cluster waiting]\nCommand=%s --exit 1\nRestartDelay=60000\nRestartDelayMax=60000\n",
                   f->worker, f->worker);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(CohortClusterSpec) spec =
        spec_of (f, PLAN_BASE, cases[i].name, f->worker, cases[i].instances, cases[i].mode,
                 cases[i].listen, cases[i].extra);
      g_autofree char *sentence = describe (cluster, spec, &plan);

      g_test_message ("case %u: %s", i, sentence);
      g_assert_cmpstr (sentence, ==, cases[i].sentence);
      g_assert_cmpuint (plan.restart, ==, cases[i].restart);
      g_assert_cmpuint (plan.add, ==, cases[i].add);
      g_assert_cmpuint (plan.remove, ==, cases[i].remove);
      g_assert_cmpint (plan.rename, ==, cases[i].rename);
      g_assert_cmpint (plan.live, ==, cases[i].live);
      g_assert_false (plan.kind_change);
      g_assert_true (plan.running);
    }

  /* Processes to threads: the cluster is replaced. */
  {
    g_autoptr(CohortClusterSpec) spec =
      spec_of (f, "[Cluster web]\nKind=threads\nTask=sum\nArguments={\"n\": 10}\nThreads=3\n");
    g_autofree char *sentence = describe (cluster, spec, &plan);

    g_assert_cmpstr (sentence, ==, "Stops 2 workers and starts 3 new ones");
    g_assert_true (plan.kind_change);
  }

  /* A worker waiting to restart picks the change up when it starts. */
  waiting = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  wait_state (waiting, COHORT_WORKER_STATE_WAITING, 1, 5000);
  {
    g_autoptr(CohortClusterSpec) spec =
      spec_of (f, "[Cluster waiting]\nCommand=%s --exit 2\nRestartDelay=60000\nRestartDelayMax=60000\n", f->worker);
    g_autofree char *sentence = describe (waiting, spec, &plan);

    g_assert_cmpstr (sentence, ==, "Applies to the next restart");
    g_assert_cmpuint (plan.restart, ==, 0);
    g_assert_true (plan.later);
  }

  /* A stopped cluster: everything waits for its start. */
  cohort_test_stop_all (f->supervisor);
  {
    g_autoptr(CohortClusterSpec) same = spec_of (f, PLAN_BASE, "web", f->worker, 2, "old", "127.0.0.1:0", "");
    g_autoptr(CohortClusterSpec) env = spec_of (f, PLAN_BASE, "web", f->worker, 2, "new", "127.0.0.1:0", "");
    g_autoptr(CohortClusterSpec) scaled = spec_of (f, PLAN_BASE, "web", f->worker, 4, "old", "127.0.0.1:0", "");
    g_autoptr(CohortClusterSpec) renamed = spec_of (f, PLAN_BASE, "api", f->worker, 2, "old", "127.0.0.1:0", "");
    g_autofree char *a = describe (cluster, same, &plan);
    g_autofree char *b = describe (cluster, env, &plan);
    g_autofree char *c = describe (cluster, scaled, &plan);
    g_autofree char *d = describe (cluster, renamed, &plan);

    g_assert_cmpstr (a, ==, "No changes");
    g_assert_cmpstr (b, ==, "Applies at the next start");
    g_assert_cmpstr (c, ==, "Applies at the next start");
    g_assert_cmpstr (d, ==, "Renames the cluster");
    g_assert_false (plan.running);
  }
}

#define PLAN_THREADS_REPEAT \
  "[Cluster hash]\nKind=threads\nTask=sum\nArguments={\"n\": 1000}\nThreads=2\nRepeat=true\n%s"
#define PLAN_THREADS_MESSAGES \
  "[Cluster queue]\nKind=threads\nTask=sum\nArguments={\"n\": 10}\nThreads=2\n%s"

static void
test_plan_threads (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortCluster) queue = NULL;
  CohortApplyPlan plan;

  cluster = start (f, "[Cluster hash]\nKind=threads\nTask=sum\nArguments={\"n\": 1000}\nThreads=2\nRepeat=true\n"
                   "[Cluster queue]\nKind=threads\nTask=sum\nArguments={\"n\": 10}\nThreads=2\n");
  queue = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  wait_state (queue, COHORT_WORKER_STATE_ONLINE, 2, 5000);

  {
    /* Repeat=true threads loop on their task: a new one restarts them. */
    g_autoptr(CohortClusterSpec) args = spec_of (f, PLAN_THREADS_REPEAT, "Arguments={\"n\": 2000}\n");
    g_autoptr(CohortClusterSpec) timeout = spec_of (f, PLAN_THREADS_REPEAT, "TaskTimeout=5\n");
    g_autoptr(CohortClusterSpec) more = spec_of (f, PLAN_THREADS_REPEAT, "Threads=4\n");
    g_autofree char *a = describe (cluster, args, &plan);
    g_autofree char *b = describe (cluster, timeout, &plan);
    g_autofree char *c = describe (cluster, more, &plan);

    g_assert_cmpstr (a, ==, "Restarts 2 workers");
    g_assert_cmpstr (b, ==, "Nothing restarts; the new settings apply at once");
    g_assert_cmpstr (c, ==, "Adds 2 workers");
  }
  {
    /* Without Repeat, Task and Arguments are defaults for messages. */
    g_autoptr(CohortClusterSpec) task = spec_of (f, PLAN_THREADS_MESSAGES, "Task=primes\nArguments={\"below\": 100}\n");
    g_autoptr(CohortClusterSpec) loop = spec_of (f, PLAN_THREADS_MESSAGES, "Repeat=true\n");
    g_autofree char *a = describe (queue, task, &plan);
    g_autofree char *b = describe (queue, loop, &plan);

    g_assert_cmpstr (a, ==, "Nothing restarts; the new settings apply at once");
    g_assert_cmpstr (b, ==, "Restarts 2 workers");
  }
}

/* Applying */

static void
test_scale_up (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortClusterSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  GPid before[2];

  cluster = start (f, "[Cluster web]\nCommand=%s\nInstances=2\n", f->worker);
  online_pids (cluster, before, 2);

  spec = spec_of (f, "[Cluster web]\nCommand=%s\nInstances=5\n", f->worker);
  g_assert_true (cohort_cluster_set_spec (cluster, spec, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_cluster_get_spec (cluster) == spec);
  g_assert_cmpuint (cohort_cluster_get_desired (cluster), ==, 5);
  g_assert_false (cohort_cluster_get_reloading (cluster));
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 5, 5000);

  /* The running two were left alone. */
  for (guint id = 0; id < 2; id++)
    {
      g_assert_cmpint (cohort_test_worker_pid (cluster, id), ==, before[id]);
      g_assert_cmpuint (cohort_worker_get_restarts (cohort_cluster_lookup_worker (cluster, id)), ==, 0);
    }
  g_assert_cmpuint (g_list_model_get_n_items (cohort_cluster_get_workers (cluster)), ==, 5);
}

static void
test_policy_live (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortClusterSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  CohortWorker *worker;
  GPid before[2];
  gint64 stop_started;
  double stop_s;

  /* Ignores SIGTERM and the stop message: only SIGKILL ends it. */
  cluster = start (f, "[Cluster web]\nCommand=%s --ignore-term\nInstances=2\nRestart=always\n"
                   "RestartDelay=50\nStopTimeout=30\n", f->worker);
  online_pids (cluster, before, 2);

  spec = spec_of (f, "[Cluster web]\nCommand=%s --ignore-term\nInstances=2\nRestart=never\n"
                  "RestartDelay=50\nStopTimeout=0.3\n", f->worker);
  g_assert_true (cohort_cluster_set_spec (cluster, spec, &error));
  g_assert_no_error (error);
  g_assert_false (cohort_cluster_get_reloading (cluster));
  for (guint id = 0; id < 2; id++)
    {
      worker = cohort_cluster_lookup_worker (cluster, id);
      g_assert_cmpint (cohort_test_worker_pid (cluster, id), ==, before[id]);
      g_assert_true (cohort_worker_get_spec (worker) == spec);
    }

  /* Restart=never now: a worker killed from outside stays down. */
  g_assert_cmpint (kill (before[0], SIGKILL), ==, 0);
  wait_state (cluster, COHORT_WORKER_STATE_KILLED, 1, 5000);
  cohort_test_sleep (200);
  worker = cohort_cluster_lookup_worker (cluster, 0);
  g_assert_cmpint (cohort_worker_get_state (worker), ==, COHORT_WORKER_STATE_KILLED);
  g_assert_cmpuint (cohort_worker_get_restarts (worker), ==, 0);

  /* StopTimeout=0.3: the ladder reaches SIGKILL after 0.6 s, not 60. */
  worker = cohort_cluster_lookup_worker (cluster, 1);
  stop_started = g_get_monotonic_time ();
  cohort_worker_stop (worker);
  wait_state (cluster, COHORT_WORKER_STATE_STOPPED, 1, 5000);
  stop_s = (g_get_monotonic_time () - stop_started) / (double) G_USEC_PER_SEC;
  g_test_message ("stopped in %.2f s", stop_s);
  g_assert_cmpfloat (stop_s, <, 3.0);
  g_assert_cmpint (cohort_worker_get_stop_step (worker), ==, COHORT_STOP_STEP_KILL);
  g_assert_false (cohort_test_pid_exists (before[1]));
}

#define ENVIRONMENT_ROLLING_PROFILE \
  "[Cluster web]\nCommand=%s --serve --send-ready --ready-after 100 --on-shutdown-exit 0\n" \
  "Instances=3\nListen=127.0.0.1:0\nReadyTimeout=5\nStopTimeout=5\nEnvironment=MODE=%s;\n"

static void
test_environment_rolling (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortClusterSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  CohortApplyPlan plan;
  g_autofree char *sentence = NULL;
  Watch watch = { 0 };
  GPid before[3];

  cluster = start (f, ENVIRONMENT_ROLLING_PROFILE, f->worker, "old");
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 3, 5000);
  for (guint id = 0; id < 3; id++)
    {
      g_autofree char *mode = NULL;

      before[id] = cohort_test_worker_pid (cluster, id);
      mode = env_of (before[id], "MODE");
      g_assert_cmpstr (mode, ==, "old");
    }

  spec = spec_of (f, ENVIRONMENT_ROLLING_PROFILE, f->worker, "new");
  sentence = describe (cluster, spec, &plan);
  g_assert_cmpstr (sentence, ==, "Restarts 3 workers");

  watch.cluster = cluster;
  watch.port = cohort_cluster_get_listen_port (cluster);
  watch.min_online = G_MAXUINT;
  g_assert_true (cohort_cluster_set_spec (cluster, spec, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_cluster_get_reloading (cluster));
  g_assert_true (cohort_test_wait_until (watch_until_reloaded, &watch, 30000));

  g_test_message ("%u requests during the restart, %u failed", watch.requests, watch.failed);
  /* Every slot had a worker online all along, the port always answered,
   * and one worker was replaced at a time. */
  g_assert_cmpuint (watch.min_online, ==, 3);
  g_assert_cmpuint (watch.failed, ==, 0);
  g_assert_cmpuint (watch.requests, >, 0);
  g_assert_cmpuint (watch.most_items, ==, 4);
  g_assert_cmpuint (cohort_cluster_get_listen_port (cluster), ==, watch.port);

  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 3, 5000);
  for (guint id = 0; id < 3; id++)
    {
      GPid pid = cohort_test_worker_pid (cluster, id);
      g_autofree char *mode = env_of (pid, "MODE");

      g_assert_cmpint (pid, !=, before[id]);
      g_assert_false (cohort_test_pid_exists (before[id]));
      g_assert_cmpstr (mode, ==, "new");
      g_assert_cmpuint (cohort_worker_get_restarts (cohort_cluster_lookup_worker (cluster, id)), ==, 1);
    }
  g_assert_true (port_answers (watch.port));
}

static void
event_cb (CohortCluster *cluster,
          const char    *kind,
          const char    *text,
          GPtrArray     *events)
{
  g_ptr_array_add (events, g_strdup_printf ("%s: %s", kind, text));
}

/* An edit during the restart of the previous one: the last one wins, and
 * a replacement started with superseded settings does not end it. */
#define EDIT_DURING_RESTART_PROFILE \
  "[Cluster web]\nCommand=%s --send-ready --ready-after 200 --on-shutdown-exit 0\n" \
  "Instances=2\nReadyTimeout=5\nStopTimeout=5\nEnvironment=MODE=%s;\n"

static void
test_edit_during_restart (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortClusterSpec) second = NULL;
  g_autoptr(CohortClusterSpec) third = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;

  cluster = start (f, EDIT_DURING_RESTART_PROFILE, f->worker, "first");
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  g_signal_connect (cluster, "event", G_CALLBACK (event_cb), events);

  /* The second edit's program fails as soon as it runs; the third, made
   * while the first replacement of the second is starting, fixes it. */
  second = spec_of (f, "[Cluster web]\nCommand=/bin/sh -c \"exit 1\"\nInstances=2\nReadyTimeout=5\n"
                    "MaxRestarts=0\n");
  third = spec_of (f, EDIT_DURING_RESTART_PROFILE, f->worker, "third");
  g_assert_true (cohort_cluster_set_spec (cluster, second, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_cluster_get_reloading (cluster));
  g_assert_true (cohort_cluster_set_spec (cluster, third, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_test_wait_until (not_reloading, cluster, 30000));
  g_signal_handlers_disconnect_by_data (cluster, events);

  for (guint i = 0; i < events->len; i++)
    {
      g_test_message ("%s", (char *) g_ptr_array_index (events, i));
      g_assert_null (strstr (g_ptr_array_index (events, i), "failed"));
    }
  g_assert_cmpstr (g_ptr_array_index (events, events->len - 1), ==, "reload: reloaded 2 workers");

  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  g_assert_cmpuint (g_list_model_get_n_items (cohort_cluster_get_workers (cluster)), ==, 2);
  for (guint id = 0; id < 2; id++)
    {
      g_autofree char *mode = env_of (cohort_test_worker_pid (cluster, id), "MODE");

      g_assert_cmpstr (mode, ==, "third");
    }
}

/* A new command that cannot run: the old workers keep serving. */
static void
test_failed_restart (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortClusterSpec) spec = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  GPid before[2];

  cluster = start (f, "[Cluster web]\nCommand=%s\nInstances=2\n", f->worker);
  online_pids (cluster, before, 2);
  g_signal_connect (cluster, "event", G_CALLBACK (event_cb), events);

  spec = spec_of (f, "[Cluster web]\nCommand=%s/missing-program\nInstances=2\n", f->dir);
  g_assert_true (cohort_cluster_set_spec (cluster, spec, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_test_wait_until (not_reloading, cluster, 10000));
  g_signal_handlers_disconnect_by_data (cluster, events);

  g_assert_cmpuint (events->len, ==, 2);
  g_test_message ("%s", (char *) g_ptr_array_index (events, 1));
  g_assert_true (g_str_has_prefix (g_ptr_array_index (events, 1), "reload: reload failed: "));
  while (g_list_model_get_n_items (cohort_cluster_get_workers (cluster)) > 2)
    cohort_test_sleep (10);
  for (guint id = 0; id < 2; id++)
    g_assert_cmpint (cohort_test_worker_pid (cluster, id), ==, before[id]);
  g_assert_cmpuint (cohort_cluster_get_n_online (cluster), ==, 2);
}

static gboolean
port_refuses (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
}

#define LISTEN_MOVES_PROFILE \
  "[Cluster web]\nCommand=%s --serve --on-shutdown-exit 0\nInstances=2\nListen=127.0.0.1:%u\nStopTimeout=5\n"

static void
test_listen_moves (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortClusterSpec) spec = NULL;
  g_autoptr(CohortClusterSpec) taken = NULL;
  g_autoptr(GSocketListener) squatter = g_socket_listener_new ();
  g_autoptr(GError) error = NULL;
  Watch watch = { 0 };
  guint16 old_port;
  guint16 new_port;
  guint16 busy_port;

  cluster = start (f, LISTEN_MOVES_PROFILE, f->worker, 0);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  old_port = cohort_cluster_get_listen_port (cluster);
  g_assert_true (port_answers (old_port));

  /* A port that cannot be bound: refused, and nothing changed. */
  busy_port = g_socket_listener_add_any_inet_port (squatter, NULL, &error);
  g_assert_no_error (error);
  taken = spec_of (f, LISTEN_MOVES_PROFILE, f->worker, busy_port);
  g_assert_false (cohort_cluster_set_spec (cluster, taken, &error));
  g_test_message ("%s", error->message);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_clear_error (&error);
  g_assert_true (cohort_cluster_get_spec (cluster) != taken);
  g_assert_cmpuint (cohort_cluster_get_listen_port (cluster), ==, old_port);
  g_assert_false (cohort_cluster_get_reloading (cluster));

  new_port = free_port ();
  spec = spec_of (f, LISTEN_MOVES_PROFILE, f->worker, new_port);
  watch.cluster = cluster;
  watch.min_online = G_MAXUINT;
  g_assert_true (cohort_cluster_set_spec (cluster, spec, &error));
  g_assert_no_error (error);
  /* Bound before any worker moves to it. */
  g_assert_cmpuint (cohort_cluster_get_listen_port (cluster), ==, new_port);
  g_assert_true (cohort_test_wait_until (watch_until_reloaded, &watch, 30000));
  g_assert_cmpuint (watch.min_online, ==, 2);

  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  g_assert_true (port_answers (new_port));
  /* The last worker on the old port is gone, and Cohort kept no copy. */
  g_assert_true (port_refuses (old_port));
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 guint      *count)
{
  (*count)++;
}

static void
test_rename (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortClusterSpec) spec = NULL;
  g_autoptr(CohortClusterSpec) clash = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *old_name = NULL;
  g_autofree char *new_name = NULL;
  guint notified = 0;
  GPid before;
  GPid after;

  cluster = start (f, "[Cluster web]\nCommand=%s --on-shutdown-exit 0\n[Cluster db]\nCommand=%s --on-shutdown-exit 0\n", f->worker, f->worker);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  before = cohort_test_worker_pid (cluster, 0);

  /* Another cluster's name is refused. */
  clash = spec_of (f, "[Cluster db]\nCommand=%s --on-shutdown-exit 0\n", f->worker);
  g_assert_false (cohort_supervisor_replace_cluster (f->supervisor, "web", clash, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);

  g_signal_connect (cluster, "notify::name", G_CALLBACK (count_notify_cb), &notified);
  spec = spec_of (f, "[Cluster api]\nCommand=%s --on-shutdown-exit 0\nInstances=2\n", f->worker);
  g_assert_true (cohort_supervisor_replace_cluster (f->supervisor, "web", spec, &error));
  g_assert_no_error (error);
  g_signal_handlers_disconnect_by_data (cluster, &notified);
  g_assert_cmpuint (notified, ==, 1);

  g_assert_cmpstr (cohort_cluster_get_name (cluster), ==, "api");
  g_assert_true (cohort_supervisor_lookup (f->supervisor, "api") == cluster);
  g_assert_null (cohort_supervisor_lookup (f->supervisor, "web"));
  g_object_get (cluster, "name", &new_name, NULL);
  g_assert_cmpstr (new_name, ==, "api");

  /* The running worker keeps its environment; a new one has the name. */
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  g_assert_cmpint (cohort_test_worker_pid (cluster, 0), ==, before);
  old_name = env_of (before, "COHORT_CLUSTER");
  g_assert_cmpstr (old_name, ==, "web");
  g_free (new_name);
  new_name = env_of (cohort_test_worker_pid (cluster, 1), "COHORT_CLUSTER");
  g_assert_cmpstr (new_name, ==, "api");
  g_free (new_name);

  /* A restart gives the old slot the new name too. */
  cohort_worker_restart (cohort_cluster_lookup_worker (cluster, 0), NULL);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 15000);
  after = cohort_test_worker_pid (cluster, 0);
  g_assert_cmpint (after, !=, before);
  new_name = env_of (after, "COHORT_CLUSTER");
  g_assert_cmpstr (new_name, ==, "api");
}

/* Adding, removing, replacing clusters */

typedef struct
{
  guint position;
  guint removed;
  guint added;
  guint count;
} ItemsChanged;

static void
items_changed_cb (GListModel   *model,
                  guint         position,
                  guint         removed,
                  guint         added,
                  ItemsChanged *seen)
{
  seen->position = position;
  seen->removed = removed;
  seen->added = added;
  seen->count++;
}

static void
test_add_cluster (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortClusterSpec) spec = NULL;
  g_autoptr(CohortClusterSpec) clash = NULL;
  g_autoptr(CohortClusterSpec) bare = NULL;
  g_autoptr(GError) error = NULL;
  GListModel *clusters;
  ItemsChanged seen = { 0 };
  CohortCluster *added;

  cluster = start (f, "[Cluster web]\nCommand=%s --on-shutdown-exit 0\n", f->worker);
  clusters = cohort_supervisor_get_clusters (f->supervisor);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  g_signal_connect (clusters, "items-changed", G_CALLBACK (items_changed_cb), &seen);

  clash = spec_of (f, "[Cluster web]\nCommand=%s --on-shutdown-exit 0\n", f->worker);
  g_assert_null (cohort_supervisor_add_cluster (f->supervisor, clash, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  /* Nothing to run. */
  bare = cohort_cluster_spec_new ("bare", COHORT_CLUSTER_KIND_PROCESS);
  g_assert_null (cohort_supervisor_add_cluster (f->supervisor, bare, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (cohort_cluster_set_spec (cluster, bare, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (seen.count, ==, 0);

  /* The profile runs: the new cluster starts as it would have with it. */
  spec = spec_of (f, "[Cluster extra]\nCommand=%s --on-shutdown-exit 0\nInstances=2\n", f->worker);
  added = cohort_supervisor_add_cluster (f->supervisor, spec, &error);
  g_assert_no_error (error);
  g_assert_nonnull (added);
  g_assert_cmpuint (seen.count, ==, 1);
  g_assert_cmpuint (seen.position, ==, 1);
  g_assert_cmpuint (seen.removed, ==, 0);
  g_assert_cmpuint (seen.added, ==, 1);
  g_assert_true (cohort_supervisor_lookup (f->supervisor, "extra") == added);
  g_assert_cmpint (cohort_cluster_get_state (added), ==, COHORT_CLUSTER_STATE_RUNNING);
  wait_state (added, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  g_signal_handlers_disconnect_by_data (clusters, &seen);

  /* Nothing runs: a new cluster waits for Start like the others. */
  cohort_supervisor_stop (f->supervisor);
  g_assert_true (cohort_test_wait_until (supervisor_stopped, f->supervisor, 5000));
  {
    g_autoptr(CohortClusterSpec) idle = spec_of (f, "[Cluster idle]\nCommand=%s --on-shutdown-exit 0\n", f->worker);

    added = cohort_supervisor_add_cluster (f->supervisor, idle, &error);
    g_assert_no_error (error);
    g_assert_cmpint (cohort_cluster_get_state (added), ==, COHORT_CLUSTER_STATE_STOPPED);
    g_assert_false (cohort_supervisor_get_running (f->supervisor));
  }
}

static guint64
last_sample (CohortSampler *sampler,
             const char    *cluster)
{
  CohortSeries *series = cohort_sampler_get_cluster_series (sampler, cluster, COHORT_METRIC_RSS);

  return series != NULL ? cohort_series_get_last_time (series) : 0;
}

static void
sampled_cb (CohortSampler *sampler,
            gboolean      *done)
{
  *done = TRUE;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* Waits for a sample that ends after this call. */
static void
sample_now (CohortSampler *sampler)
{
  gboolean done = FALSE;
  gulong handler = g_signal_connect (sampler, "sampled", G_CALLBACK (sampled_cb), &done);

  cohort_sampler_sample_now (sampler);
  g_assert_true (cohort_test_wait_until (is_true, &done, 5000));
  g_signal_handler_disconnect (sampler, handler);
}

static void
test_remove_cluster (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *pids = g_build_filename (f->dir, "pids", NULL);
  g_autoptr(CohortCluster) web = NULL;
  g_autoptr(CohortCluster) other = NULL;
  g_autoptr(GError) error = NULL;
  CohortSampler *sampler;
  GListModel *clusters;
  ItemsChanged seen = { 0 };
  GPid processes[4];
  guint64 last;

  g_assert_cmpint (g_mkdir (pids, 0755), ==, 0);
  /* Each worker leaves a grandchild in its group: the stop ends both. */
  web = start (f, "[Cluster web]\nCommand=%s --pid-dir %s --grandchild --on-shutdown-exit 0\n"
               "Instances=2\nStopTimeout=1\n"
               "[Cluster other]\nCommand=%s --on-shutdown-exit 0\n", f->worker, pids, f->worker);
  other = g_list_model_get_item (cohort_supervisor_get_clusters (f->supervisor), 1);
  wait_state (web, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  for (guint id = 0; id < 2; id++)
    {
      g_autofree char *child = g_strdup_printf ("%s/%u", pids, id);
      g_autofree char *grandchild = g_strdup_printf ("%s/%u.grandchild", pids, id);

      processes[2 * id] = cohort_test_read_pid (child);
      processes[2 * id + 1] = cohort_test_read_pid (grandchild);
      g_assert_cmpint (processes[2 * id], ==, cohort_test_worker_pid (web, id));
      g_assert_true (cohort_test_pid_exists (processes[2 * id + 1]));
    }
  sampler = cohort_supervisor_get_sampler (f->supervisor);
  sample_now (sampler);
  g_assert_cmpuint (last_sample (sampler, "web"), >, 0);

  g_assert_false (cohort_supervisor_remove_cluster (f->supervisor, "nothing", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  clusters = cohort_supervisor_get_clusters (f->supervisor);
  g_signal_connect (clusters, "items-changed", G_CALLBACK (items_changed_cb), &seen);
  g_assert_true (cohort_supervisor_remove_cluster (f->supervisor, "web", &error));
  g_assert_no_error (error);
  g_signal_handlers_disconnect_by_data (clusters, &seen);

  /* Out of the list at once; the stop goes on behind. */
  g_assert_cmpuint (seen.count, ==, 1);
  g_assert_cmpuint (seen.position, ==, 0);
  g_assert_cmpuint (seen.removed, ==, 1);
  g_assert_cmpuint (seen.added, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (clusters), ==, 1);
  g_assert_null (cohort_supervisor_lookup (f->supervisor, "web"));
  g_assert_cmpint (cohort_cluster_get_state (web), ==, COHORT_CLUSTER_STATE_STOPPING);

  /* Only the other cluster keeps the supervisor running once web is gone. */
  cohort_test_wait_state (web, COHORT_WORKER_STATE_STOPPED, 2, 10000);
  while (cohort_cluster_get_state (web) != COHORT_CLUSTER_STATE_STOPPED)
    cohort_test_sleep (10);
  for (guint i = 0; i < G_N_ELEMENTS (processes); i++)
    g_assert_false (cohort_test_pid_exists (processes[i]));
  for (guint id = 0; id < 2; id++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (cohort_cluster_get_workers (web), id);

      /* Gracefully: the message ended the worker, its group then got
       * SIGTERM for the grandchild, never SIGKILL. */
      g_assert_cmpint (cohort_worker_get_stop_step (worker), <, COHORT_STOP_STEP_KILL);
    }
  g_assert_true (cohort_supervisor_get_running (f->supervisor));
  g_assert_cmpint (cohort_cluster_get_state (other), ==, COHORT_CLUSTER_STATE_RUNNING);
  cohort_supervisor_stop (f->supervisor);
  g_assert_true (cohort_test_wait_until (supervisor_stopped, f->supervisor, 5000));

  /* Nothing samples it any more. */
  last = last_sample (sampler, "web");
  sample_now (sampler);
  g_assert_cmpuint (last_sample (sampler, "web"), ==, last);
}

/* Removing the only cluster: running until its workers are gone. */
static void
test_remove_last (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(CohortCluster) web = NULL;
  g_autoptr(GError) error = NULL;
  GPid pid;

  /* Online once it says "ready", its SIGTERM handler in place: a signal
   * before that would end it at once (seen under ASan's slow start). */
  web = start (f, "[Cluster web]\nCommand=%s --term-delay 300 --send-ready\nReadyTimeout=5\nStopMessage=\n",
               f->worker);
  wait_state (web, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  pid = cohort_test_worker_pid (web, 0);
  g_assert_true (cohort_supervisor_remove_cluster (f->supervisor, "web", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (cohort_supervisor_get_clusters (f->supervisor)), ==, 0);
  g_assert_true (cohort_supervisor_get_running (f->supervisor));
  g_assert_true (cohort_test_pid_exists (pid));
  g_assert_true (cohort_test_wait_until (supervisor_stopped, f->supervisor, 5000));
  g_assert_false (cohort_test_pid_exists (pid));
  g_assert_cmpint (cohort_cluster_get_state (web), ==, COHORT_CLUSTER_STATE_STOPPED);
}

static void
test_kind_change (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(CohortCluster) first = NULL;
  g_autoptr(CohortCluster) old = NULL;
  g_autoptr(CohortCluster) replaced = NULL;
  g_autoptr(CohortClusterSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) task = json_from_string ("{\"task\": \"sum\", \"args\": {\"n\": 10}}", NULL);
  GListModel *clusters;
  ItemsChanged seen = { 0 };
  GPid pids[2];

  first = start (f, "[Cluster first]\nCommand=%s\n[Cluster work]\nCommand=%s --on-shutdown-exit 0\nInstances=2\n",
                 f->worker, f->worker);
  old = g_object_ref (cohort_supervisor_lookup (f->supervisor, "work"));
  online_pids (old, pids, 2);

  spec = spec_of (f, "[Cluster work]\nKind=threads\nTask=sum\nArguments={\"n\": 10}\nThreads=3\n");
  /* In place it cannot be done… */
  g_assert_false (cohort_cluster_set_spec (old, spec, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  /* … the supervisor puts a new cluster in its place. */
  clusters = cohort_supervisor_get_clusters (f->supervisor);
  g_signal_connect (clusters, "items-changed", G_CALLBACK (items_changed_cb), &seen);
  g_assert_true (cohort_supervisor_replace_cluster (f->supervisor, "work", spec, &error));
  g_assert_no_error (error);
  g_signal_handlers_disconnect_by_data (clusters, &seen);
  g_assert_cmpuint (seen.count, ==, 1);
  g_assert_cmpuint (seen.position, ==, 1);
  g_assert_cmpuint (seen.removed, ==, 1);
  g_assert_cmpuint (seen.added, ==, 1);

  replaced = g_list_model_get_item (clusters, 1);
  g_assert_true (replaced != old);
  g_assert_true (cohort_supervisor_lookup (f->supervisor, "work") == replaced);
  g_assert_cmpint (cohort_cluster_get_spec (replaced)->kind, ==, COHORT_CLUSTER_KIND_THREADS);
  g_assert_cmpint (cohort_cluster_get_state (replaced), ==, COHORT_CLUSTER_STATE_RUNNING);
  wait_state (replaced, COHORT_WORKER_STATE_ONLINE, 3, 5000);
  g_assert_true (cohort_cluster_send (replaced, -1, task, NULL, &error));
  g_assert_no_error (error);

  /* The process workers left gracefully. */
  while (cohort_cluster_get_state (old) != COHORT_CLUSTER_STATE_STOPPED)
    cohort_test_sleep (10);
  for (guint id = 0; id < 2; id++)
    {
      g_autoptr(CohortWorker) worker = g_list_model_get_item (cohort_cluster_get_workers (old), id);

      g_assert_false (cohort_test_pid_exists (pids[id]));
      g_assert_cmpint (cohort_worker_get_stop_step (worker), ==, COHORT_STOP_STEP_MESSAGE);
    }
}

#define THREADS_PROFILE \
  "[Cluster hash]\nKind=threads\nTask=sum\nArguments={\"n\": %d}\nThreads=2\n" \
  "Repeat=true\nTaskTimeout=%d\n"

static void
test_threads (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortClusterSpec) args = NULL;
  g_autoptr(CohortClusterSpec) timeout = NULL;
  g_autoptr(GError) error = NULL;
  CohortWorker *before[2];

  cluster = start (f, THREADS_PROFILE, 1000, 0);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  for (guint id = 0; id < 2; id++)
    before[id] = cohort_cluster_lookup_worker (cluster, id);

  /* A live setting: the same threads go on. */
  timeout = spec_of (f, THREADS_PROFILE, 1000, 5);
  g_assert_true (cohort_cluster_set_spec (cluster, timeout, &error));
  g_assert_no_error (error);
  g_assert_false (cohort_cluster_get_reloading (cluster));
  for (guint id = 0; id < 2; id++)
    g_assert_true (cohort_cluster_lookup_worker (cluster, id) == before[id]);

  /* What the threads loop on: each is replaced in turn. */
  args = spec_of (f, THREADS_PROFILE, 2000, 5);
  g_assert_true (cohort_cluster_set_spec (cluster, args, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_test_wait_until (not_reloading, cluster, 10000));
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  g_assert_cmpuint (g_list_model_get_n_items (cohort_cluster_get_workers (cluster)), ==, 2);
  for (guint id = 0; id < 2; id++)
    {
      CohortWorker *worker = cohort_cluster_lookup_worker (cluster, id);

      g_assert_true (worker != before[id]);
      g_assert_cmpuint (cohort_worker_get_restarts (worker), ==, 1);
      g_assert_true (cohort_worker_get_spec (worker) == args);
    }
}

/* A stopped cluster takes the spec for its next start. */
static void
test_stopped (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortClusterSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *mode = NULL;

  cluster = start (f, "[Cluster web]\nCommand=%s --on-shutdown-exit 0\nEnvironment=MODE=old;\nListen=127.0.0.1:0\n", f->worker);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  cohort_cluster_stop (cluster);
  g_assert_true (cohort_test_wait_until (supervisor_stopped, f->supervisor, 15000));

  spec = spec_of (f, "[Cluster web]\nCommand=%s --on-shutdown-exit 0\nEnvironment=MODE=new;\nInstances=2\n", f->worker);
  g_assert_true (cohort_cluster_set_spec (cluster, spec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cohort_cluster_get_state (cluster), ==, COHORT_CLUSTER_STATE_STOPPED);
  g_assert_cmpint (cohort_cluster_get_listen_fd (cluster), <, 0);
  g_assert_cmpuint (cohort_cluster_get_desired (cluster), ==, 2);

  g_assert_true (cohort_cluster_start (cluster, &error));
  g_assert_no_error (error);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 2, 5000);
  mode = env_of (cohort_test_worker_pid (cluster, 1), "MODE");
  g_assert_cmpstr (mode, ==, "new");
  g_assert_cmpint (cohort_cluster_get_listen_fd (cluster), <, 0);
}

/* A rename keeps the graphs' history; a removal forgets it, so a new
 * cluster of that name starts afresh. */
static void
test_history_follows (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(CohortCluster) cluster = NULL;
  g_autoptr(CohortClusterSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  CohortSampler *sampler;
  CohortSeries *series;
  guint length;

  cluster = start (f, "[Cluster web]\nCommand=%s --on-shutdown-exit 0\n", f->worker);
  wait_state (cluster, COHORT_WORKER_STATE_ONLINE, 1, 5000);
  sampler = cohort_supervisor_get_sampler (f->supervisor);
  sample_now (sampler);
  sample_now (sampler);
  series = cohort_sampler_get_series (sampler, "web", 0, COHORT_METRIC_RSS);
  g_assert_nonnull (series);
  length = cohort_series_get_length (series);
  g_assert_cmpuint (length, >=, 2);

  spec = spec_of (f, "[Cluster api]\nCommand=%s --on-shutdown-exit 0\n", f->worker);
  g_assert_true (cohort_supervisor_replace_cluster (f->supervisor, "web", spec, &error));
  g_assert_no_error (error);
  g_assert_true (cohort_sampler_get_series (sampler, "api", 0, COHORT_METRIC_RSS) == series);
  g_assert_null (cohort_sampler_get_series (sampler, "web", 0, COHORT_METRIC_RSS));
  sample_now (sampler);
  g_assert_cmpuint (cohort_series_get_length (series), >, length);
  g_assert_nonnull (cohort_sampler_get_cluster_series (sampler, "api", COHORT_METRIC_RSS));

  g_assert_true (cohort_supervisor_remove_cluster (f->supervisor, "api", &error));
  g_assert_no_error (error);
  g_assert_null (cohort_sampler_get_series (sampler, "api", 0, COHORT_METRIC_RSS));
  g_assert_null (cohort_sampler_get_cluster_series (sampler, "api", COHORT_METRIC_RSS));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  cohort_test_note_inherited_fds ();

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/Cohort/Apply/plan", test_plan);
  ADD ("/Cohort/Apply/plan-threads", test_plan_threads);
  ADD ("/Cohort/Apply/scale-up", test_scale_up);
  ADD ("/Cohort/Apply/policy-live", test_policy_live);
  ADD ("/Cohort/Apply/environment-rolling", test_environment_rolling);
  ADD ("/Cohort/Apply/edit-during-restart", test_edit_during_restart);
  ADD ("/Cohort/Apply/failed-restart", test_failed_restart);
  ADD ("/Cohort/Apply/listen-moves", test_listen_moves);
  ADD ("/Cohort/Apply/rename", test_rename);
  ADD ("/Cohort/Apply/threads", test_threads);
  ADD ("/Cohort/Apply/stopped", test_stopped);
  ADD ("/Cohort/Apply/add-cluster", test_add_cluster);
  ADD ("/Cohort/Apply/remove-cluster", test_remove_cluster);
  ADD ("/Cohort/Apply/history-follows", test_history_follows);
  ADD ("/Cohort/Apply/remove-last", test_remove_last);
  ADD ("/Cohort/Apply/kind-change", test_kind_change);

  return g_test_run ();
}
