/* pool.h — a bounded pool of threads running queued jobs (upstream fetches).
 * pool_submit() is thread-safe; jobs may block. */
#ifndef API_POOL_H
#define API_POOL_H

#include "nimbus/err.h"

typedef struct pool pool;
typedef void (*pool_fn)(void *arg);

pool *pool_new(int threads, long max_queue);
/* NB_ERR_UNAVAILABLE when max_queue jobs are already waiting (arg untouched). */
nb_err pool_submit(pool *p, pool_fn fn, void *arg);
/* Jobs waiting or running. */
long pool_depth(pool *p);
/* Stops taking jobs, runs the queued ones, joins the threads, frees. */
void pool_free(pool *p);

#endif
