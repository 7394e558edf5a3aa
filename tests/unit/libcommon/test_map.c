/* Hash map and keyed hash: put/get/replace/remove, growth, sweep, release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/map.h"

static void put_get_replace_remove(void **state)
{
    nb_map m;
    nb_map_init(&m);
    int a = 1, b = 2, c = 3;
    void *old = &c;
    assert_null(nb_map_get(&m, "berlin")); /* empty map */
    assert_int_equal(nb_map_put(&m, "berlin", &a, &old), NB_OK);
    assert_null(old);
    assert_int_equal(nb_map_put(&m, "paris", &b, NULL), NB_OK);
    assert_ptr_equal(nb_map_get(&m, "berlin"), &a);
    assert_ptr_equal(nb_map_get(&m, "paris"), &b);
    assert_null(nb_map_get(&m, "rome"));
    assert_int_equal(nb_map_put(&m, "berlin", &c, &old), NB_OK);
    assert_ptr_equal(old, &a);
    assert_ptr_equal(nb_map_get(&m, "berlin"), &c);
    assert_int_equal(nb_map_len(&m), 2);
    assert_ptr_equal(nb_map_remove(&m, "berlin"), &c);
    assert_null(nb_map_remove(&m, "berlin"));
    assert_int_equal(nb_map_len(&m), 1);
    nb_map_release(&m, NULL);
    assert_int_equal(nb_map_len(&m), 0);
}

static bool drop_even(const char *key, void *value, void *arg)
{
    int *n = value;
    if (*n % 2) return false;
    (*(int *)arg)++;
    free(n);
    return true;
}

static void grows_and_sweeps(void **state)
{
    nb_map m;
    nb_map_init(&m);
    char key[32];
    for (int i = 0; i < 10000; i++) {
        int *v = malloc(sizeof(*v));
        *v = i;
        snprintf(key, sizeof(key), "%d.00,%d.00", i % 90, i);
        assert_int_equal(nb_map_put(&m, key, v, NULL), NB_OK);
    }
    assert_int_equal(nb_map_len(&m), 10000);
    assert_true(m.nbuckets >= 10000); /* load factor stays <= 1 */
    for (int i = 0; i < 10000; i += 997) {
        snprintf(key, sizeof(key), "%d.00,%d.00", i % 90, i);
        int *v = nb_map_get(&m, key);
        assert_non_null(v);
        assert_int_equal(*v, i);
    }
    int dropped = 0;
    nb_map_sweep(&m, drop_even, &dropped);
    assert_int_equal(dropped, 5000);
    assert_int_equal(nb_map_len(&m), 5000);
    assert_null(nb_map_get(&m, "0.00,0.00"));
    nb_map_release(&m, free);
}

static void hash_is_keyed_and_spreads(void **state)
{
    /* Same input, same hash within a process; neighbours differ in many bits. */
    assert_true(nb_hash("52.52,13.41", 11) == nb_hash("52.52,13.41", 11));
    uint64_t x = nb_hash("52.52,13.41", 11) ^ nb_hash("52.52,13.42", 11);
    assert_true(__builtin_popcountll(x) > 12);
    assert_true(nb_hash("", 0) != nb_hash("a", 1));
    /* every input length path (tail bytes 0..7, several blocks) */
    char buf[40] = {0};
    uint64_t prev = 0;
    for (size_t n = 0; n < sizeof(buf); n++) {
        uint64_t h = nb_hash(buf, n);
        assert_true(h != prev);
        prev = h;
    }
}

static void stable_hash_agrees_across_processes(void **state)
{
    /* Pinned: ETags made from it must be the same in every replica and build. */
    assert_true(nb_hash_stable("52.52,13.41|1|7|Berlin", 22) == 0xdc35b46374b8599aULL);
    assert_true(nb_hash_stable("a", 1) != nb_hash("a", 1)); /* the table hash is keyed apart */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_replace_remove),
        cmocka_unit_test(grows_and_sweeps),
        cmocka_unit_test(hash_is_keyed_and_spreads),
        cmocka_unit_test(stable_hash_agrees_across_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
