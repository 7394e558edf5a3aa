/* dev_broker.h — a Kafka broker for development: librdkafka's mock cluster.
 *
 * The mock cluster speaks the real Kafka protocol on loopback TCP ports, keeps
 * produced messages in memory for the life of the process (also across a
 * down/up cycle) and lives inside an rd_kafka_t handle that this module owns.
 * kdb_open() creates both; kdb_close() destroys both (the messages go with them).
 *
 * Threads: all functions are for one thread (main); librdkafka runs the mock
 * brokers on its own internal threads. */
#ifndef KDB_DEV_BROKER_H
#define KDB_DEV_BROKER_H

#include <stdbool.h>

#include "nimbus/err.h"

typedef struct kdb_broker kdb_broker;

/* Starts a mock cluster of broker_cnt brokers (ids 1..broker_cnt).
 * On success *out is a new broker the caller frees with kdb_close(). */
nb_err kdb_open(int broker_cnt, kdb_broker **out);

/* Creates the topic and waits (bounded by timeout_ms) until a metadata request
 * over the Kafka protocol lists it with all partitions led by a broker. */
nb_err kdb_create_topic(kdb_broker *b, const char *topic, int partitions, int timeout_ms);

/* "host:port,host:port" of all brokers. Borrowed, valid until kdb_close(). */
const char *kdb_bootstraps(const kdb_broker *b);

/* Takes all brokers down (connections dropped, new ones refused) or back up.
 * Stored messages are kept. */
nb_err kdb_set_down(kdb_broker *b);
nb_err kdb_set_up(kdb_broker *b);
bool kdb_is_up(const kdb_broker *b);

/* Destroys the cluster and its handle. NULL is a no-op. */
void kdb_close(kdb_broker *b);

#endif
