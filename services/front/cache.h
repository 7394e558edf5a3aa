/* cache.h — front's HTTP cache of the api's answers and of what it renders
 * from them (RFC 9111, as the api writes its headers).
 *
 * What is kept, per request target (the api URL's path and query — place,
 * days, hours, units — fr_api_target): the api's last 200 weather answer
 * (body, parsed document, ETag and caching headers: a copy) and, per variant
 * of what front makes from it (format, the place as asked, layout,
 * %-format), the rendered template (tpl.h). Renderings belong to the copy,
 * so they are kept per ETag: a new answer starts with none. Answers that are
 * not a weather document (errors, 304s without a copy) are never kept;
 * neither are answers marked no-store or private, or without max-age.
 *
 * Freshness: the api writes max-age as the seconds of freshness its data has
 * left when the answer leaves, beside Age = the data's age (the architecture's
 * contract), so max-age counts from when front received the answer (as
 * nginx's proxy_cache counts it). A document's hours start at the hour it was
 * made in; once that hour is over the api's document (and ETag) is another
 * one, so a copy is fresh until that hour ends at the latest. A lookup finds a copy
 *   fresh    before received + max-age: answered from the copy, the api is
 *            not asked;
 *   stale    within the stale-while-revalidate window after that: answered
 *            from the copy at once, and revalidated in the background — one
 *            revalidation per target at a time, however many lookups see it
 *            stale, on the cache's own threads (never a polling thread, never
 *            a request waiting for it);
 *   expired  past both: the request must ask the api (fr_cache_fetch);
 * or none (miss). A background revalidation is a conditional GET with the
 * copy's ETag (If-None-Match): 304 refreshes the copy's headers and restarts
 * its age, 200 replaces it, 4xx drops it, 5xx or no answer keeps it (a cache
 * that cannot reach the origin may serve stale: stale-if-error).
 *
 * Memory: everything kept is counted — bodies, renderings, and the parsed
 * documents at FR_DOC_BYTES_PER_BYTE (measured) — and past max_bytes the
 * least recently used targets go (nimbus_front_cache_bytes, _entries,
 * _evictions_total). max_bytes 0 keeps nothing: every request asks the api.
 *
 * Threads: every function may be called from any thread; one lock guards
 * the table and is never held across I/O, parsing or rendering. Copies and
 * templates handed out are references, valid until released. */
#ifndef FRONT_CACHE_H
#define FRONT_CACHE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api_client.h"
#include "nimbus/err.h"
#include "tpl.h"

/* jansson's parsed document holds about 8 bytes per byte of the api's JSON:
 * 108 000 bytes in 2 076 allocations for a 13 409-byte document with 48
 * hours, measured with json_set_alloc_funcs and malloc_usable_size. */
#define FR_DOC_BYTES_PER_BYTE 8

typedef struct fr_cache fr_cache;
typedef struct fr_rendering fr_rendering;

/* One weather answer of the api, as kept: immutable after it is made (the
 * renderings list is guarded by the cache's lock). */
typedef struct fr_copy {
    atomic_int refs;
    char etag[160];
    char content_type[128];
    char *body; /* the api's JSON as it came */
    size_t len;
    size_t tail_at;        /* where its per-answer ',"freshness":{…}}' starts; 0 = not found */
    long fresh_ttl_s;      /* freshness.fresh_ttl_s (when tail_at) */
    char source[16];       /* freshness.source (when tail_at) */
    json_t *doc;           /* parsed once; read-only, shared by every thread */
    int64_t fetched_at_ms; /* INT64_MIN when unknown */
    int64_t hour_end_ms;   /* the end of the hour of hourly[0] (0: no hours): the api's
                              document starts at another hour from then on */
    size_t bytes;          /* memory held by the copy itself */
    fr_rendering *renderings;
    size_t nrenderings;
} fr_copy;

/* The caching headers of the last exchange about a copy (a 304 refreshes them). */
typedef struct fr_meta {
    int64_t received_ms; /* when the answer (or the 304) arrived */
    int64_t expires_ms;  /* fresh until: received + max-age, or the end of the hour the
                            document's hours start at when that comes first */
    long max_age_s;      /* -1 when absent */
    long swr_s;          /* stale-while-revalidate; -1 when absent */
    long age_s;          /* Age at receipt */
    long status;         /* the api's status of that exchange (200, 304) */
    char cache_control[160], last_modified[48], cache_status[200], x_cache[24], x_source[24];
} fr_meta;

typedef enum fr_freshness { FR_MISS, FR_FRESH, FR_STALE, FR_EXPIRED } fr_freshness;

/* How an answer came about: front's member of Cache-Status (RFC 9211). */
typedef enum fr_how {
    FR_HOW_HIT,         /* from the copy ("hit", ttl; "fwd=stale" when stale) */
    FR_HOW_MISS,        /* asked the api: nothing was kept ("fwd=uri-miss") */
    FR_HOW_EXPIRED,     /* asked the api: the copy was past its windows ("fwd=stale") */
    FR_HOW_REQUEST,     /* asked the api: the client's no-cache ("fwd=request") */
    FR_HOW_STALE_ERROR, /* the api could not answer: the kept copy ("hit", "fwd=stale") */
} fr_how;

typedef struct fr_hit {
    fr_freshness state;
    fr_how how;
    int64_t now_ms;    /* the instant the answer describes */
    fr_copy *copy;     /* a reference, or NULL */
    fr_meta meta;      /* of the copy */
    fr_tpl *tpl;       /* a reference to the kept rendering of the variant asked, or NULL */
    bool stored;       /* the copy is kept (a fetch stored it) */
    bool revalidating; /* a background revalidation of the target is under way */
} fr_hit;

/* Asks the api for target (fr_api_get's contract). */
typedef nb_err (*fr_fetch_fn)(void *ctx, const char *target, const char *if_none_match,
                              bool no_cache, const atomic_bool *cancel, fr_api_resp *resp);

typedef struct fr_cache_opts {
    size_t max_bytes;      /* 0: keep nothing */
    int revalidators;      /* background threads (fr_cache_start) */
    size_t queue_cap;      /* background revalidations waiting, at most */
    size_t renderings_max; /* per copy; past it the least recently used goes */
    fr_fetch_fn fetch;
    void *fetch_ctx;
    int64_t (*clock)(void *ctx); /* wall clock in ms; NULL: nb_now_ms */
    void *clock_ctx;
} fr_cache_opts;

/* Registers the metrics (before the server starts); NULL when out of memory. */
fr_cache *fr_cache_new(const fr_cache_opts *o);
/* Starts the background revalidation threads. */
nb_err fr_cache_start(fr_cache *c);
/* Stops them: api calls under way are cancelled, revalidations still
 * queued are dropped. Lookups still work (and start nothing). */
void fr_cache_stop(fr_cache *c);
/* Stops and frees everything (references handed out must be released first). */
void fr_cache_free(fr_cache *c);

/* Looks target up (never blocks) and, when variant is not NULL, its kept
 * rendering for that variant (none past its valid_until_ms). A stale copy
 * starts a background revalidation unless one is under way. */
void fr_cache_lookup(fr_cache *c, const char *target, const char *variant, fr_hit *hit);

typedef enum fr_fetch_mode {
    FR_FETCH_PLAIN,      /* nothing usable is kept: an unconditional GET (the api answers
                            at once, stale or not); a 200 with the kept ETag refreshes it */
    FR_FETCH_END_TO_END, /* the client's no-cache: Cache-Control: no-cache to the api, with
                            If-None-Match of the kept copy */
} fr_fetch_mode;

/* Asks the api now (blocks: workers only), keeps what may be kept and fills
 * hit (a lookup's or zeroed; released first) with the copy to answer from — the api's new or
 * refreshed copy, or, when the api gave no answer or a 5xx, the kept one
 * (FR_HOW_STALE_ERROR) — and its kept rendering of variant (may be NULL);
 * hit->copy is NULL when there is none (4xx, an unusable answer, nothing
 * kept): answer from resp. A stale answer starts a background
 * revalidation. Returns fr_api_get's result; resp is initialised in every
 * case (release it). */
nb_err fr_cache_fetch(fr_cache *c, const char *target, const char *variant, fr_fetch_mode mode,
                      fr_hit *hit, fr_api_resp *resp);

/* Keeps tpl (a new reference is taken) as the rendering of variant for
 * copy, when copy is still the one kept for target. */
void fr_cache_keep(fr_cache *c, const char *target, fr_copy *copy, const char *variant,
                   fr_tpl *tpl);

void fr_hit_release(fr_hit *hit);

/* Seconds of freshness left at hit->now_ms (negative once stale). */
long fr_hit_fresh_left_s(const fr_hit *hit);
/* The data's age at hit->now_ms: Age at receipt plus the time kept. */
long fr_hit_age_s(const fr_hit *hit);
/* The api's Cache-Control with max-age set to the seconds left (never
 * below 0): what the api would say now. */
void fr_hit_cache_control(const fr_hit *hit, char *out, size_t outlen);
/* front's member of Cache-Status: "nimbus-front; hit; ttl=376". */
void fr_hit_cache_status(const fr_hit *hit, char *out, size_t outlen);
/* The copy's JSON with its freshness (state, age_s, source) as of
 * hit->now_ms (malloc'd, caller frees); the body as it came when its
 * freshness part was not found. NULL when out of memory. */
char *fr_hit_json(const fr_hit *hit, size_t *len);

/* Runs one queued background revalidation in the calling thread, waiting up
 * to timeout_ms for one; false when there was none. The threads run the same. */
bool fr_cache_revalidate_next(fr_cache *c, int64_t timeout_ms);

/* What is kept now. */
size_t fr_cache_bytes(fr_cache *c);
size_t fr_cache_entries(fr_cache *c);

#endif
