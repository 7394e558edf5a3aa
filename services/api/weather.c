/* weather.c — the request flows of GET /v1/weather (see weather.h).
 *
 * A request's path through threads (each arrow a hand-off):
 *   polling thread: answered there when it needs no persistence read (a
 *                   fresh copy in the near-cache, a record just fetched)
 *   polling thread → worker (nb_req_to_worker)                    a persistence
 *                                                                  read to make
 *   [geocoding flight] → worker                                    new names only
 *   [persistence read, coalesced] → worker                         when another
 *                                                                  request reads
 *   [upstream fetch on the pool] → worker                          misses and
 *                                                                  revalidations
 * A step that needs no waiting continues on the same thread. */
#include "weather.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "document.h"
#include "lease.h"
#include "near_cache.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"
#include "query.h"

#define ERROR_HOLD_MS 1000 /* a failed fetch is not retried for this long */
#define GEO_MEMO_MS 600000 /* resolved names kept in memory at most this long */
#define ID_MAX (NB_QUERY_MAX + 4)

struct weather {
    weather_deps d;
    const api_config *cfg;
    atomic_bool stopping;
    leases *ls; /* who fetches a key, between replicas */
    nb_counter *hit, *stale, *miss, *revalidated, *renewals, *renewals_skipped;
    nb_counter *copy_used, *copy_confirmed, *copy_replaced, *copy_new;
};

typedef enum wait_step { WAIT_PLACE_READ, WAIT_PLACE_FETCH, WAIT_READ, WAIT_FETCH } wait_step;

/* One request; heap-allocated so that it can wait on a flight. Exactly one
 * thread owns it at a time. */
typedef struct wx {
    fl_waiter w;
    weather *svc;
    nb_req *req;
    int64_t deadline_ms; /* monotonic: the whole request */
    wait_step waiting;   /* what w waits for */
    int days, hours;
    nb_units units;
    bool by_name, revalidate;
    bool no_cache;  /* the client asked for end-to-end revalidation: persistence is asked */
    bool on_poller; /* running on the polling thread: must not block */
    const struct read_step *reading; /* the shared read a worker makes for x */
    char query[NB_QUERY_MAX + 1];
    char key[NB_KEY_MAX];
    fl_result *place; /* FL_PLACE: the place asked for by name (a reference) */
    fl_result *stale; /* FL_RECORD: stale data while a revalidation waits (a reference) */
    /* Set: only the place step runs, for another route (api_weather_resolve). */
    weather_place_fn then;
    void *then_arg;
} wx;

/* A fetch handed to the pool; owns copies of what it needs. */
typedef struct fetch_job {
    weather *svc;
    char id[ID_MAX];
    int64_t seen_ms; /* the version this process holds (a stale record's), 0 none */
    char key[NB_KEY_MAX];
    char query[NB_QUERY_MAX + 1];
    char name[128];
    char rid[65];
} fetch_job;

typedef struct written {
    weather *svc;
    char id[ID_MAX];
    fl_result *rec; /* the record written (a reference) */
} written;

static void flight_id(char out[ID_MAX], char kind, const char *what)
{
    snprintf(out, ID_MAX, "%c:%s", kind, what);
}

static bool stopping(const weather *s)
{
    return atomic_load(&s->stopping);
}

/* ---- answering: each answer_* answers x and frees it ------------------ */

/* Once the service is stopping, every answer ends its connection (as the
 * server's own answers do once it stops), so clients go to another replica. */
static void closing(wx *x)
{
    if (stopping(x->svc)) nb_req_add_header(x->req, "Connection", "close");
}

static void finish(wx *x)
{
    api_fl_result_unref(x->place);
    api_fl_result_unref(x->stale);
    free(x);
}

static void answer_record(wx *x, const fl_result *res, answer_kind kind)
{
    weather *s = x->svc;
    closing(x);
    nb_counter *c[] = {s->hit, s->stale, s->miss, s->revalidated};
    nb_counter_inc(c[kind]);
    const nb_record *rec = &res->rec->rec;
    const nb_place *place = x->place ? &x->place->geo->place : NULL;
    answer a = {.rec = rec,
                .place = place,
                .days = x->days,
                .hours = x->hours,
                .units = x->units,
                .now_ms = nb_now_ms(),
                .source = res->rec->source,
                .kind = kind};
    /* The document's head depends on the record and the variant only. */
    char variant[DOC_VARIANT_MAX];
    api_doc_variant(&a, variant);
    nc_doc *head = api_nc_get_doc(s->d.nc, rec->key, rec->fetched_at_ms, variant);
    if (!head) {
        size_t len;
        char *text = api_doc_render_head(s->cfg, &a, &len);
        head = text ? api_nc_doc_new(text, len) : NULL;
        free(text);
        if (head) api_nc_put_doc(s->d.nc, rec->key, rec->fetched_at_ms, variant, head);
    }
    if (head)
        api_doc_respond(x->req, s->cfg, &a, head->data, head->len);
    else
        nb_respond_error(x->req, NB_ERR_NOMEM, "could not render the weather document");
    api_nc_doc_unref(head);
    finish(x);
}

/* Why x cannot go on; each fills *e. The shutdown's reason wins while the
 * service stops (waiters are resumed without a result then). */
static void why_stopping(nb_error *e)
{
    nb_error_set(e, NB_ERR_UNAVAILABLE, 5, "server shutting down");
}

/* Too many requests waiting or keys in flight. */
static void why_busy(const wx *x, nb_error *e)
{
    if (stopping(x->svc))
        why_stopping(e);
    else
        nb_error_set(e, NB_ERR_UNAVAILABLE, 2, "too many requests in flight; try again");
}

/* x waited past its deadline for what (the upstream, the geocoder, persistence). */
static void why_deadline(const wx *x, const char *what, nb_error *e)
{
    if (stopping(x->svc))
        why_stopping(e);
    else
        nb_error_set(e, NB_ERR_TIMEOUT, 5, "%s did not answer within %ld ms", what,
                     x->svc->cfg->miss_deadline_ms);
}

/* A failed result (FL_ERROR) as an nb_error. */
static void why_failed(const fl_result *res, nb_error *e)
{
    nb_error_set(e, res->err, res->retry_after_s, "%s", res->reason);
}

/* A request without data to answer with: what may pass (busy, a timeout,
 * the budget spent, no memory) keeps its code (503); anything else the fetch
 * met is the upstream's failure (502). Always with Retry-After. */
static void answer_error(wx *x, const nb_error *e)
{
    closing(x);
    nb_error out = *e;
    if (e->code != NB_ERR_RATE_LIMITED && e->code != NB_ERR_TIMEOUT &&
        e->code != NB_ERR_UNAVAILABLE && e->code != NB_ERR_NOMEM)
        out.code = NB_ERR_UPSTREAM;
    if (out.retry_after_s <= 0) out.retry_after_s = 5;
    nb_respond_err(x->req, &out);
    finish(x);
}

static void answer_503(wx *x, nb_err code, int retry_after_s, const char *reason)
{
    nb_error e;
    nb_error_set(&e, code, retry_after_s, "%s", reason);
    answer_error(x, &e);
}

static void answer_stopping(wx *x)
{
    nb_error e;
    why_stopping(&e);
    answer_error(x, &e);
}

static void answer_busy(wx *x)
{
    nb_error e;
    why_busy(x, &e);
    answer_error(x, &e);
}

static void answer_deadline(wx *x, const char *what)
{
    nb_error e;
    why_deadline(x, what, &e);
    answer_error(x, &e);
}

static void answer_fetch_error(wx *x, const fl_result *res)
{
    nb_error e;
    why_failed(res, &e);
    answer_error(x, &e);
}

/* ---- input ----------------------------------------------------------- */

/* Fills x from the request (query.c reads it); answers 400 and returns false
 * on bad input. */
static bool parse_input(wx *x)
{
    nb_req *r = x->req;
    query_args in = {.city = nb_req_query(r, "city"),
                     .lat = nb_req_query(r, "lat"),
                     .lon = nb_req_query(r, "lon"),
                     .days = nb_req_query(r, "days"),
                     .hours = nb_req_query(r, "hours"),
                     .units = nb_req_query(r, "units"),
                     .cache_control = nb_req_header(r, "Cache-Control"),
                     .pragma = nb_req_header(r, "Pragma"),
                     .if_none_match = nb_req_header(r, "If-None-Match")};
    query q;
    char why[256];
    if (api_query_parse(&in, &q, why, sizeof(why)) != NB_OK) {
        nb_respond_error(r, NB_ERR_INVALID, "%s", why);
        return false;
    }
    x->days = q.days;
    x->hours = q.hours;
    x->units = q.units;
    x->by_name = q.by_name;
    x->revalidate = q.revalidate;
    x->no_cache = q.no_cache;
    memcpy(x->query, q.name, sizeof(x->query));
    memcpy(x->key, q.key, sizeof(x->key));
    return true;
}

/* ---- fetching (pool threads: the upstream only, never persistence) ---- */

/* The write of a record this api fetched ended. Stored: persistence holds it
 * now, so the near-cache does too (at once: no read needed to serve it from
 * the copy) and the flight table lets it go. Not applied: persistence holds
 * something at least as new that this api has not seen — the copy goes, the
 * next request asks. */
static void on_written(void *arg, writer_outcome outcome, const store_put_result *res)
{
    written *w = arg;
    weather *s = w->svc;
    const char *key = w->id + 2;
    if (outcome == WR_STORED) {
        if (res->applied && res->etag[0])
            api_nc_put_written(s->d.nc, key, w->rec, res->cache_written ? "cache" : "database",
                               res->etag, nb_mono_ms());
        else
            api_nc_drop(s->d.nc, key);
        api_fl_forget(s->d.fl, w->id, w->rec->rec->rec.fetched_at_ms);
    }
    api_fl_result_unref(w->rec);
    free(w);
}

/* A fetch ("w:<key>", "g:<query>") ended: the failed persistence read kept
 * meanwhile ("r:<key>", "q:<query>"; see read_record) has served its purpose. */
static void fetch_ended(weather *s, const char *id)
{
    char rid[ID_MAX];
    flight_id(rid, id[0] == 'w' ? 'r' : 'q', id + 2);
    api_fl_drop(s->d.fl, rid);
}

/* Publishes a failed fetch: kept briefly so that a burst does not hammer a
 * broken upstream, then gone. */
static void complete_failed(weather *s, const char *id, nb_err e, int retry_after_s,
                            const char *reason)
{
    fl_result *res = api_fl_result_error(e, retry_after_s > 0 ? retry_after_s : 5, reason);
    api_fl_complete(s->d.fl, id, res, ERROR_HOLD_MS);
    api_fl_result_unref(res);
    fetch_ended(s, id);
}

/* How long a fetch job may wait for another replica's fetch. */
static int64_t job_deadline(const weather *s)
{
    return nb_mono_ms() + s->cfg->miss_deadline_ms;
}

/* Another replica's record (persistence has it): the waiters' answer. A
 * copy this api keeps of the key is older: it goes, so that the next request
 * reads what persistence now holds. */
static void complete_with_theirs(weather *s, const char *id, fl_result *res)
{
    if (id[0] == 'w') api_nc_drop(s->d.nc, id + 2);
    api_fl_complete(s->d.fl, id, res, 0);
    fetch_ended(s, id);
}

/* The fetch step of a weather key: the lease (lease.h) — this replica
 * fetches, or another's record arrives, or its failure — then the upstream,
 * then (asynchronously) the write to persistence, which releases the lease. */
static void run_weather_fetch(void *arg)
{
    fetch_job *j = arg;
    weather *s = j->svc;
    nb_log_set_request_id(j->rid);
    fl_result *res = api_fl_result_new(FL_RECORD);
    nb_error err = {0};
    char token[40] = "";
    if (!res) {
        complete_failed(s, j->id, NB_ERR_NOMEM, 5, "out of memory");
        goto out;
    }
    switch (api_lease_record(s->ls, j->key, j->seen_ms, job_deadline(s), token, &res->rec->rec,
                             res->rec->source, &err)) {
    case LEASE_GOT:
        complete_with_theirs(s, j->id, res);
        api_fl_result_unref(res);
        goto out;
    case LEASE_FAILED:
        api_fl_result_unref(res);
        complete_failed(s, j->id, err.code, err.retry_after_s, err.msg);
        goto out;
    case LEASE_FETCH:
        break;
    }
    nb_err e = api_upstream_forecast(s->d.up, j->key, &res->rec->rec, &err);
    if (e) {
        api_fl_result_unref(res);
        api_lease_fail(s->ls, STORE_LEASE_RECORD, j->key, token, ERROR_HOLD_MS, &err);
        complete_failed(s, j->id, e, err.retry_after_s, err.msg);
        goto out;
    }
    snprintf(res->rec->source, sizeof(res->rec->source), "upstream");
    const nb_record *rec = &res->rec->rec;
    /* Answer the waiters first; keep the record in memory until persistence
     * has it (or it is no longer fresh). */
    api_fl_complete(s->d.fl, j->id, res, s->cfg->fresh_ttl_s * 1000);
    fetch_ended(s, j->id);
    size_t len;
    char *body = nb_record_dump(rec, &len);
    written *w = malloc(sizeof(*w));
    if (w) {
        *w = (written){.svc = s, .rec = api_fl_result_ref(res)};
        snprintf(w->id, sizeof(w->id), "%s", j->id);
    }
    /* persistence decides whether this is a new observation and, if so,
     * stores its event with the record (the outbox); the name goes with it,
     * and the lease is released once the record is stored. */
    api_writer_put(s->d.wr, j->key,
                   api_store_with_lease(api_store_record_path(j->key, j->name), token), body, len,
                   w ? on_written : NULL, w);
    api_fl_result_unref(res);
out:
    free(j);
    nb_log_set_request_id(NULL);
}

/* A geocoding entry as the FL_PLACE result of its flight, kept in memory at
 * most GEO_MEMO_MS (and never past its expiry). */
static void complete_place(weather *s, const char *id, fl_result *res)
{
    int64_t left = res->geo->expires_at_ms ? res->geo->expires_at_ms - nb_now_ms() : GEO_MEMO_MS;
    api_fl_complete(s->d.fl, id, res, left < GEO_MEMO_MS ? left : GEO_MEMO_MS);
    fetch_ended(s, id);
}

static void run_place_fetch(void *arg)
{
    fetch_job *j = arg;
    weather *s = j->svc;
    const api_config *c = s->cfg;
    nb_log_set_request_id(j->rid);
    fl_result *res = api_fl_result_new(FL_PLACE);
    nb_geo_entry *g = malloc(sizeof(*g));
    nb_error err = {0};
    char token[40] = "";
    if (!res || !g) {
        api_fl_result_unref(res);
        complete_failed(s, j->id, NB_ERR_NOMEM, 5, "out of memory");
        goto out;
    }
    switch (api_lease_geo(s->ls, j->query, job_deadline(s), token, g, &err)) {
    case LEASE_GOT:
        res->geo->found = g->found;
        res->geo->place = g->place;
        res->geo->expires_at_ms = g->expires_at_ms;
        complete_place(s, j->id, res);
        api_fl_result_unref(res);
        goto out;
    case LEASE_FAILED:
        api_fl_result_unref(res);
        complete_failed(s, j->id, err.code, err.retry_after_s, err.msg);
        goto out;
    case LEASE_FETCH:
        break;
    }
    nb_err e = api_upstream_geocode(s->d.up, j->query, &res->geo->place, &res->geo->found, &err);
    if (e) {
        api_fl_result_unref(res);
        api_lease_fail(s->ls, STORE_LEASE_GEOCODE, j->query, token, ERROR_HOLD_MS, &err);
        complete_failed(s, j->id, e, err.retry_after_s, err.msg);
        goto out;
    }
    int64_t ttl_ms = (res->geo->found ? c->geo_ttl_s : c->negative_ttl_s) * 1000;
    *g = (nb_geo_entry){.found = res->geo->found, .resolved_at_ms = nb_now_ms()};
    g->expires_at_ms = g->resolved_at_ms + ttl_ms;
    res->geo->expires_at_ms = g->expires_at_ms;
    complete_place(s, j->id, res);
    snprintf(g->query, sizeof(g->query), "%s", j->query);
    if (g->found) g->place = res->geo->place;
    size_t len;
    char *body = nb_geo_dump(g, &len);
    char wid[ID_MAX];
    flight_id(wid, 'g', j->query);
    api_writer_put(s->d.wr, wid, api_store_with_lease(api_store_geo_path(j->query), token), body,
                   len, NULL, NULL);
    api_fl_result_unref(res);
out:
    free(g);
    free(j);
    nb_log_set_request_id(NULL);
}

/* The pool was closed before the job started (shutdown). */
static void drop_fetch(void *arg)
{
    fetch_job *j = arg;
    complete_failed(j->svc, j->id, NB_ERR_UNAVAILABLE, 5, "server shutting down");
    free(j);
}

static fetch_job *job_new(weather *s, const char *id, const char *rid)
{
    fetch_job *j = calloc(1, sizeof(*j));
    if (!j) return NULL;
    j->svc = s;
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->rid, sizeof(j->rid), "%s", rid ? rid : "renewal");
    return j;
}

/* Queues the fetch for the RUNNING entry id (made by the caller); when it
 * cannot be queued the entry fails at once. false then. */
static bool submit(weather *s, const char *id, fetch_job *j, pool_fn run)
{
    if (j && api_pool_submit(s->d.fetchers, run, drop_fetch, j) == NB_OK) return true;
    free(j);
    bool closing = stopping(s);
    if (!closing) nb_warn("fetch queue full: %s not fetched", id);
    complete_failed(s, id, NB_ERR_UNAVAILABLE, closing ? 5 : 2,
                    closing ? "server shutting down" : "too many upstream fetches queued");
    return false;
}

static void submit_weather(weather *s, const char *id, const char *key, const char *name,
                           int64_t seen_ms, bool renewal)
{
    fetch_job *j = job_new(s, id, nb_log_request_id());
    if (j) {
        snprintf(j->key, sizeof(j->key), "%s", key);
        if (name) snprintf(j->name, sizeof(j->name), "%s", name);
        j->seen_ms = seen_ms;
    }
    if (submit(s, id, j, run_weather_fetch) && renewal) nb_counter_inc(s->renewals);
}

/* Starts a background renewal of key (whose stale version is seen_ms) unless
 * one is running or just ran. */
static void start_renewal(weather *s, const char *key, const char *name, int64_t seen_ms)
{
    if (stopping(s)) return;
    char id[ID_MAX];
    flight_id(id, 'w', key);
    fl_state st = api_fl_join(s->d.fl, id, NULL, true, NULL);
    if (st == FL_STARTED)
        submit_weather(s, id, key, name, seen_ms, true);
    else if (st == FL_FULL)
        nb_counter_inc(s->renewals_skipped);
}

/* ---- waiting --------------------------------------------------------- */

static void on_resumed(nb_req *r, void *ctx);

/* fl_waiter.resume: runs on the completing or timer thread — only hands x
 * back to a server worker. */
static void resume_on_worker(fl_waiter *w)
{
    wx *x = (wx *)w;
    nb_req_to_worker(x->req, on_resumed, x);
}

/* Joins flight id with x as its waiter (start: make it RUNNING if absent —
 * then x is NOT attached and the caller does the work). FL_RUNNING: x
 * belongs to the flight now; touch it no more. */
static fl_state join(wx *x, const char *id, wait_step step, int64_t deadline_ms, bool start,
                     fl_result **res)
{
    x->waiting = step;
    x->w.deadline_ms = deadline_ms;
    x->w.resume = resume_on_worker;
    return api_fl_join(x->svc->d.fl, id, &x->w, start, res);
}

/* ---- the flows: each step answers x, or hands it to a flight ---------- */

static void serve_key(wx *x);
static void fetch_place(wx *x);

/* The place step ends here, whatever its outcome. A weather request goes on
 * to its key or is answered; a resolution for another route (x->then) hands
 * the outcome to its caller (still on this worker) and is done. */
static void place_failed(wx *x, const nb_error *e)
{
    if (!x->then) {
        answer_error(x, e);
        return;
    }
    x->then(x->req, x->then_arg, NULL, e);
    finish(x);
}

static void place_unknown(wx *x)
{
    if (!x->then) {
        closing(x);
        nb_respond_error(x->req, NB_ERR_NOT_FOUND, "unknown place '%s'", x->query);
        finish(x);
        return;
    }
    nb_error e;
    nb_error_set(&e, NB_ERR_NOT_FOUND, 0, "unknown place '%s'", x->query);
    place_failed(x, &e);
}

static void place_found(wx *x, fl_result *res)
{
    x->place = api_fl_result_ref(res);
    if (!x->then) {
        serve_key(x);
        return;
    }
    x->then(x->req, x->then_arg, &res->geo->place, NULL);
    finish(x);
}

/* The steps below end in one of these. */
static void place_busy(wx *x)
{
    nb_error e;
    why_busy(x, &e);
    place_failed(x, &e);
}

static void place_stopping(wx *x)
{
    nb_error e;
    why_stopping(&e);
    place_failed(x, &e);
}

static void place_deadline(wx *x, const char *what)
{
    nb_error e;
    why_deadline(x, what, &e);
    place_failed(x, &e);
}

/* A place result (FL_PLACE or FL_ERROR; NULL: deadline) for x's name. */
static void on_place(wx *x, fl_result *res)
{
    nb_error e;
    if (!res) {
        place_deadline(x, "the geocoder");
    } else if (res->err) {
        why_failed(res, &e);
        place_failed(x, &e);
    } else if (!res->geo->found) {
        place_unknown(x);
    } else if (nb_location_key(res->geo->place.latitude, res->geo->place.longitude, x->key) !=
               NB_OK) {
        nb_error_set(&e, NB_ERR_UPSTREAM, 5, "geocoder gave bad coordinates");
        place_failed(x, &e);
    } else {
        place_found(x, res);
    }
}

/* The name's persistence read: an FL_PLACE result, or an error. Also
 * remembered as the name's DONE flight (found or not) for as long as
 * persistence's Cache-Control allows (without one: GEO_MEMO_MS), never past
 * the entry's expiry. */
static fl_result *read_place_from_store(weather *s, const char *name)
{
    nb_geo_entry *g = malloc(sizeof(*g));
    nb_error err = {0};
    store_meta meta;
    nb_err e = g ? api_store_get_geo(s->d.st, name, g, &meta, &err)
                 : nb_error_set(&err, NB_ERR_NOMEM, 0, "out of memory");
    fl_result *res = e ? NULL : api_fl_result_new(FL_PLACE);
    if (!res) {
        free(g);
        if (!e) nb_error_set(&err, NB_ERR_NOMEM, 0, "out of memory");
        return api_fl_result_error(err.code, 0, err.msg);
    }
    res->geo->found = g->found;
    res->geo->place = g->place;
    res->geo->expires_at_ms = g->expires_at_ms;
    free(g);
    int64_t keep = meta.max_age_s >= 0 ? meta.max_age_s * 1000 : GEO_MEMO_MS;
    if (res->geo->expires_at_ms && res->geo->expires_at_ms - nb_now_ms() < keep)
        keep = res->geo->expires_at_ms - nb_now_ms();
    char id[ID_MAX];
    flight_id(id, 'g', name);
    api_fl_put(s->d.fl, id, res, keep);
    return res;
}

static void on_place_read(wx *x, fl_result *res)
{
    if (!res) {
        place_deadline(x, "persistence");
    } else if (res->err == NB_OK) {
        on_place(x, res);
    } else {
        if (res->err != NB_ERR_NOT_FOUND)
            nb_warn("persistence read of place '%s' failed (%s): asking the geocoder", x->query,
                    res->reason);
        fetch_place(x);
    }
}

/* Hands x to a worker, which continues with step. */
static void to_worker(wx *x, nb_handler_fn step)
{
    x->on_poller = false;
    nb_req_to_worker(x->req, step, x);
}

/* A read of persistence that every request asking at the same time shares
 * (one "q:<name>" or "r:<key>" flight): what is read, and what follows. */
typedef struct read_step {
    char kind;                                        /* the flight id's kind */
    wait_step waiting;                                /* what a joining request waits for */
    fl_result *(*read)(weather *s, const char *what); /* blocking: on a worker */
    void (*done)(wx *x, fl_result *res);              /* the read's result, x's next step */
    void (*busy)(wx *x);                              /* the flight table is full */
} read_step;

static const char *read_subject(const wx *x, const read_step *st)
{
    return st->kind == 'q' ? x->query : x->key;
}

/* Makes the read x started (its flight entry is RUNNING and x's to complete),
 * publishes the result to every request joined meanwhile, goes on. */
static void complete_read(wx *x, const read_step *st)
{
    char id[ID_MAX];
    flight_id(id, st->kind, read_subject(x, st));
    fl_result *res = st->read(x->svc, read_subject(x, st));
    api_fl_complete(x->svc->d.fl, id, res, res->err ? x->svc->cfg->miss_deadline_ms : 0);
    st->done(x, res);
    api_fl_result_unref(res);
}

/* A worker makes the read the polling thread started. */
static void read_on_worker(nb_req *r, void *ctx)
{
    (void)r;
    wx *x = ctx;
    complete_read(x, x->reading);
}

/* Joins the read of st's subject in flight, or starts it (on a worker when x
 * is on the polling thread), or takes the result kept from a recent one. */
static void shared_read(wx *x, const read_step *st)
{
    char id[ID_MAX];
    flight_id(id, st->kind, read_subject(x, st));
    fl_result *res = NULL;
    switch (join(x, id, st->waiting, x->deadline_ms, true, &res)) {
    case FL_RUNNING:
        return;
    case FL_FULL:
        st->busy(x);
        return;
    case FL_STARTED:
        if (x->on_poller) { /* the read blocks: a worker makes it */
            x->reading = st;
            to_worker(x, read_on_worker);
        } else {
            complete_read(x, st);
        }
        return;
    default: /* FL_DONE */
        st->done(x, res);
        api_fl_result_unref(res);
    }
}

/* Asks persistence for x's name, once for every request asking at the same
 * time (a failed read is kept as read_record explains). */
static void read_place(wx *x)
{
    static const read_step place = {'q', WAIT_PLACE_READ, read_place_from_store, on_place_read,
                                    place_busy};
    if (stopping(x->svc)) {
        place_stopping(x);
        return;
    }
    shared_read(x, &place);
}

/* Asks the geocoder for x's name (one fetch for every request waiting). */
static void fetch_place(wx *x)
{
    weather *s = x->svc;
    if (stopping(s)) {
        place_stopping(x);
        return;
    }
    char id[ID_MAX];
    flight_id(id, 'g', x->query);
    fl_result *res = NULL;
    fl_state st = api_fl_join(s->d.fl, id, NULL, true, &res);
    if (st == FL_STARTED) {
        fetch_job *j = job_new(s, id, nb_req_id(x->req));
        if (j) snprintf(j->query, sizeof(j->query), "%s", x->query);
        submit(s, id, j, run_place_fetch);
    } else if (st == FL_FULL) {
        place_busy(x);
        return;
    }
    if (st != FL_DONE) st = join(x, id, WAIT_PLACE_FETCH, x->deadline_ms, false, &res);
    switch (st) {
    case FL_RUNNING:
        return;
    case FL_DONE:
        on_place(x, res);
        api_fl_result_unref(res);
        return;
    case FL_FULL:
        place_busy(x);
        return;
    default: { /* gone already */
        nb_error e;
        nb_error_set(&e, NB_ERR_UNAVAILABLE, 1, "the geocoding fetch ended early; try again");
        place_failed(x, &e);
        return;
    }
    }
}

static void resolve_name(wx *x)
{
    char id[ID_MAX];
    flight_id(id, 'g', x->query);
    fl_result *res = NULL;
    /* A geocoding fetch in flight: wait for it; a recent answer: use it. */
    switch (join(x, id, WAIT_PLACE_FETCH, x->deadline_ms, false, &res)) {
    case FL_RUNNING:
        return;
    case FL_DONE:
        on_place(x, res);
        api_fl_result_unref(res);
        return;
    case FL_FULL:
        place_busy(x);
        return;
    default:
        read_place(x);
    }
}

/* The record-read step, as an HTTP cache of persistence's answers (RFC 9111):
 * the copy in the near-cache while persistence's max-age allows, otherwise a
 * conditional GET (If-None-Match: the copy's ETag). The result is an
 * FL_RECORD (source "cache" / "database"), or an error (NB_ERR_NOT_FOUND:
 * none). Blocks: runs on a worker. */
static fl_result *read_record_from_store(weather *s, const char *key)
{
    nc_copy cp;
    bool have = api_nc_get(s->d.nc, key, nb_mono_ms(), &cp) && cp.etag[0];
    fl_result *res = api_fl_result_new(FL_RECORD);
    if (!res) {
        api_nc_copy_release(&cp);
        return api_fl_result_error(NB_ERR_NOMEM, 5, "out of memory");
    }
    store_meta meta;
    nb_error err = {0};
    nb_err e =
        api_store_get_record(s->d.st, key, have ? cp.etag : NULL, &res->rec->rec, &meta, &err);
    int64_t now = nb_mono_ms(), max_age_ms = meta.max_age_s >= 0 ? meta.max_age_s * 1000 : 0;
    if (!e && meta.unchanged) { /* the copy is persistence's version still: its age restarts */
        fl_result *kept = api_nc_confirm(s->d.nc, key, cp.etag, meta.source, max_age_ms, now);
        if (!kept) { /* dropped meanwhile: the copy in hand is the version */
            api_nc_put(s->d.nc, key, cp.rec, cp.etag, max_age_ms, now);
            kept = api_fl_result_ref(cp.rec);
        }
        nb_counter_inc(s->copy_confirmed);
        api_fl_result_unref(res);
        res = kept;
    } else if (!e) {
        snprintf(res->rec->source, sizeof(res->rec->source), "%s", meta.source);
        if (meta.etag[0]) api_nc_put(s->d.nc, key, res, meta.etag, max_age_ms, now);
        nb_counter_inc(cp.rec ? s->copy_replaced : s->copy_new);
    } else {
        if (e == NB_ERR_NOT_FOUND) api_nc_drop(s->d.nc, key);
        api_fl_result_unref(res);
        res = api_fl_result_error(e, 0, err.msg);
    }
    api_nc_copy_release(&cp);
    return res;
}

/* True when this api is renewing key right now. */
static bool renewing(weather *s, const char *key)
{
    char id[ID_MAX];
    flight_id(id, 'w', key);
    fl_result *res = NULL;
    fl_state st = api_fl_join(s->d.fl, id, NULL, false, &res);
    api_fl_result_unref(res);
    return st == FL_RUNNING;
}

static void on_read(wx *x, fl_result *res);

/* Answers x from the near-cache when persistence's max-age allows reusing the
 * copy and the copy decides the answer: a record still fresh, or a stale one
 * this api is renewing already. A stale copy with no renewal here is checked
 * with persistence first (another replica may have renewed it), and a client's
 * no-cache always reaches persistence. true when x was answered or handed on. */
static bool serve_copy(wx *x)
{
    weather *s = x->svc;
    if (x->no_cache) return false;
    nc_copy cp;
    if (!api_nc_get(s->d.nc, x->key, nb_mono_ms(), &cp)) return false;
    bool use =
        cp.fresh && (nb_now_ms() - cp.rec->rec->rec.fetched_at_ms < s->cfg->fresh_ttl_s * 1000 ||
                     renewing(s, x->key));
    if (use) {
        nb_counter_inc(s->copy_used);
        on_read(x, cp.rec);
    }
    api_nc_copy_release(&cp);
    return use;
}

static void on_fetched(wx *x, fl_result *res)
{
    if (res && res->err == NB_OK && res->kind == FL_RECORD)
        answer_record(x, res, x->stale ? ANS_REVALIDATED : ANS_MISS);
    else if (x->stale) /* stale-if-error, or the renewal is slow */
        answer_record(x, x->stale, ANS_STALE);
    else if (res)
        answer_fetch_error(x, res);
    else
        answer_deadline(x, "the upstream");
}

/* Waits (bounded) for the weather fetch of x->key, starting it if needed. */
static void fetch_weather(wx *x)
{
    weather *s = x->svc;
    if (stopping(s)) {
        on_fetched(x, NULL);
        return;
    }
    char id[ID_MAX];
    flight_id(id, 'w', x->key);
    fl_result *res = NULL;
    fl_state st = api_fl_join(s->d.fl, id, NULL, true, &res);
    if (st == FL_STARTED)
        submit_weather(s, id, x->key, x->place ? x->place->geo->place.name : NULL,
                       x->stale ? x->stale->rec->rec.fetched_at_ms : 0, x->stale != NULL);
    if (st == FL_STARTED || st == FL_RUNNING) {
        int64_t deadline = x->deadline_ms;
        if (x->stale) {
            int64_t wait = nb_mono_ms() + s->cfg->revalidate_wait_ms;
            if (wait < deadline) deadline = wait;
        }
        st = join(x, id, WAIT_FETCH, deadline, false, &res);
    }
    switch (st) {
    case FL_RUNNING:
        return;
    case FL_DONE:
        on_fetched(x, res);
        api_fl_result_unref(res);
        return;
    case FL_FULL:
        if (x->stale)
            on_fetched(x, NULL);
        else
            answer_busy(x);
        return;
    default: /* gone already */
        if (x->stale)
            on_fetched(x, NULL);
        else
            answer_503(x, NB_ERR_UNAVAILABLE, 1, "the upstream fetch ended early; try again");
    }
}

/* Flows 1-5 from persistence's answer (NULL: the deadline passed). */
static void on_read(wx *x, fl_result *res)
{
    weather *s = x->svc;
    if (!res) {
        answer_deadline(x, "persistence");
        return;
    }
    if (res->err) {
        if (res->err != NB_ERR_NOT_FOUND)
            nb_warn("persistence read of %s failed (%s): asking the upstream", x->key, res->reason);
        fetch_weather(x); /* flow 5 */
        return;
    }
    int64_t age_ms = nb_now_ms() - res->rec->rec.fetched_at_ms;
    if (age_ms < s->cfg->fresh_ttl_s * 1000) { /* flows 1 and 3 */
        answer_record(x, res, ANS_HIT);
    } else if (x->revalidate) { /* wait for the renewal instead of the same stale copy */
        x->stale = api_fl_result_ref(res);
        fetch_weather(x);
    } else { /* flows 2 and 4 */
        char key[NB_KEY_MAX], name[128] = "";
        int64_t seen_ms = res->rec->rec.fetched_at_ms;
        snprintf(key, sizeof(key), "%s", x->key);
        if (x->place) snprintf(name, sizeof(name), "%s", x->place->geo->place.name);
        answer_record(x, res, ANS_STALE);
        start_renewal(s, key, name[0] ? name : NULL, seen_ms);
    }
}

/* Asks persistence for x->key (unless the near-cache's copy may answer), once
 * for every request asking at the same time.
 * A read that found nothing (or failed) is kept until the fetch it leads to
 * ends (fetch_ended), at most miss-deadline-ms: requests arriving meanwhile
 * join that fetch instead of asking persistence again, so a herd for a new
 * key makes one read, however fast or slow persistence answers. */
static void read_record(wx *x)
{
    static const read_step record = {'r', WAIT_READ, read_record_from_store, on_read, answer_busy};
    if (stopping(x->svc)) {
        answer_stopping(x);
        return;
    }
    if (serve_copy(x)) return;
    shared_read(x, &record);
}

/* Answers x for its location key. */
static void serve_key(wx *x)
{
    weather *s = x->svc;
    char id[ID_MAX];
    flight_id(id, 'w', x->key);
    fl_result *res = NULL;
    /* Just fetched here, and not yet in persistence: answer from memory. */
    if (api_fl_join(s->d.fl, id, NULL, false, &res) == FL_DONE && res->err == NB_OK &&
        res->kind == FL_RECORD &&
        nb_now_ms() - res->rec->rec.fetched_at_ms < s->cfg->fresh_ttl_s * 1000) {
        answer_record(x, res, ANS_HIT);
        api_fl_result_unref(res);
        return;
    }
    api_fl_result_unref(res);
    read_record(x);
}

/* A waiter comes back (on a worker): continue where it waited. */
static void on_resumed(nb_req *r, void *ctx)
{
    wx *x = ctx;
    x->on_poller = false;
    fl_result *res = x->w.res;
    x->w.res = NULL;
    switch (x->waiting) {
    case WAIT_PLACE_READ:
        on_place_read(x, res);
        break;
    case WAIT_PLACE_FETCH:
        on_place(x, res);
        break;
    case WAIT_READ:
        on_read(x, res);
        break;
    case WAIT_FETCH:
        on_fetched(x, res);
        break;
    }
    api_fl_result_unref(res);
}

void api_weather_handle(nb_req *r, void *ctx)
{
    wx *x = calloc(1, sizeof(*x));
    if (!x) {
        nb_respond_error(r, NB_ERR_NOMEM, "out of memory");
        return;
    }
    x->svc = ctx;
    x->req = r;
    x->on_poller = true; /* an NB_ROUTE_INLINE route */
    x->deadline_ms = nb_mono_ms() + x->svc->cfg->miss_deadline_ms;
    if (stopping(x->svc)) {
        answer_stopping(x);
        return;
    }
    if (!parse_input(x)) {
        finish(x);
        return;
    }
    if (x->by_name)
        resolve_name(x);
    else
        serve_key(x);
}

void api_weather_resolve(weather *s, nb_req *r, const char *name, weather_place_fn then, void *arg)
{
    wx *x = calloc(1, sizeof(*x));
    if (!x) {
        nb_error e;
        nb_error_set(&e, NB_ERR_NOMEM, 5, "out of memory");
        then(r, arg, NULL, &e);
        return;
    }
    x->svc = s;
    x->req = r;
    x->deadline_ms = nb_mono_ms() + s->cfg->miss_deadline_ms;
    x->by_name = true;
    snprintf(x->query, sizeof(x->query), "%s", name);
    x->then = then;
    x->then_arg = arg;
    if (stopping(s))
        place_stopping(x);
    else
        resolve_name(x);
}

/* ---- service --------------------------------------------------------- */

static int64_t fetch_depth_metric(void *arg)
{
    return api_pool_depth(arg);
}

weather *api_weather_new(const weather_deps *deps)
{
    weather *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->d = *deps;
    s->cfg = deps->cfg;
    lease_opts lo = {.alone = !deps->cfg->coordinate,
                     .ttl_ms = deps->cfg->lease_ms,
                     .poll_ms = 2000,
                     .stop = &s->stopping};
    s->ls = api_leases_new(deps->st, &lo);
    if (!s->ls) {
        free(s);
        return NULL;
    }
    const char *help = "Weather answers by cache state";
    s->hit = nb_counter_new("nimbus_api_answers_total", "cache=\"hit\"", help);
    s->stale = nb_counter_new("nimbus_api_answers_total", "cache=\"stale\"", help);
    s->miss = nb_counter_new("nimbus_api_answers_total", "cache=\"miss\"", help);
    s->revalidated = nb_counter_new("nimbus_api_answers_total", "cache=\"revalidated\"", help);
    s->renewals = nb_counter_new("nimbus_renewals_total", NULL,
                                 "Background renewals of stale records started");
    s->renewals_skipped =
        nb_counter_new("nimbus_renewals_skipped_total", NULL,
                       "Renewals not started: too many keys in flight (the next request retries)");
    const char *rhelp = "Record reads by how persistence's answer was kept: a copy reused within "
                        "its max-age, confirmed by a 304, replaced by a new version, or new";
    s->copy_used = nb_counter_new("nimbus_record_reads_total", "via=\"near_cache\"", rhelp);
    s->copy_confirmed = nb_counter_new("nimbus_record_reads_total", "via=\"not_modified\"", rhelp);
    s->copy_replaced = nb_counter_new("nimbus_record_reads_total", "via=\"changed\"", rhelp);
    s->copy_new = nb_counter_new("nimbus_record_reads_total", "via=\"new\"", rhelp);
    nb_gauge_fn_new("nimbus_fetch_queue_depth", NULL,
                    "Upstream fetches (renewals and misses) queued or running", fetch_depth_metric,
                    deps->fetchers);
    return s;
}

void api_weather_stop(weather *w)
{
    atomic_store(&w->stopping, true);
    api_pool_close(w->d.fetchers);
}

void api_weather_free(weather *w)
{
    if (!w) return;
    api_leases_free(w->ls);
    free(w);
}

void api_weather_status(weather *s, nb_buf *out)
{
    nb_buf_addf(out, "\"fetch_queue\":%ld,\"waiting\":%ld", api_pool_depth(s->d.fetchers),
                api_fl_waiters(s->d.fl));
}
