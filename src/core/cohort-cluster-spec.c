/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-cluster-spec.c: defaults and lifetime of a cluster's spec. */

#include "config.h"

#include <signal.h>
#include <stdlib.h>

#include "cohort-cluster-spec.h"

G_DEFINE_BOXED_TYPE (CohortClusterSpec, cohort_cluster_spec,
                     cohort_cluster_spec_ref, cohort_cluster_spec_unref)

/* The defaults are DESIGN.md's, which are PM2's where PM2 has one. */
CohortClusterSpec *
cohort_cluster_spec_new (const char        *name,
                         CohortClusterKind  kind)
{
  CohortClusterSpec *self;

  g_return_val_if_fail (name != NULL, NULL);

  self = g_new0 (CohortClusterSpec, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->name = g_strdup (name);
  self->kind = kind;
  self->environment = g_new0 (char *, 1);
  self->instances = 1;
  self->channel = COHORT_CHANNEL_AUTO;
  self->restart = COHORT_RESTART_ON_FAILURE;
  self->restart_delay_ms = 100;
  self->restart_delay_max_ms = 15000;
  self->min_uptime_s = 1.0;
  self->max_restarts = 15;
  self->stop_message = g_strdup ("\"shutdown\"");
  self->stop_signal = SIGTERM;
  self->stop_timeout_s = 10.0;
  self->ready_timeout_s = 0.0;
  self->max_memory_mib = 0;
  self->arguments = g_strdup ("{}");

  return self;
}

CohortClusterSpec *
cohort_cluster_spec_ref (CohortClusterSpec *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
cohort_cluster_spec_unref (CohortClusterSpec *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_free (self->name);
  g_free (self->command);
  g_strfreev (self->argv);
  g_free (self->working_directory);
  g_strfreev (self->environment);
  g_free (self->listen);
  g_free (self->stop_message);
  g_free (self->task);
  g_free (self->arguments);
  g_free (self);
}

guint
cohort_cluster_spec_resolve_instances (const CohortClusterSpec *self)
{
  g_return_val_if_fail (self != NULL, 1);

  if (self->instances == COHORT_INSTANCES_MAX)
    return MAX (1, g_get_num_processors ());
  return (guint) self->instances;
}

static const struct {
  int         signum;
  const char *name;
} signal_names[] = {
  { SIGHUP,  "SIGHUP" },
  { SIGINT,  "SIGINT" },
  { SIGQUIT, "SIGQUIT" },
  { SIGKILL, "SIGKILL" },
  { SIGUSR1, "SIGUSR1" },
  { SIGUSR2, "SIGUSR2" },
  { SIGTERM, "SIGTERM" },
  { SIGCONT, "SIGCONT" },
  { SIGSTOP, "SIGSTOP" },
  { SIGWINCH, "SIGWINCH" },
};

const char *
cohort_signal_to_name (int signum)
{
  for (guint i = 0; i < G_N_ELEMENTS (signal_names); i++)
    if (signal_names[i].signum == signum)
      return signal_names[i].name;
  return NULL;
}

/* Accepts SIGTERM, TERM (any case) or a number. */
gboolean
cohort_signal_from_name (const char *name,
                         int        *signum)
{
  g_autofree char *upper = NULL;
  const char *bare;
  char *end = NULL;
  long number;

  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (signum != NULL, FALSE);

  number = strtol (name, &end, 10);
  if (*name != '\0' && end != NULL && *end == '\0')
    {
      if (number < 1 || number >= NSIG)
        return FALSE;
      *signum = (int) number;
      return TRUE;
    }

  upper = g_ascii_strup (name, -1);
  bare = g_str_has_prefix (upper, "SIG") ? upper + 3 : upper;
  for (guint i = 0; i < G_N_ELEMENTS (signal_names); i++)
    if (g_str_equal (signal_names[i].name + 3, bare))
      {
        *signum = signal_names[i].signum;
        return TRUE;
      }
  return FALSE;
}
