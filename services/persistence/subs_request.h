/* subs_request.h — what persistence reads from the requests of its
 * subscription and mail routes (subs_routes.c) before it touches
 * PostgreSQL: each body an object of known fields (rq_json_object), each
 * field checked — addresses and rules with libcommon's one check of each,
 * ids as UUIDs, numbers in their ranges, texts bounded.
 *
 * Every refusal comes with the reason its 400 answer gives, naming the
 * field. Pure: no I/O; inputs borrowed, outputs owned by the caller (the
 * *_release functions free them; a zeroed struct is fine to release).
 * Thread-safe. */
#ifndef NIMBUS_PERSISTENCE_SUBS_REQUEST_H
#define NIMBUS_PERSISTENCE_SUBS_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "kv.h"
#include "nimbus/email.h"
#include "nimbus/err.h"
#include "nimbus/record.h"
#include "subs.h"

#define SR_TOKEN_MAX 128    /* tokens are 16..128 characters of base64url */
#define SR_OWNER_MAX 64     /* a claimer's name */
#define SR_BATCH_MAX 500    /* mails per claim or per "sent" */
#define SR_PAGE_MAX 1000    /* subscriptions per page */
#define SR_RESULTS_MAX 1000 /* results per evaluation */
#define SR_CAP_MAX 1000000  /* confirmation mails per hour */
#define SR_ERROR_MAX 1000   /* bytes of a failed send's error kept */

/* POST /v1/subscriptions. req is what ps_subs_create takes; its strings point
 * into this struct (valid until ps_sr_create_release). */
typedef struct sr_create {
    subs_request req;
    json_t *doc; /* the body */
    char email_canonical[NB_EMAIL_MAX + 1];
    char *rules, *quiet; /* canonical JSON text */
} sr_create;

nb_err ps_sr_create_read(const char *body, size_t len, sr_create *out, char *why, size_t whylen);
void ps_sr_create_release(sr_create *c);

/* {"token"} of POST /v1/subscriptions/lookup, /confirm, /unsubscribe. */
nb_err ps_sr_token_read(const char *body, size_t len, char out[SR_TOKEN_MAX + 1], char *why,
                        size_t whylen);

/* GET /v1/places/{key}/subscriptions?after=&limit= from the path's tail
 * ("<key>/subscriptions") and the query arguments (NULL when absent; limit
 * defaults to 500). NB_ERR_NOT_FOUND when the tail is not such a path. */
typedef struct sr_page {
    char key[NB_KEY_MAX];
    char after[KV_UUID_LEN + 1]; /* "" when from the start */
    int limit;
} sr_page;

nb_err ps_sr_page_read(const char *tail, const char *after, const char *limit, sr_page *out,
                       char *why, size_t whylen);

/* POST /v1/evaluations: {"event", "key", "results": [{"subscription",
 * "state_version", "state", "alert"?}]}. results: the array as compact JSON
 * text. */
typedef struct sr_evaluations {
    char event[KV_UUID_LEN + 1];
    char *results;
    int n;
} sr_evaluations;

nb_err ps_sr_evaluations_read(const char *body, size_t len, sr_evaluations *out, char *why,
                              size_t whylen);
void ps_sr_evaluations_release(sr_evaluations *e);

/* POST /v1/mails/claim: {"owner", "limit", "lease_ms"}. */
typedef struct sr_claim {
    char owner[SR_OWNER_MAX + 1];
    int limit;
    long lease_ms;
} sr_claim;

nb_err ps_sr_claim_read(const char *body, size_t len, sr_claim *out, char *why, size_t whylen);

/* POST /v1/mails/sent: {"owner"?, "ids": [uuid, ...]}. ids[i] point into
 * storage owned by the struct. */
typedef struct sr_sent {
    int n;
    const char **ids;
    char (*id)[KV_UUID_LEN + 1];
} sr_sent;

nb_err ps_sr_sent_read(const char *body, size_t len, sr_sent *out, char *why, size_t whylen);
void ps_sr_sent_release(sr_sent *s);

/* POST /v1/mails/failed: {"owner", "id", "permanent", "retry_in_ms",
 * "error"?}. error: at most SR_ERROR_MAX bytes of it, cut between
 * characters ("" when absent). */
typedef struct sr_failed {
    char owner[SR_OWNER_MAX + 1];
    char id[KV_UUID_LEN + 1];
    bool permanent;
    long retry_in_ms;
    char error[SR_ERROR_MAX + 1];
} sr_failed;

nb_err ps_sr_failed_read(const char *body, size_t len, sr_failed *out, char *why, size_t whylen);

#endif
