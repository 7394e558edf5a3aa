/* subscriptions.c — POST/GET/DELETE /v1/subscriptions and the confirmation
 * (see subscriptions.h). */
#include "subscriptions.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nimbus/email.h"
#include "nimbus/http_client.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"
#include "nimbus/rules.h"

#define TOKEN_MAX 128
#define NAME_MAX_BYTES 150

struct subscriptions {
    const api_config *cfg;
    sub_resolve_fn resolve;
    void *resolve_ctx;
    nb_counter *requested, *refused, *capped, *confirmed, *unsubscribed;
};

/* --- who is asking -------------------------------------------------------- */

/* Is ip (text) inside one of the comma-separated networks of list
 * ("127.0.0.0/8,10.0.0.0/8,::1")? IPv4 networks; IPv6 addresses match exactly. */
static bool trusted(const char *ip, const char *list)
{
    struct in_addr a;
    bool v4 = inet_pton(AF_INET, ip, &a) == 1;
    const char *p = list;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char net[64];
        snprintf(net, sizeof(net), "%.*s", (int)(n < sizeof(net) ? n : sizeof(net) - 1), p);
        char *sp = net + strspn(net, " ");
        char *slash = strchr(sp, '/');
        int bits = 32;
        if (slash) {
            *slash = '\0';
            bits = atoi(slash + 1);
        }
        struct in_addr na;
        if (v4 && inet_pton(AF_INET, sp, &na) == 1 && bits >= 0 && bits <= 32) {
            uint32_t mask = bits == 0 ? 0 : htonl(0xffffffffu << (32 - bits));
            if ((a.s_addr & mask) == (na.s_addr & mask)) return true;
        } else if (!v4 && strcasecmp(sp, ip) == 0) {
            return true;
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

void sub_client_address(const char *peer, const char *xff, const char *trusted_list, char *out,
                        size_t outlen)
{
    snprintf(out, outlen, "%s", peer ? peer : "");
    if (!peer || !xff || !trusted(peer, trusted_list)) return;
    /* Walk X-Forwarded-For from the right: each hop appended the address it
     * saw; the first one not ours is the client. */
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", xff);
    for (;;) {
        char *comma = strrchr(buf, ',');
        char *item = comma ? comma + 1 : buf;
        item += strspn(item, " \t");
        char *e = item + strlen(item);
        while (e > item && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        struct in6_addr any;
        bool is_ip = inet_pton(AF_INET, item, &any) == 1 || inet_pton(AF_INET6, item, &any) == 1;
        if (!is_ip) return; /* garbage: keep the last address we could trust */
        snprintf(out, outlen, "%s", item);
        if (!trusted(item, trusted_list) || !comma) return;
        *comma = '\0';
    }
}

/* --- persistence ---------------------------------------------------------- */

/* What persistence answered. */
typedef struct answer {
    long status;  /* 0 when no answer arrived */
    json_t *body; /* parsed (owned) or NULL */
    char retry_after[16];
} answer;

/* One JSON call to persistence. */
static nb_err call(subscriptions *s, const char *method, const char *path, json_t *body, answer *a)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", s->cfg->persistence_url, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    const char *headers[] = {"Content-Type: application/json", NULL};
    nb_httpc_req req = {.method = method,
                        .url = url,
                        .headers = body ? headers : NULL,
                        .body = text,
                        .body_len = text ? strlen(text) : 0,
                        .connect_timeout_ms = s->cfg->persistence_timeout_ms / 2,
                        .timeout_ms = s->cfg->persistence_timeout_ms,
                        .max_body = 256 * 1024};
    nb_httpc_resp resp;
    nb_err e = nb_httpc_do(&req, &resp);
    free(text);
    *a = (answer){.status = e == NB_OK ? resp.status : 0};
    if (e == NB_OK) {
        a->body = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
        const char *ra = nb_httpc_header(&resp, "Retry-After");
        if (ra) snprintf(a->retry_after, sizeof(a->retry_after), "%s", ra);
    } else {
        nb_warn("persistence %s %s failed: %s", method, path, resp.errmsg);
    }
    nb_httpc_resp_release(&resp);
    return e;
}

/* Answers with persistence's answer: the subscription (with status ok), or
 * its refusal with the same status, reason and Retry-After. Takes a->body. */
static void relay(nb_req *r, answer *a, int ok)
{
    json_t *sub = json_object_get(a->body, "subscription");
    long status = a->status;
    if (status >= 200 && status < 300 && json_is_object(sub)) {
        nb_respond_json(r, ok, json_incref(sub));
    } else if (status >= 400 && status < 500) {
        const char *reason = json_string_value(json_object_get(a->body, "reason"));
        const char *code = json_string_value(json_object_get(a->body, "error"));
        if (a->retry_after[0]) nb_req_add_header(r, "Retry-After", a->retry_after);
        nb_respond_error_status(r, (int)status, nb_err_from_code(code), "%s",
                                reason ? reason : "refused");
    } else {
        nb_req_add_header(r, "Retry-After", "5");
        nb_respond_error_status(r, 503, NB_ERR_UNAVAILABLE,
                                "subscriptions are unavailable right now (storage): try again in "
                                "a minute");
    }
    json_decref(a->body);
    a->body = NULL;
}

/* --- POST /v1/subscriptions ---------------------------------------------- */

static json_t *request_body(nb_req *r)
{
    const char *ct = nb_req_header(r, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
        nb_respond_error(r, NB_ERR_MEDIA_TYPE, "send the subscription as application/json");
        return NULL;
    }
    size_t len;
    const char *body = nb_req_body(r, &len);
    json_error_t jerr;
    json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(j)) {
        nb_respond_error(r, NB_ERR_INVALID, "the body must be a JSON object (%s)",
                         j ? "got another JSON value" : jerr.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

static bool coordinate(const json_t *v, double lo, double hi, double *out)
{
    if (!json_is_number(v)) return false;
    *out = json_number_value(v);
    return isfinite(*out) && *out >= lo && *out <= hi;
}

/* Fills the place (key, name, timezone) from the body; answers and returns
 * false when it cannot. */
static bool place_of(subscriptions *s, nb_req *r, const json_t *b, char key[NB_KEY_MAX],
                     char name[NAME_MAX_BYTES + 1], char tz[64])
{
    const json_t *city = json_object_get(b, "city"), *lat = json_object_get(b, "lat"),
                 *lon = json_object_get(b, "lon");
    tz[0] = '\0';
    if (city && (lat || lon)) {
        nb_respond_error(r, NB_ERR_INVALID, "give either city or lat and lon, not both");
        return false;
    }
    if (city) {
        char query[NB_QUERY_MAX + 1];
        const char *why = "a place name";
        if (!json_is_string(city) ||
            nb_geo_normalise(json_string_value(city), query, &why) != NB_OK) {
            nb_respond_error(r, NB_ERR_INVALID, "city: %s", why);
            return false;
        }
        nb_place p;
        nb_error err = {0};
        nb_err e = s->resolve(s->resolve_ctx, query, &p, &err);
        if (e == NB_ERR_NOT_FOUND) {
            nb_respond_error(r, NB_ERR_NOT_FOUND, "unknown place '%s'", json_string_value(city));
            return false;
        }
        if (e) {
            if (err.code == NB_OK) nb_error_set(&err, e, 5, "could not resolve the place");
            nb_respond_error_status(r, e == NB_ERR_UPSTREAM ? 502 : 503, e, "%s", err.msg);
            return false;
        }
        if (nb_location_key(p.latitude, p.longitude, key) != NB_OK) {
            nb_respond_error_status(r, 502, NB_ERR_UPSTREAM, "the geocoder gave bad coordinates");
            return false;
        }
        if (p.country[0])
            snprintf(name, NAME_MAX_BYTES + 1, "%.100s, %.45s", p.name, p.country);
        else
            snprintf(name, NAME_MAX_BYTES + 1, "%.100s", p.name);
        snprintf(tz, 64, "%s", p.timezone);
        return true;
    }
    if (!lat && !lon) {
        nb_respond_error(r, NB_ERR_INVALID, "missing city, or lat and lon");
        return false;
    }
    double la, lo;
    if (!lat || !lon) {
        nb_respond_error(r, NB_ERR_INVALID, "lat and lon must be given together");
        return false;
    }
    if (!coordinate(lat, -90, 90, &la)) {
        nb_respond_error(r, NB_ERR_INVALID, "lat must be a number from -90 to 90");
        return false;
    }
    if (!coordinate(lon, -180, 180, &lo)) {
        nb_respond_error(r, NB_ERR_INVALID, "lon must be a number from -180 to 180");
        return false;
    }
    nb_location_key(la, lo, key);
    double kla, klo;
    nb_location_key_valid(key, &kla, &klo);
    snprintf(name, NAME_MAX_BYTES + 1, "%.2f, %.2f", kla, klo);
    return true;
}

static void on_create(nb_req *r, void *ctx)
{
    subscriptions *s = ctx;
    json_t *b = request_body(r);
    if (!b) {
        nb_counter_inc(s->refused);
        return;
    }
    static const char *const known[] = {"email", "city", "lat", "lon", "rules", "quiet_hours"};
    const char *field;
    json_t *v;
    json_object_foreach(b, field, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok = ok || strcmp(field, known[i]) == 0;
        if (!ok) {
            nb_counter_inc(s->refused);
            nb_respond_error(r, NB_ERR_INVALID,
                             "unknown field '%.40s' (email, city or lat and lon, rules, "
                             "quiet_hours)",
                             field);
            json_decref(b);
            return;
        }
    }
    const char *email = json_string_value(json_object_get(b, "email")), *why = "missing";
    char reason[256], key[NB_KEY_MAX], name[NAME_MAX_BYTES + 1], tz[64], client[64];
    nb_rules rules;
    if (!email || !nb_email_valid(email, &why)) {
        nb_counter_inc(s->refused);
        nb_respond_error(r, NB_ERR_INVALID, "email: %s", why);
    } else if (nb_rules_parse(json_object_get(b, "rules"), json_object_get(b, "quiet_hours"),
                              &rules, reason, sizeof(reason)) != NB_OK) {
        nb_counter_inc(s->refused);
        nb_respond_error(r, NB_ERR_INVALID, "%s", reason);
    } else if (!place_of(s, r, b, key, name, tz)) {
        nb_counter_inc(s->refused);
    } else {
        sub_client_address(nb_req_peer(r), nb_req_header(r, "X-Forwarded-For"),
                           s->cfg->trusted_proxies, client, sizeof(client));
        json_t *req =
            json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:o, s:s, s:{s:I, s:I}}", "email", email,
                      "place", "key", key, "name", name, "timezone", tz, "rules",
                      nb_rules_json(&rules), "quiet_hours", nb_quiet_json(&rules), "client", client,
                      "caps", "per_address", (json_int_t)s->cfg->confirm_cap_per_address,
                      "per_client", (json_int_t)s->cfg->confirm_cap_per_client);
        answer a = {0};
        if (req) call(s, "POST", "/v1/subscriptions", req, &a);
        json_decref(req);
        if (a.status == 429) nb_counter_inc(s->capped);
        if (a.status == 201) nb_counter_inc(s->requested);
        relay(r, &a, 202);
    }
    json_decref(b);
}

/* --- the token routes ------------------------------------------------------ */

/* The token from ?token= or, for POSTs, a JSON body {"token": ...}; NULL
 * after answering 400. */
static const char *token_of(nb_req *r, json_t **body)
{
    const char *t = nb_req_query(r, "token");
    *body = NULL;
    if (!t) {
        size_t len;
        const char *raw = nb_req_body(r, &len);
        if (raw && len) *body = json_loadb(raw, len, 0, NULL);
        t = json_string_value(json_object_get(*body, "token"));
    }
    size_t n = t ? strlen(t) : 0;
    bool ok = n >= 16 && n <= TOKEN_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
             (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_';
    if (ok) return t;
    nb_respond_error(r, NB_ERR_INVALID,
                     "token: give the token from the link in our mail (?token=...)");
    return NULL;
}

static void token_call(nb_req *r, subscriptions *s, const char *path, nb_counter *count)
{
    json_t *body;
    const char *token = token_of(r, &body);
    if (token) {
        json_t *req = json_pack("{s:s}", "token", token);
        answer a = {0};
        if (req) call(s, "POST", path, req, &a);
        json_decref(req);
        if (count && a.status == 200) nb_counter_inc(count);
        relay(r, &a, 200);
    }
    json_decref(body);
}

static void on_get(nb_req *r, void *ctx)
{
    token_call(r, ctx, "/v1/subscriptions/lookup", NULL);
}

static void on_delete(nb_req *r, void *ctx)
{
    subscriptions *s = ctx;
    token_call(r, s, "/v1/subscriptions/unsubscribe", s->unsubscribed);
}

static void on_confirm(nb_req *r, void *ctx)
{
    subscriptions *s = ctx;
    token_call(r, s, "/v1/subscriptions/confirm", s->confirmed);
}

/* --- service --------------------------------------------------------------- */

subscriptions *subscriptions_new(const api_config *cfg, sub_resolve_fn resolve, void *resolve_ctx)
{
    subscriptions *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->cfg = cfg;
    s->resolve = resolve;
    s->resolve_ctx = resolve_ctx;
    const char *help = "Subscription requests and changes, by outcome";
    s->requested = nb_counter_new("nimbus_api_subscriptions_total", "result=\"requested\"", help);
    s->refused = nb_counter_new("nimbus_api_subscriptions_total", "result=\"refused\"", help);
    s->capped = nb_counter_new("nimbus_api_subscriptions_total", "result=\"capped\"", help);
    s->confirmed = nb_counter_new("nimbus_api_subscriptions_total", "result=\"confirmed\"", help);
    s->unsubscribed =
        nb_counter_new("nimbus_api_subscriptions_total", "result=\"unsubscribed\"", help);
    return s;
}

void subscriptions_free(subscriptions *s)
{
    free(s);
}

nb_err subscriptions_register(subscriptions *s, nb_server *srv)
{
    nb_err e;
    if ((e = nb_server_route(srv, "POST", "/v1/subscriptions", "subscriptions", NB_ROUTE_WORKER,
                             on_create, s)) ||
        (e = nb_server_route(srv, "GET", "/v1/subscriptions", "subscriptions", NB_ROUTE_WORKER,
                             on_get, s)) ||
        (e = nb_server_route(srv, "DELETE", "/v1/subscriptions", "subscriptions", NB_ROUTE_WORKER,
                             on_delete, s)) ||
        (e = nb_server_route(srv, "POST", "/v1/subscriptions/confirm", "subscriptions",
                             NB_ROUTE_WORKER, on_confirm, s)))
        return e;
    return NB_OK;
}
