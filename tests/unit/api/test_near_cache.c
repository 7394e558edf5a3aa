/* The api's near-cache of persistence's answers: a copy is fresh for
 * persistence's max-age after a 200 or a 304, never goes back to an older
 * record, keeps the documents of the record it holds, and stays within its
 * memory bound. Time is passed in (monotonic ms), so nothing here sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "near_cache.h"

#define KEY "52.52,13.41"

static fl_result *rec(const char *key, int64_t fetched, const char *source)
{
    fl_result *r = api_fl_result_new(FL_RECORD);
    snprintf(r->rec->rec.key, sizeof(r->rec->rec.key), "%s", key);
    r->rec->rec.fetched_at_ms = fetched;
    r->rec->rec.current.temperature = (double)fetched;
    snprintf(r->rec->source, sizeof(r->rec->source), "%s", source);
    return r;
}

/* Puts a record fetched at fetched as persistence's answer "<fetched>". */
static void put(near_cache *c, const char *key, int64_t fetched, int64_t max_age_ms, int64_t now)
{
    char etag[32];
    snprintf(etag, sizeof(etag), "\"%lld\"", (long long)fetched);
    fl_result *r = rec(key, fetched, "cache");
    api_nc_put(c, key, r, etag, max_age_ms, now);
    api_fl_result_unref(r);
}

static void fresh_for_max_age_then_asks_again(void **state)
{
    near_cache *c = api_nc_new(1 << 20);
    nc_copy cp;
    assert_false(api_nc_get(c, KEY, 0, &cp));
    put(c, KEY, 1000, 1000, 5000);
    assert_true(api_nc_get(c, KEY, 5000, &cp));
    assert_true(cp.fresh);
    assert_string_equal(cp.etag, "\"1000\"");
    assert_int_equal(cp.rec->rec->rec.fetched_at_ms, 1000);
    assert_string_equal(cp.rec->rec->source, "cache");
    api_nc_copy_release(&cp);
    assert_true(api_nc_get(c, KEY, 5999, &cp) && cp.fresh);
    api_nc_copy_release(&cp);
    /* max-age over: still kept (its validator is what the api asks with), not fresh */
    assert_true(api_nc_get(c, KEY, 6000, &cp));
    assert_false(cp.fresh);
    assert_string_equal(cp.etag, "\"1000\"");
    api_nc_copy_release(&cp);
    api_nc_free(c);
}

static void max_age_zero_is_never_fresh(void **state)
{
    near_cache *c = api_nc_new(1 << 20);
    nc_copy cp;
    put(c, KEY, 1000, 0, 5000);
    assert_true(api_nc_get(c, KEY, 5000, &cp));
    assert_false(cp.fresh);
    api_nc_copy_release(&cp);
    api_nc_free(c);
}

static void a_304_refreshes_the_copys_age(void **state)
{
    near_cache *c = api_nc_new(1 << 20);
    nc_copy cp;
    put(c, KEY, 1000, 1000, 5000);
    /* another version: no confirmation */
    assert_null(api_nc_confirm(c, KEY, "\"999\"", "cache", 1000, 7000));
    assert_true(api_nc_get(c, KEY, 7000, &cp));
    assert_false(cp.fresh);
    api_nc_copy_release(&cp);
    /* persistence confirms the version at 7000: fresh again until 8000 */
    fl_result *kept = api_nc_confirm(c, KEY, "\"1000\"", "cache", 1000, 7000);
    assert_non_null(kept);
    assert_int_equal(kept->rec->rec.fetched_at_ms, 1000);
    api_fl_result_unref(kept);
    assert_true(api_nc_get(c, KEY, 7999, &cp) && cp.fresh);
    api_nc_copy_release(&cp);
    assert_true(api_nc_get(c, KEY, 8000, &cp) && !cp.fresh);
    api_nc_copy_release(&cp);
    api_nc_free(c);
}

static void a_304_from_another_store_says_so(void **state)
{
    near_cache *c = api_nc_new(1 << 20);
    char etag[] = "\"1000\"";
    fl_result *r = rec(KEY, 1000, "database");
    api_nc_put(c, KEY, r, etag, 1000, 0);
    api_fl_result_unref(r);
    nc_doc *d = api_nc_doc_new("{\"a\":1", 6);
    api_nc_put_doc(c, KEY, 1000, "7||", d);
    api_nc_doc_unref(d);
    fl_result *kept = api_nc_confirm(c, KEY, etag, "cache", 1000, 2000);
    assert_non_null(kept);
    assert_string_equal(kept->rec->source, "cache");
    api_fl_result_unref(kept);
    nc_copy cp;
    assert_true(api_nc_get(c, KEY, 2000, &cp) && cp.fresh);
    assert_string_equal(cp.rec->rec->source, "cache");
    api_nc_copy_release(&cp);
    /* the same record: its documents stay */
    d = api_nc_get_doc(c, KEY, 1000, "7||");
    assert_non_null(d);
    api_nc_doc_unref(d);
    api_nc_free(c);
}

static void never_back_to_an_older_record(void **state)
{
    near_cache *c = api_nc_new(1 << 20);
    nc_copy cp;
    put(c, KEY, 2000, 1000, 0);
    nc_doc *d = api_nc_doc_new("new", 3);
    api_nc_put_doc(c, KEY, 2000, "7||", d);
    api_nc_doc_unref(d);
    /* an answer that crossed a newer write comes late: ignored */
    put(c, KEY, 1000, 1000, 10);
    assert_true(api_nc_get(c, KEY, 10, &cp));
    assert_int_equal(cp.rec->rec->rec.fetched_at_ms, 2000);
    assert_string_equal(cp.etag, "\"2000\"");
    api_nc_copy_release(&cp);
    d = api_nc_get_doc(c, KEY, 2000, "7||");
    assert_non_null(d);
    api_nc_doc_unref(d);
    /* a newer record replaces it, and its documents go with it */
    put(c, KEY, 3000, 1000, 20);
    assert_true(api_nc_get(c, KEY, 20, &cp));
    assert_int_equal(cp.rec->rec->rec.fetched_at_ms, 3000);
    api_nc_copy_release(&cp);
    assert_null(api_nc_get_doc(c, KEY, 2000, "7||"));
    assert_null(api_nc_get_doc(c, KEY, 3000, "7||"));
    api_nc_free(c);
}

static void documents_per_variant_of_the_kept_record(void **state)
{
    near_cache *c = api_nc_new(1 << 20);
    put(c, KEY, 1000, 1000, 0);
    char name[32];
    for (int i = 0; i < NC_VARIANTS + 2; i++) {
        snprintf(name, sizeof(name), "%d|Berlin|DE", i + 1);
        nc_doc *d = api_nc_doc_new(name, strlen(name));
        api_nc_put_doc(c, KEY, 1000, name, d);
        api_nc_doc_unref(d);
    }
    int kept = 0;
    for (int i = 0; i < NC_VARIANTS + 2; i++) {
        snprintf(name, sizeof(name), "%d|Berlin|DE", i + 1);
        nc_doc *d = api_nc_get_doc(c, KEY, 1000, name);
        if (d) {
            assert_memory_equal(d->data, name, strlen(name));
            kept++;
        }
        api_nc_doc_unref(d);
    }
    assert_int_equal(kept, NC_VARIANTS);
    /* the latest ones are among them */
    nc_doc *d = api_nc_get_doc(c, KEY, 1000, name);
    assert_non_null(d);
    api_nc_doc_unref(d);
    /* a document of another record is not kept, nor found for it */
    nc_doc *old = api_nc_doc_new("old", 3);
    api_nc_put_doc(c, KEY, 999, "1|Berlin|DE", old);
    api_nc_doc_unref(old);
    assert_null(api_nc_get_doc(c, KEY, 999, "1|Berlin|DE"));
    api_nc_free(c);
}

static void the_apis_own_write_is_a_fresh_copy(void **state)
{
    near_cache *c = api_nc_new(1 << 20);
    put(c, KEY, 1000, 2000, 0); /* persistence's max-age: 2 s */
    fl_result *fetched = rec(KEY, 5000, "upstream");
    api_nc_put_written(c, KEY, fetched, "cache", "\"5000\"", 100);
    api_fl_result_unref(fetched);
    nc_copy cp;
    assert_true(api_nc_get(c, KEY, 2099, &cp));
    assert_true(cp.fresh);
    assert_int_equal(cp.rec->rec->rec.fetched_at_ms, 5000);
    assert_string_equal(cp.rec->rec->source, "cache");
    assert_string_equal(cp.etag, "\"5000\"");
    api_nc_copy_release(&cp);
    assert_true(api_nc_get(c, KEY, 2100, &cp) && !cp.fresh);
    api_nc_copy_release(&cp);
    api_nc_drop(c, KEY);
    assert_false(api_nc_get(c, KEY, 2100, &cp));
    api_nc_free(c);
}

static void memory_stays_bounded_least_recently_used_go(void **state)
{
    size_t bound = 512 * 1024; /* about 25 records with hourly data and a document each */
    near_cache *c = api_nc_new(bound);
    char key[NB_KEY_MAX], doc[2048];
    memset(doc, 'x', sizeof(doc));
    nc_copy cp;
    put(c, "0.00,0.00", 1, 60000, 0);
    for (int i = 1; i < 500; i++) {
        snprintf(key, sizeof(key), "%d.00,%d.00", i % 90, i / 90);
        put(c, key, i + 1, 60000, 0);
        nc_doc *d = api_nc_doc_new(doc, sizeof(doc));
        api_nc_put_doc(c, key, i + 1, "7||", d);
        api_nc_doc_unref(d);
        assert_true(api_nc_bytes(c) <= bound);
        /* the first key is used all the time: it stays */
        assert_true(api_nc_get(c, "0.00,0.00", 0, &cp));
        api_nc_copy_release(&cp);
    }
    assert_true(api_nc_len(c) > 5);
    assert_true(api_nc_len(c) < 100);
    assert_false(api_nc_get(c, "1.00,0.00", 0, &cp)); /* an early, unused one went */
    api_nc_free(c);
}

static void zero_keeps_nothing(void **state)
{
    near_cache *c = api_nc_new(0);
    nc_copy cp;
    put(c, KEY, 1000, 1000, 0);
    assert_false(api_nc_get(c, KEY, 0, &cp));
    assert_int_equal(api_nc_bytes(c), 0);
    api_nc_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_for_max_age_then_asks_again),
        cmocka_unit_test(max_age_zero_is_never_fresh),
        cmocka_unit_test(a_304_refreshes_the_copys_age),
        cmocka_unit_test(a_304_from_another_store_says_so),
        cmocka_unit_test(never_back_to_an_older_record),
        cmocka_unit_test(documents_per_variant_of_the_kept_record),
        cmocka_unit_test(the_apis_own_write_is_a_fresh_copy),
        cmocka_unit_test(memory_stays_bounded_least_recently_used_go),
        cmocka_unit_test(zero_keeps_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
