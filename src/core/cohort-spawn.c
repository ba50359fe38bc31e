/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-spawn.c: starting a worker process without copying Cohort.
 *
 * fork() copies Cohort's page tables (a GTK process: dozens of libraries,
 * hundreds of mappings) only for the child to throw them away at exec,
 * and GLib's spawn then waits on a report pipe. Here the child shares
 * Cohort's memory (clone with CLONE_VM | CLONE_VFORK, as glibc's own
 * posix_spawn does) on a stack of its own (one, reused by every child),
 * and the parent resumes as soon as the child has exec'd or given up.
 *
 * Sharing memory sets the rules for the child: everything it needs (argv,
 * envp with the LISTEN_PID room, the descriptor map, the candidate paths
 * of the program, where to report an error) is prepared by the parent
 * beforehand; the child only makes system calls — no malloc, no GLib, no
 * locks — and writes nothing but the LISTEN_PID digits, the program's
 * path into the shell's argv (a script without "#!") and its report.
 * The parent blocks every signal around clone(), so no handler of Cohort's
 * can run in the child; the child sets every disposition back to the
 * default before it unblocks them, just before exec.
 *
 * The child also gets a process group of its own and PR_SET_PDEATHSIG
 * (SIGKILL): call this from the main thread only, as PDEATHSIG fires when
 * the spawning *thread* ends. The messages are GLib's own (and GLib's
 * translations), as the spawner used to be g_spawn_async_with_pipes_and_fds. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* clone, close_range */
#endif

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cohort-spawn.h"

#define CHILD_STACK_SIZE   (64 * 1024)
#define DEFAULT_PATH       "/bin:/usr/bin:."   /* GLib's, when envp has no PATH */
#define GLIB_(text)        g_dgettext ("glib20", text)

/* The child's code must not be instrumented: sanitizer runtimes allocate
 * and keep per-thread state, and this runs on Cohort's memory with the
 * spawning thread's TLS. */
#define CHILD_CODE __attribute__((no_sanitize ("address", "undefined"), noinline))

typedef enum
{
  STAGE_NONE,        /* exec'd (or ended before reporting anything) */
  STAGE_DUP,
  STAGE_CHDIR,
  STAGE_EXEC,
} Stage;

typedef struct
{
  /* Prepared by the parent, read by the child. */
  pid_t               parent;
  char               *listen_pid_slot;
  const int          *fds;
  int                 n_fds;
  const char         *working_directory;
  char              **candidates;      /* where to look for the program, in order */
  char * const       *argv;
  char * const       *envp;
  char              **sh_argv;         /* "/bin/sh", <candidate>, argv[1…] */
  struct sigaction    default_action;
  guint64             non_default;     /* bit n-1: signal n is ignored or caught */
  sigset_t            empty_mask;

  /* Written by the child when it gives up. */
  volatile int        stage;
  volatile int        error;
} Child;

/* The children's stack (see cohort_spawn()); the stack grows down from
 * its end, which stays 16-byte aligned. */
G_LOCK_DEFINE_STATIC (child_stack);
static char child_stack[CHILD_STACK_SIZE] __attribute__((aligned (64)));

/* GLib's mapping (gspawn.c, exec_err_to_g_error). */
static GSpawnError
exec_error_code (int errsv)
{
  switch (errsv)
    {
    case EACCES:       return G_SPAWN_ERROR_ACCES;
    case EPERM:        return G_SPAWN_ERROR_PERM;
    case E2BIG:        return G_SPAWN_ERROR_TOO_BIG;
    case ENOEXEC:      return G_SPAWN_ERROR_NOEXEC;
    case ENAMETOOLONG: return G_SPAWN_ERROR_NAMETOOLONG;
    case ENOENT:       return G_SPAWN_ERROR_NOENT;
    case ENOMEM:       return G_SPAWN_ERROR_NOMEM;
    case ENOTDIR:      return G_SPAWN_ERROR_NOTDIR;
    case ELOOP:        return G_SPAWN_ERROR_LOOP;
    case ETXTBSY:      return G_SPAWN_ERROR_TXTBUSY;
    case EIO:          return G_SPAWN_ERROR_IO;
    case ENFILE:       return G_SPAWN_ERROR_NFILE;
    case EMFILE:       return G_SPAWN_ERROR_MFILE;
    case EINVAL:       return G_SPAWN_ERROR_INVAL;
    case EISDIR:       return G_SPAWN_ERROR_ISDIR;
    case ELIBBAD:      return G_SPAWN_ERROR_LIBBAD;
    default:           return G_SPAWN_ERROR_FAILED;
    }
}

/* The child: system calls only, until exec. */

CHILD_CODE static void
child_give_up (Child *child,
               Stage  stage,
               int    errsv)
{
  child->error = errsv;
  child->stage = stage;
  _exit (127);
}

CHILD_CODE static void
child_write_pid (char *slot)
{
  char digits[24];
  unsigned long pid = (unsigned long) getpid ();
  int n = 0;

  do
    {
      digits[n++] = (char) ('0' + pid % 10);
      pid /= 10;
    }
  while (pid > 0 && n < (int) sizeof digits);
  for (int i = 0; i < n; i++)
    slot[i] = digits[n - 1 - i];
  slot[n] = '\0';
}

/* execve, and for a file that is not an executable format, the shell on
 * it, as GLib (and execvp) do. Returns the errno of the last attempt. */
CHILD_CODE static int
child_exec (Child *child,
            char  *path)
{
  execve (path, child->argv, child->envp);
  if (errno == ENOEXEC)
    {
      child->sh_argv[1] = path;
      execve (child->sh_argv[0], child->sh_argv, child->envp);
    }
  return errno;
}

CHILD_CODE static gboolean
search_goes_on (int errsv)
{
  return errsv == EACCES || errsv == ENOENT || errsv == ESTALE || errsv == ENOTDIR ||
         errsv == ENODEV || errsv == ETIMEDOUT;
}

CHILD_CODE static int
child_main (void *data)
{
  Child *child = data;
  gboolean got_eacces = FALSE;
  int errsv = ENOENT;

  /* Every signal is blocked (inherited from the parent's clone()). */
  setpgid (0, 0);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != child->parent)
    _exit (1);

  if (child->listen_pid_slot != NULL)
    child_write_pid (child->listen_pid_slot);

  /* Every source sits above the targets (the parent saw to it), so no
   * dup2 overwrites a source still to come; dup2 clears close-on-exec. */
  for (int i = 0; i < child->n_fds; i++)
    if (dup2 (child->fds[i], i) < 0)
      child_give_up (child, STAGE_DUP, errno);
  if (close_range ((unsigned int) child->n_fds, ~0U, 0) != 0)
    {
      struct rlimit limit;
      int max_fd = getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
                     ? (int) MIN (limit.rlim_cur, (rlim_t) G_MAXINT) : 65536;

      for (int fd = child->n_fds; fd < max_fd; fd++)
        close (fd);
    }

  if (child->working_directory != NULL && chdir (child->working_directory) != 0)
    child_give_up (child, STAGE_CHDIR, errno);

  /* Ignored signals would survive exec, and a handler of Cohort's must not
   * run here once signals are unblocked: defaults for all, then an empty
   * mask. (glibc refuses its two internal signals; exec resets them.) */
  for (int signum = 1; signum < NSIG; signum++)
    if (signum != SIGKILL && signum != SIGSTOP
        && (signum > 64 || (child->non_default >> (signum - 1)) & 1))
      sigaction (signum, &child->default_action, NULL);
  sigprocmask (SIG_SETMASK, &child->empty_mask, NULL);

  /* GLib's search: a file that is missing or not ours to execute sends
   * the search on; "permission denied" wins over "not found" at the end;
   * any other error ends it. */
  for (char **candidate = child->candidates; *candidate != NULL; candidate++)
    {
      errsv = child_exec (child, *candidate);
      if (errsv == EACCES)
        got_eacces = TRUE;
      else if (!search_goes_on (errsv))
        break;
    }
  if (got_eacces && search_goes_on (errsv))
    errsv = EACCES;
  child_give_up (child, STAGE_EXEC, errsv);
  return 127;
}

/* The parent */

/* Where the child looks for argv[0]: itself when it has a slash, else in
 * each directory of the PATH it will have (an empty entry is its working
 * directory). */
static char **
program_candidates (const char         *program,
                    const char * const *envp)
{
  GPtrArray *candidates = g_ptr_array_new ();
  const char *path;
  g_auto(GStrv) dirs = NULL;

  if (program[0] == '\0')
    ;   /* ENOENT, from the child: as GLib reports it */
  else if (strchr (program, '/') != NULL)
    g_ptr_array_add (candidates, g_strdup (program));
  else
    {
      path = g_environ_getenv ((char **) envp, "PATH");
      dirs = g_strsplit (path != NULL ? path : DEFAULT_PATH, ":", -1);
      for (guint i = 0; dirs[i] != NULL; i++)
        g_ptr_array_add (candidates, dirs[i][0] == '\0'
                                       ? g_strdup (program)
                                       : g_strconcat (dirs[i], "/", program, NULL));
    }
  g_ptr_array_add (candidates, NULL);
  return (char **) g_ptr_array_free (candidates, FALSE);
}

static void
set_child_error (const CohortSpawnRequest  *request,
                 const Child               *child,
                 GError                   **error)
{
  int errsv = child->error;

  switch (child->stage)
    {
    case STAGE_DUP:
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                   GLIB_("Failed to duplicate file descriptor for child process (%s)"),
                   g_strerror (errsv));
      break;
    case STAGE_CHDIR:
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_CHDIR,
                   GLIB_("Failed to change to directory “%s” (%s)"),
                   request->working_directory, g_strerror (errsv));
      break;
    case STAGE_EXEC:
    default:
      g_set_error (error, G_SPAWN_ERROR, exec_error_code (errsv),
                   GLIB_("Failed to execute child process “%s” (%s)"),
                   request->argv[0], g_strerror (errsv));
      break;
    }
}

/* The signals whose disposition is not the default in this process,
 * from the kernel's own lists (SigIgn, SigCgt in /proc/self/status): the
 * child resets only those, a handful of system calls instead of one for
 * each of the 64 signals while Cohort waits for it. All of them when the
 * lists cannot be read. The file stays open (close-on-exec, and closed in
 * every child anyway): one pread per spawn regenerates it. It is the file
 * of the process that opened it, so a forked copy of Cohort (a test's
 * subprocess) opens its own. Called with the spawn lock held. */
static guint64
non_default_signals (pid_t self)
{
  static int status_fd = -1;
  static pid_t status_pid;
  char status[4096];
  ssize_t n;
  guint64 mask = 0;
  guint found = 0;

  if (status_fd < 0 || status_pid != self)
    {
      if (status_fd >= 0)
        close (status_fd);
      status_fd = open ("/proc/self/status", O_RDONLY | O_CLOEXEC);
      status_pid = self;
    }
  if (status_fd < 0)
    return G_MAXUINT64;
  do
    n = pread (status_fd, status, sizeof status - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return G_MAXUINT64;
  status[n] = '\0';

  for (char *line = status; line != NULL && *line != '\0';)
    {
      char *end = strchr (line, '\n');

      if (g_str_has_prefix (line, "SigIgn:") || g_str_has_prefix (line, "SigCgt:"))
        {
          char *rest = NULL;
          guint64 bits = g_ascii_strtoull (line + strlen ("SigIgn:"), &rest, 16);

          if (rest == line + strlen ("SigIgn:"))
            return G_MAXUINT64;
          mask |= bits;
          found++;
        }
      line = end != NULL ? end + 1 : NULL;
    }
  return found == 2 ? mask : G_MAXUINT64;
}

/**
 * cohort_spawn:
 * @request: what the child gets
 * @pid: (out): the child's pid, for g_child_watch_add()
 * @error: a #G_SPAWN_ERROR, with GLib's messages
 *
 * Starts a child and returns once it has exec'd. The child is not reaped:
 * watch it. On failure no child is left (it was reaped here) and no
 * descriptor of the request was closed.
 */
gboolean
cohort_spawn (const CohortSpawnRequest  *request,
              GPid                      *pid,
              GError                   **error)
{
  int n_fds = (int) request->n_fds;
  g_autofree int *fds = g_new (int, MAX (n_fds, 1));
  g_autofree int *moved = g_new (int, MAX (n_fds, 1));
  g_auto(GStrv) candidates = NULL;
  g_autofree char **sh_argv = NULL;
  sigset_t all;
  sigset_t saved;
  Child child = { 0 };
  gsize argc = g_strv_length ((char **) request->argv);
  pid_t child_pid;
  gboolean ok = FALSE;

  g_return_val_if_fail (argc > 0, FALSE);

  /* A source that sits on a target number (the listening socket at 4
   * while the channel goes to 4, or a pipe at 1 if Cohort was started
   * without a stdout) would be overwritten before it is moved: hand the
   * child copies from above the targets. */
  for (int i = 0; i < n_fds; i++)
    {
      moved[i] = -1;
      fds[i] = request->fds[i];
    }
  for (int i = 0; i < n_fds; i++)
    if (fds[i] < n_fds)
      {
        moved[i] = fcntl (fds[i], F_DUPFD_CLOEXEC, n_fds);
        if (moved[i] < 0)
          {
            int errsv = errno;

            g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                         GLIB_("Failed to duplicate file descriptor for child process (%s)"),
                         g_strerror (errsv));
            goto out;
          }
        fds[i] = moved[i];
      }

  candidates = program_candidates (request->argv[0], request->envp);
  sh_argv = g_new0 (char *, argc + 2);
  sh_argv[0] = (char *) "/bin/sh";
  for (gsize i = 1; i < argc; i++)
    sh_argv[i + 1] = (char *) request->argv[i];

  child.parent = getpid ();
  child.listen_pid_slot = request->listen_pid_slot;
  child.fds = fds;
  child.n_fds = n_fds;
  child.working_directory = request->working_directory;
  child.candidates = candidates;
  child.argv = (char * const *) request->argv;
  child.envp = (char * const *) request->envp;
  child.sh_argv = sh_argv;
  child.default_action.sa_handler = SIG_DFL;
  sigemptyset (&child.default_action.sa_mask);
  sigemptyset (&child.empty_mask);
  child.stage = STAGE_NONE;

  /* One stack serves every child: the parent is suspended while a child
   * runs on it (CLONE_VFORK), and the lock keeps two spawning threads
   * apart. Kept, it is mapped and faulted in once, not per spawn. */
  G_LOCK (child_stack);
  child.non_default = non_default_signals (child.parent);

  /* No handler of Cohort's may run in the child, on memory it shares. */
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &saved);
  child_pid = clone (child_main, child_stack + sizeof child_stack,
                     CLONE_VM | CLONE_VFORK | SIGCHLD, &child);
  {
    int errsv = errno;

    pthread_sigmask (SIG_SETMASK, &saved, NULL);
    G_UNLOCK (child_stack);

    if (child_pid < 0)
      {
        g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FORK,
                     GLIB_("Failed to fork (%s)"), g_strerror (errsv));
        goto out;
      }
  }

  /* Resumed: the child has exec'd, or has ended. */
  if (child.stage != STAGE_NONE)
    {
      set_child_error (request, &child, error);
      while (waitpid (child_pid, NULL, 0) < 0 && errno == EINTR)
        ;
      goto out;
    }

  *pid = child_pid;
  ok = TRUE;

out:
  for (int i = 0; i < n_fds; i++)
    if (moved[i] >= 0)
      close (moved[i]);
  return ok;
}
