/* http_client.h — blocking HTTP client on libcurl, one easy handle per thread.
 *
 * Each calling thread gets its own CURL easy handle, created on first use and
 * reused (curl_easy_reset keeps its connection cache, so keep-alive works); it
 * is freed when the thread exits. Call nb_httpc_global_init() from main()
 * before any thread starts. Only http and https; redirects are not followed.
 * The response body is capped while reading (NB_ERR_TOO_LARGE past max_body).
 * The calling thread's log request id is sent as X-Request-Id. */
#ifndef NIMBUS_HTTP_CLIENT_H
#define NIMBUS_HTTP_CLIENT_H

#include <stdatomic.h>
#include <stddef.h>

#include "nimbus/buf.h"
#include "nimbus/err.h"

typedef struct nb_httpc_req {
    const char *method; /* "GET", "PUT", ... */
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" list, or NULL */
    const char *body;           /* request body or NULL */
    size_t body_len;
    long connect_timeout_ms;
    long timeout_ms; /* total */
    size_t max_body; /* response body cap */
    /* When *cancel becomes true (any thread) the call ends within about a
     * second, or at once if not started: NB_ERR_UNAVAILABLE, errmsg
     * "cancelled". NULL: never. For shutdown. */
    const atomic_bool *cancel;
} nb_httpc_req;

typedef struct nb_httpc_resp {
    long status;      /* 0 when no HTTP answer arrived */
    nb_buf body;      /* owned; release with nb_httpc_resp_release */
    nb_buf headers;   /* the answer's headers as "name\0value\0" pairs (owned) */
    char errmsg[256]; /* transport error text when status == 0 */
} nb_httpc_resp;

nb_err nb_httpc_global_init(void);
void nb_httpc_global_cleanup(void);

/* Performs the request. Returns NB_OK when an HTTP answer (any status) arrived;
 * NB_ERR_TIMEOUT, NB_ERR_UNAVAILABLE (connect failed), NB_ERR_TOO_LARGE or
 * NB_ERR_UPSTREAM otherwise, with resp->errmsg set (NB_ERR_UNAVAILABLE too when
 * cancelled). resp is initialised here. */
nb_err nb_httpc_do(const nb_httpc_req *req, nb_httpc_resp *resp);
void nb_httpc_resp_release(nb_httpc_resp *resp);
/* The value of a response header (case-insensitive name; the last one if
 * repeated), trimmed, or NULL. Borrowed: valid until the release. */
const char *nb_httpc_header(const nb_httpc_resp *resp, const char *name);

/* Percent-encodes s for a query value or path segment. Caller frees. */
char *nb_url_escape(const char *s);

#endif
