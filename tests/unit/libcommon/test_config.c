/* Settings: defaults, environment, flags (flags win), validation, --help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nimbus/config.h"

static long port;
static const char *url;
static bool flag;

static const nb_setting table[] = {
    {"port", NB_SET_INT, &port, "8081", 1, 65535, "port"},
    {"upstream-url", NB_SET_URL, &url, "http://a.example/", 0, 0, "url"},
    {"verbose", NB_SET_BOOL, &flag, "false", 0, 0, "flag"},
};
#define N (int)(sizeof(table) / sizeof(table[0]))

static nb_err load(int argc, char **argv)
{
    bool exit_now;
    return nb_config_load(table, N, argc, argv, "test", "summary", &exit_now);
}

static void defaults_env_flags(void **state)
{
    unsetenv("NIMBUS_PORT");
    char *a0[] = {"prog"};
    assert_int_equal(load(1, a0), NB_OK);
    assert_int_equal(port, 8081);
    assert_false(flag);
    setenv("NIMBUS_PORT", "9000", 1);
    assert_int_equal(load(1, a0), NB_OK);
    assert_int_equal(port, 9000);
    char *a1[] = {"prog", "--port=9100", "--verbose", "--upstream-url", "https://b.example/"};
    assert_int_equal(load(5, a1), NB_OK);
    assert_int_equal(port, 9100);
    assert_true(flag);
    assert_string_equal(url, "https://b.example/");
    unsetenv("NIMBUS_PORT");
}

static void invalid_values_are_refused(void **state)
{
    char *a[] = {"prog", "--port=70000"};
    assert_int_equal(load(2, a), NB_ERR_INVALID);
    char *b[] = {"prog", "--port=12ab"};
    assert_int_equal(load(2, b), NB_ERR_INVALID);
    char *c[] = {"prog", "--upstream-url=ftp://x"};
    assert_int_equal(load(2, c), NB_ERR_INVALID);
    char *d[] = {"prog", "--no-such-thing=1"};
    assert_int_equal(load(2, d), NB_ERR_INVALID);
    setenv("NIMBUS_VERBOSE", "perhaps", 1);
    char *e[] = {"prog"};
    assert_int_equal(load(1, e), NB_ERR_INVALID);
    unsetenv("NIMBUS_VERBOSE");
}

static void help_exits(void **state)
{
    char *a[] = {"prog", "--help"};
    bool exit_now = false;
    assert_int_equal(nb_config_load(table, N, 2, a, "test", "summary", &exit_now), NB_OK);
    assert_true(exit_now);
}

static void dump_hides_secrets(void **state)
{
    const char *dsn = "host=x password=secret";
    nb_setting t[] = {{"postgres-dsn", NB_SET_STR, &dsn, NULL, 0, 0, "dsn"}};
    char *s = nb_config_dump_json(t, 1);
    assert_null(strstr(s, "secret"));
    free(s);
    const char *redis_url = "redis://:hunter2@127.0.0.1:6379/0";
    nb_setting u[] = {{"redis-url", NB_SET_STR, &redis_url, NULL, 0, 0, "url"}};
    s = nb_config_dump_json(u, 1);
    assert_null(strstr(s, "hunter2"));
    assert_non_null(strstr(s, "redis://***@127.0.0.1:6379/0"));
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_env_flags),
        cmocka_unit_test(invalid_values_are_refused),
        cmocka_unit_test(help_exits),
        cmocka_unit_test(dump_hides_secrets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
