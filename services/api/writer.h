/* writer.h — reliable asynchronous writes to persistence.
 *
 * Jobs are PUT in order by one thread; a transient failure (persistence down,
 * 5xx, timeout) is retried with capped, jittered backoff until it succeeds —
 * never silently dropped. A refusal (4xx) is logged and counted. On stop the
 * queue is drained for up to grace_ms; anything left is logged as lost.
 * writer_put() is thread-safe. */
#ifndef API_WRITER_H
#define API_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "nimbus/err.h"
#include "store_client.h"

typedef struct writer writer;

/* Called on the writer thread once the job is stored (stored=true) or refused. */
typedef void (*writer_done_fn)(void *arg, bool stored);

writer *writer_new(store_client *store, long max_queue);
/* Takes ownership of path and body (malloc'd). NB_ERR_UNAVAILABLE when the
 * queue is full (the job is freed and counted as lost, loudly). */
nb_err writer_put(writer *w, char *path, char *body, size_t len, writer_done_fn done, void *arg);
long writer_depth(writer *w);
/* Drains for up to grace_ms, then stops the thread and frees everything. */
void writer_free(writer *w, long grace_ms);

#endif
