/* The HTTP server's stop, seen on raw connections: a request that arrives on
 * an open keep-alive connection after stopping began gets 503 +
 * Connection: close; new connections are refused; a request held by its
 * handler past the grace is answered 503, and the handler may still read it
 * and answer it after the server is gone (the answer is dropped; under ASan
 * this proves no use after free and no leak). */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "nimbus/clock.h"
#include "nimbus/http_server.h"
#include "nimbus/log.h"

static _Atomic(nb_req *) held;

static void h_hold(nb_req *r, void *ctx)
{
    atomic_store(&held, r); /* answered by the test, later */
}

static void h_inline(nb_req *r, void *ctx)
{
    nb_respond(r, 200, "text/plain", "inline", 6);
}

static nb_server *server_new(int grace_ms)
{
    nb_server_opts o = {.bind = "127.0.0.1",
                        .port = 0,
                        .threads = 1,
                        .workers = 1,
                        .body_cap = 1024,
                        .conn_timeout_s = 10,
                        .grace_ms = grace_ms};
    nb_server *s = nb_server_new(&o);
    nb_server_route(s, "GET", "/hold/*", "hold", NB_ROUTE_INLINE, h_hold, NULL);
    nb_server_route(s, "GET", "/inline", "inline", NB_ROUTE_INLINE, h_inline, NULL);
    assert_int_equal(nb_server_start(s), NB_OK);
    atomic_store(&held, NULL);
    return s;
}

static int conn_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

typedef struct exchange {
    int fd;
    const char *req;
    int status; /* -1: the connection closed before a whole answer */
    bool close;
    char resp[4096];
} exchange;

/* Sends x->req on x->fd and reads one whole answer (Content-Length body). */
static void *exchange_run(void *arg)
{
    exchange *x = arg;
    x->status = -1;
    x->close = false;
    size_t n = strlen(x->req), got = 0;
    if (write(x->fd, x->req, n) != (ssize_t)n) return NULL;
    for (;;) {
        char *end = strstr(x->resp, "\r\n\r\n");
        const char *cl = strstr(x->resp, "Content-Length: ");
        if (end && cl && got >= (size_t)(end + 4 - x->resp) + strtoul(cl + 16, NULL, 10)) break;
        ssize_t k = read(x->fd, x->resp + got, sizeof(x->resp) - 1 - got);
        if (k <= 0) return NULL;
        got += (size_t)k;
        x->resp[got] = '\0';
    }
    x->status = atoi(x->resp + 9);
    x->close = strstr(x->resp, "Connection: close") != NULL;
    return NULL;
}

static void wait_held(void)
{
    int64_t deadline = nb_mono_ms() + 5000;
    while (!atomic_load(&held) && nb_mono_ms() < deadline) {
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_non_null(atomic_load(&held));
}

static void *stopper(void *arg)
{
    nb_server_stop(arg);
    return NULL;
}

static void keep_alive_request_after_stop_gets_503_and_close(void **state)
{
    nb_server *s = server_new(3000);
    int port = nb_server_port(s);
    enum { NCONN = 4 };
    exchange a[NCONN];
    for (int i = 0; i < NCONN; i++) {
        a[i] = (exchange){.fd = conn_open(port), .req = "GET /inline HTTP/1.1\r\nHost: x\r\n\r\n"};
        exchange_run(&a[i]);
        assert_int_equal(a[i].status, 200);
        assert_false(a[i].close);
    }

    /* one request in a handler's hands keeps the stop in its grace period */
    exchange b = {.fd = conn_open(port), .req = "GET /hold/x HTTP/1.1\r\nHost: x\r\n\r\n"};
    pthread_t tb, ts;
    pthread_create(&tb, NULL, exchange_run, &b);
    wait_held();
    int64_t t0 = nb_mono_ms();
    pthread_create(&ts, NULL, stopper, s);

    /* open keep-alive connections: 200 until the stop begins, then 503 + close.
     * (An answer in flight when it begins is a 200 + close: next connection.) */
    int64_t deadline = nb_mono_ms() + 2000;
    exchange *x = NULL;
    for (int i = 0; i < NCONN && !(x && x->status == 503); i++) {
        x = &a[i];
        do {
            memset(x->resp, 0, sizeof(x->resp));
            exchange_run(x);
        } while (x->status == 200 && !x->close && nb_mono_ms() < deadline);
    }
    assert_int_equal(x->status, 503);
    assert_true(x->close);
    assert_non_null(strstr(x->resp, "\"error\":\"unavailable\""));
    char c;
    assert_int_equal(read(x->fd, &c, 1), 0); /* and the server closed it */
    for (int i = 0; i < NCONN; i++)
        close(a[i].fd);
    assert_int_equal(conn_open(port), -1); /* no new connections */
    assert_int_equal(errno, ECONNREFUSED);

    /* the held request is still answered by its handler, within the grace */
    nb_respond(atomic_load(&held), 200, "text/plain", "held", 4);
    pthread_join(tb, NULL);
    assert_int_equal(b.status, 200);
    assert_true(b.close);
    pthread_join(ts, NULL);
    assert_true(nb_mono_ms() - t0 < 2500); /* it did not wait the whole grace */
    close(b.fd);
    nb_server_free(s);
}

static void late_answer_after_free_is_dropped(void **state)
{
    nb_server *s = server_new(300);
    exchange b = {.fd = conn_open(nb_server_port(s)),
                  .req = "GET /hold/tail?q=1 HTTP/1.1\r\nHost: x\r\nX-Probe: v\r\n\r\n"};
    pthread_t tb;
    pthread_create(&tb, NULL, exchange_run, &b);
    wait_held();
    int64_t t0 = nb_mono_ms();
    nb_server_stop(s);
    int64_t took = nb_mono_ms() - t0;
    assert_true(took >= 200 && took < 1300); /* 3/4 of the grace, then the 503 is written */
    pthread_join(tb, NULL);
    assert_int_equal(b.status, 503);
    assert_true(b.close);
    close(b.fd);
    nb_server_free(s);

    /* The handler still owns its request: reads its copies, then answers. */
    nb_req *r = atomic_load(&held);
    assert_string_equal(nb_req_header(r, "x-probe"), "v");
    assert_string_equal(nb_req_query(r, "q"), "1");
    assert_null(nb_req_query(r, "nope"));
    assert_string_equal(nb_req_tail(r), "tail");
    nb_req_add_header(r, "X-Late", "yes");
    nb_respond(r, 200, "text/plain", "too late", 8); /* dropped; frees r */
}

int main(void)
{
    nb_log_init("test", NB_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keep_alive_request_after_stop_gets_503_and_close),
        cmocka_unit_test(late_answer_after_free_is_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
