/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-send-dialog.h: send a JSON message to a cluster or one worker. */

#pragma once

#include <adwaita.h>

#include "cohort-cluster.h"

G_BEGIN_DECLS

#define COHORT_TYPE_SEND_DIALOG (cohort_send_dialog_get_type ())

G_DECLARE_FINAL_TYPE (CohortSendDialog, cohort_send_dialog, COHORT, SEND_DIALOG, AdwWindow)

CohortSendDialog *cohort_send_dialog_new      (CohortCluster    *cluster);
void              cohort_send_dialog_set_text (CohortSendDialog *self,
                                               const char       *text);
void              cohort_send_dialog_set_target (CohortSendDialog *self,
                                                 int               id);
gboolean          cohort_send_dialog_send     (CohortSendDialog *self,
                                               GError          **error);

G_END_DECLS
