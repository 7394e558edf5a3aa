/* The HTTP client's cancel flag: a call to a server that never answers ends
 * soon after the flag is set (shutdown must not wait for the call's timeout),
 * and a call made with the flag already set does not start. */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "nimbus/clock.h"
#include "nimbus/http_client.h"

static atomic_bool cancel_flag;

/* A listener that accepts (the kernel does, via the backlog) and never answers. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t len = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void *set_cancel_later(void *arg)
{
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(&cancel_flag, true);
    return NULL;
}

static void cancel_ends_a_hanging_call(void **state)
{
    int port, fd = silent_listener(&port);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    atomic_store(&cancel_flag, false);
    pthread_t t;
    pthread_create(&t, NULL, set_cancel_later, NULL);
    nb_httpc_req req = {.method = "GET", .url = url, .timeout_ms = 20000, .cancel = &cancel_flag};
    nb_httpc_resp resp;
    int64_t t0 = nb_mono_ms();
    nb_err e = nb_httpc_do(&req, &resp);
    int64_t took = nb_mono_ms() - t0;
    pthread_join(t, NULL);
    assert_int_equal(e, NB_ERR_UNAVAILABLE);
    assert_string_equal(resp.errmsg, "cancelled");
    assert_true(took < 2500); /* not the 20 s timeout */
    nb_httpc_resp_release(&resp);

    /* Already cancelled: no call at all. */
    t0 = nb_mono_ms();
    assert_int_equal(nb_httpc_do(&req, &resp), NB_ERR_UNAVAILABLE);
    assert_true(nb_mono_ms() - t0 < 100);
    nb_httpc_resp_release(&resp);
    close(fd);
}

int main(void)
{
    nb_httpc_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cancel_ends_a_hanging_call),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nb_httpc_global_cleanup();
    return rc;
}
