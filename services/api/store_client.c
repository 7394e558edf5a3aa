/* store_client.c — HTTP client of the persistence service. */
#include "store_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/http_client.h"
#include "nimbus/metrics.h"

struct store_client {
    const api_config *cfg;
    nb_counter *errors;
};

store_client *store_client_new(const api_config *cfg)
{
    store_client *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->cfg = cfg;
    s->errors = nb_counter_new("nimbus_persistence_errors_total", NULL,
                               "Calls to persistence that failed");
    return s;
}

void store_client_free(store_client *s)
{
    free(s);
}

char *store_record_path(const char *key)
{
    size_t n = strlen(key) + 16;
    char *p = malloc(n);
    if (p) snprintf(p, n, "/v1/records/%s", key);
    return p;
}

char *store_geo_path(const char *query)
{
    char *q = nb_url_escape(query);
    if (!q) return NULL;
    size_t n = strlen(q) + 16;
    char *p = malloc(n);
    if (p) snprintf(p, n, "/v1/geocode/%s", q);
    free(q);
    return p;
}

static nb_err do_call(store_client *s, const char *method, const char *path, const char *body,
                      size_t len, nb_httpc_resp *resp)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", s->cfg->persistence_url, path);
    static const char *const json_hdr[] = {"Content-Type: application/json", NULL};
    nb_httpc_req req = {.method = method, .url = url, .headers = body ? json_hdr : NULL,
                        .body = body, .body_len = len,
                        .connect_timeout_ms = s->cfg->persistence_timeout_ms / 2,
                        .timeout_ms = s->cfg->persistence_timeout_ms, .max_body = 1 << 20};
    nb_err e = nb_httpc_do(&req, resp);
    if (e) nb_counter_inc(s->errors);
    return e;
}

static nb_err status_error(long status)
{
    if (status == 404) return NB_ERR_NOT_FOUND;
    if (status == 503) return NB_ERR_UNAVAILABLE;
    if (status == 504) return NB_ERR_TIMEOUT;
    return NB_ERR_UPSTREAM;
}

/* GET path; on 200 the body goes to parse (which returns false if invalid). */
static nb_err get_json(store_client *s, const char *path,
                       bool (*parse)(const nb_httpc_resp *resp, void *out), void *out)
{
    if (!path) return NB_ERR_NOMEM;
    nb_httpc_resp resp;
    nb_err e = do_call(s, "GET", path, NULL, 0, &resp);
    if (!e && resp.status != 200) e = status_error(resp.status);
    if (!e && !parse(&resp, out)) {
        nb_counter_inc(s->errors);
        e = NB_ERR_UPSTREAM;
    }
    nb_httpc_resp_release(&resp);
    return e;
}

typedef struct record_out {
    nb_record *rec;
    char *source;
} record_out;

static bool parse_record(const nb_httpc_resp *resp, void *arg)
{
    record_out *o = arg;
    const char *why, *store = nb_httpc_header(resp, "X-Store");
    snprintf(o->source, 16, "%s", store ? store : "cache");
    return nb_record_parse(nb_buf_str(&resp->body), resp->body.len, o->rec, &why) == NB_OK;
}

static bool parse_geo(const nb_httpc_resp *resp, void *out)
{
    const char *why;
    return nb_geo_parse(nb_buf_str(&resp->body), resp->body.len, out, &why) == NB_OK;
}

nb_err store_get_record(store_client *s, const char *key, nb_record *out, char source[16])
{
    char *path = store_record_path(key);
    record_out o = {out, source};
    nb_err e = get_json(s, path, parse_record, &o);
    free(path);
    return e;
}

nb_err store_get_geo(store_client *s, const char *query, nb_geo_entry *out)
{
    char *path = store_geo_path(query);
    nb_err e = get_json(s, path, parse_geo, out);
    free(path);
    return e;
}

nb_err store_put(store_client *s, const char *path, const char *body, size_t len,
                 bool *retryable, char *errmsg, size_t errlen)
{
    nb_httpc_resp resp;
    nb_err e = do_call(s, "PUT", path, body, len, &resp);
    *retryable = true;
    if (e) {
        snprintf(errmsg, errlen, "%s", resp.errmsg);
    } else if (resp.status != 200) {
        snprintf(errmsg, errlen, "persistence answered %ld: %.200s", resp.status,
                 nb_buf_str(&resp.body));
        *retryable = resp.status >= 500 || resp.status == 429;
        e = status_error(resp.status);
    }
    nb_httpc_resp_release(&resp);
    return e;
}

bool store_ping(store_client *s)
{
    nb_httpc_resp resp;
    nb_err e = do_call(s, "GET", "/healthz", NULL, 0, &resp);
    bool ok = !e && resp.status == 200;
    nb_httpc_resp_release(&resp);
    return ok;
}
