/* events.c — Kafka producer of weather.observation events. */
#include "events.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "nimbus/clock.h"
#include "nimbus/json.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"
#include "nimbus/wmo.h"

struct events {
    rd_kafka_t *rk;
    char topic[256];
    pthread_t poller;
    atomic_bool running;
    _Atomic int64_t last_error_log_ms;
    nb_counter *produced, *delivered, *failed;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    events *ev = opaque;
    if (m->err) {
        nb_counter_inc(ev->failed);
        nb_error("event for %.*s not delivered: %s", (int)m->key_len, (const char *)m->key,
                 rd_kafka_err2str(m->err));
    } else {
        nb_counter_inc(ev->delivered);
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    events *ev = opaque;
    int64_t now = nb_mono_ms(), last = atomic_load(&ev->last_error_log_ms);
    if (now - last < 10000) return; /* an outage repeats this every second */
    atomic_store(&ev->last_error_log_ms, now);
    nb_warn("kafka: %s (events are kept and delivered when the broker is back)", reason);
}

static void *poll_main(void *arg)
{
    events *ev = arg;
    while (atomic_load(&ev->running))
        rd_kafka_poll(ev->rk, 100);
    return NULL;
}

static int64_t pending_metric(void *arg)
{
    return events_pending(arg);
}

static bool set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) == RD_KAFKA_CONF_OK) return true;
    nb_error("kafka setting %s=%s: %s", k, v, err);
    return false;
}

events *events_new(const api_config *cfg)
{
    events *ev = calloc(1, sizeof(*ev));
    if (!ev) return NULL;
    snprintf(ev->topic, sizeof(ev->topic), "%s", cfg->kafka_topic);
    ev->produced = nb_counter_new("nimbus_events_total", "result=\"produced\"",
                                  "Notification events by result");
    ev->delivered = nb_counter_new("nimbus_events_total", "result=\"delivered\"",
                                   "Notification events by result");
    ev->failed =
        nb_counter_new("nimbus_events_total", "result=\"failed\"", "Notification events by result");
    nb_gauge_fn_new("nimbus_events_pending", NULL, "Events produced and not yet delivered",
                    pending_metric, ev);
    if (!cfg->kafka_brokers[0]) {
        nb_warn("no kafka-brokers set: notification events are not published");
        return ev;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];
    if (!set(conf, "bootstrap.servers", cfg->kafka_brokers) ||
        !set(conf, "client.id", "nimbus-api") || !set(conf, "acks", "all") ||
        !set(conf, "enable.idempotence", "false") || !set(conf, "message.timeout.ms", "0") ||
        !set(conf, "linger.ms", "5") || !set(conf, "reconnect.backoff.ms", "100") ||
        !set(conf, "reconnect.backoff.max.ms", "1000") ||
        !set(conf, "queue.buffering.max.messages", "1000000")) {
        rd_kafka_conf_destroy(conf);
        free(ev);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, ev);
    ev->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!ev->rk) {
        nb_error("cannot create the kafka producer: %s", err);
        free(ev);
        return NULL;
    }
    atomic_store(&ev->running, true);
    if (pthread_create(&ev->poller, NULL, poll_main, ev) != 0) {
        rd_kafka_destroy(ev->rk);
        free(ev);
        return NULL;
    }
    return ev;
}

static void uuid_v4(char out[37])
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != sizeof(b)) {
        uint64_t t = (uint64_t)nb_now_ms() ^ (uint64_t)nb_mono_ms() << 20;
        for (int i = 0; i < 16; i++)
            b[i] = (unsigned char)(t >> ((i % 8) * 8)) ^ (unsigned char)i;
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

nb_err events_publish(events *ev, const nb_record *r, const char *name)
{
    char id[37], now[40], fetched[40];
    uuid_v4(id);
    nb_time_rfc3339(nb_now_ms(), now, sizeof(now));
    nb_time_rfc3339(r->fetched_at_ms, fetched, sizeof(fetched));
    const nb_current *c = &r->current;
    json_t *loc = json_pack("{s:f, s:f, s:s}", "latitude", r->latitude, "longitude", r->longitude,
                            "timezone", r->timezone);
    if (name && *name) json_object_set_new(loc, "name", json_string(name));
    json_t *obs = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:s}", "time", c->time, "temperature",
        nb_json_num(c->temperature), "apparent_temperature", nb_json_num(c->apparent_temperature),
        "relative_humidity", nb_json_num(c->relative_humidity), "wind_speed",
        nb_json_num(c->wind_speed), "weather_code", nb_json_int(c->weather_code), "condition",
        nb_wmo_condition_of(c->weather_code));
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "id", id, "type",
                            "weather.observation", "time", now, "key", r->key, "location", loc,
                            "observation", obs, "fetched_at", fetched);
    char *payload = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(doc);
    if (!payload) return NB_ERR_NOMEM;
    nb_counter_inc(ev->produced);
    nb_err e = NB_OK;
    if (ev->rk) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            ev->rk, RD_KAFKA_V_TOPIC(ev->topic), RD_KAFKA_V_KEY(r->key, strlen(r->key)),
            RD_KAFKA_V_VALUE(payload, strlen(payload)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_END);
        if (err) {
            nb_counter_inc(ev->failed);
            nb_error("event for %s not queued: %s", r->key, rd_kafka_err2str(err));
            e = NB_ERR_UNAVAILABLE;
        } else {
            nb_info("event %s queued for %s (observation %s)", id, r->key, c->time);
        }
    }
    free(payload);
    return e;
}

long events_pending(events *ev)
{
    return ev->rk ? rd_kafka_outq_len(ev->rk) : 0;
}

void events_free(events *ev, long flush_ms)
{
    if (!ev) return;
    if (ev->rk) {
        atomic_store(&ev->running, false);
        pthread_join(ev->poller, NULL);
        rd_kafka_flush(ev->rk, (int)flush_ms);
        int left = rd_kafka_outq_len(ev->rk);
        if (left > 0) nb_error("shutdown: %d events not delivered to Kafka are lost", left);
        rd_kafka_destroy(ev->rk);
    }
    free(ev);
}
