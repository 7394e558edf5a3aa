/* kv_redis.h — the cache backend: kv on Redis (hiredis 0.14.1).
 *
 * Key layout: hash "nimbus:<ns>:<key>" with fields v (version, ms) and d (the
 * value bytes). Puts run one Lua script that compares the stored v, so they
 * are monotonic under concurrent writers; every put sets a TTL of
 * min(ttl, expires_at - now). Each calling thread gets its own connection
 * (thread-local, created lazily, never shared), connected with a timeout and
 * with read/write timeouts set again after every (re)connect; a connection
 * that saw any error is dropped. Threads: see kv.h (any thread). */
#ifndef NIMBUS_PERSISTENCE_KV_REDIS_H
#define NIMBUS_PERSISTENCE_KV_REDIS_H

#include "kv.h"

/* url: redis://[:password@]host[:port][/db]. timeout_ms bounds connect and
 * every command. ttl_ms caps every value's life. NULL (reason in *why) on a
 * bad URL or no memory; does not connect. */
kv *kv_redis_new(const char *url, int timeout_ms, int64_t ttl_ms, const char **why);

#endif
