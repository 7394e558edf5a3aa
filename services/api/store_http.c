/* store_http.c — the store backend over persistence's HTTP interface. */
#include "store_http.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/cache_control.h"
#include "nimbus/clock.h"
#include "nimbus/http_client.h"
#include "nimbus/metrics.h"

enum {
    OP_GET_RECORD,
    OP_GET_GEO,
    OP_PUT,
    OP_CLAIM,
    OP_ACK,
    OP_RELEASE,
    OP_STATS,
    OP_SUBSCRIPTIONS,
    OP_PING,
    OP_LEASE,
    OP_LEASE_RELEASE,
    OP_WAIT,
    OP_BUDGET,
    OP_N
};
static const char *const op_names[OP_N] = {
    "get_record",    "get_geo", "put",   "claim",         "ack",  "release", "stats",
    "subscriptions", "ping",    "lease", "lease_release", "wait", "budget"};

/* After a coordination call (lease, long poll, budget) persistence did not
 * answer, or answered 503 (its Redis down), the next ones fail at once for
 * this long: the callers fall back (fetch alone, the local budget) instead of
 * each waiting a timeout on a persistence that is away. */
#define COORD_HOLD_MS 2000

typedef struct store_http {
    store base;
    const api_config *cfg;
    nb_counter *errors, *calls[OP_N], *coord_skipped;
    _Atomic int64_t coord_away_until_ms; /* monotonic */
} store_http;

/* true (with err set) while coordination calls are held back. */
static bool coord_held(store_http *s, nb_error *err)
{
    int64_t until = atomic_load(&s->coord_away_until_ms);
    if (until == 0 || nb_mono_ms() >= until) return false;
    nb_counter_inc(s->coord_skipped);
    nb_error_set(err, NB_ERR_UNAVAILABLE, 1,
                 "persistence did not answer the last coordination call; not asked again "
                 "for %d ms",
                 COORD_HOLD_MS);
    return true;
}

/* Notes how a coordination call went; returns e. */
static nb_err coord_outcome(store_http *s, nb_err e)
{
    if (e == NB_ERR_TIMEOUT || e == NB_ERR_UNAVAILABLE)
        atomic_store(&s->coord_away_until_ms, nb_mono_ms() + COORD_HOLD_MS);
    else if (e == NB_OK)
        atomic_store(&s->coord_away_until_ms, 0);
    return e;
}

/* One call to persistence; header: one extra "Name: value" line or NULL. */
static nb_err do_call(store_http *s, int op, const char *method, const char *path,
                      const char *header, const char *body, size_t len, long timeout_ms,
                      nb_httpc_resp *resp, nb_error *err)
{
    nb_counter_inc(s->calls[op]);
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", s->cfg->persistence_url, path);
    const char *headers[3] = {NULL};
    int n = 0;
    if (body) headers[n++] = "Content-Type: application/json";
    if (header) headers[n++] = header;
    long t = timeout_ms > 0 ? timeout_ms : s->cfg->persistence_timeout_ms;
    nb_httpc_req req = {.method = method,
                        .url = url,
                        .headers = headers,
                        .body = body,
                        .body_len = len,
                        .connect_timeout_ms = t / 2,
                        .timeout_ms = t,
                        .max_body = 8 << 20};
    nb_err e = nb_httpc_do(&req, resp);
    if (e) {
        nb_counter_inc(s->errors);
        nb_error_set(err, e, 0, "persistence %s %s: %s", method, path, resp->errmsg);
    }
    return e;
}

/* The error for a non-200 answer, with its body as the reason. */
static nb_err answer_err(store_http *s, const char *method, const char *path,
                         const nb_httpc_resp *resp, nb_error *err)
{
    char who[160];
    snprintf(who, sizeof(who), "persistence %s %.120s", method, path);
    nb_err e = nb_error_from_answer(err, resp->status, nb_buf_str(&resp->body), resp->body.len,
                                    nb_httpc_header(resp, "Retry-After"), who);
    if (e != NB_ERR_NOT_FOUND || strcmp(method, "GET") != 0) nb_counter_inc(s->errors);
    return e;
}

static json_t *parse_body(const nb_httpc_resp *resp)
{
    return json_loadb(nb_buf_str(&resp->body), resp->body.len, JSON_REJECT_DUPLICATES, NULL);
}

/* Fills meta from an answer's headers. */
static void read_meta(const nb_httpc_resp *resp, store_meta *meta)
{
    const char *from = nb_httpc_header(resp, "X-Store"), *tag = nb_httpc_header(resp, "ETag");
    snprintf(meta->source, sizeof(meta->source), "%s", from ? from : "cache");
    snprintf(meta->etag, sizeof(meta->etag), "%s",
             tag && strlen(tag) < sizeof(meta->etag) ? tag : "");
    meta->max_age_s = nb_cc_seconds(nb_httpc_header(resp, "Cache-Control"), "max-age");
    meta->unchanged = resp->status == 304;
}

static nb_err http_get_record(store *st, const char *key, const char *if_none_match, nb_record *out,
                              store_meta *meta, nb_error *err)
{
    store_http *s = (store_http *)st;
    char *path = api_store_record_path(key, NULL);
    if (!path) return nb_error_set(err, NB_ERR_NOMEM, 0, "out of memory");
    char inm[STORE_ETAG_MAX + 16];
    if (if_none_match) snprintf(inm, sizeof(inm), "If-None-Match: %s", if_none_match);
    nb_httpc_resp resp;
    nb_err e =
        do_call(s, OP_GET_RECORD, "GET", path, if_none_match ? inm : NULL, NULL, 0, 0, &resp, err);
    *meta = (store_meta){.max_age_s = -1};
    if (!e && resp.status != 200 && resp.status != 304) e = answer_err(s, "GET", path, &resp, err);
    if (!e) {
        read_meta(&resp, meta);
        const char *why;
        if (!meta->unchanged &&
            nb_record_parse(nb_buf_str(&resp.body), resp.body.len, out, &why) != NB_OK) {
            nb_counter_inc(s->errors);
            e = nb_error_set(err, NB_ERR_UPSTREAM, 0, "persistence sent a bad record: %s", why);
        }
    }
    nb_httpc_resp_release(&resp);
    free(path);
    return e;
}

static nb_err http_get_geo(store *st, const char *query, nb_geo_entry *out, store_meta *meta,
                           nb_error *err)
{
    store_http *s = (store_http *)st;
    char *path = api_store_geo_path(query);
    if (!path) return nb_error_set(err, NB_ERR_NOMEM, 0, "out of memory");
    nb_httpc_resp resp;
    nb_err e = do_call(s, OP_GET_GEO, "GET", path, NULL, NULL, 0, 0, &resp, err);
    *meta = (store_meta){.max_age_s = -1};
    if (!e && resp.status != 200) e = answer_err(s, "GET", path, &resp, err);
    const char *why;
    if (!e) read_meta(&resp, meta);
    if (!e && nb_geo_parse(nb_buf_str(&resp.body), resp.body.len, out, &why) != NB_OK) {
        nb_counter_inc(s->errors);
        e = nb_error_set(err, NB_ERR_UPSTREAM, 0, "persistence sent a bad geocode entry: %s", why);
    }
    nb_httpc_resp_release(&resp);
    free(path);
    return e;
}

static nb_err http_put(store *st, const char *path, const char *body, size_t len, long timeout_ms,
                       store_put_result *res, nb_error *err)
{
    store_http *s = (store_http *)st;
    nb_httpc_resp resp;
    memset(res, 0, sizeof(*res));
    nb_err e = do_call(s, OP_PUT, "PUT", path, NULL, body, len, timeout_ms, &resp, err);
    if (!e && resp.status != 200) e = answer_err(s, "PUT", path, &resp, err);
    if (!e) {
        json_t *doc = parse_body(&resp);
        json_t *applied = json_object_get(doc, "applied");
        const char *event = json_string_value(json_object_get(doc, "event"));
        const char *cache = json_string_value(json_object_get(doc, "cache"));
        const char *tag = nb_httpc_header(&resp, "ETag");
        res->applied = json_is_true(applied);
        res->cache_written = cache && strcmp(cache, "written") == 0;
        if (res->applied && tag && strlen(tag) < sizeof(res->etag)) strcpy(res->etag, tag);
        if (event && strlen(event) < sizeof(res->event)) strcpy(res->event, event);
        json_decref(doc);
    }
    nb_httpc_resp_release(&resp);
    return e;
}

/* POST a JSON body (stolen) to path; on 200 *answer is the parsed answer. */
static nb_err post_json(store_http *s, int op, const char *path, json_t *body, long timeout_ms,
                        json_t **answer, nb_error *err)
{
    *answer = NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) return nb_error_set(err, NB_ERR_NOMEM, 0, "out of memory");
    nb_httpc_resp resp;
    nb_err e = do_call(s, op, "POST", path, NULL, text, strlen(text), timeout_ms, &resp, err);
    free(text);
    if (!e && resp.status != 200) e = answer_err(s, "POST", path, &resp, err);
    if (!e && !(*answer = parse_body(&resp))) {
        nb_counter_inc(s->errors);
        e = nb_error_set(err, NB_ERR_UPSTREAM, 0, "persistence %s: answer is not JSON", path);
    }
    nb_httpc_resp_release(&resp);
    return e;
}

static nb_err http_claim(store *st, const char *owner, int limit, long lease_ms, long timeout_ms,
                         outbox_event **out, size_t *n, nb_error *err)
{
    store_http *s = (store_http *)st;
    *out = NULL;
    *n = 0;
    json_t *answer;
    nb_err e = post_json(s, OP_CLAIM, "/v1/outbox/claim",
                         json_pack("{s:s, s:i, s:I}", "owner", owner, "limit", limit, "lease_ms",
                                   (json_int_t)lease_ms),
                         timeout_ms, &answer, err);
    if (e) return e;
    json_t *events = json_object_get(answer, "events");
    size_t count = json_array_size(events);
    outbox_event *evs = count ? calloc(count, sizeof(*evs)) : NULL;
    if (count && !evs) e = nb_error_set(err, NB_ERR_NOMEM, 0, "out of memory");
    for (size_t i = 0; !e && i < count; i++) {
        json_t *row = json_array_get(events, i);
        const char *id = json_string_value(json_object_get(row, "id"));
        const char *key = json_string_value(json_object_get(row, "key"));
        json_t *event = json_object_get(row, "event");
        if (!id || !key || !json_is_object(event) || strlen(id) >= sizeof(evs[i].id) ||
            strlen(key) >= sizeof(evs[i].key)) {
            e = nb_error_set(err, NB_ERR_UPSTREAM, 0, "persistence sent a malformed outbox event");
            break;
        }
        strcpy(evs[i].id, id);
        strcpy(evs[i].key, key);
        evs[i].json = json_dumps(event, JSON_COMPACT | JSON_REAL_PRECISION(10));
        if (!evs[i].json)
            e = nb_error_set(err, NB_ERR_NOMEM, 0, "out of memory");
        else
            evs[i].len = strlen(evs[i].json);
    }
    json_decref(answer);
    if (e) {
        if (e == NB_ERR_UPSTREAM) nb_counter_inc(s->errors);
        api_outbox_events_free(evs, count);
        return e;
    }
    *out = evs;
    *n = count;
    return NB_OK;
}

static json_t *id_array(const char *const *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(ids[i]));
    return a;
}

static nb_err count_answer(store_http *s, int op, const char *path, json_t *body, const char *field,
                           long timeout_ms, long *count, nb_error *err)
{
    json_t *answer;
    nb_err e = post_json(s, op, path, body, timeout_ms, &answer, err);
    if (e) return e;
    json_t *v = json_object_get(answer, field);
    if (count) *count = json_is_integer(v) ? (long)json_integer_value(v) : 0;
    json_decref(answer);
    return NB_OK;
}

static nb_err http_ack(store *st, const char *const *ids, size_t n, long timeout_ms, long *count,
                       nb_error *err)
{
    return count_answer((store_http *)st, OP_ACK, "/v1/outbox/ack",
                        json_pack("{s:o}", "ids", id_array(ids, n)), "acked", timeout_ms, count,
                        err);
}

static nb_err http_release(store *st, const char *owner, const char *const *ids, size_t n,
                           long timeout_ms, long *count, nb_error *err)
{
    return count_answer((store_http *)st, OP_RELEASE, "/v1/outbox/release",
                        json_pack("{s:s, s:o}", "owner", owner, "ids", id_array(ids, n)),
                        "released", timeout_ms, count, err);
}

static nb_err http_stats(store *st, outbox_stats *out, nb_error *err)
{
    store_http *s = (store_http *)st;
    nb_httpc_resp resp;
    nb_err e = do_call(s, OP_STATS, "GET", "/v1/outbox/stats", NULL, NULL, 0, 0, &resp, err);
    if (!e && resp.status != 200) e = answer_err(s, "GET", "/v1/outbox/stats", &resp, err);
    if (!e) {
        json_t *doc = parse_body(&resp);
        json_t *pending = json_object_get(doc, "pending"),
               *age = json_object_get(doc, "oldest_pending_age_s");
        if (!json_is_integer(pending) || !json_is_number(age)) {
            e = nb_error_set(err, NB_ERR_UPSTREAM, 0, "persistence sent malformed outbox stats");
        } else {
            out->pending = (long)json_integer_value(pending);
            out->oldest_age_s = json_number_value(age);
        }
        json_decref(doc);
    }
    nb_httpc_resp_release(&resp);
    return e;
}

/* --- coordination between replicas ------------------------------------- */

static const char *lease_kind(store_lease_kind kind)
{
    return kind == STORE_LEASE_RECORD ? "record" : "geocode";
}

static nb_err http_lease_acquire(store *st, store_lease_kind kind, const char *key, int64_t seen_ms,
                                 long ttl_ms, store_lease *out, nb_error *err)
{
    store_http *s = (store_http *)st;
    json_t *answer;
    memset(out, 0, sizeof(*out));
    if (coord_held(s, err)) return NB_ERR_UNAVAILABLE;
    nb_err e = coord_outcome(
        s, post_json(s, OP_LEASE, "/v1/leases/acquire",
                     json_pack("{s:s, s:s, s:I, s:I}", "kind", lease_kind(kind), "key", key,
                               "ttl_ms", (json_int_t)ttl_ms, "seen_ms", (json_int_t)seen_ms),
                     0, &answer, err));
    if (e) return e;
    const char *state = json_string_value(json_object_get(answer, "state"));
    const char *token = json_string_value(json_object_get(answer, "token"));
    const char *reason = json_string_value(json_object_get(answer, "reason"));
    out->ttl_ms = (long)json_integer_value(json_object_get(answer, "ttl_ms"));
    e = NB_OK;
    if (state && strcmp(state, "granted") == 0 && token && strlen(token) < sizeof(out->token)) {
        out->state = STORE_LEASE_GRANTED;
        strcpy(out->token, token);
    } else if (state && strcmp(state, "held") == 0) {
        out->state = STORE_LEASE_HELD;
    } else if (state && strcmp(state, "newer") == 0) {
        out->state = STORE_LEASE_NEWER;
        out->version_ms = json_integer_value(json_object_get(answer, "version_ms"));
    } else if (state && strcmp(state, "failed") == 0) {
        out->state = STORE_LEASE_FAILED;
        out->retry_after_s = (int)json_integer_value(json_object_get(answer, "retry_after_s"));
        snprintf(out->reason, sizeof(out->reason), "%s", reason ? reason : "");
    } else {
        nb_counter_inc(s->errors);
        e = nb_error_set(err, NB_ERR_UPSTREAM, 0, "persistence sent a malformed lease answer");
    }
    json_decref(answer);
    return e;
}

static nb_err http_lease_release(store *st, store_lease_kind kind, const char *key,
                                 const char *token, long hold_ms, int retry_after_s,
                                 const char *reason, nb_error *err)
{
    store_http *s = (store_http *)st;
    json_t *body = json_pack("{s:s, s:s, s:s, s:I}", "kind", lease_kind(kind), "key", key, "token",
                             token, "hold_ms", (json_int_t)hold_ms);
    if (body && hold_ms > 0) {
        char why[151];
        snprintf(why, sizeof(why), "%s", reason ? reason : "");
        json_object_set_new(body, "failure",
                            json_pack("{s:s, s:i}", "reason", why, "retry_after_s",
                                      retry_after_s < 0 ? 0 : retry_after_s));
    }
    json_t *answer = NULL;
    if (coord_held(s, err)) {
        json_decref(body);
        return NB_ERR_UNAVAILABLE;
    }
    nb_err e = coord_outcome(
        s, post_json(s, OP_LEASE_RELEASE, "/v1/leases/release", body, 0, &answer, err));
    json_decref(answer);
    return e;
}

/* GET path?newer_than=&wait_ms= (a long poll), the body on 200. */
static nb_err long_poll(store_http *s, const char *path, int64_t newer_than_ms, long wait_ms,
                        nb_httpc_resp *resp, nb_error *err)
{
    char full[1024];
    memset(resp, 0, sizeof(*resp));
    if (coord_held(s, err)) return NB_ERR_UNAVAILABLE;
    snprintf(full, sizeof(full), "%s?newer_than=%lld&wait_ms=%ld", path, (long long)newer_than_ms,
             wait_ms);
    nb_err e = coord_outcome(s, do_call(s, OP_WAIT, "GET", full, NULL, NULL, 0,
                                        wait_ms + s->cfg->persistence_timeout_ms, resp, err));
    if (!e && resp->status != 200) e = answer_err(s, "GET", path, resp, err);
    return e;
}

static nb_err http_wait_record(store *st, const char *key, int64_t newer_than_ms, long wait_ms,
                               nb_record *out, char source[16], nb_error *err)
{
    store_http *s = (store_http *)st;
    char *path = api_store_record_path(key, NULL);
    if (!path) return nb_error_set(err, NB_ERR_NOMEM, 0, "out of memory");
    nb_httpc_resp resp;
    nb_err e = long_poll(s, path, newer_than_ms, wait_ms, &resp, err);
    const char *why;
    if (!e) {
        const char *from = nb_httpc_header(&resp, "X-Store");
        snprintf(source, 16, "%s", from ? from : "cache");
        if (nb_record_parse(nb_buf_str(&resp.body), resp.body.len, out, &why) != NB_OK) {
            nb_counter_inc(s->errors);
            e = nb_error_set(err, NB_ERR_UPSTREAM, 0, "persistence sent a bad record: %s", why);
        }
    }
    nb_httpc_resp_release(&resp);
    free(path);
    return e;
}

static nb_err http_wait_geo(store *st, const char *query, int64_t newer_than_ms, long wait_ms,
                            nb_geo_entry *out, nb_error *err)
{
    store_http *s = (store_http *)st;
    char *path = api_store_geo_path(query);
    if (!path) return nb_error_set(err, NB_ERR_NOMEM, 0, "out of memory");
    nb_httpc_resp resp;
    nb_err e = long_poll(s, path, newer_than_ms, wait_ms, &resp, err);
    const char *why;
    if (!e && nb_geo_parse(nb_buf_str(&resp.body), resp.body.len, out, &why) != NB_OK) {
        nb_counter_inc(s->errors);
        e = nb_error_set(err, NB_ERR_UPSTREAM, 0, "persistence sent a bad geocode entry: %s", why);
    }
    nb_httpc_resp_release(&resp);
    free(path);
    return e;
}

static nb_err http_budget_take(store *st, double cost, const nb_window *w, size_t nw,
                               store_budget *out, nb_error *err)
{
    store_http *s = (store_http *)st;
    memset(out, 0, sizeof(*out));
    if (coord_held(s, err)) return NB_ERR_UNAVAILABLE;
    json_t *windows = json_array();
    for (size_t i = 0; windows && i < nw; i++)
        json_array_append_new(windows, json_pack("{s:I, s:f}", "seconds", (json_int_t)w[i].seconds,
                                                 "limit", w[i].limit));
    json_t *answer;
    nb_err e = coord_outcome(s, post_json(s, OP_BUDGET, "/v1/budget/take",
                                          json_pack("{s:f, s:o}", "cost", cost, "windows", windows),
                                          0, &answer, err));
    if (e) return e;
    json_t *granted = json_object_get(answer, "granted"), *left = json_object_get(answer, "left");
    if (!json_is_boolean(granted) || json_array_size(left) != nw) {
        nb_counter_inc(s->errors);
        e = nb_error_set(err, NB_ERR_UPSTREAM, 0, "persistence sent a malformed budget answer");
    } else {
        out->granted = json_is_true(granted);
        out->retry_after_ms = (long)json_integer_value(json_object_get(answer, "retry_after_ms"));
        out->window_s = (long)json_integer_value(json_object_get(answer, "window_s"));
        for (size_t i = 0; i < nw && i < NB_BUCKET_WINDOWS_MAX; i++)
            out->left[i] = json_number_value(json_array_get(left, i));
    }
    json_decref(answer);
    return e;
}

static nb_err http_subscriptions(store *st, const char *path, const char *body, size_t len,
                                 store_reply *out, nb_error *err)
{
    store_http *s = (store_http *)st;
    nb_httpc_resp resp;
    *out = (store_reply){0};
    nb_err e = do_call(s, OP_SUBSCRIPTIONS, "POST", path, NULL, body, len, 0, &resp, err);
    if (!e) {
        const char *ra = nb_httpc_header(&resp, "Retry-After");
        out->status = resp.status;
        if (ra) snprintf(out->retry_after, sizeof(out->retry_after), "%s", ra);
        if (resp.status >= 500) nb_counter_inc(s->errors);
        out->body = nb_buf_detach(&resp.body, &out->len);
        if (!out->body) e = nb_error_set(err, NB_ERR_NOMEM, 0, "out of memory");
    }
    nb_httpc_resp_release(&resp);
    return e;
}

static bool http_ping(store *st)
{
    store_http *s = (store_http *)st;
    nb_httpc_resp resp;
    nb_err e = do_call(s, OP_PING, "GET", "/healthz", NULL, NULL, 0, 0, &resp, NULL);
    bool ok = !e && resp.status == 200;
    nb_httpc_resp_release(&resp);
    return ok;
}

static void http_free(store *st)
{
    free(st);
}

static const store_ops http_ops = {
    .name = "http",
    .get_record = http_get_record,
    .get_geo = http_get_geo,
    .put = http_put,
    .claim = http_claim,
    .ack = http_ack,
    .release = http_release,
    .stats = http_stats,
    .lease_acquire = http_lease_acquire,
    .lease_release = http_lease_release,
    .wait_record = http_wait_record,
    .wait_geo = http_wait_geo,
    .budget_take = http_budget_take,
    .subscriptions = http_subscriptions,
    .ping = http_ping,
    .free = http_free,
};

store *api_store_http_new(const api_config *cfg)
{
    store_http *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->base.ops = &http_ops;
    s->cfg = cfg;
    s->errors =
        nb_counter_new("nimbus_persistence_errors_total", NULL, "Calls to persistence that failed");
    s->coord_skipped = nb_counter_new(
        "nimbus_persistence_coordination_skipped_total", NULL,
        "Lease, long-poll and budget calls not made: persistence did not answer one a moment ago");
    for (int i = 0; i < OP_N; i++) {
        char labels[32];
        snprintf(labels, sizeof(labels), "op=\"%s\"", op_names[i]);
        s->calls[i] = nb_counter_new("nimbus_persistence_calls_total", labels,
                                     "Calls made to persistence, by operation");
    }
    return &s->base;
}
