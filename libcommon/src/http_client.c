/* http_client.c — blocking HTTP client on libcurl with one reused easy
 * handle per thread (keep-alive), hard timeouts and a response size cap. */
#include "nimbus/http_client.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
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
    bool over_cap;
} sink;

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

static void copy_header_value(char *dst, size_t dstlen, const char *v, size_t n)
{
    while (n && (*v == ' ' || *v == '\t')) v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) n--;
    if (n >= dstlen) n = dstlen - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    nb_httpc_resp *r = ((sink *)arg)->resp;
    size_t len = size * n;
    static const struct {
        const char *name;
        size_t off, cap;
    } wanted[] = {
        {"content-type:", offsetof(nb_httpc_resp, content_type), sizeof(r->content_type)},
        {"retry-after:", offsetof(nb_httpc_resp, retry_after), sizeof(r->retry_after)},
        {"x-store:", offsetof(nb_httpc_resp, store), sizeof(r->store)},
    };
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        size_t nl = strlen(wanted[i].name);
        if (len > nl && strncasecmp(p, wanted[i].name, nl) == 0)
            copy_header_value((char *)r + wanted[i].off, wanted[i].cap, p + nl, len - nl);
    }
    return len;
}

nb_err nb_httpc_do(const nb_httpc_req *req, nb_httpc_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    nb_buf_init(&resp->body, req->max_body ? req->max_body : 1024 * 1024);
    CURL *h = thread_handle();
    if (!h) {
        snprintf(resp->errmsg, sizeof(resp->errmsg), "curl_easy_init failed");
        return NB_ERR_NOMEM;
    }
    sink k = {.resp = resp};
    struct curl_slist *hl = NULL;
    for (const char *const *p = req->headers; p && *p; p++) hl = curl_slist_append(hl, *p);
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
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 2000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &k);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "nimbus/0.1");
    if (hl) curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
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
    case CURLE_OPERATION_TIMEDOUT: return NB_ERR_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return NB_ERR_UNAVAILABLE;
    default: return NB_ERR_UPSTREAM;
    }
}

void nb_httpc_resp_release(nb_httpc_resp *resp)
{
    nb_buf_release(&resp->body);
}

char *nb_url_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e) return NULL;
    char *out = strdup(e);
    curl_free(e);
    return out;
}
