/* events.h — notification events on Kafka (librdkafka producer).
 *
 * One event per new observation (proto/event.schema.json), key = location
 * key. Messages never time out while the process lives (message.timeout.ms=0),
 * so events produced while the broker is down are delivered when it is back;
 * idempotence is off (librdkafka 2.0.2 pitfall) and consumers deduplicate on
 * the event id. A thread polls for delivery reports. Thread-safe. */
#ifndef API_EVENTS_H
#define API_EVENTS_H

#include "api_config.h"
#include "nimbus/err.h"
#include "nimbus/record.h"

typedef struct events events;

/* NULL with a logged reason when the producer cannot be created. With empty
 * kafka_brokers a disabled publisher is returned (events are counted only). */
events *events_new(const api_config *cfg);
/* Publishes the observation of r; name may be NULL. */
nb_err events_publish(events *ev, const nb_record *r, const char *name);
/* Messages produced but not yet delivered. */
long events_pending(events *ev);
/* Flushes for up to flush_ms (logging what is left undelivered), then frees. */
void events_free(events *ev, long flush_ms);

#endif
