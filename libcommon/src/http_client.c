/* http_client.c — blocking HTTP client on libcurl with one reused easy
 * handle per thread (keep-alive), hard timeouts and a response size cap. */
#include "nimbus/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nimbus/log.h"

static pthread_key_t handle_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void handle_free(void *p)
{
    curl_easy_cleanup(p);
}

static void key_init(void)
{
    pthread_key_create(&handle_key, handle_free);
}

nb_err nb_httpc_global_init(void)
{
    pthread_once(&key_once, key_init);
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? NB_OK : NB_ERR_INTERNAL;
}

void nb_httpc_global_cleanup(void)
{
    CURL *h = pthread_getspecific(handle_key);
    if (h) {
        curl_easy_cleanup(h);
        pthread_setspecific(handle_key, NULL);
    }
    curl_global_cleanup();
}

/* The calling thread's handle, reset for a new request (connections kept). */
static CURL *thread_handle(void)
{
    pthread_once(&key_once, key_init);
    CURL *h = pthread_getspecific(handle_key);
    if (h) {
        curl_easy_reset(h);
        return h;
    }
    h = curl_easy_init();
    if (h) pthread_setspecific(handle_key, h);
    return h;
}

typedef struct sink {
    nb_httpc_resp *resp;
    const atomic_bool *cancel;
    bool over_cap;
} sink;

/* libcurl calls this often while data flows and about once a second while
 * it waits: a non-zero answer aborts the transfer. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    const sink *k = arg;
    return atomic_load(k->cancel) ? 1 : 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    sink *k = arg;
    size_t len = size * n;
    if (nb_buf_add(&k->resp->body, p, len) != NB_OK) {
        k->over_cap = true;
        return 0; /* aborts the transfer: the cap holds for chunked bodies too */
    }
    return len;
}

/* Keeps every "Name: value" line as "name\0value\0" (a status line or the
 * blank line ends nothing: they have no colon). */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    nb_httpc_resp *r = ((sink *)arg)->resp;
    size_t len = size * n;
    const char *colon = memchr(p, ':', len), *end = p + len;
    if (!colon) return len;
    const char *v = colon + 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    nb_buf *h = &r->headers;
    if (nb_buf_add(h, p, (size_t)(colon - p)) || nb_buf_add(h, "", 1) ||
        nb_buf_add(h, v, (size_t)(end - v)) || nb_buf_add(h, "", 1))
        return 0; /* headers over their cap: give up on this answer */
    return len;
}

const char *nb_httpc_header(const nb_httpc_resp *resp, const char *name)
{
    const char *found = NULL, *p = resp->headers.data, *end = p + resp->headers.len;
    while (p && p < end) {
        const char *value = p + strlen(p) + 1;
        if (strcasecmp(p, name) == 0) found = value;
        p = value + strlen(value) + 1;
    }
    return found;
}

nb_err nb_httpc_do(const nb_httpc_req *req, nb_httpc_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    nb_buf_init(&resp->body, req->max_body ? req->max_body : 1024 * 1024);
    nb_buf_init(&resp->headers, 64 * 1024);
    CURL *h = thread_handle();
    if (!h) {
        snprintf(resp->errmsg, sizeof(resp->errmsg), "curl_easy_init failed");
        return NB_ERR_NOMEM;
    }
    sink k = {.resp = resp, .cancel = req->cancel};
    if (req->cancel && atomic_load(req->cancel)) {
        snprintf(resp->errmsg, sizeof(resp->errmsg), "cancelled");
        return NB_ERR_UNAVAILABLE;
    }
    struct curl_slist *hl = NULL;
    for (const char *const *p = req->headers; p && *p; p++)
        hl = curl_slist_append(hl, *p);
    char ridh[96];
    const char *rid = nb_log_request_id();
    if (rid) {
        snprintf(ridh, sizeof(ridh), "X-Request-Id: %s", rid);
        hl = curl_slist_append(hl, ridh);
    }
    if (req->body) hl = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip */

    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 2000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &k);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "nimbus/0.1");
    if (hl) curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (req->cancel) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &k);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    if (req->method && strcmp(req->method, "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hl);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    if (rc == CURLE_OK) return NB_OK;

    if (k.over_cap) {
        snprintf(resp->errmsg, sizeof(resp->errmsg), "response body over %zu bytes",
                 resp->body.cap);
        resp->status = 0;
        return NB_ERR_TOO_LARGE;
    }
    snprintf(resp->errmsg, sizeof(resp->errmsg), "%s", curl_easy_strerror(rc));
    resp->status = 0;
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return NB_ERR_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return NB_ERR_UNAVAILABLE;
    case CURLE_ABORTED_BY_CALLBACK:
        snprintf(resp->errmsg, sizeof(resp->errmsg), "cancelled");
        return NB_ERR_UNAVAILABLE;
    default:
        return NB_ERR_UPSTREAM;
    }
}

void nb_httpc_resp_release(nb_httpc_resp *resp)
{
    nb_buf_release(&resp->body);
    nb_buf_release(&resp->headers);
}

char *nb_url_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e) return NULL;
    char *out = strdup(e);
    curl_free(e);
    return out;
}
