/* The lease client (lease.c) against persistence's in-memory double: one
 * fetcher per key across replicas, the others get its value or its failure,
 * a dead holder blocks a key only until its lease's TTL, and without a lease
 * service a replica fetches alone. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "doubles.h"
#include "lease.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"

#define KEY "52.52,13.41"

static store_mem *sm;
static leases *replica_a, *replica_b;
static atomic_bool stop;

static int setup(void **state)
{
    sm = store_mem_new();
    atomic_store(&stop, false);
    lease_opts o = {.ttl_ms = 400, .poll_ms = 2000, .stop = &stop};
    replica_a = api_leases_new(store_mem_base(sm), &o);
    replica_b = api_leases_new(store_mem_base(sm), &o);
    return 0;
}

static int teardown(void **state)
{
    api_leases_free(replica_a);
    api_leases_free(replica_b);
    api_store_free(store_mem_base(sm));
    return 0;
}

static int64_t in_ms(long ms)
{
    return nb_mono_ms() + ms;
}

/* A's fetch: the lease, then (after ms) its record written as the api writes
 * it, with the lease named in the PUT path. */
typedef struct holder {
    long fetch_ms;
    char token[40];
    lease_verdict v;
} holder;

static void *hold_and_write(void *arg)
{
    holder *h = arg;
    nb_record rec;
    char source[16];
    nb_error err = {0};
    h->v = api_lease_record(replica_a, KEY, 0, in_ms(5000), h->token, &rec, source, &err);
    struct timespec ts = {0, h->fetch_ms * 1000000L};
    nanosleep(&ts, NULL);
    test_record(&rec, KEY, nb_now_ms(), 21.5, "2026-11-24T10:00");
    size_t len;
    char *body = nb_record_dump(&rec, &len);
    char *path = api_store_with_lease(api_store_record_path(KEY, NULL), h->token);
    store_put_result res;
    api_store_put(store_mem_base(sm), path, body, len, 0, &res, &err);
    free(path);
    free(body);
    return NULL;
}

static void one_fetches_the_other_gets_its_record(void **state)
{
    holder h = {.fetch_ms = 200};
    pthread_t t;
    pthread_create(&t, NULL, hold_and_write, &h);
    while (store_mem_leases_granted(sm) == 0) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    nb_record rec;
    char token[40], source[16];
    nb_error err = {0};
    int64_t t0 = nb_mono_ms();
    assert_int_equal(api_lease_record(replica_b, KEY, 0, in_ms(5000), token, &rec, source, &err),
                     LEASE_GOT);
    assert_true(nb_mono_ms() - t0 >= 100);        /* it waited for A's write... */
    assert_true(rec.current.temperature == 21.5); /* ...and has A's record */
    assert_string_equal(source, "cache");
    assert_string_equal(token, "");
    pthread_join(t, NULL);
    assert_int_equal(h.v, LEASE_FETCH);
    assert_true(h.token[0] != '\0');
    assert_false(store_mem_lease_held(sm, KEY)); /* the PUT released it */
    assert_int_equal(store_mem_leases_granted(sm), 1);
}

static void a_failure_is_told_not_repeated(void **state)
{
    char token[40], other[40], source[16];
    nb_record rec;
    nb_error err = {0};
    assert_int_equal(api_lease_record(replica_a, KEY, 0, in_ms(5000), token, &rec, source, &err),
                     LEASE_FETCH);
    nb_error why = {.code = NB_ERR_UPSTREAM, .retry_after_s = 30};
    snprintf(why.msg, sizeof(why.msg), "upstream forecast answered 500");
    api_lease_fail(replica_a, STORE_LEASE_RECORD, KEY, token, 1000, &why);
    assert_int_equal(api_lease_record(replica_b, KEY, 0, in_ms(5000), other, &rec, source, &err),
                     LEASE_FAILED);
    assert_int_equal(err.code, NB_ERR_UNAVAILABLE);
    assert_int_equal(err.retry_after_s, 30);
    assert_non_null(strstr(err.msg, "upstream forecast answered 500"));
    assert_int_equal(store_mem_leases_granted(sm), 1);
}

static void a_dead_holder_blocks_the_key_until_its_ttl_only(void **state)
{
    char token[40], source[16];
    nb_record rec;
    nb_error err = {0};
    /* A takes the lease and dies: it never writes nor releases. */
    assert_int_equal(api_lease_record(replica_a, KEY, 0, in_ms(5000), token, &rec, source, &err),
                     LEASE_FETCH);
    int64_t t0 = nb_mono_ms();
    assert_int_equal(api_lease_record(replica_b, KEY, 0, in_ms(5000), token, &rec, source, &err),
                     LEASE_FETCH);
    int64_t waited = nb_mono_ms() - t0;
    assert_true(waited >= 300 && waited < 2000); /* the TTL (400 ms), not the deadline */
    assert_true(token[0] != '\0');
    assert_int_equal(store_mem_leases_granted(sm), 2);
}

static void someone_renewed_it_already(void **state)
{
    nb_record stored;
    test_record(&stored, KEY, nb_now_ms(), 7.5, "2026-11-24T10:00");
    store_mem_put_record(sm, &stored);
    char token[40], source[16];
    nb_record rec;
    nb_error err = {0};
    /* B saw an hour-old version: the newer one is read, nothing is fetched. */
    assert_int_equal(api_lease_record(replica_b, KEY, stored.fetched_at_ms - 3600000, in_ms(5000),
                                      token, &rec, source, &err),
                     LEASE_GOT);
    assert_true(rec.current.temperature == 7.5);
    assert_int_equal(store_mem_leases_granted(sm), 0);
}

static void without_the_lease_service_a_replica_fetches_alone(void **state)
{
    store_mem_coord_down(sm, true);
    char token[40], source[16];
    nb_record rec;
    nb_error err = {0};
    assert_int_equal(api_lease_record(replica_a, KEY, 0, in_ms(5000), token, &rec, source, &err),
                     LEASE_FETCH);
    assert_string_equal(token, "");
}

static void a_wait_ends_at_the_deadline_or_a_stop(void **state)
{
    char token[40], other[40], source[16];
    nb_record rec;
    nb_error err = {0};
    lease_opts o = {.ttl_ms = 60000, .poll_ms = 100, .stop = &stop};
    leases *long_a = api_leases_new(store_mem_base(sm), &o);
    assert_int_equal(api_lease_record(long_a, KEY, 0, in_ms(5000), token, &rec, source, &err),
                     LEASE_FETCH);
    int64_t t0 = nb_mono_ms();
    assert_int_equal(api_lease_record(replica_b, KEY, 0, in_ms(300), other, &rec, source, &err),
                     LEASE_FAILED);
    assert_int_equal(err.code, NB_ERR_TIMEOUT);
    assert_true(nb_mono_ms() - t0 < 1500);
    atomic_store(&stop, true);
    t0 = nb_mono_ms();
    assert_int_equal(api_lease_record(long_a, KEY, 0, in_ms(60000), other, &rec, source, &err),
                     LEASE_FAILED);
    assert_int_equal(err.code, NB_ERR_UNAVAILABLE);
    assert_true(nb_mono_ms() - t0 < 1500); /* within one poll */
    api_leases_free(long_a);
}

static void geocoding_has_its_own_leases(void **state)
{
    char token[40], other[40];
    nb_geo_entry g;
    nb_error err = {0};
    assert_int_equal(api_lease_geo(replica_a, "berlin", in_ms(5000), token, &g, &err), LEASE_FETCH);
    /* A writes the entry, releasing its lease; B, asking after, reads it. */
    nb_geo_entry e = {.found = true, .resolved_at_ms = nb_now_ms()};
    snprintf(e.query, sizeof(e.query), "berlin");
    snprintf(e.place.name, sizeof(e.place.name), "Berlin");
    snprintf(e.place.timezone, sizeof(e.place.timezone), "Europe/Berlin");
    e.place.latitude = 52.52;
    e.place.longitude = 13.41;
    size_t len;
    char *body = nb_geo_dump(&e, &len);
    char *path = api_store_with_lease(api_store_geo_path("berlin"), token);
    store_put_result res;
    assert_int_equal(api_store_put(store_mem_base(sm), path, body, len, 0, &res, &err), NB_OK);
    free(path);
    free(body);
    assert_int_equal(api_lease_geo(replica_b, "berlin", in_ms(5000), other, &g, &err), LEASE_GOT);
    assert_true(g.found);
    assert_string_equal(g.place.name, "Berlin");
}

int main(void)
{
    nb_log_init("lease-test", NB_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_fetches_the_other_gets_its_record, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failure_is_told_not_repeated, setup, teardown),
        cmocka_unit_test_setup_teardown(a_dead_holder_blocks_the_key_until_its_ttl_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(someone_renewed_it_already, setup, teardown),
        cmocka_unit_test_setup_teardown(without_the_lease_service_a_replica_fetches_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_wait_ends_at_the_deadline_or_a_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(geocoding_has_its_own_leases, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
