/* writer.h — asynchronous writes to persistence that don't block each other.
 *
 * One pending write per id (a location key, a geocoding query): a newer write
 * for the same id supersedes an older one that has not been sent (one being
 * sent is followed by the newer). A transient failure (persistence down, 5xx,
 * timeout, 429) is retried with jittered backoff per id (nb_backoff_ms), so a
 * key that keeps failing never holds up the others; a refusal (4xx) is logged,
 * counted and dropped. Pending ids are bounded (max_pending): past it a write
 * is lost, loudly. api_writer_stop flushes what it can before a deadline and
 * reports the rest as lost.
 *
 * Every accepted or refused write gets its done callback exactly once, on the
 * writer thread (or the caller's, when refused at once); it must not block.
 * Threads: api_writer_put and api_writer_depth from any thread. */
#ifndef API_WRITER_H
#define API_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nimbus/err.h"
#include "store.h"

typedef struct writer writer;

typedef enum writer_outcome {
    WR_STORED,     /* persistence has it (or something newer) */
    WR_REFUSED,    /* persistence refused it (4xx): dropped */
    WR_SUPERSEDED, /* a newer write for the same id replaced it */
    WR_LOST,       /* not written: queue full, out of memory, or shutdown */
} writer_outcome;

/* res is set for WR_STORED (else NULL). */
typedef void (*writer_done_fn)(void *arg, writer_outcome outcome, const store_put_result *res);

typedef struct writer_opts {
    long max_pending; /* distinct ids waiting or being written */
    long base_backoff_ms, max_backoff_ms;
    void (*on_event)(void *ctx); /* a write created an outbox event (may be NULL) */
    void *on_event_ctx;
} writer_opts;

/* NULL on no memory. */
writer *api_writer_new(store *st, const writer_opts *o);
/* Queues a PUT of body to path (both malloc'd, taken over) for id. Returns
 * NB_ERR_UNAVAILABLE when it was lost at once (done called with WR_LOST). */
nb_err api_writer_put(writer *w, const char *id, char *path, char *body, size_t len,
                      writer_done_fn done, void *arg);
/* Ids with a write pending. */
long api_writer_depth(writer *w);
/* Writes what it can until deadline_ms (monotonic), then reports the rest
 * lost and stops the thread. Idempotent. */
void api_writer_stop(writer *w, int64_t deadline_ms);
/* Stops (at once) if needed and frees. */
void api_writer_free(writer *w);

#endif
