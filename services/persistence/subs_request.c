/* subs_request.c — reading the subscription and mail routes' requests (see
 * subs_request.h). */
#include "subs_request.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "nimbus/rules.h"
#include "nimbus/text.h"
#include "request.h"

static nb_err refuse(char *why, size_t whylen, const char *reason)
{
    snprintf(why, whylen, "%s", reason);
    return NB_ERR_INVALID;
}

static const char *str_field(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* An optional string field: absent (NULL) or a string. */
static bool opt_str(const json_t *o, const char *key, const char **out)
{
    const json_t *v = json_object_get(o, key);
    *out = json_string_value(v);
    return !v || *out;
}

/* A whole number field within [lo, hi]. */
static bool int_in(const json_t *o, const char *key, json_int_t lo, json_int_t hi, json_int_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return false;
    *out = json_integer_value(v);
    return true;
}

static bool uuid_ok(const char *s)
{
    return s && ps_event_uuid_valid(s);
}

static bool owner_ok(const char *o)
{
    return o && *o && strlen(o) <= SR_OWNER_MAX;
}

/* --- POST /v1/subscriptions ------------------------------------------------ */

void ps_sr_create_release(sr_create *c)
{
    json_decref(c->doc);
    free(c->rules);
    free(c->quiet);
    memset(c, 0, sizeof(*c));
}

/* True when o is an object with no fields beyond `fields` (NULL-terminated). */
static bool object_of(const json_t *o, const char *const *fields)
{
    if (!json_is_object(o)) return false;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        const char *const *f = fields;
        while (*f && strcmp(*f, k) != 0)
            f++;
        if (!*f) return false;
    }
    return true;
}

/* caps: {"per_address", "per_client"}, each 0 (no cap) .. SR_CAP_MAX; absent: no caps. */
static nb_err read_caps(const json_t *caps, subs_request *r, char *why, size_t whylen)
{
    static const char *const fields[] = {"per_address", "per_client", NULL};
    json_int_t a = 0, c = 0;
    if (caps &&
        (!object_of(caps, fields) ||
         (json_object_get(caps, "per_address") &&
          !int_in(caps, "per_address", 0, SR_CAP_MAX, &a)) ||
         (json_object_get(caps, "per_client") && !int_in(caps, "per_client", 0, SR_CAP_MAX, &c))))
        return refuse(why, whylen,
                      "caps: {\"per_address\", \"per_client\"}, whole numbers from 0 to 1000000");
    r->cap_address = (long)a;
    r->cap_client = (long)c;
    return NB_OK;
}

nb_err ps_sr_create_read(const char *body, size_t len, sr_create *out, char *why, size_t whylen)
{
    static const char *const fields[] = {"email",  "place", "rules", "quiet_hours",
                                         "client", "caps",  NULL};
    static const char *const place_fields[] = {"key", "name", "timezone", NULL};
    memset(out, 0, sizeof(*out));
    json_t *b = out->doc = ps_rq_json_object(body, len, fields, why, whylen);
    if (!b) return NB_ERR_INVALID;
    subs_request *r = &out->req;
    const json_t *place = json_object_get(b, "place");
    const char *bad = NULL, *tz, *client;
    nb_rules rules;
    nb_err e = NB_ERR_INVALID;
    r->email = str_field(b, "email");
    r->place_key = str_field(place, "key");
    r->place_name = str_field(place, "name");
    if (!r->email || !nb_email_valid(r->email, &bad)) {
        snprintf(why, whylen, "email: %s", r->email ? (bad ? bad : "not an address") : "missing");
    } else if (!object_of(place, place_fields)) {
        refuse(why, whylen, "place: {\"key\", \"name\", \"timezone\"}");
    } else if (!r->place_key || !nb_location_key_valid(r->place_key, NULL, NULL)) {
        refuse(why, whylen, "place.key: a location key like 52.52,13.41");
    } else if (!r->place_name || !*r->place_name || strlen(r->place_name) > 150 ||
               !nb_utf8_valid(r->place_name, strlen(r->place_name))) {
        refuse(why, whylen, "place.name: 1 to 150 bytes of UTF-8");
    } else if (!opt_str(place, "timezone", &tz) || (tz && strlen(tz) > 63)) {
        refuse(why, whylen, "place.timezone: at most 63 bytes");
    } else if (!opt_str(b, "client", &client) || (client && strlen(client) > 64)) {
        refuse(why, whylen, "client: at most 64 bytes");
    } else if ((e = read_caps(json_object_get(b, "caps"), r, why, whylen)) != NB_OK) {
        /* why is set */
    } else if ((e = nb_rules_parse(json_object_get(b, "rules"), json_object_get(b, "quiet_hours"),
                                   &rules, why, whylen)) != NB_OK) {
        /* why is set */
    } else {
        nb_email_canonical(r->email, out->email_canonical);
        json_t *rj = nb_rules_json(&rules), *qj = nb_quiet_json(&rules);
        out->rules = rj ? json_dumps(rj, JSON_COMPACT) : NULL;
        out->quiet = qj ? json_dumps(qj, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(rj);
        json_decref(qj);
        r->email_canonical = out->email_canonical;
        r->timezone = tz ? tz : "";
        r->client = client ? client : "";
        r->rules = out->rules;
        r->quiet = out->quiet;
        e = out->rules && out->quiet ? NB_OK : NB_ERR_NOMEM;
        if (e) snprintf(why, whylen, "out of memory");
    }
    if (e) ps_sr_create_release(out);
    return e;
}

/* --- the token routes -------------------------------------------------------- */

nb_err ps_sr_token_read(const char *body, size_t len, char out[SR_TOKEN_MAX + 1], char *why,
                        size_t whylen)
{
    static const char *const fields[] = {"token", NULL};
    json_t *b = ps_rq_json_object(body, len, fields, why, whylen);
    if (!b) return NB_ERR_INVALID;
    const char *t = str_field(b, "token");
    size_t n = t ? strlen(t) : 0;
    bool ok = n >= 16 && n <= SR_TOKEN_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
             (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_';
    if (ok) memcpy(out, t, n + 1);
    json_decref(b);
    return ok ? NB_OK : refuse(why, whylen, "token: the text after token= in a link from our mail");
}

/* --- the notifier's routes ------------------------------------------------- */

nb_err ps_sr_page_read(const char *tail, const char *after, const char *limit, sr_page *out,
                       char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    const char *slash = strchr(tail, '/');
    if (!slash || strcmp(slash, "/subscriptions") != 0 ||
        (size_t)(slash - tail) >= sizeof(out->key)) {
        snprintf(why, whylen, "no route for this path");
        return NB_ERR_NOT_FOUND;
    }
    snprintf(out->key, sizeof(out->key), "%.*s", (int)(slash - tail), tail);
    if (!nb_location_key_valid(out->key, NULL, NULL))
        return refuse(why, whylen,
                      "location key must be canonical lat,lon with 2 decimals, e.g. 52.52,13.41");
    if (after && !uuid_ok(after)) return refuse(why, whylen, "after: a subscription id (UUID)");
    if (after) memcpy(out->after, after, KV_UUID_LEN + 1);
    out->limit = 500;
    if (limit) {
        char *end;
        long n = strtol(limit, &end, 10);
        if (!*limit || *end || n < 1 || n > SR_PAGE_MAX) {
            snprintf(why, whylen, "limit: a whole number from 1 to %d", SR_PAGE_MAX);
            return NB_ERR_INVALID;
        }
        out->limit = (int)n;
    }
    return NB_OK;
}

/* Each result: {"subscription": uuid, "state_version": int, "state": object,
 * "alert": object (optional)}; NULL or the reason. */
static const char *results_invalid(const json_t *results)
{
    if (!json_is_array(results) || json_array_size(results) == 0 ||
        json_array_size(results) > SR_RESULTS_MAX)
        return "results: an array of 1 to 1000 results";
    size_t i;
    json_t *x;
    json_array_foreach(results, i, x)
    {
        json_t *alert = json_object_get(x, "alert");
        if (!uuid_ok(str_field(x, "subscription")))
            return "results[].subscription: a subscription id";
        if (!json_is_integer(json_object_get(x, "state_version")))
            return "results[].state_version: an integer";
        if (!json_is_object(json_object_get(x, "state"))) return "results[].state: an object";
        if (alert && !json_is_object(alert)) return "results[].alert: an object";
    }
    return NULL;
}

void ps_sr_evaluations_release(sr_evaluations *e)
{
    free(e->results);
    memset(e, 0, sizeof(*e));
}

nb_err ps_sr_evaluations_read(const char *body, size_t len, sr_evaluations *out, char *why,
                              size_t whylen)
{
    static const char *const fields[] = {"event", "key", "results", NULL};
    memset(out, 0, sizeof(*out));
    json_t *b = ps_rq_json_object(body, len, fields, why, whylen);
    if (!b) return NB_ERR_INVALID;
    const char *event = str_field(b, "event"), *key, *bad;
    json_t *results = json_object_get(b, "results");
    nb_err e = NB_ERR_INVALID;
    if (!uuid_ok(event)) {
        refuse(why, whylen, "event: the event id (UUID)");
    } else if (!opt_str(b, "key", &key) || (key && !nb_location_key_valid(key, NULL, NULL))) {
        refuse(why, whylen, "key: the event's location key");
    } else if ((bad = results_invalid(results))) {
        refuse(why, whylen, bad);
    } else {
        memcpy(out->event, event, KV_UUID_LEN + 1);
        out->n = (int)json_array_size(results);
        out->results = json_dumps(results, JSON_COMPACT);
        e = out->results ? NB_OK : NB_ERR_NOMEM;
        if (e) snprintf(why, whylen, "out of memory");
    }
    json_decref(b);
    return e;
}

nb_err ps_sr_claim_read(const char *body, size_t len, sr_claim *out, char *why, size_t whylen)
{
    static const char *const fields[] = {"owner", "limit", "lease_ms", NULL};
    memset(out, 0, sizeof(*out));
    json_t *b = ps_rq_json_object(body, len, fields, why, whylen);
    if (!b) return NB_ERR_INVALID;
    const char *owner = str_field(b, "owner");
    json_int_t limit, lease;
    nb_err e = NB_ERR_INVALID;
    if (!owner_ok(owner)) {
        refuse(why, whylen, "owner: 1 to 64 characters");
    } else if (!int_in(b, "limit", 1, SR_BATCH_MAX, &limit)) {
        snprintf(why, whylen, "limit: a whole number from 1 to %d", SR_BATCH_MAX);
    } else if (!int_in(b, "lease_ms", 1000, 3600000, &lease)) {
        refuse(why, whylen, "lease_ms: a whole number from 1000 to 3600000");
    } else {
        snprintf(out->owner, sizeof(out->owner), "%s", owner);
        out->limit = (int)limit;
        out->lease_ms = (long)lease;
        e = NB_OK;
    }
    json_decref(b);
    return e;
}

void ps_sr_sent_release(sr_sent *s)
{
    free(s->ids);
    free(s->id);
    memset(s, 0, sizeof(*s));
}

nb_err ps_sr_sent_read(const char *body, size_t len, sr_sent *out, char *why, size_t whylen)
{
    static const char *const fields[] = {"owner", "ids", NULL};
    memset(out, 0, sizeof(*out));
    json_t *b = ps_rq_json_object(body, len, fields, why, whylen);
    if (!b) return NB_ERR_INVALID;
    json_t *ids = json_object_get(b, "ids");
    const char *owner;
    size_t n = json_array_size(ids);
    bool ok = opt_str(b, "owner", &owner) && (!owner || owner_ok(owner)) && json_is_array(ids) &&
              n >= 1 && n <= SR_BATCH_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = uuid_ok(json_string_value(json_array_get(ids, i)));
    nb_err e = NB_ERR_INVALID;
    if (!ok) {
        snprintf(why, whylen, "ids: an array of 1 to %d mail ids", SR_BATCH_MAX);
    } else if (!(out->ids = calloc(n, sizeof(*out->ids))) ||
               !(out->id = calloc(n, sizeof(*out->id)))) {
        e = NB_ERR_NOMEM;
        snprintf(why, whylen, "out of memory");
        ps_sr_sent_release(out);
    } else {
        for (size_t i = 0; i < n; i++) {
            memcpy(out->id[i], json_string_value(json_array_get(ids, i)), KV_UUID_LEN + 1);
            out->ids[i] = out->id[i];
        }
        out->n = (int)n;
        e = NB_OK;
    }
    json_decref(b);
    return e;
}

nb_err ps_sr_failed_read(const char *body, size_t len, sr_failed *out, char *why, size_t whylen)
{
    static const char *const fields[] = {"owner", "id", "permanent", "retry_in_ms", "error", NULL};
    memset(out, 0, sizeof(*out));
    json_t *b = ps_rq_json_object(body, len, fields, why, whylen);
    if (!b) return NB_ERR_INVALID;
    const char *owner = str_field(b, "owner"), *id = str_field(b, "id"), *error;
    json_t *permanent = json_object_get(b, "permanent");
    json_int_t retry;
    nb_err e = NB_ERR_INVALID;
    if (!owner_ok(owner) || !uuid_ok(id)) {
        refuse(why, whylen, "owner and id (a mail id) are required");
    } else if (!json_is_boolean(permanent)) {
        refuse(why, whylen, "permanent: true or false");
    } else if (!int_in(b, "retry_in_ms", 0, 7L * 86400 * 1000, &retry)) {
        refuse(why, whylen, "retry_in_ms: a whole number from 0 to 604800000");
    } else if (!opt_str(b, "error", &error)) {
        refuse(why, whylen, "error: a text");
    } else {
        snprintf(out->owner, sizeof(out->owner), "%s", owner);
        memcpy(out->id, id, KV_UUID_LEN + 1);
        out->permanent = json_is_true(permanent);
        out->retry_in_ms = (long)retry;
        if (error)
            snprintf(out->error, sizeof(out->error), "%.*s",
                     (int)nb_utf8_prefix(error, SR_ERROR_MAX), error);
        e = NB_OK;
    }
    json_decref(b);
    return e;
}
