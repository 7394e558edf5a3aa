/* pool.h — the fetch pool: a fixed number of threads running queued jobs
 * (upstream fetches), over libcommon's bounded queue.
 *
 * A job has run (called on a pool thread; may block) and drop (called instead
 * when the job is discarded before it started: at api_pool_close, on the closing
 * thread; it must not block). Exactly one of them is called per job that
 * api_pool_submit accepted.
 * Threads: api_pool_submit, api_pool_depth, api_pool_close, api_pool_drain may be called
 * from any thread; api_pool_free from the owner once. */
#ifndef API_POOL_H
#define API_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "nimbus/err.h"

typedef struct pool pool;
typedef void (*pool_fn)(void *arg);

/* NULL on no memory or no thread. */
pool *api_pool_new(int threads, long max_queue);
/* NB_ERR_UNAVAILABLE when max_queue jobs are already waiting or the pool is
 * closed (arg untouched, still the caller's). */
nb_err api_pool_submit(pool *p, pool_fn run, pool_fn drop, void *arg);
/* Jobs waiting or running. */
long api_pool_depth(pool *p);
/* Takes no more jobs and drops (drop()) every job that has not started. Idempotent. */
void api_pool_close(pool *p);
/* Waits until no job runs or deadline_ms (monotonic) passes; true when idle. */
bool api_pool_drain(pool *p, int64_t deadline_ms);
/* Closes, waits for the running jobs to return (make them return: cancel what
 * they block on), joins the threads, frees. */
void api_pool_free(pool *p);

#endif
