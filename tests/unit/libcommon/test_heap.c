/* Min-heap: order, removal from the middle, re-insertion, many random keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "nimbus/heap.h"

typedef struct item {
    int id;
    nb_heap_node node;
} item;

static item *of(nb_heap_node *n)
{
    return n ? NB_CONTAINER_OF(n, item, node) : NULL;
}

static void smallest_first(void **state)
{
    nb_heap h;
    nb_heap_init(&h);
    item it[5];
    for (int i = 0; i < 5; i++)
        it[i].id = i;
    int64_t keys[5] = {50, 10, 40, 20, 30};
    for (int i = 0; i < 5; i++)
        assert_int_equal(nb_heap_push(&h, &it[i].node, keys[i]), NB_OK);
    assert_int_equal(nb_heap_len(&h), 5);
    assert_int_equal(of(nb_heap_peek(&h))->id, 1);
    int want[] = {1, 3, 4, 2, 0};
    for (int i = 0; i < 5; i++) {
        item *x = of(nb_heap_pop(&h));
        assert_non_null(x);
        assert_int_equal(x->id, want[i]);
        assert_false(nb_heap_node_queued(&x->node));
    }
    assert_null(nb_heap_pop(&h));
    nb_heap_release(&h);
}

static void remove_from_anywhere(void **state)
{
    nb_heap h;
    nb_heap_init(&h);
    item it[6];
    for (int i = 0; i < 6; i++) {
        it[i].id = i;
        assert_int_equal(nb_heap_push(&h, &it[i].node, 100 - i * 10), NB_OK);
    }
    nb_heap_remove(&h, &it[3].node); /* a middle one */
    nb_heap_remove(&h, &it[3].node); /* twice: no-op */
    nb_heap_remove(&h, &it[5].node); /* the smallest */
    assert_int_equal(nb_heap_len(&h), 4);
    assert_int_equal(of(nb_heap_pop(&h))->id, 4);
    /* re-insert a removed node with a new key */
    assert_int_equal(nb_heap_push(&h, &it[3].node, 1), NB_OK);
    assert_int_equal(of(nb_heap_pop(&h))->id, 3);
    assert_int_equal(of(nb_heap_pop(&h))->id, 2);
    nb_heap_release(&h);
    assert_false(nb_heap_node_queued(&it[0].node)); /* release marks leftovers out */
}

static void many_random_keys(void **state)
{
    enum { N = 2000 };
    nb_heap h;
    nb_heap_init(&h);
    item *it = calloc(N, sizeof(*it));
    srand(7);
    for (int i = 0; i < N; i++) {
        it[i].id = i;
        assert_int_equal(nb_heap_push(&h, &it[i].node, rand() % 500), NB_OK);
    }
    for (int i = 0; i < N; i += 3)
        nb_heap_remove(&h, &it[i].node);
    int64_t last = -1;
    size_t n = 0;
    for (nb_heap_node *x; (x = nb_heap_pop(&h));) {
        assert_true(x->key >= last);
        last = x->key;
        assert_true(of(x)->id % 3 != 0);
        n++;
    }
    assert_int_equal(n, N - (N + 2) / 3);
    nb_heap_release(&h);
    free(it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(smallest_first),
        cmocka_unit_test(remove_from_anywhere),
        cmocka_unit_test(many_random_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
