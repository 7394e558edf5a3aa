/* near_cache.h — the api's HTTP cache (RFC 9111) of persistence's record
 * answers, per location key: the parsed record, its validator (persistence's
 * ETag), how long persistence lets it be reused (Cache-Control: max-age) and
 * when persistence last vouched for it, plus the documents rendered from it.
 *
 * A copy is fresh for max-age after persistence answered it (200) or
 * confirmed it (304): the api answers from a fresh copy without asking
 * persistence, and asks with If-None-Match once it is not. max-age 0 (or no
 * Cache-Control) means ask every time; the copy then still spares parsing and
 * rendering the same bytes again. The record's own freshness (fresh_ttl, Age,
 * stale-while-revalidate) is not this module's: the answer computes it from
 * fetched_at every time.
 *
 * Records are fl_result FL_RECORD objects (flight.h: immutable, reference
 * counted), shared with the flight table and the answers, never copied; the
 * rendered documents (the part of the weather document that depends on the
 * record and a variant — days, place — only) are immutable and reference
 * counted too. A key keeps up to NC_VARIANTS documents.
 *
 * Bounded: at most max_bytes (records, documents, bookkeeping); past it the
 * least recently used keys go. Metrics: nimbus_near_cache_entries,
 * nimbus_near_cache_bytes, nimbus_near_cache_max_bytes,
 * nimbus_near_cache_evictions_total.
 *
 * Threads: every function is thread-safe (one mutex, held for lookups and
 * pointer updates only; nothing blocks under it). */
#ifndef API_NEAR_CACHE_H
#define API_NEAR_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flight.h"
#include "store.h"

#define NC_VARIANTS 4      /* rendered documents kept per key */
#define NC_VARIANT_MAX 160 /* bytes of a variant name (document.h's DOC_VARIANT_MAX) */

/* A rendered document (immutable once made). */
typedef struct nc_doc {
    atomic_long refs;
    size_t len;
    char data[]; /* len bytes, then a NUL */
} nc_doc;

/* A new document holding a copy of len bytes of data (one reference, the
 * caller's); NULL on no memory. */
nc_doc *api_nc_doc_new(const char *data, size_t len);
nc_doc *api_nc_doc_ref(nc_doc *d);
/* Drops a reference (NULL is fine); the last one frees it. */
void api_nc_doc_unref(nc_doc *d);

typedef struct near_cache near_cache;

/* max_bytes 0 keeps nothing (every call is a no-op). Registers the metrics.
 * NULL on no memory. */
near_cache *api_nc_new(size_t max_bytes);
void api_nc_free(near_cache *c);

/* What a lookup hands out. */
typedef struct nc_copy {
    fl_result *rec;            /* a reference (the caller's): FL_RECORD */
    char etag[STORE_ETAG_MAX]; /* persistence's validator of it */
    bool fresh;                /* max-age has not passed since persistence vouched for it */
} nc_copy;

/* The copy kept for key at now_ms (monotonic); false when there is none.
 * Release with api_nc_copy_release. */
bool api_nc_get(near_cache *c, const char *key, int64_t now_ms, nc_copy *out);
void api_nc_copy_release(nc_copy *cp);
/* The document rendered for variant from key's record fetched at
 * fetched_at_ms (a reference), or NULL. */
nc_doc *api_nc_get_doc(near_cache *c, const char *key, int64_t fetched_at_ms, const char *variant);

/* Keeps what persistence answered (200) for key at now_ms: rec (borrowed: the
 * cache takes its own reference), its etag and max_age_ms (< 0: the last
 * max-age persistence gave for a record). A record older than the one kept
 * (fetched_at) is ignored: answers that crossed a newer write never undo it. */
void api_nc_put(near_cache *c, const char *key, fl_result *rec, const char *etag,
                int64_t max_age_ms, int64_t now_ms);
/* persistence confirmed (304) that etag is still its version of key: the copy
 * is fresh again for max_age_ms from now_ms, and its source becomes source
 * (persistence's X-Store). Returns a reference to the kept record, or NULL
 * when the copy is gone or holds another version. */
fl_result *api_nc_confirm(near_cache *c, const char *key, const char *etag, const char *source,
                          int64_t max_age_ms, int64_t now_ms);
/* The api's own write of rec (borrowed) was applied: persistence now holds
 * it as etag, in source ("cache" / "database"). Kept as if persistence had
 * answered it at now_ms with the last record max-age it gave. */
void api_nc_put_written(near_cache *c, const char *key, const fl_result *rec, const char *source,
                        const char *etag, int64_t now_ms);
/* Forgets key (persistence has nothing for it, or holds a version the api
 * does not know). */
void api_nc_drop(near_cache *c, const char *key);
/* Keeps doc (borrowed: the cache takes a reference) as rendered for variant
 * from the record fetched at fetched_at_ms, if that record is still key's copy. */
void api_nc_put_doc(near_cache *c, const char *key, int64_t fetched_at_ms, const char *variant,
                    nc_doc *doc);

/* Keys and bytes kept now. */
size_t api_nc_len(near_cache *c);
size_t api_nc_bytes(near_cache *c);

#endif
