/* test_coord.c — what replicas coordinate through, proved over kv_mem behind
 * the store: a lease is granted once, released by its holder only, ends with
 * its TTL, is refused when a newer version is stored, keeps a failure it is
 * released with; the budget is shared by every caller; a watch sees versions
 * and leases; and all of it goes through the cache's breaker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "kv_mem.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "store.h"

#define KEY "52.52,13.41"
#define TOKEN_A "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define TOKEN_B "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

typedef struct fixture {
    kv *cache, *db;
    store *st;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->cache = ps_kv_mem_new("cache", 0);
    f->db = ps_kv_mem_new("db", 0);
    store_opts o = {.cache = f->cache,
                    .db = f->db,
                    .probe_min_ms = 10,
                    .probe_max_ms = 40,
                    .health_interval_ms = 50};
    f->st = ps_store_new(&o);
    assert_int_equal(ps_store_start(f->st), NB_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ps_store_free(f->st);
    ps_kv_free(f->cache);
    ps_kv_free(f->db);
    free(f);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static kv_lease acquire(fixture *f, const char *token, int64_t ttl_ms, int64_t seen_ms)
{
    kv_lease l;
    assert_int_equal(ps_store_lease_acquire(f->st, KV_NS_RECORD, KEY, token, ttl_ms, seen_ms, &l),
                     NB_OK);
    return l;
}

static void a_lease_is_held_by_one_and_released_by_its_holder_only(void **state)
{
    fixture *f = *state;
    assert_int_equal(acquire(f, TOKEN_A, 5000, 0).state, KV_LEASE_GRANTED);
    kv_lease l = acquire(f, TOKEN_B, 5000, 0);
    assert_int_equal(l.state, KV_LEASE_HELD);
    assert_in_range(l.ttl_left_ms, 1, 5000);
    bool released = true;
    assert_int_equal(ps_store_lease_release(f->st, KV_NS_RECORD, KEY, TOKEN_B, 0, NULL, &released),
                     NB_OK);
    assert_false(released); /* not B's to release */
    assert_int_equal(acquire(f, TOKEN_B, 5000, 0).state, KV_LEASE_HELD);
    assert_int_equal(ps_store_lease_release(f->st, KV_NS_RECORD, KEY, TOKEN_A, 0, NULL, &released),
                     NB_OK);
    assert_true(released);
    assert_int_equal(acquire(f, TOKEN_B, 5000, 0).state, KV_LEASE_GRANTED);
    /* Another namespace is another lease. */
    kv_lease g;
    assert_int_equal(ps_store_lease_acquire(f->st, KV_NS_GEOCODE, KEY, TOKEN_A, 5000, 0, &g),
                     NB_OK);
    assert_int_equal(g.state, KV_LEASE_GRANTED);
}

static void a_dead_holders_lease_ends_with_its_ttl(void **state)
{
    fixture *f = *state;
    assert_int_equal(acquire(f, TOKEN_A, 100, 0).state, KV_LEASE_GRANTED);
    assert_int_equal(acquire(f, TOKEN_B, 100, 0).state, KV_LEASE_HELD);
    sleep_ms(150); /* A never releases */
    assert_int_equal(acquire(f, TOKEN_B, 100, 0).state, KV_LEASE_GRANTED);
}

static void no_lease_when_a_newer_version_is_stored(void **state)
{
    fixture *f = *state;
    store_put_result res;
    int64_t v = nb_now_ms();
    assert_int_equal(ps_store_put(f->st, KV_NS_RECORD, KEY, v, 0, "{}", 2, &res), NB_OK);
    kv_lease l = acquire(f, TOKEN_A, 5000, v - 600000); /* saw a stale one */
    assert_int_equal(l.state, KV_LEASE_NEWER);
    assert_true(l.version_ms == v);
    assert_int_equal(acquire(f, TOKEN_A, 5000, v).state, KV_LEASE_GRANTED);
}

static void a_failure_is_kept_for_its_hold(void **state)
{
    fixture *f = *state;
    bool released;
    assert_int_equal(acquire(f, TOKEN_A, 5000, 0).state, KV_LEASE_GRANTED);
    assert_int_equal(ps_store_lease_release(f->st, KV_NS_RECORD, KEY, TOKEN_A, 150,
                                            "30 upstream forecast answered 500", &released),
                     NB_OK);
    assert_true(released);
    kv_lease l = acquire(f, TOKEN_B, 5000, 0);
    assert_int_equal(l.state, KV_LEASE_FAILED);
    assert_int_equal(l.retry_after_s, 30);
    assert_string_equal(l.reason, "upstream forecast answered 500");
    kv_watch w;
    const char *keys[] = {KEY};
    kv_ns ns[] = {KV_NS_RECORD};
    assert_int_equal(ps_store_watch(f->st, 1, ns, keys, &w), NB_OK);
    assert_false(w.lease_held); /* nobody is renewing: waiters stop waiting */
    sleep_ms(200);
    assert_int_equal(acquire(f, TOKEN_B, 5000, 0).state, KV_LEASE_GRANTED);
}

static void the_budget_is_one_for_every_caller(void **state)
{
    fixture *f = *state;
    kv_window w[] = {{60, 60}, {3600, 5000}, {86400, 10000}};
    int granted = 0;
    kv_budget b;
    for (int i = 0; i < 20; i++) { /* two "replicas" asking in turn: one bucket */
        assert_int_equal(ps_store_budget_take(f->st, "upstream", 1.0, w, 3, &b), NB_OK);
        granted += b.granted;
    }
    assert_int_equal(granted, 6); /* a tenth of 60 */
    assert_false(b.granted);
    assert_int_equal(b.window_s, 60);
    assert_in_range(b.retry_after_ms, 1, 1200);
    assert_int_equal(ps_store_budget_take(f->st, "other", 1.0, w, 3, &b), NB_OK);
    assert_true(b.granted); /* another name, another budget */
}

static void watch_reads_versions_and_leases(void **state)
{
    fixture *f = *state;
    const char *keys[] = {KEY, "1.00,2.00"};
    kv_ns ns[] = {KV_NS_RECORD, KV_NS_RECORD};
    kv_watch w[2];
    store_put_result res;
    assert_int_equal(ps_store_put(f->st, KV_NS_RECORD, KEY, 1234, 0, "{}", 2, &res), NB_OK);
    assert_int_equal(acquire(f, TOKEN_A, 5000, 9999).state, KV_LEASE_GRANTED);
    assert_int_equal(ps_store_watch(f->st, 2, ns, keys, w), NB_OK);
    assert_true(w[0].version_ms == 1234 && w[0].lease_held);
    assert_true(w[1].version_ms == 0 && !w[1].lease_held);
}

/* Counts the calls a request made (the store's own probes of a down cache aside). */
static void count_call(void *arg, const char *op)
{
    if (strcmp(op, "ping") != 0) __atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
}

static void coordination_goes_through_the_caches_breaker(void **state)
{
    fixture *f = *state;
    kv_lease l;
    kv_window w[] = {{60, 600}};
    kv_budget b;
    ps_kv_mem_set_down(f->cache, true);
    assert_int_equal(ps_store_lease_acquire(f->st, KV_NS_RECORD, KEY, TOKEN_A, 5000, 0, &l),
                     NB_ERR_UNAVAILABLE);
    assert_false(ps_store_backend_up(f->st, STORE_CACHE)); /* marked down... */
    int calls = 0;
    ps_kv_mem_on_call(f->cache, count_call, &calls);
    assert_int_equal(ps_store_budget_take(f->st, "upstream", 1, w, 1, &b), NB_ERR_UNAVAILABLE);
    ps_kv_mem_on_call(f->cache, NULL, NULL);
    assert_int_equal(calls, 0); /* ...and not called while down */
    ps_kv_mem_set_down(f->cache, false);
    int64_t until = nb_mono_ms() + 5000;
    while (!ps_store_backend_up(f->st, STORE_CACHE) && nb_mono_ms() < until)
        sleep_ms(5);
    assert_int_equal(ps_store_lease_acquire(f->st, KV_NS_RECORD, KEY, TOKEN_A, 5000, 0, &l), NB_OK);
    assert_int_equal(l.state, KV_LEASE_GRANTED);
}

int main(void)
{
    nb_log_init("coord-test", NB_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_lease_is_held_by_one_and_released_by_its_holder_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_dead_holders_lease_ends_with_its_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(no_lease_when_a_newer_version_is_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failure_is_kept_for_its_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(the_budget_is_one_for_every_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(watch_reads_versions_and_leases, setup, teardown),
        cmocka_unit_test_setup_teardown(coordination_goes_through_the_caches_breaker, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
