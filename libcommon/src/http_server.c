/* http_server.c — the nimbus HTTP server on libmicrohttpd.
 *
 * Request life cycle (see http_server.h for the contract):
 *   1st access call   : allocate nb_req, set *con_cls, queue nothing (keep-alive).
 *   upload calls      : accumulate the body up to body_cap (413, early, past it).
 *   final call        : route; INLINE handlers run here, WORKER ones are queued
 *                       to the pool with the connection suspended.
 *   nb_respond*()     : stores the answer; resumes the connection if suspended.
 *   next access call  : queues the stored answer.
 *   completed callback: access log, metrics, free.
 * Locking: r->lock guards r->state/suspended/resp; s->lock guards the live
 * list, the worker queue and shutdown state. Lock order: r->lock, then MHD. */
#include "nimbus/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"

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

struct nb_req {
    nb_server *srv;
    struct MHD_Connection *conn;
    const route *rt;
    const char *method, *path, *tail;
    nb_buf body;
    bool too_large;
    size_t discarded;
    char rid[65];
    char peer[INET6_ADDRSTRLEN]; /* filled by nb_req_peer() on first use */
    double start_s;

    pthread_mutex_t lock;
    enum req_state state;
    bool suspended;
    bool forced; /* answered by shutdown; its owner may still hold it: never freed */
    int status;
    char ctype[96];
    char *resp_body;
    size_t resp_len;
    hdr *headers;

    struct nb_req *live_prev, *live_next; /* s->live list */
    struct nb_req *q_next;                /* worker queue */
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
    pthread_cond_t work;    /* a request was queued for the workers, or stopping */
    pthread_cond_t drained; /* a request completed while shutdown waits for them */
    bool draining;
    nb_req *live;
    int nlive;
    nb_req *q_head, **q_tail;
    bool stopping;
    pthread_t *workers;
    int nworkers;
};

static sem_t signal_sem;
static volatile sig_atomic_t signal_seen;

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

/* ---- live list and worker queue -------------------------------------- */

static void live_add(nb_server *s, nb_req *r)
{
    pthread_mutex_lock(&s->lock);
    r->live_next = s->live;
    if (s->live) s->live->live_prev = r;
    s->live = r;
    s->nlive++;
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
    s->nlive--;
    if (s->draining) pthread_cond_signal(&s->drained); /* only shutdown waits here */
    pthread_mutex_unlock(&s->lock);
}

static void *worker_main(void *arg)
{
    nb_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!s->q_head && !s->stopping)
            pthread_cond_wait(&s->work, &s->lock);
        nb_req *r = s->q_head;
        if (!r) {
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        s->q_head = r->q_next;
        if (!s->q_head) s->q_tail = &s->q_head;
        pthread_mutex_unlock(&s->lock);

        pthread_mutex_lock(&r->lock);
        bool answered = r->state != RS_HANDLING; /* answered at shutdown */
        pthread_mutex_unlock(&r->lock);
        if (answered) continue;
        nb_log_set_request_id(r->rid);
        if (r->run_fn)
            r->run_fn(r, r->run_ctx);
        else
            r->rt->fn(r, r->rt->ctx);
        nb_log_set_request_id(NULL);
    }
}

static void worker_enqueue(nb_server *s, nb_req *r)
{
    pthread_mutex_lock(&s->lock);
    r->q_next = NULL;
    *s->q_tail = r;
    s->q_tail = &r->q_next;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
}

void nb_req_to_worker(nb_req *r, nb_handler_fn fn, void *ctx)
{
    r->run_fn = fn;
    r->run_ctx = ctx;
    worker_enqueue(r->srv, r);
}

/* ---- answering ------------------------------------------------------- */

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

void nb_req_add_header(nb_req *r, const char *name, const char *value)
{
    hdr *h = malloc(sizeof(*h));
    if (!h) return;
    h->name = strdup(name);
    h->value = strdup(value);
    pthread_mutex_lock(&r->lock);
    h->next = r->headers;
    r->headers = h;
    pthread_mutex_unlock(&r->lock);
}

void nb_respond_take(nb_req *r, int status, const char *content_type, char *body, size_t len)
{
    pthread_mutex_lock(&r->lock);
    if (r->state == RS_RESPONDED || r->state == RS_QUEUED) {
        /* Only the shutdown path answers twice; the late answer is dropped. */
        pthread_mutex_unlock(&r->lock);
        free(body);
        return;
    }
    r->status = status;
    snprintf(r->ctype, sizeof(r->ctype), "%s", content_type ? content_type : "text/plain");
    r->resp_body = body;
    r->resp_len = len;
    r->state = RS_RESPONDED;
    if (r->suspended) {
        r->suspended = false;
        MHD_resume_connection(r->conn);
    }
    pthread_mutex_unlock(&r->lock);
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

static void respond_error_v(nb_req *r, int status, nb_err e, const char *fmt, va_list ap)
{
    char reason[512];
    vsnprintf(reason, sizeof(reason), fmt, ap);
    json_t *o = json_pack("{s:s, s:s, s:s}", "error", nb_err_code(e), "reason", reason,
                          "request_id", r->rid);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        s = strdup("{\"error\":\"internal_error\",\"reason\":\"out of memory\","
                   "\"request_id\":\"-\"}");
    nb_respond_take(r, status, "application/json", s, s ? strlen(s) : 0);
}

void nb_respond_error(nb_req *r, nb_err e, const char *reason_fmt, ...)
{
    va_list ap;
    va_start(ap, reason_fmt);
    respond_error_v(r, nb_err_http_status(e), e, reason_fmt, ap);
    va_end(ap);
}

void nb_respond_error_status(nb_req *r, int status, nb_err e, const char *reason_fmt, ...)
{
    va_list ap;
    va_start(ap, reason_fmt);
    respond_error_v(r, status, e, reason_fmt, ap);
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

/* Queues r's stored answer on its connection (polling thread only). */
static enum MHD_Result queue_answer(nb_req *r)
{
    pthread_mutex_lock(&r->lock);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->resp_len, r->resp_body, MHD_RESPMEM_MUST_FREE);
    r->resp_body = NULL; /* MHD owns it now */
    if (!resp) {
        pthread_mutex_unlock(&r->lock);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
    MHD_add_response_header(resp, "X-Request-Id", r->rid);
    for (hdr *h = r->headers; h; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
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

static void req_free(nb_req *r)
{
    nb_buf_release(&r->body);
    free(r->resp_body);
    hdrs_free(r->headers);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static void dispatch(nb_server *s, nb_req *r)
{
    bool path_known;
    const route *rt = route_find(s, r->method, r->path, &path_known);
    r->rt = rt ? rt : &s->builtin_none;
    r->state = RS_HANDLING;
    if (!rt) {
        if (path_known)
            nb_respond_error(r, NB_ERR_METHOD, "method %s not allowed here", r->method);
        else
            nb_respond_error(r, NB_ERR_NOT_FOUND, "no route for %s", r->path);
        return;
    }
    r->tail = rt->wildcard ? r->path + rt->plen : "";
    if (rt->mode == NB_ROUTE_WORKER) {
        pthread_mutex_lock(&r->lock);
        r->suspended = true;
        MHD_suspend_connection(r->conn);
        pthread_mutex_unlock(&r->lock);
        worker_enqueue(s, r);
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
        r = calloc(1, sizeof(*r));
        if (!r) return MHD_NO;
        r->srv = s;
        r->conn = conn;
        r->method = method;
        r->path = url;
        r->tail = "";
        r->start_s = nb_mono_s();
        nb_buf_init(&r->body, s->o.body_cap);
        pthread_mutex_init(&r->lock, NULL);
        const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        if (rid && rid_valid(rid))
            snprintf(r->rid, sizeof(r->rid), "%s", rid);
        else
            rid_generate(r->rid);
        r->rt = &s->builtin_none;
        live_add(s, r);
        *con_cls = r;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->o.body_cap) {
            /* Declared too large: answer before reading it (MHD closes after). */
            r->state = RS_HANDLING;
            nb_respond_error(r, NB_ERR_TOO_LARGE, "request body over %zu bytes", s->o.body_cap);
            return queue_answer(r);
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
    switch (r->state) {
    case RS_NEW:
        if (r->too_large) {
            r->state = RS_HANDLING;
            nb_respond_error(r, NB_ERR_TOO_LARGE, "request body over %zu bytes", s->o.body_cap);
            return queue_answer(r);
        }
        dispatch(s, r);
        pthread_mutex_lock(&r->lock);
        bool ready = r->state == RS_RESPONDED;
        pthread_mutex_unlock(&r->lock);
        return ready ? queue_answer(r) : MHD_YES;
    case RS_RESPONDED:
        return queue_answer(r);
    default:
        return MHD_YES;
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    nb_server *s = cls;
    nb_req *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    double secs = nb_mono_s() - r->start_s;
    int status = r->state == RS_QUEUED ? r->status : 0;
    const route *rt = r->rt;
    if (status >= 100 && status < 600) nb_counter_inc(rt->by_class[status / 100]);
    nb_histogram_observe(rt->latency, secs);
    if (s->o.access_log) {
        char fields[512];
        char path[200];
        size_t j = 0;
        for (const char *p = r->path; *p && j + 2 < sizeof(path); p++) /* no JSON escapes */
            if ((unsigned char)*p >= 0x20 && *p != '"' && *p != '\\') path[j++] = *p;
        path[j] = '\0';
        snprintf(fields, sizeof(fields),
                 "\"method\":\"%s\",\"path\":\"%s\",\"route\":\"%s\",\"status\":%d,"
                 "\"ms\":%.3f%s",
                 r->method, path, rt->name, status, secs * 1000,
                 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : ",\"aborted\":true");
        nb_log_set_request_id(r->rid);
        nb_log_fields(NB_LOG_INFO, fields, "access");
        nb_log_set_request_id(NULL);
    }
    live_remove(s, r);
    if (!r->forced) req_free(r);
}

/* ---- server ---------------------------------------------------------- */

nb_server *nb_server_new(const nb_server_opts *opts)
{
    nb_server *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->o = *opts;
    if (s->o.threads < 1) s->o.threads = 1;
    if (s->o.workers < 1) s->o.workers = 1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->drained, NULL);
    s->q_tail = &s->q_head;
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

nb_err nb_server_start(nb_server *s)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->o.port)};
    if (inet_pton(AF_INET, s->o.bind ? s->o.bind : "127.0.0.1", &sa.sin_addr) != 1) {
        nb_error("invalid bind address '%s'", s->o.bind);
        return NB_ERR_INVALID;
    }
    s->workers = calloc((size_t)s->o.workers, sizeof(*s->workers));
    if (!s->workers) return NB_ERR_NOMEM;
    for (int i = 0; i < s->o.workers; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) break;
        s->nworkers++;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)s->o.threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->o.conn_timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024U,
        MHD_OPTION_CONNECTION_LIMIT, 10000U,
        /* headers only: bodies go to our own capped buffer. MHD clears this
         * pool for every request, so smaller is cheaper (default 32 KiB). */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
    if (!s->d) {
        nb_error("cannot listen on %s:%d: %s", s->o.bind, s->o.port, strerror(errno));
        return NB_ERR_UNAVAILABLE;
    }
    nb_info("listening on %s:%d (%d polling threads, %d workers)", s->o.bind, nb_server_port(s),
            s->o.threads, s->nworkers);
    return NB_OK;
}

int nb_server_port(const nb_server *s)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? (int)i->port : s->o.port;
}

static void on_signal(int sig)
{
    signal_seen = sig;
    sem_post(&signal_sem);
}

void nb_server_wait_for_signal(nb_server *s)
{
    sem_init(&signal_sem, 0, 0);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    while (sem_wait(&signal_sem) != 0 && errno == EINTR) {
    }
    nb_info("signal %d received: shutting down", (int)signal_seen);
}

void nb_server_stop(nb_server *s)
{
    if (!s || !s->d) return;
    MHD_socket lsock = MHD_quiesce_daemon(s->d); /* stop accepting */
    int64_t deadline = nb_mono_ms() + s->o.grace_ms;
    pthread_mutex_lock(&s->lock);
    s->draining = true;
    while (s->nlive > 0 && nb_mono_ms() < deadline) {
        struct timespec ts;
        nb_timespec_in(20, &ts);
        pthread_cond_timedwait(&s->drained, &s->lock, &ts);
    }
    /* Answer what is still waiting, so every suspended connection is resumed
     * before MHD stops (pitfalls). Their owners may still answer: dropped. */
    int forced = 0;
    for (nb_req *r = s->live; r; r = r->live_next) {
        pthread_mutex_lock(&r->lock);
        bool waiting = r->state == RS_HANDLING;
        if (waiting) r->forced = true;
        pthread_mutex_unlock(&r->lock);
        if (waiting) {
            nb_respond_error(r, NB_ERR_UNAVAILABLE, "server shutting down");
            forced++;
        }
    }
    s->stopping = true;
    s->draining = false;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->lock);
    if (forced) nb_warn("%d requests still in flight at shutdown were answered 503", forced);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    s->nworkers = 0;
    /* Give resumed connections a moment to be written out. */
    int64_t flush_deadline = nb_mono_ms() + 500;
    pthread_mutex_lock(&s->lock);
    while (s->nlive > 0 && nb_mono_ms() < flush_deadline) {
        pthread_mutex_unlock(&s->lock);
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    MHD_stop_daemon(s->d);
    s->d = NULL;
    if (lsock != MHD_INVALID_SOCKET) close(lsock);
    nb_info("server stopped");
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
    for (int i = 0; i < s->nroutes; i++)
        route_release(&s->routes[i]);
    route_release(&s->builtin_health);
    route_release(&s->builtin_ready);
    route_release(&s->builtin_metrics);
    route_release(&s->builtin_none);
    free(s->routes);
    free(s->workers);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->drained);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- accessors ------------------------------------------------------- */

const char *nb_req_tail(const nb_req *r)
{
    return r->tail;
}

const char *nb_req_query(const nb_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *nb_req_header(const nb_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *nb_req_id(const nb_req *r)
{
    return r->rid;
}

const char *nb_req_peer(const nb_req *r)
{
    nb_req *w = (nb_req *)r; /* a cache of a fact of the request, not a change to it */
    if (w->peer[0]) return w->peer;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, w->peer, sizeof(w->peer));
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, w->peer,
                  sizeof(w->peer));
    return w->peer;
}

const char *nb_req_body(const nb_req *r, size_t *len)
{
    if (len) *len = r->body.len;
    return nb_buf_str(&r->body);
}
