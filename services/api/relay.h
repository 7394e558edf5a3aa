/* relay.h — the outbox relay: events persistence stored with the records
 * (its transactional outbox) go to Kafka, at least once, whatever happens.
 *
 * One thread loops: claim a batch with a lease (POST /v1/outbox/claim) →
 * produce each event (key = location key, value = the event as persistence
 * made it) → wait for the delivery reports → mark the delivered ones sent
 * (ack) → release the claims on the others (they stay in the outbox). An
 * event is acked only after its delivery report, so an outage of any length,
 * a SIGTERM or a SIGKILL loses none: what is not acked stays in PostgreSQL and
 * is claimed again — by this relay, another replica's, or the next api — when
 * released or when its lease ends. Kafka messages time out after half the
 * lease, so a report always comes before the claim runs out.
 *
 * A write that created an event wakes the relay (api_relay_wake); otherwise it
 * polls every poll_ms, backing off while Kafka or persistence fail.
 * Threads: api_relay_wake from any thread (cheap, never blocks). */
#ifndef API_RELAY_H
#define API_RELAY_H

#include <stdint.h>

#include "broker.h"
#include "nimbus/buf.h"
#include "store.h"

typedef struct relay relay;

typedef struct relay_opts {
    const char *owner; /* claim owner, 1..64 chars (NULL: host:pid:random) */
    long batch;        /* events per claim, 1..1000 */
    long lease_ms;     /* claim lease, >= 1000 */
    long poll_ms;      /* idle poll interval */
} relay_opts;

/* br NULL: no broker configured — nothing is relayed (events wait in the
 * outbox), said once. NULL on no memory. Registers the relay's metrics. */
relay *api_relay_new(store *st, broker *br, const relay_opts *o);
void api_relay_wake(void *r);
/* Shutdown: claims no more; waits for outstanding delivery reports until
 * flush_deadline_ms (monotonic), acks what was delivered, gives the broker
 * up on the rest and releases their claims (each call bounded by
 * release_timeout_ms). Returns at once; api_relay_join waits. */
void api_relay_stop(relay *r, int64_t flush_deadline_ms, long release_timeout_ms);
void api_relay_join(relay *r);
/* Stops (at once) if needed and frees. */
void api_relay_free(relay *r);
/* JSON fields (no braces) for /readyz: "outbox_pending", "outbox_oldest_age_s",
 * "events_in_flight". */
void api_relay_status(relay *r, nb_buf *out);

#endif
