/* SPDX-License-Identifier: GPL-3.0-or-later */
/* graph-demo.c: three CohortGraphs on synthetic series, to look at them.
 *
 * Not built by meson. Build by hand from the top of the tree:
 *
 *   gcc -o /tmp/graph-demo tests/gui/graph-demo.c src/gui/cohort-graph.c \
 *       src/core/cohort-series.c src/core/cohort-polyline.c \
 *       -Isrc/core -Isrc/gui -I_build \
 *       $(pkg-config --cflags --libs gtk4 libadwaita-1) -lm
 *
 *   graph-demo [--dark] [--span 60|300|600] [--workers N] [--size WxH]
 *              [--hover FRACTION] [--empty] [--idle] [--screenshot FILE.png]
 *              [--measure N]
 *
 * Without --screenshot it runs live, one sample a second. --hover moves a
 * pretend pointer to that fraction of each graph's width and prints
 * the tooltips. --idle draws what idle workers give: CPU near zero with
 * a little noise, a steady RSS, no messages.
 *
 * --measure N: N times, one new sample on every line, then each graph's
 * render node built (the widget's snapshot) and drawn by the window's
 * renderer into a texture, as a frame after a sample does; prints the
 * median and 95th percentile of the thread's CPU time for the three
 * graphs together, and of their snapshots alone. CPU time of this thread
 * only, so other load on the machine barely moves it. Under Xvfb:
 *
 *   GDK_BACKEND=x11 GSK_RENDERER=cairo GTK_A11Y=none \
 *     xvfb-run -a -s "-screen 0 1280x800x24" /tmp/graph-demo --screenshot a.png
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

#include <adwaita.h>

#include "cohort-graph.h"
#include "cohort-series.h"

#define HISTORY 900

typedef struct
{
  CohortSeries *cpu;
  CohortSeries *rss;
  CohortSeries *in;
  CohortSeries *out;
  double        cpu_level;
  double        rss_level;
  double        rate_level;
} Worker;

static char     *screenshot;
static gboolean  dark;
static int       span = 300;
static int       n_workers = 4;
static char     *size = NULL;
static double    hover = -1.0;
static gboolean  empty;
static gboolean  idle;
static int       measure;

static GRand       *rand_;
static Worker      *workers;
static CohortGraph *graphs[3];

static double
walk (double level,
      double lo,
      double hi,
      double jitter)
{
  level += g_rand_double_range (rand_, -jitter, jitter);
  return CLAMP (level, lo, hi);
}

/* Worker 2 restarted 120 s ago (a 20 s gap); the last one joined when the
 * cluster scaled up 200 s ago. */
static void
push_sample (gint64 now,
             gint64 t)
{
  double ago = (double) (now - t) / G_USEC_PER_SEC;

  for (int i = 0; i < n_workers; i++)
    {
      Worker *w = &workers[i];
      gboolean gap = (i == 2 && ago <= 120 && ago > 100) ||
                     (i == n_workers - 1 && n_workers > 1 && ago > 200);
      double wave = sin ((double) t / G_USEC_PER_SEC / (20.0 + 7 * i));

      if (idle)
        {
          cohort_series_push (w->cpu, t, g_rand_double_range (rand_, 0, 1) < 0.9 ? 0.0 : 0.1);
          cohort_series_push (w->rss, t, (w->rss_level * 1024 * 1024));
          cohort_series_push (w->in, t, 0);
          cohort_series_push (w->out, t, 0);
          continue;
        }

      w->cpu_level = walk (w->cpu_level, 2, 97, 4.0);
      w->rss_level = walk (w->rss_level, 20, 180, 1.5);
      w->rate_level = walk (w->rate_level, 50, 1400, 40.0);

      if (gap)
        {
          cohort_series_push (w->cpu, t, NAN);
          cohort_series_push (w->rss, t, NAN);
          cohort_series_push (w->in, t, NAN);
          cohort_series_push (w->out, t, NAN);
          continue;
        }

      cohort_series_push (w->cpu, t, CLAMP (w->cpu_level + 8 * wave, 0, 100));
      cohort_series_push (w->rss, t, (w->rss_level + 10 * wave) * 1024 * 1024);
      cohort_series_push (w->in, t, MAX (0, w->rate_level * (1 + 0.2 * wave)));
      cohort_series_push (w->out, t, MAX (0, w->rate_level * (1 + 0.2 * wave) * 0.93));
    }
}

static gboolean
live_tick (gpointer data)
{
  gint64 now = g_get_real_time ();

  push_sample (now, now);
  for (guint i = 0; i < G_N_ELEMENTS (graphs); i++)
    cohort_graph_queue_update (graphs[i]);
  return G_SOURCE_CONTINUE;
}

static void
setup_data (void)
{
  gint64 now = g_get_real_time ();
  g_autoptr(GPtrArray) markers = g_ptr_array_new_with_free_func ((GDestroyNotify) cohort_graph_marker_free);
  GdkRGBA color;
  GdkRGBA neutral;

  rand_ = g_rand_new_with_seed (42);
  workers = g_new0 (Worker, n_workers);
  for (int i = 0; i < n_workers; i++)
    {
      workers[i].cpu = cohort_series_new (HISTORY);
      workers[i].rss = cohort_series_new (HISTORY);
      workers[i].in = cohort_series_new (HISTORY);
      workers[i].out = cohort_series_new (HISTORY);
      workers[i].cpu_level = 15 + 20 * i % 70;
      workers[i].rss_level = 40 + 25 * i % 120;
      workers[i].rate_level = 300 + 150 * i % 900;
    }

  for (gint64 ago = HISTORY - 1; ago >= 0; ago--)
    push_sample (now, now - ago * G_USEC_PER_SEC);

  for (int i = 0; i < n_workers; i++)
    {
      g_autofree char *key = g_strdup_printf ("w%d", i);
      g_autofree char *key_out = g_strdup_printf ("w%d-out", i);
      g_autofree char *label = g_strdup_printf ("worker %d", i);
      g_autofree char *label_in = g_strdup_printf ("%d in", i);
      g_autofree char *label_out = g_strdup_printf ("%d out", i);

      cohort_graph_color_for_index (i, &color);
      cohort_graph_set_line (graphs[0], key, workers[i].cpu, &color, label);
      cohort_graph_set_line (graphs[1], key, workers[i].rss, &color, label);
      if ((i < 2 || measure > 0) && !empty)
        {
          cohort_graph_set_line (graphs[2], key, workers[i].in, &color, label_in);
          cohort_graph_set_line (graphs[2], key_out, workers[i].out, &color, label_out);
          cohort_graph_set_line_dashed (graphs[2], key_out, TRUE);
        }
    }

  gdk_rgba_parse (&neutral, "#77767b");
  cohort_graph_color_for_index (2, &color);
  g_ptr_array_add (markers, cohort_graph_marker_new (now - 100 * G_USEC_PER_SEC, "restart",
                                                     "Worker 2 restarted (exit code 1)", &color));
  g_ptr_array_add (markers, cohort_graph_marker_new (now - 200 * G_USEC_PER_SEC, "scale",
                                                     "Scaled from 3 to 4 workers", &neutral));
  g_ptr_array_add (markers, cohort_graph_marker_new (now - 40 * G_USEC_PER_SEC, "reload",
                                                     "Rolling reload", NULL));
  for (guint i = 0; i < G_N_ELEMENTS (graphs); i++)
    cohort_graph_set_markers (graphs[i], markers);
}

static void
pretend_hover (CohortGraph *graph,
               double       fraction)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (graph));
  double x = gtk_widget_get_width (GTK_WIDGET (graph)) * fraction;
  double y = gtk_widget_get_height (GTK_WIDGET (graph)) * 0.5;

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_EVENT_CONTROLLER_MOTION (controller))
        g_signal_emit_by_name (controller, "motion", x, y);
    }
  g_print ("tooltip at %.0f,%.0f:\n%s\n", x, y,
           gtk_widget_get_tooltip_markup (GTK_WIDGET (graph)));
}

static gboolean
screenshot_tick (GtkWidget     *window,
                 GdkFrameClock *clock,
                 gpointer       data)
{
  static int frames;
  static gboolean hovered;
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GskRenderer *renderer;
  int width;
  int height;

  width = gtk_widget_get_width (window);
  height = gtk_widget_get_height (window);
  paintable = gtk_widget_paintable_new (window);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));

  /* The first frames may not have been drawn yet; once one was, give the
   * pretend hover a frame to reach the screen. */
  if (node == NULL && frames++ < 60)
    return G_SOURCE_CONTINUE;
  if (!hovered && hover >= 0)
    {
      hovered = TRUE;
      for (guint i = 0; i < G_N_ELEMENTS (graphs); i++)
        pretend_hover (graphs[i], hover);
      return G_SOURCE_CONTINUE;
    }
  renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, screenshot))
    g_printerr ("could not write %s\n", screenshot);
  gtk_window_destroy (GTK_WINDOW (window));
  return G_SOURCE_REMOVE;
}

static int
compare_double (gconstpointer a,
                gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
thread_cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static gboolean
measure_tick (GtkWidget     *window,
              GdkFrameClock *clock,
              gpointer       data)
{
  static int frames;
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  g_autofree double *total = g_new0 (double, measure);
  g_autofree double *snap = g_new0 (double, measure);
  gint64 t = cohort_series_get_last_time (workers[0].cpu);

  if (frames++ < 10)
    return G_SOURCE_CONTINUE;

  for (int n = 0; n < measure; n++)
    {
      double start;

      t += G_USEC_PER_SEC;
      push_sample (t, t);
      start = thread_cpu_ms ();
      for (guint i = 0; i < G_N_ELEMENTS (graphs); i++)
        {
          GtkWidget *graph = GTK_WIDGET (graphs[i]);
          int width = gtk_widget_get_width (graph);
          int height = gtk_widget_get_height (graph);
          g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
          g_autoptr(GskRenderNode) node = NULL;
          g_autoptr(GdkTexture) texture = NULL;
          double before = thread_cpu_ms ();

          /* The widget's own snapshot, not a node GTK kept. */
          cohort_graph_queue_update (graphs[i]);
          GTK_WIDGET_GET_CLASS (graph)->snapshot (graph, snapshot);
          node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
          snap[n] += thread_cpu_ms () - before;
          if (node != NULL)
            texture = gsk_renderer_render_texture (renderer, node,
                                                   &GRAPHENE_RECT_INIT (0, 0, width, height));
        }
      total[n] = thread_cpu_ms () - start;
    }
  qsort (total, measure, sizeof (double), compare_double);
  qsort (snap, measure, sizeof (double), compare_double);
  g_print ("{\"workers\":%d,\"idle\":%s,\"graph\":\"%dx%d\",\"iterations\":%d,"
           "\"frame_median_ms\":%.2f,\"frame_p95_ms\":%.2f,"
           "\"snapshot_median_ms\":%.2f,\"snapshot_p95_ms\":%.2f}\n",
           n_workers, idle ? "true" : "false",
           gtk_widget_get_width (GTK_WIDGET (graphs[0])), gtk_widget_get_height (GTK_WIDGET (graphs[0])),
           measure, total[measure / 2], total[(measure * 95) / 100],
           snap[measure / 2], snap[(measure * 95) / 100]);
  gtk_window_destroy (GTK_WINDOW (window));
  return G_SOURCE_REMOVE;
}

static GtkWidget *
new_graph (const char      *title,
           CohortGraphUnit  unit,
           double           fixed_max)
{
  return g_object_new (COHORT_TYPE_GRAPH,
                       "title", title,
                       "unit", unit,
                       "fixed-max", fixed_max,
                       "span", (guint) span,
                       "vexpand", TRUE,
                       NULL);
}

static void
activate (GtkApplication *app)
{
  GtkWidget *window = adw_application_window_new (app);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *graphs_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);
  GtkWidget *header = adw_header_bar_new ();
  int width = 960;
  int height = 680;

  if (size != NULL)
    sscanf (size, "%dx%d", &width, &height);

  if (dark)
    adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                        ADW_COLOR_SCHEME_FORCE_DARK);

  gtk_window_set_title (GTK_WINDOW (window), "Graph demo");
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_widget_set_margin_start (graphs_box, 18);
  gtk_widget_set_margin_end (graphs_box, 18);
  gtk_widget_set_margin_top (graphs_box, 12);
  gtk_widget_set_margin_bottom (graphs_box, 18);

  graphs[0] = COHORT_GRAPH (new_graph ("CPU", COHORT_GRAPH_UNIT_PERCENT, 100));
  graphs[1] = COHORT_GRAPH (new_graph ("Memory", COHORT_GRAPH_UNIT_BYTES, 0));
  graphs[2] = COHORT_GRAPH (new_graph ("Messages", COHORT_GRAPH_UNIT_RATE, 0));
  for (guint i = 0; i < G_N_ELEMENTS (graphs); i++)
    gtk_box_append (GTK_BOX (graphs_box), GTK_WIDGET (graphs[i]));

  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), graphs_box);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), box);

  setup_data ();

  if (measure > 0)
    gtk_widget_add_tick_callback (window, measure_tick, NULL, NULL);
  else if (screenshot != NULL)
    gtk_widget_add_tick_callback (window, screenshot_tick, NULL, NULL);
  else
    g_timeout_add_seconds (1, live_tick, NULL);

  gtk_window_present (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  const GOptionEntry entries[] = {
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, &screenshot, "Save a PNG and quit", "FILE" },
    { "dark", 0, 0, G_OPTION_ARG_NONE, &dark, "Dark style", NULL },
    { "span", 0, 0, G_OPTION_ARG_INT, &span, "Seconds shown", "S" },
    { "workers", 0, 0, G_OPTION_ARG_INT, &n_workers, "Number of workers", "N" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "Window size", "WxH" },
    { "hover", 0, 0, G_OPTION_ARG_DOUBLE, &hover, "Pretend hover", "FRACTION" },
    { "empty", 0, 0, G_OPTION_ARG_NONE, &empty, "Leave the last graph without lines", NULL },
    { "idle", 0, 0, G_OPTION_ARG_NONE, &idle, "Idle workers' data", NULL },
    { "measure", 0, 0, G_OPTION_ARG_INT, &measure, "Time N sample frames, print JSON, quit", "N" },
    { NULL }
  };
  g_autoptr(AdwApplication) app = NULL;
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  n_workers = CLAMP (n_workers, 1, 64);

  app = adw_application_new ("org.cohort.GraphDemo", G_APPLICATION_NON_UNIQUE);
  g_signal_connect (app, "activate", G_CALLBACK (activate), NULL);
  return g_application_run (G_APPLICATION (app), 0, NULL);
}
