/* Token bucket: a tenth of a minute's worth at once, then refusals with a
 * Retry-After. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "pace.h"

static void burst_then_refusal(void **state)
{
    pace *p = pace_new(600); /* 10 a second, burst 60 */
    int retry = 0;
    for (int i = 0; i < 60; i++)
        assert_true(pace_take(p, &retry));
    assert_false(pace_take(p, &retry));
    assert_true(retry >= 1);
    pace_free(p);
}

static void slow_pace_retry_after(void **state)
{
    pace *p = pace_new(1); /* burst 1, one a minute */
    int retry = 0;
    assert_true(pace_take(p, &retry));
    assert_false(pace_take(p, &retry));
    assert_in_range(retry, 55, 60);
    assert_true(pace_available(p) < 1.0);
    pace_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_refusal),
        cmocka_unit_test(slow_pace_retry_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
