/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-task.c: the built-in tasks of thread clusters: known answers,
 * stopping (cancel, deadline), the memory and progress figures, and an
 * error naming the culprit for every bad input. */

#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "cohort-task.h"
#include "cohort-test-util.h"

static JsonNode *
run_task (const char        *name,
          const char        *args,
          CohortTaskContext *context,
          GError           **error)
{
  g_autoptr(JsonNode) node = NULL;

  if (args != NULL)
    {
      g_autoptr(GError) parse_error = NULL;

      node = json_from_string (args, &parse_error);
      g_assert_no_error (parse_error);
    }
  return cohort_task_run (name, node, context, error);
}

/* The result of a run that must succeed, as an object (owned by the
 * returned node). */
static JsonNode *
run_ok (const char *name,
        const char *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortTaskContext) context = cohort_task_context_new (NULL, 0);
  JsonNode *result = run_task (name, args, context, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (result));
  g_assert_cmpfloat (cohort_task_context_get_progress (context), ==, 1.0);
  g_assert_cmpuint (cohort_task_context_get_memory (context), ==, 0);
  return result;
}

static void
assert_error (const GError *error,
              int           code,
              const char   *culprit)
{
  g_assert_error (error, COHORT_TASK_ERROR, code);
  if (culprit != NULL && strstr (error->message, culprit) == NULL)
    g_error ("“%s” does not name %s", error->message, culprit);
}

static void
write_file (const char *dir,
            const char *relative,
            const char *data,
            gssize      length)
{
  g_autofree char *path = g_build_filename (dir, relative, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_file_set_contents (path, data, length, &error);
  g_assert_no_error (error);
}

/* The documented stream of sha256 {"bytes"}. */
static char *
sha256_of_pattern (guint64 length)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);

  for (guint64 i = 0; i < length; i++)
    {
      guint8 byte = (guint8) ((i * 31 + 7) & 0xff);

      g_checksum_update (checksum, &byte, 1);
    }
  return g_strdup (g_checksum_get_string (checksum));
}

/* Names */

static void
test_names (void)
{
  const char * const *names = cohort_task_list_names ();
  const char * const expected[] = { "sum", "primes", "sha256", "compress", "thumbnail", NULL };

  g_assert_cmpstrv (names, expected);
  for (guint i = 0; expected[i] != NULL; i++)
    g_assert_true (cohort_task_exists (expected[i]));
  g_assert_false (cohort_task_exists ("fibonacci"));
  g_assert_false (cohort_task_exists (""));
  g_assert_false (cohort_task_exists (NULL));
}

/* sum */

static void
test_sum (void)
{
  const guint64 ns[] = { 0, 1, 10, 1000000, G_GUINT64_CONSTANT (1) << 32 };

  for (guint i = 0; i < G_N_ELEMENTS (ns); i++)
    {
      g_autofree char *args = g_strdup_printf ("{\"n\": %" G_GUINT64_FORMAT "}", ns[i]);
      g_autoptr(JsonNode) result = run_ok ("sum", args);
      JsonObject *object = json_node_get_object (result);
      guint64 expected = ns[i] == 0 ? 0 : ns[i] * (ns[i] - 1) / 2;

      g_assert_cmpint (json_object_get_int_member (object, "n"), ==, (gint64) ns[i]);
      g_assert_cmpuint ((guint64) json_object_get_int_member (object, "sum"), ==, expected);
    }

  /* A number written with an exponent is still a whole number. */
  {
    g_autoptr(JsonNode) result = run_ok ("sum", "{\"n\": 1e3}");

    g_assert_cmpint (json_object_get_int_member (json_node_get_object (result), "sum"), ==, 499500);
  }
}

/* primes */

static void
test_primes (void)
{
  const struct { gint64 below; gint64 count; } cases[] = {
    { 0, 0 }, { 1, 0 }, { 2, 0 }, { 3, 1 }, { 4, 2 }, { 97, 24 }, { 98, 25 }, { 100, 25 },
    { 1000000, 78498 },
    /* Several segments, and one that ends mid-way. */
    { 10000000, 664579 },
    { 1048577, 82025 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *args = g_strdup_printf ("{\"below\": %" G_GINT64_FORMAT "}", cases[i].below);
      g_autoptr(JsonNode) result = run_ok ("primes", args);
      JsonObject *object = json_node_get_object (result);

      g_assert_cmpint (json_object_get_int_member (object, "below"), ==, cases[i].below);
      g_assert_cmpint (json_object_get_int_member (object, "count"), ==, cases[i].count);
    }
}

/* sha256 */

static void
assert_sha256_of_file (const char *dir,
                       const char *name,
                       const char *data,
                       const char *expected)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) result = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  write_file (dir, name, data, -1);
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, json_object_new ());
  json_object_set_string_member (json_node_get_object (node), "path", path);
  result = cohort_task_run ("sha256", node, NULL, &error);
  g_assert_no_error (error);

  object = json_node_get_object (result);
  g_assert_cmpstr (json_object_get_string_member (object, "sha256"), ==, expected);
  g_assert_cmpint (json_object_get_int_member (object, "bytes"), ==, (gint64) strlen (data));
  g_assert_cmpint (json_object_get_int_member (object, "files"), ==, 1);
}

static void
test_sha256_vectors (void)
{
  g_autofree char *dir = cohort_test_make_dir ();

  /* FIPS 180-2 examples. */
  assert_sha256_of_file (dir, "empty", "",
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert_sha256_of_file (dir, "abc", "abc",
                         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_sha256_of_file (dir, "448-bits", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  cohort_test_remove_dir (dir);
}

/* A folder whose sorted order is not the order of creation, with a big
 * file (several chunks), an empty folder and links that must be skipped.
 * Returns the contents in the order the tasks read them. */
static GString *
make_tree (const char *dir,
           guint      *n_files)
{
  static const char * const files[][2] = {
    /* sorted by relative path in byte order */
    { "B", "upper case sorts first\n" },
    { "a.txt", "'.' is 0x2e\n" },
    { "a/b", "'/' is 0x2f\n" },
    { "c/d/e", "deep\n" },
  };
  g_autofree char *big = NULL;
  g_autofree char *empty = g_build_filename (dir, "empty", NULL);
  g_autofree char *link = g_build_filename (dir, "link", NULL);
  g_autofree char *dangling = g_build_filename (dir, "c", "dangling", NULL);
  GString *contents = g_string_new (NULL);
  gsize big_size = 200 * 1000 + 3;

  for (guint i = G_N_ELEMENTS (files); i > 0; i--)
    write_file (dir, files[i - 1][0], files[i - 1][1], -1);

  big = g_malloc (big_size);
  for (gsize i = 0; i < big_size; i++)
    big[i] = (char) ("0123456789abcdef"[(i * 7) % 16] ^ (i / 4096));
  write_file (dir, "z/big", big, big_size);

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    g_string_append (contents, files[i][1]);
  g_string_append_len (contents, big, big_size);

  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  g_assert_cmpint (symlink ("a.txt", link), ==, 0);
  g_assert_cmpint (symlink ("nowhere", dangling), ==, 0);

  *n_files = G_N_ELEMENTS (files) + 1;
  return contents;
}

static JsonNode *
path_args (const char *key,
           const char *path)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, json_object_new ());
  json_object_set_string_member (json_node_get_object (node), key, path);
  return node;
}

static void
test_sha256_folder (void)
{
  g_autofree char *dir = cohort_test_make_dir ();
  g_autoptr(GString) contents = NULL;
  g_autoptr(JsonNode) args = NULL;
  g_autoptr(JsonNode) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  JsonObject *object;
  guint n_files;

  contents = make_tree (dir, &n_files);
  expected = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents->str,
                                          contents->len);

  args = path_args ("path", dir);
  result = cohort_task_run ("sha256", args, NULL, &error);
  g_assert_no_error (error);

  object = json_node_get_object (result);
  g_assert_cmpstr (json_object_get_string_member (object, "sha256"), ==, expected);
  g_assert_cmpint (json_object_get_int_member (object, "bytes"), ==, (gint64) contents->len);
  g_assert_cmpint (json_object_get_int_member (object, "files"), ==, n_files);

  cohort_test_remove_dir (dir);
}

static void
test_sha256_generated (void)
{
  const guint64 sizes[] = { 0, 1, 255, 65536, 65536 * 3 + 17 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *args = g_strdup_printf ("{\"bytes\": %" G_GUINT64_FORMAT "}", sizes[i]);
      g_autoptr(JsonNode) result = run_ok ("sha256", args);
      g_autofree char *expected = sha256_of_pattern (sizes[i]);
      JsonObject *object = json_node_get_object (result);

      g_assert_cmpstr (json_object_get_string_member (object, "sha256"), ==, expected);
      g_assert_cmpint (json_object_get_int_member (object, "bytes"), ==, (gint64) sizes[i]);
      g_assert_false (json_object_has_member (object, "files"));
    }
}

/* compress */

static void
test_compress_generated (void)
{
  {
    g_autoptr(JsonNode) result = run_ok ("compress", "{\"bytes\": 1000000, \"verify\": true}");
    JsonObject *object = json_node_get_object (result);
    double ratio = json_object_get_double_member (object, "ratio");

    g_assert_cmpint (json_object_get_int_member (object, "bytes_in"), ==, 1000000);
    g_assert_cmpint (json_object_get_int_member (object, "bytes_out"), >, 0);
    g_assert_cmpfloat (ratio, <, 1.0);
    g_assert_cmpfloat (ratio, >, 0.0);
    g_assert_cmpfloat_with_epsilon (ratio,
                                    json_object_get_int_member (object, "bytes_out") / 1e6, 1e-9);
    g_assert_cmpfloat (json_object_get_double_member (object, "mb_per_s"), >=, 0.0);
    g_assert_true (json_object_get_boolean_member (object, "verified"));
  }

  /* Empty: a zlib header and trailer out, and a ratio of 0 by definition. */
  {
    g_autoptr(JsonNode) result = run_ok ("compress", "{\"bytes\": 0, \"verify\": true}");
    JsonObject *object = json_node_get_object (result);

    g_assert_cmpint (json_object_get_int_member (object, "bytes_in"), ==, 0);
    g_assert_cmpfloat (json_object_get_double_member (object, "ratio"), ==, 0.0);
    g_assert_true (json_object_get_boolean_member (object, "verified"));
  }

  /* Level 0 stores: more out than in. Level 9 compresses at least as well
   * as the default. No "verified" without verify. */
  {
    g_autoptr(JsonNode) stored = run_ok ("compress", "{\"bytes\": 300000, \"level\": 0, \"verify\": true}");
    g_autoptr(JsonNode) best = run_ok ("compress", "{\"bytes\": 300000, \"level\": 9}");
    g_autoptr(JsonNode) fast = run_ok ("compress", "{\"bytes\": 300000, \"level\": 1}");

    g_assert_cmpfloat (json_object_get_double_member (json_node_get_object (stored), "ratio"), >, 1.0);
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (best), "bytes_out"), <=,
                     json_object_get_int_member (json_node_get_object (fast), "bytes_out"));
    g_assert_false (json_object_has_member (json_node_get_object (best), "verified"));
  }
}

static void
test_compress_folder (void)
{
  g_autofree char *dir = cohort_test_make_dir ();
  g_autoptr(GString) contents = NULL;
  g_autoptr(JsonNode) args = NULL;
  g_autoptr(JsonNode) result = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  guint n_files;

  contents = make_tree (dir, &n_files);
  args = path_args ("path", dir);
  json_object_set_boolean_member (json_node_get_object (args), "verify", TRUE);
  result = cohort_task_run ("compress", args, NULL, &error);
  g_assert_no_error (error);

  object = json_node_get_object (result);
  g_assert_cmpint (json_object_get_int_member (object, "bytes_in"), ==, (gint64) contents->len);
  g_assert_true (json_object_get_boolean_member (object, "verified"));
  g_assert_cmpfloat (json_object_get_double_member (object, "ratio"), <, 1.0);

  cohort_test_remove_dir (dir);
}

/* thumbnail */

static void
save_fill (const char *dir,
           const char *name,
           const char *type,
           int         width,
           int         height)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  g_autoptr(GError) error = NULL;

  gdk_pixbuf_fill (pixbuf, 0x3366ccff);
  gdk_pixbuf_save (pixbuf, path, type, &error, NULL);
  g_assert_no_error (error);
}

static void
assert_image_size (const char *dir,
                   const char *name,
                   int         width,
                   int         height)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (path, &error);
  GdkPixbufFormat *format = gdk_pixbuf_get_file_info (path, NULL, NULL);
  g_autofree char *format_name = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (format);
  format_name = gdk_pixbuf_format_get_name (format);
  g_assert_cmpstr (format_name, ==, "png");
  g_assert_cmpint (ABS (gdk_pixbuf_get_width (pixbuf) - width), <=, 1);
  g_assert_cmpint (ABS (gdk_pixbuf_get_height (pixbuf) - height), <=, 1);
}

static void
test_thumbnail (void)
{
  g_autofree char *dir = cohort_test_make_dir ();
  g_autofree char *input = g_build_filename (dir, "in", NULL);
  g_autofree char *output = g_build_filename (dir, "out", "nested", NULL);
  g_autofree char *not_thumbnailed = g_build_filename (output, "inner.png", NULL);
  g_autoptr(JsonNode) args = path_args ("input", input);
  g_autoptr(JsonNode) result = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  JsonArray *failed;
  JsonObject *failure;

  g_assert_cmpint (g_mkdir_with_parents (input, 0755), ==, 0);
  save_fill (input, "wide.png", "png", 400, 200);
  save_fill (input, "tall.jpg", "jpeg", 100, 300);
  write_file (input, "notes.txt", "not an image\n", -1);
  /* Not recursive: a subfolder's images are not thumbnailed. */
  write_file (input, "sub/placeholder", "", -1);
  save_fill (input, "sub/inner.png", "png", 10, 10);

  json_object_set_string_member (json_node_get_object (args), "output", output);
  json_object_set_int_member (json_node_get_object (args), "width", 64);
  json_object_set_int_member (json_node_get_object (args), "height", 64);
  result = cohort_task_run ("thumbnail", args, NULL, &error);
  g_assert_no_error (error);

  object = json_node_get_object (result);
  g_assert_cmpint (json_object_get_int_member (object, "images"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (object, "output"), ==, output);
  failed = json_object_get_array_member (object, "failed");
  g_assert_cmpuint (json_array_get_length (failed), ==, 1);
  failure = json_array_get_object_element (failed, 0);
  g_assert_cmpstr (json_object_get_string_member (failure, "file"), ==, "notes.txt");
  g_assert_cmpstr (json_object_get_string_member (failure, "error"), !=, "");

  /* Aspect ratio kept within the 64 × 64 box. */
  assert_image_size (output, "wide.png", 64, 32);
  assert_image_size (output, "tall.png", 21, 64);
  g_assert_false (g_file_test (not_thumbnailed, G_FILE_TEST_EXISTS));

  cohort_test_remove_dir (dir);
}

/* Stopping */

typedef struct
{
  const char        *name;
  JsonNode          *args;
  CohortTaskContext *context;
  JsonNode          *result;
  GError            *error;
  int                done;
} Job;

static gpointer
job_thread (gpointer data)
{
  Job *job = data;

  job->result = cohort_task_run (job->name, job->args, job->context, &job->error);
  g_atomic_int_set (&job->done, 1);
  return NULL;
}

static gboolean
job_done (gpointer data)
{
  Job *job = data;

  return g_atomic_int_get (&job->done);
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

/* Runs @name in a thread and cancels it from the main loop after 50 ms. */
static void
assert_cancels (const char *name,
                const char *args)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(CohortTaskContext) context = cohort_task_context_new (cancellable, 0);
  g_autoptr(GError) parse_error = NULL;
  Job job = { name, json_from_string (args, &parse_error), context, NULL, NULL, 0 };
  GThread *thread;

  g_assert_no_error (parse_error);
  thread = g_thread_new ("task", job_thread, &job);
  g_timeout_add (50, cancel_cb, cancellable);
  g_assert_true (cohort_test_wait_until (job_done, &job, 30000));
  g_thread_join (thread);

  g_assert_null (job.result);
  assert_error (job.error, COHORT_TASK_ERROR_CANCELLED, NULL);
  g_assert_cmpuint (cohort_task_context_get_memory (context), ==, 0);
  g_clear_error (&job.error);
  json_node_unref (job.args);
}

static void
test_cancel (void)
{
  assert_cancels ("sum", "{\"n\": 4294967296}");
  assert_cancels ("primes", "{\"below\": 2000000000}");
  assert_cancels ("sha256", "{\"bytes\": 17179869184}");
  assert_cancels ("compress", "{\"bytes\": 4294967296, \"verify\": true}");
}

static void
test_cancel_before (void)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(CohortTaskContext) context = cohort_task_context_new (cancellable, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) result = NULL;

  g_cancellable_cancel (cancellable);
  result = run_task ("sum", "{\"n\": 10}", context, &error);
  g_assert_null (result);
  assert_error (error, COHORT_TASK_ERROR_CANCELLED, NULL);

  /* Bad arguments are reported as such, stopped or not. */
  g_clear_error (&error);
  result = run_task ("sum", "{\"n\": -1}", context, &error);
  assert_error (error, COHORT_TASK_ERROR_ARGUMENTS, "“n”");
}

static void
test_deadline (void)
{
  const char * const cases[][2] = {
    { "sum", "{\"n\": 4294967296}" },
    { "primes", "{\"below\": 2000000000}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(CohortTaskContext) context = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) result = NULL;

      context = cohort_task_context_new (NULL, g_get_monotonic_time () + 50 * 1000);
      result = run_task (cases[i][0], cases[i][1], context, &error);
      g_assert_null (result);
      assert_error (error, COHORT_TASK_ERROR_TIMED_OUT, "timed out after 0.05 s");
      g_assert_cmpuint (cohort_task_context_get_memory (context), ==, 0);
    }
}

static gboolean
holds_memory (gpointer data)
{
  Job *job = data;

  return cohort_task_context_get_memory (job->context) > 0
         && cohort_task_context_get_progress (job->context) > 0.0;
}

static void
test_memory_and_progress (void)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(CohortTaskContext) context = cohort_task_context_new (cancellable, 0);
  Job job = { "primes", json_from_string ("{\"below\": 2000000000}", NULL), context, NULL, NULL, 0 };
  GThread *thread;
  double progress;

  thread = g_thread_new ("task", job_thread, &job);
  g_assert_true (cohort_test_wait_until (holds_memory, &job, 30000));
  /* One 256 KiB segment at least. */
  g_assert_cmpuint (cohort_task_context_get_memory (context), >=, 256 * 1024);
  progress = cohort_task_context_get_progress (context);
  g_assert_cmpfloat (progress, >, 0.0);
  g_assert_cmpfloat (progress, <, 1.0);

  g_cancellable_cancel (cancellable);
  g_assert_true (cohort_test_wait_until (job_done, &job, 30000));
  g_thread_join (thread);

  assert_error (job.error, COHORT_TASK_ERROR_CANCELLED, NULL);
  g_assert_cmpuint (cohort_task_context_get_memory (context), ==, 0);
  g_clear_error (&job.error);
  json_node_unref (job.args);
}

/* Bad input */

typedef struct
{
  const char *task;
  const char *args;   /* NULL: none */
  int         code;
  const char *culprits[3];
} BadCase;

static const BadCase bad_cases[] = {
  { "fibonacci", "{}", COHORT_TASK_ERROR_UNKNOWN_TASK, { "“fibonacci”", "sum" } },
  { "sum", "{\"n\": \"10\"}", COHORT_TASK_ERROR_ARGUMENTS, { "“n”", "4294967296", "“10”" } },
  { "sum", "{\"n\": 1.5}", COHORT_TASK_ERROR_ARGUMENTS, { "“n”", "an integer", "1.5" } },
  { "sum", "{\"n\": -1}", COHORT_TASK_ERROR_ARGUMENTS, { "“n”", "from 0 to 4294967296", "-1" } },
  { "sum", "{\"n\": 1099511627776}", COHORT_TASK_ERROR_ARGUMENTS, { "“n”", "64 bits", "1099511627776" } },
  { "sum", "{\"n\": null}", COHORT_TASK_ERROR_ARGUMENTS, { "“n”", "null" } },
  { "sum", "{\"n\": [1]}", COHORT_TASK_ERROR_ARGUMENTS, { "“n”", "an array" } },
  { "sum", "{}", COHORT_TASK_ERROR_ARGUMENTS, { "missing", "“n”" } },
  { "sum", NULL, COHORT_TASK_ERROR_ARGUMENTS, { "missing", "“n”" } },
  { "sum", "{\"n\": 10, \"m\": 1}", COHORT_TASK_ERROR_ARGUMENTS, { "unknown", "“m”" } },
  { "sum", "[10]", COHORT_TASK_ERROR_ARGUMENTS, { "“sum”", "object" } },
  { "primes", "{\"below\": 2000000001}", COHORT_TASK_ERROR_ARGUMENTS, { "“below”", "2000000000" } },
  { "primes", "{\"below\": true}", COHORT_TASK_ERROR_ARGUMENTS, { "“below”", "true" } },
  { "primes", "{\"n\": 10}", COHORT_TASK_ERROR_ARGUMENTS, { "“n”", "“below”" } },
  { "sha256", "{\"bytes\": 1, \"path\": \"/\"}", COHORT_TASK_ERROR_ARGUMENTS, { "“bytes”", "“path”", "both" } },
  { "sha256", "{}", COHORT_TASK_ERROR_ARGUMENTS, { "“bytes”", "“path”" } },
  { "sha256", "{\"bytes\": 17179869185}", COHORT_TASK_ERROR_ARGUMENTS, { "“bytes”", "17179869184" } },
  { "sha256", "{\"path\": \"\"}", COHORT_TASK_ERROR_ARGUMENTS, { "“path”" } },
  { "sha256", "{\"path\": 3}", COHORT_TASK_ERROR_ARGUMENTS, { "“path”", "3" } },
  { "compress", "{\"bytes\": 4294967297}", COHORT_TASK_ERROR_ARGUMENTS, { "“bytes”", "4294967296" } },
  { "compress", "{\"bytes\": 10, \"level\": 10}", COHORT_TASK_ERROR_ARGUMENTS, { "“level”", "-1 to 9" } },
  { "compress", "{\"bytes\": 10, \"verify\": 1}", COHORT_TASK_ERROR_ARGUMENTS, { "“verify”", "true or false" } },
  { "compress", "{\"level\": 1}", COHORT_TASK_ERROR_ARGUMENTS, { "“bytes”", "“path”" } },
  { "thumbnail", "{\"input\": \"a\", \"output\": \"b\", \"width\": 0, \"height\": 10}",
    COHORT_TASK_ERROR_ARGUMENTS, { "“width”", "1 to 8192" } },
  { "thumbnail", "{\"input\": \"a\", \"output\": \"b\", \"width\": 10, \"height\": 8193}",
    COHORT_TASK_ERROR_ARGUMENTS, { "“height”", "1 to 8192" } },
  { "thumbnail", "{\"input\": \"a\", \"output\": \"b\", \"width\": 10}",
    COHORT_TASK_ERROR_ARGUMENTS, { "missing", "“height”" } },
  { "thumbnail", "{\"input\": \"a\", \"width\": 10, \"height\": 10}",
    COHORT_TASK_ERROR_ARGUMENTS, { "missing", "“output”" } },
  { "thumbnail", "{\"input\": \"a\", \"output\": \"b\", \"width\": 10, \"height\": 10, \"depth\": 8}",
    COHORT_TASK_ERROR_ARGUMENTS, { "unknown", "“depth”" } },
};

static void
test_bad_arguments (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      const BadCase *c = &bad_cases[i];
      g_autoptr(JsonNode) args = c->args != NULL ? json_from_string (c->args, NULL) : NULL;
      g_autoptr(GError) validate_error = NULL;
      g_autoptr(GError) run_error = NULL;
      g_autoptr(JsonNode) result = NULL;

      g_test_message ("%s %s", c->task, c->args != NULL ? c->args : "(none)");
      g_assert_false (cohort_task_validate (c->task, args, &validate_error));
      result = cohort_task_run (c->task, args, NULL, &run_error);
      g_assert_null (result);

      for (guint k = 0; k < G_N_ELEMENTS (c->culprits) && c->culprits[k] != NULL; k++)
        {
          assert_error (validate_error, c->code, c->culprits[k]);
          assert_error (run_error, c->code, c->culprits[k]);
        }
      g_assert_cmpstr (validate_error->message, ==, run_error->message);
    }
}

static void
test_good_arguments (void)
{
  const char * const good[][2] = {
    { "sum", "{\"n\": 0}" },
    { "sum", "{\"n\": 4294967296}" },
    { "sum", "{\"n\": 1e6}" },
    { "primes", "{\"below\": 2000000000}" },
    { "sha256", "{\"bytes\": 17179869184}" },
    /* No I/O when validating: missing paths are found when running. */
    { "sha256", "{\"path\": \"/nonexistent/cohort\"}" },
    { "compress", "{\"path\": \"/nonexistent/cohort\", \"level\": 9, \"verify\": false}" },
    { "compress", "{\"bytes\": 4294967296, \"level\": -1}" },
    { "thumbnail", "{\"input\": \"/nonexistent\", \"output\": \"/nonexistent/out\", \"width\": 8192, \"height\": 1}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(JsonNode) args = json_from_string (good[i][1], NULL);
      g_autoptr(GError) error = NULL;

      g_assert_true (cohort_task_validate (good[i][0], args, &error));
      g_assert_no_error (error);
    }
}

static void
assert_input_error (const char *task,
                    JsonNode   *args,
                    const char *culprit,
                    const char *reason)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CohortTaskContext) context = cohort_task_context_new (NULL, 0);
  g_autoptr(JsonNode) result = NULL;

  g_assert_true (cohort_task_validate (task, args, NULL));
  result = cohort_task_run (task, args, context, &error);
  g_assert_null (result);
  assert_error (error, COHORT_TASK_ERROR_INPUT, culprit);
  if (reason != NULL)
    assert_error (error, COHORT_TASK_ERROR_INPUT, reason);
  g_assert_cmpuint (cohort_task_context_get_memory (context), ==, 0);
}

static void
test_bad_input (void)
{
  g_autofree char *dir = cohort_test_make_dir ();
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  g_autofree char *file = g_build_filename (dir, "file", NULL);

  for (guint i = 0; i < 2; i++)
    {
      const char *task = i == 0 ? "sha256" : "compress";
      g_autoptr(JsonNode) args = path_args ("path", missing);
      g_autoptr(JsonNode) device = path_args ("path", "/dev/null");

      assert_input_error (task, args, missing, "No such file or directory");
      assert_input_error (task, device, "/dev/null", "neither");

      /* Opens, then fails to read, even for root. */
      if (g_file_test ("/proc/self/mem", G_FILE_TEST_EXISTS))
        {
          g_autoptr(JsonNode) mem = path_args ("path", "/proc/self/mem");

          assert_input_error (task, mem, "/proc/self/mem", "Input/output error");
        }
    }

  {
    g_autoptr(JsonNode) args = path_args ("input", missing);

    json_object_set_string_member (json_node_get_object (args), "output", dir);
    json_object_set_int_member (json_node_get_object (args), "width", 10);
    json_object_set_int_member (json_node_get_object (args), "height", 10);
    assert_input_error ("thumbnail", args, missing, "No such file or directory");

    /* An output that cannot be a folder. */
    write_file (dir, "file", "x", -1);
    json_object_set_string_member (json_node_get_object (args), "input", dir);
    json_object_set_string_member (json_node_get_object (args), "output", file);
    assert_input_error ("thumbnail", args, file, NULL);
  }

  cohort_test_remove_dir (dir);
}

static void
test_unreadable (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *locked = NULL;

  /* Root reads anything (the read error path is covered by
   * /proc/self/mem in bad-input). */
  if (geteuid () == 0)
    {
      g_test_skip ("root can read files without read permission");
      return;
    }

  dir = cohort_test_make_dir ();
  write_file (dir, "tree/a", "a", -1);
  write_file (dir, "tree/secret", "secret", -1);
  write_file (dir, "locked/b", "b", -1);
  secret = g_build_filename (dir, "tree", "secret", NULL);
  locked = g_build_filename (dir, "locked", NULL);
  g_assert_cmpint (g_chmod (secret, 0), ==, 0);
  g_assert_cmpint (g_chmod (locked, 0), ==, 0);

  for (guint i = 0; i < 2; i++)
    {
      const char *task = i == 0 ? "sha256" : "compress";
      g_autoptr(JsonNode) file = path_args ("path", secret);
      g_autofree char *tree_path = g_build_filename (dir, "tree", NULL);
      g_autoptr(JsonNode) tree = path_args ("path", tree_path);
      g_autoptr(JsonNode) folder = path_args ("path", dir);

      assert_input_error (task, file, secret, "Permission denied");
      assert_input_error (task, tree, secret, "Permission denied");
      assert_input_error (task, folder, locked, "Permission denied");
    }

  g_chmod (locked, 0755);
  cohort_test_remove_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Cohort/Task/names", test_names);
  g_test_add_func ("/Cohort/Task/sum", test_sum);
  g_test_add_func ("/Cohort/Task/primes", test_primes);
  g_test_add_func ("/Cohort/Task/sha256/vectors", test_sha256_vectors);
  g_test_add_func ("/Cohort/Task/sha256/folder", test_sha256_folder);
  g_test_add_func ("/Cohort/Task/sha256/generated", test_sha256_generated);
  g_test_add_func ("/Cohort/Task/compress/generated", test_compress_generated);
  g_test_add_func ("/Cohort/Task/compress/folder", test_compress_folder);
  g_test_add_func ("/Cohort/Task/thumbnail", test_thumbnail);
  g_test_add_func ("/Cohort/Task/cancel", test_cancel);
  g_test_add_func ("/Cohort/Task/cancel-before", test_cancel_before);
  g_test_add_func ("/Cohort/Task/deadline", test_deadline);
  g_test_add_func ("/Cohort/Task/memory-and-progress", test_memory_and_progress);
  g_test_add_func ("/Cohort/Task/bad-arguments", test_bad_arguments);
  g_test_add_func ("/Cohort/Task/good-arguments", test_good_arguments);
  g_test_add_func ("/Cohort/Task/bad-input", test_bad_input);
  g_test_add_func ("/Cohort/Task/unreadable", test_unreadable);

  return g_test_run ();
}
