/* subs.h — email subscriptions and their mail queue, on PostgreSQL.
 *
 * Tables (schema.c, migration 3): subscriptions (address, place, rules,
 * quiet hours, status pending → active → unsubscribed, the notifier's rule
 * state with a version), subscription_tokens (only the SHA-256 of each
 * token, its purpose and its expiry) and mails (the queue: a confirmation
 * per subscription request, at most one alert per subscription and event).
 *
 * Tokens exist in plaintext only in the answer to a claim: when the notifier
 * claims a mail for sending, a fresh random token (32 bytes, base64url) is
 * minted for it — "confirm" for a confirmation, "manage" for an alert — and
 * only its hash is kept, with an expiry. Any token opens its subscription
 * (view, unsubscribe); only a confirm token confirms.
 *
 * Every operation is one transaction on the calling thread's connection of
 * the kv_pg instance (kv_pg_conn), bounded by the configured deadline.
 * Errors: NB_ERR_NOT_FOUND (no such token, or expired), NB_ERR_CONFLICT,
 * NB_ERR_RATE_LIMITED (caps), NB_ERR_UNAVAILABLE / NB_ERR_TIMEOUT (the
 * database), NB_ERR_INTERNAL. Threads: any, concurrently. */
#ifndef NIMBUS_PERSISTENCE_SUBS_H
#define NIMBUS_PERSISTENCE_SUBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "kv.h"
#include "nimbus/err.h"

typedef struct subs_opts {
    kv *db;             /* a kv_pg instance (borrowed; outlives subs) */
    int timeout_ms;     /* deadline of one operation */
    long confirm_ttl_s; /* life of a confirm token */
    long manage_ttl_s;  /* life of a manage token (the links in alerts) */
    long retention_s;   /* unsubscribed or never confirmed subscriptions, finished mails */
} subs_opts;

typedef struct subs subs;

subs *ps_subs_new(const subs_opts *o);
void ps_subs_free(subs *s);

/* A subscription request; strings borrowed, rules/quiet canonical JSON text. */
typedef struct subs_request {
    const char *email, *email_canonical;
    const char *place_key, *place_name, *timezone;
    const char *rules, *quiet;    /* quiet: "null" for none */
    const char *client;           /* who asked (an address), for the per-client cap */
    long cap_address, cap_client; /* confirmation mails per hour; 0 = no cap */
} subs_request;

/* Creates a pending subscription and queues its confirmation mail, in one
 * transaction, unless a cap is reached (NB_ERR_RATE_LIMITED, err says which
 * and when to retry). *view: the subscription (new reference). */
nb_err ps_subs_create(subs *s, const subs_request *r, json_t **view, nb_error *err);

/* The subscription a token opens; purpose receives "confirm" or "manage". */
nb_err ps_subs_lookup(subs *s, const char *token, json_t **view, char purpose[16]);
/* Confirms with a confirm token: pending → active (an active subscription
 * of the same address and place is replaced); active stays active;
 * NB_ERR_CONFLICT for an unsubscribed one. */
nb_err ps_subs_confirm(subs *s, const char *token, json_t **view, nb_error *err);
/* Unsubscribes with any token (idempotent); queued mails are cancelled. */
nb_err ps_subs_unsubscribe(subs *s, const char *token, json_t **view);

/* One page of the active subscriptions of key ordered by id, after `after`
 * (NULL: from the start): *page = {"subscriptions":[...],"next":id|null}. */
nb_err ps_subs_of_place(subs *s, const char *key, const char *after, int limit, json_t **page);

/* Applies the notifier's results for an event (results: the JSON array
 * text of {"subscription","state_version","state","alert"?}): each state
 * is written if its version still matches, and each alert is queued once
 * per (subscription, event). */
nb_err ps_subs_evaluations(subs *s, const char *event_id, const char *results, int *applied,
                           int *mails);

/* Claims up to limit due mails for owner for lease_ms, minting a token for
 * each: *mails = [{"id","kind","attempts","email","subscription":{...},
 * "payload","token","token_expires_at"}]. Purges old rows now and then. */
nb_err ps_subs_claim(subs *s, const char *owner, int limit, long lease_ms, json_t **mails);
/* Marks mails sent (ids: UUID strings); *n counts those not sent before. */
nb_err ps_subs_sent(subs *s, const char *const *ids, int nids, int *n);
/* Hands back a claimed mail: retried after retry_in_ms, or failed for good.
 * NB_ERR_NOT_FOUND when owner does not hold it. */
nb_err ps_subs_failed(subs *s, const char *owner, const char *id, bool permanent, long retry_in_ms,
                      const char *error);
/* Mails not sent yet and the age of the oldest. */
nb_err ps_subs_mail_stats(subs *s, long *pending, double *oldest_age_s);

#endif
