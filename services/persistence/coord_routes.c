/* coord_routes.c — leases and the upstream budget over HTTP (see coord_routes.h). */
#include "coord_routes.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"
#include "nimbus/record.h"
#include "request.h"
#include "routes.h"

#define LEASE_TTL_MIN_MS 100
#define LEASE_TTL_MAX_MS 600000
#define HOLD_MAX_MS 60000
#define REASON_MAX 150 /* bytes of a failure reason */
#define NAME_MAX_LEN 64

static const char *const lease_states[] = {"granted", "held", "newer", "failed"};

typedef struct coord_metrics {
    nb_counter *leases[4];   /* by kv_lease_state */
    nb_counter *releases[2]; /* released, not_held */
    nb_counter *budget[2];   /* granted, refused */
} coord_metrics;

static coord_metrics metrics;

static void respond_unavailable(nb_req *r, nb_err rc)
{
    if (rc == NB_ERR_UNAVAILABLE) {
        nb_req_add_header(r, "Retry-After", "1");
        nb_respond_error(r, rc, "the cache (Redis) that replicas coordinate through is down");
    } else if (rc == NB_ERR_INTERNAL) {
        nb_respond_error(r, rc, "this persistence's cache cannot coordinate replicas");
    } else {
        nb_respond_error(r, rc, "coordination failed");
    }
}

/* "record" / "geocode" and the key (rq_key's rules); answers 400 otherwise. */
static bool kind_and_key(nb_req *r, json_t *doc, kv_ns *ns, char key[NB_QUERY_MAX + 1])
{
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    const char *raw = json_string_value(json_object_get(doc, "key"));
    char why[300];
    if (!kind || (strcmp(kind, "record") != 0 && strcmp(kind, "geocode") != 0)) {
        nb_respond_error(r, NB_ERR_INVALID, "kind must be \"record\" or \"geocode\"");
        return false;
    }
    *ns = kind[0] == 'r' ? KV_NS_RECORD : KV_NS_GEOCODE;
    if (!raw) {
        nb_respond_error(r, NB_ERR_INVALID, "key must be a string");
        return false;
    }
    if (ps_rq_key(*ns, raw, key, why, sizeof(why)) != NB_OK) {
        nb_respond_error(r, NB_ERR_INVALID, "%s", why);
        return false;
    }
    return true;
}

/* An optional integer field in [min, max] (def when absent); answers 400 otherwise. */
static bool int_field(nb_req *r, json_t *doc, const char *name, json_int_t min, json_int_t max,
                      json_int_t def, json_int_t *out)
{
    json_t *v = json_object_get(doc, name);
    if (!v) {
        *out = def;
        return true;
    }
    if (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max) {
        *out = json_integer_value(v);
        return true;
    }
    nb_respond_error(r, NB_ERR_INVALID, "%s must be an integer from %lld to %lld", name,
                     (long long)min, (long long)max);
    return false;
}

static bool token_ok(const char *token)
{
    return token && ps_event_uuid_valid(token);
}

/* --- leases ---------------------------------------------------------------- */

static void post_acquire(nb_req *r, void *ctx)
{
    static const char *const fields[] = {"kind", "key", "ttl_ms", "seen_ms", NULL};
    kv_ns ns;
    char key[NB_QUERY_MAX + 1], token[KV_UUID_LEN + 1];
    json_int_t ttl_ms, seen_ms;
    kv_lease l;

    json_t *doc = ps_routes_json_object(r, fields);
    if (!doc) return;
    if (!kind_and_key(r, doc, &ns, key)) goto out;
    if (!json_object_get(doc, "ttl_ms")) {
        nb_respond_error(r, NB_ERR_INVALID, "ttl_ms is required");
        goto out;
    }
    if (!int_field(r, doc, "ttl_ms", LEASE_TTL_MIN_MS, LEASE_TTL_MAX_MS, 0, &ttl_ms) ||
        !int_field(r, doc, "seen_ms", 0, NB_TIME_MAX_MS, 0, &seen_ms))
        goto out;
    if (ps_event_uuid_v4(token) != NB_OK) {
        nb_respond_error(r, NB_ERR_INTERNAL, "no random source for the lease token");
        goto out;
    }
    nb_err rc = ps_store_lease_acquire(ctx, ns, key, token, ttl_ms, seen_ms, &l);
    if (rc != NB_OK) {
        respond_unavailable(r, rc);
        goto out;
    }
    nb_counter_inc(metrics.leases[l.state]);
    json_t *ans = json_pack("{s:s}", "state", lease_states[l.state]);
    switch (l.state) {
    case KV_LEASE_GRANTED:
        json_object_set_new(ans, "token", json_string(token));
        json_object_set_new(ans, "ttl_ms", json_integer(l.ttl_left_ms));
        break;
    case KV_LEASE_NEWER:
        json_object_set_new(ans, "version_ms", json_integer(l.version_ms));
        break;
    case KV_LEASE_FAILED:
        json_object_set_new(ans, "retry_after_s", json_integer(l.retry_after_s));
        json_object_set_new(ans, "reason", json_string(l.reason));
        json_object_set_new(ans, "ttl_ms", json_integer(l.ttl_left_ms > 0 ? l.ttl_left_ms : 0));
        break;
    case KV_LEASE_HELD:
        json_object_set_new(ans, "ttl_ms", json_integer(l.ttl_left_ms > 0 ? l.ttl_left_ms : 0));
        break;
    }
    nb_respond_json(r, 200, ans);
out:
    json_decref(doc);
}

static void post_release(nb_req *r, void *ctx)
{
    static const char *const fields[] = {"kind", "key", "token", "hold_ms", "failure", NULL};
    kv_ns ns;
    char key[NB_QUERY_MAX + 1], failure[REASON_MAX + 24] = "";
    json_int_t hold_ms;
    bool released;

    json_t *doc = ps_routes_json_object(r, fields);
    if (!doc) return;
    const char *token = json_string_value(json_object_get(doc, "token"));
    if (!kind_and_key(r, doc, &ns, key)) goto out;
    if (!token_ok(token)) {
        nb_respond_error(r, NB_ERR_INVALID, "token must be the lease token acquire gave");
        goto out;
    }
    if (!int_field(r, doc, "hold_ms", 0, HOLD_MAX_MS, 0, &hold_ms)) goto out;
    json_t *f = json_object_get(doc, "failure");
    if (f) {
        const char *reason = json_string_value(json_object_get(f, "reason"));
        json_t *ra = json_object_get(f, "retry_after_s");
        if (!json_is_object(f) || json_object_size(f) != 2 || !reason ||
            strlen(reason) > REASON_MAX || !json_is_integer(ra) || json_integer_value(ra) < 0 ||
            json_integer_value(ra) > 86400) {
            nb_respond_error(r, NB_ERR_INVALID,
                             "failure must be {\"reason\": text of at most %d bytes, "
                             "\"retry_after_s\": 0 to 86400}",
                             REASON_MAX);
            goto out;
        }
        snprintf(failure, sizeof(failure), "%lld %s", (long long)json_integer_value(ra), reason);
    }
    nb_err rc = ps_store_lease_release(ctx, ns, key, token, hold_ms, failure, &released);
    if (rc != NB_OK) {
        respond_unavailable(r, rc);
        goto out;
    }
    nb_counter_inc(metrics.releases[released ? 0 : 1]);
    nb_respond_json(r, 200, json_pack("{s:b}", "released", released));
out:
    json_decref(doc);
}

bool ps_coord_lease_param_ok(nb_req *r, const char *token)
{
    if (!token || token_ok(token)) return true;
    nb_respond_error(r, NB_ERR_INVALID, "lease must be the lease token acquire gave (a UUID)");
    return false;
}

const char *ps_coord_release_after_put(store *st, kv_ns ns, const char *key, const char *token,
                                       nb_err rc)
{
    if (!token || rc != NB_OK) return NULL;
    bool released = false;
    if (ps_store_lease_release(st, ns, key, token, 0, NULL, &released) != NB_OK)
        return "unavailable"; /* it ends with its TTL */
    nb_counter_inc(metrics.releases[released ? 0 : 1]);
    return released ? "released" : "not_held";
}

/* --- the budget ------------------------------------------------------------- */

static void post_budget(nb_req *r, void *ctx)
{
    static const char *const fields[] = {"name", "cost", "windows", NULL};
    kv_window w[KV_BUDGET_WINDOWS_MAX];
    kv_budget b;

    json_t *doc = ps_routes_json_object(r, fields);
    if (!doc) return;
    json_t *jname = json_object_get(doc, "name");
    const char *name = jname ? json_string_value(jname) : "upstream";
    double cost = json_number_value(json_object_get(doc, "cost"));
    json_t *windows = json_object_get(doc, "windows");
    size_t nw = json_array_size(windows);
    if (!name || !*name || strlen(name) > NAME_MAX_LEN ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(name)) {
        nb_respond_error(r, NB_ERR_INVALID, "name must be 1 to %d characters of [a-z0-9._-]",
                         NAME_MAX_LEN);
        goto out;
    }
    if (!json_is_number(json_object_get(doc, "cost")) || !(cost > 0) || cost > 1000) {
        nb_respond_error(r, NB_ERR_INVALID, "cost must be a number above 0, at most 1000");
        goto out;
    }
    if (!json_is_array(windows) || nw < 1 || nw > KV_BUDGET_WINDOWS_MAX) {
        nb_respond_error(r, NB_ERR_INVALID, "windows must be an array of 1 to %d windows",
                         KV_BUDGET_WINDOWS_MAX);
        goto out;
    }
    for (size_t i = 0; i < nw; i++) {
        json_t *win = json_array_get(windows, i), *secs = json_object_get(win, "seconds"),
               *limit = json_object_get(win, "limit");
        if (!json_is_object(win) || json_object_size(win) != 2 || !json_is_integer(secs) ||
            json_integer_value(secs) < 1 || json_integer_value(secs) > 31L * 86400 ||
            !json_is_number(limit) || !(json_number_value(limit) >= 1) ||
            json_number_value(limit) > 1e9) {
            nb_respond_error(r, NB_ERR_INVALID,
                             "windows[%zu] must be {\"seconds\": 1 to 2678400, \"limit\": 1 to "
                             "1e9}",
                             i);
            goto out;
        }
        w[i] = (kv_window){json_integer_value(secs), json_number_value(limit)};
        for (size_t j = 0; j < i; j++) {
            if (w[j].seconds == w[i].seconds) {
                nb_respond_error(r, NB_ERR_INVALID, "windows[%zu] repeats %lld seconds", i,
                                 (long long)w[i].seconds);
                goto out;
            }
        }
    }
    nb_err rc = ps_store_budget_take(ctx, name, cost, w, nw, &b);
    if (rc != NB_OK) {
        respond_unavailable(r, rc);
        goto out;
    }
    nb_counter_inc(metrics.budget[b.granted ? 0 : 1]);
    json_t *left = json_array();
    for (size_t i = 0; i < nw; i++)
        json_array_append_new(left, json_real(floor(b.left[i] * 1000.0) / 1000.0));
    json_t *ans = json_pack("{s:b, s:o}", "granted", b.granted, "left", left);
    if (!b.granted) {
        json_object_set_new(ans, "retry_after_ms", json_integer(b.retry_after_ms));
        json_object_set_new(ans, "window_s", json_integer(b.window_s));
    }
    nb_respond_json(r, 200, ans);
out:
    json_decref(doc);
}

/* --- wiring ------------------------------------------------------------------ */

nb_err ps_coord_routes_register(nb_server *s, store *st)
{
    for (int i = 0; i < 4; i++) {
        char labels[32];
        snprintf(labels, sizeof(labels), "result=\"%s\"", lease_states[i]);
        metrics.leases[i] =
            nb_counter_new("nimbus_leases_total", labels, "Lease requests, by what they got");
    }
    metrics.releases[0] = nb_counter_new("nimbus_lease_releases_total", "result=\"released\"",
                                         "Lease releases, by whether the token still held it");
    metrics.releases[1] = nb_counter_new("nimbus_lease_releases_total", "result=\"not_held\"",
                                         "Lease releases, by whether the token still held it");
    metrics.budget[0] = nb_counter_new("nimbus_budget_takes_total", "result=\"granted\"",
                                       "Upstream budget requests, granted or refused");
    metrics.budget[1] = nb_counter_new("nimbus_budget_takes_total", "result=\"refused\"",
                                       "Upstream budget requests, granted or refused");
    nb_err rc;
    if ((rc = nb_server_route(s, "POST", "/v1/leases/acquire", "leases", NB_ROUTE_WORKER,
                              post_acquire, st)) ||
        (rc = nb_server_route(s, "POST", "/v1/leases/release", "leases", NB_ROUTE_WORKER,
                              post_release, st)) ||
        (rc = nb_server_route(s, "POST", "/v1/budget/take", "budget", NB_ROUTE_WORKER, post_budget,
                              st)))
        return rc;
    return NB_OK;
}
