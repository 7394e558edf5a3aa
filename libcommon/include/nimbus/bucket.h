/* bucket.h — the arithmetic of the upstream budget: one token bucket per time
 * window (a minute, an hour, a day), taken from together.
 *
 * A window {seconds, limit} allows at most `limit` calls in any interval of
 * `seconds`: its bucket holds at most burst = max(1, limit / 10) tokens and
 * refills at (limit - burst) / seconds, so a full bucket spent at once plus all
 * that refills within the window never exceeds the limit (a limit under 2
 * refills at limit / seconds: its burst is the whole limit). A take of cost c
 * succeeds only when every window holds need = min(c, burst) tokens, and then
 * takes need from each; otherwise nothing is taken and the caller learns how
 * long until every window holds enough.
 *
 * The same rules run in Redis as a Lua script (services/persistence/kv_redis.c,
 * the budget every api replica shares); this is the C side: the api's local
 * allowance when persistence cannot answer, and persistence's in-memory
 * backend for unit tests. Pure functions on caller-owned state; thread-safe. */
#ifndef NIMBUS_BUCKET_H
#define NIMBUS_BUCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_BUCKET_WINDOWS_MAX 4

typedef struct nb_window {
    int64_t seconds; /* > 0 */
    double limit;    /* calls allowed in any interval that long, > 0 */
} nb_window;

/* Tokens per window and when they were last counted. Zeroed = every bucket full. */
typedef struct nb_bucket {
    bool started;
    int64_t at_ms;
    double tokens[NB_BUCKET_WINDOWS_MAX];
} nb_bucket;

/* What a take decided. */
typedef struct nb_take {
    bool granted;
    int64_t retry_after_ms; /* refused: until every window holds enough (>= 1) */
    size_t window;          /* refused: the window that waits longest */
} nb_take;

/* The largest number of tokens a window's bucket holds. */
double nb_window_burst(const nb_window *w);
/* Tokens a window's bucket gains per millisecond. */
double nb_window_rate_ms(const nb_window *w);

/* Refills b to now_ms (monotonic or wall clock: one clock per bucket), then
 * takes cost from every window when each holds enough (see above). n <=
 * NB_BUCKET_WINDOWS_MAX windows, the same ones (in the same order) every call. */
nb_take nb_bucket_take(nb_bucket *b, const nb_window *w, size_t n, double cost, int64_t now_ms);
/* Tokens window i holds at now_ms (refilled, nothing taken). */
double nb_bucket_level(const nb_bucket *b, const nb_window *w, size_t i, int64_t now_ms);

#endif
