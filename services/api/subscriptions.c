/* subscriptions.c — POST/GET/DELETE /v1/subscriptions and the confirmation
 * (see subscriptions.h). */
#include "subscriptions.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nimbus/log.h"
#include "nimbus/metrics.h"
#include "sub_request.h"

struct subscriptions {
    sub_deps d;
    nb_counter *requested, *refused, *capped, *confirmed, *unsubscribed;
};

/* A POST /v1/subscriptions from its checks to persistence's answer. It may
 * wait for its place (the resolver hands it back to a worker), so its state
 * lives here, owned by whichever thread runs it. */
typedef struct create {
    subscriptions *svc;
    sub_request in;
    char client[64];
} create;

/* --- who is asking -------------------------------------------------------- */

/* One entry of a trusted list ("10.0.0.0/8", "::1"): an IPv4 network, or an
 * IPv6 address (then *v6 and a). False when it is neither. */
static bool network(const char *entry, size_t n, bool *v6, struct in_addr *net, uint32_t *mask,
                    struct in6_addr *a)
{
    char text[64];
    while (n && *entry == ' ')
        entry++, n--;
    while (n && entry[n - 1] == ' ')
        n--;
    if (n == 0 || n >= sizeof(text)) return false;
    memcpy(text, entry, n);
    text[n] = '\0';
    *v6 = inet_pton(AF_INET6, text, a) == 1;
    if (*v6) return true;
    char *slash = strchr(text, '/');
    long bits = 32;
    if (slash) {
        char *end;
        *slash = '\0';
        bits = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || bits < 0 || bits > 32) return false;
    }
    if (inet_pton(AF_INET, text, net) != 1) return false;
    *mask = bits == 0 ? 0 : htonl(0xffffffffu << (32 - bits));
    return true;
}

/* Is ip (text) inside one of the comma-separated networks of list? */
static bool trusted(const char *ip, const char *list)
{
    struct in_addr a4, net;
    struct in6_addr a6, e6;
    bool ip6 = inet_pton(AF_INET6, ip, &a6) == 1;
    if (!ip6 && inet_pton(AF_INET, ip, &a4) != 1) return false;
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        bool v6;
        uint32_t mask;
        if (network(p, n, &v6, &net, &mask, &e6) && v6 == ip6 &&
            (v6 ? memcmp(&a6, &e6, sizeof(a6)) == 0 : (a4.s_addr & mask) == (net.s_addr & mask)))
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

/* The entry of list that is not a network (copied into bad), or false. */
static bool untrusted_entry(const char *list, char *bad, size_t badlen)
{
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        bool v6;
        struct in_addr net;
        uint32_t mask;
        struct in6_addr a;
        if (!network(p, n, &v6, &net, &mask, &a)) {
            snprintf(bad, badlen, "%.*s", (int)(n < 64 ? n : 64), p);
            return true;
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

void api_sub_client_address(const char *peer, const char *xff, const char *trusted_list, char *out,
                            size_t outlen)
{
    snprintf(out, outlen, "%s", peer ? peer : "");
    if (!peer || !xff || !trusted(peer, trusted_list)) return;
    /* Walk X-Forwarded-For from the right, all of it (however long the part
     * a client wrote ahead of what our proxies appended): each hop appended
     * the address it saw; the first one not ours is the client. */
    const char *end = xff + strlen(xff);
    for (;;) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        const char *a = start, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        char item[INET6_ADDRSTRLEN];
        struct in6_addr any;
        if ((size_t)(b - a) >= sizeof(item)) return; /* no address: keep the last trusted one */
        memcpy(item, a, (size_t)(b - a));
        item[b - a] = '\0';
        if (inet_pton(AF_INET, item, &any) != 1 && inet_pton(AF_INET6, item, &any) != 1) return;
        snprintf(out, outlen, "%s", item);
        if (!trusted(item, trusted_list) || start == xff) return;
        end = start - 1;
    }
}

/* --- persistence ---------------------------------------------------------- */

/* Answers with persistence's answer to path: the subscription (with status
 * ok), or its refusal with the same status, reason and Retry-After; 503 when
 * it did not answer or failed. The status it answered, 0 for none. */
static long call(subscriptions *s, nb_req *r, const char *path, json_t *body, int ok)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    store_reply rep = {0};
    nb_error err = {0};
    nb_err e = text ? api_store_subscriptions(s->d.st, path, text, strlen(text), &rep, &err)
                    : nb_error_set(&err, NB_ERR_NOMEM, 0, "out of memory");
    free(text);
    if (e) nb_warn("persistence POST %s failed: %s", path, err.msg);
    json_t *doc = e ? NULL : json_loadb(rep.body, rep.len, 0, NULL);
    json_t *sub = json_object_get(doc, "subscription");
    long status = e ? 0 : rep.status;
    if (status >= 200 && status < 300 && json_is_object(sub)) {
        nb_respond_json(r, ok, json_incref(sub));
    } else if (status >= 400 && status < 500) { /* persistence's refusal is the client's */
        nb_error why;
        nb_error_from_answer(&why, status, rep.body, rep.len, rep.retry_after, NULL);
        nb_respond_err(r, &why);
    } else {
        nb_error why;
        nb_error_set(&why, NB_ERR_UNAVAILABLE, 5,
                     "subscriptions are unavailable right now (storage): try again in a minute");
        nb_respond_err(r, &why);
    }
    json_decref(doc);
    api_store_reply_release(&rep);
    return status;
}

/* --- POST /v1/subscriptions ---------------------------------------------- */

/* The place is known: the subscription goes to persistence (with its
 * confirmation mail, in one transaction there). Answers and frees c. */
static void store_create(create *c, nb_req *r, const char *key, const char *name, const char *tz)
{
    subscriptions *s = c->svc;
    const api_config *cfg = s->d.cfg;
    json_t *req =
        json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:o, s:s, s:{s:I, s:I}}", "email", c->in.email,
                  "place", "key", key, "name", name, "timezone", tz, "rules",
                  nb_rules_json(&c->in.rules), "quiet_hours", nb_quiet_json(&c->in.rules), "client",
                  c->client, "caps", "per_address", (json_int_t)cfg->confirm_cap_per_address,
                  "per_client", (json_int_t)cfg->confirm_cap_per_client);
    long status = call(s, r, "/v1/subscriptions", req, 202);
    json_decref(req);
    if (status == 429) nb_counter_inc(s->capped);
    if (status == 201) nb_counter_inc(s->requested);
    free(c);
}

/* The resolver's outcome for c's city (on a worker). */
static void on_place(nb_req *r, void *arg, const nb_place *p, const nb_error *err)
{
    create *c = arg;
    char key[NB_KEY_MAX], name[SUB_NAME_MAX + 1];
    if (p && nb_location_key(p->latitude, p->longitude, key) == NB_OK) {
        api_sub_place_name(p, name);
        store_create(c, r, key, name, p->timezone);
        return;
    }
    nb_counter_inc(c->svc->refused);
    if (!p && err->code == NB_ERR_NOT_FOUND) {
        nb_respond_error(r, NB_ERR_NOT_FOUND, "unknown place '%s'", c->in.city_given);
    } else if (!p && err->code != NB_ERR_UPSTREAM) { /* what may pass: busy, slow, paced */
        nb_error why = *err;
        if (why.retry_after_s <= 0) why.retry_after_s = 5;
        nb_respond_err(r, &why);
    } else {
        nb_error why;
        nb_error_set(&why, NB_ERR_UPSTREAM, 0, "%s",
                     p ? "the geocoder gave bad coordinates" : err->msg);
        nb_respond_err(r, &why);
    }
    free(c);
}

static void on_create(nb_req *r, void *ctx)
{
    subscriptions *s = ctx;
    const char *ct = nb_req_header(r, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
        nb_counter_inc(s->refused);
        nb_respond_error(r, NB_ERR_MEDIA_TYPE, "send the subscription as application/json");
        return;
    }
    create *c = calloc(1, sizeof(*c));
    if (!c) {
        nb_respond_error(r, NB_ERR_NOMEM, "out of memory");
        return;
    }
    c->svc = s;
    size_t len;
    const char *body = nb_req_body(r, &len);
    char why[256];
    if (api_sub_request_parse(body, len, &c->in, why, sizeof(why)) != NB_OK) {
        nb_counter_inc(s->refused);
        nb_respond_error(r, NB_ERR_INVALID, "%s", why);
        free(c);
        return;
    }
    api_sub_client_address(nb_req_peer(r), nb_req_header(r, "X-Forwarded-For"),
                           s->d.cfg->trusted_proxies, c->client, sizeof(c->client));
    if (c->in.by_name) /* continues in on_place, on a worker, maybe after a wait */
        s->d.resolve(s->d.resolve_ctx, r, c->in.city, on_place, c);
    else
        store_create(c, r, c->in.key, c->in.name, "");
}

/* --- the token routes ------------------------------------------------------ */

static void token_call(nb_req *r, subscriptions *s, const char *path, nb_counter *count)
{
    size_t len;
    const char *body = nb_req_body(r, &len);
    char token[SUB_TOKEN_MAX + 1];
    if (!api_sub_token_read(nb_req_query(r, "token"), body, len, token)) {
        nb_respond_error(r, NB_ERR_INVALID,
                         "token: give the token from the link in our mail (?token=...)");
        return;
    }
    json_t *req = json_pack("{s:s}", "token", token);
    if (call(s, r, path, req, 200) == 200 && count) nb_counter_inc(count);
    json_decref(req);
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

subscriptions *api_subscriptions_new(const sub_deps *deps)
{
    char bad[72];
    if (untrusted_entry(deps->cfg->trusted_proxies, bad, sizeof(bad))) {
        nb_error("trusted-proxies: '%s' is neither an IPv4 network (10.0.0.0/8) nor an IPv6 "
                 "address",
                 bad);
        return NULL;
    }
    subscriptions *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->d = *deps;
    const char *help = "Subscription requests and changes, by outcome";
    s->requested = nb_counter_new("nimbus_api_subscriptions_total", "result=\"requested\"", help);
    s->refused = nb_counter_new("nimbus_api_subscriptions_total", "result=\"refused\"", help);
    s->capped = nb_counter_new("nimbus_api_subscriptions_total", "result=\"capped\"", help);
    s->confirmed = nb_counter_new("nimbus_api_subscriptions_total", "result=\"confirmed\"", help);
    s->unsubscribed =
        nb_counter_new("nimbus_api_subscriptions_total", "result=\"unsubscribed\"", help);
    return s;
}

void api_subscriptions_free(subscriptions *s)
{
    free(s);
}

nb_err api_subscriptions_register(subscriptions *s, nb_server *srv)
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
