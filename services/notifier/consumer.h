/* consumer.h — the notifier's Kafka consumer: events in, alerts queued.
 *
 * A consumer group member on the events topic (key = location key, so one
 * place's events are read in order by one notifier at a time). For each
 * event: the active subscriptions of its place (paged from persistence),
 * the stored record (forecast, UTC offset), the rules evaluated per
 * subscriber (rules_eval.h), and the results — new rule state and, for a
 * match, the alert's payload — POSTed to persistence, which applies them in
 * one transaction and queues at most one mail per (subscription, event).
 * Only then is the message's offset stored (enable.auto.offset.store=false;
 * the stored offsets are committed in the background): at least once, and a
 * replay finds the mail queued and the state moved on, so it sends nothing
 * twice. A failure (persistence down) seeks back to the message and retries
 * it with backoff; a malformed event is logged, counted and skipped.
 *
 * One thread polls; nt_consumer_stop() leaves the group cleanly (committing
 * what was stored). Metrics: nimbus_notifier_events_total{result},
 * nimbus_notifier_matches_total, nimbus_notifier_consumer_lag,
 * nimbus_notifier_partitions. */
#ifndef NOTIFIER_CONSUMER_H
#define NOTIFIER_CONSUMER_H

#include <stdbool.h>

#include "nimbus/buf.h"
#include "nimbus/err.h"
#include "nimbus/queue.h"
#include "notifier_config.h"
#include "store_client.h"

typedef struct nt_consumer nt_consumer;

/* cfg, store and doorbell are borrowed and must outlive the consumer. A
 * non-NULL item is pushed to doorbell when alerts were queued (the mailer
 * wakes). NULL with a logged reason when librdkafka refuses the settings. */
nt_consumer *nt_consumer_new(const nt_config *cfg, nt_store *store, nb_queue *doorbell);
/* Subscribes to the topic and starts the polling thread. */
nb_err nt_consumer_start(nt_consumer *c);
/* Stops the thread, leaves the group (committing stored offsets), frees. */
void nt_consumer_free(nt_consumer *c);
/* For /readyz: {"kafka":"assigned|joining","partitions":n,"lag":n}; true
 * once the group has given this member its share (possibly none). */
bool nt_consumer_ready(nt_consumer *c, nb_buf *out);

#endif
