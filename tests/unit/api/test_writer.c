/* The writer: a write persistence refuses (4xx) is dropped and counted; a key
 * whose writes keep failing (5xx) is retried on its own backoff without
 * holding up other keys; the newest write for a key supersedes an older one;
 * shutdown flushes within its deadline and reports what is left as lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "doubles.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "writer.h"

static atomic_int outcomes[4];
static atomic_int events;

static void on_done(void *arg, writer_outcome o, const store_put_result *res)
{
    atomic_fetch_add(&outcomes[o], 1);
    if (o == WR_STORED) assert_non_null(res);
}

static void on_event(void *ctx)
{
    atomic_fetch_add(&events, 1);
}

static void reset(void)
{
    for (int i = 0; i < 4; i++)
        atomic_store(&outcomes[i], 0);
    atomic_store(&events, 0);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        int64_t until_ = nb_mono_ms() + 5000;                                                      \
        while (!(cond) && nb_mono_ms() < until_)                                                   \
            sleep_ms(2);                                                                           \
        assert_true(cond);                                                                         \
    } while (0)

static void put_record(writer *w, const char *key, int64_t fetched_at, const char *obs)
{
    nb_record r;
    test_record(&r, key, fetched_at, 5, obs);
    size_t len;
    char *body = nb_record_dump(&r, &len);
    assert_int_equal(
        api_writer_put(w, key, api_store_record_path(key, NULL), body, len, on_done, NULL), NB_OK);
}

static writer *make(store_mem *m, long max_pending)
{
    writer_opts o = {.max_pending = max_pending,
                     .base_backoff_ms = 100,
                     .max_backoff_ms = 400,
                     .on_event = on_event};
    return api_writer_new(store_mem_base(m), &o);
}

static void a_refused_write_is_dropped_and_blocks_nobody(void **state)
{
    reset();
    store_mem *m = store_mem_new();
    store_mem_fail_puts(m, "/v1/records/1.00,1.00", 400);
    writer *w = make(m, 100);
    put_record(w, "1.00,1.00", 1000, "2026-11-24T01:00");
    for (int i = 0; i < 5; i++) {
        char key[NB_KEY_MAX];
        snprintf(key, sizeof(key), "2.%02d,2.00", i);
        put_record(w, key, 1000, "2026-11-24T01:00");
    }
    WAIT_FOR(atomic_load(&outcomes[WR_STORED]) == 5);
    assert_int_equal(atomic_load(&outcomes[WR_REFUSED]), 1);
    assert_int_equal(store_mem_puts(m, "/v1/records/1.00,1.00"), 1); /* never retried */
    assert_int_equal(atomic_load(&events), 5); /* each stored write made an outbox event */
    assert_int_equal(api_writer_depth(w), 0);
    api_writer_free(w);
    api_store_free(store_mem_base(m));
}

static void a_failing_key_retries_alone(void **state)
{
    reset();
    store_mem *m = store_mem_new();
    store_mem_fail_puts(m, "/v1/records/3.00,3.00", 503);
    writer *w = make(m, 100);
    put_record(w, "3.00,3.00", 1000, "2026-11-24T01:00");
    WAIT_FOR(store_mem_puts(m, "/v1/records/3.00,3.00") >= 2); /* retrying */
    int64_t t0 = nb_mono_ms();
    put_record(w, "4.00,4.00", 1000, "2026-11-24T01:00");
    WAIT_FOR(atomic_load(&outcomes[WR_STORED]) == 1);
    assert_true(nb_mono_ms() - t0 < 2000); /* not behind the failing key (it never lands) */
    WAIT_FOR(store_mem_puts(m, "/v1/records/3.00,3.00") >= 4); /* still retrying */
    store_mem_fail_puts(m, NULL, 0);
    WAIT_FOR(atomic_load(&outcomes[WR_STORED]) == 2); /* lands once persistence takes it */
    assert_int_equal(api_writer_depth(w), 0);
    api_writer_free(w);
    api_store_free(store_mem_base(m));
}

static void the_newest_write_for_a_key_supersedes(void **state)
{
    reset();
    store_mem *m = store_mem_new();
    store_mem_fail_puts(m, "/v1/records/5.00,5.00", 503);
    writer *w = make(m, 100);
    put_record(w, "5.00,5.00", 1000, "2026-11-24T01:00");
    WAIT_FOR(store_mem_puts(m, "/v1/records/5.00,5.00") >= 1);
    put_record(w, "5.00,5.00", 2000, "2026-11-24T02:00");
    put_record(w, "5.00,5.00", 3000, "2026-11-24T03:00");
    assert_int_equal(api_writer_depth(w), 1); /* one key, one pending write */
    store_mem_fail_puts(m, NULL, 0);
    WAIT_FOR(atomic_load(&outcomes[WR_STORED]) == 1);
    assert_int_equal(atomic_load(&outcomes[WR_SUPERSEDED]), 2);
    nb_record got;
    assert_true(store_mem_get(m, "5.00,5.00", &got));
    assert_int_equal(got.fetched_at_ms, 3000);
    api_writer_free(w);
    api_store_free(store_mem_base(m));
}

static void pending_writes_are_bounded(void **state)
{
    reset();
    store_mem *m = store_mem_new();
    store_mem_fail_puts(m, "/v1/records/", 503);
    writer *w = make(m, 3);
    for (int i = 0; i < 3; i++) {
        char key[NB_KEY_MAX];
        snprintf(key, sizeof(key), "6.%02d,6.00", i);
        put_record(w, key, 1000, "2026-11-24T01:00");
    }
    nb_record r;
    test_record(&r, "7.00,7.00", 1000, 5, "x");
    size_t len;
    char *body = nb_record_dump(&r, &len);
    assert_int_equal(api_writer_put(w, "7.00,7.00", api_store_record_path("7.00,7.00", NULL), body,
                                    len, on_done, NULL),
                     NB_ERR_UNAVAILABLE);
    assert_int_equal(atomic_load(&outcomes[WR_LOST]), 1);
    assert_int_equal(api_writer_depth(w), 3);
    /* Shutdown: one last attempt each within the deadline, then lost. */
    int64_t t0 = nb_mono_ms();
    api_writer_stop(w, nb_mono_ms() + 300);
    assert_true(nb_mono_ms() - t0 < 1000);
    assert_int_equal(atomic_load(&outcomes[WR_LOST]), 4);
    api_writer_free(w);
    api_store_free(store_mem_base(m));
}

static void stop_flushes_what_it_can(void **state)
{
    reset();
    store_mem *m = store_mem_new();
    writer *w = make(m, 100);
    for (int i = 0; i < 20; i++) {
        char key[NB_KEY_MAX];
        snprintf(key, sizeof(key), "8.%02d,8.00", i);
        put_record(w, key, 1000, "2026-11-24T01:00");
    }
    api_writer_stop(w, nb_mono_ms() + 2000);
    assert_int_equal(atomic_load(&outcomes[WR_STORED]), 20);
    assert_int_equal(atomic_load(&outcomes[WR_LOST]), 0);
    api_writer_free(w);
    api_store_free(store_mem_base(m));
}

int main(void)
{
    nb_log_init("writer-test", NB_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_refused_write_is_dropped_and_blocks_nobody),
        cmocka_unit_test(a_failing_key_retries_alone),
        cmocka_unit_test(the_newest_write_for_a_key_supersedes),
        cmocka_unit_test(pending_writes_are_bounded),
        cmocka_unit_test(stop_flushes_what_it_can),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
