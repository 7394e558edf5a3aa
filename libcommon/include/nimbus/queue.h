/* queue.h — a bounded blocking FIFO of pointers, for hand-offs between threads.
 *
 * Multi-producer, multi-consumer. Capacity is fixed at init: a push to a full
 * queue fails at once (the caller decides what "full" means: 503, drop with a
 * metric, ...), it never blocks. Pops block until an item arrives, the queue
 * is closed, or a timeout passes. After nb_queue_close() pushes fail and pops
 * drain what is left, then return NULL.
 *
 * Ownership: the queue holds borrowed pointers; items still queued at
 * nb_queue_release() are the caller's (drain with nb_queue_try_pop first).
 * A consumer that also has other work (timers, state changed elsewhere) can
 * be woken without an item: nb_queue_wake().
 * Threads: every function but init/release may be called from any thread. */
#ifndef NIMBUS_QUEUE_H
#define NIMBUS_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nimbus/err.h"

typedef struct nb_queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty; /* CLOCK_MONOTONIC */
    void **ring;
    size_t cap, head, len;
    bool closed;
    bool woken; /* nb_queue_wake() not yet seen by a pop */
} nb_queue;

/* NB_ERR_NOMEM, or NB_ERR_INVALID for cap 0. */
nb_err nb_queue_init(nb_queue *q, size_t cap);
void nb_queue_release(nb_queue *q);

/* false when the queue is full or closed (item untouched, still the caller's). */
bool nb_queue_push(nb_queue *q, void *item);
/* The oldest item; waits up to timeout_ms (< 0: forever). NULL on timeout, or
 * when the queue is closed and empty. */
void *nb_queue_pop(nb_queue *q, int64_t timeout_ms);
/* Up to max items into out (oldest first), waiting as nb_queue_pop for the
 * first one only. Returns how many (0 on timeout or closed and empty). */
size_t nb_queue_pop_many(nb_queue *q, void **out, size_t max, int64_t timeout_ms);
/* The oldest item or NULL, without waiting. */
void *nb_queue_try_pop(nb_queue *q);
/* The next pop that finds the queue empty (one waiting now, or the next one
 * to come) returns NULL at once, as on a timeout: "look at your other work".
 * Wakes of the same empty spell count once. */
void nb_queue_wake(nb_queue *q);
/* Pushes fail from now on; every waiting pop wakes. Idempotent. */
void nb_queue_close(nb_queue *q);
size_t nb_queue_len(nb_queue *q);
bool nb_queue_closed(nb_queue *q);

#endif
