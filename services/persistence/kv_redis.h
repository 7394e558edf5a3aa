/* kv_redis.h — the cache backend: kv on Redis (hiredis 0.14.1).
 *
 * Key layout: hash "nimbus:<ns>:<key>" with fields v (version, ms) and d (the
 * value bytes). Puts run one Lua script that compares the stored v, so they
 * are monotonic under concurrent writers; every put sets a TTL of
 * min(ttl, expires_at - now). Each calling thread gets its own connection
 * (thread-local, created lazily, never shared), connected with a timeout and
 * with read/write timeouts set again after every (re)connect; a connection
 * that saw any error is dropped.
 *
 * High availability: given sentinels and a master name instead of one
 * server, it asks the sentinels where the master is, checks the server says
 * it is (ROLE), and asks again after a connection error, a READONLY reply or
 * a reset (the store's breaker resets a backend it marks down), so it follows
 * a failover without a restart.
 *
 * Coordination (kv_coord_ops) runs as Lua scripts, atomic on the master:
 * leases "nimbus:lease:<ns>:<key>" (SET NX PX; released by compare and
 * delete), budgets "nimbus:budget:<name>" (a hash of tokens per window,
 * timed by Redis's own clock, TIME), and a watch reads many keys' versions and
 * leases in one pipelined round trip.
 * Threads: see kv.h (any thread). */
#ifndef NIMBUS_PERSISTENCE_KV_REDIS_H
#define NIMBUS_PERSISTENCE_KV_REDIS_H

#include "kv.h"

#define KV_REDIS_SENTINELS_MAX 8

typedef struct kv_redis_opts {
    /* redis://[:password@]host[:port][/db]; with sentinels only its password
     * and database are used. */
    const char *url;
    /* "host:port,..." (port default 26379), or NULL/"" for the URL's server. */
    const char *sentinels;
    const char *master_name; /* the sentinels' name of the master (with sentinels) */
    int timeout_ms;          /* bounds every connect and command (sentinels' too) */
    int64_t ttl_ms;          /* caps every value's life */
} kv_redis_opts;

/* NULL (reason in *why) on a bad URL or sentinel list, or no memory; does
 * not connect. */
kv *ps_kv_redis_new(const kv_redis_opts *o, const char **why);

#endif
