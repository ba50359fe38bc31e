/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-spawn.c: starting a worker process without copying Cohort.
 *
 * fork() copies Cohort's page tables (a GTK process: dozens of libraries,
 * hundreds of mappings) only for the child to throw them away at exec,
 * and GLib's spawn then waits on a report pipe. Here the child shares
 * Cohort's memory (clone with CLONE_VM, as glibc's own posix_spawn does)
 * on a stack of its own, and — unlike posix_spawn — Cohort does not wait
 * for the exec: an exec costs about half a millisecond here, 64 of them in
 * a row were most of a cold start, and the child's exec and the dynamic
 * loader's work can just as well run beside Cohort's own per-worker work.
 * (Where the raw system calls below are not written, on architectures
 * other than x86_64 and aarch64, the child is started with CLONE_VFORK as
 * before and the parent waits for the exec.)
 *
 * A child that runs on Cohort's memory while Cohort goes on sets the
 * rules for both sides:
 *
 * - Everything the child reads (argv, envp with the LISTEN_PID room, the
 *   candidate paths of the program, the shell's argv, the descriptor map,
 *   the working directory) is copied into a slot of this file's pool, as
 *   the caller frees its request as soon as cohort_spawn() returns. Each
 *   slot has its own stack and a futex word that clone() hands to the
 *   kernel (CLONE_CHILD_CLEARTID): the kernel zeroes it and wakes its
 *   waiters when the child lets go of Cohort's memory — at its exec, or at
 *   its exit, before the exit can be seen by waitpid(). Zero: the slot is
 *   free again. With every slot busy, the next spawn waits for the oldest.
 *
 * - The child only makes system calls — no malloc, no GLib, no locks, no
 *   libc wrapper either, as those set errno, which is the spawning
 *   thread's (its TLS is shared too) — and writes nothing but its slot:
 *   the LISTEN_PID digits, the program's path into the shell's argv (a
 *   script without "#!") and its report when it gives up.
 *
 * - Signals: the parent blocks every signal around clone(), so no handler
 *   of Cohort's can run in the child; the child sets every disposition
 *   back to the default before it unblocks them, just before exec.
 *
 * - Errors: what usually goes wrong (no such program, not executable, no
 *   such working directory) is checked by the parent before clone() and
 *   reported by cohort_spawn() itself. What only the exec finds out (a
 *   script whose "#!" interpreter is missing, E2BIG, ETXTBSY…) the child
 *   records in its slot before it exits with 127, and
 *   cohort_spawn_take_failure() turns it into the same error once the
 *   child has been reaped.
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
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cohort-spawn.h"

#if defined (__x86_64__) || defined (__aarch64__)
#define ASYNC_SPAWN 1
#else
#define ASYNC_SPAWN 0
#endif

/* Children between clone() and their exec, at most. Cohort's own work
 * per worker is ~0.15 ms, a child's exec and loader ~0.5 ms of a core,
 * so on a 2-core machine a burst of spawns gets ahead of the execs by a
 * few dozen children: with 32 slots a 64-worker start waited for a slot
 * at most once (3 runs), while the pool ties up only 32 × 20 KiB of
 * stacks. More slots would only queue more execs for the same cores. */
#define N_SLOTS            32
#define SLOT_PATIENCE_S    1      /* for a child that has not exec'd (slot_wait) */
/* The child calls nothing but its own functions and the kernel, and no
 * signal handler can run on its stack (every signal is blocked, then at
 * its default): measured by painting the stacks, a child uses under
 * 100 bytes of it (-O2). 16 KiB leaves room for any build; a guard page
 * below each stack turns an overflow into a crash, not corruption. */
#define CHILD_STACK_SIZE   (16 * 1024)
#define DEFAULT_PATH       "/bin:/usr/bin:."   /* GLib's, when envp has no PATH */
#define GLIB_(text)        g_dgettext ("glib20", text)

/* The child's code must not be instrumented: sanitizer runtimes allocate
 * and keep per-thread state, and this runs on Cohort's memory with the
 * spawning thread's TLS. */
#define CHILD_CODE   __attribute__((no_sanitize ("address", "undefined"), noinline))
#define CHILD_INLINE static inline __attribute__((no_sanitize ("address", "undefined"), always_inline))

typedef enum
{
  STAGE_NONE,        /* exec'd (or ended before reporting anything) */
  STAGE_DUP,
  STAGE_CHDIR,
  STAGE_EXEC,
} Stage;

typedef struct
{
  /* The futex word: set before clone(), zeroed by the kernel when the
   * child has exec'd or exited (CLONE_CHILD_CLEARTID). */
  volatile int        busy;
  pid_t               pid;             /* the last child, while its report may matter */
  char               *stack_top;
  char               *arena;           /* what follows points into it */
  gsize               arena_size;

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
  guint64             non_default;     /* bit n-1: signal n is ignored or caught */

  /* Written by the child when it gives up. */
  volatile int        stage;
  volatile int        error;
} Slot;

/* A child's report, kept once its slot has been reused. */
typedef struct
{
  int                 stage;
  int                 error;
  char               *program;
  char               *working_directory;
} Failure;

G_LOCK_DEFINE_STATIC (pool);
static struct
{
  pid_t               owner;           /* a forked copy of Cohort starts afresh */
  Slot                slots[N_SLOTS];
  guint               next;            /* the oldest slot */
  GHashTable         *failures;        /* pid → Failure */
} pool;

/* The child's system calls, returning -errno on failure. */

#if ASYNC_SPAWN

/* SIG_DFL, no flags, an empty mask: all zeros, which reads the same in
 * the kernel's layouts with and without sa_restorer (x86_64 has one). */
static const struct
{
  unsigned long       handler;
  unsigned long       flags;
  unsigned long       restorer;
  guint64             mask;
} default_action;
static const guint64 empty_mask;

CHILD_INLINE long
child_syscall (long number,
               long a,
               long b,
               long c,
               long d)
{
#if defined (__x86_64__)
  register long r10 __asm__ ("r10") = d;
  long result;

  __asm__ volatile ("syscall"
                    : "=a" (result)
                    : "0" (number), "D" (a), "S" (b), "d" (c), "r" (r10)
                    : "rcx", "r11", "memory");
  return result;
#else
  register long x8 __asm__ ("x8") = number;
  register long x0 __asm__ ("x0") = a;
  register long x1 __asm__ ("x1") = b;
  register long x2 __asm__ ("x2") = c;
  register long x3 __asm__ ("x3") = d;

  __asm__ volatile ("svc #0"
                    : "+r" (x0)
                    : "r" (x8), "r" (x1), "r" (x2), "r" (x3)
                    : "memory");
  return x0;
#endif
}

#define sys_getpid()           child_syscall (SYS_getpid, 0, 0, 0, 0)
#define sys_getppid()          child_syscall (SYS_getppid, 0, 0, 0, 0)
#define sys_setpgid(p, g)      child_syscall (SYS_setpgid, (p), (g), 0, 0)
#define sys_prctl(o, v)        child_syscall (SYS_prctl, (o), (v), 0, 0)
#define sys_chdir(d)           child_syscall (SYS_chdir, (long) (d), 0, 0, 0)
#define sys_close(fd)          child_syscall (SYS_close, (fd), 0, 0, 0)
#define sys_execve(p, a, e)    child_syscall (SYS_execve, (long) (p), (long) (a), (long) (e), 0)
#define sys_exit(status)       child_syscall (SYS_exit_group, (status), 0, 0, 0)
#define sys_default_action(s)  child_syscall (SYS_rt_sigaction, (s), (long) &default_action, 0, 8)
#define sys_unblock_all()      child_syscall (SYS_rt_sigprocmask, SIG_SETMASK, (long) &empty_mask, 0, 8)
#if defined (__x86_64__)
#define sys_dup2(from, to)     child_syscall (SYS_dup2, (from), (to), 0, 0)
#else
/* No dup2 on aarch64; dup3 refuses from == to, which never happens here
 * (every source sits above the targets). */
#define sys_dup2(from, to)     child_syscall (SYS_dup3, (from), (to), 0, 0)
#endif
#ifdef SYS_close_range
#define sys_close_from(fd)     child_syscall (SYS_close_range, (fd), ~0U, 0, 0)
#else
#define sys_close_from(fd)     (-ENOSYS)
#endif

CHILD_INLINE long
sys_max_fd (void)
{
  struct { guint64 cur, max; } limit;
  long result = child_syscall (SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long) &limit);

  return result == 0 && limit.cur < G_MAXINT ? (long) limit.cur : 65536;
}

#else   /* !ASYNC_SPAWN: the parent waits (CLONE_VFORK); libc will do */

static const struct sigaction default_action;   /* SIG_DFL, empty mask */
static sigset_t empty_mask;                     /* zeros: empty */

CHILD_INLINE long
libc_result (long result)
{
  return result < 0 ? -errno : result;
}

#define sys_getpid()           getpid ()
#define sys_getppid()          getppid ()
#define sys_setpgid(p, g)      libc_result (setpgid ((p), (g)))
#define sys_prctl(o, v)        libc_result (prctl ((o), (v)))
#define sys_chdir(d)           libc_result (chdir (d))
#define sys_close(fd)          libc_result (close (fd))
#define sys_execve(p, a, e)    libc_result (execve ((p), (a), (e)))
#define sys_exit(status)       _exit (status)
#define sys_default_action(s)  libc_result (sigaction ((s), &default_action, NULL))
#define sys_unblock_all()      libc_result (sigprocmask (SIG_SETMASK, &empty_mask, NULL))
#define sys_dup2(from, to)     libc_result (dup2 ((from), (to)))
#define sys_close_from(fd)     libc_result (close_range ((fd), ~0U, 0))

CHILD_INLINE long
sys_max_fd (void)
{
  struct rlimit limit;

  return getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < G_MAXINT
           ? (long) limit.rlim_cur : 65536;
}

#endif

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

static void
set_spawn_error (Stage        stage,
                 int          errsv,
                 const char  *program,
                 const char  *working_directory,
                 GError     **error)
{
  switch (stage)
    {
    case STAGE_DUP:
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                   GLIB_("Failed to duplicate file descriptor for child process (%s)"),
                   g_strerror (errsv));
      break;
    case STAGE_CHDIR:
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_CHDIR,
                   GLIB_("Failed to change to directory “%s” (%s)"),
                   working_directory, g_strerror (errsv));
      break;
    case STAGE_EXEC:
    case STAGE_NONE:
    default:
      g_set_error (error, G_SPAWN_ERROR, exec_error_code (errsv),
                   GLIB_("Failed to execute child process “%s” (%s)"),
                   program, g_strerror (errsv));
      break;
    }
}

/* The child: system calls only, until exec. */

CHILD_CODE static void
child_give_up (Slot  *slot,
               Stage  stage,
               int    errsv)
{
  slot->error = errsv;
  slot->stage = stage;
  sys_exit (127);
  __builtin_unreachable ();
}

CHILD_CODE static void
child_write_pid (char *room)
{
  char digits[24];
  unsigned long pid = (unsigned long) sys_getpid ();
  int n = 0;

  do
    {
      digits[n++] = (char) ('0' + pid % 10);
      pid /= 10;
    }
  while (pid > 0 && n < (int) sizeof digits);
  for (int i = 0; i < n; i++)
    room[i] = digits[n - 1 - i];
  room[n] = '\0';
}

/* execve, and for a file that is not an executable format, the shell on
 * it, as GLib (and execvp) do. Returns the errno of the last attempt. */
CHILD_CODE static int
child_exec (Slot *slot,
            char *path)
{
  long result = sys_execve (path, slot->argv, slot->envp);

  if (result == -ENOEXEC)
    {
      slot->sh_argv[1] = path;
      result = sys_execve (slot->sh_argv[0], slot->sh_argv, slot->envp);
    }
  return (int) -result;
}

/* GLib's search, one candidate's errno at a time (the child's and the
 * parent's): a file that is missing or not ours to execute sends it on,
 * any other error ends it; "permission denied" wins over "not found" at
 * the end (search_result()). */
CHILD_CODE static gboolean
search_goes_on (int       errsv,
                gboolean *got_eacces)
{
  if (errsv == EACCES)
    *got_eacces = TRUE;
  return errsv == EACCES || errsv == ENOENT || errsv == ESTALE || errsv == ENOTDIR ||
         errsv == ENODEV || errsv == ETIMEDOUT;
}

CHILD_CODE static int
search_result (int      errsv,
               gboolean got_eacces)
{
  gboolean ignored;

  return got_eacces && search_goes_on (errsv, &ignored) ? EACCES : errsv;
}

CHILD_CODE static int
child_main (void *data)
{
  Slot *slot = data;
  gboolean got_eacces = FALSE;
  int errsv = ENOENT;
  long result;

  /* Every signal is blocked (inherited from the parent's clone()). */
  sys_setpgid (0, 0);
  sys_prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (sys_getppid () != slot->parent)
    sys_exit (1);

  if (slot->listen_pid_slot != NULL)
    child_write_pid (slot->listen_pid_slot);

  /* Every source sits above the targets (the parent saw to it), so no
   * dup2 overwrites a source still to come; dup2 clears close-on-exec. */
  for (int i = 0; i < slot->n_fds; i++)
    if ((result = sys_dup2 (slot->fds[i], i)) < 0)
      child_give_up (slot, STAGE_DUP, (int) -result);
  if (sys_close_from (slot->n_fds) != 0)
    {
      long max_fd = sys_max_fd ();

      for (long fd = slot->n_fds; fd < max_fd; fd++)
        sys_close (fd);
    }

  if (slot->working_directory != NULL && (result = sys_chdir (slot->working_directory)) < 0)
    child_give_up (slot, STAGE_CHDIR, (int) -result);

  /* Ignored signals would survive exec, and a handler of Cohort's must not
   * run here once signals are unblocked: defaults for all, then an empty
   * mask. (glibc refuses its two internal signals; exec resets them.) */
  for (int signum = 1; signum < NSIG; signum++)
    if (signum != SIGKILL && signum != SIGSTOP
        && (signum > 64 || (slot->non_default >> (signum - 1)) & 1))
      sys_default_action (signum);
  sys_unblock_all ();

  /* The parent has already passed over the candidates that were missing
   * or not executable then; the search goes on from the first good one
   * in case that changed since. */
  for (char **candidate = slot->candidates; *candidate != NULL; candidate++)
    if (!search_goes_on (errsv = child_exec (slot, *candidate), &got_eacces))
      break;
  child_give_up (slot, STAGE_EXEC, search_result (errsv, got_eacces));
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
    ;   /* ENOENT: as GLib reports it */
  else if (strchr (program, '/') != NULL)
    g_ptr_array_add (candidates, g_strdup (program));
  else
    {
      path = g_environ_getenv ((char **) envp, "PATH");
      dirs = g_strsplit (path != NULL ? path : DEFAULT_PATH, ":", -1);
      /* An empty PATH is one empty entry, the working directory, as for
       * GLib; g_strsplit() gives no entry at all for it. */
      if (dirs[0] == NULL)
        g_ptr_array_add (candidates, g_strdup (program));
      for (guint i = 0; dirs[i] != NULL; i++)
        g_ptr_array_add (candidates, dirs[i][0] == '\0'
                                       ? g_strdup (program)
                                       : g_strconcat (dirs[i], "/", program, NULL));
    }
  g_ptr_array_add (candidates, NULL);
  return (char **) g_ptr_array_free (candidates, FALSE);
}

/* The search the child will make, made here so that its usual failures
 * are cohort_spawn()'s own: the index of the first candidate that is a
 * regular file the child may execute (seen from @dir_fd, where the child
 * will be), or -1 with the errno the exec would have met in @errsv. */
static int
find_program (int    dir_fd,
              char **candidates,
              int   *errsv)
{
  gboolean got_eacces = FALSE;

  *errsv = ENOENT;
  for (int i = 0; candidates[i] != NULL; i++)
    {
      struct stat info;

      if (fstatat (dir_fd, candidates[i], &info, 0) != 0)
        *errsv = errno;
      else if (!S_ISREG (info.st_mode) || faccessat (dir_fd, candidates[i], X_OK, 0) != 0)
        *errsv = EACCES;   /* what execve says of either */
      else
        return i;

      if (!search_goes_on (*errsv, &got_eacces))
        return -1;
    }
  *errsv = search_result (*errsv, got_eacces);
  return -1;
}

/* The chdir the child will make: a directory that exists and may be
 * searched. Returns a descriptor of it (or AT_FDCWD for none), or -1 with
 * the errno chdir would have met in @errsv. */
static int
open_working_directory (const char *working_directory,
                        int        *errsv)
{
  int fd;

  if (working_directory == NULL)
    return AT_FDCWD;
  fd = open (working_directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || faccessat (fd, ".", X_OK, 0) != 0)
    {
      *errsv = errno;
      if (fd >= 0)
        close (fd);
      return -1;
    }
  return fd;
}

/* The signals whose disposition is not the default in this process,
 * from the kernel's own lists (SigIgn, SigCgt in /proc/self/status): the
 * child resets only those, a handful of system calls instead of one for
 * each of the 64 signals. All of them when the lists cannot be read. The
 * file stays open (close-on-exec, and closed in every child anyway): one
 * pread per spawn regenerates it. It is the file of the process that
 * opened it, so a forked copy of Cohort (a test's subprocess) opens its
 * own. Called with the pool lock held. */
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

/* The pool */

static void
failure_free (gpointer data)
{
  Failure *failure = data;

  g_free (failure->program);
  g_free (failure->working_directory);
  g_free (failure);
}

/* Called with the pool lock held. The stacks are mapped once, each with
 * a guard page below it. A forked copy of Cohort inherits the pool with
 * slots that its parent's children hold (and will never free here): it
 * starts with every slot free and no report. */
static gboolean
pool_ready (pid_t    self,
            GError **error)
{
  if (pool.failures == NULL)
    {
      gsize page = (gsize) sysconf (_SC_PAGESIZE);
      gsize stride = page + CHILD_STACK_SIZE;
      char *stacks = mmap (NULL, stride * N_SLOTS, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

      if (stacks == MAP_FAILED)
        {
          int errsv = errno;

          g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FORK,
                       GLIB_("Failed to fork (%s)"), g_strerror (errsv));
          return FALSE;
        }
      for (guint i = 0; i < N_SLOTS; i++)
        {
          mprotect (stacks + i * stride, page, PROT_NONE);
          pool.slots[i].stack_top = stacks + i * stride + stride;
        }
      pool.failures = g_hash_table_new_full (NULL, NULL, NULL, failure_free);
      pool.owner = self;
    }
  else if (pool.owner != self)
    {
      for (guint i = 0; i < N_SLOTS; i++)
        {
          pool.slots[i].busy = 0;
          pool.slots[i].pid = 0;
        }
      g_hash_table_remove_all (pool.failures);
      pool.owner = self;
    }
  return TRUE;
}

/* A free slot's last child is gone: its report, if any, is kept apart
 * for cohort_spawn_take_failure(). Called with the pool lock held. */
static void
slot_release (Slot *slot)
{
  g_assert (g_atomic_int_get (&slot->busy) == 0);

  if (slot->pid != 0 && slot->stage != STAGE_NONE)
    {
      Failure *failure = g_new0 (Failure, 1);

      failure->stage = slot->stage;
      failure->error = slot->error;
      failure->program = g_strdup (slot->argv[0]);
      failure->working_directory = g_strdup (slot->working_directory);
      g_hash_table_replace (pool.failures, GINT_TO_POINTER (slot->pid), failure);
    }
  slot->pid = 0;
  slot->stage = STAGE_NONE;
}

/* Whether our child @pid is stopped: the kernel's own word, looked at
 * and left for others (WNOWAIT). */
static gboolean
is_stopped (GPid pid)
{
  siginfo_t info;

  memset (&info, 0, sizeof info);
  return waitid (P_PID, (id_t) pid, &info, WSTOPPED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid && info.si_code == CLD_STOPPED;
}

/* Until the slot's child has exec'd or ended: well under a millisecond,
 * unless it is slow (a loaded machine, a program on cold storage: it is
 * waited for) or was stopped (SIGSTOP to its group) before its exec. A
 * stopped child would hold the spawner for good: seen stopped after a
 * second, it is killed, before any of the worker's own code has run, and
 * its worker sees it die as any other. */
static void
slot_wait (Slot *slot)
{
  const struct timespec patience = { SLOT_PATIENCE_S, 0 };
  gboolean killed = FALSE;
  int busy;

  while ((busy = g_atomic_int_get (&slot->busy)) != 0)
    /* Not FUTEX_PRIVATE: the kernel's wake for CLONE_CHILD_CLEARTID is
     * a shared one, and the two do not meet. */
    if (syscall (SYS_futex, &slot->busy, FUTEX_WAIT, busy, &patience, NULL, 0) != 0 &&
        errno == ETIMEDOUT && !killed && slot->pid > 0 && is_stopped (slot->pid))
      {
        kill (slot->pid, SIGKILL);
        killed = TRUE;
      }
}

/* A free slot, the oldest one; with every slot busy, once the oldest child
 * has exec'd. Called with the pool lock held. */
static Slot *
slot_acquire (void)
{
  Slot *slot = NULL;

  for (guint i = 0; i < N_SLOTS && slot == NULL; i++)
    {
      guint index = (pool.next + i) % N_SLOTS;

      if (g_atomic_int_get (&pool.slots[index].busy) == 0)
        {
          slot = &pool.slots[index];
          pool.next = (index + 1) % N_SLOTS;
        }
    }
  if (slot == NULL)
    {
      slot = &pool.slots[pool.next];
      pool.next = (pool.next + 1) % N_SLOTS;
      slot_wait (slot);
    }
  slot_release (slot);
  return slot;
}

static gsize
strv_text_size (const char * const *strv,
                gsize              *length)
{
  gsize size = 0;
  gsize n = 0;

  for (; strv[n] != NULL; n++)
    size += strlen (strv[n]) + 1;
  *length = n;
  return size;
}

static char *
copy_strv (char              **to,
           const char * const *from,
           char               *text)
{
  gsize i = 0;

  for (; from[i] != NULL; i++)
    {
      gsize size = strlen (from[i]) + 1;

      memcpy (text, from[i], size);
      to[i] = text;
      text += size;
    }
  to[i] = NULL;
  return text;
}

/* Everything the child reads, copied into the slot's arena (one block,
 * kept and grown as needed): the request is the caller's to free as soon
 * as cohort_spawn() returns, while the child may not have exec'd yet. */
static void
slot_fill (Slot                      *slot,
           const CohortSpawnRequest  *request,
           char                     **candidates,
           const int                 *fds,
           int                        n_fds)
{
  gsize argc;
  gsize envc;
  gsize n_candidates;
  gsize text_size = strv_text_size (request->argv, &argc) +
                    strv_text_size (request->envp, &envc) +
                    strv_text_size ((const char * const *) candidates, &n_candidates) +
                    (request->working_directory != NULL ? strlen (request->working_directory) + 1 : 0);
  gsize n_pointers = (argc + 1) + (envc + 1) + (n_candidates + 1) + (argc + 2);
  gsize size = n_pointers * sizeof (char *) + (gsize) n_fds * sizeof (int) + text_size;
  char **pointers;
  int *ints;
  char *text;

  if (size > slot->arena_size)
    {
      g_free (slot->arena);
      slot->arena_size = MAX (size, 4096);
      slot->arena = g_malloc (slot->arena_size);
    }
  pointers = (char **) slot->arena;
  ints = (int *) (pointers + n_pointers);
  text = (char *) (ints + n_fds);

  slot->argv = pointers;
  text = copy_strv (pointers, request->argv, text);
  pointers += argc + 1;

  /* The LISTEN_PID room is inside one of the envp strings: the same
   * place in its copy. */
  slot->envp = pointers;
  text = copy_strv (pointers, request->envp, text);
  slot->listen_pid_slot = NULL;
  if (request->listen_pid_slot != NULL)
    for (gsize i = 0; i < envc && slot->listen_pid_slot == NULL; i++)
      {
        guintptr start = (guintptr) request->envp[i];
        guintptr room = (guintptr) request->listen_pid_slot;

        if (room >= start && room < start + strlen (request->envp[i]))
          slot->listen_pid_slot = slot->envp[i] + (room - start);
      }
  g_assert (request->listen_pid_slot == NULL || slot->listen_pid_slot != NULL);
  pointers += envc + 1;

  slot->candidates = pointers;
  text = copy_strv (pointers, (const char * const *) candidates, text);
  pointers += n_candidates + 1;

  slot->sh_argv = pointers;
  slot->sh_argv[0] = (char *) "/bin/sh";
  slot->sh_argv[1] = NULL;   /* the candidate, filled in by the child */
  for (gsize i = 1; i < argc; i++)
    slot->sh_argv[i + 1] = slot->argv[i];
  slot->sh_argv[argc + 1] = NULL;

  memcpy (ints, fds, (gsize) n_fds * sizeof (int));
  slot->fds = ints;
  slot->n_fds = n_fds;

  if (request->working_directory != NULL)
    {
      slot->working_directory = text;
      memcpy (text, request->working_directory, strlen (request->working_directory) + 1);
    }
  else
    slot->working_directory = NULL;
}

/**
 * cohort_spawn:
 * @request: what the child gets
 * @pid: (out): the child's pid, for cohort_watch_child()
 * @error: a #G_SPAWN_ERROR, with GLib's messages
 *
 * Starts a child and returns at once, without waiting for its exec. The
 * request may be freed as soon as this returns. The child is not reaped:
 * watch it, and once it has exited, ask cohort_spawn_take_failure()
 * whether it exec'd at all. What usually keeps a child from starting (no
 * such program, not executable, no such working directory) is reported
 * here; then no child is left and no descriptor of the request was
 * closed.
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
  sigset_t all;
  sigset_t saved;
  Slot *slot;
  pid_t self;
  pid_t child_pid;
  int dir_fd;
  int first;
  int errsv = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (request->argv != NULL && request->argv[0] != NULL, FALSE);

  for (int i = 0; i < n_fds; i++)
    moved[i] = -1;

  /* In the child's order: its chdir, then the search for the program
   * (relative to where the child will be). */
  dir_fd = open_working_directory (request->working_directory, &errsv);
  if (dir_fd == -1)
    {
      set_spawn_error (STAGE_CHDIR, errsv, request->argv[0], request->working_directory, error);
      goto out;
    }
  candidates = program_candidates (request->argv[0], request->envp);
  first = find_program (dir_fd, candidates, &errsv);
  if (dir_fd >= 0)
    close (dir_fd);
  if (first < 0)
    {
      set_spawn_error (STAGE_EXEC, errsv, request->argv[0], request->working_directory, error);
      goto out;
    }

  /* A source that sits on a target number (the listening socket at 4
   * while the channel goes to 4, or a pipe at 1 if Cohort was started
   * without a stdout) would be overwritten before it is moved: hand the
   * child copies from above the targets. The child's descriptor table is
   * a copy of this one as of clone() (no CLONE_FILES), so these may be
   * closed as soon as clone() returns. */
  for (int i = 0; i < n_fds; i++)
    fds[i] = request->fds[i];
  for (int i = 0; i < n_fds; i++)
    if (fds[i] < n_fds)
      {
        moved[i] = fcntl (fds[i], F_DUPFD_CLOEXEC, n_fds);
        if (moved[i] < 0)
          {
            set_spawn_error (STAGE_DUP, errno, NULL, NULL, error);
            goto out;
          }
        fds[i] = moved[i];
      }

  self = getpid ();
  G_LOCK (pool);
  if (!pool_ready (self, error))
    {
      G_UNLOCK (pool);
      goto out;
    }
  slot = slot_acquire ();
  slot_fill (slot, request, candidates + first, fds, n_fds);
  slot->parent = self;
  slot->non_default = non_default_signals (self);
  slot->stage = STAGE_NONE;
  slot->busy = 1;

  /* No handler of Cohort's may run in the child, on memory it shares. */
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &saved);
  child_pid = clone (child_main, slot->stack_top,
                     CLONE_VM | CLONE_CHILD_CLEARTID | SIGCHLD
#if !ASYNC_SPAWN
                     | CLONE_VFORK
#endif
                     , slot, NULL, NULL, &slot->busy);
  errsv = errno;
  pthread_sigmask (SIG_SETMASK, &saved, NULL);

  if (child_pid < 0)
    {
      slot->busy = 0;
      G_UNLOCK (pool);
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FORK,
                   GLIB_("Failed to fork (%s)"), g_strerror (errsv));
      goto out;
    }

#if !ASYNC_SPAWN
  /* Resumed: the child has exec'd, or has ended. */
  if (slot->stage != STAGE_NONE)
    {
      set_spawn_error (slot->stage, slot->error, request->argv[0],
                       request->working_directory, error);
      slot->stage = STAGE_NONE;
      G_UNLOCK (pool);
      while (waitpid (child_pid, NULL, 0) < 0 && errno == EINTR)
        ;
      goto out;
    }
#endif

  /* The pid is new, so whatever was kept under it belonged to a child
   * reaped long ago. */
  g_hash_table_remove (pool.failures, GINT_TO_POINTER (child_pid));
  for (guint i = 0; i < N_SLOTS; i++)
    if (pool.slots[i].pid == child_pid)
      pool.slots[i].pid = 0;
  slot->pid = child_pid;
  G_UNLOCK (pool);

  *pid = child_pid;
  ok = TRUE;

out:
  for (int i = 0; i < n_fds; i++)
    if (moved[i] >= 0)
      close (moved[i]);
  return ok;
}

typedef enum
{
  CHILD_EXECD,     /* or gone without a report: no slot speaks for it */
  CHILD_PENDING,
  CHILD_FAILED,
} ChildStage;

/* Where @pid stands, from its slot or the failures kept apart. */
static ChildStage
child_stage (GPid pid)
{
  ChildStage stage = CHILD_EXECD;

  G_LOCK (pool);
  if (pool.failures != NULL && pool.owner == getpid ())
    {
      if (g_hash_table_contains (pool.failures, GINT_TO_POINTER (pid)))
        stage = CHILD_FAILED;
      for (guint i = 0; i < N_SLOTS && stage == CHILD_EXECD; i++)
        if (pool.slots[i].pid == pid)
          stage = g_atomic_int_get (&pool.slots[i].busy) != 0 ? CHILD_PENDING
                  : pool.slots[i].stage != STAGE_NONE ? CHILD_FAILED
                  : CHILD_EXECD;
    }
  G_UNLOCK (pool);
  return stage;
}

/**
 * cohort_spawn_is_pending:
 * @pid: a child from cohort_spawn()
 *
 * Whether @pid has not exec'd yet. Until it has, it runs on Cohort's
 * memory: /proc/PID/statm and the like describe Cohort, not the worker,
 * and must not be read as the worker's (the sampler, MaxMemory).
 */
gboolean
cohort_spawn_is_pending (GPid pid)
{
  g_return_val_if_fail (pid > 0, FALSE);
  return child_stage (pid) == CHILD_PENDING;
}

/**
 * cohort_spawn_has_execd:
 * @pid: a child from cohort_spawn()
 *
 * Whether @pid runs its program: it is no longer pending, and did not give
 * up before its exec (a failure cohort_spawn_take_failure() will report;
 * both leave the slot free). Also TRUE for a child killed before its exec,
 * whose exit says so.
 */
gboolean
cohort_spawn_has_execd (GPid pid)
{
  g_return_val_if_fail (pid > 0, FALSE);
  return child_stage (pid) == CHILD_EXECD;
}

/**
 * cohort_spawn_take_failure:
 * @pid: a child of cohort_spawn() that has exited (and been reaped)
 * @error: the #G_SPAWN_ERROR that cohort_spawn() would have reported
 *
 * Whether the child gave up before its exec (its exit status is then
 * 127): a script whose interpreter is missing, an exec the kernel
 * refused. The report is handed out once.
 *
 * Returns: %TRUE, with @error set, if the child never ran its program
 */
gboolean
cohort_spawn_take_failure (GPid     pid,
                           GError **error)
{
  Failure *failure = NULL;

  g_return_val_if_fail (pid > 0, FALSE);

  G_LOCK (pool);
  if (pool.failures != NULL && pool.owner == getpid ())
    {
      for (guint i = 0; i < N_SLOTS; i++)
        if (pool.slots[i].pid == pid && g_atomic_int_get (&pool.slots[i].busy) == 0)
          slot_release (&pool.slots[i]);
      g_hash_table_steal_extended (pool.failures, GINT_TO_POINTER (pid), NULL, (gpointer *) &failure);
    }
  G_UNLOCK (pool);

  if (failure == NULL)
    return FALSE;
  set_spawn_error (failure->stage, failure->error, failure->program,
                   failure->working_directory, error);
  failure_free (failure);
  return TRUE;
}
