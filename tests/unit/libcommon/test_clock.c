/* Time formats: RFC 3339 and HTTP dates round-trip; bad input is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <time.h>

#include "nimbus/clock.h"

static void rfc3339_round_trip(void **state)
{
    char s[40];
    nb_time_rfc3339(1795478749123LL, s, sizeof(s));
    assert_string_equal(s, "2026-11-24T00:05:49.123Z");
    int64_t ms;
    assert_true(nb_time_parse_rfc3339(s, &ms));
    assert_int_equal(ms, 1795478749123LL);
    assert_true(nb_time_parse_rfc3339("2026-11-24T01:05:49+01:00", &ms));
    assert_int_equal(ms, 1795478749000LL);
    assert_true(nb_time_parse_rfc3339("2026-11-24T00:05:49.5Z", &ms));
    assert_int_equal(ms, 1795478749500LL);
}

static void rfc3339_rejects_garbage(void **state)
{
    int64_t ms;
    assert_false(nb_time_parse_rfc3339("", &ms));
    assert_false(nb_time_parse_rfc3339("2026-11-24", &ms));
    assert_false(nb_time_parse_rfc3339("2026-13-24T00:05:49Z", &ms));
    assert_false(nb_time_parse_rfc3339("2026-11-24T00:05:49", &ms));
    assert_false(nb_time_parse_rfc3339("2026-11-24T00:05:49Zjunk", &ms));
}

/* Only what nb_time_rfc3339 can print back parses (found by fuzz_text). */
static void rfc3339_years_0000_to_9999_in_utc(void **state)
{
    int64_t ms;
    char s[40];
    assert_true(nb_time_parse_rfc3339("0000-01-01T00:00:00Z", &ms));
    assert_int_equal(ms, NB_TIME_MIN_MS);
    nb_time_rfc3339(ms, s, sizeof(s));
    assert_string_equal(s, "0000-01-01T00:00:00.000Z");
    assert_true(nb_time_parse_rfc3339("9999-12-31T23:59:59.999Z", &ms));
    assert_int_equal(ms, NB_TIME_MAX_MS);
    nb_time_rfc3339(ms, s, sizeof(s));
    assert_string_equal(s, "9999-12-31T23:59:59.999Z");
    assert_false(nb_time_parse_rfc3339("0000-01-01T00:00:00+00:01", &ms));
    assert_false(nb_time_parse_rfc3339("9999-12-31T23:59:59-00:01", &ms));
    assert_true(nb_time_parse_rfc3339("0000-01-01T00:59:00+00:59", &ms));
}

static void http_date(void **state)
{
    char s[40];
    nb_time_http(1795478749999LL, s, sizeof(s));
    assert_string_equal(s, "Tue, 24 Nov 2026 00:05:49 GMT");
    nb_time_http(-1, s, sizeof(s));
    assert_string_equal(s, "Wed, 31 Dec 1969 23:59:59 GMT");
}

/* Condition-variable deadlines on the monotonic clock: normalised, in the
 * future or (for a negative wait) already past. */
static void mono_deadlines(void **state)
{
    (void)state;
    struct timespec now, later, before;
    clock_gettime(CLOCK_MONOTONIC, &now);
    nb_mono_timespec_in(1500, &later);
    nb_mono_timespec_in(-1500, &before);
    for (int i = 0; i < 2; i++) {
        const struct timespec *t = i ? &later : &before;
        assert_true(t->tv_nsec >= 0 && t->tv_nsec < 1000000000L);
    }
    int64_t n = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    int64_t l = (int64_t)later.tv_sec * 1000 + later.tv_nsec / 1000000;
    int64_t b = (int64_t)before.tv_sec * 1000 + before.tv_nsec / 1000000;
    assert_in_range(l - n, 1500, 2500);
    assert_in_range(n - b, 1000, 1500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc3339_round_trip),
        cmocka_unit_test(rfc3339_rejects_garbage),
        cmocka_unit_test(rfc3339_years_0000_to_9999_in_utc),
        cmocka_unit_test(http_date),
        cmocka_unit_test(mono_deadlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
