/* test_store.c — the store's read-through, write-through, monotonic and
 * degraded-mode rules, proved over two kv_mem backends (cache, database). */
#include <pthread.h>
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

#include "kv_mem.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"
#include "store.h"

typedef struct fixture {
    kv *cache, *db;
    store *st;
} fixture;

static int setup_with(void **state, size_t queue_cap)
{
    fixture *f = calloc(1, sizeof(*f));
    f->cache = ps_kv_mem_new("cache", 0);
    f->db = ps_kv_mem_new("db", 0);
    store_opts o = {.cache = f->cache,
                    .db = f->db,
                    .fill_queue_cap = queue_cap,
                    .probe_min_ms = 10,
                    .probe_max_ms = 40,
                    .health_interval_ms = 50};
    f->st = ps_store_new(&o);
    assert_non_null(f->st);
    assert_int_equal(ps_store_start(f->st), NB_OK);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, 0);
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

/* Waits up to timeout_ms for pred(arg); no bare sleeps: polls a condition. */
static bool wait_for(bool (*pred)(void *), void *arg, int timeout_ms)
{
    int64_t deadline = nb_mono_ms() + timeout_ms;
    while (nb_mono_ms() < deadline) {
        if (pred(arg)) return true;
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return pred(arg);
}

static uint64_t counter(const char *name, const char *labels)
{
    return nb_counter_get(nb_counter_new(name, labels, "test"));
}

static void put_ok(fixture *f, kv_ns ns, const char *key, int64_t v, int64_t exp, const char *data,
                   store_put_result *res)
{
    assert_int_equal(ps_store_put(f->st, ns, key, v, exp, data, strlen(data), res), NB_OK);
}

typedef struct peek_arg {
    kv *k;
    kv_ns ns;
    const char *key;
    int64_t want;
} peek_arg;

static bool holds_version(void *p)
{
    peek_arg *a = p;
    int64_t v;
    return ps_kv_mem_peek(a->k, a->ns, a->key, &v) == NB_OK && v == a->want;
}

static bool holds_nothing(void *p)
{
    peek_arg *a = p;
    int64_t v;
    return ps_kv_mem_peek(a->k, a->ns, a->key, &v) == NB_ERR_NOT_FOUND;
}

static bool dirty_empty(void *p)
{
    return ps_store_dirty_count(p) == 0;
}

/* --- tests ---------------------------------------------------------------- */

static void cache_hit_is_answered_without_the_database(void **state)
{
    fixture *f = *state;
    store_put_result res;
    kv_value v;
    store_backend from;

    put_ok(f, KV_NS_RECORD, "1.00,2.00", 1000, 0, "{\"a\":1}", &res);
    assert_true(res.applied);
    assert_true(res.cache_written);
    unsigned db_gets = ps_kv_mem_gets(f->db);
    uint64_t hits = counter("nimbus_store_hits_total", "store=\"cache\"");

    assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, "1.00,2.00", &v, &from), NB_OK);
    assert_int_equal(from, STORE_CACHE);
    assert_string_equal(v.data, "{\"a\":1}");
    assert_int_equal(v.version_ms, 1000);
    ps_kv_value_release(&v);
    assert_int_equal(ps_kv_mem_gets(f->db), db_gets);
    assert_int_equal(counter("nimbus_store_hits_total", "store=\"cache\""), hits + 1);
}

static void cache_miss_database_hit_fills_the_cache(void **state)
{
    fixture *f = *state;
    kv_put_result r;
    kv_value v;
    store_backend from;
    uint64_t fills = counter("nimbus_store_cache_fills_total", NULL);

    /* only the database has it */
    assert_int_equal(
        ps_kv_put_if_newer(f->db, KV_NS_RECORD, "3.00,4.00", 2000, 0, "{\"b\":2}", 7, &r), NB_OK);
    assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, "3.00,4.00", &v, &from), NB_OK);
    assert_int_equal(from, STORE_DB);
    assert_string_equal(v.data, "{\"b\":2}");
    ps_kv_value_release(&v);

    peek_arg a = {f->cache, KV_NS_RECORD, "3.00,4.00", 2000};
    assert_true(wait_for(holds_version, &a, 2000));
    assert_int_equal(counter("nimbus_store_cache_fills_total", NULL), fills + 1);

    assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, "3.00,4.00", &v, &from), NB_OK);
    assert_int_equal(from, STORE_CACHE);
    ps_kv_value_release(&v);
}

static void full_miss_is_not_found(void **state)
{
    fixture *f = *state;
    kv_value v;
    store_backend from;
    assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, "5.00,6.00", &v, &from), NB_ERR_NOT_FOUND);
    assert_null(v.data);
}

static void database_down_reads_from_cache_and_refuses_writes(void **state)
{
    fixture *f = *state;
    store_put_result res;
    kv_value v;
    store_backend from;

    put_ok(f, KV_NS_RECORD, "7.00,8.00", 1000, 0, "{\"c\":3}", &res);
    ps_kv_mem_set_down(f->db, true);

    /* cache hit: served */
    assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, "7.00,8.00", &v, &from), NB_OK);
    assert_int_equal(from, STORE_CACHE);
    ps_kv_value_release(&v);
    /* cache miss: the database cannot be asked */
    assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, "9.00,9.00", &v, &from), NB_ERR_UNAVAILABLE);
    assert_false(ps_store_backend_up(f->st, STORE_DB));
    /* writes: nothing acknowledged, the cache untouched */
    unsigned cache_puts = ps_kv_mem_puts(f->cache);
    assert_int_equal(ps_store_put(f->st, KV_NS_RECORD, "7.00,8.00", 5000, 0, "{}", 2, &res),
                     NB_ERR_UNAVAILABLE);
    assert_int_equal(ps_kv_mem_puts(f->cache), cache_puts);
    int64_t ver;
    assert_int_equal(ps_kv_mem_peek(f->cache, KV_NS_RECORD, "7.00,8.00", &ver), NB_OK);
    assert_int_equal(ver, 1000);

    /* back: the probe notices without any request */
    uint64_t reconnects = counter("nimbus_backend_reconnects_total", "backend=\"db\"");
    ps_kv_mem_set_down(f->db, false);
    int64_t deadline = nb_mono_ms() + 2000;
    while (!ps_store_backend_up(f->st, STORE_DB) && nb_mono_ms() < deadline)
        nanosleep(&(struct timespec){0, 2000000L}, NULL);
    assert_true(ps_store_backend_up(f->st, STORE_DB));
    assert_int_equal(counter("nimbus_backend_reconnects_total", "backend=\"db\""), reconnects + 1);
    put_ok(f, KV_NS_RECORD, "7.00,8.00", 5000, 0, "{}", &res);
    assert_true(res.applied);
}

static void breaker_skips_a_down_cache_then_uses_it_again(void **state)
{
    fixture *f = *state;
    store_put_result res;
    kv_value v;
    store_backend from;

    put_ok(f, KV_NS_RECORD, "10.00,10.00", 1000, 0, "{}", &res);
    ps_kv_mem_set_down(f->cache, true);
    assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, "10.00,10.00", &v, &from), NB_OK);
    assert_int_equal(from, STORE_DB);
    ps_kv_value_release(&v);
    assert_false(ps_store_backend_up(f->st, STORE_CACHE));
    assert_true(ps_kv_mem_resets(f->cache) >= 1); /* connections dropped */

    /* while open, requests don't touch the cache */
    unsigned gets = ps_kv_mem_gets(f->cache);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, "10.00,10.00", &v, &from), NB_OK);
        assert_int_equal(from, STORE_DB);
        ps_kv_value_release(&v);
    }
    assert_int_equal(ps_kv_mem_gets(f->cache), gets);

    ps_kv_mem_set_down(f->cache, false);
    int64_t deadline = nb_mono_ms() + 2000;
    while (!ps_store_backend_up(f->st, STORE_CACHE) && nb_mono_ms() < deadline)
        nanosleep(&(struct timespec){0, 2000000L}, NULL);
    assert_true(ps_store_backend_up(f->st, STORE_CACHE));
    /* the read fills it again */
    assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, "10.00,10.00", &v, &from), NB_OK);
    ps_kv_value_release(&v);
    peek_arg a = {f->cache, KV_NS_RECORD, "10.00,10.00", 1000};
    assert_true(wait_for(holds_version, &a, 2000));
}

static void monotonic_writes_keep_the_newest(void **state)
{
    fixture *f = *state;
    store_put_result res;
    int64_t v;

    put_ok(f, KV_NS_RECORD, "11.00,11.00", 2000, 0, "{\"v\":2}", &res);
    assert_true(res.applied);
    put_ok(f, KV_NS_RECORD, "11.00,11.00", 1000, 0, "{\"v\":1}", &res);
    assert_false(res.applied);
    assert_false(res.cache_written);
    assert_int_equal(res.stored_ms, 2000);
    put_ok(f, KV_NS_RECORD, "11.00,11.00", 2000, 0, "{\"v\":2b}", &res);
    assert_false(res.applied); /* equal is not newer */
    assert_int_equal(ps_kv_mem_peek(f->db, KV_NS_RECORD, "11.00,11.00", &v), NB_OK);
    assert_int_equal(v, 2000);
    assert_int_equal(ps_kv_mem_peek(f->cache, KV_NS_RECORD, "11.00,11.00", &v), NB_OK);
    assert_int_equal(v, 2000);
}

typedef struct writer_arg {
    fixture *f;
    int id;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *a = p;
    for (int i = 0; i < 50; i++) {
        store_put_result res;
        int64_t ver = 10000 + (int64_t)((i * 7 + a->id * 13) % 200);
        char body[32];
        snprintf(body, sizeof(body), "{\"v\":%lld}", (long long)ver);
        ps_store_put(a->f->st, KV_NS_RECORD, "12.00,12.00", ver, 0, body, strlen(body), &res);
    }
    return NULL;
}

static void concurrent_writers_leave_the_newest_in_both_stores(void **state)
{
    fixture *f = *state;
    pthread_t t[8];
    writer_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (writer_arg){f, i};
        pthread_create(&t[i], NULL, writer, &a[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    int64_t v;
    assert_int_equal(ps_kv_mem_peek(f->db, KV_NS_RECORD, "12.00,12.00", &v), NB_OK);
    assert_int_equal(v, 10199);
    assert_int_equal(ps_kv_mem_peek(f->cache, KV_NS_RECORD, "12.00,12.00", &v), NB_OK);
    assert_int_equal(v, 10199);
}

static void negative_geocode_entries_expire(void **state)
{
    fixture *f = *state;
    store_put_result res;
    kv_value v;
    store_backend from;
    int64_t now = nb_now_ms();

    put_ok(f, KV_NS_GEOCODE, "atlantis", now, now + 150, "{\"found\":false}", &res);
    assert_true(res.applied);
    assert_int_equal(ps_store_get(f->st, KV_NS_GEOCODE, "atlantis", &v, &from), NB_OK);
    ps_kv_value_release(&v);
    peek_arg a = {f->db, KV_NS_GEOCODE, "atlantis", 0};
    assert_true(wait_for(holds_nothing, &a, 2000)); /* expired in the database */
    assert_int_equal(ps_store_get(f->st, KV_NS_GEOCODE, "atlantis", &v, &from), NB_ERR_NOT_FOUND);

    /* an entry that has already expired is never served */
    put_ok(f, KV_NS_GEOCODE, "lemuria", now - 10000, now - 5000, "{\"found\":false}", &res);
    assert_int_equal(ps_store_get(f->st, KV_NS_GEOCODE, "lemuria", &v, &from), NB_ERR_NOT_FOUND);

    /* a newer entry replaces an expired one */
    put_ok(f, KV_NS_GEOCODE, "atlantis", now + 1, 0, "{\"found\":true}", &res);
    assert_true(res.applied);
    assert_int_equal(ps_store_get(f->st, KV_NS_GEOCODE, "atlantis", &v, &from), NB_OK);
    assert_string_equal(v.data, "{\"found\":true}");
    ps_kv_value_release(&v);
}

static void failed_cache_write_is_never_served_stale(void **state)
{
    fixture *f = *state;
    store_put_result res;
    kv_value v;
    store_backend from;

    put_ok(f, KV_NS_RECORD, "13.00,13.00", 1000, 0, "{\"v\":1}", &res);
    assert_true(res.cache_written);
    ps_kv_mem_set_down(f->cache, true);
    put_ok(f, KV_NS_RECORD, "13.00,13.00", 2000, 0, "{\"v\":2}", &res);
    assert_true(res.applied);
    assert_false(res.cache_written);
    assert_int_equal(ps_store_dirty_count(f->st), 1);

    /* the cache comes back still holding v1: it must not be served */
    ps_kv_mem_set_down(f->cache, false);
    assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, "13.00,13.00", &v, &from), NB_OK);
    assert_string_equal(v.data, "{\"v\":2}");
    ps_kv_value_release(&v);
    /* once the cache is back the stale key is deleted there, and the next
     * read fills it with v2 */
    assert_true(wait_for(dirty_empty, f->st, 3000));
    assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, "13.00,13.00", &v, &from), NB_OK);
    assert_string_equal(v.data, "{\"v\":2}");
    ps_kv_value_release(&v);
    peek_arg a = {f->cache, KV_NS_RECORD, "13.00,13.00", 2000};
    assert_true(wait_for(holds_version, &a, 3000));
}

static void dirty_keys_are_invalidated_when_the_cache_returns(void **state)
{
    fixture *f = *state;
    store_put_result res;
    uint64_t inval = counter("nimbus_store_cache_invalidations_total", NULL);

    put_ok(f, KV_NS_RECORD, "14.00,14.00", 1000, 0, "{\"v\":1}", &res);
    ps_kv_mem_set_down(f->cache, true);
    put_ok(f, KV_NS_RECORD, "14.00,14.00", 2000, 0, "{\"v\":2}", &res);
    assert_false(res.cache_written);
    ps_kv_mem_set_down(f->cache, false);
    /* no request needed: the fill thread deletes the key once the cache answers */
    assert_true(wait_for(dirty_empty, f->st, 3000));
    peek_arg a = {f->cache, KV_NS_RECORD, "14.00,14.00", 0};
    assert_true(holds_nothing(&a));
    assert_true(counter("nimbus_store_cache_invalidations_total", NULL) >= inval + 1);
}

/* --- batched cache reads ---------------------------------------------------- */

typedef struct read_probe {
    atomic_int calls;
    nb_err rc;
    int64_t version;
} read_probe;

static void on_read(void *arg, nb_err rc, kv_value *v)
{
    read_probe *p = arg;
    p->rc = rc;
    if (rc == NB_OK) {
        p->version = v->version_ms;
        ps_kv_value_release(v);
    }
    atomic_fetch_add(&p->calls, 1);
}

static bool answered(void *p)
{
    return atomic_load(&((read_probe *)p)->calls) > 0;
}

static void batched_reads_answer_hits_and_hand_back_misses(void **state)
{
    fixture *f = *state;
    store_put_result res;
    put_ok(f, KV_NS_RECORD, "20.00,20.00", 4242, 0, "{}", &res);

    read_probe hit = {0}, miss = {0};
    assert_true(ps_store_get_cached_async(f->st, KV_NS_RECORD, "20.00,20.00", on_read, &hit));
    assert_true(ps_store_get_cached_async(f->st, KV_NS_RECORD, "21.00,21.00", on_read, &miss));
    assert_true(wait_for(answered, &hit, 2000));
    assert_true(wait_for(answered, &miss, 2000));
    assert_int_equal(hit.rc, NB_OK);
    assert_int_equal(hit.version, 4242);
    assert_int_equal(miss.rc, NB_ERR_NOT_FOUND); /* the caller asks the database next */
    assert_int_equal(atomic_load(&hit.calls), 1);

    /* A down cache takes no batched reads: the caller uses ps_store_get(). */
    ps_kv_mem_set_down(f->cache, true);
    kv_value v;
    store_backend from;
    assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, "20.00,20.00", &v, &from), NB_OK);
    ps_kv_value_release(&v);
    read_probe refused = {0};
    assert_false(ps_store_get_cached_async(f->st, KV_NS_RECORD, "20.00,20.00", on_read, &refused));
    assert_int_equal(atomic_load(&refused.calls), 0);
}

static void stopping_reads_hands_back_what_is_queued(void **state)
{
    fixture *f = *state;
    ps_store_stop_reads(f->st);
    read_probe p = {0};
    assert_false(ps_store_get_cached_async(f->st, KV_NS_RECORD, "20.00,20.00", on_read, &p));
}

/* --- dirty keys and the skew ------------------------------------------------ */

/* The fill thread is held inside the cache's DEL (the key stays dirty while
 * the cache is up), and no cache call may run on the test's own thread. */
typedef struct del_gate {
    pthread_t test_thread;
    atomic_bool open;
    atomic_int fill_dels, own_calls;
} del_gate;

static void gate_hook(void *arg, const char *op)
{
    del_gate *g = arg;
    if (pthread_equal(pthread_self(), g->test_thread)) {
        atomic_fetch_add(&g->own_calls, 1);
        return;
    }
    if (strcmp(op, "del") != 0) return;
    atomic_fetch_add(&g->fill_dels, 1);
    while (!atomic_load(&g->open))
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
}

static bool fill_thread_in_del(void *p)
{
    return atomic_load(&((del_gate *)p)->fill_dels) > 0;
}

static void dirty_keys_are_read_from_the_database_without_calling_the_cache(void **state)
{
    fixture *f = *state;
    store_put_result res;
    kv_value v;
    store_backend from;
    del_gate g = {.test_thread = pthread_self()};

    put_ok(f, KV_NS_RECORD, "15.00,15.00", 1000, 0, "{\"v\":1}", &res);
    ps_kv_mem_set_down(f->cache, true);
    put_ok(f, KV_NS_RECORD, "15.00,15.00", 2000, 0, "{\"v\":2}", &res);
    assert_false(res.cache_written);
    ps_kv_mem_on_call(f->cache, gate_hook, &g);
    ps_kv_mem_set_down(f->cache, false);
    assert_true(wait_for(fill_thread_in_del, &g, 3000)); /* the cache is up, the key dirty */
    assert_true(ps_store_backend_up(f->st, STORE_CACHE));
    assert_int_equal(ps_store_dirty_count(f->st), 1);

    /* the polling thread's path: no batched cache read for it, no cache call */
    read_probe p = {0};
    assert_false(ps_store_get_cached_async(f->st, KV_NS_RECORD, "15.00,15.00", on_read, &p));
    /* the worker's path: the database answers, the cache is not called either */
    assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, "15.00,15.00", &v, &from), NB_OK);
    assert_int_equal(from, STORE_DB);
    assert_string_equal(v.data, "{\"v\":2}");
    ps_kv_value_release(&v);
    assert_int_equal(atomic_load(&g.own_calls), 0);

    atomic_store(&g.open, true);
    assert_true(wait_for(dirty_empty, f->st, 3000));
    ps_kv_mem_on_call(f->cache, NULL, NULL);
    /* the older copy is gone (the database read may have been written back) */
    int64_t ver = 0;
    assert_true(ps_kv_mem_peek(f->cache, KV_NS_RECORD, "15.00,15.00", &ver) == NB_ERR_NOT_FOUND ||
                ver == 2000);
}

static void versions_from_the_future_are_refused(void **state)
{
    fixture *f = *state;
    store_put_result res;
    int64_t v, now = nb_now_ms();

    assert_int_equal(ps_store_max_skew_ms(f->st), 60000);
    assert_int_equal(
        ps_store_put(f->st, KV_NS_RECORD, "16.00,16.00", now + 3600000, 0, "{}", 2, &res),
        NB_ERR_INVALID);
    assert_false(res.applied);
    assert_int_equal(ps_kv_mem_peek(f->db, KV_NS_RECORD, "16.00,16.00", &v), NB_ERR_NOT_FOUND);
    assert_int_equal(ps_kv_mem_peek(f->cache, KV_NS_RECORD, "16.00,16.00", &v), NB_ERR_NOT_FOUND);
    assert_int_equal(
        ps_store_put(f->st, KV_NS_GEOCODE, "utopia", now + 120000, now + 240000, "{}", 2, &res),
        NB_ERR_INVALID);
    /* within the skew: stored */
    put_ok(f, KV_NS_RECORD, "16.00,16.00", now + 30000, 0, "{}", &res);
    assert_true(res.applied);
    /* the expiry of an entry is not a version: far in the future is fine */
    put_ok(f, KV_NS_GEOCODE, "utopia", now, now + 86400000, "{}", &res);
    assert_true(res.applied);
}

static int setup_small_skew(void **state)
{
    setup(state);
    fixture *f = *state;
    ps_store_free(f->st);
    store_opts o = {.cache = f->cache, .db = f->db, .max_skew_ms = 1000};
    f->st = ps_store_new(&o);
    return ps_store_start(f->st) == NB_OK ? 0 : -1;
}

static void the_skew_is_a_setting(void **state)
{
    fixture *f = *state;
    store_put_result res;
    assert_int_equal(ps_store_max_skew_ms(f->st), 1000);
    assert_int_equal(
        ps_store_put(f->st, KV_NS_RECORD, "17.00,17.00", nb_now_ms() + 5000, 0, "{}", 2, &res),
        NB_ERR_INVALID);
    put_ok(f, KV_NS_RECORD, "17.00,17.00", nb_now_ms() + 500, 0, "{}", &res);
    assert_true(res.applied);
}

static int setup_small_queue(void **state)
{
    return setup_with(state, 1);
}

static void full_fill_queue_drops_with_a_counter(void **state)
{
    fixture *f = *state;
    kv_put_result r;
    kv_value v;
    store_backend from;
    char key[16];
    uint64_t dropped = counter("nimbus_store_cache_fill_dropped_total", NULL);

    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof(key), "%d.00,1.00", 20 + i);
        ps_kv_put_if_newer(f->db, KV_NS_RECORD, key, 1000, 0, "{}", 2, &r);
    }
    ps_kv_mem_set_delay_ms(f->cache, 100); /* the fill thread is slow */
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof(key), "%d.00,1.00", 20 + i);
        assert_int_equal(ps_store_get(f->st, KV_NS_RECORD, key, &v, &from), NB_OK);
        ps_kv_value_release(&v);
    }
    assert_true(counter("nimbus_store_cache_fill_dropped_total", NULL) >= dropped + 3);
    ps_kv_mem_set_delay_ms(f->cache, 0);
}

int main(void)
{
    nb_log_init("persistence-test", NB_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(cache_hit_is_answered_without_the_database, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(cache_miss_database_hit_fills_the_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(full_miss_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(database_down_reads_from_cache_and_refuses_writes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(breaker_skips_a_down_cache_then_uses_it_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(monotonic_writes_keep_the_newest, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_writers_leave_the_newest_in_both_stores, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(negative_geocode_entries_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_cache_write_is_never_served_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(dirty_keys_are_invalidated_when_the_cache_returns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            dirty_keys_are_read_from_the_database_without_calling_the_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(versions_from_the_future_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(the_skew_is_a_setting, setup_small_skew, teardown),
        cmocka_unit_test_setup_teardown(batched_reads_answer_hits_and_hand_back_misses, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stopping_reads_hands_back_what_is_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(full_fill_queue_drops_with_a_counter, setup_small_queue,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
