/* api_client.c — front's calls to the api on libcommon's HTTP client, with
 * the caching headers kept (see api_client.h). */
#include "api_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/cache_control.h"
#include "nimbus/http_client.h"

/* A request target: the parameters of a URL the server took, escaped. */
#define TARGET_MAX (64 * 1024)

static void resp_init(fr_api_resp *r, size_t cap)
{
    memset(r, 0, sizeof(*r));
    nb_buf_init(&r->body, cap);
}

void fr_api_resp_release(fr_api_resp *resp)
{
    nb_buf_release(&resp->body);
}

static void copy_header(const nb_httpc_resp *h, const char *name, char *dst, size_t dstlen)
{
    const char *v = nb_httpc_header(h, name);
    snprintf(dst, dstlen, "%s", v ? v : "");
}

/* GETs url with the given "Name: value" headers and fills resp: the status,
 * the body (handed over) and the caching headers front passes on. */
static nb_err do_get(const char *url, const char *const *headers, long connect_ms, long total_ms,
                     const atomic_bool *cancel, fr_api_resp *resp)
{
    nb_httpc_req req = {.method = "GET",
                        .url = url,
                        .headers = headers,
                        .connect_timeout_ms = connect_ms,
                        .timeout_ms = total_ms,
                        .max_body = resp->body.cap,
                        .cancel = cancel};
    nb_httpc_resp h;
    nb_err err = nb_httpc_do(&req, &h);
    resp->status = h.status;
    snprintf(resp->errmsg, sizeof(resp->errmsg), "%s", h.errmsg);
    if (err == NB_OK) {
        nb_buf_release(&resp->body);
        resp->body = h.body; /* handed over */
        nb_buf_init(&h.body, 0);
        copy_header(&h, "Content-Type", resp->content_type, sizeof(resp->content_type));
        copy_header(&h, "Cache-Control", resp->cache_control, sizeof(resp->cache_control));
        copy_header(&h, "Age", resp->age, sizeof(resp->age));
        copy_header(&h, "ETag", resp->etag, sizeof(resp->etag));
        copy_header(&h, "Last-Modified", resp->last_modified, sizeof(resp->last_modified));
        copy_header(&h, "Cache-Status", resp->cache_status, sizeof(resp->cache_status));
        copy_header(&h, "X-Cache", resp->x_cache, sizeof(resp->x_cache));
        copy_header(&h, "X-Source", resp->x_source, sizeof(resp->x_source));
        copy_header(&h, "Retry-After", resp->retry_after, sizeof(resp->retry_after));
    }
    nb_httpc_resp_release(&h);
    return err;
}

/* Appends "&name=<escaped value>" (or "?..." first) to url. */
static nb_err add_param(nb_buf *url, bool *first, const char *name, const char *value)
{
    char *e = nb_url_escape(value);
    if (!e) return NB_ERR_NOMEM;
    nb_err err = nb_buf_addf(url, "%c%s=%s", *first ? '?' : '&', name, e);
    free(e);
    *first = false;
    return err;
}

char *fr_api_target(const fr_api_query *q)
{
    nb_buf t;
    bool first = true;
    nb_err err;

    nb_buf_init(&t, TARGET_MAX); /* past any URL the server accepts */
    err = nb_buf_adds(&t, "/v1/weather");
    if (err == NB_OK && q->city) err = add_param(&t, &first, "city", q->city);
    if (err == NB_OK && q->lat) err = add_param(&t, &first, "lat", q->lat);
    if (err == NB_OK && q->lon) err = add_param(&t, &first, "lon", q->lon);
    if (err == NB_OK && q->days) err = add_param(&t, &first, "days", q->days);
    if (err == NB_OK && q->hours) err = add_param(&t, &first, "hours", q->hours);
    if (err == NB_OK && q->units) err = add_param(&t, &first, "units", q->units);
    if (err != NB_OK) {
        nb_buf_release(&t);
        return NULL;
    }
    return nb_buf_detach(&t, NULL);
}

nb_err fr_api_get(const fr_api *api, const char *target, const char *if_none_match, bool no_cache,
                  const atomic_bool *cancel, fr_api_resp *resp)
{
    nb_buf url;
    nb_err err;

    resp_init(resp, api->max_body);
    nb_buf_init(&url, TARGET_MAX + 1024);
    if (nb_buf_addf(&url, "%s%s", api->base_url, target) != NB_OK) {
        snprintf(resp->errmsg, sizeof(resp->errmsg), "request too large");
        nb_buf_release(&url);
        return NB_ERR_TOO_LARGE;
    }
    /* Header values from clients are single-line already (MHD parsed them). */
    char inm[420];
    const char *headers[4] = {"Accept: application/json"};
    int n = 1;
    if (no_cache) headers[n++] = "Cache-Control: no-cache";
    if (if_none_match && strlen(if_none_match) < 400) {
        snprintf(inm, sizeof(inm), "If-None-Match: %s", if_none_match);
        headers[n++] = inm;
    }
    headers[n] = NULL;
    err = do_get(nb_buf_str(&url), headers, api->connect_timeout_ms, api->timeout_ms, cancel, resp);
    nb_buf_release(&url);
    return err;
}

nb_err fr_api_fetch(void *api, const char *target, const char *if_none_match, bool no_cache,
                    const atomic_bool *cancel, fr_api_resp *resp)
{
    return fr_api_get(api, target, if_none_match, no_cache, cancel, resp);
}

bool fr_api_healthy(const fr_api *api)
{
    fr_api_resp resp;
    char url[1024];
    bool ok = false;
    long total = api->timeout_ms < 1000 ? api->timeout_ms : 1000;

    resp_init(&resp, 64 * 1024);
    snprintf(url, sizeof(url), "%s/healthz", api->base_url);
    if (do_get(url, NULL, api->connect_timeout_ms < total ? api->connect_timeout_ms : total, total,
               NULL, &resp) == NB_OK)
        ok = resp.status == 200;
    fr_api_resp_release(&resp);
    return ok;
}

void fr_cache_control_parse(const char *cc, long *max_age, long *swr)
{
    *max_age = nb_cc_seconds(cc, "max-age");
    *swr = nb_cc_seconds(cc, "stale-while-revalidate");
}

bool fr_cache_control_has(const char *cc, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = cc; p && *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (strncasecmp(p, name, nl) == 0 &&
            (p[nl] == '\0' || p[nl] == ',' || p[nl] == '=' || p[nl] == ' ' || p[nl] == '\t'))
            return true;
        p = strchr(p, ',');
    }
    return false;
}
