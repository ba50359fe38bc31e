/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-trust.c: profiles Cohort saved itself.
 *
 * A profile runs commands. One that comes from elsewhere (a download, a
 * repository, a hand edit by someone else) is shown before anything in it
 * starts; one Cohort saved on this machine, and the demo profile Cohort
 * ships, are not. Cohort keeps, in $XDG_DATA_HOME/cohort/trusted-profiles,
 * the SHA-256 of the text it last saved at each path: a file whose text
 * differs was written by something else. */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <glib/gstdio.h>

#include "cohort-trust.h"

#define TRUST_GROUP "Saved"

static char *
store_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "cohort", "trusted-profiles", NULL);
}

/* Links resolved, so that saving through one and opening the other
 * agree. */
static char *
absolute_path (const char *path)
{
  char *real = realpath (path, NULL);
  char *copy;

  if (real == NULL)
    return g_canonicalize_filename (path, NULL);
  copy = g_strdup (real);
  free (real);
  return copy;
}

/* A key GKeyFile takes, whatever the path holds (“=”, “[”, spaces). */
static char *
path_key (const char *absolute)
{
  return g_uri_escape_string (absolute, "/", FALSE);
}

static char *
digest (const char *data,
        gsize       length)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, length);
}

/* Installed with Cohort, or the one the window opens from the source tree
 * (build-aux/cohort-dev sets COHORT_DEMO_PROFILE). */
static gboolean
is_demo (const char *absolute)
{
  g_autofree char *installed = g_build_filename (DATADIR, "cohort", "demo.cohort", NULL);
  g_autofree char *installed_absolute = absolute_path (installed);
  const char *developer = g_getenv ("COHORT_DEMO_PROFILE");

  if (g_str_equal (absolute, installed_absolute))
    return TRUE;
  if (developer != NULL && developer[0] != '\0')
    {
      g_autofree char *developer_absolute = absolute_path (developer);

      return g_str_equal (absolute, developer_absolute);
    }
  return FALSE;
}

/**
 * cohort_trust_check:
 * @path: the file @data was read from
 *
 * Returns: whether @data is what Cohort last saved at @path on this
 *   machine, or @path is the demo profile
 */
gboolean
cohort_trust_check (const char *path,
                    const char *data,
                    gsize       length)
{
  g_autoptr(GKeyFile) store = g_key_file_new ();
  g_autofree char *file = store_path ();
  g_autofree char *absolute = NULL;
  g_autofree char *key = NULL;
  g_autofree char *known = NULL;
  g_autofree char *actual = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);

  absolute = absolute_path (path);
  if (is_demo (absolute))
    return TRUE;

  if (!g_key_file_load_from_file (store, file, G_KEY_FILE_NONE, NULL))
    return FALSE;
  key = path_key (absolute);
  known = g_key_file_get_string (store, TRUST_GROUP, key, NULL);
  if (known == NULL)
    return FALSE;
  actual = digest (data, length);
  return g_ascii_strcasecmp (known, actual) == 0;
}

/**
 * cohort_trust_remember:
 * @path: where Cohort just saved @data
 *
 * Records @data as the text Cohort saved at @path. Failing to is not an
 * error for the save: the profile is only asked about once more.
 */
void
cohort_trust_remember (const char *path,
                       const char *data,
                       gsize       length)
{
  g_autoptr(GKeyFile) store = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *file = store_path ();
  g_autofree char *dir = g_path_get_dirname (file);
  g_autofree char *absolute = NULL;
  g_autofree char *key = NULL;
  g_autofree char *actual = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) keys = NULL;
  gsize text_length;

  g_return_if_fail (path != NULL);
  g_return_if_fail (data != NULL || length == 0);

  if (!g_key_file_load_from_file (store, file, G_KEY_FILE_KEEP_COMMENTS, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_debug ("Starting %s afresh: %s", file, error->message);
      g_clear_error (&error);
      g_clear_pointer (&store, g_key_file_unref);
      store = g_key_file_new ();
      g_key_file_set_comment (store, NULL, NULL,
                              " Profiles Cohort saved: path = SHA-256 of the text it wrote", NULL);
    }

  /* Forget files that are gone, so that the list does not only grow. */
  keys = g_key_file_get_keys (store, TRUST_GROUP, NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      g_autofree char *known = g_uri_unescape_string (keys[i], NULL);

      if (known == NULL || !g_file_test (known, G_FILE_TEST_EXISTS))
        g_key_file_remove_key (store, TRUST_GROUP, keys[i], NULL);
    }

  absolute = absolute_path (path);
  key = path_key (absolute);
  actual = digest (data, length);
  g_key_file_set_string (store, TRUST_GROUP, key, actual);

  text = g_key_file_to_data (store, &text_length, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    g_warning ("Cannot remember that Cohort saved %s: %s: %s", path, dir, g_strerror (errno));
  else if (!g_file_set_contents_full (file, text, text_length,
                                      G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_warning ("Cannot remember that Cohort saved %s: %s", path, error->message);
}
