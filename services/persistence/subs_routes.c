/* subs_routes.c — subscription and mail routes of persistence (see
 * subs_routes.h). Requests are read by subs_request.c (pure), stored by
 * subs.c. */
#include "subs_routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/log.h"
#include "routes.h"
#include "subs_request.h"

/* --- answering ---------------------------------------------------------- */

static void respond_failure(nb_req *r, nb_err e, const nb_error *err, const char *what)
{
    nb_error out;
    switch (e) {
    case NB_ERR_TOO_MANY: /* a cap: the store says when a place frees up */
        nb_error_set(&out, e, err && err->retry_after_s > 0 ? err->retry_after_s : 60, "%s",
                     err && err->msg[0] ? err->msg : "too many requests");
        break;
    case NB_ERR_NOT_FOUND:
        nb_error_set(&out, e, 0, "%s", what);
        break;
    case NB_ERR_CONFLICT:
        nb_error_set(&out, e, 0, "%s", err && err->msg[0] ? err->msg : "conflict");
        break;
    case NB_ERR_UNAVAILABLE:
    case NB_ERR_TIMEOUT:
        nb_error_set(&out, e, 1, "database unavailable");
        break;
    default:
        nb_error_set(&out, e, 0, "could not use the database");
    }
    nb_respond_err(r, &out);
}

/* Answers 400 (404 for NB_ERR_NOT_FOUND) with why unless e is NB_OK. */
static bool read_ok(nb_req *r, nb_err e, const char *why)
{
    if (e == NB_OK) return true;
    nb_respond_error(r, e, "%s", why);
    return false;
}

static void respond_view(nb_req *r, int status, json_t *view, const char *purpose)
{
    json_t *doc = json_pack("{s:o}", "subscription", view);
    if (doc && purpose) json_object_set_new(doc, "purpose", json_string(purpose));
    nb_respond_json(r, status, doc);
}

/* --- the api's routes ---------------------------------------------------- */

static void on_create(nb_req *r, void *ctx)
{
    size_t len;
    const char *body = ps_routes_json_body(r, &len);
    char why[300];
    sr_create c;
    if (!body || !read_ok(r, ps_sr_create_read(body, len, &c, why, sizeof(why)), why)) return;
    nb_error err = {0};
    json_t *view = NULL;
    nb_err e = ps_subs_create(ctx, &c.req, &view, &err);
    if (e == NB_OK) {
        nb_info("subscription %s created for %s (pending confirmation)",
                json_string_value(json_object_get(view, "id")), c.req.place_key);
        respond_view(r, 201, view, NULL);
    } else {
        respond_failure(r, e, &err, "");
    }
    ps_sr_create_release(&c);
}

/* The token of a token route, or false after answering. */
static bool token_of(nb_req *r, char token[SR_TOKEN_MAX + 1])
{
    size_t len;
    const char *body = ps_routes_json_body(r, &len);
    char why[300];
    return body && read_ok(r, ps_sr_token_read(body, len, token, why, sizeof(why)), why);
}

static void on_lookup(nb_req *r, void *ctx)
{
    char token[SR_TOKEN_MAX + 1];
    if (!token_of(r, token)) return;
    json_t *view;
    char purpose[16];
    nb_err e = ps_subs_lookup(ctx, token, &view, purpose);
    if (e == NB_OK)
        respond_view(r, 200, view, purpose);
    else
        respond_failure(r, e, NULL, "unknown or expired token");
}

static void on_confirm(nb_req *r, void *ctx)
{
    char token[SR_TOKEN_MAX + 1];
    if (!token_of(r, token)) return;
    json_t *view;
    nb_error err = {0};
    nb_err e = ps_subs_confirm(ctx, token, &view, &err);
    if (e == NB_OK) {
        nb_info("subscription %s confirmed", json_string_value(json_object_get(view, "id")));
        respond_view(r, 200, view, NULL);
    } else {
        respond_failure(r, e, &err, "unknown or expired confirmation token");
    }
}

static void on_unsubscribe(nb_req *r, void *ctx)
{
    char token[SR_TOKEN_MAX + 1];
    if (!token_of(r, token)) return;
    json_t *view;
    nb_err e = ps_subs_unsubscribe(ctx, token, &view);
    if (e == NB_OK) {
        nb_info("subscription %s unsubscribed", json_string_value(json_object_get(view, "id")));
        respond_view(r, 200, view, NULL);
    } else {
        respond_failure(r, e, NULL, "unknown or expired token");
    }
}

/* --- the notifier's routes ------------------------------------------------ */

static void on_place_subscriptions(nb_req *r, void *ctx)
{
    sr_page p;
    char why[300];
    if (!read_ok(r,
                 ps_sr_page_read(nb_req_tail(r), nb_req_query(r, "after"), nb_req_query(r, "limit"),
                                 &p, why, sizeof(why)),
                 why))
        return;
    json_t *page;
    nb_err e = ps_subs_of_place(ctx, p.key, p.after[0] ? p.after : NULL, p.limit, &page);
    if (e == NB_OK)
        nb_respond_json(r, 200, page);
    else
        respond_failure(r, e, NULL, "");
}

static void on_evaluations(nb_req *r, void *ctx)
{
    size_t len;
    const char *body = ps_routes_json_body(r, &len);
    char why[300];
    sr_evaluations ev;
    if (!body || !read_ok(r, ps_sr_evaluations_read(body, len, &ev, why, sizeof(why)), why)) return;
    int applied = 0, mails = 0;
    nb_err e = ps_subs_evaluations(ctx, ev.event, ev.results, &applied, &mails);
    if (e == NB_OK)
        nb_respond_json(r, 200,
                        json_pack("{s:i, s:i, s:i}", "applied", applied, "stale", ev.n - applied,
                                  "mails", mails));
    else
        respond_failure(r, e, NULL, "");
    ps_sr_evaluations_release(&ev);
}

static void on_claim(nb_req *r, void *ctx)
{
    size_t len;
    const char *body = ps_routes_json_body(r, &len);
    char why[300];
    sr_claim c;
    if (!body || !read_ok(r, ps_sr_claim_read(body, len, &c, why, sizeof(why)), why)) return;
    json_t *mails;
    nb_err e = ps_subs_claim(ctx, c.owner, c.limit, c.lease_ms, &mails);
    if (e == NB_OK)
        nb_respond_json(r, 200, json_pack("{s:o}", "mails", mails));
    else
        respond_failure(r, e, NULL, "");
}

static void on_sent(nb_req *r, void *ctx)
{
    size_t len;
    const char *body = ps_routes_json_body(r, &len);
    char why[300];
    sr_sent sent;
    if (!body || !read_ok(r, ps_sr_sent_read(body, len, &sent, why, sizeof(why)), why)) return;
    int done = 0;
    nb_err e = ps_subs_sent(ctx, sent.ids, sent.n, &done);
    if (e == NB_OK)
        nb_respond_json(r, 200, json_pack("{s:i}", "sent", done));
    else
        respond_failure(r, e, NULL, "");
    ps_sr_sent_release(&sent);
}

static void on_failed(nb_req *r, void *ctx)
{
    size_t len;
    const char *body = ps_routes_json_body(r, &len);
    char why[300];
    sr_failed f;
    if (!body || !read_ok(r, ps_sr_failed_read(body, len, &f, why, sizeof(why)), why)) return;
    nb_err e = ps_subs_failed(ctx, f.owner, f.id, f.permanent, f.retry_in_ms, f.error);
    if (e == NB_OK)
        nb_respond_json(r, 200, json_pack("{s:b}", "released", 1));
    else
        respond_failure(r, e, NULL, "this owner holds no such mail");
}

static void on_stats(nb_req *r, void *ctx)
{
    long pending;
    double oldest;
    nb_err e = ps_subs_mail_stats(ctx, &pending, &oldest);
    if (e == NB_OK)
        nb_respond_json(
            r, 200,
            json_pack("{s:i, s:f}", "pending", (int)pending, "oldest_pending_age_s", oldest));
    else
        respond_failure(r, e, NULL, "");
}

nb_err ps_subs_routes_register(nb_server *srv, subs *s)
{
    static const struct {
        const char *method, *path, *name;
        nb_handler_fn fn;
    } routes[] = {
        {"POST", "/v1/subscriptions", "subscriptions", on_create},
        {"POST", "/v1/subscriptions/lookup", "subscriptions", on_lookup},
        {"POST", "/v1/subscriptions/confirm", "subscriptions", on_confirm},
        {"POST", "/v1/subscriptions/unsubscribe", "subscriptions", on_unsubscribe},
        {"GET", "/v1/places/*", "place_subscriptions", on_place_subscriptions},
        {"POST", "/v1/evaluations", "evaluations", on_evaluations},
        {"POST", "/v1/mails/claim", "mails", on_claim},
        {"POST", "/v1/mails/sent", "mails", on_sent},
        {"POST", "/v1/mails/failed", "mails", on_failed},
        {"GET", "/v1/mails/stats", "mails", on_stats},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        nb_err e = nb_server_route(srv, routes[i].method, routes[i].path, routes[i].name,
                                   NB_ROUTE_WORKER, routes[i].fn, s);
        if (e) return e;
    }
    return NB_OK;
}
