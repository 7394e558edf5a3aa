/* store_client.c — the notifier's HTTP client of persistence (see
 * store_client.h). */
#include "store_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/clock.h"
#include "nimbus/http_client.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"

#define MAX_BODY (8 * 1024 * 1024)

struct nt_store {
    char *base;
    long timeout_ms;
    nb_counter *errors;
};

nt_store *nt_store_new(const char *base_url, long timeout_ms)
{
    nt_store *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->base = strdup(base_url);
    s->timeout_ms = timeout_ms;
    s->errors =
        nb_counter_new("nimbus_persistence_errors_total", NULL, "Calls to persistence that failed");
    if (!s->base) {
        free(s);
        return NULL;
    }
    return s;
}

void nt_store_free(nt_store *s)
{
    if (!s) return;
    free(s->base);
    free(s);
}

/* One call; NB_OK only for a 2xx answer (its body in resp). */
static nb_err call(nt_store *s, const char *method, const char *path, const json_t *body,
                   nb_httpc_resp *resp)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", s->base, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text) {
        memset(resp, 0, sizeof(*resp));
        return NB_ERR_NOMEM;
    }
    const char *headers[] = {"Content-Type: application/json", NULL};
    nb_httpc_req req = {.method = method,
                        .url = url,
                        .headers = body ? headers : NULL,
                        .body = text,
                        .body_len = text ? strlen(text) : 0,
                        .connect_timeout_ms = s->timeout_ms / 2,
                        .timeout_ms = s->timeout_ms,
                        .max_body = MAX_BODY};
    nb_err e = nb_httpc_do(&req, resp);
    free(text);
    if (e == NB_OK && (resp->status < 200 || resp->status > 299)) {
        char who[160];
        nb_error why;
        snprintf(who, sizeof(who), "persistence %s %.120s", method, path);
        e = nb_error_from_answer(&why, resp->status, nb_buf_str(&resp->body), resp->body.len, NULL,
                                 who);
        if (e != NB_ERR_NOT_FOUND) nb_warn("%s", why.msg);
    } else if (e != NB_OK) {
        nb_warn("persistence %s %s failed: %s", method, path, resp->errmsg);
    }
    if (e != NB_OK && e != NB_ERR_NOT_FOUND) nb_counter_inc(s->errors);
    return e;
}

/* The answer's JSON object, or NULL (logged). */
static json_t *answer(const nb_httpc_resp *resp, const char *what)
{
    json_error_t jerr;
    json_t *j = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, &jerr);
    if (!json_is_object(j)) {
        nb_warn("persistence answered %s with no JSON object: %s", what, jerr.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

nb_err nt_store_record(nt_store *s, const char *key, nb_record *out)
{
    char path[64];
    snprintf(path, sizeof(path), "/v1/records/%s", key);
    nb_httpc_resp resp;
    nb_err e = call(s, "GET", path, NULL, &resp);
    if (e == NB_OK) {
        const char *why = NULL;
        e = nb_record_parse(resp.body.data, resp.body.len, out, &why);
        if (e) {
            nb_warn("persistence gave an unreadable record for %s: %s", key, why ? why : "?");
            e = NB_ERR_UPSTREAM;
        }
    }
    nb_httpc_resp_release(&resp);
    return e;
}

nb_err nt_store_subscriptions(nt_store *s, const char *key, const char *after, int limit,
                              json_t **page, char next[40])
{
    char path[256];
    *page = NULL;
    next[0] = '\0';
    snprintf(path, sizeof(path), "/v1/places/%s/subscriptions?limit=%d%s%s", key, limit,
             after && *after ? "&after=" : "", after && *after ? after : "");
    nb_httpc_resp resp;
    nb_err e = call(s, "GET", path, NULL, &resp);
    if (e == NB_OK) {
        json_t *j = answer(&resp, "subscriptions");
        json_t *subs = json_object_get(j, "subscriptions");
        const char *n = json_string_value(json_object_get(j, "next"));
        if (json_is_array(subs)) {
            *page = json_incref(subs);
            if (n) snprintf(next, 40, "%s", n);
        } else {
            e = NB_ERR_UPSTREAM;
        }
        json_decref(j);
    }
    nb_httpc_resp_release(&resp);
    return e;
}

nb_err nt_store_evaluations(nt_store *s, const json_t *body, int *mails)
{
    nb_httpc_resp resp;
    *mails = 0;
    nb_err e = call(s, "POST", "/v1/evaluations", body, &resp);
    if (e == NB_OK) {
        json_t *j = answer(&resp, "evaluations");
        if (j)
            *mails = (int)json_integer_value(json_object_get(j, "mails"));
        else
            e = NB_ERR_UPSTREAM;
        json_decref(j);
    }
    nb_httpc_resp_release(&resp);
    return e;
}

static void copy_str(char *dst, size_t n, const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    snprintf(dst, n, "%s", v ? v : "");
}

/* Fills m from one claimed mail; false when it is malformed. */
static bool mail_from_json(const json_t *j, nt_mail *m)
{
    memset(m, 0, sizeof(*m));
    const json_t *sub = json_object_get(j, "subscription");
    const json_t *place = json_object_get(sub, "place");
    copy_str(m->id, sizeof(m->id), j, "id");
    copy_str(m->kind, sizeof(m->kind), j, "kind");
    copy_str(m->email, sizeof(m->email), j, "email");
    copy_str(m->token, sizeof(m->token), j, "token");
    copy_str(m->subscription, sizeof(m->subscription), sub, "id");
    copy_str(m->place_name, sizeof(m->place_name), place, "name");
    copy_str(m->place_key, sizeof(m->place_key), place, "key");
    copy_str(m->timezone, sizeof(m->timezone), place, "timezone");
    m->attempts = (int)json_integer_value(json_object_get(j, "attempts"));
    const char *exp = json_string_value(json_object_get(j, "token_expires_at"));
    int64_t exp_ms;
    if (exp && nb_time_parse_rfc3339(exp, &exp_ms))
        m->token_ttl_s = (long)((exp_ms - nb_now_ms()) / 1000);
    m->rules = json_incref(json_object_get(sub, "rules"));
    m->quiet = json_incref(json_object_get(sub, "quiet_hours"));
    m->payload = json_incref(json_object_get(j, "payload"));
    return m->id[0] && m->kind[0] && m->email[0];
}

nb_err nt_store_claim(nt_store *s, const char *owner, int max, long lease_ms, nt_mail *out, int *n)
{
    *n = 0;
    json_t *body = json_pack("{s:s, s:i, s:I}", "owner", owner, "limit", max, "lease_ms",
                             (json_int_t)lease_ms);
    if (!body) return NB_ERR_NOMEM;
    nb_httpc_resp resp;
    nb_err e = call(s, "POST", "/v1/mails/claim", body, &resp);
    json_decref(body);
    if (e == NB_OK) {
        json_t *j = answer(&resp, "claim");
        json_t *mails = json_object_get(j, "mails");
        size_t i;
        json_t *m;
        if (!json_is_array(mails)) e = NB_ERR_UPSTREAM;
        json_array_foreach(mails, i, m)
        {
            if (*n >= max) break;
            if (mail_from_json(m, &out[*n]))
                (*n)++;
            else
                nt_mail_release(&out[*n]);
        }
        json_decref(j);
    }
    nb_httpc_resp_release(&resp);
    return e;
}

nb_err nt_store_sent(nt_store *s, const char *owner, const char *id)
{
    json_t *body = json_pack("{s:s, s:[s]}", "owner", owner, "ids", id);
    if (!body) return NB_ERR_NOMEM;
    nb_httpc_resp resp;
    nb_err e = call(s, "POST", "/v1/mails/sent", body, &resp);
    json_decref(body);
    nb_httpc_resp_release(&resp);
    return e;
}

nb_err nt_store_failed(nt_store *s, const char *owner, const char *id, bool permanent,
                       long retry_in_ms, const char *error)
{
    json_t *body = json_pack("{s:s, s:s, s:b, s:I, s:s}", "owner", owner, "id", id, "permanent",
                             permanent, "retry_in_ms", (json_int_t)retry_in_ms, "error", error);
    if (!body) return NB_ERR_NOMEM;
    nb_httpc_resp resp;
    nb_err e = call(s, "POST", "/v1/mails/failed", body, &resp);
    json_decref(body);
    nb_httpc_resp_release(&resp);
    return e;
}

nb_err nt_store_mail_stats(nt_store *s, long *pending, double *oldest_age_s)
{
    nb_httpc_resp resp;
    nb_err e = call(s, "GET", "/v1/mails/stats", NULL, &resp);
    if (e == NB_OK) {
        json_t *j = answer(&resp, "mail stats");
        *pending = (long)json_integer_value(json_object_get(j, "pending"));
        *oldest_age_s = json_number_value(json_object_get(j, "oldest_pending_age_s"));
        if (!j) e = NB_ERR_UPSTREAM;
        json_decref(j);
    }
    nb_httpc_resp_release(&resp);
    return e;
}

bool nt_store_ready(nt_store *s)
{
    nb_httpc_resp resp;
    char url[1024];
    snprintf(url, sizeof(url), "%s/readyz", s->base);
    nb_httpc_req req = {.method = "GET",
                        .url = url,
                        .connect_timeout_ms = 500,
                        .timeout_ms = 1000,
                        .max_body = 64 * 1024};
    bool ok = nb_httpc_do(&req, &resp) == NB_OK && resp.status == 200;
    nb_httpc_resp_release(&resp);
    return ok;
}
