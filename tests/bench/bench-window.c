/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-window.c: the window benchmark of the issue: with 64 workers and
 * a full history, the time to draw a frame of the cluster page (from GTK's
 * frame clock) and Cohort's CPU while the window is open.
 *
 *   bench-window --worker PATH [--fill fast|real] [--seconds S] [--workers N]
 *                [--settle S] [--burn F]
 *
 * It writes a profile with one process cluster of N (64) idle workers
 * (PATH with no options: cohort-test-worker sleeps until killed;
 * StopMessage= empty; with --burn F each worker uses F of a core instead,
 * "worker":"busy": lines that move are far dearer to draw than flat ones),
 * and runs the real CohortApplication on it in this
 * process (NON_UNIQUE), as tests/test-gui.c does: the steps below run in a
 * timeout callback, on nested main-loop iterations. Run it under xvfb-run
 * with GDK_BACKEND=x11 GSK_RENDERER=cairo GTK_A11Y=none,
 * GSETTINGS_BACKEND=memory and GSETTINGS_SCHEMA_DIR=_build/data (the
 * sample interval and the history are set through the application's own
 * GSettings keys; the memory backend is forced when nothing else is set).
 *
 * A full history is 600 samples per series over the span the page shows:
 *
 *   --fill fast  sample interval 100 ms, history 60 s, the page's span
 *                dropdown on "1 minute": 600 samples in about 60 s;
 *   --fill real  sample interval 1 s, history 600 s, the span on
 *                "10 minutes": the settings as shipped, 10 minutes of waiting.
 *
 * Either way each graph then draws 64 lines (memory: 64; messages: 128,
 * in and out) of about 600 points. Then, each for S seconds:
 *
 *   samples     the window left alone: it redraws when a sample arrives
 *               (every 100 ms with fast, every 1 s with real). Frames and
 *               Cohort's CPU.
 *   continuous  every graph queued for redraw on every frame (a tick
 *               callback on the page), as fast as the frame clock goes:
 *               the worst case, e.g. while hovering or resizing. Queuing
 *               the page alone would redraw nothing: GTK reuses the
 *               children's render nodes, and the damage is empty.
 *   idle        with fast only: the interval back to 1 s (history 600 s
 *               first, so the series keep their 600 samples), the window
 *               left alone. As the 1 s samples replace the 100 ms ones
 *               the lines lose about 9 points a second (points = the mean
 *               of start and end). With real, idle is the samples phase.
 *
 * Frame work: from the frame clock's ::before-paint to its ::after-paint
 * (update, layout and paint: the snapshot and the GSK renderer's
 * drawing), for every frame of the phase; ::layout is only emitted when a
 * layout was queued, so a redraw-only frame would be missed if timed from
 * it. What the X server does with the result afterwards is not included;
 * the X server's own CPU over the phase is reported beside (x_cpu_*).
 * Each phase gives every frame's figures (PHASE_frames, _median_ms,
 * _p95_ms, _max_ms) and those of the frames that redrew a graph
 * (PHASE_graph_*: CohortGraph's snapshot vfunc is wrapped, in this
 * process only, to know which frames did, and PHASE_graph_snapshot_ms is
 * the time spent in it per such frame: building the render nodes; the
 * lines are drawn by the renderer afterwards). After a sample the page
 * also has a frame or two that only relayout the table and labels (about
 * 1 ms): the median of every frame is theirs, not the graphs'.
 *
 * The graph frames' main-thread CPU is also split (medians, PHASE_graph_
 * layout_cpu_ms, _window_snapshot_cpu_ms, _render_cpu_ms): update and
 * layout, the window's snapshot (every widget's render nodes, the graphs'
 * included), and the GSK renderer. With BENCH_WINDOW_SLOW=MS in the
 * environment, every frame over MS ms of CPU is printed with that split.
 *
 * CPU: this process's utime + stime from /proc/self/stat over the phase
 * (every thread: the main loop, the sampler's reads), as percent of one
 * core. The idle figure (1 s samples) is the one the 3 % target is about.
 *
 * One line of JSON on stdout, e.g.
 *
 *   {"peer":"cohort","worker":"idle","n":64,"fill":"fast","renderer":"GskCairoRenderer",
 *    "display":"GdkX11Display","window":"1270x790","graph":"941x120","graphs":3,
 *    "sample_interval_ms":100,"span_s":60,"points":600,"seconds":10.0,
 *    "sample_frames":279,"sample_fps":27.9,"sample_median_ms":…,"sample_p95_ms":…,
 *    "sample_max_ms":…,"sample_cpu_percent":…,"sample_x_cpu_percent":…,"sample_samples":99,
 *    "sample_layout_frames":…,"sample_graph_frames":99,"sample_graph_median_ms":…,
 *    "sample_graph_p95_ms":…,"sample_graph_max_ms":…,"sample_graph_snapshot_ms":…,
 *    "sample_points":593,"continuous_…":… (the same, without points),
 *    "idle_interval_ms":1000,"idle_…":… (the same),"burn":0,"rss_mib":…,"fill_s":61.2}
 *
 * Progress goes to stderr. Exit 1 when something does not happen in time. */

#include "config.h"

#include <adwaita.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cohort-application.h"
#include "cohort-cluster-page.h"
#include "cohort-graph.h"
#include "cohort-sampler.h"
#include "cohort-test-util.h"
#include "cohort-window.h"

static char  *opt_fill = NULL;
static char  *opt_worker = NULL;
static double opt_seconds = 10.0;
static gint   opt_workers = 64;
static double opt_settle = 3.0;
static double opt_burn = 0.0;

static GOptionEntry entries[] = {
  { "fill", 0, 0, G_OPTION_ARG_STRING, &opt_fill, "fast (default: 100 ms samples, 1 minute span) or real (1 s, 10 minutes)", "HOW" },
  { "worker", 0, 0, G_OPTION_ARG_FILENAME, &opt_worker, "the idle worker program (default $COHORT_TEST_WORKER)", "PATH" },
  { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_seconds, "each measured phase (default 10)", "S" },
  { "workers", 0, 0, G_OPTION_ARG_INT, &opt_workers, "workers in the cluster (default 64)", "N" },
  { "settle", 0, 0, G_OPTION_ARG_DOUBLE, &opt_settle, "seconds before each phase (default 3)", "S" },
  { "burn", 0, 0, G_OPTION_ARG_DOUBLE, &opt_burn, "busy workers: each burns this fraction of a core (default 0: idle)", "F" },
  { NULL }
};

typedef struct
{
  guint  frames;
  double median_ms;
  double p95_ms;
  double max_ms;
  double fps;
  double cpu_percent;
  double x_cpu_percent;     /* NAN when the X server was not found */
  guint  samples;
  double points;
  /* The frames in which the graphs were redrawn (snapshot), and the part
   * of them spent in the graphs' snapshot functions (building the render
   * nodes; the drawing itself happens in the renderer, after). */
  guint  graph_frames;
  double graph_median_ms;
  double graph_p95_ms;
  double graph_cpu_median_ms;
  double graph_cpu_p95_ms;
  double graph_max_ms;
  double graph_snapshot_ms;
  /* Where the graph frames' main-thread CPU went (medians, ms): update and
   * layout (before-paint to the end of ::layout), the window's snapshot (every widget's
   * render nodes), and the GSK renderer (the rest of the paint phase). */
  double graph_layout_cpu_ms;
  double graph_window_snapshot_cpu_ms;
  double graph_render_cpu_ms;
  guint  layout_frames;
} Phase;

typedef struct
{
  gboolean           real;
  guint              interval_ms;
  guint              history_s;
  guint              span_index;
  guint              span_s;
  guint              points;

  GSettings         *settings;
  CohortApplication *app;
  GtkWindow         *window;
  CohortClusterPage *page;
  CohortCluster     *cluster;
  CohortSampler     *sampler;    /* from the "sampled" emission hook */
  guint              samples;
  GPtrArray         *graphs;
  GtkDropDown       *span_dropdown;
  GPid               x_pid;

  /* Frames */
  gboolean           recording;
  gint64             frame_start;
  double             frame_cpu_start;  /* ms of this thread's CPU time */
  GArray            *graph_cpu;        /* double, ms: the main thread's CPU in those frames */
  GArray            *durations;  /* double, ms: every frame */
  GArray            *graph_durations;  /* the frames that redrew a graph */
  guint              frame_graphs;     /* graph snapshots in this frame */
  gint64             frame_graph_us;   /* and their time */
  gint64             graph_us;         /* over the phase */
  gboolean           frame_layout;
  guint              layout_frames;
  double             frame_paint_cpu;     /* thread CPU when layout ended */
  double             frame_snapshot_cpu;  /* in the window's snapshot */
  GArray            *graph_layout_cpu;    /* double, ms, graph frames */
  GArray            *graph_snapshot_cpu;
  GArray            *graph_render_cpu;
  double             slow_ms;             /* BENCH_WINDOW_SLOW: print frames over it; -1: none */

  double             fill_s;
  Phase              sample;
  Phase              continuous;
  Phase              idle;
  guint              idle_interval_ms;
  int                graph_width;
  int                graph_height;
  int                window_width;
  int                window_height;
  const char        *renderer;
  const char        *display;
  double             rss_mib;
  gboolean           ok;
  char              *error;
} Bench;

static const char *
fmt (char       *buf,
     const char *format,
     double      value)
{
  if (!isfinite (value))
    return "null";
  return g_ascii_formatd (buf, G_ASCII_DTOSTR_BUF_SIZE, format, value);
}

/* /proc ------------------------------------------------------------------ */

/* utime + stime of @pid (0: this process), in clock ticks; -1 if gone. */
static gint64
cpu_ticks (GPid pid)
{
  g_autofree char *path = pid > 0 ? g_strdup_printf ("/proc/%d/stat", pid) : g_strdup ("/proc/self/stat");
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  /* The command may hold spaces and parentheses: fields start after the
   * last ')'. Field 3 (state) is fields[0]; utime (14) and stime (15). */
  after = strrchr (text, ')');
  if (after == NULL)
    return -1;
  fields = g_strsplit (after + 2, " ", 0);
  if (g_strv_length (fields) < 13)
    return -1;
  return g_ascii_strtoll (fields[11], NULL, 10) + g_ascii_strtoll (fields[12], NULL, 10);
}

static double
self_rss_mib (void)
{
  g_autofree char *text = NULL;
  long pages = 0;
  long rss = 0;

  if (!g_file_get_contents ("/proc/self/statm", &text, NULL, NULL) ||
      sscanf (text, "%ld %ld", &pages, &rss) != 2)
    return NAN;
  return rss * (double) sysconf (_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* The X server of $DISPLAY, when it is an Xvfb or Xorg here (xvfb-run's):
 * its CPU is reported beside ours, as it finishes what the cairo renderer
 * sends. 0 when not found. */
static GPid
find_x_server (void)
{
  const char *display = g_getenv ("DISPLAY");
  g_autoptr(GDir) dir = NULL;
  g_autofree char *number = NULL;
  const char *name;

  if (display == NULL || display[0] != ':')
    return 0;
  number = g_strndup (display, strcspn (display, "."));
  dir = g_dir_open ("/proc", 0, NULL);
  if (dir == NULL)
    return 0;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *cmdline = NULL;
      g_autofree char *base = NULL;
      gsize length = 0;
      gboolean found = FALSE;

      if (!g_ascii_isdigit (name[0]))
        continue;
      path = g_strdup_printf ("/proc/%s/cmdline", name);
      if (!g_file_get_contents (path, &cmdline, &length, NULL) || length == 0)
        continue;
      base = g_path_get_basename (cmdline);
      if (!g_str_equal (base, "Xvfb") && !g_str_equal (base, "Xorg") && !g_str_equal (base, "X"))
        continue;
      for (const char *arg = cmdline; arg < cmdline + length; arg += strlen (arg) + 1)
        if (g_str_equal (arg, number))
          found = TRUE;
      if (found)
        return (GPid) g_ascii_strtoll (name, NULL, 10);
    }
  return 0;
}

/* Waiting ------------------------------------------------------------------ */

static gboolean
quit_loop_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* Runs the main loop for @ms with no polling of our own: nothing of ours
 * wakes up meanwhile, so the CPU measured is the application's. */
static void
run_for (guint ms)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_timeout_add (ms, quit_loop_cb, loop);
  g_main_loop_run (loop);
}

static gboolean
sampled_hook (GSignalInvocationHint *hint,
              guint                  n_params,
              const GValue          *params,
              gpointer               data)
{
  Bench *b = data;

  if (b->sampler == NULL)
    b->sampler = COHORT_SAMPLER (g_value_get_object (&params[0]));
  b->samples++;
  return TRUE;
}

static gboolean
window_ready (gpointer data)
{
  Bench *b = data;
  GtkWidget *page;

  b->window = cohort_application_get_main_window (b->app);
  if (b->window == NULL || !gtk_widget_get_mapped (GTK_WIDGET (b->window)))
    return FALSE;
  page = cohort_window_get_visible_page (COHORT_WINDOW (b->window));
  if (page == NULL || !COHORT_IS_CLUSTER_PAGE (page))
    return FALSE;
  b->page = COHORT_CLUSTER_PAGE (page);
  b->cluster = cohort_cluster_page_get_cluster (b->page);
  return TRUE;
}

static gboolean
all_online (gpointer data)
{
  Bench *b = data;

  return cohort_test_count_state (b->cluster, COHORT_WORKER_STATE_ONLINE) == (guint) opt_workers;
}

/* Samples of @series within the span, counted back from its newest. */
static guint
points_in_span (Bench        *b,
                CohortSeries *series)
{
  guint length = cohort_series_get_length (series);
  gint64 since;
  guint n = 0;

  if (length == 0)
    return 0;
  since = cohort_series_get_last_time (series) - (gint64) b->span_s * G_USEC_PER_SEC;
  for (guint i = length; i > 0 && cohort_series_get_time (series, i - 1) > since; i--)
    n++;
  return n;
}

/* The fewest points in the span (@in_span) or in all (the ring's length)
 * of any worker's CPU and memory series. */
static guint
min_points_of (Bench    *b,
               gboolean  in_span)
{
  guint fewest = G_MAXUINT;

  if (b->sampler == NULL)
    return 0;
  for (guint id = 0; id < (guint) opt_workers; id++)
    {
      const char *name = cohort_cluster_get_name (b->cluster);
      CohortSeries *cpu = cohort_sampler_get_series (b->sampler, name, id, COHORT_METRIC_CPU);
      CohortSeries *rss = cohort_sampler_get_series (b->sampler, name, id, COHORT_METRIC_RSS);

      if (cpu == NULL || rss == NULL)
        return 0;
      if (in_span)
        fewest = MIN (fewest, MIN (points_in_span (b, cpu), points_in_span (b, rss)));
      else
        fewest = MIN (fewest, MIN (cohort_series_get_length (cpu), cohort_series_get_length (rss)));
    }
  return fewest;
}

static guint
min_points (Bench *b)
{
  return min_points_of (b, TRUE);
}

static void
collect_widgets (Bench     *b,
                 GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (COHORT_IS_GRAPH (child))
        g_ptr_array_add (b->graphs, child);
      else if (GTK_IS_DROP_DOWN (child) && b->span_dropdown == NULL)
        {
          GListModel *model = gtk_drop_down_get_model (GTK_DROP_DOWN (child));

          if (model != NULL && g_list_model_get_n_items (model) == 3)
            b->span_dropdown = GTK_DROP_DOWN (child);
        }
      collect_widgets (b, child);
    }
}

/* Frames ------------------------------------------------------------------- */

/* The main thread's CPU time: what a frame costs, whatever else the
 * machine runs at the time (wall-clock frame times grow with the load). */
static double
thread_cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CohortGraph's own snapshot and the window's, wrapped (in their classes,
 * for this process): to know which frames redrew the graphs and for how
 * long, and how much of the paint phase is building render nodes (the
 * window's, every widget's) rather than the renderer drawing them. */
static Bench *the_bench;
static void (*graph_snapshot) (GtkWidget   *widget,
                               GtkSnapshot *snapshot);
static void (*window_snapshot) (GtkWidget   *widget,
                                GtkSnapshot *snapshot);

static void
timed_snapshot (GtkWidget   *widget,
                GtkSnapshot *snapshot)
{
  gboolean graph = COHORT_IS_GRAPH (widget);
  gint64 start = g_get_monotonic_time ();
  double cpu_start = thread_cpu_ms ();

  (graph ? graph_snapshot : window_snapshot) (widget, snapshot);
  if (graph)
    {
      the_bench->frame_graph_us += g_get_monotonic_time () - start;
      the_bench->frame_graphs++;
    }
  else
    the_bench->frame_snapshot_cpu += thread_cpu_ms () - cpu_start;
}

static void
before_paint_cb (GdkFrameClock *clock,
                 Bench         *b)
{
  b->frame_start = g_get_monotonic_time ();
  b->frame_cpu_start = thread_cpu_ms ();
  b->frame_graphs = 0;
  b->frame_graph_us = 0;
  b->frame_layout = FALSE;
  b->frame_paint_cpu = b->frame_cpu_start;
  b->frame_snapshot_cpu = 0;
}



static void
layout_cb (GdkFrameClock *clock,
           Bench         *b)
{
  b->frame_layout = TRUE;
  /* Connected after GTK's own handler: its layout is done. */
  b->frame_paint_cpu = thread_cpu_ms ();
}

static void
after_paint_cb (GdkFrameClock *clock,
                Bench         *b)
{
  if (b->recording && b->frame_start > 0)
    {
      double ms = (g_get_monotonic_time () - b->frame_start) / 1000.0;
      /* The frame's CPU, once, split: layout, snapshot, renderer. */
      double now = thread_cpu_ms ();
      double cpu = now - b->frame_cpu_start;
      double layout = b->frame_paint_cpu - b->frame_cpu_start;
      double render = now - b->frame_paint_cpu - b->frame_snapshot_cpu;

      g_array_append_val (b->durations, ms);
      if (b->slow_ms >= 0 && cpu > b->slow_ms)
        g_printerr ("frame: cpu %.2f = layout %.2f + snapshot %.2f (graphs %.2f wall, %u) + render %.2f\n",
                    cpu, layout, b->frame_snapshot_cpu, b->frame_graph_us / 1000.0, b->frame_graphs, render);
      if (b->frame_graphs > 0)
        {
          g_array_append_val (b->graph_durations, ms);
          g_array_append_val (b->graph_cpu, cpu);
          g_array_append_val (b->graph_layout_cpu, layout);
          g_array_append_val (b->graph_snapshot_cpu, b->frame_snapshot_cpu);
          g_array_append_val (b->graph_render_cpu, render);

          b->graph_us += b->frame_graph_us;
        }
      b->layout_frames += b->frame_layout;
    }
  b->frame_start = 0;
}

static gboolean
redraw_tick_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       data)
{
  Bench *b = data;

  for (guint i = 0; i < b->graphs->len; i++)
    gtk_widget_queue_draw (g_ptr_array_index (b->graphs, i));
  gtk_widget_queue_draw (widget);
  return G_SOURCE_CONTINUE;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* Nearest rank. */
static double
percentile (GArray *sorted,
            double  p)
{
  guint rank;

  if (sorted->len == 0)
    return NAN;
  rank = (guint) ceil (p / 100.0 * sorted->len);
  rank = CLAMP (rank, 1, sorted->len);
  return g_array_index (sorted, double, rank - 1);
}

static void
measure (Bench      *b,
         const char *name,
         Phase      *phase)
{
  long hz = sysconf (_SC_CLK_TCK);
  guint ms = (guint) (opt_seconds * 1000);
  guint points_start = min_points (b);
  guint samples_start = b->samples;
  gint64 cpu_start = cpu_ticks (0);
  gint64 x_start = b->x_pid > 0 ? cpu_ticks (b->x_pid) : -1;
  gint64 start = g_get_monotonic_time ();
  gint64 cpu_end;
  gint64 x_end;
  double seconds;

  g_array_set_size (b->durations, 0);
  g_array_set_size (b->graph_durations, 0);
  g_array_set_size (b->graph_cpu, 0);
  g_array_set_size (b->graph_layout_cpu, 0);
  g_array_set_size (b->graph_snapshot_cpu, 0);
  g_array_set_size (b->graph_render_cpu, 0);
  b->graph_us = 0;
  b->layout_frames = 0;
  b->frame_start = 0;
  b->recording = TRUE;
  run_for (ms);
  b->recording = FALSE;
  cpu_end = cpu_ticks (0);
  x_end = b->x_pid > 0 ? cpu_ticks (b->x_pid) : -1;
  seconds = (g_get_monotonic_time () - start) / 1e6;

  g_array_sort (b->durations, compare_doubles);
  phase->frames = b->durations->len;
  phase->median_ms = percentile (b->durations, 50);
  phase->p95_ms = percentile (b->durations, 95);
  phase->max_ms = b->durations->len > 0 ? g_array_index (b->durations, double, b->durations->len - 1) : NAN;
  phase->fps = b->durations->len / seconds;
  phase->cpu_percent = (cpu_end - cpu_start) * 100.0 / hz / seconds;
  phase->x_cpu_percent = x_start >= 0 && x_end >= 0 ? (x_end - x_start) * 100.0 / hz / seconds : NAN;
  phase->samples = b->samples - samples_start;
  phase->points = (points_start + min_points (b)) / 2.0;
  g_array_sort (b->graph_durations, compare_doubles);
  phase->graph_frames = b->graph_durations->len;
  phase->graph_median_ms = percentile (b->graph_durations, 50);
  phase->graph_p95_ms = percentile (b->graph_durations, 95);
  phase->graph_max_ms = b->graph_durations->len > 0
                        ? g_array_index (b->graph_durations, double, b->graph_durations->len - 1) : NAN;
  g_array_sort (b->graph_cpu, compare_doubles);
  phase->graph_cpu_median_ms = percentile (b->graph_cpu, 50);
  phase->graph_cpu_p95_ms = percentile (b->graph_cpu, 95);
  phase->graph_snapshot_ms = b->graph_durations->len > 0 ? b->graph_us / 1000.0 / b->graph_durations->len : NAN;
  phase->layout_frames = b->layout_frames;
  g_array_sort (b->graph_layout_cpu, compare_doubles);
  g_array_sort (b->graph_snapshot_cpu, compare_doubles);
  g_array_sort (b->graph_render_cpu, compare_doubles);
  phase->graph_layout_cpu_ms = percentile (b->graph_layout_cpu, 50);
  phase->graph_window_snapshot_cpu_ms = percentile (b->graph_snapshot_cpu, 50);
  phase->graph_render_cpu_ms = percentile (b->graph_render_cpu, 50);

  g_printerr ("bench-window: %s: %u frames (%u with layout), median %.2f ms, p95 %.2f ms, max %.2f ms; "
              "%u redrew the graphs: median %.2f ms, p95 %.2f ms, max %.2f ms (graph snapshots %.2f ms); "
              "cpu %.2f %%, X server %.2f %%; %u samples, %.0f points per line\n",
              name, phase->frames, phase->layout_frames, phase->median_ms, phase->p95_ms, phase->max_ms,
              phase->graph_frames, phase->graph_median_ms, phase->graph_p95_ms, phase->graph_max_ms,
              phase->graph_snapshot_ms,
              phase->cpu_percent, phase->x_cpu_percent, phase->samples, phase->points);
  g_printerr ("bench-window: %s: graph frames' CPU (medians): cpu %.2f ms, p95 %.2f ms = "
              "update+layout %.2f + window snapshot %.2f + renderer %.2f\n",
              name, phase->graph_cpu_median_ms, phase->graph_cpu_p95_ms, phase->graph_layout_cpu_ms,
              phase->graph_window_snapshot_cpu_ms, phase->graph_render_cpu_ms);
}

/* The steps -------------------------------------------------------------- */

static void
fail (Bench      *b,
      const char *message)
{
  b->error = g_strdup (message);
  b->ok = FALSE;
}

static gboolean
run_steps (gpointer data)
{
  Bench *b = data;
  GdkFrameClock *clock;
  GskRenderer *renderer;
  gint64 fill_start;
  gint64 fill_deadline;
  guint tick;

  b->ok = TRUE;
  if (!cohort_test_wait_until (window_ready, b, 30000))
    {
      fail (b, "the window never showed the cluster page");
      goto out;
    }
  if (!cohort_test_wait_until (all_online, b, 60000))
    {
      fail (b, "the workers never were all online");
      goto out;
    }
  collect_widgets (b, GTK_WIDGET (b->page));
  if (b->graphs->len == 0 || b->span_dropdown == NULL)
    {
      fail (b, "no graphs or no span dropdown on the cluster page");
      goto out;
    }
  gtk_drop_down_set_selected (b->span_dropdown, b->span_index);
  if (cohort_graph_get_span (g_ptr_array_index (b->graphs, 0)) != b->span_s)
    {
      fail (b, "the span dropdown did not set the graphs' span");
      goto out;
    }

  clock = gtk_widget_get_frame_clock (GTK_WIDGET (b->window));
  g_signal_connect (clock, "before-paint", G_CALLBACK (before_paint_cb), b);
  g_signal_connect (clock, "layout", G_CALLBACK (layout_cb), b);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), b);
  renderer = gtk_native_get_renderer (GTK_NATIVE (b->window));
  b->renderer = renderer != NULL ? G_OBJECT_TYPE_NAME (renderer) : "none";
  b->display = G_OBJECT_TYPE_NAME (gtk_widget_get_display (GTK_WIDGET (b->window)));
  b->x_pid = find_x_server ();

  /* Fill: every worker's series holds its points within the span. */
  g_printerr ("bench-window: %d workers online; filling %u points per line (interval %u ms, span %u s)\n",
              opt_workers, b->points, b->interval_ms, b->span_s);
  fill_start = g_get_monotonic_time ();
  fill_deadline = fill_start + (gint64) (b->span_s * 1.5 + 60) * G_USEC_PER_SEC;
  for (guint last_report = 0;;)
    {
      guint points = min_points_of (b, FALSE);

      /* Full rings (the capacity is history / interval). Samples come a
       * little later than every interval, so a few of the oldest fall
       * just outside the span: the phases report the points in it. */
      if (points >= b->points)
        break;
      if (g_get_monotonic_time () > fill_deadline)
        {
          g_autofree char *message = g_strdup_printf ("the series never reached %u points (%u)", b->points, points);

          fail (b, message);
          goto out;
        }
      if (points >= last_report + b->points / 5)
        {
          g_printerr ("bench-window: %u of %u points\n", points, b->points);
          last_report = points;
        }
      run_for (1000);
    }
  b->fill_s = (g_get_monotonic_time () - fill_start) / 1e6;
  run_for ((guint) (opt_settle * 1000));

  b->window_width = gtk_widget_get_width (GTK_WIDGET (b->window));
  b->window_height = gtk_widget_get_height (GTK_WIDGET (b->window));
  b->graph_width = gtk_widget_get_width (g_ptr_array_index (b->graphs, 0));
  b->graph_height = gtk_widget_get_height (g_ptr_array_index (b->graphs, 0));

  /* The window alone: redrawn on each sample. */
  measure (b, "samples", &b->sample);

  /* Continuous redraw of every graph. */
  tick = gtk_widget_add_tick_callback (GTK_WIDGET (b->page), redraw_tick_cb, b, NULL);
  measure (b, "continuous", &b->continuous);
  gtk_widget_remove_tick_callback (GTK_WIDGET (b->page), tick);

  if (b->real)
    {
      b->idle = b->sample;
      b->idle_interval_ms = b->interval_ms;
    }
  else
    {
      /* Back to 1 s samples, the history first so the rings keep their
       * samples (the capacity is history / interval). */
      g_settings_set_uint (b->settings, "history-length", 600);
      g_settings_set_uint (b->settings, "sample-interval", 1000);
      b->idle_interval_ms = cohort_sampler_get_interval (b->sampler);
      if (b->idle_interval_ms != 1000)
        {
          fail (b, "the sample interval did not follow the setting");
          goto out;
        }
      run_for ((guint) (opt_settle * 1000));
      measure (b, "idle", &b->idle);
    }
  b->rss_mib = self_rss_mib ();

out:
  if (b->cluster != NULL)
    cohort_cluster_kill (b->cluster);
  g_application_quit (G_APPLICATION (b->app));
  return G_SOURCE_REMOVE;
}

static void
print_phase (GString     *json,
             const char  *prefix,
             const Phase *phase,
             gboolean     with_points)
{
  char buf[12][G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append_printf (json,
                          ",\"%s_frames\":%u,\"%s_fps\":%s,\"%s_median_ms\":%s,\"%s_p95_ms\":%s,\"%s_max_ms\":%s,"
                          "\"%s_cpu_percent\":%s,\"%s_x_cpu_percent\":%s,\"%s_samples\":%u",
                          prefix, phase->frames,
                          prefix, fmt (buf[0], "%.1f", phase->fps),
                          prefix, fmt (buf[1], "%.3f", phase->median_ms),
                          prefix, fmt (buf[2], "%.3f", phase->p95_ms),
                          prefix, fmt (buf[3], "%.3f", phase->max_ms),
                          prefix, fmt (buf[4], "%.3f", phase->cpu_percent),
                          prefix, fmt (buf[5], "%.3f", phase->x_cpu_percent),
                          prefix, phase->samples);
  g_string_append_printf (json,
                          ",\"%s_layout_frames\":%u,\"%s_graph_frames\":%u,\"%s_graph_median_ms\":%s,"
                          "\"%s_graph_p95_ms\":%s,\"%s_graph_max_ms\":%s,\"%s_graph_snapshot_ms\":%s",
                          prefix, phase->layout_frames, prefix, phase->graph_frames,
                          prefix, fmt (buf[7], "%.3f", phase->graph_median_ms),
                          prefix, fmt (buf[8], "%.3f", phase->graph_p95_ms),
                          prefix, fmt (buf[9], "%.3f", phase->graph_max_ms),
                          prefix, fmt (buf[10], "%.3f", phase->graph_snapshot_ms));
  g_string_append_printf (json, ",\"%s_graph_cpu_median_ms\":%s,\"%s_graph_cpu_p95_ms\":%s",
                          prefix, fmt (buf[0], "%.3f", phase->graph_cpu_median_ms),
                          prefix, fmt (buf[1], "%.3f", phase->graph_cpu_p95_ms));
  g_string_append_printf (json, ",\"%s_graph_layout_cpu_ms\":%s,\"%s_graph_window_snapshot_cpu_ms\":%s,"
                          "\"%s_graph_render_cpu_ms\":%s",
                          prefix, fmt (buf[2], "%.3f", phase->graph_layout_cpu_ms),
                          prefix, fmt (buf[3], "%.3f", phase->graph_window_snapshot_cpu_ms),
                          prefix, fmt (buf[4], "%.3f", phase->graph_render_cpu_ms));
  if (with_points)
    g_string_append_printf (json, ",\"%s_points\":%s", prefix, fmt (buf[6], "%.0f", phase->points));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- Cohort's window: frame times and CPU");
  g_autoptr(GError) error = NULL;
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *profile = NULL;
  g_autofree char *quoted = NULL;
  g_autoptr(GString) json = NULL;
  GSettingsSchemaSource *source;
  const char *app_argv[] = { "cohort", NULL, NULL };
  Bench b = { 0 };
  char buf[4][G_ASCII_DTOSTR_BUF_SIZE];
  int status;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-window: %s\n", error->message);
      return 2;
    }
  if (opt_worker == NULL)
    opt_worker = g_strdup (g_getenv ("COHORT_TEST_WORKER"));
  if (opt_worker == NULL || !g_file_test (opt_worker, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("bench-window: --worker PATH (cohort-test-worker) is needed\n");
      return 2;
    }
  if (opt_fill == NULL)
    opt_fill = g_strdup ("fast");
  if (g_str_equal (opt_fill, "fast"))
    {
      b.interval_ms = 100;
      b.history_s = 60;
      b.span_index = 0;
      b.span_s = 60;
    }
  else if (g_str_equal (opt_fill, "real"))
    {
      b.real = TRUE;
      b.interval_ms = 1000;
      b.history_s = 600;
      b.span_index = 2;
      b.span_s = 600;
    }
  else
    {
      g_printerr ("bench-window: --fill is fast or real, not %s\n", opt_fill);
      return 2;
    }
  b.points = b.history_s * 1000 / b.interval_ms;
  if (opt_workers < 1 || opt_seconds <= 0)
    {
      g_printerr ("bench-window: --workers and --seconds must be positive\n");
      return 2;
    }
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_printerr ("bench-window: no display: run it under xvfb-run\n");
      return 2;
    }

  /* Never the user's own settings. */
  g_setenv ("GSETTINGS_BACKEND", "memory", FALSE);
  source = g_settings_schema_source_get_default ();
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APPLICATION_ID, TRUE);
  if (schema == NULL)
    {
      g_printerr ("bench-window: the schema %s is not found: set GSETTINGS_SCHEMA_DIR=_build/data\n",
                  APPLICATION_ID);
      return 2;
    }
  /* The memory backend is one per process: the application's GSettings
   * sees these, at startup and when changed later. */
  b.settings = g_settings_new (APPLICATION_ID);
  g_settings_set_uint (b.settings, "sample-interval", b.interval_ms);
  g_settings_set_uint (b.settings, "history-length", b.history_s);

  dir = cohort_test_make_dir ();
  /* As if Cohort had saved it, in a trust store of the run's own. */
  g_setenv ("XDG_DATA_HOME", dir, TRUE);
  quoted = g_shell_quote (opt_worker);
  if (opt_burn > 0)
    {
      char burn[G_ASCII_DTOSTR_BUF_SIZE];
      char *with_burn = g_strdup_printf ("%s --burn %s", quoted, g_ascii_formatd (burn, sizeof burn, "%.4f", opt_burn));

      g_free (quoted);
      quoted = with_burn;
    }
  profile = cohort_test_write_profile (dir, "window.cohort", TRUE,
                                       "[Profile]\nName=Window benchmark\n"
                                       "[Cluster idle]\nCommand=%s\nInstances=%d\nStopMessage=\nStopTimeout=2\n",
                                       quoted, opt_workers);
  app_argv[1] = profile;

  b.graphs = g_ptr_array_new ();
  b.durations = g_array_new (FALSE, FALSE, sizeof (double));
  b.graph_durations = g_array_new (FALSE, FALSE, sizeof (double));
  b.graph_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  b.graph_layout_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  b.graph_snapshot_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  b.graph_render_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  b.slow_ms = g_getenv ("BENCH_WINDOW_SLOW") != NULL ? g_ascii_strtod (g_getenv ("BENCH_WINDOW_SLOW"), NULL) : -1;
  the_bench = &b;
  {
    GtkWidgetClass *graph_class = g_type_class_ref (COHORT_TYPE_GRAPH);
    GtkWidgetClass *window_class;

    graph_snapshot = graph_class->snapshot;
    graph_class->snapshot = timed_snapshot;
    window_class = g_type_class_ref (COHORT_TYPE_WINDOW);
    window_snapshot = window_class->snapshot;
    window_class->snapshot = timed_snapshot;
  }
  g_type_class_ref (COHORT_TYPE_SAMPLER);
  g_signal_add_emission_hook (g_signal_lookup ("sampled", COHORT_TYPE_SAMPLER), 0, sampled_hook, &b, NULL);

  b.app = cohort_application_new ();
  g_application_set_flags (G_APPLICATION (b.app),
                           g_application_get_flags (G_APPLICATION (b.app)) | G_APPLICATION_NON_UNIQUE);
  g_timeout_add (10, run_steps, &b);
  status = g_application_run (G_APPLICATION (b.app), 2, (char **) app_argv);
  g_clear_object (&b.app);
  cohort_test_remove_dir (dir);

  if (!b.ok || status != 0)
    {
      g_printerr ("bench-window: FAILED: %s\n", b.error != NULL ? b.error : "the application failed");
      return 1;
    }

  json = g_string_new (NULL);
  g_string_append_printf (json,
                          "{\"peer\":\"cohort\",\"worker\":\"%s\",\"n\":%d,\"fill\":\"%s\","
                          "\"renderer\":\"%s\",\"display\":\"%s\",\"window\":\"%dx%d\",\"graph\":\"%dx%d\","
                          "\"graphs\":%u,\"sample_interval_ms\":%u,\"span_s\":%u,\"points\":%u,\"seconds\":%s",
                          opt_burn > 0 ? "busy" : "idle", opt_workers, opt_fill, b.renderer, b.display,
                          b.window_width, b.window_height, b.graph_width, b.graph_height,
                          b.graphs->len, b.interval_ms, b.span_s, b.points,
                          fmt (buf[0], "%.1f", opt_seconds));
  print_phase (json, "sample", &b.sample, TRUE);
  print_phase (json, "continuous", &b.continuous, FALSE);
  g_string_append_printf (json, ",\"idle_interval_ms\":%u", b.idle_interval_ms);
  print_phase (json, "idle", &b.idle, TRUE);
  g_string_append_printf (json, ",\"burn\":%s,\"rss_mib\":%s,\"fill_s\":%s}",
                          fmt (buf[3], "%.4f", opt_burn), fmt (buf[1], "%.1f", b.rss_mib), fmt (buf[2], "%.1f", b.fill_s));
  printf ("%s\n", json->str);

  g_object_unref (b.settings);
  g_ptr_array_unref (b.graphs);
  g_array_unref (b.durations);
  g_array_unref (b.graph_durations);
  g_array_unref (b.graph_cpu);
  g_free (b.error);
  return 0;
}
