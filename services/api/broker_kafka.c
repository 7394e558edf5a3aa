/* broker_kafka.c — the librdkafka producer behind broker.h. */
#include "broker_kafka.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/clock.h"
#include "nimbus/log.h"

typedef struct broker_kafka {
    broker base;
    rd_kafka_t *rk;
    char topic[256];
    pthread_t poller;
    atomic_bool running;
    atomic_long in_flight;
    _Atomic int64_t last_error_log_ms;
} broker_kafka;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    broker_kafka *k = opaque;
    nb_err result = m->err ? NB_ERR_UNAVAILABLE : NB_OK;
    const char *reason = m->err ? rd_kafka_err2str(m->err) : "";
    if (k->base.report) k->base.report(k->base.report_ctx, m->_private, result, reason);
    atomic_fetch_sub(&k->in_flight, 1); /* after the report: purge waits for it */
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    broker_kafka *k = opaque;
    int64_t now = nb_mono_ms(), last = atomic_load(&k->last_error_log_ms);
    if (now - last < 10000) return; /* an outage repeats this every second */
    atomic_store(&k->last_error_log_ms, now);
    nb_warn("kafka: %s (events stay in the outbox until delivered)", reason);
}

static void *poll_main(void *arg)
{
    broker_kafka *k = arg;
    while (atomic_load(&k->running))
        rd_kafka_poll(k->rk, 100);
    return NULL;
}

static nb_err kafka_produce(broker *b, const char *key, const char *value, size_t len, void *msg)
{
    broker_kafka *k = (broker_kafka *)b;
    atomic_fetch_add(&k->in_flight, 1);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        k->rk, RD_KAFKA_V_TOPIC(k->topic), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(msg), RD_KAFKA_V_END);
    if (!err) return NB_OK;
    atomic_fetch_sub(&k->in_flight, 1);
    nb_warn("kafka: message for %s not queued: %s", key, rd_kafka_err2str(err));
    return NB_ERR_UNAVAILABLE;
}

static void kafka_purge(broker *b)
{
    broker_kafka *k = (broker_kafka *)b;
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    /* The poll thread serves the purged messages' reports; wait for them. */
    int64_t until = nb_mono_ms() + 1000;
    while (atomic_load(&k->in_flight) > 0 && nb_mono_ms() < until) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void kafka_free(broker *b)
{
    broker_kafka *k = (broker_kafka *)b;
    if (k->rk) {
        if (atomic_load(&k->running)) {
            atomic_store(&k->running, false);
            pthread_join(k->poller, NULL);
        }
        rd_kafka_destroy(k->rk);
    }
    free(k);
}

static const broker_ops kafka_ops = {
    .name = "kafka",
    .produce = kafka_produce,
    .purge = kafka_purge,
    .free = kafka_free,
};

static bool set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) == RD_KAFKA_CONF_OK) return true;
    nb_error("kafka setting %s=%s: %s", k, v, err);
    return false;
}

broker *api_broker_kafka_new(const char *brokers, const char *topic, long message_timeout_ms)
{
    broker_kafka *k = calloc(1, sizeof(*k));
    if (!k) return NULL;
    k->base.ops = &kafka_ops;
    snprintf(k->topic, sizeof(k->topic), "%s", topic);
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%ld", message_timeout_ms);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!set(conf, "bootstrap.servers", brokers) || !set(conf, "client.id", "nimbus-api") ||
        !set(conf, "acks", "all") || !set(conf, "enable.idempotence", "false") ||
        !set(conf, "message.timeout.ms", timeout) || !set(conf, "linger.ms", "5") ||
        !set(conf, "reconnect.backoff.ms", "100") ||
        !set(conf, "reconnect.backoff.max.ms", "1000") ||
        !set(conf, "queue.buffering.max.messages", "100000")) {
        rd_kafka_conf_destroy(conf);
        free(k);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, k);
    char err[512];
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!k->rk) {
        nb_error("cannot create the kafka producer: %s", err);
        rd_kafka_conf_destroy(conf); /* still ours when rd_kafka_new fails */
        free(k);
        return NULL;
    }
    atomic_store(&k->running, true);
    if (pthread_create(&k->poller, NULL, poll_main, k) != 0) {
        atomic_store(&k->running, false);
        kafka_free(&k->base);
        return NULL;
    }
    return &k->base;
}
