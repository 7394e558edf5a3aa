/* Bounded blocking queue: order, the bound, timeouts, wakes, close, many threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

#include "nimbus/clock.h"
#include "nimbus/queue.h"

static int items[16];

static void fifo_and_bound(void **state)
{
    nb_queue q;
    assert_int_equal(nb_queue_init(&q, 3), NB_OK);
    assert_true(nb_queue_push(&q, &items[0]));
    assert_true(nb_queue_push(&q, &items[1]));
    assert_true(nb_queue_push(&q, &items[2]));
    assert_false(nb_queue_push(&q, &items[3])); /* full: refused at once */
    assert_int_equal(nb_queue_len(&q), 3);
    assert_ptr_equal(nb_queue_pop(&q, 0), &items[0]);
    assert_true(nb_queue_push(&q, &items[3])); /* wraps around the ring */
    void *out[8];
    assert_int_equal(nb_queue_pop_many(&q, out, 8, 0), 3);
    assert_ptr_equal(out[0], &items[1]);
    assert_ptr_equal(out[2], &items[3]);
    assert_null(nb_queue_try_pop(&q));
    nb_queue_release(&q);
    assert_int_equal(nb_queue_init(&q, 0), NB_ERR_INVALID);
}

static void pop_times_out(void **state)
{
    nb_queue q;
    assert_int_equal(nb_queue_init(&q, 4), NB_OK);
    int64_t t0 = nb_mono_ms();
    assert_null(nb_queue_pop(&q, 50));
    int64_t waited = nb_mono_ms() - t0;
    assert_true(waited >= 45);
    nb_queue_release(&q);
}

/* Runs one queue operation on another thread (while the test's pop waits). */
typedef struct queue_op {
    nb_queue *q;
    void (*fn)(nb_queue *q);
    pthread_t t;
} queue_op;

static void *run_op(void *arg)
{
    queue_op *op = arg;
    op->fn(op->q);
    return NULL;
}

static void start_op(queue_op *op, nb_queue *q, void (*fn)(nb_queue *q))
{
    *op = (queue_op){.q = q, .fn = fn};
    assert_int_equal(pthread_create(&op->t, NULL, run_op, op), 0);
}

static void close_wakes_waiters_and_drains(void **state)
{
    nb_queue q;
    assert_int_equal(nb_queue_init(&q, 4), NB_OK);
    assert_true(nb_queue_push(&q, &items[0]));
    nb_queue_close(&q);
    assert_false(nb_queue_push(&q, &items[1]));        /* closed: refused */
    assert_ptr_equal(nb_queue_pop(&q, -1), &items[0]); /* what is left still comes out */
    assert_null(nb_queue_pop(&q, -1));                 /* then NULL, without waiting */
    nb_queue_release(&q);

    assert_int_equal(nb_queue_init(&q, 4), NB_OK);
    queue_op op;
    start_op(&op, &q, nb_queue_close);
    assert_null(nb_queue_pop(&q, -1)); /* a blocked pop wakes on close */
    pthread_join(op.t, NULL);
    assert_true(nb_queue_closed(&q));
    nb_queue_release(&q);
}

static void wake_returns_null_once(void **state)
{
    nb_queue q;
    assert_int_equal(nb_queue_init(&q, 4), NB_OK);
    queue_op op;
    int64_t t0 = nb_mono_ms();
    start_op(&op, &q, nb_queue_wake);
    assert_null(nb_queue_pop(&q, 60000)); /* a blocked pop wakes without an item */
    pthread_join(op.t, NULL);
    assert_true(nb_mono_ms() - t0 < 30000);

    nb_queue_wake(&q); /* nobody waits: the next pop that finds it empty sees it */
    nb_queue_wake(&q); /* counts once */
    assert_true(nb_queue_push(&q, &items[0]));
    assert_ptr_equal(nb_queue_pop(&q, -1), &items[0]); /* items come first */
    t0 = nb_mono_ms();
    assert_null(nb_queue_pop(&q, 60000)); /* then the wake, at once */
    assert_true(nb_mono_ms() - t0 < 30000);
    t0 = nb_mono_ms();
    assert_null(nb_queue_pop(&q, 50)); /* seen: the next pop waits again */
    assert_true(nb_mono_ms() - t0 >= 45);
    nb_queue_release(&q);
}

#define PRODUCERS 4
#define PER_PRODUCER 20000

static void *produce(void *arg)
{
    nb_queue *q = arg;
    for (intptr_t i = 1; i <= PER_PRODUCER; i++)
        while (!nb_queue_push(q, (void *)i))
            sched_yield();
    return NULL;
}

static void many_producers_one_consumer(void **state)
{
    nb_queue q;
    assert_int_equal(nb_queue_init(&q, 64), NB_OK);
    pthread_t t[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, produce, &q), 0);
    long long sum = 0;
    for (int n = 0; n < PRODUCERS * PER_PRODUCER; n++)
        sum += (intptr_t)nb_queue_pop(&q, -1);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    assert_true(sum == (long long)PRODUCERS * PER_PRODUCER * (PER_PRODUCER + 1) / 2);
    assert_int_equal(nb_queue_len(&q), 0);
    nb_queue_release(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fifo_and_bound),
        cmocka_unit_test(pop_times_out),
        cmocka_unit_test(close_wakes_waiters_and_drains),
        cmocka_unit_test(wake_returns_null_once),
        cmocka_unit_test(many_producers_one_consumer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
