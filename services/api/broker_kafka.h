/* broker_kafka.h — the broker backend on librdkafka: one producer, acks=all,
 * idempotence off (librdkafka 2.0.2's fatal "sequence desynchronization"
 * after a broker disconnect; consumers deduplicate on the event id), and a
 * thread polling for delivery reports. An undelivered message is reported
 * failed after message_timeout_ms (the relay keeps it in the outbox and
 * tries again). */
#ifndef API_BROKER_KAFKA_H
#define API_BROKER_KAFKA_H

#include "broker.h"

/* brokers: bootstrap servers; topic: where every message goes. NULL (logged)
 * when the producer cannot be made. */
broker *api_broker_kafka_new(const char *brokers, const char *topic, long message_timeout_ms);

#endif
