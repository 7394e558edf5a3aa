/* pool.c — fixed threads over an nb_queue of jobs (see pool.h). */
#include "pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "nimbus/clock.h"
#include "nimbus/queue.h"

typedef struct job {
    pool_fn run, drop;
    void *arg;
} job;

struct pool {
    nb_queue q;
    pthread_mutex_t lock;
    pthread_cond_t idle; /* a job finished */
    long running;
    pthread_t *threads;
    int nthreads;
};

static void *pool_main(void *arg)
{
    pool *p = arg;
    for (job *j; (j = nb_queue_pop(&p->q, -1));) { /* NULL: closed and empty */
        pthread_mutex_lock(&p->lock);
        p->running++;
        pthread_mutex_unlock(&p->lock);
        j->run(j->arg);
        free(j);
        pthread_mutex_lock(&p->lock);
        p->running--;
        pthread_cond_broadcast(&p->idle);
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

pool *api_pool_new(int threads, long max_queue)
{
    pool *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    if (nb_queue_init(&p->q, (size_t)max_queue) != NB_OK) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->idle, NULL);
    p->threads = calloc((size_t)threads, sizeof(*p->threads));
    for (int i = 0; p->threads && i < threads; i++)
        if (pthread_create(&p->threads[i], NULL, pool_main, p) == 0) p->nthreads++;
    if (p->nthreads == 0) {
        api_pool_free(p);
        return NULL;
    }
    return p;
}

nb_err api_pool_submit(pool *p, pool_fn run, pool_fn drop, void *arg)
{
    job *j = malloc(sizeof(*j));
    if (!j) return NB_ERR_NOMEM;
    *j = (job){.run = run, .drop = drop, .arg = arg};
    if (nb_queue_push(&p->q, j)) return NB_OK;
    free(j);
    return NB_ERR_UNAVAILABLE;
}

long api_pool_depth(pool *p)
{
    pthread_mutex_lock(&p->lock);
    long running = p->running;
    pthread_mutex_unlock(&p->lock);
    return (long)nb_queue_len(&p->q) + running;
}

void api_pool_close(pool *p)
{
    nb_queue_close(&p->q);
    for (job *j; (j = nb_queue_try_pop(&p->q));) {
        j->drop(j->arg);
        free(j);
    }
}

bool api_pool_drain(pool *p, int64_t deadline_ms)
{
    pthread_mutex_lock(&p->lock);
    while (p->running > 0 && nb_mono_ms() < deadline_ms) {
        struct timespec ts;
        nb_timespec_in(deadline_ms - nb_mono_ms(), &ts);
        pthread_cond_timedwait(&p->idle, &p->lock, &ts);
    }
    bool idle = p->running == 0;
    pthread_mutex_unlock(&p->lock);
    return idle;
}

void api_pool_free(pool *p)
{
    if (!p) return;
    api_pool_close(p);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_cond_destroy(&p->idle);
    pthread_mutex_destroy(&p->lock);
    nb_queue_release(&p->q);
    free(p);
}
