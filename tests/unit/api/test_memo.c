/* The api's memo: records and rendered documents per key, replaced by newer
 * versions, bounded, and documents tied to the record they were made from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "memo.h"

static nb_record rec(const char *key, int64_t fetched)
{
    nb_record r;
    memset(&r, 0, sizeof(r));
    snprintf(r.key, sizeof(r.key), "%s", key);
    r.fetched_at_ms = fetched;
    r.current.temperature = (double)fetched;
    return r;
}

static void records_and_documents(void **state)
{
    memo *m = memo_new(100);
    char etag[MEMO_ETAG_MAX];
    nb_record out;
    assert_false(memo_get(m, "52.52,13.41", etag, &out));
    nb_record r1 = rec("52.52,13.41", 1000);
    memo_put(m, "52.52,13.41", "\"1000\"", &r1);
    assert_true(memo_get(m, "52.52,13.41", etag, &out));
    assert_string_equal(etag, "\"1000\"");
    assert_int_equal(out.fetched_at_ms, 1000);

    size_t len;
    assert_null(memo_get_doc(m, "52.52,13.41", 1000, "7|Berlin|DE", &len));
    memo_put_doc(m, "52.52,13.41", 1000, "7|Berlin|DE", "{\"a\":1", 6);
    char *doc = memo_get_doc(m, "52.52,13.41", 1000, "7|Berlin|DE", &len);
    assert_non_null(doc);
    assert_int_equal(len, 6);
    assert_memory_equal(doc, "{\"a\":1", 6);
    free(doc);
    assert_null(memo_get_doc(m, "52.52,13.41", 1000, "3|Berlin|DE", &len)); /* other days */
    memo_put_doc(m, "52.52,13.41", 999, "7|x|", "old", 3); /* not the remembered record */
    assert_null(memo_get_doc(m, "52.52,13.41", 999, "7|x|", &len));

    /* A newer record replaces the old one and its document. */
    nb_record r2 = rec("52.52,13.41", 2000);
    memo_put(m, "52.52,13.41", "\"2000\"", &r2);
    assert_true(memo_get(m, "52.52,13.41", etag, &out));
    assert_int_equal(out.fetched_at_ms, 2000);
    assert_null(memo_get_doc(m, "52.52,13.41", 1000, "7|Berlin|DE", &len));
    memo_free(m);
}

static void bounded(void **state)
{
    memo *m = memo_new(64); /* one per stripe */
    char key[NB_KEY_MAX], etag[MEMO_ETAG_MAX];
    nb_record out;
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "%d.00,%d.00", i % 90, i / 90);
        nb_record r = rec(key, i);
        memo_put(m, key, "\"x\"", &r);
    }
    int kept = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "%d.00,%d.00", i % 90, i / 90);
        kept += memo_get(m, key, etag, &out);
    }
    assert_true(kept <= 64);
    assert_true(kept > 0);
    memo_free(m);
}

static void zero_remembers_nothing(void **state)
{
    memo *m = memo_new(0);
    nb_record r = rec("1.00,1.00", 1), out;
    char etag[MEMO_ETAG_MAX];
    memo_put(m, "1.00,1.00", "\"1\"", &r);
    assert_false(memo_get(m, "1.00,1.00", etag, &out));
    memo_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(records_and_documents),
        cmocka_unit_test(bounded),
        cmocka_unit_test(zero_remembers_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
