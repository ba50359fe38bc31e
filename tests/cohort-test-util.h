/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-test-util.h: helpers shared by the test suites. */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "cohort-supervisor.h"

G_BEGIN_DECLS

typedef gboolean (*CohortTestCondition) (gpointer data);

gboolean       cohort_test_wait_until      (CohortTestCondition  condition,
                                            gpointer             data,
                                            guint                timeout_ms);
void           cohort_test_sleep           (guint                ms);
const char    *cohort_test_worker_path     (void);
const char    *cohort_test_binary          (const char          *name);
char          *cohort_test_make_dir        (void);
void           cohort_test_remove_dir      (const char          *dir);
CohortProfile *cohort_test_profile         (const char          *dir,
                                            const char          *text);
char          *cohort_test_write_profile   (const char          *dir,
                                            const char          *name,
                                            gboolean             trusted,
                                            const char          *format,
                                            ...) G_GNUC_PRINTF (4, 5);
CohortSupervisor *cohort_test_supervisor   (const char          *dir,
                                            const char          *text);
JsonObject    *cohort_test_read_json       (const char          *path);
GPid           cohort_test_read_pid        (const char          *path);
gboolean       cohort_test_pid_exists      (GPid                 pid);
guint          cohort_test_count_zombies   (void);
GPid           cohort_test_worker_pid      (CohortCluster       *cluster,
                                            guint                id);
guint          cohort_test_count_state     (CohortCluster       *cluster,
                                            CohortWorkerState    state);
char          *cohort_test_http_get        (guint16              port,
                                            GError             **error);
void           cohort_test_stop_all        (CohortSupervisor    *supervisor);
CohortCluster *cohort_test_start           (const char          *dir,
                                            const char          *text,
                                            CohortSupervisor   **supervisor);
CohortCluster *cohort_test_startf          (const char          *dir,
                                            CohortSupervisor   **supervisor,
                                            const char          *format,
                                            ...) G_GNUC_PRINTF (3, 4);

/* In a suite whose Fixture has dir and supervisor: start the profile
 * written as a format. */
#define start(f, ...) cohort_test_startf ((f)->dir, &(f)->supervisor, __VA_ARGS__)
void           cohort_test_wait_state      (CohortCluster       *cluster,
                                            CohortWorkerState    state,
                                            guint                count,
                                            guint                timeout_ms);
/* A reload's outcome, for cohort_cluster_reload_async (cluster, NULL,
 * cohort_test_reload_cb, &reload) and then
 * cohort_test_wait_until (cohort_test_reload_done, &reload, ms). */
typedef struct
{
  gboolean  done;
  guint     replaced;
  GError   *error;
} CohortTestReload;

void           cohort_test_reload_cb       (GObject             *source,
                                            GAsyncResult        *result,
                                            gpointer             data);
gboolean       cohort_test_reload_done     (gpointer             data);
guint64        cohort_test_self_rss        (void);
guint          cohort_test_count_fds       (void);
void           cohort_test_note_inherited_fds (void);
int            cohort_test_run             (const char * const  *argv,
                                            char               **out,
                                            char               **err,
                                            guint                timeout_ms);

/* The fixture of the suites that run real worker processes (apply,
 * channel, process): a directory, the fixture worker shell-quoted, and
 * the supervisor a test started. */
typedef struct
{
  char             *dir;
  char             *worker;   /* the fixture worker, shell-quoted */
  CohortSupervisor *supervisor;
} CohortTestFixture;

void           cohort_test_fixture_setup   (CohortTestFixture   *f,
                                            gconstpointer        data);
void           cohort_test_fixture_teardown (CohortTestFixture  *f,
                                             gconstpointer       data);
void           cohort_test_release         (char               **dir,
                                            CohortSupervisor   **supervisor);

G_END_DECLS
