/* store_client.h — the notifier's client of persistence's HTTP interface
 * (the notifier knows nothing of PostgreSQL): records, the active
 * subscriptions of a place, evaluation results, and the mail queue.
 * Blocking calls bounded by the configured timeout; thread-safe (per-thread
 * curl handles, nimbus/http_client.h). Routes: docs/api-reference.md,
 * "Persistence: subscriptions and mails". */
#ifndef NOTIFIER_STORE_CLIENT_H
#define NOTIFIER_STORE_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "mail_render.h"
#include "nimbus/err.h"
#include "nimbus/record.h"

typedef struct nt_store nt_store;

/* base_url: persistence, e.g. "http://127.0.0.1:8081" (copied). */
nt_store *nt_store_new(const char *base_url, long timeout_ms);
void nt_store_free(nt_store *s);

/* The stored record of key: NB_OK, NB_ERR_NOT_FOUND, or a transport error. */
nb_err nt_store_record(nt_store *s, const char *key, nb_record *out);

/* One page of the active subscriptions of key, ordered by id, after the id
 * `after` ("" for the first page). *page receives the JSON array (new
 * reference), *next the cursor for the next page ("" when this was the last). */
nb_err nt_store_subscriptions(nt_store *s, const char *key, const char *after, int limit,
                              json_t **page, char next[40]);

/* POSTs evaluation results (body: {"event","key","results":[...]}; borrowed).
 * *mails: alerts queued by this call (a replayed event queues none). */
nb_err nt_store_evaluations(nt_store *s, const json_t *body, int *mails);

/* Claims up to max mails due for sending for owner, leased for lease_ms.
 * out[0..*n) are filled (release each with nt_mail_release). */
nb_err nt_store_claim(nt_store *s, const char *owner, int max, long lease_ms, nt_mail *out, int *n);
/* The mail went out: mark it sent. */
nb_err nt_store_sent(nt_store *s, const char *owner, const char *id);
/* Sending failed: retry after retry_in_ms, or never when permanent. */
nb_err nt_store_failed(nt_store *s, const char *owner, const char *id, bool permanent,
                       long retry_in_ms, const char *error);
/* Mails waiting to be sent, and the age of the oldest one (for /metrics). */
nb_err nt_store_mail_stats(nt_store *s, long *pending, double *oldest_age_s);

/* True when persistence's /readyz answers 200. */
bool nt_store_ready(nt_store *s);

#endif
