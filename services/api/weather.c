/* weather.c — the request flows of GET /v1/weather (see weather.h). */
#include "weather.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "document.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"
#include "query.h"

#define ERROR_HOLD_MS 1000 /* a failed fetch is not retried for this long */
#define GEO_MEMO_MS 600000 /* resolved names kept in memory */

struct weather {
    weather_deps d;
    const api_config *cfg;
    nb_counter *hit, *stale, *miss, *revalidated, *renewals, *renewals_skipped, *events_same;
};

/* One request in flight; heap-allocated so that it can wait on a flight. */
typedef struct wx {
    fl_waiter w; /* first: a waiter pointer is a wx pointer */
    weather *svc;
    nb_req *req;
    int days;
    bool by_name, revalidate, has_stale;
    char query[NB_QUERY_MAX + 1];
    nb_place place;
    char key[NB_KEY_MAX];
    char stale_source[16];
    nb_record stale;
} wx;

/* A fetch handed to the pool. */
typedef struct fetch_job {
    weather *svc;
    char id[NB_QUERY_MAX + 8];
    char key[NB_KEY_MAX];
    char query[NB_QUERY_MAX + 1];
    char name[128];
    char rid[65];
    bool has_prev;
    char prev_observation[20];
} fetch_job;

typedef struct written {
    weather *svc;
    char id[NB_KEY_MAX + 4];
    int64_t fetched_at_ms;
} written;

static void serve_key(wx *x);

/* ---- answering ------------------------------------------------------- */

static void finish(wx *x)
{
    free(x);
}

/* Room for a flight result (a record is too big for the stack of every
 * caller); on failure x is answered 500 and finished. */
static fl_result *result_new(wx *x)
{
    fl_result *res = malloc(sizeof(*res));
    if (!res) {
        nb_respond_error(x->req, NB_ERR_NOMEM, "out of memory");
        finish(x);
    }
    return res;
}

/* x waited past its deadline for what (the upstream, the geocoder). */
static void respond_deadline(wx *x, const char *what)
{
    nb_req_add_header(x->req, "Retry-After", "5");
    nb_respond_error_status(x->req, 503, NB_ERR_TIMEOUT, "%s did not answer within %ld ms", what,
                            x->svc->cfg->miss_deadline_ms);
    finish(x);
}

static void respond_record(wx *x, const nb_record *rec, const char *source, answer_kind kind)
{
    weather *s = x->svc;
    nb_counter *c[] = {s->hit, s->stale, s->miss, s->revalidated};
    nb_counter_inc(c[kind]);
    answer a = {.rec = rec,
                .place = x->by_name ? &x->place : NULL,
                .days = x->days,
                .source = source,
                .kind = kind};
    /* The document's head depends on the record, the days and the place only. */
    char variant[160];
    snprintf(variant, sizeof(variant), "%d|%s|%s", x->days, a.place ? a.place->name : "",
             a.place ? a.place->country_code : "");
    size_t len;
    char *head = memo_get_doc(s->d.memo, rec->key, rec->fetched_at_ms, variant, &len);
    if (!head) {
        head = doc_render_head(s->cfg, &a, &len);
        if (head) memo_put_doc(s->d.memo, rec->key, rec->fetched_at_ms, variant, head, len);
    }
    if (!head) {
        nb_respond_error(x->req, NB_ERR_NOMEM, "could not render the weather document");
        return;
    }
    doc_respond(x->req, s->cfg, &a, head, len);
    free(head);
}

static void respond_fetch_error(nb_req *r, const fl_result *res)
{
    char ra[16];
    snprintf(ra, sizeof(ra), "%d", res->retry_after_s > 0 ? res->retry_after_s : 5);
    nb_req_add_header(r, "Retry-After", ra);
    switch (res->err) {
    case NB_ERR_RATE_LIMITED:
        nb_respond_error_status(r, 503, NB_ERR_RATE_LIMITED, "%s", res->reason);
        break;
    case NB_ERR_TIMEOUT:
    case NB_ERR_UNAVAILABLE:
        nb_respond_error_status(r, 503, res->err, "%s", res->reason);
        break;
    default:
        nb_respond_error_status(r, 502, NB_ERR_UPSTREAM, "%s", res->reason);
    }
}

/* ---- input ----------------------------------------------------------- */

/* Fills x from the request; answers 400 and returns false on bad input. */
static bool parse_input(wx *x)
{
    nb_req *r = x->req;
    query_args in = {.city = nb_req_query(r, "city"),
                     .lat = nb_req_query(r, "lat"),
                     .lon = nb_req_query(r, "lon"),
                     .days = nb_req_query(r, "days"),
                     .cache_control = nb_req_header(r, "Cache-Control"),
                     .pragma = nb_req_header(r, "Pragma"),
                     .if_none_match = nb_req_header(r, "If-None-Match")};
    query q;
    char why[256];
    if (query_parse(&in, &q, why, sizeof(why)) != NB_OK) {
        nb_respond_error(r, NB_ERR_INVALID, "%s", why);
        return false;
    }
    x->days = q.days;
    x->by_name = q.by_name;
    x->revalidate = q.revalidate;
    memcpy(x->query, q.name, sizeof(x->query));
    memcpy(x->key, q.key, sizeof(x->key));
    return true;
}

/* ---- fetching (pool threads) ----------------------------------------- */

static void on_written(void *arg, bool stored)
{
    written *w = arg;
    if (stored) flights_forget(w->svc->d.fl, w->id, w->fetched_at_ms);
    free(w);
}

static void run_weather_fetch(void *arg)
{
    fetch_job *j = arg;
    weather *s = j->svc;
    nb_log_set_request_id(j->rid);
    fl_result *res = calloc(1, sizeof(*res));
    if (!res) goto out;
    up_error err;
    res->err = upstream_forecast(s->d.up, j->key, &res->rec, &err);
    if (res->err) {
        res->retry_after_s = err.retry_after_s;
        snprintf(res->reason, sizeof(res->reason), "%s", err.reason);
        flights_complete(s->d.fl, j->id, res, nb_mono_ms() + ERROR_HOLD_MS);
        goto out;
    }
    /* Answer the waiters first; keep the record until persistence has it. */
    flights_complete(s->d.fl, j->id, res, nb_mono_ms() + s->cfg->fresh_ttl_s * 1000);
    size_t len;
    char *body = nb_record_dump(&res->rec, &len);
    written *w = malloc(sizeof(*w));
    if (w) {
        *w = (written){.svc = s, .fetched_at_ms = res->rec.fetched_at_ms};
        snprintf(w->id, sizeof(w->id), "w:%s", j->key);
    }
    writer_put(s->d.wr, store_record_path(j->key), body, len, w ? on_written : NULL, w);
    if (j->has_prev && strcmp(j->prev_observation, res->rec.current.time) == 0) {
        nb_counter_inc(s->events_same);
        nb_info("renewed %s: same observation %s, no event", j->key, res->rec.current.time);
    } else {
        events_publish(s->d.ev, &res->rec, j->name[0] ? j->name : NULL);
    }
out:
    free(res);
    free(j);
    nb_log_set_request_id(NULL);
}

static void run_geo_fetch(void *arg)
{
    fetch_job *j = arg;
    weather *s = j->svc;
    const api_config *c = s->cfg;
    nb_log_set_request_id(j->rid);
    fl_result *res = calloc(1, sizeof(*res));
    if (!res) goto out;
    up_error err;
    res->err = upstream_geocode(s->d.up, j->query, &res->place, &res->geo_found, &err);
    if (res->err) {
        res->retry_after_s = err.retry_after_s;
        snprintf(res->reason, sizeof(res->reason), "%s", err.reason);
        flights_complete(s->d.fl, j->id, res, nb_mono_ms() + ERROR_HOLD_MS);
        goto out;
    }
    int64_t ttl_ms = (res->geo_found ? c->geo_ttl_s : c->negative_ttl_s) * 1000;
    int64_t memo_ms = ttl_ms < GEO_MEMO_MS ? ttl_ms : GEO_MEMO_MS;
    flights_complete(s->d.fl, j->id, res, nb_mono_ms() + memo_ms);
    nb_geo_entry g = {.found = res->geo_found, .resolved_at_ms = nb_now_ms()};
    g.expires_at_ms = g.resolved_at_ms + ttl_ms;
    snprintf(g.query, sizeof(g.query), "%s", j->query);
    if (g.found) g.place = res->place;
    size_t len;
    char *body = nb_geo_dump(&g, &len);
    writer_put(s->d.wr, store_geo_path(j->query), body, len, NULL, NULL);
out:
    free(res);
    free(j);
    nb_log_set_request_id(NULL);
}

/* Queues a fetch for the RUNNING entry j->id; fails the entry if the pool is full. */
static void submit(weather *s, fetch_job *j, pool_fn fn)
{
    char id[sizeof(j->id)];
    snprintf(id, sizeof(id), "%s", j->id);
    if (pool_submit(s->d.fetchers, fn, j) == NB_OK) return;
    free(j);
    fl_result *res = calloc(1, sizeof(*res));
    if (!res) return;
    res->err = NB_ERR_UNAVAILABLE;
    res->retry_after_s = 5;
    snprintf(res->reason, sizeof(res->reason), "too many upstream fetches queued");
    nb_warn("fetch queue full: %s not fetched", id);
    flights_complete(s->d.fl, id, res, nb_mono_ms() + ERROR_HOLD_MS);
    free(res);
}

static fetch_job *weather_job(weather *s, const char *key, const nb_record *prev, const char *name)
{
    fetch_job *j = calloc(1, sizeof(*j));
    if (!j) return NULL;
    j->svc = s;
    snprintf(j->id, sizeof(j->id), "w:%s", key);
    snprintf(j->key, sizeof(j->key), "%s", key);
    if (name) snprintf(j->name, sizeof(j->name), "%s", name);
    if (prev) {
        j->has_prev = true;
        snprintf(j->prev_observation, sizeof(j->prev_observation), "%s", prev->current.time);
    }
    const char *rid = nb_log_request_id();
    snprintf(j->rid, sizeof(j->rid), "%s", rid ? rid : "renewal");
    return j;
}

/* Starts a background renewal of key unless one is running or just ran. */
static void start_renewal(weather *s, const char *key, const nb_record *prev, const char *name)
{
    char id[NB_KEY_MAX + 4];
    snprintf(id, sizeof(id), "w:%s", key);
    if (flights_join(s->d.fl, id, NULL, true, NULL) != FL_STARTED) return;
    fetch_job *j = weather_job(s, key, prev, name);
    if (!j) {
        fl_result res = {.err = NB_ERR_NOMEM};
        flights_complete(s->d.fl, id, &res, 0);
        return;
    }
    nb_counter_inc(s->renewals);
    submit(s, j, run_weather_fetch);
}

/* ---- waiting on flights ---------------------------------------------- */

static void on_weather_done(fl_waiter *w, const fl_result *res)
{
    wx *x = (wx *)w;
    if (res && res->err == NB_OK) {
        respond_record(x, &res->rec, "upstream", x->has_stale ? ANS_REVALIDATED : ANS_MISS);
    } else if (x->has_stale) { /* stale-if-error, or the renewal is slow */
        respond_record(x, &x->stale, x->stale_source, ANS_STALE);
    } else if (res) {
        respond_fetch_error(x->req, res);
    } else {
        respond_deadline(x, "the upstream");
        return;
    }
    finish(x);
}

/* Waits (bounded) for the weather fetch of x->key, starting it if needed. */
static void wait_for_weather(wx *x)
{
    weather *s = x->svc;
    char id[NB_KEY_MAX + 4];
    snprintf(id, sizeof(id), "w:%s", x->key);
    x->w.deadline_ms =
        nb_mono_ms() + (x->has_stale ? s->cfg->revalidate_wait_ms : s->cfg->miss_deadline_ms);
    x->w.done = on_weather_done;
    fl_result *res = result_new(x);
    if (!res) return;
    fl_state st = flights_join(s->d.fl, id, &x->w, true, res);
    if (st == FL_STARTED) {
        fetch_job *j = weather_job(s, x->key, x->has_stale ? &x->stale : NULL,
                                   x->by_name ? x->place.name : NULL);
        if (j) {
            if (x->has_stale) nb_counter_inc(s->renewals);
            submit(s, j, run_weather_fetch);
        } else {
            fl_result err = {.err = NB_ERR_NOMEM, .reason = "out of memory"};
            flights_complete(s->d.fl, id, &err, 0);
        }
    } else if (st == FL_DONE) {
        on_weather_done(&x->w, res);
    } else if (st == FL_NONE) {
        nb_respond_error(x->req, NB_ERR_NOMEM, "out of memory");
        finish(x);
    }
    free(res);
}

static void apply_geo(wx *x, const fl_result *res)
{
    if (res->err) {
        respond_fetch_error(x->req, res);
        finish(x);
        return;
    }
    if (!res->geo_found) {
        nb_respond_error(x->req, NB_ERR_NOT_FOUND, "unknown place '%s'", x->query);
        finish(x);
        return;
    }
    x->place = res->place;
    if (nb_location_key(x->place.latitude, x->place.longitude, x->key) != NB_OK) {
        nb_respond_error_status(x->req, 502, NB_ERR_UPSTREAM, "geocoder gave bad coordinates");
        finish(x);
        return;
    }
    serve_key(x);
}

static void on_geo_done(fl_waiter *w, const fl_result *res)
{
    wx *x = (wx *)w;
    if (res) {
        apply_geo(x, res);
        return;
    }
    respond_deadline(x, "the geocoder");
}

/* ---- the flows ------------------------------------------------------- */

/* Answers x for its location key: flows 1-5. */
static void serve_key(wx *x)
{
    weather *s = x->svc;
    char id[NB_KEY_MAX + 4];
    snprintf(id, sizeof(id), "w:%s", x->key);
    fl_result *res = result_new(x);
    if (!res) return;
    /* Just fetched here, and not yet in persistence: answer from memory. */
    if (flights_join(s->d.fl, id, NULL, false, res) == FL_DONE && res->err == NB_OK &&
        nb_now_ms() - res->rec.fetched_at_ms < s->cfg->fresh_ttl_s * 1000) {
        respond_record(x, &res->rec, "upstream", ANS_HIT);
        free(res);
        finish(x);
        return;
    }
    /* Ask persistence every time; when it still holds the version we parsed
     * before, it answers 304 and the remembered record is used. */
    char source[16], etag[MEMO_ETAG_MAX], known[MEMO_ETAG_MAX];
    bool have = memo_get(s->d.memo, x->key, known, &res->rec) && known[0], unchanged = false;
    nb_err e = store_get_record(s->d.store, x->key, have ? known : NULL, &res->rec, source, etag,
                                &unchanged);
    if (e == NB_OK && !unchanged && etag[0]) memo_put(s->d.memo, x->key, etag, &res->rec);
    if (e == NB_OK) {
        int64_t age_ms = nb_now_ms() - res->rec.fetched_at_ms;
        if (age_ms < s->cfg->fresh_ttl_s * 1000) { /* flows 1 and 3 */
            respond_record(x, &res->rec, source, ANS_HIT);
        } else if (x->revalidate) { /* wait for the renewal instead of the same stale copy */
            x->has_stale = true;
            x->stale = res->rec;
            snprintf(x->stale_source, sizeof(x->stale_source), "%s", source);
            free(res);
            wait_for_weather(x);
            return;
        } else { /* flows 2 and 4 */
            respond_record(x, &res->rec, source, ANS_STALE);
            start_renewal(s, x->key, &res->rec, x->by_name ? x->place.name : NULL);
        }
        free(res);
        finish(x);
        return;
    }
    free(res);
    if (e != NB_ERR_NOT_FOUND)
        nb_warn("persistence read of %s failed (%s): asking the upstream", x->key, nb_err_code(e));
    wait_for_weather(x); /* flow 5 */
}

/* Queues the geocoding fetch of the RUNNING entry id. */
static void start_geo_fetch(weather *s, const char *id, const char *name, const char *rid)
{
    fetch_job *j = calloc(1, sizeof(*j));
    if (!j) {
        fl_result err = {.err = NB_ERR_NOMEM, .reason = "out of memory"};
        flights_complete(s->d.fl, id, &err, 0);
        return;
    }
    j->svc = s;
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->query, sizeof(j->query), "%s", name);
    snprintf(j->rid, sizeof(j->rid), "%s", rid ? rid : "resolve");
    submit(s, j, run_geo_fetch);
}

static void resolve_name(wx *x)
{
    weather *s = x->svc;
    char id[NB_QUERY_MAX + 8];
    snprintf(id, sizeof(id), "g:%s", x->query);
    fl_result *res = result_new(x);
    if (!res) return;
    if (flights_join(s->d.fl, id, NULL, false, res) == FL_DONE && res->err == NB_OK) {
        apply_geo(x, res);
        free(res);
        return;
    }
    nb_geo_entry *g = malloc(sizeof(*g));
    nb_err e = g ? store_get_geo(s->d.store, x->query, g) : NB_ERR_NOMEM;
    if (e == NB_OK) {
        memset(res, 0, sizeof(*res));
        res->geo_found = g->found;
        res->place = g->place;
        int64_t left = g->expires_at_ms ? g->expires_at_ms - nb_now_ms() : GEO_MEMO_MS;
        flights_put(s->d.fl, id, res, nb_mono_ms() + (left < GEO_MEMO_MS ? left : GEO_MEMO_MS));
        free(g);
        apply_geo(x, res);
        free(res);
        return;
    }
    free(g);
    if (e != NB_ERR_NOT_FOUND)
        nb_warn("persistence read of place '%s' failed (%s): asking the geocoder", x->query,
                nb_err_code(e));
    x->w.deadline_ms = nb_mono_ms() + s->cfg->miss_deadline_ms;
    x->w.done = on_geo_done;
    fl_state st = flights_join(s->d.fl, id, &x->w, true, res);
    if (st == FL_STARTED) {
        start_geo_fetch(s, id, x->query, nb_req_id(x->req));
    } else if (st == FL_DONE) {
        apply_geo(x, res);
    } else if (st == FL_NONE) {
        nb_respond_error(x->req, NB_ERR_NOMEM, "out of memory");
        finish(x);
    }
    free(res);
}

/* ---- blocking resolution (for other routes) -------------------------- */

typedef struct resolve_wait {
    fl_waiter w; /* first: a waiter pointer is a resolve_wait pointer */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done, found;
    fl_result *res;
} resolve_wait;

static void on_resolved(fl_waiter *w, const fl_result *res)
{
    resolve_wait *rw = (resolve_wait *)w;
    pthread_mutex_lock(&rw->mu);
    if (res) {
        *rw->res = *res;
        rw->found = true;
    }
    rw->done = true;
    pthread_cond_signal(&rw->cv);
    pthread_mutex_unlock(&rw->mu);
}

/* The outcome of a geocoding result for a caller that asked for query. */
static nb_err resolved(const fl_result *res, const char *name, nb_place *out, nb_error *err)
{
    if (res->err == NB_ERR_RATE_LIMITED || res->err == NB_ERR_TIMEOUT ||
        res->err == NB_ERR_UNAVAILABLE)
        return nb_error_set(err, res->err, res->retry_after_s > 0 ? res->retry_after_s : 5, "%s",
                            res->reason);
    if (res->err) return nb_error_set(err, NB_ERR_UPSTREAM, 5, "%s", res->reason);
    if (!res->geo_found) return nb_error_set(err, NB_ERR_NOT_FOUND, 0, "unknown place '%s'", name);
    *out = res->place;
    return NB_OK;
}

nb_err weather_resolve(weather *s, const char *name, nb_place *out, nb_error *err)
{
    char id[NB_QUERY_MAX + 8];
    snprintf(id, sizeof(id), "g:%s", name);
    fl_result *res = calloc(1, sizeof(*res));
    nb_geo_entry *g = malloc(sizeof(*g));
    resolve_wait *rw = calloc(1, sizeof(*rw));
    nb_err e;
    if (!res || !g || !rw) {
        e = nb_error_set(err, NB_ERR_NOMEM, 0, "out of memory");
        goto out;
    }
    /* As GET /v1/weather: remembered here, else stored in persistence, else
     * one coalesced fetch from the geocoder. */
    if (flights_join(s->d.fl, id, NULL, false, res) == FL_DONE && res->err == NB_OK) {
        e = resolved(res, name, out, err);
        goto out;
    }
    if (store_get_geo(s->d.store, name, g) == NB_OK) {
        res->err = NB_OK;
        res->geo_found = g->found;
        res->place = g->place;
        e = resolved(res, name, out, err);
        goto out;
    }
    pthread_mutex_init(&rw->mu, NULL);
    pthread_cond_init(&rw->cv, NULL);
    rw->res = res;
    rw->w.deadline_ms = nb_mono_ms() + s->cfg->miss_deadline_ms;
    rw->w.done = on_resolved;
    fl_state st = flights_join(s->d.fl, id, &rw->w, true, res);
    if (st == FL_STARTED) start_geo_fetch(s, id, name, nb_log_request_id());
    if (st == FL_STARTED || st == FL_RUNNING) {
        pthread_mutex_lock(&rw->mu);
        while (!rw->done) /* the flights' timer ends the wait at the deadline */
            pthread_cond_wait(&rw->cv, &rw->mu);
        pthread_mutex_unlock(&rw->mu);
        e = rw->found ? resolved(res, name, out, err)
                      : nb_error_set(err, NB_ERR_TIMEOUT, 5,
                                     "the geocoder did not answer within "
                                     "%ld ms",
                                     s->cfg->miss_deadline_ms);
    } else if (st == FL_DONE) {
        e = resolved(res, name, out, err);
    } else {
        e = nb_error_set(err, NB_ERR_NOMEM, 0, "out of memory");
    }
    pthread_cond_destroy(&rw->cv);
    pthread_mutex_destroy(&rw->mu);
out:
    free(rw);
    free(g);
    free(res);
    return e;
}

void weather_handle(nb_req *r, void *ctx)
{
    wx *x = calloc(1, sizeof(*x));
    if (!x) {
        nb_respond_error(r, NB_ERR_NOMEM, "out of memory");
        return;
    }
    x->svc = ctx;
    x->req = r;
    if (!parse_input(x)) {
        finish(x);
        return;
    }
    if (x->by_name)
        resolve_name(x);
    else
        serve_key(x);
}

/* ---- service --------------------------------------------------------- */

static int64_t fetch_depth_metric(void *arg)
{
    return pool_depth(arg);
}

static int64_t flights_metric(void *arg)
{
    return flights_running(arg);
}

weather *weather_new(const weather_deps *deps)
{
    weather *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->d = *deps;
    s->cfg = deps->cfg;
    const char *help = "Weather answers by cache state";
    s->hit = nb_counter_new("nimbus_api_answers_total", "cache=\"hit\"", help);
    s->stale = nb_counter_new("nimbus_api_answers_total", "cache=\"stale\"", help);
    s->miss = nb_counter_new("nimbus_api_answers_total", "cache=\"miss\"", help);
    s->revalidated = nb_counter_new("nimbus_api_answers_total", "cache=\"revalidated\"", help);
    s->renewals = nb_counter_new("nimbus_renewals_total", NULL,
                                 "Background renewals of stale records started");
    s->events_same = nb_counter_new("nimbus_renewals_same_observation_total", NULL,
                                    "Renewals that brought no new observation (no event)");
    nb_gauge_fn_new("nimbus_fetch_queue_depth", NULL,
                    "Upstream fetches (renewals and misses) queued or running", fetch_depth_metric,
                    deps->fetchers);
    nb_gauge_fn_new("nimbus_fetches_in_flight", NULL, "Distinct keys being fetched", flights_metric,
                    deps->fl);
    return s;
}

void weather_free(weather *w)
{
    free(w);
}

bool weather_ready(void *ctx, nb_buf *out)
{
    weather *s = ctx;
    bool store_up = store_ping(s->d.store);
    nb_buf_addf(out,
                "{\"ready\":%s,\"persistence\":\"%s\",\"events_pending\":%ld,"
                "\"fetch_queue\":%ld,\"upstream_pace_tokens\":%.1f}",
                store_up ? "true" : "false", store_up ? "up" : "down", events_pending(s->d.ev),
                pool_depth(s->d.fetchers), upstream_pace_available(s->d.up));
    return store_up;
}
