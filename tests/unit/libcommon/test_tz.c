/* Time zone offsets read from tzdata without touching TZ: the same answers as
 * glibc's localtime_r for zones east and west, with and without DST, with
 * half-hour offsets, in the past, now and far past the transition tables
 * (where the POSIX footer rule decides); POSIX rules on their own; unknown
 * zones and unsafe names refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "nimbus/tz.h"

/* glibc's answer (this test is single-threaded, so setting TZ is fine). */
static int libc_offset(const char *zone, int64_t t)
{
    setenv("TZ", zone, 1);
    tzset();
    time_t tt = (time_t)t;
    struct tm tm;
    assert_non_null(localtime_r(&tt, &tm));
    return (int)tm.tm_gmtoff;
}

static void matches_libc_hour_by_hour(void **state)
{
    static const char *const zones[] = {
        "Europe/Berlin",    "America/New_York",  "America/Los_Angeles", "Australia/Sydney",
        "Pacific/Auckland", "Asia/Kolkata",      "Asia/Tokyo",          "America/Sao_Paulo",
        "America/Santiago", "Europe/London",     "Asia/Tehran",         "Australia/Lord_Howe",
        "America/St_Johns", "Africa/Casablanca", "Europe/Dublin",       "America/Nuuk",
        "Pacific/Chatham",  "Asia/Kathmandu",    "America/Havana",      "Etc/GMT+5",
    };
    /* 2025..2027 hour by hour, then samples up to 2100 (past fat tables). */
    static const int64_t from = 1735689600, to = 1830297600; /* 2025-01-01, 2028-01-01 */
    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        int off;
        for (int64_t t = from; t < to; t += 3600) {
            assert_true(nb_tz_offset(zones[z], t, &off));
            if (off != libc_offset(zones[z], t))
                fail_msg("%s at %lld: %d, libc %d", zones[z], (long long)t, off,
                         libc_offset(zones[z], t));
        }
        for (int64_t t = to; t < 4102444800; t += 86400 * 7 + 3600 * 5) {
            assert_true(nb_tz_offset(zones[z], t, &off));
            if (off != libc_offset(zones[z], t))
                fail_msg("%s at %lld: %d, libc %d", zones[z], (long long)t, off,
                         libc_offset(zones[z], t));
        }
        /* and before 1970 */
        assert_true(nb_tz_offset(zones[z], -1000000000, &off));
        assert_int_equal(off, libc_offset(zones[z], -1000000000));
    }
    unsetenv("TZ");
}

static void posix_rules(void **state)
{
    int off;
    /* Central Europe: last Sunday of March 02:00 → last Sunday of October 03:00 */
    const char *cet = "CET-1CEST,M3.5.0,M10.5.0/3";
    assert_true(nb_tz_posix_offset(cet, 1774745999, &off)); /* 2026-03-29T00:59:59Z */
    assert_int_equal(off, 3600);
    assert_true(nb_tz_posix_offset(cet, 1774746000, &off)); /* 01:00Z: 03:00 CEST */
    assert_int_equal(off, 7200);
    assert_true(nb_tz_posix_offset(cet, 1792890000, &off)); /* 2026-10-25T01:00Z */
    assert_int_equal(off, 3600);
    /* southern hemisphere: DST across the new year */
    const char *syd = "AEST-10AEDT,M10.1.0,M4.1.0/3";
    assert_true(nb_tz_posix_offset(syd, 1767225600, &off)); /* 2026-01-01 */
    assert_int_equal(off, 11 * 3600);
    assert_true(nb_tz_posix_offset(syd, 1782864000, &off)); /* 2026-07-01 */
    assert_int_equal(off, 10 * 3600);
    /* angle-bracket names, negative rule times, no DST */
    assert_true(nb_tz_posix_offset("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 1782864000, &off));
    assert_int_equal(off, -3600);
    assert_true(nb_tz_posix_offset("<+0530>-5:30", 0, &off));
    assert_int_equal(off, 19800);
    assert_true(nb_tz_posix_offset("EST5EDT", 1782864000, &off)); /* US rules by default */
    assert_int_equal(off, -4 * 3600);
    /* Julian day forms */
    assert_true(nb_tz_posix_offset("XST3XDT,J60/0,J300/0", 1782864000, &off));
    assert_int_equal(off, -2 * 3600);
    static const char *const bad[] = {"",
                                      "C",
                                      "CET",
                                      "CET-1CEST,M13.1.0,M10.5.0",
                                      "CET-1CEST,M3.5.0",
                                      "CET-1CEST,M3.5.0,M10.5.0/3x",
                                      "<-02",
                                      "CET-99"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(nb_tz_posix_offset(bad[i], 0, &off));
}

static void gmt_unknown_and_unsafe_names(void **state)
{
    int off = 99;
    assert_true(nb_tz_offset("GMT", 1782864000, &off));
    assert_int_equal(off, 0);
    assert_true(nb_tz_offset("UTC", 1782864000, &off));
    assert_int_equal(off, 0);
    off = 99;
    assert_false(nb_tz_offset("Mars/Olympus_Mons", 0, &off));
    assert_false(nb_tz_offset("../../etc/passwd", 0, &off));
    assert_false(nb_tz_offset("/etc/localtime", 0, &off));
    assert_false(nb_tz_offset("Europe/Berlin\n", 0, &off));
    assert_false(nb_tz_offset("", 0, &off));
    assert_false(nb_tz_offset(NULL, 0, &off));
    assert_false(nb_tz_offset("posixrules/x", 0, &off));
    assert_int_equal(off, 99);
    assert_true(nb_tz_name_ok("America/Argentina/Buenos_Aires"));
    assert_true(nb_tz_name_ok("Etc/GMT+5"));
    assert_false(nb_tz_name_ok("Europe/Ber lin"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_libc_hour_by_hour),
        cmocka_unit_test(posix_rules),
        cmocka_unit_test(gmt_unknown_and_unsafe_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
