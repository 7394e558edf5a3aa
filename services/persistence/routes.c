/* routes.c — HTTP handlers of persistence (see routes.h).
 *
 * GET answers the stored bytes as they are (no parsing on the fast path) with
 * X-Store saying which store answered, ETag the stored version and
 * Cache-Control: max-age saying how long a client may reuse the answer
 * without asking again (routes_deps); a GET with that ETag in
 * If-None-Match gets 304 with the same headers. GETs are inline: the polling thread
 * queues the cache read for the store's batched reader (one pipelined Redis
 * round trip for many requests) and only misses go to a worker; the polling
 * thread itself never calls a backend. PUT checks the path and the body
 * (request.h: the shared codecs of libcommon record.h), stores the canonical
 * encoding, and answers the put result; a record PUT offers the store the event of its
 * observation (event.h), which the database keeps when the write advances
 * the observation. The outbox routes run on workers. Every failure is
 * answered through nb_respond_error. */
#include "routes.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_routes.h"
#include "event.h"
#include "nimbus/clock.h"
#include "nimbus/etag.h"
#include "nimbus/log.h"
#include "nimbus/record.h"
#include "nimbus/text.h"
#include "request.h"

#define OWNER_MAX 64     /* characters of a claim owner */
#define BATCH_MAX 1000   /* events per claim, ids per ack/release */
#define NAME_MAX_LEN 200 /* bytes of a place name (?name=) */
/* a claim answer: BATCH_MAX events of at most a few KiB each */
#define CLAIM_ANSWER_MAX (16u << 20)

static const char *store_name(store_backend b)
{
    return b == STORE_CACHE ? "cache" : "database";
}

static void respond_unavailable(nb_req *r, const char *what)
{
    nb_req_add_header(r, "Retry-After", "1");
    nb_respond_error(r, NB_ERR_UNAVAILABLE, "%s", what);
}

/* The version's entity tag: the version (fetched_at / resolved_at, ms) quoted. */
static void version_etag(int64_t version_ms, char out[32])
{
    snprintf(out, 32, "\"%lld\"", (long long)version_ms);
}

/* How long a client may reuse an answer of ns without asking again: the
 * setting, and for a geocoding entry no longer than it lives. A database
 * answer while the cache is up is a miss the fill thread is about to repair:
 * not to be reused (the next read, from the cache, is), so that what a
 * client reports as the answer's store (X-Store) is never a stale detail. */
static long max_age_s(const routes_deps *c, kv_ns ns, const kv_value *v, store_backend from)
{
    if (from == STORE_DB && ps_store_backend_up(c->st, STORE_CACHE)) return 0;
    if (ns == KV_NS_RECORD) return c->record_max_age_s;
    long s = c->geocode_max_age_s;
    if (v->expires_at_ms > 0) {
        int64_t left = (v->expires_at_ms - nb_now_ms()) / 1000;
        if (left < s) s = left > 0 ? (long)left : 0;
    }
    return s;
}

/* Answers a GET with a stored value: 200 with the bytes, or 304 when the
 * client already holds this version; both say how long it may be reused
 * (RFC 9111: a 304 refreshes the client's copy). Takes v's bytes. */
static void respond_value(nb_req *r, const routes_deps *c, kv_ns ns, kv_value *v,
                          store_backend from)
{
    char etag[32], cc[32];
    version_etag(v->version_ms, etag);
    snprintf(cc, sizeof(cc), "max-age=%ld", max_age_s(c, ns, v, from));
    nb_req_add_header(r, "X-Store", store_name(from));
    nb_req_add_header(r, "ETag", etag);
    nb_req_add_header(r, "Cache-Control", cc);
    if (nb_etag_none_match(nb_req_header(r, "If-None-Match"), etag)) {
        free(v->data);
        nb_respond(r, 304, "application/json", "", 0);
        return;
    }
    nb_respond_take(r, 200, "application/json", v->data, v->len); /* the server owns it now */
}

/* Answers a GET from what the store said: the value, 404, or 503. */
static void respond_read(nb_req *r, const routes_deps *c, nb_err rc, kv_ns ns, kv_value *v,
                         store_backend from)
{
    switch (rc) {
    case NB_OK:
        respond_value(r, c, ns, v, from);
        return;
    case NB_ERR_NOT_FOUND:
        nb_respond_error(r, NB_ERR_NOT_FOUND, "nothing stored for %s",
                         ns == KV_NS_RECORD ? "this location" : "this query");
        return;
    case NB_ERR_UNAVAILABLE:
        respond_unavailable(r, "database unavailable");
        return;
    default:
        nb_respond_error(r, rc, "could not read the store");
        return;
    }
}

/* A GET in flight between the polling thread, the store's reader thread and
 * a worker; a long poll (wait_ms) also waits in the watch between them. */
typedef struct pending_get {
    nb_req *r;
    const routes_deps *c;
    kv_ns ns;
    int64_t newer_than_ms, deadline_ms; /* a long poll: deadline_ms > 0 */
    char key[NB_QUERY_MAX + 1];
} pending_get;

static void on_watched(nb_req *r, void *arg, watch_outcome why);

/* Answers a read, or hands a long poll whose read found nothing newer to the
 * watch; frees p once answered. */
static void read_done(pending_get *p, nb_err rc, kv_value *v, store_backend from)
{
    if (p->deadline_ms) {
        const char *why;
        if (rc == NB_OK && v->version_ms > p->newer_than_ms)
            why = ps_watch_outcome_name(WATCH_NEWER);
        else if (rc != NB_OK && rc != NB_ERR_NOT_FOUND) /* the failure is answered now */
            why = ps_watch_outcome_name(WATCH_UNAVAILABLE);
        else if (nb_mono_ms() >= p->deadline_ms)
            why = ps_watch_outcome_name(WATCH_TIMEOUT);
        else if (ps_watch_add(p->c->w, p->r, p->ns, p->key, p->newer_than_ms, p->deadline_ms,
                              on_watched, p)) {
            if (rc == NB_OK) ps_kv_value_release(v);
            return; /* p is the watch's now */
        } else
            why = ps_watch_outcome_name(WATCH_FULL);
        nb_req_add_header(p->r, "X-Wait", why);
    }
    respond_read(p->r, p->c, rc, p->ns, v, from);
    free(p);
}

/* Worker: the whole read path (the cache could not take the batched read). */
static void get_anywhere(nb_req *r, void *ctx)
{
    pending_get *p = ctx;
    kv_value v;
    store_backend from;
    nb_err rc = ps_store_get(p->c->st, p->ns, p->key, &v, &from);
    read_done(p, rc, &v, from);
}

/* Worker: the cache did not have it; the database may. */
static void get_from_db(nb_req *r, void *ctx)
{
    pending_get *p = ctx;
    kv_value v;
    nb_err rc = ps_store_get_db(p->c->st, p->ns, p->key, &v);
    read_done(p, rc, &v, STORE_DB);
}

/* Worker: a long poll let go by the watch is answered as any GET, saying why. */
static void on_watched(nb_req *r, void *arg, watch_outcome why)
{
    pending_get *p = arg;
    kv_value v;
    store_backend from;
    nb_err rc = ps_store_get(p->c->st, p->ns, p->key, &v, &from);
    nb_req_add_header(r, "X-Wait", ps_watch_outcome_name(why));
    respond_read(r, p->c, rc, p->ns, &v, from);
    free(p);
}

/* Reader thread: a cache hit is answered here; anything else goes to a worker. */
static void on_cached(void *arg, nb_err rc, kv_value *v)
{
    pending_get *p = arg;
    if (rc != NB_OK) {
        nb_req_to_worker(p->r, get_from_db, p);
        return;
    }
    read_done(p, NB_OK, v, STORE_CACHE);
}

/* Polling thread: queue the read for the store's batched cache reader, so
 * cache hits never wait for a worker; the rest runs on workers. A long poll
 * (?wait_ms=, request.h ps_rq_wait) whose read finds nothing newer than
 * ?newer_than= is then held by the watch. */
static void get_stored(nb_req *r, const routes_deps *c, kv_ns ns, const char *key)
{
    int64_t newer_than, wait_ms;
    char why[160];
    if (ps_rq_wait(nb_req_query(r, "newer_than"), nb_req_query(r, "wait_ms"), &newer_than, &wait_ms,
                   why, sizeof(why)) != NB_OK) {
        nb_respond_error(r, NB_ERR_INVALID, "%s", why);
        return;
    }
    pending_get *p = malloc(sizeof(*p));
    if (!p) {
        nb_respond_error(r, NB_ERR_NOMEM, "out of memory");
        return;
    }
    *p = (pending_get){.r = r,
                       .c = c,
                       .ns = ns,
                       .newer_than_ms = newer_than,
                       .deadline_ms = wait_ms > 0 ? nb_mono_ms() + wait_ms : 0};
    snprintf(p->key, sizeof(p->key), "%s", key);
    if (!ps_store_get_cached_async(c->st, ns, key, on_cached, p))
        nb_req_to_worker(r, get_anywhere, p);
}

/* Checks the PUT's media type; answers 415 and returns false otherwise. */
static bool body_is_json(nb_req *r)
{
    const char *ct = nb_req_header(r, "Content-Type");
    if (ps_rq_is_json(ct)) return true;
    nb_respond_error(r, NB_ERR_MEDIA_TYPE, "body must be application/json, got %s",
                     ct ? "another type" : "no Content-Type");
    return false;
}

/* Answers a PUT from what the store said (proto/put-result.schema.json).
 * event_id: the event offered with a record (NULL: none); lease: what became
 * of the lease named by ?lease= (NULL: none named). */
static void answer_put(nb_req *r, store *st, kv_ns ns, const char *key, int64_t version_ms,
                       nb_err rc, const store_put_result *res, const char *event_id,
                       const char *lease)
{
    if (rc == NB_ERR_INVALID) { /* the store refuses versions from the future */
        char when[40];
        nb_time_rfc3339(version_ms, when, sizeof(when));
        nb_respond_error(r, rc,
                         "%s %s is %lld ms in the future, more than the allowed clock skew of "
                         "%lld ms (--max-clock-skew-ms); nothing was stored",
                         ns == KV_NS_RECORD ? "fetched_at" : "resolved_at", when,
                         (long long)(version_ms - nb_now_ms()),
                         (long long)ps_store_max_skew_ms(st));
        return;
    }
    if (rc == NB_ERR_UNAVAILABLE) {
        respond_unavailable(r, "database unavailable; nothing was stored");
        return;
    }
    if (rc != NB_OK) {
        nb_respond_error(r, rc, "could not store the value");
        return;
    }
    json_t *doc = json_pack("{s:s, s:b, s:s}", "key", key, "applied", res->applied, "cache",
                            res->cache_written ? "written" : "skipped");
    if (doc && ns == KV_NS_RECORD && res->stored_ms > 0) {
        char when[40];
        nb_time_rfc3339(res->stored_ms, when, sizeof(when));
        json_object_set_new(doc, "fetched_at", json_string(when));
    }
    if (doc && res->event_created && event_id) {
        json_object_set_new(doc, "event", json_string(event_id));
        nb_info("event %s stored for %s", event_id, key);
    }
    if (res->applied) { /* what a GET now answers is what was sent: its validator */
        char etag[32];
        version_etag(version_ms, etag);
        nb_req_add_header(r, "ETag", etag);
    }
    if (doc && lease) json_object_set_new(doc, "lease", json_string(lease));
    nb_respond_json(r, 200, doc);
}

/* True when s is 1..max_chars UTF-8 characters (max_bytes at most) without
 * control characters. */
static bool text_ok(const char *s, size_t max_chars, size_t max_bytes)
{
    size_t n = strlen(s), chars = 0;
    if (n == 0 || n > max_bytes || !nb_utf8_valid(s, n)) return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) return false;
        if ((*p & 0xc0) != 0x80) chars++;
    }
    return chars <= max_chars;
}

/* --- /v1/records/{key} and /v1/geocode/{query} ------------------------------ */

/* The path's key for ns; answers 400 and returns false when it is bad. */
static bool path_key(nb_req *r, kv_ns ns, char key[NB_QUERY_MAX + 1])
{
    char why[300];
    if (ps_rq_key(ns, nb_req_tail(r), key, why, sizeof(why)) == NB_OK) return true;
    nb_respond_error(r, NB_ERR_INVALID, "%s", why);
    return false;
}

static void get_record(nb_req *r, void *ctx)
{
    char key[NB_QUERY_MAX + 1];
    if (path_key(r, KV_NS_RECORD, key)) get_stored(r, ctx, KV_NS_RECORD, key);
}

static void put_record(nb_req *r, void *ctx)
{
    store *st = ctx;
    char key[NB_QUERY_MAX + 1], why[600];
    size_t len;
    nb_record rec;
    rq_put put;
    char *event = NULL;

    if (!path_key(r, KV_NS_RECORD, key)) return;
    const char *token = nb_req_query(r, "lease");
    if (!ps_coord_lease_param_ok(r, token)) return;
    const char *name = nb_req_query(r, "name");
    if (name && *name && !text_ok(name, NAME_MAX_LEN, NAME_MAX_LEN)) {
        nb_respond_error(r, NB_ERR_INVALID,
                         "name must be UTF-8 text of at most %d bytes without control characters",
                         NAME_MAX_LEN);
        return;
    }
    if (!body_is_json(r)) return;
    const char *body = nb_req_body(r, &len);
    nb_err rc = ps_rq_record_put(key, body, len, &rec, &put, why, sizeof(why));
    if (rc != NB_OK) {
        nb_respond_error(r, rc, "%s", why);
        return;
    }
    char id[KV_UUID_LEN + 1];
    if (ps_event_uuid_v4(id) != NB_OK) {
        nb_respond_error(r, NB_ERR_INTERNAL, "no random source for the event id");
        goto out_free;
    }
    size_t elen;
    event = ps_event_build(&rec, name, id, nb_now_ms(), &elen);
    if (!event) {
        nb_respond_error(r, NB_ERR_NOMEM, "could not encode the record");
        goto out_free;
    }
    kv_event ev = {.id = id, .observed = rec.current.time, .data = event, .len = elen};
    store_put_result res;
    rc = ps_store_put_record(st, key, put.version_ms, put.canon, put.len, &ev, &res);
    const char *lease = ps_coord_release_after_put(st, KV_NS_RECORD, key, token, rc);
    answer_put(r, st, KV_NS_RECORD, key, put.version_ms, rc, &res, id, lease);
out_free:
    ps_rq_put_release(&put);
    free(event);
}

static void get_geocode(nb_req *r, void *ctx)
{
    char q[NB_QUERY_MAX + 1];
    if (path_key(r, KV_NS_GEOCODE, q)) get_stored(r, ctx, KV_NS_GEOCODE, q);
}

static void put_geocode(nb_req *r, void *ctx)
{
    char q[NB_QUERY_MAX + 1], why[600];
    size_t len;
    rq_put put;

    if (!path_key(r, KV_NS_GEOCODE, q) || !body_is_json(r)) return;
    const char *token = nb_req_query(r, "lease");
    if (!ps_coord_lease_param_ok(r, token)) return;
    const char *body = nb_req_body(r, &len);
    nb_err rc = ps_rq_geo_put(q, body, len, &put, why, sizeof(why));
    if (rc != NB_OK) {
        nb_respond_error(r, rc, "%s", why);
        return;
    }
    store_put_result res;
    rc = ps_store_put(ctx, KV_NS_GEOCODE, q, put.version_ms, put.expires_at_ms, put.canon, put.len,
                      &res);
    const char *lease = ps_coord_release_after_put(ctx, KV_NS_GEOCODE, q, token, rc);
    answer_put(r, ctx, KV_NS_GEOCODE, q, put.version_ms, rc, &res, NULL, lease);
    ps_rq_put_release(&put);
}

/* --- /v1/outbox ------------------------------------------------------------ */

const char *ps_routes_json_body(nb_req *r, size_t *len)
{
    return body_is_json(r) ? nb_req_body(r, len) : NULL;
}

json_t *ps_routes_json_object(nb_req *r, const char *const *fields)
{
    size_t len;
    const char *body = ps_routes_json_body(r, &len);
    if (!body) return NULL;
    char why[300];
    json_t *doc = ps_rq_json_object(body, len, fields, why, sizeof(why));
    if (!doc) nb_respond_error(r, NB_ERR_INVALID, "%s", why);
    return doc;
}

/* An integer field within [min, max]; answers 400 otherwise. */
static bool int_field(nb_req *r, json_t *doc, const char *name, long min, long max, long *out)
{
    json_t *v = json_object_get(doc, name);
    if (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max) {
        *out = (long)json_integer_value(v);
        return true;
    }
    nb_respond_error(r, NB_ERR_INVALID, "%s must be an integer from %ld to %ld", name, min, max);
    return false;
}

static const char *owner_field(nb_req *r, json_t *doc)
{
    const char *owner = json_string_value(json_object_get(doc, "owner"));
    if (owner && text_ok(owner, OWNER_MAX, 4 * OWNER_MAX)) return owner;
    nb_respond_error(r, NB_ERR_INVALID,
                     "owner must be a string of 1 to %d characters without control characters",
                     OWNER_MAX);
    return NULL;
}

/* The ids field: 1..BATCH_MAX UUID strings, lowercased into ids[] (the
 * caller frees it, *n entries). Answers 400 otherwise. */
static char (*ids_field(nb_req *r, json_t *doc, size_t *n))[KV_UUID_LEN + 1]
{
    json_t *arr = json_object_get(doc, "ids");
    size_t count = json_array_size(arr);
    if (!json_is_array(arr) || count < 1 || count > BATCH_MAX) {
        nb_respond_error(r, NB_ERR_INVALID, "ids must be an array of 1 to %d event ids", BATCH_MAX);
        return NULL;
    }
    char(*ids)[KV_UUID_LEN + 1] = malloc(count * sizeof(*ids));
    if (!ids) {
        nb_respond_error(r, NB_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        const char *id = json_string_value(json_array_get(arr, i));
        if (!id || !ps_event_uuid_valid(id)) {
            nb_respond_error(r, NB_ERR_INVALID, "ids[%zu] is not an event id (a UUID)", i);
            free(ids);
            return NULL;
        }
        for (int c = 0; c <= KV_UUID_LEN; c++)
            ids[i][c] = (char)tolower((unsigned char)id[c]);
    }
    *n = count;
    return ids;
}

/* Pointers to each id, for the store. */
static const char **id_ptrs(char (*ids)[KV_UUID_LEN + 1], size_t n)
{
    const char **p = malloc(n * sizeof(*p));
    if (p)
        for (size_t i = 0; i < n; i++)
            p[i] = ids[i];
    return p;
}

static void respond_outbox_failure(nb_req *r, nb_err rc)
{
    if (rc == NB_ERR_UNAVAILABLE)
        respond_unavailable(r, "database unavailable");
    else
        nb_respond_error(r, rc, "outbox operation failed");
}

static void post_claim(nb_req *r, void *ctx)
{
    static const char *const fields[] = {"owner", "limit", "lease_ms", NULL};
    long limit, lease_ms;
    kv_outbox_event *evs = NULL;
    size_t n = 0;
    nb_buf b;

    json_t *doc = ps_routes_json_object(r, fields);
    if (!doc) return;
    const char *owner = owner_field(r, doc);
    if (!owner || !int_field(r, doc, "limit", 1, BATCH_MAX, &limit) ||
        !int_field(r, doc, "lease_ms", 1000, 600000, &lease_ms))
        goto out_decref;
    nb_err rc = ps_store_outbox_claim(ctx, owner, (int)limit, (int)lease_ms, &evs, &n);
    if (rc != NB_OK) {
        respond_outbox_failure(r, rc);
        goto out_decref;
    }
    /* the events are JSON persistence made itself: copied in as they are */
    nb_buf_init(&b, CLAIM_ANSWER_MAX);
    rc = nb_buf_adds(&b, "{\"events\":[");
    for (size_t i = 0; i < n && rc == NB_OK; i++) {
        rc = nb_buf_addf(&b, "%s{\"id\":\"%s\",\"key\":\"%s\",\"event\":", i ? "," : "", evs[i].id,
                         evs[i].key);
        if (rc == NB_OK) rc = nb_buf_add(&b, evs[i].data, evs[i].len);
        if (rc == NB_OK) rc = nb_buf_adds(&b, "}");
    }
    if (rc == NB_OK) rc = nb_buf_adds(&b, "]}");
    if (rc != NB_OK) {
        nb_buf_release(&b);
        nb_respond_error(r, NB_ERR_NOMEM, "out of memory (the claimed events' leases run out)");
        goto out_free;
    }
    size_t len;
    char *out = nb_buf_detach(&b, &len);
    nb_respond_take(r, 200, "application/json", out, len);
    if (n) nb_debug("outbox: %zu events claimed by %s for %ld ms", n, owner, lease_ms);
out_free:
    ps_kv_outbox_events_free(evs, n);
out_decref:
    json_decref(doc);
}

/* ack and release: the same shape, the same answer. */
static void ids_route(nb_req *r, store *st, bool release)
{
    static const char *const ack_fields[] = {"ids", NULL};
    static const char *const release_fields[] = {"owner", "ids", NULL};
    const char *owner = NULL;
    char(*ids)[KV_UUID_LEN + 1] = NULL;
    const char **ptrs = NULL;
    size_t n = 0, done = 0;

    json_t *doc = ps_routes_json_object(r, release ? release_fields : ack_fields);
    if (!doc) return;
    if (release && !(owner = owner_field(r, doc))) goto out_free;
    if (!(ids = ids_field(r, doc, &n))) goto out_free;
    if (!(ptrs = id_ptrs(ids, n))) {
        nb_respond_error(r, NB_ERR_NOMEM, "out of memory");
        goto out_free;
    }
    nb_err rc = release ? ps_store_outbox_release(st, owner, n, ptrs, &done)
                        : ps_store_outbox_ack(st, n, ptrs, &done);
    if (rc != NB_OK) {
        respond_outbox_failure(r, rc);
        goto out_free;
    }
    nb_respond_json(r, 200, json_pack("{s:I}", release ? "released" : "acked", (json_int_t)done));
out_free:
    free(ptrs);
    free(ids);
    json_decref(doc);
}

static void post_ack(nb_req *r, void *ctx)
{
    ids_route(r, ctx, false);
}

static void post_release(nb_req *r, void *ctx)
{
    ids_route(r, ctx, true);
}

static void get_outbox_stats(nb_req *r, void *ctx)
{
    kv_outbox_stats st;
    nb_err rc = ps_store_outbox_stats(ctx, &st);
    if (rc != NB_OK) {
        respond_outbox_failure(r, rc);
        return;
    }
    nb_respond_json(r, 200,
                    json_pack("{s:I, s:f}", "pending", (json_int_t)st.pending,
                              "oldest_pending_age_s", st.oldest_age_s));
}

/* --- wiring ---------------------------------------------------------------- */

nb_err ps_routes_register(nb_server *s, const routes_deps *c)
{
    nb_err rc;
    if ((rc = nb_server_route(s, "GET", "/v1/records/*", "records", NB_ROUTE_INLINE, get_record,
                              (void *)c)) ||
        (rc = nb_server_route(s, "PUT", "/v1/records/*", "records", NB_ROUTE_WORKER, put_record,
                              c->st)) ||
        (rc = nb_server_route(s, "GET", "/v1/geocode/*", "geocode", NB_ROUTE_INLINE, get_geocode,
                              (void *)c)) ||
        (rc = nb_server_route(s, "PUT", "/v1/geocode/*", "geocode", NB_ROUTE_WORKER, put_geocode,
                              c->st)) ||
        (rc = nb_server_route(s, "POST", "/v1/outbox/claim", "outbox", NB_ROUTE_WORKER, post_claim,
                              c->st)) ||
        (rc = nb_server_route(s, "POST", "/v1/outbox/ack", "outbox", NB_ROUTE_WORKER, post_ack,
                              c->st)) ||
        (rc = nb_server_route(s, "POST", "/v1/outbox/release", "outbox", NB_ROUTE_WORKER,
                              post_release, c->st)) ||
        (rc = nb_server_route(s, "GET", "/v1/outbox/stats", "outbox", NB_ROUTE_WORKER,
                              get_outbox_stats, c->st)))
        return rc;
    return ps_coord_routes_register(s, c->st);
}

bool ps_routes_ready(void *ctx, nb_buf *out)
{
    store *st = ctx;
    bool redis = ps_store_backend_up(st, STORE_CACHE);
    bool pg = ps_store_backend_up(st, STORE_DB);
    const char *status = !pg ? "unavailable" : (redis ? "ok" : "degraded");
    nb_buf_addf(out, "{\"status\":\"%s\",\"redis\":\"%s\",\"postgres\":\"%s\"}", status,
                redis ? "up" : "down", pg ? "up" : "down");
    return pg;
}
