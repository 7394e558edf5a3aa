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
 * - Access log (one JSON line per request, method and path escaped) and
 *   per-route metrics (nimbus_http_requests_total{route,code},
 *   nimbus_http_request_duration_seconds).
 * - /healthz and /metrics are built in; /readyz calls the ready callback.
 * - Open files: nb_server_start() raises the RLIMIT_NOFILE soft limit to the
 *   hard limit and caps client connections at min(10000, limit - max(256,
 *   limit / 4)), so the rest stays for backend sockets; it logs the figures
 *   ("nofile", "nofile_before", "connection_limit").
 *
 * Threads: one accept thread takes new connections from the listening
 * socket and hands them to MHD, which polls them on `threads` epoll threads.
 * A route marked NB_ROUTE_INLINE runs on the polling thread and must not
 * block. A route marked NB_ROUTE_WORKER runs on the server's pool of
 * `workers` threads (the connection is suspended meanwhile) and may block on
 * backends. A handler may also return without
 * answering and answer later, from any thread, with nb_respond*(): the
 * connection stays suspended until then (deadline: the daemon's own).
 * Every request must be answered exactly once by its handler (its owner).
 *
 * Lifetime: a request holds its own copies of its method, path, headers,
 * query, body and client address, taken when it arrives; the accessors read
 * those, never the connection. The nb_req lives until libmicrohttpd is done with it AND its
 * owner has answered, so the owner may read and answer it at any time, also
 * after the server stopped (nb_server_stop/free) and its connection is gone:
 * such a late answer is dropped. An owner that never answers leaks it.
 *
 * Shutdown, nb_server_stop(), returns within grace_ms (plus the time MHD
 * takes to close the connections):
 *   1. it stops accepting: the listening socket stops listening (connections
 *      in its backlog are reset, new ones refused);
 *   2. from then on, every request that arrives (also on an open keep-alive
 *      connection) is answered 503 + Connection: close at once
 *      ({"error":"unavailable","reason":"server shutting down",...}), never
 *      handed to a handler; every other answer queued from then on also carries
 *      Connection: close;
 *   3. it waits for handlers to answer and answers to be written, until
 *      grace_ms - min(grace_ms / 4, 1000);
 *   4. it answers 503 (Connection: close) for every request a handler still
 *      holds, which resumes every suspended connection; their handlers' later
 *      answers are dropped;
 *   5. it waits for those answers to be written, until grace_ms;
 *   6. it stops libmicrohttpd, which closes every connection.
 * nb_server_free() (which stops first) then lets the workers finish what is
 * queued — nb_req_to_worker jobs run, since they own their ctx; route handlers
 * of requests answered at step 4 are skipped — and joins them.
 * nb_req_to_worker() may be called until nb_server_free(). */
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
    int grace_ms;       /* bound of nb_server_stop (see Shutdown above) */
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
void nb_server_stop(nb_server *s);
void nb_server_free(nb_server *s);

/* Runs fn(r, ctx) on the server's worker pool: for a request a handler has
 * not answered (an inline handler that found it must block after all, or a
 * deferred answer that needs a blocking step). Any thread. */
void nb_req_to_worker(nb_req *r, nb_handler_fn fn, void *ctx);

/* --- request accessors: copies owned by r, valid as long as r ----------- */
/* The part of the path matched by a trailing "*" ("" if none). */
const char *nb_req_tail(const nb_req *r);
/* Query argument (percent-decoded, '+' read as a space) or NULL; also NULL
 * for a bare "?name" without '=' (see nb_req_query_each). */
const char *nb_req_query(const nb_req *r, const char *name);
/* Calls fn for every query argument in the order sent: value NULL for a bare
 * "?name", "" for "?name=". Both borrowed from r. */
typedef void (*nb_query_fn)(const char *name, const char *value, void *ctx);
void nb_req_query_each(const nb_req *r, nb_query_fn fn, void *ctx);
/* Request header (case-insensitive) or NULL. */
const char *nb_req_header(const nb_req *r, const char *name);
const char *nb_req_id(const nb_req *r);
/* The client's address as text ("127.0.0.1"); "" when unknown. */
const char *nb_req_peer(const nb_req *r);
const char *nb_req_body(const nb_req *r, size_t *len);

/* --- answering (exactly once per request, by its owner; any thread) ----- */
/* Adds a response header; call before nb_respond*. name/value are copied.
 * After nb_respond* the request may be gone: touch it no more. */
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

#endif
