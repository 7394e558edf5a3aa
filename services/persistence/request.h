/* request.h — what persistence reads from a request before it touches a
 * store: the key in the path, the body's media type, and a PUT body checked
 * with the shared codecs (libcommon record.h) and re-encoded canonically.
 *
 * Every refusal comes with the reason its 400/415 answer gives. The JSON
 * bodies of the other routes are read as objects of known fields here too. Pure: no
 * I/O, inputs borrowed; thread-safe. */
#ifndef NIMBUS_PERSISTENCE_REQUEST_H
#define NIMBUS_PERSISTENCE_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv.h"
#include "nimbus/err.h"
#include "nimbus/record.h"

/* The key of /v1/records/{key} (KV_NS_RECORD: a canonical location key, as
 * is) or /v1/geocode/{query} (KV_NS_GEOCODE: the query, normalised) from the
 * path's tail. NB_OK, or NB_ERR_INVALID with the reason in why. */
nb_err ps_rq_key(kv_ns ns, const char *tail, char key[NB_QUERY_MAX + 1], char *why, size_t whylen);

/* True when a Content-Type value names application/json (parameters
 * allowed); false for NULL. */
bool ps_rq_is_json(const char *content_type);

/* A long poll's query (GET ?newer_than=<ms>&wait_ms=<ms>, watch.h): both may
 * be absent (*wait_ms 0: answer at once); newer_than defaults to 0 (any
 * version). NB_OK, or NB_ERR_INVALID with the reason in why. */
#define RQ_WAIT_MAX_MS 60000
nb_err ps_rq_wait(const char *newer_than, const char *wait_ms, int64_t *newer_than_ms,
                  int64_t *wait_ms_out, char *why, size_t whylen);

/* A JSON body that must be an object with no fields beyond `fields`
 * (NULL-terminated): a new reference; or NULL with the reason in why
 * ("empty body", "invalid JSON: ...", "body must be a JSON object",
 * "unknown field \"colour\""). Duplicate keys are refused. */
json_t *ps_rq_json_object(const char *body, size_t len, const char *const *fields, char *why,
                          size_t whylen);

/* A PUT body, validated, in the form it is stored. */
typedef struct rq_put {
    int64_t version_ms;    /* the record's fetched_at, the entry's resolved_at */
    int64_t expires_at_ms; /* geocoding entries' expires_at; 0 = never */
    char *canon;           /* owned: the canonical encoding; ps_rq_put_release() */
    size_t len;
} rq_put;

/* Checks the body of a PUT /v1/records/{key} (key as ps_rq_key gave it),
 * decodes it into rec and encodes it canonically into out. NB_OK;
 * NB_ERR_INVALID with the reason in why (empty, not a valid record, or for
 * another key); NB_ERR_NOMEM with why. */
nb_err ps_rq_record_put(const char *key, const char *body, size_t len, nb_record *rec, rq_put *out,
                        char *why, size_t whylen);
/* The same for PUT /v1/geocode/{query} (query as ps_rq_key normalised it). */
nb_err ps_rq_geo_put(const char *query, const char *body, size_t len, rq_put *out, char *why,
                     size_t whylen);
void ps_rq_put_release(rq_put *p);

#endif
