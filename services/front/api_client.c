/* api_client.c — libcurl client for the api with response headers kept
 * (see api_client.h). */
#include "api_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nimbus/log.h"

/* --- one easy handle per thread ------------------------------------------ */

static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;

static void handle_free(void *h)
{
    curl_easy_cleanup(h);
}

static void handle_key_create(void)
{
    pthread_key_create(&handle_key, handle_free);
}

static CURL *thread_handle(void)
{
    pthread_once(&handle_once, handle_key_create);
    CURL *h = pthread_getspecific(handle_key);
    if (h) {
        curl_easy_reset(h); /* keeps the connection cache: keep-alive to the api */
        return h;
    }
    h = curl_easy_init();
    if (h && pthread_setspecific(handle_key, h) != 0) {
        curl_easy_cleanup(h);
        h = NULL;
    }
    return h;
}

/* --- callbacks ----------------------------------------------------------- */

typedef struct xfer {
    fr_api_resp *resp;
    bool too_large;
} xfer;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = size * n;
    if (nb_buf_add(&x->resp->body, p, len) != NB_OK) {
        x->too_large = true;
        return 0; /* aborts the transfer: chunked bodies are capped here */
    }
    return len;
}

/* Copies a header value (trimmed) into dst when the line is "name: value". */
static bool take_header(const char *line, size_t len, const char *name, char *dst, size_t dstlen)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return false;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    size_t vl = (size_t)(end - v);
    if (vl >= dstlen)
        vl = dstlen - 1;
    memcpy(dst, v, vl);
    dst[vl] = '\0';
    return true;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    fr_api_resp *r = ((xfer *)arg)->resp;
    size_t len = size * n;
    struct {
        const char *name;
        char *dst;
        size_t dstlen;
    } wanted[] = {
        {"Content-Type", r->content_type, sizeof(r->content_type)},
        {"Cache-Control", r->cache_control, sizeof(r->cache_control)},
        {"Age", r->age, sizeof(r->age)},
        {"ETag", r->etag, sizeof(r->etag)},
        {"Last-Modified", r->last_modified, sizeof(r->last_modified)},
        {"Cache-Status", r->cache_status, sizeof(r->cache_status)},
        {"X-Cache", r->x_cache, sizeof(r->x_cache)},
        {"X-Source", r->x_source, sizeof(r->x_source)},
        {"Retry-After", r->retry_after, sizeof(r->retry_after)},
    };
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
        if (take_header(p, len, wanted[i].name, wanted[i].dst, wanted[i].dstlen))
            break;
    return len;
}

/* --- requests ------------------------------------------------------------ */

static void resp_init(fr_api_resp *r, size_t cap)
{
    memset(r, 0, sizeof(*r));
    nb_buf_init(&r->body, cap);
}

void fr_api_resp_release(fr_api_resp *resp)
{
    nb_buf_release(&resp->body);
}

/* Performs a GET of url; fills resp. */
static nb_err do_get(const char *url, struct curl_slist *headers, long connect_ms, long total_ms,
                     fr_api_resp *resp)
{
    xfer x = {.resp = resp};
    CURL *h = thread_handle();
    if (!h) {
        snprintf(resp->errmsg, sizeof(resp->errmsg), "curl_easy_init failed");
        return NB_ERR_NOMEM;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "nimbus-front/0.1");

    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        return NB_OK;
    }
    resp->status = 0;
    snprintf(resp->errmsg, sizeof(resp->errmsg), "%s", curl_easy_strerror(rc));
    if (x.too_large)
        return NB_ERR_TOO_LARGE;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return NB_ERR_TIMEOUT;
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
        return NB_ERR_UNAVAILABLE;
    return NB_ERR_UPSTREAM;
}

/* Appends "&name=<escaped value>" (or "?..." first) to url. */
static nb_err add_param(nb_buf *url, bool *first, const char *name, const char *value)
{
    char *e = curl_easy_escape(NULL, value, 0);
    if (!e)
        return NB_ERR_NOMEM;
    nb_err err = nb_buf_addf(url, "%c%s=%s", *first ? '?' : '&', name, e);
    curl_free(e);
    *first = false;
    return err;
}

static struct curl_slist *add_header(struct curl_slist *list, bool *ok, const char *name,
                                     const char *value)
{
    char line[512];
    if (!*ok)
        return list;
    snprintf(line, sizeof(line), "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(list, line);
    if (!l)
        *ok = false;
    return l ? l : list;
}

nb_err fr_api_weather(const fr_api *api, const fr_api_query *q, fr_api_resp *resp)
{
    nb_buf url;
    struct curl_slist *headers = NULL;
    bool first = true, ok = true;
    nb_err err = NB_OK;
    const char *rid = nb_log_request_id();

    resp_init(resp, api->max_body);
    nb_buf_init(&url, 4096);
    err = nb_buf_addf(&url, "%s/v1/weather", api->base_url);
    if (err == NB_OK && q->city)
        err = add_param(&url, &first, "city", q->city);
    if (err == NB_OK && q->lat)
        err = add_param(&url, &first, "lat", q->lat);
    if (err == NB_OK && q->lon)
        err = add_param(&url, &first, "lon", q->lon);
    if (err == NB_OK && q->days)
        err = add_param(&url, &first, "days", q->days);
    if (err != NB_OK) {
        snprintf(resp->errmsg, sizeof(resp->errmsg), "request too large");
        goto out_free_url;
    }

    headers = add_header(headers, &ok, "Accept", "application/json");
    if (rid)
        headers = add_header(headers, &ok, "X-Request-Id", rid);
    if (q->no_cache)
        headers = add_header(headers, &ok, "Cache-Control", "no-cache");
    /* Header values from clients are single-line already (MHD parsed them). */
    if (q->if_none_match && strlen(q->if_none_match) < 400)
        headers = add_header(headers, &ok, "If-None-Match", q->if_none_match);
    if (!ok) {
        err = NB_ERR_NOMEM;
        snprintf(resp->errmsg, sizeof(resp->errmsg), "out of memory");
        goto out_free_headers;
    }
    err = do_get(nb_buf_str(&url), headers, api->connect_timeout_ms, api->timeout_ms, resp);

out_free_headers:
    curl_slist_free_all(headers);
out_free_url:
    nb_buf_release(&url);
    return err;
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
               &resp) == NB_OK)
        ok = resp.status == 200;
    fr_api_resp_release(&resp);
    return ok;
}

/* Value of "name=<digits>" in a Cache-Control list, or -1. */
static long directive(const char *cc, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = cc; p && *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            if (*v == '"')
                v++;
            if (isdigit((unsigned char)*v))
                return strtol(v, NULL, 10);
            return -1;
        }
        p = strchr(p, ',');
    }
    return -1;
}

void fr_cache_control_parse(const char *cc, long *max_age, long *swr)
{
    *max_age = directive(cc, "max-age");
    *swr = directive(cc, "stale-while-revalidate");
}
