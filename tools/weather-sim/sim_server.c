/* sim_server.c — HTTP glue of the simulator (libmicrohttpd used directly).
 * See sim_server.h. Each request is answered on the second access-handler
 * call so keep-alive works; the first call only counts it and sets con_cls. */
#define _GNU_SOURCE /* POLLRDHUP */
#include "sim_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nimbus/buf.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "sim_api.h"
#include "sim_fmt.h"

#define JSON_TYPE "application/json; charset=utf-8"
#define BODY_CAP ((size_t)64 << 20)

struct ws_server {
    struct MHD_Daemon *mhd;
    ws_ctl *ctl;
    ws_server_opts opts;
    int port;
};

typedef enum route {
    R_NOT_FOUND,
    R_HEALTH,
    R_FORECAST,
    R_SEARCH,
    R_RESET,
    R_COUNTERS,
    R_LATENCY,
    R_FAIL,
    R_FAULT,
    R_CLOCK,
    R_STATE,
} route;

typedef struct req {
    route route;
    ws_endpoint ep;
    double t0;
    int status; /* 0 until a response is queued */
    ws_action_kind action;
    char method[12];
    char path[160];
} req;

/* A streamed body: truncated, oversized or dripping. */
typedef enum stream_mode { S_TRUNCATED, S_OVERSIZED, S_DRIP } stream_mode;

typedef struct stream {
    ws_server *srv;
    stream_mode mode;
    char *body; /* owned */
    size_t len;
    size_t total; /* bytes an oversized body has in all */
    size_t pad_end;
} stream;

/* libmicrohttpd's own messages, as JSON log lines like everything else. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    nb_log(NB_LOG_DEBUG, "libmicrohttpd: %s", msg);
}

static route route_of(const char *url)
{
    static const struct {
        const char *path;
        route r;
    } table[] = {
        {"/healthz", R_HEALTH},   {"/v1/forecast", R_FORECAST},   {"/v1/search", R_SEARCH},
        {"/_sim/reset", R_RESET}, {"/_sim/counters", R_COUNTERS}, {"/_sim/latency", R_LATENCY},
        {"/_sim/fail", R_FAIL},   {"/_sim/fault", R_FAULT},       {"/_sim/clock", R_CLOCK},
        {"/_sim/state", R_STATE},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(url, table[i].path) == 0) return table[i].r;
    return R_NOT_FOUND;
}

static const char *arg(struct MHD_Connection *c, const char *key)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static const char *param_get(void *ctx, const char *key)
{
    return arg(ctx, key);
}

/* Queues a copied body with a content type. */
static enum MHD_Result answer(struct MHD_Connection *c, req *r, int status, const char *type,
                              const char *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    return ret;
}

static enum MHD_Result answer_json(struct MHD_Connection *c, req *r, int status, const char *json)
{
    return answer(c, r, status, JSON_TYPE, json, strlen(json));
}

static enum MHD_Result answer_buf(struct MHD_Connection *c, req *r, int status, nb_buf *b)
{
    return answer(c, r, status, JSON_TYPE, nb_buf_str(b), b->len);
}

/* ------------------------------------------------------------------ streams */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream *s = cls;
    switch (s->mode) {
    case S_TRUNCATED: {
        size_t half = s->len / 2;
        if (pos >= half)
            return MHD_CONTENT_READER_END_WITH_ERROR; /* close short of Content-Length */
        size_t n = half - (size_t)pos < max ? half - (size_t)pos : max;
        memcpy(buf, s->body + pos, n);
        return (ssize_t)n;
    }
    case S_DRIP:
        if (pos >= s->len) return MHD_CONTENT_READER_END_OF_STREAM;
        if (!ws_ctl_sleep(s->srv->ctl, s->srv->opts.drip_interval_ms))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        buf[0] = s->body[pos];
        return 1;
    case S_OVERSIZED: {
        /* body without its final '}', then ,"_padding":[0,0,...,0]} */
        size_t n = 0;
        if (ws_ctl_stopping(s->srv->ctl)) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (pos >= s->total) return MHD_CONTENT_READER_END_OF_STREAM;
        while (n < max && pos + n < s->total) {
            size_t p = (size_t)pos + n;
            if (p < s->len - 1) {
                size_t k = s->len - 1 - p < max - n ? s->len - 1 - p : max - n;
                memcpy(buf + n, s->body + p, k);
                n += k;
            } else if (p < s->len - 1 + 13) {
                buf[n++] = ",\"_padding\":["[p - (s->len - 1)];
            } else if (p < s->pad_end) {
                buf[n++] = ((p - (s->len - 1 + 13)) % 2) ? ',' : '0';
            } else {
                buf[n++] = "0]}"[p - s->pad_end];
            }
        }
        return (ssize_t)n;
    }
    }
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
    stream *s = cls;
    free(s->body);
    free(s);
}

/* Queues a streamed answer; takes ownership of b's contents. */
static enum MHD_Result answer_stream(ws_server *srv, struct MHD_Connection *c, req *r, int status,
                                     stream_mode mode, nb_buf *b)
{
    stream *s = calloc(1, sizeof(*s));
    struct MHD_Response *resp;
    uint64_t size;
    enum MHD_Result ret;

    if (!s) return MHD_NO;
    s->srv = srv;
    s->mode = mode;
    s->body = nb_buf_detach(b, &s->len);
    if (s->len == 0) { /* never empty: a stream needs something to cut */
        free(s->body);
        s->body = strdup("{}");
        s->len = 2;
    }
    size = s->len;
    if (mode == S_OVERSIZED) {
        size_t target = (size_t)srv->opts.oversized_bytes;
        size_t head = s->len - 1 + 13;
        size_t pairs = target > head + 3 ? (target - head - 3 + 1) / 2 : 1;
        s->pad_end = head + 2 * pairs;
        s->total = s->pad_end + 3;
        size = MHD_SIZE_UNKNOWN; /* chunked: a Content-Length cap alone will not catch it */
    }
    resp = MHD_create_response_from_callback(size, mode == S_DRIP ? 64 : 64 * 1024, stream_read, s,
                                             stream_free);
    if (!resp) {
        stream_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE);
    ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    return ret;
}

/* ------------------------------------------------------------------ faults */

/* Holds the connection without answering until the client hangs up, the
 * sim stops or hang_max_s passes. */
static void hang(ws_server *srv, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    int64_t deadline = nb_mono_ms() + srv->opts.hang_max_s * 1000;

    while (nb_mono_ms() < deadline) {
        if (ci) {
            struct pollfd p = {.fd = ci->connect_fd, .events = POLLIN | POLLRDHUP};
            if (poll(&p, 1, 0) > 0) {
                char ch;
                if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return;
                if (recv(ci->connect_fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT) == 0) return;
            }
        }
        if (!ws_ctl_sleep(srv->ctl, 50)) return;
    }
}

static enum MHD_Result answer_fail(struct MHD_Connection *c, req *r, const ws_action *a)
{
    nb_buf b;
    enum MHD_Result ret;
    int st = a->status;

    nb_buf_init(&b, 4096);
    if (st == 429) {
        const char *reason =
            strcmp(a->reason, "hourly") == 0
                ? "Hourly API request limit exceeded. Please try again in the next hour."
            : strcmp(a->reason, "daily") == 0
                ? "Daily API request limit exceeded. Please try again tomorrow."
                : "Minutely API request limit exceeded. Please try again in one minute.";
        ws_api_error_body(&b, reason);
    } else if (st == 502 || st == 503 || st == 504) {
        /* what the reverse proxy in front of Open-Meteo answers: HTML */
        const char *title = st == 502   ? "502 Bad Gateway"
                            : st == 503 ? "503 Service Temporarily Unavailable"
                                        : "504 Gateway Time-out";
        nb_buf_addf(&b,
                    "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1>"
                    "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
                    title, title);
        ret = answer(c, r, st, "text/html", nb_buf_str(&b), b.len);
        nb_buf_release(&b);
        return ret;
    } else if (st == 400) {
        ws_api_error_body(&b, a->reason[0] ? a->reason : "Invalid request");
    } else {
        ws_api_error_body(&b, a->reason[0] ? a->reason
                              : st >= 500  ? "Internal Server Error"
                                           : "Request failed");
    }
    ret = answer_buf(c, r, st, &b);
    nb_buf_release(&b);
    return ret;
}

/* GET /v1/forecast and /v1/search, with latency and any pending fault. */
static enum MHD_Result handle_api(ws_server *srv, struct MHD_Connection *c, req *r)
{
    ws_params q = {param_get, c};
    ws_action a;
    nb_buf b;
    int status;
    enum MHD_Result ret;
    long latency = ws_ctl_latency(srv->ctl, r->ep);

    if (latency > 0 && !ws_ctl_sleep(srv->ctl, latency)) return MHD_NO;
    ws_ctl_take(srv->ctl, r->ep, r->ep == WS_EP_FORECAST && ws_api_timezone_is_gmt(&q), &a);
    r->action = a.kind;
    switch (a.kind) {
    case WS_ACT_FAIL:
        return answer_fail(c, r, &a);
    case WS_ACT_HANG:
        hang(srv, c);
        return MHD_NO;
    case WS_ACT_INVALID_TZ:
        return answer_json(c, r, 400, "{\"error\":true,\"reason\":\"Invalid timezone\"}");
    case WS_ACT_EMPTY:
        return answer(c, r, 200, JSON_TYPE, "", 0);
    default:
        break;
    }

    nb_buf_init(&b, BODY_CAP);
    if (r->ep == WS_EP_FORECAST)
        status = ws_api_forecast(&q, ws_ctl_now_s(srv->ctl), &b);
    else
        status = ws_api_search(&q, &b);
    switch (a.kind) {
    case WS_ACT_MALFORMED: {
        size_t keep = b.len * 3 / 5;
        b.len = keep; /* cut inside the document: unterminated, invalid JSON */
        ret = answer(c, r, 200, JSON_TYPE, nb_buf_str(&b), keep);
        break;
    }
    case WS_ACT_TRUNCATED:
        ret = answer_stream(srv, c, r, status, S_TRUNCATED, &b);
        break;
    case WS_ACT_OVERSIZED:
        ret = answer_stream(srv, c, r, status, S_OVERSIZED, &b);
        break;
    case WS_ACT_DRIP:
        ret = answer_stream(srv, c, r, status, S_DRIP, &b);
        break;
    default:
        ret = answer_buf(c, r, status, &b);
    }
    nb_buf_release(&b);
    return ret;
}

/* ------------------------------------------------------------------ control */

static bool parse_long_arg(struct MHD_Connection *c, const char *key, long def, long min, long max,
                           long *out)
{
    const char *s = arg(c, key);
    char *end;
    if (!s || !s[0]) {
        *out = def;
        return def >= min;
    }
    *out = strtol(s, &end, 10);
    return *end == '\0' && *out >= min && *out <= max;
}

static enum MHD_Result control_error(struct MHD_Connection *c, req *r, const char *msg)
{
    nb_buf b;
    enum MHD_Result ret;
    nb_buf_init(&b, 4096);
    nb_buf_adds(&b, "{\"error\":");
    nb_buf_add_json_str(&b, msg);
    nb_buf_adds(&b, "}");
    ret = answer_buf(c, r, 400, &b);
    nb_buf_release(&b);
    return ret;
}

static enum MHD_Result handle_control(ws_server *srv, struct MHD_Connection *c, req *r)
{
    char out[512];
    ws_endpoint ep;
    long n, count;

    if (!ws_ctl_parse_endpoint(arg(c, "endpoint"), &ep))
        return control_error(c, r, "endpoint must be forecast or search");
    switch (r->route) {
    case R_RESET:
        ws_ctl_reset(srv->ctl);
        return answer_json(c, r, 200, "{\"ok\":true}");
    case R_LATENCY:
        if (!parse_long_arg(c, "ms", -1, 0, 3600000, &n))
            return control_error(c, r, "ms must be an integer in 0..3600000");
        ws_ctl_set_latency(srv->ctl, ep, n);
        snprintf(out, sizeof(out), "{\"ok\":true,\"latency_ms\":%ld}", n);
        return answer_json(c, r, 200, out);
    case R_CLOCK:
        if (!parse_long_arg(c, "shift_s", -1000000000L - 1, -1000000000L, 1000000000L, &n))
            return control_error(c, r, "shift_s must be an integer number of seconds");
        ws_ctl_set_shift(srv->ctl, n);
        snprintf(out, sizeof(out), "{\"ok\":true,\"shift_s\":%ld,\"now\":%lld}", n,
                 (long long)ws_ctl_now_s(srv->ctl));
        return answer_json(c, r, 200, out);
    case R_FAIL: {
        ws_action a = {.kind = WS_ACT_FAIL};
        const char *reason = arg(c, "reason");
        if (!parse_long_arg(c, "status", -1, 400, 599, &n))
            return control_error(c, r, "status must be an HTTP error status 400..599");
        if (!parse_long_arg(c, "count", 1, 1, 1000000, &count))
            return control_error(c, r, "count must be a positive integer");
        a.status = (int)n;
        snprintf(a.reason, sizeof(a.reason), "%s", reason ? reason : "");
        if (n == 429 && a.reason[0] && strcmp(a.reason, "minutely") != 0 &&
            strcmp(a.reason, "hourly") != 0 && strcmp(a.reason, "daily") != 0)
            return control_error(c, r, "reason for 429 must be minutely, hourly or daily");
        if (!ws_ctl_add_rule(srv->ctl, &a, ep, count))
            return control_error(c, r, "too many pending rules (reset first)");
        snprintf(out, sizeof(out), "{\"ok\":true,\"status\":%ld,\"count\":%ld}", n, count);
        return answer_json(c, r, 200, out);
    }
    case R_FAULT: {
        ws_action a = {.kind = WS_ACT_NONE};
        if (!ws_ctl_parse_kind(arg(c, "kind"), &a.kind))
            return control_error(c, r,
                                 "kind must be malformed, truncated, oversized, hang, drip, "
                                 "invalid_timezone or empty");
        if (!parse_long_arg(c, "count", 1, 1, 1000000, &count))
            return control_error(c, r, "count must be a positive integer");
        if (!ws_ctl_add_rule(srv->ctl, &a, ep, count))
            return control_error(c, r, "too many pending rules (reset first)");
        snprintf(out, sizeof(out), "{\"ok\":true,\"kind\":\"%s\",\"count\":%ld}",
                 ws_ctl_kind_name(a.kind), count);
        return answer_json(c, r, 200, out);
    }
    default:
        return answer_json(c, r, 404, "{\"error\":true,\"reason\":\"Not Found\"}");
    }
}

static enum MHD_Result handle_state(ws_server *srv, struct MHD_Connection *c, req *r)
{
    ws_ctl *ctl = srv->ctl;
    nb_buf b;
    enum MHD_Result ret;

    nb_buf_init(&b, 1 << 20);
    pthread_mutex_lock(&ctl->lock);
    nb_buf_addf(&b,
                "{\"forecast\":%ld,\"search\":%ld,\"latency_ms\":{\"forecast\":%ld,\"search\":%ld},"
                "\"shift_s\":%lld,\"rules\":[",
                ctl->forecast_count, ctl->search_count, ctl->latency_ms[0], ctl->latency_ms[1],
                (long long)ctl->shift_s);
    for (int i = 0, first = 1; i < ctl->nrules; i++) {
        const ws_rule *rule = &ctl->rules[i];
        if (rule->remaining <= 0) continue;
        nb_buf_addf(&b, "%s{\"kind\":\"%s\",\"status\":%d,\"endpoint\":\"%s\",\"remaining\":%ld}",
                    first ? "" : ",", ws_ctl_kind_name(rule->action.kind), rule->action.status,
                    rule->endpoint == WS_EP_ANY        ? "any"
                    : rule->endpoint == WS_EP_FORECAST ? "forecast"
                                                       : "search",
                    rule->remaining);
        first = 0;
    }
    pthread_mutex_unlock(&ctl->lock);
    nb_buf_adds(&b, "]}");
    ret = answer_buf(c, r, 200, &b);
    nb_buf_release(&b);
    return ret;
}

/* ------------------------------------------------------------------ MHD */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    ws_server *srv = cls;
    req *r = *con_cls;
    bool is_get, is_post;

    if (!r) { /* first call: headers only. Count on arrival, answer later. */
        r = calloc(1, sizeof(*r));
        if (!r) return MHD_NO;
        r->t0 = nb_mono_s();
        r->route = route_of(url);
        r->ep = r->route == R_FORECAST ? WS_EP_FORECAST : r->route == R_SEARCH ? WS_EP_SEARCH : 0;
        snprintf(r->method, sizeof(r->method), "%s", method);
        snprintf(r->path, sizeof(r->path), "%s", url);
        if (r->ep) ws_ctl_arrive(srv->ctl, r->ep);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size) { /* control bodies are ignored */
        *upload_data_size = 0;
        return MHD_YES;
    }
    is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    is_post = strcmp(method, "POST") == 0;
    switch (r->route) {
    case R_HEALTH:
        return is_get
                   ? answer_json(c, r, 200, "{\"status\":\"ok\"}")
                   : answer_json(c, r, 405, "{\"error\":true,\"reason\":\"Method Not Allowed\"}");
    case R_FORECAST:
    case R_SEARCH:
        if (!is_get)
            return answer_json(c, r, 405, "{\"error\":true,\"reason\":\"Method Not Allowed\"}");
        return handle_api(srv, c, r);
    case R_COUNTERS: {
        char out[128];
        long f, s;
        if (!is_get) return answer_json(c, r, 405, "{\"error\":\"use GET\"}");
        ws_ctl_counters(srv->ctl, &f, &s);
        snprintf(out, sizeof(out), "{\"forecast\":%ld,\"search\":%ld}", f, s);
        return answer_json(c, r, 200, out);
    }
    case R_STATE:
        if (!is_get) return answer_json(c, r, 405, "{\"error\":\"use GET\"}");
        return handle_state(srv, c, r);
    case R_RESET:
    case R_LATENCY:
    case R_FAIL:
    case R_FAULT:
    case R_CLOCK:
        if (!is_post) return answer_json(c, r, 405, "{\"error\":\"use POST\"}");
        return handle_control(srv, c, r);
    case R_NOT_FOUND:
    default:
        return answer_json(c, r, 404, "{\"error\":true,\"reason\":\"Not Found\"}");
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req *r = *con_cls;
    nb_buf f;
    if (!r) return;
    nb_buf_init(&f, 4096);
    nb_buf_adds(&f, "\"method\":");
    nb_buf_add_json_str(&f, r->method);
    nb_buf_adds(&f, ",\"path\":");
    nb_buf_add_json_str(&f, r->path);
    nb_buf_addf(&f, ",\"status\":%d,\"ms\":%.1f,\"action\":\"%s\",\"completed\":%s", r->status,
                (nb_mono_s() - r->t0) * 1000.0, ws_ctl_kind_name(r->action),
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "true" : "false");
    nb_log_fields(NB_LOG_INFO, nb_buf_str(&f), "request");
    nb_buf_release(&f);
    free(r);
    *con_cls = NULL;
}

ws_server *ws_server_start(const ws_server_opts *opts, ws_ctl *ctl)
{
    ws_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sa = {.sin_family = AF_INET};
    const union MHD_DaemonInfo *di;

    if (!s) return NULL;
    s->ctl = ctl;
    s->opts = *opts;
    if (inet_pton(AF_INET, opts->bind, &sa.sin_addr) != 1) {
        nb_error("bind address %s is not an IPv4 address", opts->bind);
        goto out_free;
    }
    sa.sin_port = htons((uint16_t)opts->port);
    s->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                  MHD_USE_ERROR_LOG,
                              (uint16_t)opts->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                              (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT,
                              (unsigned int)opts->connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
                              1000u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_END);
    if (!s->mhd) {
        nb_error("cannot listen on %s:%d", opts->bind, opts->port);
        goto out_free;
    }
    di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : opts->port;
    return s;

out_free:
    free(s);
    return NULL;
}

int ws_server_port(const ws_server *s)
{
    return s->port;
}

void ws_server_stop(ws_server *s)
{
    if (!s) return;
    ws_ctl_stop(s->ctl); /* ends hangs, drips and latency waits */
    MHD_stop_daemon(s->mhd);
    free(s);
}
