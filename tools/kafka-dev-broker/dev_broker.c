/* dev_broker.c — librdkafka mock cluster wrapped as a development broker.
 *
 * The cluster is created through `test.mock.num.brokers` on a producer handle:
 * librdkafka then points that handle's bootstrap.servers at the mock brokers,
 * so the same handle can ask for metadata over the wire to prove a topic exists.
 * Ownership: kdb_broker owns the handle, and the handle owns the cluster. */
#include "dev_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/log.h"

struct kdb_broker {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mcluster; /* borrowed from rk */
    bool up;
};

/* librdkafka's own log lines (called on its threads; nb_log is thread-safe).
 * The handle's own connection failures (FAIL) are expected while the brokers
 * are down on purpose: debug level. */
static void kdb_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    bool serious = level <= 3 && strcmp(fac, "FAIL") != 0;

    nb_log(serious ? NB_LOG_WARN : NB_LOG_DEBUG, "rdkafka %s: %s", fac, buf);
}

static void kdb_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    nb_debug("rdkafka error %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static bool kdb_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char errstr[256];

    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        nb_error("rdkafka config %s=%s: %s", name, value, errstr);
        return false;
    }
    return true;
}

nb_err kdb_open(int broker_cnt, kdb_broker **out)
{
    nb_err err = NB_ERR_INTERNAL;
    char errstr[512];
    char cnt[16];
    rd_kafka_conf_t *conf = NULL;
    kdb_broker *b = calloc(1, sizeof(*b));

    if (!b) return NB_ERR_NOMEM;
    conf = rd_kafka_conf_new();
    if (!conf) {
        err = NB_ERR_NOMEM;
        goto out_free_broker;
    }
    snprintf(cnt, sizeof(cnt), "%d", broker_cnt);
    if (!kdb_conf_set(conf, "test.mock.num.brokers", cnt) ||
        !kdb_conf_set(conf, "client.id", "kafka-dev-broker")) {
        err = NB_ERR_INVALID;
        goto out_free_conf;
    }
    rd_kafka_conf_set_log_cb(conf, kdb_log_cb);
    rd_kafka_conf_set_error_cb(conf, kdb_error_cb);
    b->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!b->rk) {
        nb_error("rd_kafka_new: %s", errstr);
        goto out_free_conf;
    }
    conf = NULL; /* owned by rk now */
    b->mcluster = rd_kafka_handle_mock_cluster(b->rk);
    if (!b->mcluster) {
        nb_error("librdkafka made no mock cluster (test.mock.num.brokers unsupported?)");
        goto out_destroy_rk;
    }
    b->up = true;
    *out = b;
    return NB_OK;

out_destroy_rk:
    rd_kafka_destroy(b->rk);
out_free_conf:
    if (conf) rd_kafka_conf_destroy(conf);
out_free_broker:
    free(b);
    return err;
}

/* True when metadata lists the topic with `partitions` partitions, each with a leader. */
static bool kdb_topic_ready(kdb_broker *b, const char *topic, int partitions, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    bool ready = false;

    /* all_topics=1: asking for one topic by name could auto-create it. */
    if (rd_kafka_metadata(b->rk, 1, NULL, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return false;
    for (int i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];

        if (strcmp(t->topic, topic) != 0 || t->err || t->partition_cnt != partitions) continue;
        ready = true;
        for (int p = 0; p < t->partition_cnt; p++)
            if (t->partitions[p].err || t->partitions[p].leader < 0) ready = false;
    }
    rd_kafka_metadata_destroy(md);
    return ready;
}

static long long kdb_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

nb_err kdb_create_topic(kdb_broker *b, const char *topic, int partitions, int timeout_ms)
{
    rd_kafka_resp_err_t rerr;
    long long deadline = kdb_now_ms() + timeout_ms;

    rerr = rd_kafka_mock_topic_create(b->mcluster, topic, partitions, 1);
    if (rerr) {
        nb_error("creating topic %s: %s", topic, rd_kafka_err2str(rerr));
        return NB_ERR_INTERNAL;
    }
    for (;;) {
        long long left = deadline - kdb_now_ms();

        if (left <= 0) {
            nb_error("topic %s not visible in metadata after %d ms", topic, timeout_ms);
            return NB_ERR_TIMEOUT;
        }
        if (kdb_topic_ready(b, topic, partitions, (int)(left < 1000 ? left : 1000))) return NB_OK;
    }
}

const char *kdb_bootstraps(const kdb_broker *b)
{
    return rd_kafka_mock_cluster_bootstraps(b->mcluster);
}

nb_err kdb_set_down(kdb_broker *b)
{
    rd_kafka_resp_err_t rerr = rd_kafka_mock_broker_set_down(b->mcluster, -1);

    if (rerr) {
        nb_error("setting brokers down: %s", rd_kafka_err2str(rerr));
        return NB_ERR_INTERNAL;
    }
    b->up = false;
    return NB_OK;
}

nb_err kdb_set_up(kdb_broker *b)
{
    rd_kafka_resp_err_t rerr = rd_kafka_mock_broker_set_up(b->mcluster, -1);

    if (rerr) {
        nb_error("setting brokers up: %s", rd_kafka_err2str(rerr));
        return NB_ERR_INTERNAL;
    }
    b->up = true;
    return NB_OK;
}

bool kdb_is_up(const kdb_broker *b)
{
    return b->up;
}

void kdb_close(kdb_broker *b)
{
    if (!b) return;
    rd_kafka_destroy(b->rk);
    free(b);
}
