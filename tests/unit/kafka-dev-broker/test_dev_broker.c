/* test_dev_broker.c — the dev broker module: a mock cluster with real listeners.
 *
 * Proves over TCP (not by asking the module) that the brokers listen on the
 * advertised bootstrap addresses, refuse connections while down and accept
 * them again once up, and that a topic exists once kdb_create_topic returns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev_broker.h"
#include "nimbus/log.h"

/* Connects to every host:port of a bootstrap list; returns how many accepted. */
static int connectable(const char *bootstraps)
{
    char *list = strdup(bootstraps), *save = NULL;
    int ok = 0;

    assert_non_null(list);
    for (char *hp = strtok_r(list, ",", &save); hp; hp = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(hp, ':');
        struct sockaddr_in sa;
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        assert_non_null(colon);
        assert_true(fd >= 0);
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((unsigned short)atoi(colon + 1));
        *colon = '\0';
        assert_int_equal(inet_pton(AF_INET, hp, &sa.sin_addr), 1);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) ok++;
        close(fd);
    }
    free(list);
    return ok;
}

static void test_brokers_listen_on_bootstraps(void **state)
{
    kdb_broker *b = NULL;

    assert_int_equal(kdb_open(3, &b), NB_OK);
    assert_non_null(kdb_bootstraps(b));
    assert_int_equal(connectable(kdb_bootstraps(b)), 3);
    assert_true(kdb_is_up(b));
    kdb_close(b);
}

static void test_down_refuses_up_accepts(void **state)
{
    kdb_broker *b = NULL;

    assert_int_equal(kdb_open(2, &b), NB_OK);
    assert_int_equal(kdb_set_down(b), NB_OK);
    assert_false(kdb_is_up(b));
    assert_int_equal(connectable(kdb_bootstraps(b)), 0);
    assert_int_equal(kdb_set_up(b), NB_OK);
    assert_true(kdb_is_up(b));
    assert_int_equal(connectable(kdb_bootstraps(b)), 2);
    kdb_close(b);
}

static void test_topic_exists_after_create(void **state)
{
    kdb_broker *b = NULL;

    assert_int_equal(kdb_open(1, &b), NB_OK);
    assert_int_equal(kdb_create_topic(b, "weather.notifications", 4, 10000), NB_OK);
    assert_int_equal(kdb_create_topic(b, "other", 1, 10000), NB_OK);
    kdb_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brokers_listen_on_bootstraps),
        cmocka_unit_test(test_down_refuses_up_accepts),
        cmocka_unit_test(test_topic_exists_after_create),
    };

    nb_log_init("kafka-dev-broker-test", NB_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
