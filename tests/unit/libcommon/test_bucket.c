/* The upstream budget's arithmetic: a window never lets more than its limit
 * through in any interval of its length, every window must hold enough, a
 * refusal says how long to wait and takes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nimbus/bucket.h"

static const nb_window open_meteo[] = {{60, 600}, {3600, 5000}, {86400, 10000}};

static void burst_is_a_tenth_then_refusals_with_a_wait(void **state)
{
    nb_bucket b = {0};
    nb_window w[] = {{60, 600}}; /* burst 60, refill 540 a minute */
    int granted = 0;
    for (int i = 0; i < 100; i++)
        granted += nb_bucket_take(&b, w, 1, 1.0, 1000).granted;
    assert_int_equal(granted, 60);
    nb_take t = nb_bucket_take(&b, w, 1, 1.0, 1000);
    assert_false(t.granted);
    assert_in_range(t.retry_after_ms, 100, 112); /* 60000 ms / 540 per token */
    t = nb_bucket_take(&b, w, 1, 1.0, 1000 + t.retry_after_ms);
    assert_true(t.granted);
}

/* Called as fast as it allows, a window lets at most its limit through in
 * any interval of its length, wherever the interval starts. */
static void no_interval_sees_more_than_the_limit(void **state)
{
    nb_bucket b = {0};
    nb_window w[] = {{60, 600}};
    enum { STEP = 10, SPAN = 180000 };
    static int64_t at[SPAN / STEP * 2];
    int n = 0;
    for (int64_t now = 0; now < SPAN; now += STEP)
        while (nb_bucket_take(&b, w, 1, 1.0, now).granted)
            at[n++] = now;
    for (int i = 0, j = 0; i < n; i++) {
        while (at[j] <= at[i] - 60000)
            j++;
        assert_true(i - j + 1 <= 600);
    }
    assert_true(n > 1200); /* and it does let the limit's rate through */
}

static void every_window_must_hold_enough(void **state)
{
    nb_bucket b = {0};
    nb_window w[] = {{60, 600}, {3600, 30}}; /* the hour allows a burst of 3 */
    int granted = 0;
    for (int i = 0; i < 10; i++)
        granted += nb_bucket_take(&b, w, 2, 1.0, 0).granted;
    assert_int_equal(granted, 3);
    nb_take t = nb_bucket_take(&b, w, 2, 1.0, 0);
    assert_false(t.granted);
    assert_int_equal(t.window, 1);
    assert_in_range(t.retry_after_ms, 133000, 134000); /* 3600 s / 27 per token */
    /* The refused take took nothing from the minute. */
    assert_true(nb_bucket_level(&b, w, 0, 0) > 56.9);
}

static void a_costly_call_takes_more_and_never_more_than_a_burst(void **state)
{
    nb_bucket b = {0};
    int granted = 0;
    for (int i = 0; i < 100; i++)
        granted += nb_bucket_take(&b, open_meteo, 3, 2.5, 0).granted;
    assert_int_equal(granted, 24); /* 60 / 2.5 */
    nb_window tiny[] = {{60, 1}};  /* burst 1: a cost of 3 needs the whole bucket */
    nb_bucket t = {0};
    assert_true(nb_bucket_take(&t, tiny, 1, 3.0, 0).granted);
    assert_false(nb_bucket_take(&t, tiny, 1, 3.0, 30000).granted);
    assert_true(nb_bucket_take(&t, tiny, 1, 3.0, 60000).granted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_is_a_tenth_then_refusals_with_a_wait),
        cmocka_unit_test(no_interval_sees_more_than_the_limit),
        cmocka_unit_test(every_window_must_hold_enough),
        cmocka_unit_test(a_costly_call_takes_more_and_never_more_than_a_burst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
