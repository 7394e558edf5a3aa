/* The HTTP server and client together on loopback: routing, inline, worker
 * and deferred answers, keep-alive, body cap, request ids, errors. */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "nimbus/http_client.h"
#include "nimbus/http_server.h"
#include "nimbus/log.h"

static nb_server *srv;
static char base[64];

static void h_inline(nb_req *r, void *ctx)
{
    nb_respond(r, 200, "text/plain", "inline", 6);
}

static void h_echo(nb_req *r, void *ctx)
{
    size_t len;
    const char *b = nb_req_body(r, &len);
    nb_buf out;
    nb_buf_init(&out, 1 << 20);
    nb_buf_addf(&out, "tail=%s q=%s rid=%s len=%zu body=%s", nb_req_tail(r),
                nb_req_query(r, "q") ? nb_req_query(r, "q") : "-",
                nb_log_request_id() ? nb_log_request_id() : "-", len, b);
    size_t n;
    char *s = nb_buf_detach(&out, &n);
    nb_respond_take(r, 200, "text/plain", s, n);
}

static void *later(void *arg)
{
    nb_req *r = arg;
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL); /* the answer comes from another thread, later */
    nb_req_add_header(r, "X-Deferred", "yes");
    nb_respond(r, 202, "text/plain", "later", 5);
    return NULL;
}

static void h_deferred(nb_req *r, void *ctx)
{
    pthread_t t;
    pthread_create(&t, NULL, later, r);
    pthread_detach(t);
}

static void h_error(nb_req *r, void *ctx)
{
    nb_req_add_header(r, "Retry-After", "3");
    nb_respond_error(r, NB_ERR_UNAVAILABLE, "backend %s is down", "x");
}

static int setup(void **state)
{
    nb_log_init("test", NB_LOG_WARN);
    nb_httpc_global_init();
    nb_server_opts o = {.bind = "127.0.0.1",
                        .port = 0,
                        .threads = 2,
                        .workers = 2,
                        .body_cap = 1024,
                        .conn_timeout_s = 5,
                        .grace_ms = 1000};
    srv = nb_server_new(&o);
    nb_server_route(srv, "GET", "/inline", "inline", NB_ROUTE_INLINE, h_inline, NULL);
    nb_server_route(srv, "PUT", "/echo/*", "echo", NB_ROUTE_WORKER, h_echo, NULL);
    nb_server_route(srv, "GET", "/echo/*", "echo", NB_ROUTE_WORKER, h_echo, NULL);
    nb_server_route(srv, "GET", "/deferred", "deferred", NB_ROUTE_INLINE, h_deferred, NULL);
    nb_server_route(srv, "GET", "/error", "error", NB_ROUTE_WORKER, h_error, NULL);
    assert_int_equal(nb_server_start(srv), NB_OK);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", nb_server_port(srv));
    return 0;
}

static int teardown(void **state)
{
    nb_server_free(srv);
    nb_httpc_global_cleanup();
    return 0;
}

static long get(const char *path, nb_httpc_resp *resp, const char *method, const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", base, path);
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    nb_httpc_req req = {.method = method ? method : "GET",
                        .url = url,
                        .headers = hdrs,
                        .body = body,
                        .body_len = body ? strlen(body) : 0,
                        .timeout_ms = 5000,
                        .max_body = 4096};
    assert_int_equal(nb_httpc_do(&req, resp), NB_OK);
    return resp->status;
}

static void routes_inline_worker_deferred(void **state)
{
    nb_httpc_resp r;
    assert_int_equal(get("/inline", &r, NULL, NULL), 200);
    assert_string_equal(nb_buf_str(&r.body), "inline");
    nb_httpc_resp_release(&r);
    assert_int_equal(get("/echo/a/b?q=S%C3%A3o", &r, NULL, NULL), 200);
    assert_non_null(strstr(nb_buf_str(&r.body), "tail=a/b q=São"));
    nb_httpc_resp_release(&r);
    assert_int_equal(get("/deferred", &r, NULL, NULL), 202);
    assert_string_equal(nb_buf_str(&r.body), "later");
    nb_httpc_resp_release(&r);
}

static void errors_have_one_shape(void **state)
{
    nb_httpc_resp r;
    assert_int_equal(get("/error", &r, NULL, NULL), 503);
    assert_string_equal(nb_httpc_header(&r, "retry-after"), "3");
    assert_string_equal(nb_httpc_header(&r, "Content-Type"), "application/json");
    assert_null(nb_httpc_header(&r, "X-Nothing"));
    json_t *o = json_loads(nb_buf_str(&r.body), 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "unavailable");
    assert_string_equal(json_string_value(json_object_get(o, "reason")), "backend x is down");
    assert_non_null(json_string_value(json_object_get(o, "request_id")));
    json_decref(o);
    nb_httpc_resp_release(&r);
    assert_int_equal(get("/nowhere", &r, NULL, NULL), 404);
    nb_httpc_resp_release(&r);
    assert_int_equal(get("/inline", &r, "DELETE", NULL), 405);
    nb_httpc_resp_release(&r);
}

static void body_cap_and_echo(void **state)
{
    nb_httpc_resp r;
    assert_int_equal(get("/echo/x", &r, "PUT", "{\"a\":1}"), 200);
    assert_non_null(strstr(nb_buf_str(&r.body), "len=7 body={\"a\":1}"));
    nb_httpc_resp_release(&r);
    char big[3000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(get("/echo/x", &r, "PUT", big), 413);
    nb_httpc_resp_release(&r);
}

static void request_id_propagates(void **state)
{
    nb_log_set_request_id("abc-123");
    nb_httpc_resp r;
    assert_int_equal(get("/echo/x", &r, NULL, NULL), 200);
    assert_non_null(strstr(nb_buf_str(&r.body), "rid=abc-123"));
    nb_httpc_resp_release(&r);
    nb_log_set_request_id(NULL);
}

/* Two requests on one raw TCP connection: both answered, no Connection: close. */
static void keep_alive_on_plain_get(void **state)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)nb_server_port(srv))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    static const char req[] = "GET /inline HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[4096];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
        size_t got = 0;
        while (!strstr(buf, "inline") || got == 0) {
            ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
            assert_true(n > 0);
            got += (size_t)n;
            buf[got] = '\0';
        }
        assert_non_null(strstr(buf, "HTTP/1.1 200"));
        assert_null(strstr(buf, "Connection: close"));
        assert_null(strstr(buf, "connection: close"));
        buf[0] = '\0';
    }
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_inline_worker_deferred),
        cmocka_unit_test(errors_have_one_shape),
        cmocka_unit_test(body_cap_and_echo),
        cmocka_unit_test(request_id_propagates),
        cmocka_unit_test(keep_alive_on_plain_get),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
