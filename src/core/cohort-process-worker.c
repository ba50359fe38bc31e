/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-process-worker.c: launching and ending a worker process.
 *
 * The child gets exactly what DESIGN.md lists and nothing else: the
 * spawner (cohort-spawn.c) closes every descriptor but 0-2 and the ones
 * mapped here, the process gets a group of its own (so a stop reaches its
 * children too) and PR_SET_PDEATHSIG, so it dies with Cohort however
 * Cohort ends. Spawning happens on the main thread only: PDEATHSIG fires
 * when the spawning *thread* exits. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n-lib.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cohort-channel.h"
#include "cohort-cluster.h"
#include "cohort-line-reader.h"
#include "cohort-process-worker.h"
#include "cohort-reaper.h"
#include "cohort-spawn.h"
#include "cohort-watch.h"
#include "cohort-worker-private.h"

#define LISTEN_FD           3
#define MAX_CHILD_FDS       (LISTEN_FD + 2)   /* 0-2, the listening socket, the channel */
#define MAX_OUTPUT_LINE     (16 * 1024)
#define READ_CHUNK          (16 * 1024)
#define READS_PER_DISPATCH  4
#define GROUP_POLL_MS       20
/* How often an exit that waits for a reader (see reading ()) looks again. */
#define EXIT_RETRY_MS       10

typedef struct
{
  CohortProcessWorker *self;
  CohortOutputStream   stream;
  int                  fd;
  guint                source;
  CohortLineReader    *reader;
} OutputPipe;

struct _CohortProcessWorker
{
  CohortWorker  parent_instance;

  GPid          pid;
  guint         child_watch;
  int           pending_status;   /* the leader's status while its group lingers */
  GError       *exec_error;       /* the exec failed (cohort_spawn_take_failure) */
  guint         group_poll;
  guint         exit_later;       /* the exit, waiting for a reader to finish */
  OutputPipe    out;
  OutputPipe    err;
  CohortChannel *channel;
};

G_DEFINE_FINAL_TYPE (CohortProcessWorker, cohort_process_worker, COHORT_TYPE_WORKER)

enum {
  PROP_0,
  PROP_PID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Output */

static void
output_line_cb (const char *line,
                gsize       length,
                gboolean    truncated,
                gpointer    user_data)
{
  OutputPipe *pipe = user_data;

  _cohort_worker_append_output (COHORT_WORKER (pipe->self), pipe->stream, line, length);
}

static void
output_pipe_close (OutputPipe *pipe)
{
  g_clear_handle_id (&pipe->source, cohort_watch_remove);
  if (pipe->reader != NULL)
    cohort_line_reader_flush (pipe->reader);
  g_clear_pointer (&pipe->reader, cohort_line_reader_free);
  if (pipe->fd >= 0)
    {
      close (pipe->fd);
      pipe->fd = -1;
    }
}

/* A bounded amount per dispatch, so a worker that floods its output
 * cannot starve the main loop; the pipe's own buffer then holds the
 * worker back. */
static gboolean
output_ready_cb (int          fd,
                 GIOCondition condition,
                 gpointer     user_data)
{
  OutputPipe *pipe = user_data;

  /* Called again from a handler's nested main loop: later. */
  if (cohort_line_reader_is_busy (pipe->reader))
    return G_SOURCE_CONTINUE;

  for (guint i = 0; i < READS_PER_DISPATCH; i++)
    {
      /* Straight into the line reader's buffer: no copy of whole lines. */
      ssize_t n = read (fd, cohort_line_reader_reserve (pipe->reader, READ_CHUNK), READ_CHUNK);

      if (n > 0)
        {
          cohort_line_reader_commit (pipe->reader, n);
          if (n < READ_CHUNK)
            return G_SOURCE_CONTINUE;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return G_SOURCE_CONTINUE;

      /* End of file or a real error: the writers are gone. This also runs
       * outside the watch's dispatch (when the worker exits), so the
       * watch is removed by id: left in place, it would watch whatever
       * descriptor reuses the number. */
      output_pipe_close (pipe);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
output_pipe_open (CohortProcessWorker *self,
                  OutputPipe          *pipe,
                  CohortOutputStream   stream,
                  int                  fd)
{
  output_pipe_close (pipe);
  pipe->self = self;
  pipe->stream = stream;
  pipe->fd = fd;
  /* A pipe of ours, with no other status flag: no need to read them. */
  fcntl (fd, F_SETFL, O_NONBLOCK);
  pipe->reader = cohort_line_reader_new (MAX_OUTPUT_LINE, output_line_cb, pipe);
  pipe->source = cohort_watch_fd (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, output_ready_cb, pipe);
}

/* Exit */

static void
drop_channel (CohortProcessWorker *self)
{
  if (self->channel == NULL)
    return;
  cohort_channel_forget_handler (self->channel);
  cohort_channel_close (self->channel);
  g_clear_object (&self->channel);
}

static void
finish_exit (CohortProcessWorker *self)
{
  g_autoptr(GError) error = g_steal_pointer (&self->exec_error);
  gboolean never_ran = error != NULL;

  g_clear_handle_id (&self->group_poll, g_source_remove);
  drop_channel (self);
  self->pid = 0;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PID]);
  /* cohort_spawn() does not wait for the exec: a child that failed it
   * is reported only now, as cohort_spawn() itself would have. */
  if (never_ran)
    _cohort_worker_launch_failed (COHORT_WORKER (self), error);
  else
    _cohort_worker_exited (COHORT_WORKER (self), self->pending_status);
}

static gboolean
group_poll_cb (gpointer data)
{
  CohortProcessWorker *self = data;

  if (cohort_reaper_group_alive (self->pid))
    return G_SOURCE_CONTINUE;
  self->group_poll = 0;
  finish_exit (self);
  return G_SOURCE_REMOVE;
}

/* A handler of a message or output line is running a nested main loop
 * in which the child watch fired: its reader is still handing on lines
 * already read, and reading more under it, or closing it, would lose
 * them. */
static gboolean
reading (CohortProcessWorker *self)
{
  return (self->channel != NULL && cohort_channel_is_reading (self->channel))
         || (self->out.reader != NULL && cohort_line_reader_is_busy (self->out.reader))
         || (self->err.reader != NULL && cohort_line_reader_is_busy (self->err.reader));
}

static void handle_exit (CohortProcessWorker *self);

static gboolean
exit_later_cb (gpointer data)
{
  CohortProcessWorker *self = data;

  if (reading (self))
    return G_SOURCE_CONTINUE;
  self->exit_later = 0;
  handle_exit (self);
  return G_SOURCE_REMOVE;
}

static void
child_exited_cb (GPid     pid,
                 int      wait_status,
                 gpointer user_data)
{
  CohortProcessWorker *self = user_data;

  self->child_watch = 0;
  self->pending_status = wait_status;
  /* Taken now, while the pid cannot have gone to another child yet. */
  g_clear_error (&self->exec_error);
  cohort_spawn_take_failure (pid, &self->exec_error);
  cohort_reaper_untrack (pid);

  if (reading (self))
    self->exit_later = g_timeout_add (EXIT_RETRY_MS, exit_later_cb, self);
  else
    handle_exit (self);
}

static void
handle_exit (CohortProcessWorker *self)
{
  CohortWorker *worker = COHORT_WORKER (self);
  GPid pid = self->pid;

  /* Output and messages sent just before the end are still in flight. */
  if (self->channel != NULL)
    cohort_channel_drain (self->channel);
  if (self->out.source != 0)
    output_ready_cb (self->out.fd, G_IO_IN, &self->out);
  if (self->err.source != 0)
    output_ready_cb (self->err.fd, G_IO_IN, &self->err);

  /* A stop is over only when the whole group is gone: its other members
   * got the same signal and may still be finishing. The ladder goes on
   * meanwhile (SIGKILL after StopTimeout). */
  if (cohort_worker_get_state (worker) == COHORT_WORKER_STATE_STOPPING &&
      cohort_reaper_group_alive (pid))
    {
      self->group_poll = g_timeout_add (GROUP_POLL_MS, group_poll_cb, self);
      return;
    }

  /* A worker that crashed leaves its children to Cohort; they would
   * otherwise keep its port or its work. */
  if (cohort_reaper_group_alive (pid))
    {
      CohortClusterSpec *spec = cohort_worker_get_spec (worker);

      cohort_reaper_end_group (pid, spec->stop_signal, (guint) (spec->stop_timeout_s * 1000));
    }

  finish_exit (self);
}

/* Launch */

static const char * const scrubbed_variables[] = {
  "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
  "COHORT_CHANNEL_FD", "NODE_CHANNEL_FD", "NODE_CHANNEL_SERIALIZATION_MODE",
  "NODE_UNIQUE_ID",
};

static char **
build_environment (CohortWorker      *worker,
                   CohortClusterSpec *spec,
                   gboolean           with_listen,
                   int                channel_fd,
                   CohortChannelMode  channel_mode)
{
  g_auto(GStrv) env = g_get_environ ();
  g_autofree char *id = g_strdup_printf ("%u", cohort_worker_get_id (worker));

  /* What Cohort itself was handed is not the worker's. */
  for (guint i = 0; i < G_N_ELEMENTS (scrubbed_variables); i++)
    env = g_environ_unsetenv (env, scrubbed_variables[i]);

  for (guint i = 0; spec->environment[i] != NULL; i++)
    {
      const char *item = spec->environment[i];
      const char *equals = strchr (item, '=');
      g_autofree char *name = g_strndup (item, equals - item);

      env = g_environ_setenv (env, name, equals + 1, TRUE);
    }

  env = g_environ_setenv (env, "COHORT_CLUSTER", spec->name, TRUE);
  env = g_environ_setenv (env, "COHORT_WORKER_ID", id, TRUE);
  env = g_environ_setenv (env, "NODE_APP_INSTANCE", id, TRUE);

  if (with_listen)
    {
      env = g_environ_setenv (env, "LISTEN_FDS", "1", TRUE);
      env = g_environ_setenv (env, "LISTEN_FDNAMES", spec->name, TRUE);
      /* Room for the digits that the child writes (cohort-spawn.c). */
      env = g_environ_setenv (env, "LISTEN_PID", "00000000000000000000", TRUE);
    }

  if (channel_fd >= 0)
    {
      g_autofree char *fd_text = g_strdup_printf ("%d", channel_fd);

      env = g_environ_setenv (env, "COHORT_CHANNEL_FD", fd_text, TRUE);
      if (channel_mode == COHORT_CHANNEL_NODE)
        {
          env = g_environ_setenv (env, "NODE_CHANNEL_FD", fd_text, TRUE);
          env = g_environ_setenv (env, "NODE_CHANNEL_SERIALIZATION_MODE", "json", TRUE);
        }
    }

  return g_steal_pointer (&env);
}

/* Channel=auto is Node's protocol for a `node` program, plain NDJSON for
 * anything else (the framing is the same; Node also needs its variables). */
static CohortChannelMode
resolve_channel_mode (CohortClusterSpec *spec)
{
  g_autofree char *program = NULL;

  if (spec->channel != COHORT_CHANNEL_AUTO)
    return spec->channel;
  program = g_path_get_basename (spec->argv[0]);
  if (g_str_equal (program, "node") || g_str_equal (program, "nodejs"))
    return COHORT_CHANNEL_NODE;
  return COHORT_CHANNEL_NDJSON;
}

static void
channel_message_cb (JsonNode   *node,
                    const char *text,
                    guint64     bytes,
                    gpointer    user_data)
{
  _cohort_worker_received (COHORT_WORKER (user_data), node, text, bytes);
}

static void
channel_bad_message_cb (const char *reason,
                        gpointer    user_data)
{
  _cohort_worker_bad_message (COHORT_WORKER (user_data), reason);
}

static const CohortChannelHandler channel_handler = {
  .message = channel_message_cb,
  .bad_message = channel_bad_message_cb,
};

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

/* Every worker's stdin: one descriptor for all, opened once (close-on-exec;
 * the child gets its copy from cohort_spawn()), above the numbers it maps
 * to, so that cohort_spawn() never has to move it out of the way. */
static int
dev_null_fd (GError **error)
{
  static int fd = -1;

  if (fd < 0)
    {
      int low = open ("/dev/null", O_RDONLY | O_CLOEXEC);

      fd = low >= 0 && low < MAX_CHILD_FDS ? fcntl (low, F_DUPFD_CLOEXEC, MAX_CHILD_FDS) : -1;
      if (fd >= 0)
        close (low);
      else
        fd = low;   /* still usable: cohort_spawn() moves it */
    }
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "/dev/null: %s", g_strerror (saved_errno));
    }
  return fd;
}

static gboolean
cohort_process_worker_launch (CohortWorker  *worker,
                              GError       **error)
{
  CohortProcessWorker *self = COHORT_PROCESS_WORKER (worker);
  CohortClusterSpec *spec = cohort_worker_get_spec (worker);
  CohortCluster *cluster = cohort_worker_get_cluster (worker);
  int listen_fd = cluster != NULL ? cohort_cluster_get_listen_fd (cluster) : -1;
  CohortChannelMode channel_mode = resolve_channel_mode (spec);
  g_auto(GStrv) envp = NULL;
  CohortSpawnRequest request = { 0 };
  int dev_null = -1;
  int out_pipe[2] = { -1, -1 };
  int err_pipe[2] = { -1, -1 };
  int pair[2] = { -1, -1 };
  int fds[MAX_CHILD_FDS];
  gsize n_fds = 0;
  int channel_fd = -1;
  GPid pid = 0;
  gboolean spawned = FALSE;

  g_assert (self->pid == 0);
  g_assert (self->channel == NULL);

  /* 0 reads /dev/null, 1 and 2 are pipes to us; then, numbered from 3 in
   * DESIGN.md's order, the listening socket and the channel. Everything is
   * close-on-exec here: the child gets its copies from cohort_spawn(). */
  dev_null = dev_null_fd (error);
  if (dev_null < 0 ||
      !g_unix_open_pipe (out_pipe, FD_CLOEXEC, error) ||
      !g_unix_open_pipe (err_pipe, FD_CLOEXEC, error))
    goto out;
  fds[n_fds++] = dev_null;
  fds[n_fds++] = out_pipe[1];
  fds[n_fds++] = err_pipe[1];
  if (listen_fd >= 0)
    fds[n_fds++] = listen_fd;
  if (channel_mode != COHORT_CHANNEL_NONE)
    {
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _("cannot make the message channel: %s"), g_strerror (saved_errno));
          goto out;
        }
      channel_fd = (int) n_fds;
      fds[n_fds++] = pair[1];
    }

  envp = build_environment (worker, spec, listen_fd >= 0, channel_fd, channel_mode);
  if (listen_fd >= 0)
    for (guint i = 0; envp[i] != NULL; i++)
      if (g_str_has_prefix (envp[i], "LISTEN_PID="))
        request.listen_pid_slot = envp[i] + strlen ("LISTEN_PID=");

  /* A bare program name is looked up in the worker's PATH. */
  request.working_directory = spec->working_directory;
  request.argv = (const char * const *) spec->argv;
  request.envp = (const char * const *) envp;
  request.fds = fds;
  request.n_fds = n_fds;
  spawned = cohort_spawn (&request, &pid, error);

out:
  close_fd (&out_pipe[1]);
  close_fd (&err_pipe[1]);
  close_fd (&pair[1]);
  if (!spawned)
    {
      close_fd (&out_pipe[0]);
      close_fd (&err_pipe[0]);
      close_fd (&pair[0]);
      return FALSE;
    }

  self->pid = pid;
  cohort_reaper_track (pid);
  self->child_watch = cohort_watch_child (pid, child_exited_cb, self);
  output_pipe_open (self, &self->out, COHORT_OUTPUT_STDOUT, out_pipe[0]);
  output_pipe_open (self, &self->err, COHORT_OUTPUT_STDERR, err_pipe[0]);
  if (pair[0] >= 0)
    {
      self->channel = cohort_channel_new (pair[0], &channel_handler, self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PID]);

  g_debug ("%s.%u: started pid %d", spec->name, cohort_worker_get_id (worker), pid);
  return TRUE;
}

/* Exec'd: cohort_spawn() returns before. */
static gboolean
cohort_process_worker_has_begun (CohortWorker *worker)
{
  CohortProcessWorker *self = COHORT_PROCESS_WORKER (worker);

  return self->pid > 0 && cohort_spawn_has_execd (self->pid);
}

static gboolean
cohort_process_worker_send_line (CohortWorker  *worker,
                                 const char    *json,
                                 gsize          length,
                                 GError       **error)
{
  CohortProcessWorker *self = COHORT_PROCESS_WORKER (worker);

  if (self->channel == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   cohort_worker_get_spec (worker)->channel == COHORT_CHANNEL_NONE
                     ? _("the cluster has no message channel (Channel=none)")
                     : _("worker %u is not running"),
                   cohort_worker_get_id (worker));
      return FALSE;
    }
  return cohort_channel_send (self->channel, json, length, error);
}

static void
signal_group (CohortProcessWorker *self,
              int                  signum)
{
  GPid pid = self->pid != 0 ? self->pid : 0;

  if (pid == 0)
    return;
  /* The group, so the worker's children hear it too; and the worker by
   * pid in case it moved itself to another group. */
  kill (-pid, signum);
  if (self->child_watch != 0)
    kill (pid, signum);
}

static gboolean
cohort_process_worker_stop_step (CohortWorker   *worker,
                                 CohortStopStep  step)
{
  CohortProcessWorker *self = COHORT_PROCESS_WORKER (worker);
  CohortClusterSpec *spec = cohort_worker_get_spec (worker);

  switch (step)
    {
    case COHORT_STOP_STEP_MESSAGE:
      {
        g_autoptr(JsonNode) message = NULL;

        /* Skipped when empty, or when there is no channel to carry it. */
        if (spec->stop_message == NULL || spec->stop_message[0] == '\0' ||
            self->channel == NULL || !cohort_channel_is_open (self->channel))
          return FALSE;
        message = json_from_string (spec->stop_message, NULL);
        return message != NULL && cohort_worker_send (worker, message, NULL);
      }

    case COHORT_STOP_STEP_SIGNAL:
      signal_group (self, spec->stop_signal);
      return TRUE;

    case COHORT_STOP_STEP_KILL:
      signal_group (self, SIGKILL);
      return TRUE;

    case COHORT_STOP_STEP_NONE:
    default:
      return FALSE;
    }
}

/* GObject */

static void
cohort_process_worker_dispose (GObject *object)
{
  CohortProcessWorker *self = (CohortProcessWorker *) object;

  /* A worker object is only dropped once its process is gone; if not
   * (Cohort is exiting abnormally), PDEATHSIG ends the process. */
  if (self->child_watch != 0)
    {
      signal_group (self, SIGKILL);
      cohort_reaper_untrack (self->pid);
    }
  g_clear_handle_id (&self->child_watch, cohort_watch_remove);
  g_clear_handle_id (&self->group_poll, g_source_remove);
  g_clear_handle_id (&self->exit_later, g_source_remove);
  g_clear_error (&self->exec_error);
  output_pipe_close (&self->out);
  output_pipe_close (&self->err);
  drop_channel (self);

  G_OBJECT_CLASS (cohort_process_worker_parent_class)->dispose (object);
}

static void
cohort_process_worker_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  CohortProcessWorker *self = COHORT_PROCESS_WORKER (object);

  switch (prop_id)
    {
    case PROP_PID:
      g_value_set_int (value, self->pid);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cohort_process_worker_class_init (CohortProcessWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  CohortWorkerClass *worker_class = COHORT_WORKER_CLASS (klass);

  object_class->dispose = cohort_process_worker_dispose;
  object_class->get_property = cohort_process_worker_get_property;

  worker_class->launch = cohort_process_worker_launch;
  worker_class->stop_step = cohort_process_worker_stop_step;
  worker_class->send_line = cohort_process_worker_send_line;
  worker_class->has_begun = cohort_process_worker_has_begun;

  properties[PROP_PID] =
    g_param_spec_int ("pid", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cohort_process_worker_init (CohortProcessWorker *self)
{
  self->out.fd = -1;
  self->err.fd = -1;
}

CohortWorker *
cohort_process_worker_new (CohortCluster     *cluster,
                           CohortClusterSpec *spec,
                           guint              id)
{
  return g_object_new (COHORT_TYPE_PROCESS_WORKER,
                       "cluster", cluster,
                       "spec", spec,
                       "id", id,
                       NULL);
}

/* Resident memory from /proc/PID/statm, in bytes; 0 when not running,
 * or not yet exec'd (its statm is Cohort's then). */
guint64
cohort_process_worker_get_rss (CohortProcessWorker *self)
{
  char path[64];
  unsigned long size;
  unsigned long resident;
  FILE *file;
  int n;

  g_return_val_if_fail (COHORT_IS_PROCESS_WORKER (self), 0);

  if (self->pid <= 0 || cohort_spawn_is_pending (self->pid))
    return 0;
  g_snprintf (path, sizeof path, "/proc/%d/statm", (int) self->pid);
  file = fopen (path, "re");
  if (file == NULL)
    return 0;
  n = fscanf (file, "%lu %lu", &size, &resident);
  fclose (file);
  return n == 2 ? (guint64) resident * (guint64) sysconf (_SC_PAGESIZE) : 0;
}

GPid
cohort_process_worker_get_pid (CohortProcessWorker *self)
{
  g_return_val_if_fail (COHORT_IS_PROCESS_WORKER (self), 0);
  return self->pid;
}
