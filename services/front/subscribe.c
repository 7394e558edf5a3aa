/* subscribe.c — front's pages for email alerts (see subscribe.h). */
#include "subscribe.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assets.h"
#include "form.h"
#include "nimbus/clock.h"
#include "nimbus/http_client.h"
#include "nimbus/log.h"
#include "render_html.h"

#define NO_STORE "no-store"
#define TOKEN_MAX 128

/* --- the api -------------------------------------------------------------- */

typedef struct answer {
    long status; /* 0: no answer */
    json_t *body;
    char retry_after[16];
} answer;

/* One JSON call to the api, on behalf of the browser (X-Forwarded-For). */
static void api_call(fr_routes *rt, nb_req *r, const char *method, const char *path, json_t *body,
                     answer *a)
{
    char url[1024], xff[600];
    snprintf(url, sizeof(url), "%s%s", rt->api.base_url, path);
    const char *prev = nb_req_header(r, "X-Forwarded-For"), *peer = nb_req_peer(r);
    if (prev && *prev)
        snprintf(xff, sizeof(xff), "X-Forwarded-For: %.400s, %s", prev, peer);
    else
        snprintf(xff, sizeof(xff), "X-Forwarded-For: %s", peer);
    const char *headers[] = {xff, "Content-Type: application/json", NULL};
    if (!body) headers[1] = NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    nb_httpc_req req = {.method = method,
                        .url = url,
                        .headers = headers,
                        .body = text,
                        .body_len = text ? strlen(text) : 0,
                        .connect_timeout_ms = rt->api.connect_timeout_ms,
                        .timeout_ms = rt->api.timeout_ms,
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
        nb_warn("api %s %s failed: %s", method, path, resp.errmsg);
    }
    nb_httpc_resp_release(&resp);
}

static const char *reason(const answer *a, const char *fallback)
{
    const char *s = json_string_value(json_object_get(a->body, "reason"));
    return s ? s : fallback;
}

/* --- pages ------------------------------------------------------------------ */

static fr_page page_facts(void)
{
    return (fr_page){
        .asset_version = fr_assets_version(), .now_ms = nb_now_ms(), .max_age_s = -1, .swr_s = -1};
}

/* A notice page for a failure: its status is err.h's one mapping of code. */
static void notice(nb_req *r, int status, const fr_notice *n);
static void notice_error(nb_req *r, nb_err code, const fr_notice *n)
{
    notice(r, nb_err_http_status(code), n);
}

static void notice(nb_req *r, int status, const fr_notice *n)
{
    fr_page pg = page_facts();
    size_t len = 0;
    char *body = fr_html_notice(&pg, status, n, &len);
    nb_req_add_header(r, "X-Robots-Tag", "noindex");
    fr_respond_html(r, status, body, len, NO_STORE);
}

/* The api could not be asked or failed: one page for all of it. */
static void unavailable(nb_req *r, const answer *a)
{
    nb_req_add_header(r, "Retry-After", a->retry_after[0] ? a->retry_after : "60");
    fr_notice n = {.title = "Alerts are unavailable right now",
                   .lead = "We could not reach the part of the service that keeps alerts. "
                           "Nothing was changed; please try again in a minute."};
    notice_error(r, NB_ERR_UNAVAILABLE, &n);
}

/* A refusal from the api (4xx) as a page with the api's reason. */
static void refused(nb_req *r, const answer *a)
{
    fr_notice n = {.lead = reason(a, "The request was not understood.")};
    int status = (int)a->status;
    switch (status) {
    case 404:
        n.title = "Not found";
        break;
    case 409:
        n.title = "This subscription was cancelled";
        break;
    case 429:
        n.title = "Too many requests";
        nb_req_add_header(r, "Retry-After", a->retry_after[0] ? a->retry_after : "3600");
        break;
    default:
        n.title = "That did not work";
        status = 400;
    }
    notice(r, status, &n);
}

/* --- the form --------------------------------------------------------------- */

static bool checked(const char *body, size_t len, const char *name)
{
    char v[8];
    return fr_form_get(body, len, name, v, sizeof(v)) && strcmp(v, "1") == 0;
}

static bool number(const char *body, size_t len, const char *name, double *out)
{
    char v[32], *end;
    if (!fr_form_get(body, len, name, v, sizeof(v))) return false;
    errno = 0;
    *out = strtod(v, &end);
    return *v && !*end && !errno && isfinite(*out);
}

json_t *fr_form_rules(const char *body, size_t len, json_t **quiet, const char **why)
{
    json_t *rules = json_array();
    double v;
    *quiet = json_null();
    if (checked(body, len, "digest")) {
        if (!number(body, len, "digest_hour", &v) || v != floor(v) || v < 0 || v > 23) {
            *why = "Choose the hour of the morning summary.";
            goto bad;
        }
        json_array_append_new(rules,
                              json_pack("{s:s, s:i}", "kind", "daily_digest", "hour", (int)v));
    }
    if (checked(body, len, "above")) {
        if (!number(body, len, "above_c", &v)) {
            *why = "The \"warmer than\" limit must be a number of °C.";
            goto bad;
        }
        json_array_append_new(rules,
                              json_pack("{s:s, s:f}", "kind", "temperature_above", "value", v));
    }
    if (checked(body, len, "below")) {
        if (!number(body, len, "below_c", &v)) {
            *why = "The \"colder than\" limit must be a number of °C.";
            goto bad;
        }
        json_array_append_new(rules,
                              json_pack("{s:s, s:f}", "kind", "temperature_below", "value", v));
    }
    if (checked(body, len, "rain")) {
        if (!number(body, len, "rain_pct", &v)) {
            *why = "The chance of rain must be a number of percent.";
            goto bad;
        }
        json_array_append_new(rules, json_pack("{s:s, s:f, s:i}", "kind",
                                               "precipitation_probability_above", "value", v,
                                               "hours", 24));
    }
    if (checked(body, len, "sky"))
        json_array_append_new(rules, json_pack("{s:s}", "kind", "condition_change"));
    if (json_array_size(rules) == 0) {
        *why = "Choose at least one kind of mail.";
        goto bad;
    }
    if (checked(body, len, "quiet")) {
        json_decref(*quiet);
        *quiet = json_pack("{s:i, s:i}", "start", 22, "end", 7);
    }
    return rules;
bad:
    json_decref(rules);
    json_decref(*quiet);
    *quiet = NULL;
    return NULL;
}

/* The origin (scheme://host[:port]) of url into out. */
static void origin_of(const char *url, char *out, size_t outlen)
{
    const char *p = strstr(url, "://");
    const char *slash = p ? strchr(p + 3, '/') : NULL;
    size_t n = slash ? (size_t)(slash - url) : strlen(url);
    snprintf(out, outlen, "%.*s", (int)n, url);
}

static void on_subscribe(nb_req *r, void *ctx)
{
    fr_routes *rt = ctx;
    const char *origin = nb_req_header(r, "Origin");
    char ours[512];
    origin_of(rt->public_url, ours, sizeof(ours));
    if (origin && strcasecmp(origin, ours) != 0) {
        fr_notice n = {.title = "Not sent from this site",
                       .lead = "The alert form must be sent from this site's own pages."};
        notice_error(r, NB_ERR_FORBIDDEN, &n);
        return;
    }
    size_t len;
    const char *body = nb_req_body(r, &len);
    char email[300], place[256], lat[32], lon[32];
    const char *why = NULL;
    json_t *quiet = NULL, *rules = NULL, *req = NULL;
    if (!fr_form_get(body, len, "email", email, sizeof(email)) || !*email) {
        why = "Give the email address the alerts should go to.";
    } else if (!fr_form_get(body, len, "place", place, sizeof(place)) || !*place) {
        why = "The form did not say which place; open the place's page and try again.";
    } else {
        rules = fr_form_rules(body, len, &quiet, &why);
    }
    if (why) {
        fr_notice n = {.title = "That did not work", .lead = why};
        notice_error(r, NB_ERR_INVALID, &n);
        return;
    }
    req = json_pack("{s:s, s:O, s:O}", "email", email, "rules", rules, "quiet_hours", quiet);
    if (fr_parse_coords(place, lat, lon)) {
        json_object_set_new(req, "lat", json_real(strtod(lat, NULL)));
        json_object_set_new(req, "lon", json_real(strtod(lon, NULL)));
    } else {
        json_object_set_new(req, "city", json_string(place));
    }
    answer a;
    api_call(rt, r, "POST", "/v1/subscriptions", req, &a);
    if (a.status == 202) {
        char lead[1200];
        const json_t *sub = json_object_get(a.body, "place");
        snprintf(lead, sizeof(lead),
                 "We sent a link to %s. Open it and press Confirm: alerts for %s start then. "
                 "If no mail arrives within a few minutes, look in the spam folder.",
                 email, json_string_value(json_object_get(sub, "name")) ?: place);
        fr_notice n = {.title = "Check your inbox", .lead = lead, .subscription = a.body};
        notice(r, 202, &n);
    } else if (a.status >= 400 && a.status < 500) {
        refused(r, &a);
    } else {
        unavailable(r, &a);
    }
    json_decref(a.body);
    json_decref(req);
    json_decref(rules);
    json_decref(quiet);
}

/* --- the token pages ------------------------------------------------------- */

/* The token of a token page (?token=, or the form's field); NULL after
 * answering 400. */
static const char *page_token(nb_req *r, char buf[TOKEN_MAX + 1])
{
    const char *t = nb_req_query(r, "token");
    if (!t) {
        size_t len;
        const char *body = nb_req_body(r, &len);
        if (fr_form_get(body, len, "token", buf, TOKEN_MAX + 1)) t = buf;
    }
    size_t n = t ? strlen(t) : 0;
    bool ok = n >= 16 && n <= TOKEN_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
             (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_';
    if (ok) return t;
    fr_notice bad = {.title = "This link is incomplete",
                     .lead = "Open the link from the mail as it is; if your mail program split "
                             "it over two lines, join them."};
    notice_error(r, NB_ERR_INVALID, &bad);
    return NULL;
}

static void expired(nb_req *r)
{
    fr_notice n = {.title = "This link has expired",
                   .lead = "Links in our mails work for a limited time. Subscribe again from the "
                           "place's page to get a fresh one."};
    notice_error(r, NB_ERR_NOT_FOUND, &n);
}

/* GET /v1/subscriptions?token=: the subscription, or an answered page. */
static bool lookup(fr_routes *rt, nb_req *r, const char *token, answer *a)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/subscriptions?token=%s", token);
    api_call(rt, r, "GET", path, NULL, a);
    if (a->status == 200 && json_is_object(a->body)) return true;
    if (a->status == 404)
        expired(r);
    else if (a->status >= 400 && a->status < 500)
        refused(r, a);
    else
        unavailable(r, a);
    json_decref(a->body);
    return false;
}

static const char *status_of(const answer *a)
{
    const char *s = json_string_value(json_object_get(a->body, "status"));
    return s ? s : "";
}

static void on_confirm_page(nb_req *r, void *ctx)
{
    char buf[TOKEN_MAX + 1], action[300], manage[300];
    const char *token = page_token(r, buf);
    answer a;
    if (!token || !lookup(ctx, r, token, &a)) return;
    snprintf(action, sizeof(action), "/subscriptions/confirm?token=%s", token);
    snprintf(manage, sizeof(manage), "/subscriptions/manage?token=%s", token);
    const char *st = status_of(&a);
    fr_notice n = {.subscription = a.body};
    if (strcmp(st, "pending") == 0) {
        n.title = "Confirm your weather alerts";
        n.lead = "Press Confirm to start the alerts below. Nothing is sent until you do.";
        n.action = action;
        n.button = "Confirm";
    } else if (strcmp(st, "active") == 0) {
        n.title = "Already confirmed";
        n.lead = "These alerts are on.";
        n.link = manage;
        n.link_text = "Manage these alerts";
    } else {
        n.title = "This subscription was cancelled";
        n.lead = "It was unsubscribed. Subscribe again from the place's page to get alerts.";
    }
    notice(r, 200, &n);
    json_decref(a.body);
}

static void on_confirm(nb_req *r, void *ctx)
{
    char buf[TOKEN_MAX + 1], manage[300];
    const char *token = page_token(r, buf);
    if (!token) return;
    json_t *req = json_pack("{s:s}", "token", token);
    answer a;
    api_call(ctx, r, "POST", "/v1/subscriptions/confirm", req, &a);
    json_decref(req);
    snprintf(manage, sizeof(manage), "/subscriptions/manage?token=%s", token);
    if (a.status == 200) {
        fr_notice n = {.title = "Alerts are on",
                       .lead = "Thank you: your address is confirmed. Each mail has a link to "
                               "change or stop these alerts.",
                       .subscription = a.body,
                       .link = manage,
                       .link_text = "Manage these alerts"};
        notice(r, 200, &n);
    } else if (a.status == 404) {
        expired(r);
    } else if (a.status >= 400 && a.status < 500) {
        refused(r, &a);
    } else {
        unavailable(r, &a);
    }
    json_decref(a.body);
}

/* The texts of a page about one subscription: while alerts are on, and once
 * they are off (then the page has no Unsubscribe button). */
typedef struct sub_page {
    const char *title_on, *lead_on, *title_off, *lead_off;
} sub_page;

/* A page showing the subscription behind the link's token, with an
 * Unsubscribe button while it is on. */
static void subscription_page(nb_req *r, fr_routes *rt, const sub_page *t)
{
    char buf[TOKEN_MAX + 1], action[300];
    const char *token = page_token(r, buf);
    answer a;
    if (!token || !lookup(rt, r, token, &a)) return;
    snprintf(action, sizeof(action), "/subscriptions/unsubscribe?token=%s", token);
    bool gone = strcmp(status_of(&a), "unsubscribed") == 0;
    fr_notice n = {.title = gone ? t->title_off : t->title_on,
                   .lead = gone ? t->lead_off : t->lead_on,
                   .subscription = a.body,
                   .action = gone ? NULL : action,
                   .button = "Unsubscribe",
                   .danger = true};
    notice(r, 200, &n);
    json_decref(a.body);
}

static void on_manage(nb_req *r, void *ctx)
{
    static const sub_page t = {"Your weather alerts", "This is what we send to this address.",
                               "Your weather alerts",
                               "These alerts are off: nothing more is sent."};
    subscription_page(r, ctx, &t);
}

static void on_unsubscribe_page(nb_req *r, void *ctx)
{
    static const sub_page t = {"Unsubscribe from these alerts?",
                               "Press Unsubscribe and no more alerts for this place are sent.",
                               "Already unsubscribed",
                               "Nothing more is sent to this address for this place."};
    subscription_page(r, ctx, &t);
}

/* A form button or an RFC 8058 one-click POST (List-Unsubscribe=One-Click):
 * either way the token is all it takes. */
static void on_unsubscribe(nb_req *r, void *ctx)
{
    char buf[TOKEN_MAX + 1], path[256];
    const char *token = page_token(r, buf);
    if (!token) return;
    snprintf(path, sizeof(path), "/v1/subscriptions?token=%s", token);
    answer a;
    api_call(ctx, r, "DELETE", path, NULL, &a);
    if (a.status == 200) {
        fr_notice n = {.title = "You are unsubscribed",
                       .lead = "No more alerts for this place are sent to this address.",
                       .subscription = a.body};
        notice(r, 200, &n);
    } else if (a.status == 404) {
        expired(r);
    } else if (a.status >= 400 && a.status < 500) {
        refused(r, &a);
    } else {
        unavailable(r, &a);
    }
    json_decref(a.body);
}

nb_err fr_subscribe_register(fr_routes *rt, nb_server *s)
{
    static const struct {
        const char *method, *path;
        nb_handler_fn fn;
    } routes[] = {
        {"POST", "/subscribe", on_subscribe},
        {"GET", "/subscriptions/confirm", on_confirm_page},
        {"POST", "/subscriptions/confirm", on_confirm},
        {"GET", "/subscriptions/manage", on_manage},
        {"GET", "/subscriptions/unsubscribe", on_unsubscribe_page},
        {"POST", "/subscriptions/unsubscribe", on_unsubscribe},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        nb_err e = nb_server_route(s, routes[i].method, routes[i].path, "subscriptions",
                                   NB_ROUTE_WORKER, routes[i].fn, rt);
        if (e) return e;
    }
    return NB_OK;
}
