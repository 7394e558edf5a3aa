/* broker.h — the api's seam to the message broker (Kafka): a table of
 * operations plus the backend's state. broker_kafka.c is the librdkafka
 * producer; the unit tests use an in-memory double.
 *
 * A produced message is reported exactly once, later, through the report
 * function set with api_broker_on_report(): delivered (NB_OK: the broker has it)
 * or failed (timed out, purged, refused). Reports run on the broker's own
 * thread and must not block.
 * Threads: produce / purge from any thread. */
#ifndef API_BROKER_H
#define API_BROKER_H

#include <stddef.h>

#include "nimbus/err.h"

typedef struct broker broker;

/* msg: the opaque pointer given to produce. reason: why it failed ("" when delivered). */
typedef void (*broker_report_fn)(void *ctx, void *msg, nb_err result, const char *reason);

typedef struct broker_ops {
    const char *name; /* "kafka", "mem" */
    /* Queues a message (key and value are copied). NB_ERR_UNAVAILABLE when it
     * was refused at once: no report follows then. */
    nb_err (*produce)(broker *b, const char *key, const char *value, size_t len, void *msg);
    /* Gives up on every message not yet delivered: each is reported failed
     * before this returns (or within a second at most). */
    void (*purge)(broker *b);
    void (*free)(broker *b);
} broker_ops;

/* Every backend embeds this as its first member. */
struct broker {
    const broker_ops *ops;
    broker_report_fn report;
    void *report_ctx;
};

/* Sets where reports go; call before the first produce. */
static inline void api_broker_on_report(broker *b, broker_report_fn fn, void *ctx)
{
    b->report = fn;
    b->report_ctx = ctx;
}
static inline nb_err api_broker_produce(broker *b, const char *key, const char *value, size_t len,
                                        void *msg)
{
    return b->ops->produce(b, key, value, len, msg);
}
static inline void api_broker_purge(broker *b)
{
    b->ops->purge(b);
}
static inline void api_broker_free(broker *b)
{
    if (b) b->ops->free(b);
}

#endif
