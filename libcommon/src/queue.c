/* queue.c — bounded blocking FIFO of pointers on a ring (see queue.h). */
#include "nimbus/queue.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "nimbus/clock.h"

nb_err nb_queue_init(nb_queue *q, size_t cap)
{
    *q = (nb_queue){.cap = cap};
    if (cap == 0) return NB_ERR_INVALID;
    q->ring = calloc(cap, sizeof(*q->ring));
    if (!q->ring) return NB_ERR_NOMEM;
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->nonempty, &ca);
    pthread_condattr_destroy(&ca);
    return NB_OK;
}

void nb_queue_release(nb_queue *q)
{
    if (!q->ring) return;
    pthread_cond_destroy(&q->nonempty);
    pthread_mutex_destroy(&q->lock);
    free(q->ring);
    q->ring = NULL;
}

bool nb_queue_push(nb_queue *q, void *item)
{
    pthread_mutex_lock(&q->lock);
    bool ok = !q->closed && q->len < q->cap;
    if (ok) {
        q->ring[(q->head + q->len) % q->cap] = item;
        q->len++;
        pthread_cond_signal(&q->nonempty);
    }
    pthread_mutex_unlock(&q->lock);
    return ok;
}

/* Caller holds the lock: waits for an item; false on timeout, a wake, or
 * closed+empty. */
static bool wait_item(nb_queue *q, int64_t timeout_ms)
{
    struct timespec until;
    if (timeout_ms >= 0) {
        nb_mono_timespec_in(timeout_ms, &until);
    }
    while (q->len == 0 && !q->closed && !q->woken) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->nonempty, &q->lock);
        } else if (pthread_cond_timedwait(&q->nonempty, &q->lock, &until) == ETIMEDOUT) {
            break;
        }
    }
    if (q->len > 0) return true;
    q->woken = false; /* seen */
    return false;
}

static void *take(nb_queue *q)
{
    void *item = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return item;
}

void *nb_queue_pop(nb_queue *q, int64_t timeout_ms)
{
    pthread_mutex_lock(&q->lock);
    void *item = wait_item(q, timeout_ms) ? take(q) : NULL;
    pthread_mutex_unlock(&q->lock);
    return item;
}

size_t nb_queue_pop_many(nb_queue *q, void **out, size_t max, int64_t timeout_ms)
{
    size_t n = 0;
    pthread_mutex_lock(&q->lock);
    if (max > 0 && wait_item(q, timeout_ms))
        while (n < max && q->len > 0)
            out[n++] = take(q);
    pthread_mutex_unlock(&q->lock);
    return n;
}

void *nb_queue_try_pop(nb_queue *q)
{
    return nb_queue_pop(q, 0);
}

void nb_queue_wake(nb_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->woken = true;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

void nb_queue_close(nb_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

size_t nb_queue_len(nb_queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->len;
    pthread_mutex_unlock(&q->lock);
    return n;
}

bool nb_queue_closed(nb_queue *q)
{
    pthread_mutex_lock(&q->lock);
    bool c = q->closed;
    pthread_mutex_unlock(&q->lock);
    return c;
}
