/* http_server.h — the HTTP server every nimbus daemon runs, on libmicrohttpd.
 *
 * - Routes match a method and a path; a path pattern ending in "*" matches any
 *   rest, available as nb_req_tail() (already percent-decoded by MHD).
 * - Keep-alive: a response is queued only after the request is complete
 *   (never on the first access-handler call), so HTTP/1.1 connections persist.
 * - Request bodies are accumulated up to body_cap bytes (413 past it).
 * - X-Request-Id: taken from the request when it is 1..64 chars of
 *   [A-Za-z0-9._:-], otherwise generated; echoed in the response and set as
 *   the log request id of the thread running the handler.
 * - Access log (one JSON line per request) and per-route metrics
 *   (nimbus_http_requests_total{route,code}, nimbus_http_request_duration_seconds).
 * - /healthz and /metrics are built in; /readyz calls the ready callback.
 *
 * Threads: MHD polls on `threads` epoll threads. A route marked NB_ROUTE_INLINE
 * runs on the polling thread and must not block. A route marked NB_ROUTE_WORKER
 * runs on the server's pool of `workers` threads (the connection is suspended
 * meanwhile) and may block on backends. A handler may also return without
 * answering and answer later, from any thread, with nb_respond*(): the
 * connection stays suspended until then (deadline: the daemon's own).
 * Every request must be answered exactly once.
 *
 * Shutdown: nb_server_stop() stops accepting, waits up to grace_ms for
 * in-flight requests, answers the rest 503, then stops MHD. */
#ifndef NIMBUS_HTTP_SERVER_H
#define NIMBUS_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nimbus/buf.h"
#include "nimbus/err.h"

typedef struct nb_server nb_server;
typedef struct nb_req nb_req;

typedef enum nb_route_mode { NB_ROUTE_INLINE, NB_ROUTE_WORKER } nb_route_mode;

typedef void (*nb_handler_fn)(nb_req *req, void *ctx);

typedef struct nb_server_opts {
    const char *bind;   /* IPv4 address, e.g. "127.0.0.1" or "0.0.0.0" */
    int port;           /* 0 = any free port (see nb_server_port) */
    int threads;        /* polling threads (>= 1) */
    int workers;        /* worker threads for NB_ROUTE_WORKER (>= 1) */
    size_t body_cap;    /* max request body bytes */
    int conn_timeout_s; /* idle connection timeout */
    int grace_ms;       /* shutdown grace for in-flight requests */
    bool access_log;    /* one log line per request */
    /* /readyz: fill `out` with a JSON object describing each backend and
     * return true when ready (200) or false (503). NULL = always ready. */
    bool (*ready)(void *ctx, nb_buf *out);
    void *ready_ctx;
} nb_server_opts;

nb_server *nb_server_new(const nb_server_opts *opts);
/* route: a path, or a prefix ending in a star (e.g. "/v1/records/" + "*"). name: the
 * route label in metrics (e.g. "records").
 * Must be called before nb_server_start. */
nb_err nb_server_route(nb_server *s, const char *method, const char *path, const char *name,
                       nb_route_mode mode, nb_handler_fn fn, void *ctx);
nb_err nb_server_start(nb_server *s);
int nb_server_port(const nb_server *s);
/* Blocks the calling thread until SIGTERM or SIGINT (installs the handlers). */
void nb_server_wait_for_signal(nb_server *s);
void nb_server_stop(nb_server *s);
void nb_server_free(nb_server *s);

/* Runs fn(r, ctx) on the server's worker pool: for a request a handler has
 * not answered (an inline handler that found it must block after all, or a
 * deferred answer that needs a blocking step). Any thread. */
void nb_req_to_worker(nb_req *r, nb_handler_fn fn, void *ctx);

/* --- request accessors (valid until the request is answered) ----------- */
/* The part of the path matched by a trailing "*" ("" if none). */
const char *nb_req_tail(const nb_req *r);
/* Query argument (percent-decoded) or NULL. */
const char *nb_req_query(const nb_req *r, const char *name);
/* Request header (case-insensitive) or NULL. */
const char *nb_req_header(const nb_req *r, const char *name);
const char *nb_req_id(const nb_req *r);
/* The client's address as text ("127.0.0.1"); "" when unknown. Call from
 * the thread handling the request. */
const char *nb_req_peer(const nb_req *r);
const char *nb_req_body(const nb_req *r, size_t *len);

/* --- answering (exactly once per request; any thread) ------------------ */
/* Adds a response header; call before nb_respond*. name/value are copied. */
void nb_req_add_header(nb_req *r, const char *name, const char *value);
/* Answers with a body (copied) and content type. */
void nb_respond(nb_req *r, int status, const char *content_type, const void *body, size_t len);
/* Answers with a body that is handed over (free()d by the server). */
void nb_respond_take(nb_req *r, int status, const char *content_type, char *body, size_t len);
/* JSON answer from a jansson value; steals the reference. */
struct json_t;
void nb_respond_json(nb_req *r, int status, struct json_t *doc);
/* The one error body: {"error":"<code>","reason":"<reason>","request_id":"..."}
 * with the status from nb_err_http_status(). */
void nb_respond_error(nb_req *r, nb_err e, const char *reason_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The error body for e, with the status nb_err_http_status(e->code) and a
 * Retry-After header when e->retry_after_s > 0. */
void nb_respond_err(nb_req *r, const nb_error *e);
/* Same, with an explicit status (e.g. 502 vs 503 choices made by the caller). */
void nb_respond_error_status(nb_req *r, int status, nb_err e, const char *reason_fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
