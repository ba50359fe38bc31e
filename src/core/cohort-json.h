/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-json.h: the JSON of messages, without json-glib's costs: a
 * validator that builds nothing, a compact serializer, and messages
 * serialized once for many sends. */

#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Deeper nesting is refused: json-glib's parser recurses per level. */
#define COHORT_JSON_MAX_DEPTH 512

#define COHORT_JSON_ERROR (cohort_json_error_quark ())

typedef enum
{
  COHORT_JSON_ERROR_EMPTY,         /* nothing but whitespace */
  COHORT_JSON_ERROR_INVALID_UTF8,  /* a byte sequence that is not UTF-8 */
  COHORT_JSON_ERROR_SYNTAX,        /* anything else RFC 8259 does not allow */
  COHORT_JSON_ERROR_TOO_DEEP,      /* nested over COHORT_JSON_MAX_DEPTH levels */
} CohortJsonError;

typedef enum
{
  COHORT_JSON_KIND_OBJECT,
  COHORT_JSON_KIND_ARRAY,
  COHORT_JSON_KIND_STRING,
  COHORT_JSON_KIND_NUMBER,
  COHORT_JSON_KIND_BOOLEAN,
  COHORT_JSON_KIND_NULL,
} CohortJsonKind;

/* What cohort_json_validate() saw of the top-level value. */
typedef struct
{
  CohortJsonKind kind;
  gsize          start;  /* the value's first byte, past any whitespace */
  gsize          end;    /* one past its last byte */
  /* Bit i is set when the top-level object may have a member named
   * names[i]: one is spelled so, or is spelled with an escape (which is
   * not decoded, so it may be any name). */
  guint32        names;
} CohortJsonInfo;

GQuark    cohort_json_error_quark (void);

gboolean  cohort_json_validate    (const char         *text,
                                   gsize               length,
                                   const char * const *names,
                                   CohortJsonInfo     *info,
                                   GError            **error);
gboolean  cohort_json_validate_line (const char       *text,
                                     gsize             length,
                                     const char * const *names,
                                     CohortJsonInfo   *info,
                                     gsize            *line_length);
char     *cohort_json_to_string   (JsonNode           *node,
                                   gsize              *length);
void      cohort_json_append      (GString            *out,
                                   JsonNode           *node);
gboolean  cohort_message_is_internal (JsonNode        *node);
gboolean  cohort_json_append_message (GString         *out,
                                      JsonNode        *node);
void      cohort_json_append_string (GString          *out,
                                     const char       *str);
void      cohort_json_append_double (GString          *out,
                                     double            value);
gboolean  cohort_message_check    (JsonNode           *node,
                                   GError            **error);
gboolean  cohort_json_append_sendable (GString        *out,
                                       JsonNode       *node,
                                       GError        **error);

/* A message serialized once, immutable, to be sent many times or to many
 * workers (cohort_worker_send_prepared()). */
typedef struct _CohortPreparedMessage CohortPreparedMessage;

#define COHORT_TYPE_PREPARED_MESSAGE (cohort_prepared_message_get_type ())

GType                  cohort_prepared_message_get_type (void) G_GNUC_CONST;
CohortPreparedMessage *cohort_message_prepare           (JsonNode              *message,
                                                         GError               **error);
CohortPreparedMessage *cohort_prepared_message_ref      (CohortPreparedMessage *self);
void                   cohort_prepared_message_unref    (CohortPreparedMessage *self);
const char            *cohort_prepared_message_get_text (CohortPreparedMessage *self,
                                                         gsize                 *length);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CohortPreparedMessage, cohort_prepared_message_unref)

G_END_DECLS
