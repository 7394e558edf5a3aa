/* doubles.h — in-memory stand-ins for the api's clients (persistence, the
 * upstream), behind the same ops tables as the real ones, with knobs for
 * latency, failures and a pause, and counters the tests assert on.
 * Thread-safe. */
#ifndef API_TEST_DOUBLES_H
#define API_TEST_DOUBLES_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "store.h"
#include "upstream.h"

/* ---- persistence ---- */
typedef struct store_mem store_mem;

store_mem *store_mem_new(void);
store *store_mem_base(store_mem *m);
/* Stores rec as if persistence held it (source "cache"). */
void store_mem_put_record(store_mem *m, const nb_record *rec);
/* The record stored for key (false if none). */
bool store_mem_get(store_mem *m, const char *key, nb_record *out);
/* Reads (records and geocoding) and writes block for ms, then fail with NB_ERR_TIMEOUT
 * when ms >= timeout_ms — like a persistence stopped with SIGSTOP. 0: off. */
void store_mem_pause_reads(store_mem *m, long ms, long timeout_ms);
/* PUTs to paths starting with prefix answer status (e.g. 400, 503); NULL: off. */
void store_mem_fail_puts(store_mem *m, const char *prefix, long status);
long store_mem_reads(store_mem *m);        /* get_record calls */
long store_mem_not_modified(store_mem *m); /* get_record calls answered "unchanged" (a 304) */
/* Record reads say Cache-Control: max-age=seconds (< 0, the default: no Cache-Control). */
void store_mem_max_age(store_mem *m, long seconds);
long store_mem_geo_reads(store_mem *m);                  /* get_geo calls */
long store_mem_puts(store_mem *m, const char *prefix);   /* PUT attempts to paths with prefix */
long store_mem_stored(store_mem *m, const char *prefix); /* PUTs that succeeded */
/* The last path PUT successfully under prefix ("" if none), copied into out. */
void store_mem_last_put(store_mem *m, const char *prefix, char *out, size_t outlen);

/* Coordination (persistence's leases, long polls and budget, in memory).
 * Several apps given the same store_mem are replicas of one service. */
/* Lease, long-poll and budget calls fail (NB_ERR_UNAVAILABLE) while true:
 * Redis down behind persistence. */
void store_mem_coord_down(store_mem *m, bool down);
long store_mem_lease_calls(store_mem *m); /* lease acquisitions asked */
long store_mem_leases_granted(store_mem *m);
long store_mem_waits(store_mem *m); /* long polls */
long store_mem_budget_calls(store_mem *m);
/* True while someone holds the lease of a record key. */
bool store_mem_lease_held(store_mem *m, const char *key);

/* Outbox (persistence's side of the contract, in memory). */
/* Adds an unsent event; returns its id (static storage per call is not kept:
 * out receives it). */
void store_mem_add_event(store_mem *m, const char *key, const char *observation, char out[40]);
long store_mem_unsent(store_mem *m);
long store_mem_acked(store_mem *m);
/* Claims held by owner now (unexpired, unsent). */
long store_mem_claimed_by(store_mem *m, const char *owner);
/* Events handed out by claims so far (an event claimed twice counts 2), and
 * outbox calls made (failed ones too). */
long store_mem_claims(store_mem *m);
long store_mem_outbox_calls(store_mem *m);
/* Outbox calls fail (NB_ERR_UNAVAILABLE) while true. */
void store_mem_outbox_down(store_mem *m, bool down);

/* Subscriptions created (POST /v1/subscriptions answered 201) so far; last
 * (may be NULL) receives the body of the latest. */
long store_mem_subscriptions(store_mem *m, char *last, size_t lastlen);
/* Creates answer status (e.g. 429) with Retry-After retry_after (NULL: none)
 * instead; 0: created again. */
void store_mem_subscriptions_answer(store_mem *m, long status, const char *retry_after);

/* ---- the upstream ---- */
typedef struct upstream_mem upstream_mem;

upstream_mem *upstream_mem_new(void);
upstream *upstream_mem_base(upstream_mem *u);
/* Every call waits ms first (cancel ends the wait). */
void upstream_mem_latency(upstream_mem *u, long ms);
/* Every call fails with e (NB_OK: off). */
void upstream_mem_fail(upstream_mem *u, nb_err e);
/* A place the geocoder knows (others are not found). */
void upstream_mem_place(upstream_mem *u, const char *query, const char *name, double lat,
                        double lon);
long upstream_mem_forecasts(upstream_mem *u);
long upstream_mem_geocodes(upstream_mem *u);
/* Calls in progress now. */
long upstream_mem_running(upstream_mem *u);

/* ---- the broker ---- */
typedef struct broker_mem broker_mem;

/* Messages not delivered within message_timeout_ms are reported failed. */
broker_mem *broker_mem_new(long message_timeout_ms);
/* Another producer (another api replica) on the same topic as same. */
broker_mem *broker_mem_new_on(broker_mem *same, long message_timeout_ms);
broker *broker_mem_base(broker_mem *b);
/* Down: messages wait (until their timeout); up: delivered within a few ms. */
void broker_mem_down(broker_mem *b, bool down);
/* Messages delivered to the topic so far, and how many of them carry event id. */
long broker_mem_delivered(broker_mem *b);
long broker_mem_count_id(broker_mem *b, const char *id);

/* A record for key fetched at fetched_at_ms, temperature t, observation time obs. */
void test_record(nb_record *r, const char *key, int64_t fetched_at_ms, double t, const char *obs);

#endif
