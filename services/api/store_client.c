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
    s->errors =
        nb_counter_new("nimbus_persistence_errors_total", NULL, "Calls to persistence that failed");
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

/* One call to persistence; header: one extra "Name: value" line or NULL. */
static nb_err do_call(store_client *s, const char *method, const char *path, const char *header,
                      const char *body, size_t len, nb_httpc_resp *resp)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", s->cfg->persistence_url, path);
    const char *headers[3] = {NULL};
    int n = 0;
    if (body) headers[n++] = "Content-Type: application/json";
    if (header) headers[n++] = header;
    nb_httpc_req req = {.method = method,
                        .url = url,
                        .headers = headers,
                        .body = body,
                        .body_len = len,
                        .connect_timeout_ms = s->cfg->persistence_timeout_ms / 2,
                        .timeout_ms = s->cfg->persistence_timeout_ms,
                        .max_body = 1 << 20};
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

/* GET path (conditional when if_none_match is set); on 200 the answer goes
 * to parse (false if invalid); a 304 sets *unchanged. */
static nb_err get_json(store_client *s, const char *path, const char *if_none_match,
                       bool (*parse)(const nb_httpc_resp *resp, void *out), void *out,
                       bool *unchanged)
{
    if (!path) return NB_ERR_NOMEM;
    char inm[MEMO_ETAG_MAX + 16];
    if (if_none_match) snprintf(inm, sizeof(inm), "If-None-Match: %s", if_none_match);
    nb_httpc_resp resp;
    nb_err e = do_call(s, "GET", path, if_none_match ? inm : NULL, NULL, 0, &resp);
    if (unchanged) *unchanged = !e && resp.status == 304;
    if (!e && resp.status != 200 && resp.status != 304) e = status_error(resp.status);
    if (!e && !parse(&resp, out)) {
        nb_counter_inc(s->errors);
        e = NB_ERR_UPSTREAM;
    }
    nb_httpc_resp_release(&resp);
    return e;
}

typedef struct record_out {
    nb_record *rec;
    char *source, *etag;
} record_out;

static bool parse_record(const nb_httpc_resp *resp, void *arg)
{
    record_out *o = arg;
    const char *why, *store = nb_httpc_header(resp, "X-Store"),
                     *etag = nb_httpc_header(resp, "ETag");
    snprintf(o->source, 16, "%s", store ? store : "cache");
    snprintf(o->etag, MEMO_ETAG_MAX, "%s", etag && strlen(etag) < MEMO_ETAG_MAX ? etag : "");
    if (resp->status == 304) return true;
    return nb_record_parse(nb_buf_str(&resp->body), resp->body.len, o->rec, &why) == NB_OK;
}

static bool parse_geo(const nb_httpc_resp *resp, void *out)
{
    const char *why;
    return nb_geo_parse(nb_buf_str(&resp->body), resp->body.len, out, &why) == NB_OK;
}

nb_err store_get_record(store_client *s, const char *key, const char *if_none_match, nb_record *out,
                        char source[16], char etag[MEMO_ETAG_MAX], bool *unchanged)
{
    char *path = store_record_path(key);
    record_out o = {out, source, etag};
    nb_err e = get_json(s, path, if_none_match, parse_record, &o, unchanged);
    free(path);
    return e;
}

nb_err store_get_geo(store_client *s, const char *query, nb_geo_entry *out)
{
    char *path = store_geo_path(query);
    nb_err e = get_json(s, path, NULL, parse_geo, out, NULL);
    free(path);
    return e;
}

nb_err store_put(store_client *s, const char *path, const char *body, size_t len, bool *retryable,
                 char *errmsg, size_t errlen)
{
    nb_httpc_resp resp;
    nb_err e = do_call(s, "PUT", path, NULL, body, len, &resp);
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
    nb_err e = do_call(s, "GET", "/healthz", NULL, NULL, 0, &resp);
    bool ok = !e && resp.status == 200;
    nb_httpc_resp_release(&resp);
    return ok;
}
