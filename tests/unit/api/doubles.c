/* doubles.c — in-memory persistence and upstream for the api's unit tests. */
#include "doubles.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/bucket.h"
#include "nimbus/clock.h"
#include "nimbus/etag.h"

#define MAX_KEYS 512
#define MAX_EVENTS 2048
#define MAX_PUTS 4096

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void test_record(nb_record *r, const char *key, int64_t fetched_at_ms, double t, const char *obs)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->key, sizeof(r->key), "%s", key);
    nb_location_key_valid(key, &r->latitude, &r->longitude);
    r->fetched_at_ms = fetched_at_ms;
    snprintf(r->timezone, sizeof(r->timezone), "Europe/Berlin");
    snprintf(r->timezone_abbreviation, sizeof(r->timezone_abbreviation), "CET");
    r->utc_offset_seconds = 3600;
    r->elevation = 38;
    snprintf(r->current.time, sizeof(r->current.time), "%s", obs);
    r->current.temperature = t;
    r->current.apparent_temperature = t - 1;
    r->current.relative_humidity = 50;
    r->current.weather_code = 3;
    r->current.wind_speed = 5;
    r->current.wind_direction = 180;
    r->current.wind_gusts = 9;
    r->current.precipitation = 0;
    r->current.cloud_cover = 80;
    r->current.pressure_msl = 1015;
    r->current.is_day = 1;
    r->ndays = 3;
    for (unsigned i = 0; i < 3; i++) {
        nb_day *d = &r->daily[i];
        snprintf(d->date, sizeof(d->date), "2026-11-%02u", 24 + i % 4);
        d->weather_code = 3;
        d->temperature_max = t + 3;
        d->temperature_min = t - 3;
        d->precipitation_sum = 0;
        d->precipitation_probability_max = 10;
        d->wind_speed_max = 12;
        d->uv_index_max = 1;
        snprintf(d->sunrise, sizeof(d->sunrise), "2026-11-%02uT07:50", 24 + i % 4);
        snprintf(d->sunset, sizeof(d->sunset), "2026-11-%02uT16:00", 24 + i % 4);
    }
}

/* ================================================================ store */

typedef struct put_log {
    char path[200];
    bool stored;
} put_log;

typedef struct mem_event {
    char id[40], key[NB_KEY_MAX], owner[65];
    char *json;
    bool sent;
    int64_t lease_until_ms;
    int64_t created_ms;
} mem_event;

typedef struct mem_lease {
    store_lease_kind kind;
    char key[NB_QUERY_MAX + 1];
    char token[40];
    bool failed;
    int retry_after_s;
    char reason[160];
    int64_t until_ms; /* monotonic; 0: free slot */
} mem_lease;

struct store_mem {
    store base;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a value was stored or a lease released */
    mem_lease leases[MAX_KEYS];
    nb_bucket bucket;
    bool coord_down;
    long lease_calls, leases_granted, waits, budget_calls, next_token;
    int nrec;
    nb_record recs[MAX_KEYS];
    char etags[MAX_KEYS][STORE_ETAG_MAX];
    long max_age_s; /* Cache-Control: max-age of reads; -1: none */
    int ngeo;
    nb_geo_entry geo[MAX_KEYS];
    long pause_ms, pause_timeout_ms;
    char fail_prefix[64];
    long fail_status;
    atomic_long reads, geo_reads, not_modified;
    int nputs;
    put_log puts[MAX_PUTS];
    int nevents;
    mem_event events[MAX_EVENTS];
    long acked, claims, outbox_calls;
    bool outbox_down;
    long next_id;
    long subs_created, subs_status;
    char subs_retry_after[16];
    char *subs_last; /* the last body POSTed to /v1/subscriptions */
};

static int find_rec(store_mem *m, const char *key)
{
    for (int i = 0; i < m->nrec; i++)
        if (strcmp(m->recs[i].key, key) == 0) return i;
    return -1;
}

static void new_event(store_mem *m, const char *key, const char *observation, char out[40])
{
    if (m->nevents >= MAX_EVENTS) return;
    mem_event *e = &m->events[m->nevents++];
    memset(e, 0, sizeof(*e));
    m->next_id++;
    snprintf(e->id, sizeof(e->id), "00000000-0000-4000-8000-%012u",
             (unsigned)(m->next_id % 1000000));
    snprintf(e->key, sizeof(e->key), "%s", key);
    char json[256];
    snprintf(json, sizeof(json),
             "{\"id\":\"%s\",\"type\":\"weather.observation\",\"key\":\"%s\","
             "\"observation\":{\"time\":\"%s\"}}",
             e->id, key, observation);
    e->json = strdup(json);
    e->created_ms = nb_now_ms();
    if (out) memcpy(out, e->id, 40);
}

/* A paused persistence: the read waits, and fails when past its timeout. */
static nb_err read_pause(store_mem *m, nb_error *err)
{
    pthread_mutex_lock(&m->lock);
    long ms = m->pause_ms, timeout = m->pause_timeout_ms;
    pthread_mutex_unlock(&m->lock);
    if (ms <= 0) return NB_OK;
    sleep_ms(ms < timeout ? ms : timeout);
    if (ms >= timeout)
        return nb_error_set(err, NB_ERR_TIMEOUT, 0, "persistence did not answer in %ld ms",
                            timeout);
    return NB_OK;
}

static nb_err mem_get_record(store *st, const char *key, const char *if_none_match, nb_record *out,
                             store_meta *meta, nb_error *err)
{
    store_mem *m = (store_mem *)st;
    atomic_fetch_add(&m->reads, 1);
    *meta = (store_meta){.max_age_s = -1};
    nb_err e = read_pause(m, err);
    if (e) return e;
    pthread_mutex_lock(&m->lock);
    int i = find_rec(m, key);
    if (i < 0) {
        pthread_mutex_unlock(&m->lock);
        return nb_error_set(err, NB_ERR_NOT_FOUND, 0, "no record for %s", key);
    }
    snprintf(meta->etag, sizeof(meta->etag), "%s", m->etags[i]);
    snprintf(meta->source, sizeof(meta->source), "cache");
    meta->max_age_s = m->max_age_s;
    if (nb_etag_none_match(if_none_match, m->etags[i])) {
        meta->unchanged = true;
        atomic_fetch_add(&m->not_modified, 1);
    } else {
        *out = m->recs[i];
    }
    pthread_mutex_unlock(&m->lock);
    return NB_OK;
}

static nb_err mem_get_geo(store *st, const char *query, nb_geo_entry *out, store_meta *meta,
                          nb_error *err)
{
    store_mem *m = (store_mem *)st;
    atomic_fetch_add(&m->geo_reads, 1);
    *meta = (store_meta){.max_age_s = -1};
    snprintf(meta->source, sizeof(meta->source), "cache");
    nb_err e = read_pause(m, err);
    if (e) return e;
    pthread_mutex_lock(&m->lock);
    e = nb_error_set(err, NB_ERR_NOT_FOUND, 0, "no entry for %s", query);
    for (int i = 0; i < m->ngeo; i++) {
        if (strcmp(m->geo[i].query, query) == 0 &&
            (!m->geo[i].expires_at_ms || m->geo[i].expires_at_ms > nb_now_ms())) {
            *out = m->geo[i];
            e = NB_OK;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return e;
}

static void store_record_locked(store_mem *m, const nb_record *rec, store_put_result *res)
{
    int i = find_rec(m, rec->key);
    if (i >= 0 && m->recs[i].fetched_at_ms >= rec->fetched_at_ms) return;
    bool new_obs = i < 0 || strcmp(m->recs[i].current.time, rec->current.time) != 0;
    if (i < 0) {
        if (m->nrec >= MAX_KEYS) return;
        i = m->nrec++;
    }
    m->recs[i] = *rec;
    snprintf(m->etags[i], STORE_ETAG_MAX, "\"%lld\"", (long long)rec->fetched_at_ms);
    if (res) {
        res->applied = true;
        res->cache_written = true;
        memcpy(res->etag, m->etags[i], STORE_ETAG_MAX);
        if (new_obs) new_event(m, rec->key, rec->current.time, res->event);
    }
}

/* The live lease of (kind, key), or NULL; caller holds the lock. */
static mem_lease *lease_find(store_mem *m, store_lease_kind kind, const char *key)
{
    int64_t now = nb_mono_ms();
    for (int i = 0; i < MAX_KEYS; i++) {
        mem_lease *l = &m->leases[i];
        if (l->until_ms > now && l->kind == kind && strcmp(l->key, key) == 0) return l;
    }
    return NULL;
}

/* A PUT that names its lease (?lease= / &lease=) releases it once stored;
 * caller holds the lock. */
static void release_named_lease(store_mem *m, const char *path, store_lease_kind kind,
                                const char *key)
{
    const char *t = strstr(path, "lease=");
    if (!t) return;
    mem_lease *l = lease_find(m, kind, key);
    if (l && !l->failed && strcmp(l->token, t + 6) == 0) l->until_ms = 0;
}

static nb_err mem_put(store *st, const char *path, const char *body, size_t len, long timeout_ms,
                      store_put_result *res, nb_error *err)
{
    store_mem *m = (store_mem *)st;
    memset(res, 0, sizeof(*res));
    nb_err paused = read_pause(m, err); /* a paused persistence pauses writes too */
    if (paused) return paused;
    pthread_mutex_lock(&m->lock);
    put_log *log = m->nputs < MAX_PUTS ? &m->puts[m->nputs++] : NULL;
    if (log) snprintf(log->path, sizeof(log->path), "%s", path);
    nb_err e = NB_OK;
    const char *why;
    if (m->fail_prefix[0] && strncmp(path, m->fail_prefix, strlen(m->fail_prefix)) == 0) {
        e = nb_error_from_answer(err, m->fail_status, NULL, 0, NULL, "persistence");
    } else if (strncmp(path, "/v1/records/", 12) == 0) {
        nb_record rec;
        if (nb_record_parse(body, len, &rec, &why) != NB_OK)
            e = nb_error_set(err, NB_ERR_INVALID, 0, "bad record: %s", why);
        else
            store_record_locked(m, &rec, res);
        if (e == NB_OK) release_named_lease(m, path, STORE_LEASE_RECORD, rec.key);
    } else if (strncmp(path, "/v1/geocode/", 12) == 0) {
        nb_geo_entry g;
        if (nb_geo_parse(body, len, &g, &why) != NB_OK) {
            e = nb_error_set(err, NB_ERR_INVALID, 0, "bad geocode entry: %s", why);
        } else if (m->ngeo < MAX_KEYS) {
            m->geo[m->ngeo++] = g;
            res->applied = true;
            release_named_lease(m, path, STORE_LEASE_GEOCODE, g.query);
        }
    } else {
        e = nb_error_set(err, NB_ERR_NOT_FOUND, 0, "no route %s", path);
    }
    if (log) log->stored = e == NB_OK;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    return e;
}

static nb_err outbox_check(store_mem *m, nb_error *err)
{
    m->outbox_calls++;
    return m->outbox_down ? nb_error_set(err, NB_ERR_UNAVAILABLE, 0, "persistence is down") : NB_OK;
}

static nb_err mem_claim(store *st, const char *owner, int limit, long lease_ms, long timeout_ms,
                        outbox_event **out, size_t *n, nb_error *err)
{
    store_mem *m = (store_mem *)st;
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&m->lock);
    nb_err e = outbox_check(m, err);
    outbox_event *evs = e ? NULL : calloc((size_t)limit, sizeof(*evs));
    int64_t now = nb_mono_ms();
    for (int i = 0; evs && i < m->nevents && (int)*n < limit; i++) {
        mem_event *ev = &m->events[i];
        if (ev->sent || (ev->owner[0] && ev->lease_until_ms > now)) continue;
        snprintf(ev->owner, sizeof(ev->owner), "%s", owner);
        ev->lease_until_ms = now + lease_ms;
        m->claims++;
        outbox_event *o = &evs[(*n)++];
        memcpy(o->id, ev->id, sizeof(o->id));
        memcpy(o->key, ev->key, sizeof(o->key));
        o->json = strdup(ev->json);
        o->len = strlen(o->json);
    }
    pthread_mutex_unlock(&m->lock);
    if (*n == 0) {
        free(evs);
        evs = NULL;
    }
    *out = evs;
    return e;
}

static mem_event *find_event(store_mem *m, const char *id)
{
    for (int i = 0; i < m->nevents; i++)
        if (strcmp(m->events[i].id, id) == 0) return &m->events[i];
    return NULL;
}

static nb_err mem_ack(store *st, const char *const *ids, size_t n, long timeout_ms, long *count,
                      nb_error *err)
{
    store_mem *m = (store_mem *)st;
    pthread_mutex_lock(&m->lock);
    nb_err e = outbox_check(m, err);
    long c = 0;
    for (size_t i = 0; !e && i < n; i++) {
        mem_event *ev = find_event(m, ids[i]);
        if (ev && !ev->sent) {
            ev->sent = true;
            c++;
        }
    }
    m->acked += c;
    pthread_mutex_unlock(&m->lock);
    if (count) *count = c;
    return e;
}

static nb_err mem_release(store *st, const char *owner, const char *const *ids, size_t n,
                          long timeout_ms, long *count, nb_error *err)
{
    store_mem *m = (store_mem *)st;
    pthread_mutex_lock(&m->lock);
    nb_err e = outbox_check(m, err);
    long c = 0;
    for (size_t i = 0; !e && i < n; i++) {
        mem_event *ev = find_event(m, ids[i]);
        if (ev && !ev->sent && strcmp(ev->owner, owner) == 0) {
            ev->owner[0] = '\0';
            ev->lease_until_ms = 0;
            c++;
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (count) *count = c;
    return e;
}

static nb_err mem_stats(store *st, outbox_stats *out, nb_error *err)
{
    store_mem *m = (store_mem *)st;
    pthread_mutex_lock(&m->lock);
    nb_err e = outbox_check(m, err);
    out->pending = 0;
    out->oldest_age_s = 0;
    for (int i = 0; !e && i < m->nevents; i++) {
        if (m->events[i].sent) continue;
        if (!out->pending) out->oldest_age_s = (nb_now_ms() - m->events[i].created_ms) / 1000.0;
        out->pending++;
    }
    pthread_mutex_unlock(&m->lock);
    return e;
}

/* ---- coordination ---- */

static nb_err coord_check(store_mem *m, nb_error *err)
{
    return m->coord_down ? nb_error_set(err, NB_ERR_UNAVAILABLE, 1, "persistence: Redis is down")
                         : NB_OK;
}

static int64_t stored_version(store_mem *m, store_lease_kind kind, const char *key)
{
    if (kind == STORE_LEASE_RECORD) {
        int i = find_rec(m, key);
        return i < 0 ? 0 : m->recs[i].fetched_at_ms;
    }
    for (int i = 0; i < m->ngeo; i++)
        if (strcmp(m->geo[i].query, key) == 0 &&
            (!m->geo[i].expires_at_ms || m->geo[i].expires_at_ms > nb_now_ms()))
            return m->geo[i].resolved_at_ms;
    return 0;
}

static nb_err mem_lease_acquire(store *st, store_lease_kind kind, const char *key, int64_t seen_ms,
                                long ttl_ms, store_lease *out, nb_error *err)
{
    store_mem *m = (store_mem *)st;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&m->lock);
    m->lease_calls++;
    nb_err e = coord_check(m, err);
    int64_t v = e ? 0 : stored_version(m, kind, key), now = nb_mono_ms();
    mem_lease *l = e ? NULL : lease_find(m, kind, key);
    if (e) {
    } else if (v > seen_ms) {
        out->state = STORE_LEASE_NEWER;
        out->version_ms = v;
    } else if (l) {
        out->state = l->failed ? STORE_LEASE_FAILED : STORE_LEASE_HELD;
        out->ttl_ms = (long)(l->until_ms - now);
        out->retry_after_s = l->retry_after_s;
        snprintf(out->reason, sizeof(out->reason), "%s", l->reason);
    } else {
        for (int i = 0; i < MAX_KEYS && !l; i++)
            if (m->leases[i].until_ms <= now) l = &m->leases[i];
        memset(l, 0, sizeof(*l));
        l->kind = kind;
        snprintf(l->key, sizeof(l->key), "%s", key);
        snprintf(l->token, sizeof(l->token), "00000000-0000-4000-9000-%012u",
                 (unsigned)(++m->next_token % 1000000));
        l->until_ms = now + ttl_ms;
        out->state = STORE_LEASE_GRANTED;
        out->ttl_ms = ttl_ms;
        snprintf(out->token, sizeof(out->token), "%s", l->token);
        m->leases_granted++;
    }
    pthread_mutex_unlock(&m->lock);
    return e;
}

static nb_err mem_lease_release(store *st, store_lease_kind kind, const char *key,
                                const char *token, long hold_ms, int retry_after_s,
                                const char *reason, nb_error *err)
{
    store_mem *m = (store_mem *)st;
    pthread_mutex_lock(&m->lock);
    nb_err e = coord_check(m, err);
    mem_lease *l = e ? NULL : lease_find(m, kind, key);
    if (l && !l->failed && strcmp(l->token, token) == 0) {
        if (hold_ms > 0) {
            l->failed = true;
            l->retry_after_s = retry_after_s;
            snprintf(l->reason, sizeof(l->reason), "%s", reason ? reason : "");
            l->until_ms = nb_mono_ms() + hold_ms;
        } else {
            l->until_ms = 0;
        }
        pthread_cond_broadcast(&m->changed);
    }
    pthread_mutex_unlock(&m->lock);
    return e;
}

/* Waits (lock held) until a version newer than newer_than is stored, nobody
 * holds the lease, or wait_ms passes. */
static nb_err wait_locked(store_mem *m, store_lease_kind kind, const char *key,
                          int64_t newer_than_ms, long wait_ms, nb_error *err)
{
    m->waits++;
    nb_err e = coord_check(m, err);
    int64_t until = nb_mono_ms() + wait_ms;
    while (!e && stored_version(m, kind, key) <= newer_than_ms) {
        mem_lease *l = lease_find(m, kind, key);
        int64_t now = nb_mono_ms();
        if (!l || l->failed || now >= until) break;
        int64_t wake = l->until_ms < until ? l->until_ms : until;
        struct timespec ts;
        nb_timespec_in(wake - now, &ts);
        pthread_cond_timedwait(&m->changed, &m->lock, &ts);
    }
    return e;
}

static nb_err mem_wait_record(store *st, const char *key, int64_t newer_than_ms, long wait_ms,
                              nb_record *out, char source[16], nb_error *err)
{
    store_mem *m = (store_mem *)st;
    pthread_mutex_lock(&m->lock);
    nb_err e = wait_locked(m, STORE_LEASE_RECORD, key, newer_than_ms, wait_ms, err);
    int i = e ? -1 : find_rec(m, key);
    if (i >= 0) {
        *out = m->recs[i];
        snprintf(source, 16, "cache");
    } else if (!e) {
        e = nb_error_set(err, NB_ERR_NOT_FOUND, 0, "no record for %s", key);
    }
    pthread_mutex_unlock(&m->lock);
    return e;
}

static nb_err mem_wait_geo(store *st, const char *query, int64_t newer_than_ms, long wait_ms,
                           nb_geo_entry *out, nb_error *err)
{
    store_mem *m = (store_mem *)st;
    pthread_mutex_lock(&m->lock);
    nb_err e = wait_locked(m, STORE_LEASE_GEOCODE, query, newer_than_ms, wait_ms, err);
    pthread_mutex_unlock(&m->lock);
    if (e) return e;
    atomic_fetch_sub(&m->geo_reads, 1); /* not a read of the read step */
    store_meta meta;
    return mem_get_geo(st, query, out, &meta, err);
}

static nb_err mem_budget_take(store *st, double cost, const nb_window *w, size_t nw,
                              store_budget *out, nb_error *err)
{
    store_mem *m = (store_mem *)st;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&m->lock);
    m->budget_calls++;
    nb_err e = coord_check(m, err);
    if (!e) {
        int64_t now = nb_now_ms();
        nb_take t = nb_bucket_take(&m->bucket, w, nw, cost, now);
        out->granted = t.granted;
        out->retry_after_ms = t.granted ? 0 : (long)t.retry_after_ms;
        out->window_s = t.granted ? 0 : (long)w[t.window].seconds;
        for (size_t i = 0; i < nw; i++)
            out->left[i] = nb_bucket_level(&m->bucket, w, i, now);
    }
    pthread_mutex_unlock(&m->lock);
    return e;
}

/* persistence's subscription routes, as far as the api sees them: a create
 * answers 201 with the subscription (or the status set by
 * store_mem_subscriptions_answer); the token routes know no token. */
static nb_err mem_subscriptions(store *st, const char *path, const char *body, size_t len,
                                store_reply *out, nb_error *err)
{
    store_mem *m = (store_mem *)st;
    *out = (store_reply){0};
    nb_err e = read_pause(m, err);
    if (e) return e;
    json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL), *doc;
    pthread_mutex_lock(&m->lock);
    if (strcmp(path, "/v1/subscriptions") != 0) {
        out->status = 404;
        doc = json_pack("{s:s, s:s}", "error", "not_found", "reason", "unknown or expired token");
    } else if (m->subs_status) {
        out->status = m->subs_status;
        snprintf(out->retry_after, sizeof(out->retry_after), "%s", m->subs_retry_after);
        doc = json_pack("{s:s, s:s}", "error",
                        out->status == 429 ? "too_many_requests" : "unavailable", "reason",
                        "refused by the test");
    } else {
        m->subs_created++;
        free(m->subs_last);
        m->subs_last = strndup(body, len);
        out->status = 201;
        doc = json_pack("{s:{s:s, s:s, s:O, s:O}}", "subscription", "id",
                        "00000000-0000-4000-8000-000000000001", "status", "pending", "place",
                        json_object_get(req, "place"), "rules", json_object_get(req, "rules"));
    }
    pthread_mutex_unlock(&m->lock);
    out->body = doc ? json_dumps(doc, JSON_COMPACT) : strdup("");
    out->len = out->body ? strlen(out->body) : 0;
    json_decref(doc);
    json_decref(req);
    return NB_OK;
}

static bool mem_ping(store *st)
{
    return true;
}

static void mem_free(store *st)
{
    store_mem *m = (store_mem *)st;
    for (int i = 0; i < m->nevents; i++)
        free(m->events[i].json);
    pthread_cond_destroy(&m->changed);
    free(m->subs_last);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static const store_ops mem_ops = {
    .name = "mem",
    .get_record = mem_get_record,
    .get_geo = mem_get_geo,
    .put = mem_put,
    .claim = mem_claim,
    .ack = mem_ack,
    .release = mem_release,
    .stats = mem_stats,
    .lease_acquire = mem_lease_acquire,
    .lease_release = mem_lease_release,
    .wait_record = mem_wait_record,
    .wait_geo = mem_wait_geo,
    .budget_take = mem_budget_take,
    .subscriptions = mem_subscriptions,
    .ping = mem_ping,
    .free = mem_free,
};

store_mem *store_mem_new(void)
{
    store_mem *m = calloc(1, sizeof(*m));
    m->base.ops = &mem_ops;
    m->max_age_s = -1;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->changed, NULL);
    return m;
}

store *store_mem_base(store_mem *m)
{
    return &m->base;
}

void store_mem_put_record(store_mem *m, const nb_record *rec)
{
    pthread_mutex_lock(&m->lock);
    store_record_locked(m, rec, NULL);
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
}

bool store_mem_get(store_mem *m, const char *key, nb_record *out)
{
    pthread_mutex_lock(&m->lock);
    int i = find_rec(m, key);
    if (i >= 0) *out = m->recs[i];
    pthread_mutex_unlock(&m->lock);
    return i >= 0;
}

void store_mem_pause_reads(store_mem *m, long ms, long timeout_ms)
{
    pthread_mutex_lock(&m->lock);
    m->pause_ms = ms;
    m->pause_timeout_ms = timeout_ms;
    pthread_mutex_unlock(&m->lock);
}

void store_mem_fail_puts(store_mem *m, const char *prefix, long status)
{
    pthread_mutex_lock(&m->lock);
    snprintf(m->fail_prefix, sizeof(m->fail_prefix), "%s", prefix ? prefix : "");
    m->fail_status = status;
    pthread_mutex_unlock(&m->lock);
}

long store_mem_reads(store_mem *m)
{
    return atomic_load(&m->reads);
}

long store_mem_not_modified(store_mem *m)
{
    return atomic_load(&m->not_modified);
}

void store_mem_max_age(store_mem *m, long seconds)
{
    pthread_mutex_lock(&m->lock);
    m->max_age_s = seconds;
    pthread_mutex_unlock(&m->lock);
}

long store_mem_geo_reads(store_mem *m)
{
    return atomic_load(&m->geo_reads);
}

static long count_puts(store_mem *m, const char *prefix, bool stored_only)
{
    pthread_mutex_lock(&m->lock);
    long n = 0;
    for (int i = 0; i < m->nputs; i++)
        if (strncmp(m->puts[i].path, prefix, strlen(prefix)) == 0 &&
            (!stored_only || m->puts[i].stored))
            n++;
    pthread_mutex_unlock(&m->lock);
    return n;
}

long store_mem_puts(store_mem *m, const char *prefix)
{
    return count_puts(m, prefix, false);
}

long store_mem_stored(store_mem *m, const char *prefix)
{
    return count_puts(m, prefix, true);
}

void store_mem_last_put(store_mem *m, const char *prefix, char *out, size_t outlen)
{
    pthread_mutex_lock(&m->lock);
    snprintf(out, outlen, "%s", "");
    for (int i = 0; i < m->nputs; i++)
        if (m->puts[i].stored && strncmp(m->puts[i].path, prefix, strlen(prefix)) == 0)
            snprintf(out, outlen, "%s", m->puts[i].path);
    pthread_mutex_unlock(&m->lock);
}

#define COORD_COUNTER(name, field)                                                                 \
    long store_mem_##name(store_mem *m)                                                            \
    {                                                                                              \
        pthread_mutex_lock(&m->lock);                                                              \
        long n = m->field;                                                                         \
        pthread_mutex_unlock(&m->lock);                                                            \
        return n;                                                                                  \
    }
COORD_COUNTER(lease_calls, lease_calls)
COORD_COUNTER(leases_granted, leases_granted)
COORD_COUNTER(waits, waits)
COORD_COUNTER(budget_calls, budget_calls)

void store_mem_coord_down(store_mem *m, bool down)
{
    pthread_mutex_lock(&m->lock);
    m->coord_down = down;
    pthread_mutex_unlock(&m->lock);
}

bool store_mem_lease_held(store_mem *m, const char *key)
{
    pthread_mutex_lock(&m->lock);
    mem_lease *l = lease_find(m, STORE_LEASE_RECORD, key);
    bool held = l && !l->failed;
    pthread_mutex_unlock(&m->lock);
    return held;
}

void store_mem_add_event(store_mem *m, const char *key, const char *observation, char out[40])
{
    pthread_mutex_lock(&m->lock);
    new_event(m, key, observation, out);
    pthread_mutex_unlock(&m->lock);
}

long store_mem_unsent(store_mem *m)
{
    pthread_mutex_lock(&m->lock);
    long n = 0;
    for (int i = 0; i < m->nevents; i++)
        n += !m->events[i].sent;
    pthread_mutex_unlock(&m->lock);
    return n;
}

long store_mem_acked(store_mem *m)
{
    pthread_mutex_lock(&m->lock);
    long n = m->acked;
    pthread_mutex_unlock(&m->lock);
    return n;
}

long store_mem_claimed_by(store_mem *m, const char *owner)
{
    pthread_mutex_lock(&m->lock);
    long n = 0;
    int64_t now = nb_mono_ms();
    for (int i = 0; i < m->nevents; i++)
        n += !m->events[i].sent && strcmp(m->events[i].owner, owner) == 0 &&
             m->events[i].lease_until_ms > now;
    pthread_mutex_unlock(&m->lock);
    return n;
}

long store_mem_claims(store_mem *m)
{
    pthread_mutex_lock(&m->lock);
    long n = m->claims;
    pthread_mutex_unlock(&m->lock);
    return n;
}

long store_mem_outbox_calls(store_mem *m)
{
    pthread_mutex_lock(&m->lock);
    long n = m->outbox_calls;
    pthread_mutex_unlock(&m->lock);
    return n;
}

void store_mem_outbox_down(store_mem *m, bool down)
{
    pthread_mutex_lock(&m->lock);
    m->outbox_down = down;
    pthread_mutex_unlock(&m->lock);
}

/* ============================================================= upstream */

typedef struct known_place {
    char query[64];
    nb_place place;
} known_place;

struct upstream_mem {
    upstream base;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    long latency_ms;
    nb_err fail;
    bool cancelled;
    int nplaces;
    known_place places[32];
    atomic_long forecasts, geocodes, running;
};

/* Waits the latency; false when cancelled meanwhile. */
static bool up_wait(upstream_mem *u)
{
    pthread_mutex_lock(&u->lock);
    struct timespec ts;
    nb_timespec_in(u->latency_ms, &ts);
    while (!u->cancelled && u->latency_ms > 0)
        if (pthread_cond_timedwait(&u->wake, &u->lock, &ts) != 0) break;
    bool ok = !u->cancelled;
    pthread_mutex_unlock(&u->lock);
    return ok;
}

static nb_err up_begin(upstream_mem *u, nb_error *err)
{
    atomic_fetch_add(&u->running, 1);
    bool ok = up_wait(u);
    atomic_fetch_sub(&u->running, 1);
    if (!ok) return nb_error_set(err, NB_ERR_UNAVAILABLE, 5, "cancelled");
    pthread_mutex_lock(&u->lock);
    nb_err fail = u->fail;
    pthread_mutex_unlock(&u->lock);
    if (fail == NB_ERR_RATE_LIMITED)
        return nb_error_set(err, fail, 7, "upstream pace limit of 1 calls a minute reached");
    if (fail) return nb_error_set(err, fail, 30, "upstream forecast answered 500");
    return NB_OK;
}

static nb_err up_forecast(upstream *base, const char *key, nb_record *out, nb_error *err)
{
    upstream_mem *u = (upstream_mem *)base;
    long n = atomic_fetch_add(&u->forecasts, 1) + 1;
    nb_err e = up_begin(u, err);
    if (e) return e;
    test_record(out, key, nb_now_ms(), 10.0 + (double)n, "2026-11-24T10:00");
    return NB_OK;
}

static nb_err up_geocode(upstream *base, const char *query, nb_place *out, bool *found,
                         nb_error *err)
{
    upstream_mem *u = (upstream_mem *)base;
    atomic_fetch_add(&u->geocodes, 1);
    nb_err e = up_begin(u, err);
    if (e) return e;
    *found = false;
    pthread_mutex_lock(&u->lock);
    for (int i = 0; i < u->nplaces; i++) {
        if (strcmp(u->places[i].query, query) == 0) {
            *out = u->places[i].place;
            *found = true;
        }
    }
    pthread_mutex_unlock(&u->lock);
    return NB_OK;
}

static void up_cancel(upstream *base)
{
    upstream_mem *u = (upstream_mem *)base;
    pthread_mutex_lock(&u->lock);
    u->cancelled = true;
    pthread_cond_broadcast(&u->wake);
    pthread_mutex_unlock(&u->lock);
}

static void up_free(upstream *base)
{
    upstream_mem *u = (upstream_mem *)base;
    pthread_cond_destroy(&u->wake);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

static const upstream_ops up_ops = {
    .name = "mem",
    .forecast = up_forecast,
    .geocode = up_geocode,
    .cancel = up_cancel,
    .free = up_free,
};

upstream_mem *upstream_mem_new(void)
{
    upstream_mem *u = calloc(1, sizeof(*u));
    u->base.ops = &up_ops;
    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->wake, NULL);
    return u;
}

upstream *upstream_mem_base(upstream_mem *u)
{
    return &u->base;
}

void upstream_mem_latency(upstream_mem *u, long ms)
{
    pthread_mutex_lock(&u->lock);
    u->latency_ms = ms;
    pthread_mutex_unlock(&u->lock);
}

void upstream_mem_fail(upstream_mem *u, nb_err e)
{
    pthread_mutex_lock(&u->lock);
    u->fail = e;
    pthread_mutex_unlock(&u->lock);
}

void upstream_mem_place(upstream_mem *u, const char *query, const char *name, double lat,
                        double lon)
{
    pthread_mutex_lock(&u->lock);
    known_place *p = &u->places[u->nplaces++];
    memset(p, 0, sizeof(*p));
    snprintf(p->query, sizeof(p->query), "%s", query);
    snprintf(p->place.name, sizeof(p->place.name), "%s", name);
    p->place.latitude = lat;
    p->place.longitude = lon;
    p->place.elevation = 38;
    snprintf(p->place.country_code, sizeof(p->place.country_code), "DE");
    snprintf(p->place.country, sizeof(p->place.country), "Germany");
    snprintf(p->place.timezone, sizeof(p->place.timezone), "Europe/Berlin");
    pthread_mutex_unlock(&u->lock);
}

long upstream_mem_forecasts(upstream_mem *u)
{
    return atomic_load(&u->forecasts);
}

long upstream_mem_geocodes(upstream_mem *u)
{
    return atomic_load(&u->geocodes);
}

long upstream_mem_running(upstream_mem *u)
{
    return atomic_load(&u->running);
}

/* =============================================================== broker */

typedef struct mem_msg {
    struct mem_msg *next;
    char *value;
    void *opaque;
    int64_t expires_ms;
} mem_msg;

/* What the brokers hold: shared by every producer made on it. */
typedef struct mem_topic {
    pthread_mutex_t lock;
    int refs;
    long ndelivered;
    char **delivered; /* values */
    size_t cap;
} mem_topic;

struct broker_mem {
    broker base;
    pthread_mutex_t lock;
    pthread_t thread;
    bool stop, down;
    long timeout_ms;
    mem_msg *queue;
    long in_flight;
    mem_topic *topic;
};

static void topic_add(mem_topic *t, const char *value)
{
    pthread_mutex_lock(&t->lock);
    if ((size_t)t->ndelivered == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->delivered = realloc(t->delivered, t->cap * sizeof(char *));
    }
    t->delivered[t->ndelivered++] = strdup(value);
    pthread_mutex_unlock(&t->lock);
}

/* Reports (without the lock) the messages in list. */
static void report_list(broker_mem *b, mem_msg *list, nb_err result)
{
    while (list) {
        mem_msg *m = list;
        list = m->next;
        if (b->base.report)
            b->base.report(b->base.report_ctx, m->opaque, result, result ? "timed out" : "");
        free(m->value);
        free(m);
        pthread_mutex_lock(&b->lock);
        b->in_flight--; /* after the report, as the real one */
        pthread_mutex_unlock(&b->lock);
    }
}

static void *broker_main(void *arg)
{
    broker_mem *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        if (b->stop) {
            pthread_mutex_unlock(&b->lock);
            return NULL;
        }
        mem_msg *ok = NULL, *late = NULL, **pp = &b->queue;
        int64_t now = nb_mono_ms();
        while (*pp) {
            mem_msg *m = *pp;
            if (!b->down || m->expires_ms <= now) {
                *pp = m->next;
                if (!b->down) {
                    topic_add(b->topic, m->value);
                    m->next = ok;
                    ok = m;
                } else {
                    m->next = late;
                    late = m;
                }
            } else {
                pp = &m->next;
            }
        }
        pthread_mutex_unlock(&b->lock);
        report_list(b, ok, NB_OK);
        report_list(b, late, NB_ERR_TIMEOUT);
        sleep_ms(3);
    }
}

static nb_err bm_produce(broker *base, const char *key, const char *value, size_t len, void *msg)
{
    broker_mem *b = (broker_mem *)base;
    mem_msg *m = calloc(1, sizeof(*m));
    m->value = strndup(value, len);
    m->opaque = msg;
    m->expires_ms = nb_mono_ms() + b->timeout_ms;
    pthread_mutex_lock(&b->lock);
    mem_msg **pp = &b->queue; /* keep order */
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
    b->in_flight++;
    pthread_mutex_unlock(&b->lock);
    return NB_OK;
}

static long bm_in_flight(broker *base)
{
    broker_mem *b = (broker_mem *)base;
    pthread_mutex_lock(&b->lock);
    long n = b->in_flight;
    pthread_mutex_unlock(&b->lock);
    return n;
}

static void bm_purge(broker *base)
{
    broker_mem *b = (broker_mem *)base;
    pthread_mutex_lock(&b->lock);
    mem_msg *all = b->queue;
    b->queue = NULL;
    pthread_mutex_unlock(&b->lock);
    report_list(b, all, NB_ERR_UNAVAILABLE);
    while (bm_in_flight(base) > 0) /* reports the broker thread is making */
        sleep_ms(1);
}

static void bm_free(broker *base)
{
    broker_mem *b = (broker_mem *)base;
    pthread_mutex_lock(&b->lock);
    b->stop = true;
    pthread_mutex_unlock(&b->lock);
    pthread_join(b->thread, NULL);
    for (mem_msg *m = b->queue, *n; m; m = n) {
        n = m->next;
        free(m->value);
        free(m);
    }
    mem_topic *t = b->topic;
    pthread_mutex_lock(&t->lock);
    bool last = --t->refs == 0;
    pthread_mutex_unlock(&t->lock);
    if (last) {
        for (long i = 0; i < t->ndelivered; i++)
            free(t->delivered[i]);
        free(t->delivered);
        pthread_mutex_destroy(&t->lock);
        free(t);
    }
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static const broker_ops bm_ops = {
    .name = "mem",
    .produce = bm_produce,
    .purge = bm_purge,
    .free = bm_free,
};

broker_mem *broker_mem_new(long message_timeout_ms)
{
    return broker_mem_new_on(NULL, message_timeout_ms);
}

broker_mem *broker_mem_new_on(broker_mem *same, long message_timeout_ms)
{
    broker_mem *b = calloc(1, sizeof(*b));
    b->base.ops = &bm_ops;
    if (same) {
        b->topic = same->topic;
        pthread_mutex_lock(&b->topic->lock);
        b->topic->refs++;
        pthread_mutex_unlock(&b->topic->lock);
    } else {
        b->topic = calloc(1, sizeof(*b->topic));
        pthread_mutex_init(&b->topic->lock, NULL);
        b->topic->refs = 1;
    }
    b->timeout_ms = message_timeout_ms;
    pthread_mutex_init(&b->lock, NULL);
    pthread_create(&b->thread, NULL, broker_main, b);
    return b;
}

broker *broker_mem_base(broker_mem *b)
{
    return &b->base;
}

void broker_mem_down(broker_mem *b, bool down)
{
    pthread_mutex_lock(&b->lock);
    b->down = down;
    pthread_mutex_unlock(&b->lock);
}

long broker_mem_delivered(broker_mem *b)
{
    pthread_mutex_lock(&b->topic->lock);
    long n = b->topic->ndelivered;
    pthread_mutex_unlock(&b->topic->lock);
    return n;
}

long broker_mem_count_id(broker_mem *b, const char *id)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
    mem_topic *t = b->topic;
    pthread_mutex_lock(&t->lock);
    long n = 0;
    for (long i = 0; i < t->ndelivered; i++)
        n += strstr(t->delivered[i], needle) != NULL;
    pthread_mutex_unlock(&t->lock);
    return n;
}

long store_mem_subscriptions(store_mem *m, char *last, size_t lastlen)
{
    pthread_mutex_lock(&m->lock);
    long n = m->subs_created;
    if (last) snprintf(last, lastlen, "%s", m->subs_last ? m->subs_last : "");
    pthread_mutex_unlock(&m->lock);
    return n;
}

void store_mem_subscriptions_answer(store_mem *m, long status, const char *retry_after)
{
    pthread_mutex_lock(&m->lock);
    m->subs_status = status;
    snprintf(m->subs_retry_after, sizeof(m->subs_retry_after), "%s",
             retry_after ? retry_after : "");
    pthread_mutex_unlock(&m->lock);
}
