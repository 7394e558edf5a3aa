/* pool.c — fixed threads over a bounded FIFO of jobs. */
#include "pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct job {
    struct job *next;
    pool_fn fn;
    void *arg;
} job;

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    job *head, **tail;
    long waiting, running, max_queue;
    bool stopping;
    pthread_t *threads;
    int nthreads;
};

static void *pool_main(void *arg)
{
    pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cond, &p->lock);
        job *j = p->head;
        if (!j) break;
        p->head = j->next;
        if (!p->head) p->tail = &p->head;
        p->waiting--;
        p->running++;
        pthread_mutex_unlock(&p->lock);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&p->lock);
        p->running--;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

pool *pool_new(int threads, long max_queue)
{
    pool *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->tail = &p->head;
    p->max_queue = max_queue;
    p->threads = calloc((size_t)threads, sizeof(*p->threads));
    for (int i = 0; p->threads && i < threads; i++)
        if (pthread_create(&p->threads[i], NULL, pool_main, p) == 0) p->nthreads++;
    if (p->nthreads == 0) {
        free(p->threads);
        free(p);
        return NULL;
    }
    return p;
}

nb_err pool_submit(pool *p, pool_fn fn, void *arg)
{
    job *j = malloc(sizeof(*j));
    if (!j) return NB_ERR_NOMEM;
    *j = (job){.fn = fn, .arg = arg};
    pthread_mutex_lock(&p->lock);
    if (p->stopping || p->waiting >= p->max_queue) {
        pthread_mutex_unlock(&p->lock);
        free(j);
        return NB_ERR_UNAVAILABLE;
    }
    *p->tail = j;
    p->tail = &j->next;
    p->waiting++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return NB_OK;
}

long pool_depth(pool *p)
{
    pthread_mutex_lock(&p->lock);
    long d = p->waiting + p->running;
    pthread_mutex_unlock(&p->lock);
    return d;
}

void pool_free(pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
