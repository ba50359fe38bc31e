/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-watch.c: every worker's output pipes and exit behind one epoll
 * descriptor.
 *
 * With a GLib source per descriptor, each main-loop iteration hands the
 * kernel every worker's pipes and pidfd again, and GLib walks as many
 * sources in prepare, query and check: with 64 idle workers that poll was
 * a third of Cohort's idle CPU. Here GLib polls one epoll descriptor, and
 * the kernel keeps the set between calls.
 *
 * A busy descriptor (a worker's message channel during a burst, a chatty
 * stdout) would pay for that with an epoll_wait between GLib's poll and
 * its read, a system call per message: a watch dispatched HOT_DISPATCHES
 * times within a second gets a GLib source of its own, polled directly,
 * and goes back to the epoll set once it has been quiet for COLD_SECONDS.
 * Idle workers then cost GLib nothing per iteration, and a busy channel
 * costs what a g_unix_fd_add() source does.
 *
 * Level-triggered, like g_unix_fd_add(), on the global default main
 * context at G_PRIORITY_DEFAULT, where g_unix_fd_add() and
 * g_child_watch_add() put the sources this replaces. Main thread only.
 *
 * Dispatch looks every ready watch up by id, so a callback may remove any
 * watch (its own included), add watches, and close the descriptors it
 * removed. A callback may run a nested main loop: the source may recurse,
 * but a watch whose callback is running is not called again; if the
 * nested loop finds its descriptor ready, the descriptor leaves the epoll
 * set until the callback returns. Leaves, rather than staying with an
 * empty event mask: epoll reports hang-up and error whatever the mask,
 * and a pipe whose writer is gone would spin the nested loop. Either
 * costs nothing when no callback nests.
 *
 * A child watch opens a pidfd for the child and reaps it with
 * waitid(P_PIDFD): that pid only, never waitpid(-1), so the orphans of
 * cohort-reaper.c and GLib's own children stay theirs. Where pidfds are
 * missing (Linux before 5.4) it is a GLib child watch under a Cohort id. */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cohort-watch.h"

/* Ready watches taken per dispatch; more wait for the next iteration. */
#define MAX_EVENTS 64

/* A watch dispatched this often within one second of the monotonic clock
 * leaves the epoll set for a source of its own; one not dispatched for
 * COLD_SECONDS whole seconds of the sweep comes back. */
#define HOT_DISPATCHES 32
#define COLD_SECONDS   3

typedef struct
{
  guint             id;
  int               fd;           /* the descriptor, or the child's pidfd; -1 once reaped */
  guint32           events;       /* what the epoll set waits for */
  CohortWatchFdFunc fd_func;
  GChildWatchFunc   child_func;
  GPid              pid;
  guint             glib_child;   /* without pidfds: the GLib child watch */
  gpointer          user_data;
  GSource          *own;          /* busy: its own source, out of the epoll set */
  gint64            second;       /* the second of the monotonic clock counted */
  guint             dispatches;   /* in that second (in the epoll set), or since the sweep */
  guint             quiet;        /* sweeps without a dispatch, while it has its own source */
  guint             running : 1;  /* its callback is on the stack */
  guint             parked : 1;   /* out of the epoll set (or its own source) until that returns */
} Watch;

typedef struct
{
  GSource     source;
  int         epfd;
  GHashTable *watches;   /* id → Watch */
  GPtrArray  *busy;      /* ids (as pointers) of the watches with a source of their own */
  guint       sweep;     /* the timer that sends quiet ones back */
  guint       last_id;
  guint       serial;    /* dispatches so far, nested ones included */
} WatchSource;

/* A busy watch's own source: GLib polls its descriptor. It may recurse,
 * like the epoll source: a source that may not is blocked and unblocked
 * by GLib around every dispatch, and each of those changes the main
 * context's poll set, which writes to its wake-up eventfd; the next
 * iteration then wakes at once, reads it, and goes round again for
 * nothing: per message, two writes, a read and an iteration (a tenth of a
 * 64 KiB round trip). A nested dispatch of a watch whose callback runs
 * parks the descriptor instead, as for the epoll set. */
typedef struct
{
  GSource  source;
  gpointer tag;
  guint    id;
} OwnSource;

static WatchSource *watch_source;

static Watch *
lookup (WatchSource *self,
        guint        id)
{
  return g_hash_table_lookup (self->watches, GUINT_TO_POINTER (id));
}

/* GIOCondition takes poll()'s values, and epoll shares them: the masks
 * need no translation. */
#define CONDITION_BITS (G_IO_IN | G_IO_PRI | G_IO_OUT | G_IO_ERR | G_IO_HUP)
G_STATIC_ASSERT ((guint) G_IO_IN == EPOLLIN && (guint) G_IO_PRI == EPOLLPRI &&
                 (guint) G_IO_OUT == EPOLLOUT && (guint) G_IO_ERR == EPOLLERR &&
                 (guint) G_IO_HUP == EPOLLHUP);

static gboolean
epoll_add (WatchSource *self,
           Watch       *watch)
{
  struct epoll_event event = { 0 };

  event.events = watch->events;
  event.data.u32 = watch->id;
  return epoll_ctl (self->epfd, EPOLL_CTL_ADD, watch->fd, &event) == 0;
}

static void
epoll_del (WatchSource *self,
           Watch       *watch)
{
  /* A descriptor closed before its watch was removed has left the set
   * by itself: nothing to report. */
  if (watch->fd >= 0 && !watch->parked)
    epoll_ctl (self->epfd, EPOLL_CTL_DEL, watch->fd, NULL);
}

static void
drop_own_source (WatchSource *self,
                 Watch       *watch)
{
  if (watch->own == NULL)
    return;
  g_ptr_array_remove_fast (self->busy, GUINT_TO_POINTER (watch->id));
  g_source_destroy (watch->own);
  g_clear_pointer (&watch->own, g_source_unref);
}

static void
remove_watch (WatchSource *self,
              Watch       *watch)
{
  if (watch->own != NULL)
    drop_own_source (self, watch);
  else
    epoll_del (self, watch);
  if (watch->child_func != NULL && watch->fd >= 0)
    {
      close (watch->fd);
      watch->fd = -1;   /* or free_watch() would close the number again */
    }
  if (watch->glib_child != 0)
    g_source_remove (watch->glib_child);
  g_hash_table_remove (self->watches, GUINT_TO_POINTER (watch->id));
}

/* The wait status, in waitpid()'s format, so that callers keep using
 * WIFEXITED() and g_spawn_check_wait_status(); FALSE if not exited yet. */
static gboolean
reap_child (WatchSource *self,
            Watch       *watch,
            int         *wait_status)
{
  siginfo_t info;
  int r;

  memset (&info, 0, sizeof info);
  do
    r = waitid (P_PIDFD, watch->fd, &info, WEXITED | WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0 && info.si_pid == 0)
    return FALSE;

  if (r < 0)
    {
      /* Someone else reaped it (a waitpid(-1) elsewhere); GLib's child
       * watch reports 0 then too. */
      g_warning ("Cannot reap child %d: %s", (int) watch->pid, g_strerror (errno));
      *wait_status = 0;
    }
  else if (info.si_code == CLD_EXITED)
    *wait_status = W_EXITCODE (info.si_status, 0);
  else if (info.si_code == CLD_DUMPED)
    *wait_status = info.si_status | WCOREFLAG;
  else
    *wait_status = info.si_status;

  epoll_del (self, watch);
  close (watch->fd);
  watch->fd = -1;
  return TRUE;
}

static void promote (WatchSource *self,
                     Watch       *watch);

/* Puts a watch back in the epoll set (after a nested loop, or once it is
 * quiet again). */
static void
epoll_readd (WatchSource *self,
             Watch       *watch)
{
  if (!epoll_add (self, watch))
    g_critical ("Cannot watch fd %d again (closed before its watch was removed?): %s",
                watch->fd, g_strerror (errno));
}

/* A watch whose callback runs leaves what polls it (the epoll set or its
 * own source) when a nested loop finds it ready, until the callback
 * returns: an empty event mask would still report a hang-up, and spin the
 * nested loop. */
static void
park (WatchSource *self,
      Watch       *watch)
{
  if (watch->parked)
    return;
  if (watch->own != NULL)
    {
      OwnSource *own = (OwnSource *) watch->own;

      g_source_remove_unix_fd (watch->own, own->tag);
      own->tag = NULL;
    }
  else
    epoll_ctl (self->epfd, EPOLL_CTL_DEL, watch->fd, NULL);
  watch->parked = TRUE;
}

/* Back where it was polled, once its callback has returned; FALSE if it
 * was not parked. */
static gboolean
unpark (WatchSource *self,
        Watch       *watch)
{
  if (!watch->parked)
    return FALSE;
  watch->parked = FALSE;
  if (watch->own != NULL)
    {
      OwnSource *own = (OwnSource *) watch->own;

      own->tag = g_source_add_unix_fd (watch->own, watch->fd, (GIOCondition) watch->events);
    }
  else
    epoll_readd (self, watch);
  return TRUE;
}

/* Runs a descriptor watch's callback, not re-entered meanwhile. Returns
 * the watch if it is still there (the callback may remove it, and
 * anything else; G_SOURCE_REMOVE removes it here). */
static Watch *
call_fd_func (WatchSource  *self,
              Watch        *watch,
              GIOCondition  condition)
{
  guint id = watch->id;
  gboolean keep;

  watch->running = TRUE;
  keep = watch->fd_func (watch->fd, condition, watch->user_data);
  watch = lookup (self, id);
  if (watch == NULL)
    return NULL;
  watch->running = FALSE;
  if (keep)
    return watch;
  remove_watch (self, watch);
  return NULL;
}

/* Reports a child's exit, once; the watch goes with it. */
static void
call_child_func (WatchSource *self,
                 Watch       *watch,
                 int          wait_status)
{
  guint id = watch->id;

  watch->running = TRUE;
  watch->child_func (watch->pid, wait_status, watch->user_data);
  watch = lookup (self, id);
  if (watch != NULL)
    remove_watch (self, watch);
}

/* Counts a dispatch from the epoll set: TRUE when the watch is busy
 * enough for a source of its own. */
static gboolean
count_dispatch (Watch *watch)
{
  gint64 second = g_get_monotonic_time () / G_USEC_PER_SEC;

  if (second != watch->second)
    {
      watch->second = second;
      watch->dispatches = 0;
    }
  return ++watch->dispatches >= HOT_DISPATCHES;
}

static void
dispatch_one (WatchSource *self,
              guint        id,
              guint32      events)
{
  Watch *watch = lookup (self, id);
  int wait_status;

  /* Removed by an earlier callback; or an event of this batch for a
   * watch that has a source of its own since. */
  if (watch == NULL || watch->fd < 0 || watch->own != NULL)
    return;

  /* Its callback runs the main loop that got here. */
  if (watch->running)
    {
      park (self, watch);
      return;
    }

  if (watch->fd_func == NULL)
    {
      if (reap_child (self, watch, &wait_status))
        call_child_func (self, watch, wait_status);
      return;
    }

  watch = call_fd_func (self, watch, (GIOCondition) (events & CONDITION_BITS));
  if (watch != NULL && !unpark (self, watch) && count_dispatch (watch))
    promote (self, watch);
}

/* Busy watches */

static gboolean
own_source_dispatch (GSource     *source,
                     GSourceFunc  callback,
                     gpointer     user_data)
{
  OwnSource *own = (OwnSource *) source;
  Watch *watch = lookup (watch_source, own->id);

  g_assert (watch != NULL && watch->own == source);

  /* Its callback runs the main loop that got here. */
  if (watch->running)
    {
      park (watch_source, watch);
      return G_SOURCE_CONTINUE;
    }

  watch->dispatches++;
  /* Removed, its source is destroyed with it: what this returns then
   * does not matter. */
  watch = call_fd_func (watch_source, watch, g_source_query_unix_fd (source, own->tag));
  if (watch != NULL)
    unpark (watch_source, watch);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs own_source_funcs = {
  .dispatch = own_source_dispatch,
};

/* Once a second while some watch has a source of its own: those that
 * have been quiet for COLD_SECONDS go back to the epoll set. */
static gboolean
sweep_cb (gpointer data)
{
  WatchSource *self = data;

  for (guint i = self->busy->len; i-- > 0;)
    {
      Watch *watch = lookup (self, GPOINTER_TO_UINT (g_ptr_array_index (self->busy, i)));

      watch->quiet = watch->dispatches > 0 ? 0 : watch->quiet + 1;
      watch->dispatches = 0;
      if (watch->quiet < COLD_SECONDS || watch->running)
        continue;
      drop_own_source (self, watch);
      watch->second = 0;
      epoll_readd (self, watch);
    }
  if (self->busy->len > 0)
    return G_SOURCE_CONTINUE;
  self->sweep = 0;
  return G_SOURCE_REMOVE;
}

static void
promote (WatchSource *self,
         Watch       *watch)
{
  GSource *source = g_source_new (&own_source_funcs, sizeof (OwnSource));
  OwnSource *own = (OwnSource *) source;

  epoll_ctl (self->epfd, EPOLL_CTL_DEL, watch->fd, NULL);
  own->id = watch->id;
  own->tag = g_source_add_unix_fd (source, watch->fd, (GIOCondition) watch->events);
  g_source_set_name (source, "[cohort] busy watch");
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_can_recurse (source, TRUE);
  g_source_attach (source, NULL);
  watch->own = source;
  watch->dispatches = 0;
  watch->quiet = 0;
  g_ptr_array_add (self->busy, GUINT_TO_POINTER (watch->id));
  if (self->sweep == 0)
    {
      /* Whole seconds: GLib wakes for it with the sampler's tick. */
      self->sweep = g_timeout_add_seconds (1, sweep_cb, self);
      g_source_set_name_by_id (self->sweep, "[cohort] watch sweep");
    }
}

static gboolean
watch_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     user_data)
{
  WatchSource *self = (WatchSource *) source;
  struct epoll_event events[MAX_EVENTS];
  guint serial = ++self->serial;
  int n;

  do
    n = epoll_wait (self->epfd, events, MAX_EVENTS, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      g_warning ("epoll_wait: %s", g_strerror (errno));
      return G_SOURCE_CONTINUE;
    }

  for (int i = 0; i < n; i++)
    {
      /* A callback ran a nested dispatch, which may have handled the rest
       * of this batch already: what is still ready is reported again on
       * the next iteration, level-triggered. */
      if (self->serial != serial)
        break;
      dispatch_one (self, events[i].data.u32, events[i].events);
    }
  return G_SOURCE_CONTINUE;
}

static void
free_watch (gpointer data)
{
  Watch *watch = data;

  if (watch->child_func != NULL && watch->fd >= 0)
    close (watch->fd);
  if (watch->own != NULL)
    {
      g_source_destroy (watch->own);
      g_source_unref (watch->own);
    }
  g_free (watch);
}

static void
watch_source_finalize (GSource *source)
{
  WatchSource *self = (WatchSource *) source;

  g_clear_handle_id (&self->sweep, g_source_remove);
  g_clear_pointer (&self->watches, g_hash_table_unref);
  g_clear_pointer (&self->busy, g_ptr_array_unref);
  if (self->epfd >= 0)
    close (self->epfd);
  if (watch_source == self)
    watch_source = NULL;
}

/* No prepare or check: GLib polls the epoll descriptor and dispatches
 * when it is readable. */
static GSourceFuncs watch_source_funcs = {
  .dispatch = watch_source_dispatch,
  .finalize = watch_source_finalize,
};

static WatchSource *
get_source (void)
{
  GSource *source;
  int epfd;

  if (watch_source != NULL)
    return watch_source;

  epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (epfd < 0)
    g_error ("epoll_create1: %s", g_strerror (errno));

  source = g_source_new (&watch_source_funcs, sizeof (WatchSource));
  watch_source = (WatchSource *) source;
  watch_source->epfd = epfd;
  watch_source->watches = g_hash_table_new_full (NULL, NULL, NULL, free_watch);
  watch_source->busy = g_ptr_array_new ();
  g_source_set_name (source, "[cohort] watch");
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_can_recurse (source, TRUE);
  g_source_add_unix_fd (source, epfd, G_IO_IN);
  g_source_attach (source, NULL);
  g_source_unref (source);
  return watch_source;
}

static guint
add_watch (WatchSource *self,
           Watch       *watch)
{
  do
    self->last_id++;
  while (self->last_id == 0 || lookup (self, self->last_id) != NULL);
  watch->id = self->last_id;

  if (watch->fd >= 0 && !epoll_add (self, watch))
    {
      g_critical ("Cannot watch fd %d: %s", watch->fd, g_strerror (errno));
      free_watch (watch);
      return 0;
    }
  g_hash_table_insert (self->watches, GUINT_TO_POINTER (watch->id), watch);
  return watch->id;
}

/**
 * cohort_watch_fd:
 * @fd: a descriptor that supports poll (a pipe, a socket)
 * @condition: what to wait for; G_IO_HUP and G_IO_ERR are always reported
 * @func: called while @condition holds, until it returns G_SOURCE_REMOVE
 * @user_data: for @func
 *
 * Like g_unix_fd_add(), behind Cohort's one epoll descriptor while it is
 * quiet, and with a GLib source of its own while it is busy. Remove the
 * watch before closing @fd. One watch per descriptor: an epoll set holds
 * a descriptor once.
 *
 * Returns: the watch's id, for cohort_watch_remove()
 */
guint
cohort_watch_fd (int               fd,
                 GIOCondition      condition,
                 CohortWatchFdFunc func,
                 gpointer          user_data)
{
  Watch *watch;

  g_return_val_if_fail (fd >= 0, 0);
  g_return_val_if_fail (func != NULL, 0);

  watch = g_new0 (Watch, 1);
  watch->fd = fd;
  watch->events = condition & CONDITION_BITS;
  watch->fd_func = func;
  watch->user_data = user_data;
  return add_watch (get_source (), watch);
}

/* -1 where pidfds are missing: pidfd_open() came in Linux 5.3, waitid()
 * on a pidfd in 5.4; the latter is probed once, on the first child. */
static int
open_pidfd (GPid pid)
{
  static gboolean unsupported;
  static gboolean probed;
  int fd;

  if (unsupported)
    return -1;
  /* Close-on-exec by itself. */
  fd = (int) syscall (SYS_pidfd_open, (pid_t) pid, 0);
  if (fd < 0)
    {
      if (errno == ENOSYS || errno == EPERM)
        unsupported = TRUE;
      return -1;
    }
  if (!probed)
    {
      siginfo_t info;

      probed = TRUE;
      memset (&info, 0, sizeof info);
      if (waitid (P_PIDFD, fd, &info, WEXITED | WNOHANG | WNOWAIT) != 0 && errno == EINVAL)
        {
          unsupported = TRUE;
          close (fd);
          return -1;
        }
    }
  return fd;
}

static void
glib_child_exited_cb (GPid     pid,
                      int      wait_status,
                      gpointer data)
{
  Watch *watch = lookup (watch_source, GPOINTER_TO_UINT (data));

  g_assert (watch != NULL);
  /* GLib destroys its source once this returns. */
  watch->glib_child = 0;
  call_child_func (watch_source, watch, wait_status);
}

/**
 * cohort_watch_child:
 * @pid: a child of this process, not reaped by anyone else
 * @func: called once, after the child is reaped, with its wait status
 * @user_data: for @func
 *
 * Like g_child_watch_add(), behind Cohort's one epoll descriptor.
 * Removing the watch before the child exits leaves the child unreaped.
 *
 * Returns: the watch's id, for cohort_watch_remove()
 */
guint
cohort_watch_child (GPid            pid,
                    GChildWatchFunc func,
                    gpointer        user_data)
{
  WatchSource *self;
  Watch *watch;
  guint id;

  g_return_val_if_fail (pid > 0, 0);
  g_return_val_if_fail (func != NULL, 0);

  self = get_source ();
  watch = g_new0 (Watch, 1);
  watch->fd = open_pidfd (pid);
  watch->events = EPOLLIN;
  watch->child_func = func;
  watch->pid = pid;
  watch->user_data = user_data;
  id = add_watch (self, watch);
  /* Also when pidfd_open() failed otherwise (no such child): GLib then
   * reports the child as it always did. */
  if (id != 0 && watch->fd < 0)
    watch->glib_child = g_child_watch_add (pid, glib_child_exited_cb, GUINT_TO_POINTER (id));
  return id;
}

/**
 * cohort_watch_remove:
 * @id: from cohort_watch_fd() or cohort_watch_child()
 *
 * Like g_source_remove(): the watch's callback is not called again, not
 * even for an event already taken from the kernel.
 */
void
cohort_watch_remove (guint id)
{
  Watch *watch;

  g_return_if_fail (id != 0);

  watch = watch_source != NULL ? lookup (watch_source, id) : NULL;
  if (watch == NULL)
    {
      g_critical ("Cohort watch %u was not found", id);
      return;
    }
  remove_watch (watch_source, watch);
}
