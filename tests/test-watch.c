/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-watch.c: descriptors and child exits behind one epoll set: what a
 * callback sees, callbacks that remove watches under the dispatch, nested
 * main loops, and exit statuses in waitpid()'s format. */

#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cohort-test-util.h"
#include "cohort-watch.h"

#define WAIT_MS 5000

typedef struct
{
  int          fds[2];
  guint        id;
  guint        calls;
  GIOCondition last;
} Pipe;

static void
pipe_open (Pipe *p)
{
  GError *error = NULL;

  p->calls = 0;
  p->id = 0;
  g_assert_true (g_unix_open_pipe (p->fds, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  g_assert_true (g_unix_set_fd_nonblocking (p->fds[0], TRUE, NULL));
}

static void
pipe_write (Pipe *p)
{
  g_assert_cmpint (write (p->fds[1], "x", 1), ==, 1);
}

static void
close_end (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static void
pipe_close (Pipe *p)
{
  close_end (&p->fds[0]);
  close_end (&p->fds[1]);
}

/* Reads what is there; FALSE at end of file. */
static gboolean
drain (int fd)
{
  char buf[64];
  ssize_t n;

  while ((n = read (fd, buf, sizeof buf)) > 0)
    ;
  return n != 0;
}

static gboolean
called (gpointer data)
{
  return *(guint *) data > 0;
}

/* Readable, then hung up */

static gboolean
readable_cb (int          fd,
             GIOCondition condition,
             gpointer     data)
{
  Pipe *p = data;

  p->calls++;
  p->last = condition;
  if (drain (fd))
    return G_SOURCE_CONTINUE;
  p->id = 0;
  return G_SOURCE_REMOVE;
}

static void
test_readable_and_hup (void)
{
  Pipe p;

  pipe_open (&p);
  p.id = cohort_watch_fd (p.fds[0], G_IO_IN | G_IO_HUP | G_IO_ERR, readable_cb, &p);
  g_assert_cmpuint (p.id, !=, 0);

  /* Nothing yet: not called. */
  cohort_test_sleep (50);
  g_assert_cmpuint (p.calls, ==, 0);

  pipe_write (&p);
  g_assert_true (cohort_test_wait_until (called, &p.calls, WAIT_MS));
  g_assert_cmpuint (p.calls, ==, 1);
  g_assert_cmpint (p.last, ==, G_IO_IN);

  /* Drained: level-triggered, so not called again. */
  cohort_test_sleep (50);
  g_assert_cmpuint (p.calls, ==, 1);

  close_end (&p.fds[1]);
  cohort_test_sleep (100);
  g_assert_cmpuint (p.calls, ==, 2);
  g_assert_true (p.last & G_IO_HUP);
  g_assert_cmpuint (p.id, ==, 0);

  /* Removed by its G_SOURCE_REMOVE: the hang-up, which lasts, is not
   * reported again. */
  cohort_test_sleep (50);
  g_assert_cmpuint (p.calls, ==, 2);
  pipe_close (&p);
}

/* Busy and quiet again */

/* Whether @fd is in Cohort's epoll set, as the kernel lists it in the
 * epoll descriptor's fdinfo ("tfd: FD events: …"). */
static gboolean
in_epoll_set (int fd)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  int found = -1;

  g_assert_nonnull (dir);
  while (found < 0 && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *fd_path = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *link = g_file_read_link (fd_path, NULL);
      g_autofree char *path = g_build_filename ("/proc/self/fdinfo", name, NULL);
      g_autofree char *info = NULL;
      g_autofree char *entry = g_strdup_printf ("tfd: %8d ", fd);

      if (link == NULL || strcmp (link, "anon_inode:[eventpoll]") != 0 ||
          !g_file_get_contents (path, &info, NULL, NULL))
        continue;
      found = strstr (info, entry) != NULL;
    }
  g_assert_cmpint (found, >=, 0);
  return found;
}

typedef struct
{
  Pipe    pipe;
  GString *seen;
} Stream;

/* One byte per call, so that each write is a dispatch of its own. */
static gboolean
one_byte_cb (int          fd,
             GIOCondition condition,
             gpointer     data)
{
  Stream *stream = data;
  char c;

  stream->pipe.calls++;
  if (read (fd, &c, 1) == 1)
    g_string_append_c (stream->seen, c);
  return G_SOURCE_CONTINUE;
}

/* Writes @text one byte at a time, each read before the next. */
static void
trickle (Stream     *stream,
         const char *text)
{
  for (const char *c = text; *c != '\0'; c++)
    {
      gsize before = stream->seen->len;

      g_assert_cmpint (write (stream->pipe.fds[1], c, 1), ==, 1);
      while (stream->seen->len == before)
        g_main_context_iteration (NULL, TRUE);
    }
}

/* A descriptor dispatched dozens of times in a second leaves the epoll
 * set for a source of its own, losing nothing on the way; quiet for a
 * few seconds, it is back, and still delivers. */
static void
test_busy_and_quiet (void)
{
  Stream stream = { .seen = g_string_new (NULL) };
  g_autoptr(GString) expected = g_string_new (NULL);

  pipe_open (&stream.pipe);
  stream.pipe.id = cohort_watch_fd (stream.pipe.fds[0], G_IO_IN, one_byte_cb, &stream);
  g_assert_true (in_epoll_set (stream.pipe.fds[0]));

  /* A burst: 100 single-byte messages as fast as they are read. */
  for (int i = 0; i < 100; i++)
    g_string_append_c (expected, (char) ('a' + i % 26));
  trickle (&stream, expected->str);
  g_assert_cmpstr (stream.seen->str, ==, expected->str);
  g_assert_false (in_epoll_set (stream.pipe.fds[0]));

  /* Still delivered while busy. */
  trickle (&stream, "busy.");
  g_string_append (expected, "busy.");
  g_assert_cmpstr (stream.seen->str, ==, expected->str);

  /* Quiet: back in the set within a few sweeps. */
  for (int waited = 0; !in_epoll_set (stream.pipe.fds[0]) && waited < WAIT_MS; waited += 100)
    cohort_test_sleep (100);
  g_assert_true (in_epoll_set (stream.pipe.fds[0]));
  trickle (&stream, "quiet.");
  g_string_append (expected, "quiet.");
  g_assert_cmpstr (stream.seen->str, ==, expected->str);

  /* Busy again, then removed while busy: not called after that. */
  trickle (&stream, expected->str);
  g_assert_false (in_epoll_set (stream.pipe.fds[0]));
  cohort_watch_remove (stream.pipe.id);
  stream.pipe.calls = 0;
  pipe_write (&stream.pipe);
  cohort_test_sleep (100);
  g_assert_cmpuint (stream.pipe.calls, ==, 0);

  pipe_close (&stream.pipe);
  g_string_free (stream.seen, TRUE);
}

/* Removing watches inside a callback */

typedef struct
{
  Pipe  pipes[2];
  Pipe  added;
  guint calls;
} Batch;

/* Whichever of the two ready pipes comes first removes both, closes
 * them, and adds a watch on a third, already readable pipe. */
static gboolean
remove_both_cb (int          fd,
                GIOCondition condition,
                gpointer     data)
{
  Batch *b = data;

  b->calls++;
  cohort_watch_remove (b->pipes[0].id);
  cohort_watch_remove (b->pipes[1].id);
  pipe_close (&b->pipes[0]);
  pipe_close (&b->pipes[1]);
  b->added.id = cohort_watch_fd (b->added.fds[0], G_IO_IN, readable_cb, &b->added);
  /* Its own watch is gone already: the return value no longer matters. */
  return G_SOURCE_CONTINUE;
}

static void
test_remove_in_batch (void)
{
  Batch b = { 0 };

  pipe_open (&b.pipes[0]);
  pipe_open (&b.pipes[1]);
  pipe_open (&b.added);
  pipe_write (&b.pipes[0]);
  pipe_write (&b.pipes[1]);
  pipe_write (&b.added);
  b.pipes[0].id = cohort_watch_fd (b.pipes[0].fds[0], G_IO_IN, remove_both_cb, &b);
  b.pipes[1].id = cohort_watch_fd (b.pipes[1].fds[0], G_IO_IN, remove_both_cb, &b);

  /* Both are ready in the same epoll_wait(): the second must not run. */
  g_assert_true (cohort_test_wait_until (called, &b.calls, WAIT_MS));
  g_assert_true (cohort_test_wait_until (called, &b.added.calls, WAIT_MS));
  cohort_test_sleep (50);
  g_assert_cmpuint (b.calls, ==, 1);
  g_assert_cmpuint (b.added.calls, ==, 1);

  cohort_watch_remove (b.added.id);
  pipe_close (&b.added);
}

/* A nested main loop inside a callback */

typedef struct
{
  Pipe     outer;
  Pipe     other;
  guint    depth;
  guint    other_depth;   /* outer's depth when other was called */
  guint    iterations;
  gboolean done;
  guint    warm;          /* bytes the outer pipe has still to pass first, one a call */
} Nested;

static gboolean
write_other_cb (gpointer data)
{
  Nested *n = data;

  pipe_write (&n->other);
  return G_SOURCE_REMOVE;
}

static gboolean
done_cb (gpointer data)
{
  Nested *n = data;

  n->done = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
other_cb (int          fd,
          GIOCondition condition,
          gpointer     data)
{
  Nested *n = data;

  n->other.calls++;
  n->other_depth = n->depth;
  drain (fd);
  return G_SOURCE_CONTINUE;
}

/* The first call leaves its pipe readable and runs a loop of its own for
 * 150 ms; the second drains it. */
static gboolean
outer_cb (int          fd,
          GIOCondition condition,
          gpointer     data)
{
  Nested *n = data;
  char c;

  g_assert_cmpuint (n->depth, ==, 0);
  if (n->warm > 0)
    {
      if (read (fd, &c, 1) == 1)
        n->warm--;
      return G_SOURCE_CONTINUE;
    }
  n->outer.calls++;
  if (n->outer.calls > 1)
    {
      if (drain (fd))
        return G_SOURCE_CONTINUE;
      n->outer.id = 0;
      return G_SOURCE_REMOVE;
    }

  n->depth++;
  g_timeout_add (20, write_other_cb, n);
  g_timeout_add (150, done_cb, n);
  while (!n->done)
    {
      g_main_context_iteration (NULL, TRUE);
      n->iterations++;
    }
  n->depth--;
  return G_SOURCE_CONTINUE;
}

/* @busy: the outer pipe passes 100 bytes first, one a dispatch, and so
 * has a source of its own when its callback nests. */
static void
run_nested (gboolean hang_up,
            gboolean busy)
{
  Nested n = { 0 };

  pipe_open (&n.outer);
  pipe_open (&n.other);
  n.outer.id = cohort_watch_fd (n.outer.fds[0], G_IO_IN | G_IO_HUP, outer_cb, &n);
  n.other.id = cohort_watch_fd (n.other.fds[0], G_IO_IN, other_cb, &n);
  for (n.warm = busy ? 100 : 0; n.warm > 0;)
    {
      guint before = n.warm;

      g_assert_cmpint (write (n.outer.fds[1], "w", 1), ==, 1);
      while (n.warm == before)
        g_main_context_iteration (NULL, TRUE);
    }
  g_assert_true (in_epoll_set (n.outer.fds[0]) == !busy);

  pipe_write (&n.outer);
  /* A writer gone is reported whatever the event mask asks for. */
  if (hang_up)
    close_end (&n.outer.fds[1]);

  g_assert_true (cohort_test_wait_until (called, &n.outer.calls, WAIT_MS));
  /* In the nested loop: the other pipe, the outer one not again, and no
   * spinning on its descriptor (a few wake-ups: two timers, one pipe). */
  g_assert_cmpuint (n.other.calls, ==, 1);
  g_assert_cmpuint (n.other_depth, ==, 1);
  g_assert_cmpuint (n.outer.calls, ==, 1);
  g_assert_cmpuint (n.iterations, <, 20);

  /* Back in the set once the outer callback returned. */
  g_assert_true (cohort_test_wait_until (called, &n.outer.calls, WAIT_MS));
  cohort_test_sleep (50);
  g_assert_cmpuint (n.outer.calls, ==, 2);
  g_assert_cmpuint (n.outer.id, ==, hang_up ? 0 : n.outer.id);

  if (n.outer.id != 0)
    cohort_watch_remove (n.outer.id);
  cohort_watch_remove (n.other.id);
  pipe_close (&n.outer);
  pipe_close (&n.other);
}

static void
test_nested_loop (void)
{
  run_nested (FALSE, FALSE);
}

static void
test_nested_loop_hup (void)
{
  run_nested (TRUE, FALSE);
}

static void
test_nested_loop_busy (void)
{
  run_nested (FALSE, TRUE);
}

static void
test_nested_loop_busy_hup (void)
{
  run_nested (TRUE, TRUE);
}

/* Child exits */

typedef struct
{
  GPid  pid;
  int   status;
  guint calls;
} Child;

static void
child_cb (GPid     pid,
          int      status,
          gpointer data)
{
  Child *c = data;

  g_assert_cmpint (pid, ==, c->pid);
  c->status = status;
  c->calls++;
}

static guint
spawn_child (Child      *c,
             const char *script)
{
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  GError *error = NULL;

  c->calls = 0;
  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                NULL, NULL, &c->pid, &error));
  g_assert_no_error (error);
  return cohort_watch_child (c->pid, child_cb, c);
}

/* Reaped: the pid is no child of ours any more. */
static void
assert_reaped (GPid pid)
{
  g_assert_cmpint (waitpid (pid, NULL, WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);
}

static void
test_child_exit_code (void)
{
  Child c;
  GError *error = NULL;

  g_assert_cmpuint (spawn_child (&c, "exit 3"), !=, 0);
  g_assert_true (cohort_test_wait_until (called, &c.calls, WAIT_MS));
  g_assert_true (WIFEXITED (c.status));
  g_assert_cmpint (WEXITSTATUS (c.status), ==, 3);
  g_assert_false (g_spawn_check_wait_status (c.status, &error));
  g_assert_error (error, G_SPAWN_EXIT_ERROR, 3);
  g_clear_error (&error);
  assert_reaped (c.pid);

  g_assert_cmpuint (spawn_child (&c, "exit 0"), !=, 0);
  g_assert_true (cohort_test_wait_until (called, &c.calls, WAIT_MS));
  g_assert_true (g_spawn_check_wait_status (c.status, NULL));
  cohort_test_sleep (20);
  g_assert_cmpuint (c.calls, ==, 1);
}

static void
test_child_killed (void)
{
  Child c;

  g_assert_cmpuint (spawn_child (&c, "exec sleep 30"), !=, 0);
  cohort_test_sleep (20);
  g_assert_cmpuint (c.calls, ==, 0);
  g_assert_cmpint (kill (c.pid, SIGKILL), ==, 0);
  g_assert_true (cohort_test_wait_until (called, &c.calls, WAIT_MS));
  g_assert_true (WIFSIGNALED (c.status));
  g_assert_cmpint (WTERMSIG (c.status), ==, SIGKILL);
  g_assert_false (WCOREDUMP (c.status));
  assert_reaped (c.pid);
}

static void
test_two_children (void)
{
  Child first;
  Child second;
  Child removed;
  guint id;

  g_assert_cmpuint (spawn_child (&first, "exit 1"), !=, 0);
  g_assert_cmpuint (spawn_child (&second, "sleep 0.2; exit 2"), !=, 0);
  id = spawn_child (&removed, "exit 4");
  cohort_watch_remove (id);

  g_assert_true (cohort_test_wait_until (called, &first.calls, WAIT_MS));
  g_assert_cmpuint (second.calls, ==, 0);
  g_assert_true (cohort_test_wait_until (called, &second.calls, WAIT_MS));
  g_assert_cmpint (WEXITSTATUS (first.status), ==, 1);
  g_assert_cmpint (WEXITSTATUS (second.status), ==, 2);

  /* A removed watch leaves its child to the caller, unreaped. */
  g_assert_cmpuint (removed.calls, ==, 0);
  g_assert_cmpint (waitpid (removed.pid, NULL, 0), ==, removed.pid);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Cohort/Watch/readable-and-hup", test_readable_and_hup);
  g_test_add_func ("/Cohort/Watch/remove-in-batch", test_remove_in_batch);
  g_test_add_func ("/Cohort/Watch/busy-and-quiet", test_busy_and_quiet);
  g_test_add_func ("/Cohort/Watch/nested-loop", test_nested_loop);
  g_test_add_func ("/Cohort/Watch/nested-loop-hup", test_nested_loop_hup);
  g_test_add_func ("/Cohort/Watch/nested-loop-busy", test_nested_loop_busy);
  g_test_add_func ("/Cohort/Watch/nested-loop-busy-hup", test_nested_loop_busy_hup);
  g_test_add_func ("/Cohort/Watch/child-exit-code", test_child_exit_code);
  g_test_add_func ("/Cohort/Watch/child-killed", test_child_killed);
  g_test_add_func ("/Cohort/Watch/two-children", test_two_children);

  return g_test_run ();
}
