/* watch.h — long polls: GETs that wait, bounded, for a version newer than the
 * caller's.
 *
 * A GET of a record or a geocoding entry with ?wait_ms= is held (the
 * connection stays suspended, no thread waits for it) until one of:
 *   - a version newer than ?newer_than= is stored         (WATCH_NEWER)
 *   - nobody holds the key's renewal lease (any more): no new version is
 *     coming — the holder failed, died, or there was none (WATCH_NO_RENEWAL)
 *   - its time is up                                      (WATCH_TIMEOUT)
 *   - the cache cannot tell (down or failing)             (WATCH_UNAVAILABLE)
 *   - the daemon stops                                    (WATCH_STOPPING)
 * and then handed to a worker that answers it as any GET.
 *
 * What is watched lives in Redis (kv_coord watch), not in this process: one
 * thread reads the version and lease of every watched key in one pipelined
 * round trip every interval_ms while anyone waits (none while nobody does), so
 * a write or a release through any persistence replica wakes the waiters of
 * every replica, within one interval. Reading state, not events, nothing is
 * missed between a caller's first read and its registration.
 *
 * Threads: ps_watch_add from any thread (it never blocks: the polling thread and
 * the store's reader call it); one watch thread; start/stop/free by the owner. */
#ifndef NIMBUS_PERSISTENCE_WATCH_H
#define NIMBUS_PERSISTENCE_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "kv.h"
#include "nimbus/err.h"
#include "nimbus/http_server.h"
#include "store.h"

typedef enum watch_outcome {
    WATCH_NEWER,
    WATCH_NO_RENEWAL,
    WATCH_TIMEOUT,
    WATCH_UNAVAILABLE,
    WATCH_STOPPING,
    WATCH_FULL, /* ps_watch_add refused: too many waiting (not passed to done) */
} watch_outcome;

/* "newer", "no-renewal", "timeout", "unavailable", "stopping", "full": the
 * X-Wait header of the answer. */
const char *ps_watch_outcome_name(watch_outcome o);

typedef struct watch_opts {
    store *st;        /* borrowed; outlives the watch */
    int interval_ms;  /* between two reads of the watched keys (0 = 25) */
    long max_waiters; /* held at once (0 = 10000) */
} watch_opts;

typedef struct watch watch;

/* Registers nimbus_watch_waiters and nimbus_watch_total{outcome}. NULL on no memory. */
watch *ps_watch_new(const watch_opts *o);
nb_err ps_watch_start(watch *w);
/* The store the watch reads through. */
store *ps_watch_store(watch *w);

/* Called once per held request, on a server worker (nb_req_to_worker), with
 * why it is let go; it answers r and frees arg. */
typedef void (*watch_done_fn)(nb_req *r, void *arg, watch_outcome why);

/* Holds r until the key (ns, key) has a version > newer_than_ms, its lease is
 * not held, or deadline_ms (monotonic) passes. false (WATCH_FULL, or the watch
 * is stopping): not held, the caller answers r at once. Never blocks. */
bool ps_watch_add(watch *w, nb_req *r, kv_ns ns, const char *key, int64_t newer_than_ms,
                  int64_t deadline_ms, watch_done_fn done, void *arg);
/* Lets every held request go (WATCH_STOPPING), refuses new ones and joins the
 * thread. Idempotent. Call while the server still runs. */
void ps_watch_stop(watch *w);
void ps_watch_free(watch *w);

#endif
