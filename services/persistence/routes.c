/* routes.c — HTTP handlers of persistence (see routes.h).
 *
 * GET answers the stored bytes as they are (no parsing on the fast path) with
 * X-Store saying which store answered and ETag the stored version; a GET with
 * that ETag in If-None-Match gets 304. GETs are inline: the polling thread
 * queues the cache read for the store's batched reader (one pipelined Redis
 * round trip for many requests) and only misses go to a worker. PUT checks the path and
 * the body (request.h: the shared codecs of libcommon record.h), stores the canonical
 * encoding, and answers the put result. Every failure is answered through nb_respond_error. */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/record.h"
#include "request.h"

static const char *store_name(store_backend b)
{
    return b == STORE_CACHE ? "cache" : "database";
}

static void respond_unavailable(nb_req *r, const char *what)
{
    nb_req_add_header(r, "Retry-After", "1");
    nb_respond_error(r, NB_ERR_UNAVAILABLE, "%s", what);
}

/* Answers a GET with a stored value: 200 with the bytes, or 304 when the
 * client already holds this version. Takes v's bytes. */
static void respond_value(nb_req *r, kv_value *v, store_backend from)
{
    /* The version (fetched_at / resolved_at) is the validator: a client that
     * holds this version gets a 304 without the body. */
    char etag[32];
    snprintf(etag, sizeof(etag), "\"%lld\"", (long long)v->version_ms);
    nb_req_add_header(r, "X-Store", store_name(from));
    nb_req_add_header(r, "ETag", etag);
    const char *inm = nb_req_header(r, "If-None-Match");
    if (inm && strcmp(inm, etag) == 0) {
        free(v->data);
        nb_respond(r, 304, "application/json", "", 0);
        return;
    }
    nb_respond_take(r, 200, "application/json", v->data, v->len); /* the server owns it now */
}

/* Answers a GET from what the store said: the value, 404, or 503. */
static void respond_read(nb_req *r, nb_err rc, kv_ns ns, kv_value *v, store_backend from)
{
    switch (rc) {
    case NB_OK:
        respond_value(r, v, from);
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
 * a worker. */
typedef struct pending_get {
    nb_req *r;
    store *st;
    kv_ns ns;
    char key[NB_QUERY_MAX + 1];
} pending_get;

/* Worker: the whole read path (the cache could not take the batched read). */
static void get_anywhere(nb_req *r, void *ctx)
{
    pending_get *p = ctx;
    kv_value v;
    store_backend from;
    nb_err rc = store_get(p->st, p->ns, p->key, &v, &from);
    respond_read(r, rc, p->ns, &v, from);
    free(p);
}

/* Worker: the cache did not have it; the database may. */
static void get_from_db(nb_req *r, void *ctx)
{
    pending_get *p = ctx;
    kv_value v;
    nb_err rc = store_get_db(p->st, p->ns, p->key, &v);
    respond_read(r, rc, p->ns, &v, STORE_DB);
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
    respond_value(p->r, v, STORE_CACHE);
    free(p);
}

/* Polling thread: queue the read for the store's batched cache reader, so
 * cache hits never wait for a worker; the rest runs on workers. */
static void get_stored(nb_req *r, store *st, kv_ns ns, const char *key)
{
    pending_get *p = malloc(sizeof(*p));
    if (!p) {
        nb_respond_error(r, NB_ERR_NOMEM, "out of memory");
        return;
    }
    *p = (pending_get){.r = r, .st = st, .ns = ns};
    snprintf(p->key, sizeof(p->key), "%s", key);
    if (!store_get_cached_async(st, ns, key, on_cached, p)) nb_req_to_worker(r, get_anywhere, p);
}

/* Checks the PUT's media type; answers 415 and returns false otherwise. */
static bool body_is_json(nb_req *r)
{
    const char *ct = nb_req_header(r, "Content-Type");
    if (rq_is_json(ct)) return true;
    nb_respond_error(r, NB_ERR_MEDIA_TYPE, "body must be application/json, got %s",
                     ct ? "another type" : "no Content-Type");
    return false;
}

/* Stores a validated value and answers the put result. */
static void put_and_answer(nb_req *r, store *st, kv_ns ns, const char *key, int64_t version_ms,
                           int64_t expires_at_ms, const char *data, size_t len)
{
    store_put_result res;
    nb_err rc = store_put(st, ns, key, version_ms, expires_at_ms, data, len, &res);
    if (rc == NB_ERR_UNAVAILABLE) {
        respond_unavailable(r, "database unavailable; nothing was stored");
        return;
    }
    if (rc != NB_OK) {
        nb_respond_error(r, rc, "could not store the value");
        return;
    }
    json_t *doc = json_pack("{s:s, s:b, s:s}", "key", key, "applied", res.applied, "cache",
                            res.cache_written ? "written" : "skipped");
    if (doc && ns == KV_NS_RECORD && res.stored_ms > 0) {
        char when[40];
        nb_time_rfc3339(res.stored_ms, when, sizeof(when));
        json_object_set_new(doc, "fetched_at", json_string(when));
    }
    nb_respond_json(r, 200, doc);
}

/* --- /v1/records/{key} and /v1/geocode/{query} ------------------------------ */

/* The path's key for ns; answers 400 and returns false when it is bad. */
static bool path_key(nb_req *r, kv_ns ns, char key[NB_QUERY_MAX + 1])
{
    char why[300];
    if (rq_key(ns, nb_req_tail(r), key, why, sizeof(why)) == NB_OK) return true;
    nb_respond_error(r, NB_ERR_INVALID, "%s", why);
    return false;
}

static void get_value(nb_req *r, store *st, kv_ns ns)
{
    char key[NB_QUERY_MAX + 1];
    if (path_key(r, ns, key)) get_stored(r, st, ns, key);
}

static void put_value(nb_req *r, store *st, kv_ns ns)
{
    char key[NB_QUERY_MAX + 1], why[600];
    size_t len;
    rq_put put;

    if (!path_key(r, ns, key) || !body_is_json(r)) return;
    const char *body = nb_req_body(r, &len);
    nb_err rc = rq_put_parse(ns, key, body, len, &put, why, sizeof(why));
    if (rc != NB_OK) {
        nb_respond_error(r, rc, "%s", why);
        return;
    }
    put_and_answer(r, st, ns, key, put.version_ms, put.expires_at_ms, put.canon, put.len);
    rq_put_release(&put);
}

static void get_record(nb_req *r, void *ctx)
{
    get_value(r, ctx, KV_NS_RECORD);
}

static void put_record(nb_req *r, void *ctx)
{
    put_value(r, ctx, KV_NS_RECORD);
}

static void get_geocode(nb_req *r, void *ctx)
{
    get_value(r, ctx, KV_NS_GEOCODE);
}

static void put_geocode(nb_req *r, void *ctx)
{
    put_value(r, ctx, KV_NS_GEOCODE);
}

/* --- wiring ---------------------------------------------------------------- */

nb_err routes_register(nb_server *s, store *st)
{
    nb_err rc;
    if ((rc = nb_server_route(s, "GET", "/v1/records/*", "records", NB_ROUTE_INLINE, get_record,
                              st)) ||
        (rc = nb_server_route(s, "PUT", "/v1/records/*", "records", NB_ROUTE_WORKER, put_record,
                              st)) ||
        (rc = nb_server_route(s, "GET", "/v1/geocode/*", "geocode", NB_ROUTE_INLINE, get_geocode,
                              st)) ||
        (rc = nb_server_route(s, "PUT", "/v1/geocode/*", "geocode", NB_ROUTE_WORKER, put_geocode,
                              st)))
        return rc;
    return NB_OK;
}

bool routes_ready(void *ctx, nb_buf *out)
{
    store *st = ctx;
    bool redis = store_backend_up(st, STORE_CACHE);
    bool pg = store_backend_up(st, STORE_DB);
    const char *status = !pg ? "unavailable" : (redis ? "ok" : "degraded");
    nb_buf_addf(out, "{\"status\":\"%s\",\"redis\":\"%s\",\"postgres\":\"%s\"}", status,
                redis ? "up" : "down", pg ? "up" : "down");
    return pg;
}
