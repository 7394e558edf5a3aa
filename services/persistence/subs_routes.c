/* subs_routes.c — subscription and mail routes of persistence (see
 * subs_routes.h). Requests are validated here (addresses and rules with
 * libcommon's one check of each), stored by subs.c. */
#include "subs_routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/email.h"
#include "nimbus/log.h"
#include "nimbus/record.h"
#include "nimbus/rules.h"
#include "nimbus/text.h"
#include "routes.h"

#define CLAIM_MAX 500
#define PAGE_MAX 1000
#define RESULTS_MAX 1000
#define TOKEN_MAX 128

/* --- answering ---------------------------------------------------------- */

static void respond_failure(nb_req *r, nb_err e, const nb_error *err, const char *what)
{
    switch (e) {
    case NB_ERR_RATE_LIMITED: {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", err && err->retry_after_s > 0 ? err->retry_after_s : 60);
        nb_req_add_header(r, "Retry-After", ra);
        nb_respond_error_status(r, 429, e, "%s", err && err->msg[0] ? err->msg : "too many");
        return;
    }
    case NB_ERR_NOT_FOUND:
        nb_respond_error(r, e, "%s", what);
        return;
    case NB_ERR_CONFLICT:
        nb_respond_error(r, e, "%s", err && err->msg[0] ? err->msg : "conflict");
        return;
    case NB_ERR_UNAVAILABLE:
    case NB_ERR_TIMEOUT:
        nb_req_add_header(r, "Retry-After", "1");
        nb_respond_error_status(r, 503, e, "database unavailable");
        return;
    default:
        nb_respond_error(r, e, "could not use the database");
    }
}

static const char *str_field(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *const token_fields[] = {"token", NULL};

/* A base64url token of sane length, or NULL after answering 400. */
static const char *token_field(nb_req *r, const json_t *body)
{
    const char *t = str_field(body, "token");
    size_t n = t ? strlen(t) : 0;
    bool ok = n >= 16 && n <= TOKEN_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
             (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_';
    if (ok) return t;
    nb_respond_error(r, NB_ERR_INVALID, "token: the text after token= in a link from our mail");
    return NULL;
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
    static const char *const fields[] = {"email",  "place", "rules", "quiet_hours",
                                         "client", "caps",  NULL};
    json_t *b = routes_json_object(r, fields);
    if (!b) return;
    const char *email = str_field(b, "email"), *why = NULL;
    json_t *place = json_object_get(b, "place");
    const char *key = str_field(place, "key"), *name = str_field(place, "name");
    const char *tz = str_field(place, "timezone"), *client = str_field(b, "client");
    json_t *caps = json_object_get(b, "caps");
    char reason[256];
    nb_rules rules;
    if (!email || !nb_email_valid(email, &why)) {
        nb_respond_error(r, NB_ERR_INVALID, "email: %s", email ? why : "missing");
    } else if (!key || !nb_location_key_valid(key, NULL, NULL)) {
        nb_respond_error(r, NB_ERR_INVALID, "place.key: a location key like 52.52,13.41");
    } else if (!name || !*name || strlen(name) > 150 || !nb_utf8_valid(name, strlen(name))) {
        nb_respond_error(r, NB_ERR_INVALID, "place.name: 1 to 150 bytes of UTF-8");
    } else if (tz && strlen(tz) > 63) {
        nb_respond_error(r, NB_ERR_INVALID, "place.timezone: at most 63 bytes");
    } else if (client && strlen(client) > 64) {
        nb_respond_error(r, NB_ERR_INVALID, "client: at most 64 bytes");
    } else if (nb_rules_parse(json_object_get(b, "rules"), json_object_get(b, "quiet_hours"),
                              &rules, reason, sizeof(reason)) != NB_OK) {
        nb_respond_error(r, NB_ERR_INVALID, "%s", reason);
    } else {
        char canon[NB_EMAIL_MAX + 1];
        nb_email_canonical(email, canon);
        json_t *rj = nb_rules_json(&rules), *qj = nb_quiet_json(&rules);
        char *rtext = rj ? json_dumps(rj, JSON_COMPACT) : NULL;
        char *qtext = qj ? json_dumps(qj, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        subs_request req = {
            .email = email,
            .email_canonical = canon,
            .place_key = key,
            .place_name = name,
            .timezone = tz ? tz : "",
            .rules = rtext,
            .quiet = qtext,
            .client = client ? client : "",
            .cap_address = (long)json_integer_value(json_object_get(caps, "per_address")),
            .cap_client = (long)json_integer_value(json_object_get(caps, "per_client"))};
        nb_error err = {0};
        json_t *view = NULL;
        nb_err e = rtext && qtext ? subs_create(ctx, &req, &view, &err) : NB_ERR_NOMEM;
        if (e == NB_OK) {
            nb_info("subscription %s created for %s (pending confirmation)",
                    json_string_value(json_object_get(view, "id")), key);
            respond_view(r, 201, view, NULL);
        } else {
            respond_failure(r, e, &err, "");
        }
        free(rtext);
        free(qtext);
        json_decref(rj);
        json_decref(qj);
    }
    json_decref(b);
}

static void on_lookup(nb_req *r, void *ctx)
{
    json_t *b = routes_json_object(r, token_fields);
    const char *token = b ? token_field(r, b) : NULL;
    if (token) {
        json_t *view;
        char purpose[16];
        nb_err e = subs_lookup(ctx, token, &view, purpose);
        if (e == NB_OK)
            respond_view(r, 200, view, purpose);
        else
            respond_failure(r, e, NULL, "unknown or expired token");
    }
    json_decref(b);
}

static void on_confirm(nb_req *r, void *ctx)
{
    json_t *b = routes_json_object(r, token_fields);
    const char *token = b ? token_field(r, b) : NULL;
    if (token) {
        json_t *view;
        nb_error err = {0};
        nb_err e = subs_confirm(ctx, token, &view, &err);
        if (e == NB_OK) {
            nb_info("subscription %s confirmed", json_string_value(json_object_get(view, "id")));
            respond_view(r, 200, view, NULL);
        } else {
            respond_failure(r, e, &err, "unknown or expired confirmation token");
        }
    }
    json_decref(b);
}

static void on_unsubscribe(nb_req *r, void *ctx)
{
    json_t *b = routes_json_object(r, token_fields);
    const char *token = b ? token_field(r, b) : NULL;
    if (token) {
        json_t *view;
        nb_err e = subs_unsubscribe(ctx, token, &view);
        if (e == NB_OK) {
            nb_info("subscription %s unsubscribed", json_string_value(json_object_get(view, "id")));
            respond_view(r, 200, view, NULL);
        } else {
            respond_failure(r, e, NULL, "unknown or expired token");
        }
    }
    json_decref(b);
}

/* --- the notifier's routes ------------------------------------------------ */

/* A whole number from lo to hi in a query argument (absent: dflt). */
static bool query_int(nb_req *r, const char *name, long lo, long hi, long dflt, long *out)
{
    const char *v = nb_req_query(r, name);
    if (!v) {
        *out = dflt;
        return true;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*v && !*end && n >= lo && n <= hi) {
        *out = n;
        return true;
    }
    nb_respond_error(r, NB_ERR_INVALID, "%s: a whole number from %ld to %ld", name, lo, hi);
    return false;
}

static void on_place_subscriptions(nb_req *r, void *ctx)
{
    /* tail: "<key>/subscriptions" */
    const char *tail = nb_req_tail(r), *slash = strchr(tail, '/');
    char key[NB_KEY_MAX];
    long limit;
    if (!slash || strcmp(slash, "/subscriptions") != 0 || (size_t)(slash - tail) >= sizeof(key)) {
        nb_respond_error(r, NB_ERR_NOT_FOUND, "no route for this path");
        return;
    }
    snprintf(key, sizeof(key), "%.*s", (int)(slash - tail), tail);
    const char *after = nb_req_query(r, "after");
    if (!nb_location_key_valid(key, NULL, NULL)) {
        nb_respond_error(r, NB_ERR_INVALID,
                         "location key must be canonical lat,lon with 2 "
                         "decimals, e.g. 52.52,13.41");
    } else if (after && !subs_uuid_valid(after)) {
        nb_respond_error(r, NB_ERR_INVALID, "after: a subscription id (UUID)");
    } else if (query_int(r, "limit", 1, PAGE_MAX, 500, &limit)) {
        json_t *page;
        nb_err e = subs_of_place(ctx, key, after, (int)limit, &page);
        if (e == NB_OK)
            nb_respond_json(r, 200, page);
        else
            respond_failure(r, e, NULL, "");
    }
}

/* Each result: {"subscription": uuid, "state_version": int, "state": object,
 * "alert": object (optional)}; NULL or the reason. */
static const char *results_invalid(const json_t *results)
{
    if (!json_is_array(results) || json_array_size(results) == 0 ||
        json_array_size(results) > RESULTS_MAX)
        return "results: an array of 1 to 1000 results";
    size_t i;
    json_t *x;
    json_array_foreach(results, i, x)
    {
        json_t *alert = json_object_get(x, "alert");
        if (!subs_uuid_valid(str_field(x, "subscription")))
            return "results[].subscription: a subscription id";
        if (!json_is_integer(json_object_get(x, "state_version")))
            return "results[].state_version: an integer";
        if (!json_is_object(json_object_get(x, "state"))) return "results[].state: an object";
        if (alert && !json_is_object(alert)) return "results[].alert: an object";
    }
    return NULL;
}

static void on_evaluations(nb_req *r, void *ctx)
{
    static const char *const fields[] = {"event", "key", "results", NULL};
    json_t *b = routes_json_object(r, fields);
    if (!b) return;
    const char *event = str_field(b, "event"), *why;
    json_t *results = json_object_get(b, "results");
    if (!subs_uuid_valid(event)) {
        nb_respond_error(r, NB_ERR_INVALID, "event: the event id (UUID)");
    } else if ((why = results_invalid(results))) {
        nb_respond_error(r, NB_ERR_INVALID, "%s", why);
    } else {
        char *text = json_dumps(results, JSON_COMPACT);
        int applied = 0, mails = 0;
        nb_err e = text ? subs_evaluations(ctx, event, text, &applied, &mails) : NB_ERR_NOMEM;
        free(text);
        if (e == NB_OK)
            nb_respond_json(r, 200,
                            json_pack("{s:i, s:i, s:i}", "applied", applied, "stale",
                                      (int)json_array_size(results) - applied, "mails", mails));
        else
            respond_failure(r, e, NULL, "");
    }
    json_decref(b);
}

static bool owner_valid(const char *o)
{
    return o && *o && strlen(o) <= 64;
}

static void on_claim(nb_req *r, void *ctx)
{
    static const char *const fields[] = {"owner", "limit", "lease_ms", NULL};
    json_t *b = routes_json_object(r, fields);
    if (!b) return;
    const char *owner = str_field(b, "owner");
    json_t *limit = json_object_get(b, "limit"), *lease = json_object_get(b, "lease_ms");
    if (!owner_valid(owner)) {
        nb_respond_error(r, NB_ERR_INVALID, "owner: 1 to 64 characters");
    } else if (!json_is_integer(limit) || json_integer_value(limit) < 1 ||
               json_integer_value(limit) > CLAIM_MAX) {
        nb_respond_error(r, NB_ERR_INVALID, "limit: a whole number from 1 to %d", CLAIM_MAX);
    } else if (!json_is_integer(lease) || json_integer_value(lease) < 1000 ||
               json_integer_value(lease) > 3600000) {
        nb_respond_error(r, NB_ERR_INVALID, "lease_ms: a whole number from 1000 to 3600000");
    } else {
        json_t *mails;
        nb_err e = subs_claim(ctx, owner, (int)json_integer_value(limit),
                              (long)json_integer_value(lease), &mails);
        if (e == NB_OK)
            nb_respond_json(r, 200, json_pack("{s:o}", "mails", mails));
        else
            respond_failure(r, e, NULL, "");
    }
    json_decref(b);
}

static void on_sent(nb_req *r, void *ctx)
{
    static const char *const fields[] = {"owner", "ids", NULL};
    json_t *b = routes_json_object(r, fields);
    if (!b) return;
    json_t *ids = json_object_get(b, "ids");
    size_t n = json_array_size(ids);
    const char **list = n ? calloc(n, sizeof(*list)) : NULL;
    bool ok = json_is_array(ids) && n >= 1 && n <= CLAIM_MAX && list;
    for (size_t i = 0; ok && i < n; i++)
        ok = subs_uuid_valid(list[i] = json_string_value(json_array_get(ids, i)));
    if (!ok) {
        nb_respond_error(r, NB_ERR_INVALID, "ids: an array of 1 to %d mail ids", CLAIM_MAX);
    } else {
        int done = 0;
        nb_err e = subs_sent(ctx, list, (int)n, &done);
        if (e == NB_OK)
            nb_respond_json(r, 200, json_pack("{s:i}", "sent", done));
        else
            respond_failure(r, e, NULL, "");
    }
    free(list);
    json_decref(b);
}

static void on_failed(nb_req *r, void *ctx)
{
    static const char *const fields[] = {"owner", "id", "permanent", "retry_in_ms", "error", NULL};
    json_t *b = routes_json_object(r, fields);
    if (!b) return;
    const char *owner = str_field(b, "owner"), *id = str_field(b, "id");
    const char *error = str_field(b, "error");
    json_t *permanent = json_object_get(b, "permanent"), *retry = json_object_get(b, "retry_in_ms");
    if (!owner_valid(owner) || !subs_uuid_valid(id)) {
        nb_respond_error(r, NB_ERR_INVALID, "owner and id (a mail id) are required");
    } else if (!json_is_boolean(permanent)) {
        nb_respond_error(r, NB_ERR_INVALID, "permanent: true or false");
    } else if (!json_is_integer(retry) || json_integer_value(retry) < 0 ||
               json_integer_value(retry) > 7L * 86400 * 1000) {
        nb_respond_error(r, NB_ERR_INVALID, "retry_in_ms: a whole number from 0 to 604800000");
    } else {
        nb_err e = subs_failed(ctx, owner, id, json_is_true(permanent),
                               (long)json_integer_value(retry), error ? error : "");
        if (e == NB_OK)
            nb_respond_json(r, 200, json_pack("{s:b}", "released", 1));
        else
            respond_failure(r, e, NULL, "this owner holds no such mail");
    }
    json_decref(b);
}

static void on_stats(nb_req *r, void *ctx)
{
    long pending;
    double oldest;
    nb_err e = subs_mail_stats(ctx, &pending, &oldest);
    if (e == NB_OK)
        nb_respond_json(
            r, 200,
            json_pack("{s:i, s:f}", "pending", (int)pending, "oldest_pending_age_s", oldest));
    else
        respond_failure(r, e, NULL, "");
}

nb_err subs_routes_register(nb_server *srv, subs *s)
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
