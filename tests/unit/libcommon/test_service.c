/* The service skeleton: its exit codes (0 after a signal or --help, 2 for bad
 * settings, 1 when a part cannot start), that parts stop in the reverse
 * order they started, only those that started, and that a program's signal
 * actions run in the wait, on the calling thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "nimbus/service.h"

static char order[32]; /* "+a+b-b-a": starts and stops as they happened */
static const char *level;
static long port;

static void note(char op, const char *name)
{
    size_t n = strlen(order);
    order[n] = op;
    order[n + 1] = name[0];
    order[n + 2] = '\0';
}

static nb_err start_ok(void *ctx)
{
    note('+', ctx);
    return NB_OK;
}

static nb_err start_fails(void *ctx)
{
    note('+', ctx);
    return NB_ERR_UNAVAILABLE;
}

static nb_err start_bad_setting(void *ctx)
{
    note('+', ctx);
    return NB_ERR_INVALID;
}

/* The last part: the program is told to stop as soon as all started. */
static nb_err start_then_sigterm(void *ctx)
{
    note('+', ctx);
    raise(SIGTERM);
    return NB_OK;
}

/* Asks for the signal action before the wait: it is kept, not lost. */
static nb_err start_then_sigusr1(void *ctx)
{
    note('+', ctx);
    raise(SIGUSR1);
    return NB_OK;
}

static pthread_t main_thread;
static bool action_on_main_thread;

/* The SIGUSR1 action: noted, then the program is told to stop. */
static void on_usr1(void *ctx)
{
    note('!', ctx);
    action_on_main_thread = pthread_equal(pthread_self(), main_thread);
    raise(SIGTERM);
}

static void stop(void *ctx)
{
    note('-', ctx);
}

static bool check_port(void *ctx)
{
    (void)ctx;
    return port != 7;
}

static const nb_setting settings[] = {
    {"port", NB_SET_INT, &port, "8000", 0, 65535, "TCP port"},
    {"log-level", NB_SET_STR, &level, "error", 0, 0, "debug, info, warn or error"},
};

static const nb_signal_action *actions;
static int nactions;

static int run(const nb_part *parts, int nparts, int argc, char **argv)
{
    order[0] = '\0';
    nb_service svc = {.prog = "test-service",
                      .name = "test",
                      .summary = "a test",
                      .settings = settings,
                      .nsettings = 2,
                      .check = check_port,
                      .parts = parts,
                      .nparts = nparts,
                      .actions = actions,
                      .nactions = nactions};
    return nb_service_run(&svc, argc, argv);
}

static void stops_in_reverse_order_after_a_signal(void **state)
{
    (void)state;
    const nb_part parts[] = {{"a", start_ok, stop, "a"},
                             {"b", start_ok, NULL, "b"},
                             {"c", start_then_sigterm, stop, "c"}};
    char *argv[] = {"test-service", NULL};
    assert_int_equal(run(parts, 3, 1, argv), NB_EXIT_OK);
    assert_string_equal(order, "+a+b+c-c-a");
}

static void signal_actions_run_in_the_wait_on_the_calling_thread(void **state)
{
    (void)state;
    const nb_signal_action usr1[] = {{SIGUSR1, on_usr1, "u"}};
    const nb_part parts[] = {{"a", start_ok, stop, "a"}, {"b", start_then_sigusr1, stop, "b"}};
    char *argv[] = {"test-service", NULL};
    main_thread = pthread_self();
    actions = usr1;
    nactions = 1;
    int status = run(parts, 2, 1, argv);
    actions = NULL;
    nactions = 0;
    assert_int_equal(status, NB_EXIT_OK);
    assert_string_equal(order, "+a+b!u-b-a"); /* the action, then the stop it asked for */
    assert_true(action_on_main_thread);
}

static void a_part_that_cannot_start_is_exit_1_and_the_started_ones_stop(void **state)
{
    (void)state;
    const nb_part parts[] = {{"a", start_ok, stop, "a"},
                             {"b", start_ok, stop, "b"},
                             {"c", start_fails, stop, "c"},
                             {"d", start_ok, stop, "d"}};
    char *argv[] = {"test-service", NULL};
    assert_int_equal(run(parts, 4, 1, argv), NB_EXIT_FAILURE);
    assert_string_equal(order, "+a+b+c-b-a"); /* c never started, d never tried */

    const nb_part late[] = {{"a", start_ok, stop, "a"}, {"x", start_bad_setting, stop, "x"}};
    assert_int_equal(run(late, 2, 1, argv), NB_EXIT_USAGE); /* a setting found bad late */
    assert_string_equal(order, "+a+x-a");
}

static void bad_settings_are_exit_2_and_start_nothing(void **state)
{
    (void)state;
    const nb_part parts[] = {{"a", start_ok, stop, "a"}};
    char *bad_flag[] = {"test-service", "--no-such-flag", NULL};
    assert_int_equal(run(parts, 1, 2, bad_flag), NB_EXIT_USAGE);
    char *out_of_range[] = {"test-service", "--port", "70000", NULL};
    assert_int_equal(run(parts, 1, 3, out_of_range), NB_EXIT_USAGE);
    char *check_fails[] = {"test-service", "--port", "7", NULL};
    assert_int_equal(run(parts, 1, 3, check_fails), NB_EXIT_USAGE);
    char *bad_level[] = {"test-service", "--log-level", "loud", NULL};
    assert_int_equal(run(parts, 1, 3, bad_level), NB_EXIT_USAGE);
    assert_string_equal(order, "");
}

static void help_is_exit_0_and_starts_nothing(void **state)
{
    (void)state;
    const nb_part parts[] = {{"a", start_ok, stop, "a"}};
    char *argv[] = {"test-service", "--help", NULL};
    assert_int_equal(run(parts, 1, 2, argv), NB_EXIT_OK);
    assert_string_equal(order, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stops_in_reverse_order_after_a_signal),
        cmocka_unit_test(signal_actions_run_in_the_wait_on_the_calling_thread),
        cmocka_unit_test(a_part_that_cannot_start_is_exit_1_and_the_started_ones_stop),
        cmocka_unit_test(bad_settings_are_exit_2_and_start_nothing),
        cmocka_unit_test(help_is_exit_0_and_starts_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
