/* http_server.c — the nimbus HTTP server on libmicrohttpd.
 *
 * Request life cycle (see http_server.h for the contract):
 *   1st access call   : allocate nb_req with copies of the method, path,
 *                       headers and query (MHD's reference), set *con_cls,
 *                       queue nothing (keep-alive).
 *   upload calls      : accumulate the body up to body_cap (413, early, past it).
 *   final call        : route. Under s->lock: refused (503, Connection: close)
 *                       once stopping began, else given to its owner (the
 *                       owner's reference): INLINE handlers run here, WORKER
 *                       ones are queued to the pool with the connection suspended.
 *   nb_respond*()     : stores the answer, drops the owner's reference, resumes
 *                       the connection if suspended. Never touches the server.
 *   next access call  : queues the stored answer.
 *   completed callback: access log, metrics, drops MHD's reference.
 * A request is freed when both references are gone: MHD is done with it and
 * its owner has answered. A stop answers 503 for owners that are too slow
 * (forced); their late answer only drops the owner's reference.
 *
 * Accepting: our own thread accepts on our own listening socket and hands
 * each connection to MHD (MHD_add_connection; MHD polls no listening
 * socket). Stopping to accept is then ours to do at once and safely:
 * MHD_quiesce_daemon() races with the polling threads of a thread pool in
 * 0.9.75 and can abort the process ("Failed to remove listen FD from epoll
 * set").
 *
 * Locking: s->lock guards the live list and the stop flags (the worker queue
 * is a libcommon nb_queue with its own lock, one slot per connection);
 * r->lock guards r's state, references and answer. Order: s->lock, then
 * r->lock, then MHD's own locks (MHD_suspend/resume_connection). */
#define _GNU_SOURCE /* accept4 */
#include "nimbus/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"
#include "nimbus/queue.h"

#define CONN_LIMIT_MAX 10000 /* client connections, whatever the open-file limit */
#define FD_RESERVE_MIN 256   /* descriptors kept for backends, files, MHD itself */
#define FLUSH_MS_MAX 1000    /* part of the grace kept for writing the 503s out */

enum req_state { RS_NEW, RS_HANDLING, RS_RESPONDED, RS_QUEUED };

typedef struct hdr {
    struct hdr *next;
    char *name, *value;
} hdr;

typedef struct route {
    char method[8];
    char *path;
    size_t plen;
    bool wildcard;
    char *name;
    nb_route_mode mode;
    nb_handler_fn fn;
    void *ctx;
    nb_counter *by_class[6]; /* index status/100 */
    nb_histogram *latency;
} route;

/* A header or query argument, copied at the first access call. */
typedef struct field {
    const char *name, *value; /* value NULL: a query argument without '=' */
    enum MHD_ValueKind kind;
} field;

struct nb_req {
    nb_server *srv;              /* valid until nb_server_free */
    struct MHD_Connection *conn; /* valid while MHD holds the request */
    const route *rt;
    const char *method, *path, *tail; /* our copies, like fields */
    field *fields;                    /* nfields, then their strings: one allocation with r */
    int nfields;
    nb_buf body;
    bool too_large;
    size_t discarded;
    char rid[65];
    char peer[INET6_ADDRSTRLEN]; /* the client's address, "" when unknown */
    double start_s;

    pthread_mutex_t lock;
    enum req_state state;
    bool mhd;       /* MHD's reference: until the completed callback */
    bool owner;     /* the owner's reference: from dispatch until it answers */
    bool suspended; /* the connection waits for the owner's answer */
    bool close;     /* answer with Connection: close */
    int status;
    char ctype[96];
    char *resp_body;
    size_t resp_len;
    hdr *headers;

    struct nb_req *live_prev, *live_next; /* s->live list */
    nb_handler_fn run_fn;                 /* nb_req_to_worker: what the worker runs */
    void *run_ctx;
};

struct nb_server {
    nb_server_opts o;
    struct MHD_Daemon *d;
    route *routes;
    int nroutes, aroutes;
    route builtin_health, builtin_ready, builtin_metrics, builtin_none;

    pthread_mutex_t lock;
    pthread_cond_t drained; /* a request completed while a stop waits for them */
    bool draining;
    nb_req *live;         /* requests MHD holds */
    nb_queue work;        /* requests handed to the workers (each at most once at a time) */
    atomic_bool stopping; /* set under lock; requests dispatched after it are refused */
    pthread_t *workers;
    int nworkers;

    int lsock; /* our listening socket; the accept thread hands connections to MHD */
    int port;
    pthread_t acceptor;
    bool accepting;
    atomic_bool accept_stop;
};

/* ---- routes ---------------------------------------------------------- */

static void route_metrics_init(route *rt)
{
    char labels[160];
    static const char *const classes[] = {"1xx", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 1; i < 6; i++) {
        snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%s\"", rt->name, classes[i]);
        rt->by_class[i] = nb_counter_new("nimbus_http_requests_total", labels,
                                         "HTTP requests answered, by route and status class");
    }
    snprintf(labels, sizeof(labels), "route=\"%s\"", rt->name);
    rt->latency = nb_histogram_new("nimbus_http_request_duration_seconds", labels,
                                   "Time from request arrival to answer, by route");
}

static void route_set(route *rt, const char *method, const char *path, const char *name,
                      nb_route_mode mode, nb_handler_fn fn, void *ctx)
{
    memset(rt, 0, sizeof(*rt));
    snprintf(rt->method, sizeof(rt->method), "%s", method);
    size_t n = strlen(path);
    rt->wildcard = n > 0 && path[n - 1] == '*';
    rt->path = strndup(path, rt->wildcard ? n - 1 : n);
    rt->plen = strlen(rt->path);
    rt->name = strdup(name);
    rt->mode = mode;
    rt->fn = fn;
    rt->ctx = ctx;
    route_metrics_init(rt);
}

static bool route_path_matches(const route *rt, const char *path)
{
    if (rt->wildcard) return strncmp(path, rt->path, rt->plen) == 0;
    return strcmp(path, rt->path) == 0;
}

static bool method_matches(const char *want, const char *got)
{
    return strcmp(want, got) == 0 || (strcmp(want, "GET") == 0 && strcmp(got, "HEAD") == 0);
}

/* Finds the route; *path_known tells a 405 from a 404 when NULL is returned. */
static const route *route_find(const nb_server *s, const char *method, const char *path,
                               bool *path_known)
{
    *path_known = false;
    const route *builtin[] = {&s->builtin_health, &s->builtin_ready, &s->builtin_metrics};
    for (int i = 0; i < 3; i++) {
        if (route_path_matches(builtin[i], path)) {
            *path_known = true;
            if (method_matches(builtin[i]->method, method)) return builtin[i];
        }
    }
    for (int i = 0; i < s->nroutes; i++) {
        if (!route_path_matches(&s->routes[i], path)) continue;
        *path_known = true;
        if (method_matches(s->routes[i].method, method)) return &s->routes[i];
    }
    return NULL;
}

/* ---- request ids ----------------------------------------------------- */

static bool rid_valid(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 64) return false;
    for (const char *p = v; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

static void rid_generate(char out[65])
{
    static _Thread_local uint64_t st[2];
    if (!st[0] && !st[1]) {
        if (getrandom(st, sizeof(st), 0) != sizeof(st)) {
            st[0] = (uint64_t)nb_mono_ms() ^ (uint64_t)(uintptr_t)out;
            st[1] = 0x9e3779b97f4a7c15ULL;
        }
    }
    uint64_t v[2];
    for (int i = 0; i < 2; i++) { /* xorshift128+ */
        uint64_t x = st[0], y = st[1];
        st[0] = y;
        x ^= x << 23;
        st[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
        v[i] = st[1] + y;
    }
    snprintf(out, 65, "%016llx%016llx", (unsigned long long)v[0], (unsigned long long)v[1]);
}

/* ---- copies of the request ------------------------------------------- */

typedef struct copy_ctx {
    size_t bytes; /* pass 1: string bytes needed; pass 2: bytes left */
    int n;        /* pass 1: fields seen; pass 2: fields left */
    field *f;     /* pass 2: where the next field and string go */
    char *p;
} copy_ctx;

static enum MHD_Result count_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    copy_ctx *c = cls;
    c->n++;
    c->bytes += key_size + 1 + (value ? value_size + 1 : 0);
    return MHD_YES;
}

static char *copy_str(copy_ctx *c, const char *s, size_t n)
{
    char *d = c->p;
    memcpy(d, s, n);
    d[n] = '\0';
    c->p += n + 1;
    return d;
}

static enum MHD_Result copy_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
    copy_ctx *c = cls;
    size_t need = key_size + 1 + (value ? value_size + 1 : 0);
    if (c->n == 0 || need > c->bytes) return MHD_NO; /* never past pass 1's count */
    c->n--;
    c->bytes -= need;
    c->f->kind = kind;
    c->f->name = copy_str(c, key, key_size);
    c->f->value = value ? copy_str(c, value, value_size) : NULL;
    c->f++;
    return MHD_YES;
}

/* A new request holding its own copies of what handlers may read (method,
 * path, headers, query, the client's address), so that nothing it serves points into MHD's memory:
 * a late reader after a stop reads these, never a freed connection. */
static nb_req *req_new(struct MHD_Connection *conn, const char *method, const char *url)
{
    const enum MHD_ValueKind kinds = MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND;
    copy_ctx c = {0};
    MHD_get_connection_values_n(conn, kinds, count_field, &c);
    size_t mlen = strlen(method), ulen = strlen(url);
    size_t size = sizeof(nb_req) + (size_t)c.n * sizeof(field) + c.bytes + mlen + ulen + 2;
    nb_req *r = calloc(1, size);
    if (!r) return NULL;
    r->fields = (field *)(r + 1);
    c.f = r->fields;
    c.p = (char *)(r->fields + c.n);
    r->method = copy_str(&c, method, mlen);
    r->path = copy_str(&c, url, ulen);
    MHD_get_connection_values_n(conn, kinds, copy_field, &c);
    r->nfields = (int)(c.f - r->fields);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->peer, sizeof(r->peer));
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->peer,
                  sizeof(r->peer));
    return r;
}

static const char *field_find(const nb_req *r, enum MHD_ValueKind kind, const char *name)
{
    for (int i = 0; i < r->nfields; i++) /* first match, case-insensitive, as MHD does */
        if (r->fields[i].kind == kind && strcasecmp(r->fields[i].name, name) == 0)
            return r->fields[i].value;
    return NULL;
}

/* ---- live list and workers ------------------------------------------ */

static void live_add(nb_server *s, nb_req *r)
{
    pthread_mutex_lock(&s->lock);
    r->live_next = s->live;
    if (s->live) s->live->live_prev = r;
    s->live = r;
    pthread_mutex_unlock(&s->lock);
}

static void live_remove(nb_server *s, nb_req *r)
{
    pthread_mutex_lock(&s->lock);
    if (r->live_prev)
        r->live_prev->live_next = r->live_next;
    else
        s->live = r->live_next;
    if (r->live_next) r->live_next->live_prev = r->live_prev;
    if (s->draining) pthread_cond_signal(&s->drained); /* only a stop waits here */
    pthread_mutex_unlock(&s->lock);
}

static void hdrs_free(hdr *h)
{
    while (h) {
        hdr *n = h->next;
        free(h->name);
        free(h->value);
        free(h);
        h = n;
    }
}

static void req_free(nb_req *r)
{
    nb_buf_release(&r->body);
    free(r->resp_body);
    hdrs_free(r->headers);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Drops the owner's reference (r->lock held); true when r must be freed now. */
static bool owner_release(nb_req *r)
{
    r->owner = false;
    return !r->mhd;
}

static void *worker_main(void *arg)
{
    nb_server *s = arg;
    nb_req *r;
    while ((r = nb_queue_pop(&s->work, -1))) { /* NULL: closed and drained */
        if (!r->run_fn) { /* a route handler: skipped if a stop answered already */
            pthread_mutex_lock(&r->lock);
            bool answered = r->state != RS_HANDLING;
            bool last = answered && owner_release(r);
            pthread_mutex_unlock(&r->lock);
            if (last) req_free(r);
            if (answered) continue;
        }
        /* nb_req_to_worker jobs always run: fn owns its ctx (a late answer is dropped). */
        nb_log_set_request_id(r->rid);
        if (r->run_fn)
            r->run_fn(r, r->run_ctx);
        else
            r->rt->fn(r, r->rt->ctx);
        nb_log_set_request_id(NULL);
    }
    return NULL;
}

/* The queue holds one slot per connection the server may hold, and a request
 * is queued at most once at a time, so a push fails only after the workers
 * were told to exit (a caller's bug: nothing would run the job). */
static void worker_enqueue(nb_server *s, nb_req *r)
{
    if (!nb_queue_push(&s->work, r))
        nb_error("request %s handed to the workers after they stopped: dropped", r->rid);
}

void nb_req_to_worker(nb_req *r, nb_handler_fn fn, void *ctx)
{
    r->run_fn = fn;
    r->run_ctx = ctx;
    worker_enqueue(r->srv, r);
}

/* ---- answering ------------------------------------------------------- */

void nb_req_add_header(nb_req *r, const char *name, const char *value)
{
    hdr *h = malloc(sizeof(*h));
    if (!h) return;
    h->name = strdup(name);
    h->value = strdup(value);
    h->next = NULL;
    if (!h->name || !h->value) {
        hdrs_free(h);
        return;
    }
    pthread_mutex_lock(&r->lock);
    h->next = r->headers;
    r->headers = h;
    pthread_mutex_unlock(&r->lock);
}

/* Stores an answer and wakes the connection (r->lock held; r->state is
 * RS_NEW or RS_HANDLING, so MHD still holds r). */
static void store_answer(nb_req *r, int status, const char *content_type, char *body, size_t len)
{
    r->status = status;
    snprintf(r->ctype, sizeof(r->ctype), "%s", content_type ? content_type : "text/plain");
    free(r->resp_body);
    r->resp_body = body;
    r->resp_len = body ? len : 0;
    r->state = RS_RESPONDED;
    if (r->suspended) {
        r->suspended = false;
        MHD_resume_connection(r->conn);
    }
}

void nb_respond_take(nb_req *r, int status, const char *content_type, char *body, size_t len)
{
    pthread_mutex_lock(&r->lock);
    if (!r->owner) { /* answered twice: a bug in the caller (r is MHD's still) */
        pthread_mutex_unlock(&r->lock);
        nb_error("request %s answered twice; the second answer (%d) is dropped", r->rid, status);
        free(body);
        return;
    }
    if (r->state == RS_HANDLING)
        store_answer(r, status, content_type, body, len);
    else
        free(body); /* a stop answered 503 meanwhile */
    bool last = owner_release(r);
    pthread_mutex_unlock(&r->lock);
    if (last) req_free(r);
}

void nb_respond(nb_req *r, int status, const char *content_type, const void *body, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy) {
        if (len) memcpy(copy, body, len);
        copy[len] = '\0';
    } else {
        status = 500;
        len = 0;
    }
    nb_respond_take(r, status, content_type, copy, copy ? len : 0);
}

void nb_respond_json(nb_req *r, int status, json_t *doc)
{
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!s) {
        nb_respond_error(r, NB_ERR_NOMEM, "could not render the answer");
        return;
    }
    nb_respond_take(r, status, "application/json", s, strlen(s));
}

/* The one error body; never NULL. */
static char *error_body(const nb_req *r, nb_err e, const char *fmt, va_list ap, size_t *len)
{
    char reason[512];
    vsnprintf(reason, sizeof(reason), fmt, ap);
    json_t *o = json_pack("{s:s, s:s, s:s}", "error", nb_err_code(e), "reason", reason,
                          "request_id", r->rid);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) { /* the reason holds text that is not UTF-8 (user input): escape it */
        char esc[sizeof(reason)];
        nb_log_escape(esc, sizeof(esc), reason);
        size_t n = strlen(esc) + 128;
        s = malloc(n);
        if (s)
            snprintf(s, n, "{\"error\":\"%s\",\"reason\":\"%s\",\"request_id\":\"%s\"}",
                     nb_err_code(e), esc, r->rid);
    }
    *len = s ? strlen(s) : 0;
    return s;
}

static void respond_error_v(nb_req *r, int status, nb_err e, const char *fmt, va_list ap)
{
    size_t len;
    char *body = error_body(r, e, fmt, ap, &len);
    nb_respond_take(r, status, "application/json", body, len);
}

void nb_respond_error(nb_req *r, nb_err e, const char *reason_fmt, ...)
{
    va_list ap;
    va_start(ap, reason_fmt);
    respond_error_v(r, nb_err_http_status(e), e, reason_fmt, ap);
    va_end(ap);
}

void nb_respond_err(nb_req *r, const nb_error *e)
{
    if (e->retry_after_s > 0) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", e->retry_after_s);
        nb_req_add_header(r, "Retry-After", ra);
    }
    nb_respond_error(r, e->code, "%s", e->msg);
}

/* The server's own error answer (404, 405, 413, refusals, a stop's 503):
 * no owner is involved. Ignored when r has its answer already. */
static void server_error(nb_req *r, int status, nb_err e, bool close, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void server_error(nb_req *r, int status, nb_err e, bool close, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t len;
    char *body = error_body(r, e, fmt, ap, &len);
    va_end(ap);
    pthread_mutex_lock(&r->lock);
    if (r->state == RS_NEW || r->state == RS_HANDLING) {
        r->close = r->close || close;
        store_answer(r, status, "application/json", body, len);
        body = NULL;
    }
    pthread_mutex_unlock(&r->lock);
    free(body);
}

/* Queues r's stored answer on its connection (polling thread, in an access call). */
static enum MHD_Result queue_answer(nb_server *s, nb_req *r)
{
    pthread_mutex_lock(&r->lock);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->resp_len, r->resp_body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        pthread_mutex_unlock(&r->lock);
        return MHD_NO;
    }
    r->resp_body = NULL; /* MHD owns it now */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
    MHD_add_response_header(resp, "X-Request-Id", r->rid);
    for (hdr *h = r->headers; h; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
    /* Stopping: every answer ends its connection, so clients go elsewhere. */
    if (r->close || atomic_load(&s->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    r->state = RS_QUEUED;
    int status = r->status;
    pthread_mutex_unlock(&r->lock);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- built-in routes ------------------------------------------------- */

static void handle_health(nb_req *r, void *ctx)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    nb_respond(r, 200, "application/json", ok, sizeof(ok) - 1);
}

static void handle_ready(nb_req *r, void *ctx)
{
    nb_server *s = ctx;
    if (!s->o.ready) {
        static const char ok[] = "{\"ready\":true}";
        nb_respond(r, 200, "application/json", ok, sizeof(ok) - 1);
        return;
    }
    nb_buf b;
    nb_buf_init(&b, 64 * 1024);
    bool ready = s->o.ready(s->o.ready_ctx, &b);
    size_t len;
    char *body = nb_buf_detach(&b, &len);
    nb_respond_take(r, ready ? 200 : 503, "application/json", body, len);
}

static void handle_metrics(nb_req *r, void *ctx)
{
    nb_buf b;
    nb_buf_init(&b, 8 * 1024 * 1024);
    nb_err e = nb_metrics_render(&b);
    if (e) {
        nb_buf_release(&b);
        nb_respond_error(r, e, "could not render metrics");
        return;
    }
    size_t len;
    char *body = nb_buf_detach(&b, &len);
    nb_respond_take(r, 200, "text/plain; version=0.0.4", body, len);
}

/* ---- MHD callbacks --------------------------------------------------- */

static void dispatch(nb_server *s, nb_req *r)
{
    bool path_known;
    const route *rt = route_find(s, r->method, r->path, &path_known);
    if (!rt) {
        if (path_known)
            server_error(r, 405, NB_ERR_METHOD, false, "method not allowed here");
        else
            server_error(r, 404, NB_ERR_NOT_FOUND, false, "no route for %s", r->path);
        return;
    }
    r->rt = rt;
    r->tail = rt->wildcard ? r->path + rt->plen : "";
    /* The stop flag and the hand-over under one lock: a stop either sees
     * this request in its owner's hands (and answers it 503 if needed) or
     * this request sees the stop. */
    pthread_mutex_lock(&s->lock);
    bool refused = atomic_load(&s->stopping);
    if (!refused) {
        pthread_mutex_lock(&r->lock);
        r->state = RS_HANDLING;
        r->owner = true;
        pthread_mutex_unlock(&r->lock);
    }
    pthread_mutex_unlock(&s->lock);
    if (refused) {
        server_error(r, 503, NB_ERR_UNAVAILABLE, true, "server shutting down");
        return;
    }
    if (rt->mode == NB_ROUTE_WORKER) {
        pthread_mutex_lock(&r->lock);
        bool handed = r->state == RS_HANDLING; /* else a stop answered it meanwhile */
        if (handed) {
            r->suspended = true;
            MHD_suspend_connection(r->conn);
        } else {
            owner_release(r); /* never run: MHD holds r still */
        }
        pthread_mutex_unlock(&r->lock);
        if (handed) worker_enqueue(s, r);
        return;
    }
    nb_log_set_request_id(r->rid);
    rt->fn(r, rt->ctx);
    nb_log_set_request_id(NULL);
    pthread_mutex_lock(&r->lock);
    if (r->state == RS_HANDLING) { /* deferred: answered later from another thread */
        r->suspended = true;
        MHD_suspend_connection(r->conn);
    }
    pthread_mutex_unlock(&r->lock);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    nb_server *s = cls;
    nb_req *r = *con_cls;
    if (!r) {
        /* First call: set up only. Queuing here would make MHD close the
         * connection after the answer (pitfalls: keep-alive). */
        r = req_new(conn, method, url);
        if (!r) return MHD_NO;
        r->srv = s;
        r->conn = conn;
        r->mhd = true;
        r->tail = "";
        r->start_s = nb_mono_s();
        r->rt = &s->builtin_none;
        nb_buf_init(&r->body, s->o.body_cap);
        pthread_mutex_init(&r->lock, NULL);
        const char *rid = field_find(r, MHD_HEADER_KIND, "X-Request-Id");
        if (rid && rid_valid(rid))
            snprintf(r->rid, sizeof(r->rid), "%s", rid);
        else
            rid_generate(r->rid);
        live_add(s, r);
        *con_cls = r;
        const char *cl = field_find(r, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->o.body_cap) {
            /* Declared too large: answer before reading it (MHD closes after). */
            server_error(r, 413, NB_ERR_TOO_LARGE, true, "request body over %zu bytes",
                         s->o.body_cap);
            return queue_answer(s, r);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (r->too_large || nb_buf_add(&r->body, upload_data, *upload_data_size)) {
            /* A chunked body past the cap: drop it, answer 413 at its end,
             * and give up on the connection if the sender goes on and on. */
            r->too_large = true;
            r->discarded += *upload_data_size;
            if (r->discarded > 16 * s->o.body_cap + 65536) return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&r->lock);
    enum req_state st = r->state;
    pthread_mutex_unlock(&r->lock);
    if (st == RS_NEW) {
        if (r->too_large)
            server_error(r, 413, NB_ERR_TOO_LARGE, false, "request body over %zu bytes",
                         s->o.body_cap);
        else
            dispatch(s, r);
        pthread_mutex_lock(&r->lock);
        st = r->state;
        pthread_mutex_unlock(&r->lock);
    }
    return st == RS_RESPONDED ? queue_answer(s, r) : MHD_YES;
}

static void access_log(const nb_req *r, const route *rt, int status, double secs, bool aborted)
{
    char method[64], path[256], name[64], fields[512];
    nb_log_escape(method, sizeof(method), r->method);
    nb_log_escape(path, sizeof(path), r->path);
    nb_log_escape(name, sizeof(name), rt->name);
    snprintf(fields, sizeof(fields),
             "\"method\":\"%s\",\"path\":\"%s\",\"route\":\"%s\",\"status\":%d,\"ms\":%.3f%s",
             method, path, name, status, secs * 1000, aborted ? ",\"aborted\":true" : "");
    nb_log_set_request_id(r->rid);
    nb_log_fields(NB_LOG_INFO, fields, "access");
    nb_log_set_request_id(NULL);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    nb_server *s = cls;
    nb_req *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    double secs = nb_mono_s() - r->start_s;
    pthread_mutex_lock(&r->lock);
    int status = r->state == RS_QUEUED ? r->status : 0;
    pthread_mutex_unlock(&r->lock);
    const route *rt = r->rt;
    if (status >= 100 && status < 600) nb_counter_inc(rt->by_class[status / 100]);
    nb_histogram_observe(rt->latency, secs);
    if (s->o.access_log)
        access_log(r, rt, status, secs, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
    live_remove(s, r);
    /* MHD's reference goes last: once dropped, the owner may free r. */
    pthread_mutex_lock(&r->lock);
    r->mhd = false;
    r->conn = NULL;
    bool last = !r->owner;
    pthread_mutex_unlock(&r->lock);
    if (last) req_free(r);
}

/* ---- server ---------------------------------------------------------- */

nb_server *nb_server_new(const nb_server_opts *opts)
{
    nb_server *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->o = *opts;
    if (s->o.threads < 1) s->o.threads = 1;
    if (s->o.workers < 1) s->o.workers = 1;
    if (s->o.grace_ms < 0) s->o.grace_ms = 0;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->drained, NULL);
    atomic_init(&s->stopping, false);
    atomic_init(&s->accept_stop, false);
    s->lsock = -1;
    route_set(&s->builtin_health, "GET", "/healthz", "healthz", NB_ROUTE_INLINE, handle_health, s);
    route_set(&s->builtin_ready, "GET", "/readyz", "readyz", NB_ROUTE_WORKER, handle_ready, s);
    route_set(&s->builtin_metrics, "GET", "/metrics", "metrics", NB_ROUTE_INLINE, handle_metrics,
              s);
    route_set(&s->builtin_none, "-", "/", "unrouted", NB_ROUTE_INLINE, NULL, NULL);
    return s;
}

nb_err nb_server_route(nb_server *s, const char *method, const char *path, const char *name,
                       nb_route_mode mode, nb_handler_fn fn, void *ctx)
{
    if (s->nroutes == s->aroutes) {
        int n = s->aroutes ? s->aroutes * 2 : 8;
        route *p = realloc(s->routes, (size_t)n * sizeof(*p));
        if (!p) return NB_ERR_NOMEM;
        s->routes = p;
        s->aroutes = n;
    }
    route_set(&s->routes[s->nroutes++], method, path, name, mode, fn, ctx);
    return NB_OK;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    nb_warn("libmicrohttpd: %s", msg);
}

/* The most descriptors the kernel lets a process have (the hard limit may say "infinity"). */
static rlim_t nofile_ceiling(void)
{
    unsigned long v = 0;
    FILE *f = fopen("/proc/sys/fs/nr_open", "r");
    if (f) {
        if (fscanf(f, "%lu", &v) != 1) v = 0;
        fclose(f);
    }
    return v ? (rlim_t)v : 1048576;
}

/* Raises the open-file soft limit to the hard limit and returns how many
 * client connections MHD may hold: below that limit, with a quarter of it
 * (at least FD_RESERVE_MIN) kept for backend sockets, files and MHD itself,
 * so slow clients can never take the descriptors that answering needs. */
static unsigned open_files_setup(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = rl.rlim_max = 1024;
    rlim_t before = rl.rlim_cur;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = rl;
        want.rlim_cur = rl.rlim_max == RLIM_INFINITY ? nofile_ceiling() : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl.rlim_cur = want.rlim_cur;
        else
            nb_warn("could not raise the open-file limit from %llu to %llu: %s",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)want.rlim_cur,
                    strerror(errno));
    }
    rlim_t nofile = rl.rlim_cur == RLIM_INFINITY ? nofile_ceiling() : rl.rlim_cur;
    rlim_t reserve = nofile / 4 > FD_RESERVE_MIN ? nofile / 4 : FD_RESERVE_MIN;
    rlim_t limit = nofile > reserve + 16 ? nofile - reserve : 16;
    if (limit > CONN_LIMIT_MAX) limit = CONN_LIMIT_MAX;
    char fields[160];
    snprintf(fields, sizeof(fields),
             "\"nofile\":%llu,\"nofile_before\":%llu,\"nofile_hard\":%lld,"
             "\"connection_limit\":%llu",
             (unsigned long long)nofile, (unsigned long long)before,
             rl.rlim_max == RLIM_INFINITY ? -1LL : (long long)rl.rlim_max,
             (unsigned long long)limit);
    nb_log_fields(NB_LOG_INFO, fields,
                  "open files: limit %llu (was %llu); at most %llu client connections, "
                  "the rest kept for backends",
                  (unsigned long long)nofile, (unsigned long long)before,
                  (unsigned long long)limit);
    return (unsigned)limit;
}

/* Accept thread: hands every new connection to MHD until nb_server_stop. */
static void *accept_main(void *arg)
{
    nb_server *s = arg;
    int64_t warned_ms = 0;
    while (!atomic_load(&s->accept_stop)) {
        struct pollfd pfd = {.fd = s->lsock, .events = POLLIN};
        if (poll(&pfd, 1, 500) <= 0) continue; /* shutdown() of lsock wakes it too */
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(s->lsock, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (atomic_load(&s->accept_stop)) break;
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) continue;
            /* Out of descriptors or memory: the connection waits in the
             * backlog; try again shortly instead of spinning. */
            if (nb_mono_ms() - warned_ms > 10000) {
                warned_ms = nb_mono_ms();
                nb_warn("cannot accept connections: %s", strerror(errno));
            }
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        /* MHD closes fd itself when it cannot take it (connection limit). */
        if (MHD_add_connection(s->d, fd, (struct sockaddr *)&ss, len) != MHD_YES &&
            nb_mono_ms() - warned_ms > 10000) {
            warned_ms = nb_mono_ms();
            nb_warn("connection refused: %s", strerror(errno));
        }
    }
    return NULL;
}

static nb_err listen_open(nb_server *s, const struct sockaddr_in *sa)
{
    s->lsock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lsock < 0) return NB_ERR_UNAVAILABLE;
    int on = 1;
    setsockopt(s->lsock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    struct sockaddr_in bound;
    socklen_t blen = sizeof(bound);
    if (bind(s->lsock, (const struct sockaddr *)sa, sizeof(*sa)) != 0 ||
        listen(s->lsock, 1024) != 0 ||
        getsockname(s->lsock, (struct sockaddr *)&bound, &blen) != 0) {
        int e = errno;
        close(s->lsock);
        s->lsock = -1;
        errno = e;
        return NB_ERR_UNAVAILABLE;
    }
    s->port = ntohs(bound.sin_port);
    return NB_OK;
}

nb_err nb_server_start(nb_server *s)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->o.port)};
    if (inet_pton(AF_INET, s->o.bind ? s->o.bind : "127.0.0.1", &sa.sin_addr) != 1) {
        nb_error("invalid bind address '%s'", s->o.bind);
        return NB_ERR_INVALID;
    }
    unsigned conn_limit = open_files_setup();
    if (listen_open(s, &sa) != NB_OK) {
        nb_error("cannot listen on %s:%d: %s", s->o.bind, s->o.port, strerror(errno));
        return NB_ERR_UNAVAILABLE;
    }
    if (nb_queue_init(&s->work, (size_t)conn_limit + 64) != NB_OK) return NB_ERR_NOMEM;
    s->workers = calloc((size_t)s->o.workers, sizeof(*s->workers));
    if (!s->workers) return NB_ERR_NOMEM;
    for (int i = 0; i < s->o.workers; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) break;
        s->nworkers++;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET;
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
                            on_mhd_log, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->o.threads,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->o.conn_timeout_s,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_CONNECTION_LIMIT, conn_limit,
                            /* headers only: bodies go to our own capped buffer. MHD clears this
                             * pool for every request, so smaller is cheaper (default 32 KiB). */
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
    if (!s->d) {
        nb_error("cannot start the HTTP server on %s:%d", s->o.bind, s->port);
        return NB_ERR_UNAVAILABLE;
    }
    if (pthread_create(&s->acceptor, NULL, accept_main, s) != 0) {
        nb_error("cannot start the accept thread");
        return NB_ERR_INTERNAL;
    }
    s->accepting = true;
    nb_info("listening on %s:%d (%d polling threads, %d workers)", s->o.bind, s->port, s->o.threads,
            s->nworkers);
    return NB_OK;
}

int nb_server_port(const nb_server *s)
{
    return s->port ? s->port : s->o.port;
}

/* Stops accepting: the listening socket stops listening at once, so
 * connections waiting in its backlog are reset and new ones refused. */
static void accept_stop(nb_server *s)
{
    if (s->lsock < 0) return;
    atomic_store(&s->accept_stop, true);
    shutdown(s->lsock, SHUT_RDWR);
    if (s->accepting) pthread_join(s->acceptor, NULL);
    s->accepting = false;
    close(s->lsock);
    s->lsock = -1;
}

/* Live requests waiting for an answer or for it to be written (s->lock held).
 * with_owned: count those still in a handler's hands too. */
static int live_busy(nb_server *s, bool with_owned)
{
    int n = 0;
    for (nb_req *r = s->live; r; r = r->live_next) {
        pthread_mutex_lock(&r->lock);
        enum req_state st = r->state;
        pthread_mutex_unlock(&r->lock);
        n += st == RS_RESPONDED || st == RS_QUEUED || (with_owned && st == RS_HANDLING);
    }
    return n;
}

/* Waits (s->lock held) until live_busy() is 0 or the deadline passes. */
static void wait_not_busy(nb_server *s, bool with_owned, int64_t deadline_ms)
{
    while (live_busy(s, with_owned) > 0 && nb_mono_ms() < deadline_ms) {
        struct timespec ts;
        nb_timespec_in(10, &ts); /* owners' answers do not signal: poll too */
        pthread_cond_timedwait(&s->drained, &s->lock, &ts);
    }
}

void nb_server_stop(nb_server *s)
{
    if (!s) return;
    accept_stop(s); /* also after a failed start */
    if (!s->d) return;
    int64_t t0 = nb_mono_ms(), end = t0 + s->o.grace_ms;
    int64_t flush_ms = s->o.grace_ms / 4 < FLUSH_MS_MAX ? s->o.grace_ms / 4 : FLUSH_MS_MAX;
    /* 1. Stop accepting (connections in the backlog are reset, new ones refused). */
    accept_stop(s);
    /* 2. From now on every request that arrives (also on an open keep-alive
     *    connection) is answered 503 + Connection: close, never suspended. */
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->stopping, true);
    s->draining = true;
    pthread_mutex_unlock(&s->lock);
    /* 3. Let owners answer and the answers be written, within the grace. */
    pthread_mutex_lock(&s->lock);
    wait_not_busy(s, true, end - flush_ms);
    /* 4. Answer 503 for owners still busy; this resumes every suspended
     *    connection (MHD aborts if one is left suspended at its stop). Their
     *    owners may still answer: that only drops their reference. */
    int forced = 0;
    for (nb_req *r = s->live; r; r = r->live_next) {
        pthread_mutex_lock(&r->lock);
        bool owned = r->state == RS_HANDLING;
        pthread_mutex_unlock(&r->lock);
        if (owned) {
            server_error(r, 503, NB_ERR_UNAVAILABLE, true, "server shutting down");
            forced++;
        }
    }
    /* 5. Give those answers the rest of the grace to be written. */
    wait_not_busy(s, false, end);
    s->draining = false;
    pthread_mutex_unlock(&s->lock);
    if (forced) nb_warn("%d requests still in flight at shutdown were answered 503", forced);
    /* 6. Closes every connection; the completed callback drops MHD's
     *    reference of each request left. */
    MHD_stop_daemon(s->d);
    s->d = NULL;
    nb_info("server stopped in %lld ms", (long long)(nb_mono_ms() - t0));
}

static void route_release(route *rt)
{
    free(rt->path);
    free(rt->name);
}

void nb_server_free(nb_server *s)
{
    if (!s) return;
    nb_server_stop(s);
    /* Workers finish what is queued (nb_req_to_worker jobs own their ctx;
     * route handlers of requests a stop answered are skipped), then exit. */
    if (s->work.ring) nb_queue_close(&s->work);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    for (int i = 0; i < s->nroutes; i++)
        route_release(&s->routes[i]);
    route_release(&s->builtin_health);
    route_release(&s->builtin_ready);
    route_release(&s->builtin_metrics);
    route_release(&s->builtin_none);
    free(s->routes);
    free(s->workers);
    nb_queue_release(&s->work);
    pthread_cond_destroy(&s->drained);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- accessors: our copies, never MHD's memory ------------------------ */

const char *nb_req_tail(const nb_req *r)
{
    return r->tail;
}

const char *nb_req_query(const nb_req *r, const char *name)
{
    return field_find(r, MHD_GET_ARGUMENT_KIND, name);
}

void nb_req_query_each(const nb_req *r, nb_query_fn fn, void *ctx)
{
    for (int i = 0; i < r->nfields; i++)
        if (r->fields[i].kind == MHD_GET_ARGUMENT_KIND)
            fn(r->fields[i].name, r->fields[i].value, ctx);
}

const char *nb_req_header(const nb_req *r, const char *name)
{
    return field_find(r, MHD_HEADER_KIND, name);
}

const char *nb_req_id(const nb_req *r)
{
    return r->rid;
}

const char *nb_req_peer(const nb_req *r)
{
    return r->peer;
}

const char *nb_req_body(const nb_req *r, size_t *len)
{
    if (len) *len = r->body.len;
    return nb_buf_str(&r->body);
}
