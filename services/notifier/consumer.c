/* consumer.c — Kafka events to queued alerts (see consumer.h). */
#include "consumer.h"

#include <librdkafka/rdkafka.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_render.h"
#include "nimbus/backoff.h"
#include "nimbus/clock.h"
#include "nimbus/json.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"
#include "nimbus/rules.h"
#include "nimbus/wmo.h"
#include "rules_eval.h"

#define POLL_MS 200
#define LAG_EVERY_MS 1000
#define RECORD_WAIT_MS 3000 /* an event may arrive before its record is stored */
#define RETRY_BASE_MS 250
#define RETRY_MAX_MS 10000
#define RESULTS_PER_POST 25

struct nt_consumer {
    const nt_config *cfg;
    nt_store *store;
    nb_queue *doorbell;
    rd_kafka_t *rk;
    pthread_t thread;
    bool thread_started;
    atomic_bool running;
    atomic_int partitions; /* -1 until the group assigned this member its share */
    _Atomic int64_t lag;
    _Atomic int64_t last_error_log_ms;
    nb_counter *consumed, *skipped_old, *malformed, *retried, *matched, *queued;
};

typedef struct nt_event {
    char id[40];
    char key[NB_KEY_MAX];
    nt_obs obs;
} nt_event;

/* --- the event ---------------------------------------------------------- */

static bool uuid_like(const char *s)
{
    if (strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++) {
        char ch = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? ch != '-' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return false;
    }
    return true;
}

/* proto/event.schema.json → ev; false with *why when it is not one. */
static bool parse_event(const char *p, size_t len, nt_event *ev, const char **why)
{
    json_error_t jerr;
    json_t *j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
    bool ok = false;
    memset(ev, 0, sizeof(*ev));
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *key = json_string_value(json_object_get(j, "key"));
    const char *fetched = json_string_value(json_object_get(j, "fetched_at"));
    json_t *obs = json_object_get(j, "observation");
    const char *time = json_string_value(json_object_get(obs, "time"));
    const char *cond = json_string_value(json_object_get(obs, "condition"));
    if (!json_is_object(j))
        *why = "not a JSON object";
    else if (!type || strcmp(type, "weather.observation") != 0)
        *why = "type is not weather.observation";
    else if (!id || !uuid_like(id))
        *why = "id is not a UUID";
    else if (!key || !nb_location_key_valid(key, NULL, NULL))
        *why = "key is not a location key";
    else if (!fetched || !nb_time_parse_rfc3339(fetched, &ev->obs.fetched_at_ms))
        *why = "fetched_at is not an RFC 3339 time";
    else if (!json_is_object(obs) || !time || strlen(time) != 16)
        *why = "observation.time is missing";
    else
        ok = true;
    if (ok) {
        snprintf(ev->id, sizeof(ev->id), "%s", id);
        snprintf(ev->key, sizeof(ev->key), "%s", key);
        snprintf(ev->obs.time, sizeof(ev->obs.time), "%s", time);
        ev->obs.temperature = nb_json_get_num(obs, "temperature");
        ev->obs.apparent_temperature = nb_json_get_num(obs, "apparent_temperature");
        ev->obs.relative_humidity = nb_json_get_num(obs, "relative_humidity");
        ev->obs.wind_speed = nb_json_get_num(obs, "wind_speed");
        ev->obs.weather_code = nb_json_get_num(obs, "weather_code");
        snprintf(ev->obs.condition, sizeof(ev->obs.condition), "%s",
                 cond ? cond : nb_wmo_condition_of(ev->obs.weather_code));
    }
    json_decref(j);
    return ok;
}

/* --- one event ---------------------------------------------------------- */

/* The record of the event's place, waiting (bounded) for the one the event
 * announces: without an outbox the event may overtake the record's write.
 * NULL when there is none (rules then use the event alone). */
static nb_record *load_record(nt_consumer *c, const nt_event *ev, nb_err *err)
{
    nb_record *rec = malloc(sizeof(*rec));
    if (!rec) {
        *err = NB_ERR_NOMEM;
        return NULL;
    }
    int64_t deadline = nb_mono_ms() + RECORD_WAIT_MS;
    for (;;) {
        nb_err e = nt_store_record(c->store, ev->key, rec);
        if (e == NB_OK && rec->fetched_at_ms >= ev->obs.fetched_at_ms) return rec;
        if (e != NB_OK && e != NB_ERR_NOT_FOUND) {
            *err = e;
            free(rec);
            return NULL;
        }
        if (nb_mono_ms() >= deadline || !atomic_load(&c->running)) {
            if (e == NB_OK) return rec; /* an older record: its forecast still serves */
            nb_warn("event %s: no record stored for %s; rules use the event alone", ev->id,
                    ev->key);
            free(rec);
            return NULL;
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Evaluates one subscriber; appends its result to results. */
static void evaluate(nt_consumer *c, const nt_event *ev, const nb_record *rec, const json_t *sub,
                     json_t *results, int *matched)
{
    const char *id = json_string_value(json_object_get(sub, "id"));
    nb_rules rules;
    char why[200];
    if (!id) return;
    if (nb_rules_parse(json_object_get(sub, "rules"), json_object_get(sub, "quiet_hours"), &rules,
                       why, sizeof(why)) != NB_OK) {
        nb_warn("subscription %s has unreadable rules (%s): skipped", id, why);
        return;
    }
    nt_state st;
    nt_state_from_json(json_object_get(sub, "state"), &st);
    int64_t confirmed_ms = 0;
    const char *confirmed = json_string_value(json_object_get(sub, "confirmed_at"));
    if (confirmed) nb_time_parse_rfc3339(confirmed, &confirmed_ms);
    nt_eval_in in = {.rules = &rules,
                     .obs = &ev->obs,
                     .rec = rec,
                     .confirmed_ms = confirmed_ms,
                     .now_ms = nb_now_ms()};
    nt_match m[NB_RULES_MAX];
    int n;
    bool quiet;
    if (nt_evaluate(&in, &st, m, &n, &quiet) != NT_EVALUATED) return;
    json_t *r =
        json_pack("{s:s, s:O, s:o}", "subscription", id, "state_version",
                  json_object_get(sub, "state_version"), "state", nt_state_json(&st, rules.n));
    if (!r) return;
    if (n > 0) {
        char local[NT_LOCAL_LEN];
        nt_local_time(rec, &ev->obs, in.now_ms, local);
        json_object_set_new(r, "alert",
                            nt_alert_payload(ev->id, &ev->obs, rec, &rules, m, n, local));
        (*matched)++;
    } else if (quiet) {
        nb_debug("subscription %s: matches held back by quiet hours", id);
    }
    json_array_append_new(results, r);
}

/* POSTs results to persistence in chunks that stay well under its body cap
 * (an alert's payload is about 1.5 KB). */
static nb_err post_results(nt_consumer *c, const nt_event *ev, json_t *results, int *mails)
{
    size_t n = json_array_size(results);
    for (size_t from = 0; from < n; from += RESULTS_PER_POST) {
        json_t *chunk = json_array();
        for (size_t i = from; i < n && i < from + RESULTS_PER_POST; i++)
            json_array_append(chunk, json_array_get(results, i));
        json_t *body =
            json_pack("{s:s, s:s, s:o}", "event", ev->id, "key", ev->key, "results", chunk);
        int queued = 0;
        nb_err e = body ? nt_store_evaluations(c->store, body, &queued) : NB_ERR_NOMEM;
        json_decref(body);
        if (e) return e;
        *mails += queued;
    }
    return NB_OK;
}

/* Handles one event. NB_OK when it is done with (evaluated, or not worth
 * evaluating); an error when it must be tried again. */
static nb_err handle(nt_consumer *c, const nt_event *ev)
{
    int64_t age_s = (nb_now_ms() - ev->obs.fetched_at_ms) / 1000;
    if (age_s > c->cfg->max_event_age_s) {
        nb_counter_inc(c->skipped_old);
        nb_info("event %s for %s: observation fetched %lld s ago, not news: skipped", ev->id,
                ev->key, (long long)age_s);
        return NB_OK;
    }
    char after[40] = "", next[40];
    nb_record *rec = NULL;
    bool rec_loaded = false;
    int subs = 0, matched = 0, mails = 0;
    nb_err e = NB_OK;
    do {
        json_t *page = NULL;
        e = nt_store_subscriptions(c->store, ev->key, after, (int)c->cfg->subscriptions_page, &page,
                                   next);
        if (e) break;
        size_t n = json_array_size(page);
        if (n > 0 && !rec_loaded) {
            rec = load_record(c, ev, &e);
            rec_loaded = true;
            if (e) {
                json_decref(page);
                break;
            }
        }
        json_t *results = json_array();
        size_t i;
        json_t *sub;
        json_array_foreach(page, i, sub) evaluate(c, ev, rec, sub, results, &matched);
        subs += (int)n;
        json_decref(page);
        e = post_results(c, ev, results, &mails);
        json_decref(results);
        if (e) break;
        snprintf(after, sizeof(after), "%s", next);
    } while (after[0]);
    free(rec);
    if (e) return e;
    nb_counter_add(c->matched, (uint64_t)matched);
    nb_counter_add(c->queued, (uint64_t)mails);
    if (mails > 0) nb_queue_push(c->doorbell, c); /* a full doorbell already rings */
    nb_info("event %s for %s: %d subscription(s), %d matched, %d mail(s) queued", ev->id, ev->key,
            subs, matched, mails);
    return NB_OK;
}

/* --- the loop ----------------------------------------------------------- */

static void offset_store(nt_consumer *c, const rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset =
        m->offset + 1;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, l);
    if (err)
        nb_warn("offset %lld of partition %d not stored: %s (the event may be read again)",
                (long long)m->offset, (int)m->partition, rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

/* Reads m again on the next poll. */
static void seek_back(nt_consumer *c, const rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset =
        m->offset;
    rd_kafka_error_t *err = rd_kafka_seek_partitions(c->rk, l, 5000);
    if (err) {
        nb_warn("seek back to offset %lld failed: %s", (long long)m->offset,
                rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* Sleeps ms in short steps, returning early when the consumer stops. */
static void pause_ms(nt_consumer *c, long ms)
{
    int64_t until = nb_mono_ms() + ms;
    while (atomic_load(&c->running) && nb_mono_ms() < until) {
        rd_kafka_poll(c->rk, 0); /* error callbacks meanwhile */
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void update_lag(nt_consumer *c)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(c->rk, &l) || !l) return;
    rd_kafka_position(c->rk, l);
    int64_t lag = 0;
    for (int i = 0; i < l->cnt; i++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_get_watermark_offsets(c->rk, l->elems[i].topic, l->elems[i].partition, &lo,
                                           &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0)
            continue;
        int64_t pos = l->elems[i].offset >= 0 ? l->elems[i].offset : lo;
        if (hi > pos) lag += hi - pos;
    }
    atomic_store(&c->lag, lag);
    rd_kafka_topic_partition_list_destroy(l);
}

static void *consume_main(void *arg)
{
    nt_consumer *c = arg;
    int attempt = 0;
    int64_t next_lag = 0;
    nb_log_set_request_id("consumer");
    while (atomic_load(&c->running)) {
        if (nb_mono_ms() >= next_lag) {
            update_lag(c);
            next_lag = nb_mono_ms() + LAG_EVERY_MS;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, POLL_MS);
        if (!m) continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                nb_warn("kafka: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        nb_counter_inc(c->consumed);
        nt_event ev;
        const char *why = "";
        if (!parse_event(m->payload ? m->payload : "", m->len, &ev, &why)) {
            nb_counter_inc(c->malformed);
            nb_warn("malformed event at partition %d offset %lld skipped: %s", (int)m->partition,
                    (long long)m->offset, why);
            offset_store(c, m);
            rd_kafka_message_destroy(m);
            continue;
        }
        nb_log_set_request_id(ev.id);
        nb_err e = handle(c, &ev);
        if (e == NB_OK) {
            offset_store(c, m);
            attempt = 0;
        } else {
            long wait = nb_backoff_ms(attempt++, RETRY_BASE_MS, RETRY_MAX_MS);
            nb_counter_inc(c->retried);
            nb_warn("event %s for %s not handled (%s): retrying in %ld ms", ev.id, ev.key,
                    nb_err_code(e), wait);
            seek_back(c, m);
            pause_ms(c, wait);
        }
        nb_log_set_request_id("consumer");
        rd_kafka_message_destroy(m);
    }
    nb_log_set_request_id(NULL);
    return NULL;
}

/* --- setup -------------------------------------------------------------- */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    nt_consumer *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        atomic_store(&c->partitions, parts->cnt);
        nb_info("kafka: %d partition(s) of %s assigned", parts->cnt, c->cfg->kafka_topic);
    } else {
        rd_kafka_assign(rk, NULL);
        atomic_store(&c->partitions, 0);
        nb_info("kafka: partitions revoked (%s)", rd_kafka_err2str(err));
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    nt_consumer *c = opaque;
    int64_t now = nb_mono_ms(), last = atomic_load(&c->last_error_log_ms);
    if (now - last < 10000) return; /* an outage repeats this every second */
    atomic_store(&c->last_error_log_ms, now);
    nb_warn("kafka: %s", reason);
}

static bool set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) == RD_KAFKA_CONF_OK) return true;
    nb_error("kafka setting %s=%s: %s", k, v, err);
    return false;
}

static int64_t lag_metric(void *arg)
{
    return atomic_load(&((nt_consumer *)arg)->lag);
}

static int64_t partitions_metric(void *arg)
{
    int n = atomic_load(&((nt_consumer *)arg)->partitions);
    return n < 0 ? 0 : n;
}

nt_consumer *nt_consumer_new(const nt_config *cfg, nt_store *store, nb_queue *doorbell)
{
    nt_consumer *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->cfg = cfg;
    c->store = store;
    c->doorbell = doorbell;
    atomic_store(&c->partitions, -1);
    const char *help = "Events read from Kafka, by what became of them";
    c->consumed = nb_counter_new("nimbus_notifier_events_total", "result=\"consumed\"", help);
    c->skipped_old = nb_counter_new("nimbus_notifier_events_total", "result=\"too_old\"", help);
    c->malformed = nb_counter_new("nimbus_notifier_events_total", "result=\"malformed\"", help);
    c->retried = nb_counter_new("nimbus_notifier_events_total", "result=\"retried\"", help);
    c->matched = nb_counter_new("nimbus_notifier_matches_total", NULL,
                                "Subscribers whose rules matched an event");
    c->queued = nb_counter_new("nimbus_notifier_alerts_queued_total", NULL,
                               "Alert mails queued in persistence");
    nb_gauge_fn_new("nimbus_notifier_consumer_lag", NULL,
                    "Events in the assigned partitions not read yet", lag_metric, c);
    nb_gauge_fn_new("nimbus_notifier_partitions", NULL, "Partitions assigned to this notifier",
                    partitions_metric, c);

    char timeout[32], heartbeat[32], err[512];
    snprintf(timeout, sizeof(timeout), "%ld", cfg->kafka_session_timeout_ms);
    snprintf(heartbeat, sizeof(heartbeat), "%ld", cfg->kafka_session_timeout_ms / 3);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!set(conf, "bootstrap.servers", cfg->kafka_brokers) ||
        !set(conf, "group.id", cfg->kafka_group) || !set(conf, "client.id", "nimbus-notifier") ||
        !set(conf, "enable.auto.offset.store", "false") ||
        !set(conf, "enable.auto.commit", "true") || !set(conf, "auto.commit.interval.ms", "1000") ||
        !set(conf, "auto.offset.reset", "earliest") || !set(conf, "session.timeout.ms", timeout) ||
        !set(conf, "heartbeat.interval.ms", heartbeat) ||
        !set(conf, "reconnect.backoff.ms", "100") ||
        !set(conf, "reconnect.backoff.max.ms", "2000")) {
        rd_kafka_conf_destroy(conf);
        free(c);
        return NULL;
    }
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, c);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!c->rk) {
        nb_error("cannot create the kafka consumer: %s", err);
        free(c);
        return NULL;
    }
    rd_kafka_poll_set_consumer(c->rk);
    return c;
}

nb_err nt_consumer_start(nt_consumer *c)
{
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, c->cfg->kafka_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        nb_error("cannot subscribe to %s: %s", c->cfg->kafka_topic, rd_kafka_err2str(err));
        return NB_ERR_INTERNAL;
    }
    atomic_store(&c->running, true);
    if (pthread_create(&c->thread, NULL, consume_main, c) != 0) return NB_ERR_INTERNAL;
    c->thread_started = true;
    nb_info("consuming %s as group %s", c->cfg->kafka_topic, c->cfg->kafka_group);
    return NB_OK;
}

void nt_consumer_free(nt_consumer *c)
{
    if (!c) return;
    atomic_store(&c->running, false);
    if (c->thread_started) pthread_join(c->thread, NULL);
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(c->rk); /* commits what was stored */
    if (err) nb_warn("kafka: leaving the group: %s", rd_kafka_err2str(err));
    rd_kafka_destroy(c->rk);
    free(c);
}

bool nt_consumer_ready(nt_consumer *c, nb_buf *out)
{
    int parts = atomic_load(&c->partitions);
    nb_buf_addf(out, "\"kafka\":\"%s\",\"partitions\":%d,\"lag\":%lld",
                parts < 0 ? "joining" : "assigned", parts < 0 ? 0 : parts,
                (long long)atomic_load(&c->lag));
    return parts >= 0;
}
