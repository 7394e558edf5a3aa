/* kv_redis.c — kv on Redis (see kv_redis.h).
 *
 * Connections: one redis_conn per (instance, thread) in a pthread key; all of
 * them are also linked into the instance so ps_kv_free() can release those of
 * threads that are still alive. A connection remembers the instance's
 * generation it was made in; ps_kv_reset() bumps the generation so every thread
 * drops its (probably dead) connection before the next use.
 *
 * The master's address is fixed (--redis-url) or, with sentinels, found
 * through them (hiredis 0.14 has no Sentinel support): the first thread that
 * needs a connection while the address is unknown asks the sentinels, one
 * after the other, SENTINEL get-master-addr-by-name; a new connection must
 * then answer ROLE with "master". A connection error, a READONLY reply or a
 * reset forgets the address, so the next connection asks again: that is how
 * a failover is followed. A changed address bumps the generation. */
#include "kv_redis.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"

typedef struct redis_conn {
    struct redis_conn *prev, *next;
    struct kv_redis *owner;
    redisContext *c;
    uint64_t gen;
} redis_conn;

typedef struct redis_addr {
    char host[256];
    int port;
} redis_addr;

typedef struct kv_redis {
    kv base;
    /* The master: fixed, or last found through the sentinels. Under addr_mu. */
    pthread_mutex_t addr_mu;
    redis_addr master;
    bool master_known;
    /* Sentinel mode (nsentinels > 0). discover_mu: one discovery at a time;
     * sentinels[] is reordered under it (the last that answered first). */
    pthread_mutex_t discover_mu;
    int nsentinels;
    redis_addr sentinels[KV_REDIS_SENTINELS_MAX];
    char master_name[128];
    nb_counter *master_changes;
    int db;
    char password[256];
    int timeout_ms;
    int64_t ttl_ms;
    pthread_key_t tls;
    pthread_mutex_t mu; /* guards conns */
    redis_conn *conns;
    atomic_uint_fast64_t gen;
} kv_redis;

/* KEYS[1] key; ARGV version, bytes, ttl ms. Returns {applied, stored version}.
 * A ttl <= 0 (an entry that has already expired) deletes the key instead. */
static const char put_script[] =
    "local cur = redis.call('HGET', KEYS[1], 'v') "
    "if cur and tonumber(cur) >= tonumber(ARGV[1]) then return {0, tonumber(cur)} end "
    "if tonumber(ARGV[3]) <= 0 then redis.call('DEL', KEYS[1]) return {1, tonumber(ARGV[1])} end "
    "redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[3]) "
    "return {1, tonumber(ARGV[1])}";

#define NB_STR2(x) #x
#define NB_STR(x) NB_STR2(x)

/* KEYS[1] lease, KEYS[2] the value's hash; ARGV token, ttl ms, version seen.
 * Returns {0, ttl} granted, {1, version} newer, {2, pttl, value} held (a
 * value starting with '!' is a failure kept after a release). */
static const char lease_acquire_script[] =
    "local v = redis.call('HGET', KEYS[2], 'v') "
    "if v and tonumber(v) > tonumber(ARGV[3]) then return {1, tonumber(v), ''} end "
    "local cur = redis.call('GET', KEYS[1]) "
    "if cur then return {2, redis.call('PTTL', KEYS[1]), cur} end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "return {0, tonumber(ARGV[2]), ''}";

/* KEYS[1] lease; ARGV token, hold ms, failure. Compare and delete (or keep
 * the failure for hold ms). Returns 1 when token held it. */
static const char lease_release_script[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end "
    "if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], '!' .. ARGV[3], 'PX', ARGV[2]) "
    "else redis.call('DEL', KEYS[1]) end "
    "return 1";

/* KEYS[1] budget hash; ARGV cost, then (seconds, limit) per window. The rules
 * of libcommon's bucket.h, on Redis's clock. Returns {wait ms, window seconds
 * that waits longest, {tokens per window}}; wait 0 = granted. */
static const char budget_script[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local cost = tonumber(ARGV[1]) "
    "local n = (#ARGV - 1) / 2 "
    "local at = tonumber(redis.call('HGET', KEYS[1], 'at') or '0') "
    "local dt = 0 "
    "if at > 0 and now > at then dt = now - at end "
    "local lv, need, wait, which, keep = {}, {}, 0, 0, 0 "
    "for i = 1, n do "
    "  local secs, limit = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1]) "
    "  local burst = math.max(1, limit / 10) "
    "  local per = limit - burst "
    "  if per <= 0 then per = limit end "
    "  local rate = per / (secs * 1000) "
    "  local tok = burst "
    "  local s = redis.call('HGET', KEYS[1], 't' .. secs) "
    "  if at > 0 and s then tok = math.min(burst, tonumber(s) + dt * rate) end "
    "  lv[i] = tok "
    "  need[i] = math.min(cost, burst) "
    "  if tok + 1e-9 < need[i] then "
    "    local w = math.ceil((need[i] - tok) / rate) "
    "    if w < 1 then w = 1 end "
    "    if w > wait then wait, which = w, secs end "
    "  end "
    "  if secs > keep then keep = secs end "
    "end "
    "local out = {} "
    "for i = 1, n do "
    "  if wait == 0 then lv[i] = lv[i] - need[i] end "
    "  redis.call('HSET', KEYS[1], 't' .. ARGV[2 * i], string.format('%.6f', lv[i])) "
    "  out[i] = string.format('%.6f', lv[i]) "
    "end "
    "redis.call('HSET', KEYS[1], 'at', string.format('%d', now)) "
    "redis.call('PEXPIRE', KEYS[1], keep * 2000) "
    "return {wait, which, out}";

static kv_redis *as_redis(kv *k)
{
    return (kv_redis *)k;
}

static void conn_close(redis_conn *rc)
{
    if (rc->c) {
        redisFree(rc->c);
        rc->c = NULL;
    }
}

/* Caller holds r->mu or is the only user. */
static void conn_unlink_free(kv_redis *r, redis_conn *rc)
{
    if (rc->prev)
        rc->prev->next = rc->next;
    else
        r->conns = rc->next;
    if (rc->next) rc->next->prev = rc->prev;
    conn_close(rc);
    free(rc);
}

/* pthread key destructor: the thread is exiting. */
static void conn_destroy(void *p)
{
    redis_conn *rc = p;
    kv_redis *r = rc->owner;
    pthread_mutex_lock(&r->mu);
    conn_unlink_free(r, rc);
    pthread_mutex_unlock(&r->mu);
}

static nb_err err_of(const redisContext *c)
{
    /* a read/write timeout surfaces as an I/O error with EAGAIN's text */
    if (c->err == REDIS_ERR_IO &&
        (strstr(c->errstr, "temporarily unavailable") || strstr(c->errstr, "timed out")))
        return NB_ERR_TIMEOUT;
    return NB_ERR_UNAVAILABLE;
}

/* Runs a command on a fresh connection during connect; true when OK. */
static bool setup_command(redisContext *c, const char *what, redisReply *reply)
{
    bool ok = reply && reply->type != REDIS_REPLY_ERROR;
    if (!ok)
        nb_warn("redis %s failed: %s", what,
                reply ? reply->str : (c->errstr[0] ? c->errstr : "no reply"));
    if (reply) freeReplyObject(reply);
    return ok;
}

/* A connection to addr with the timeouts set (connect, reads, writes), or
 * NULL with *err set. */
static redisContext *connect_to(kv_redis *r, const redis_addr *addr, nb_err *err)
{
    struct timeval tv = {.tv_sec = r->timeout_ms / 1000, .tv_usec = (r->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(addr->host, addr->port, tv);
    if (!c) {
        *err = NB_ERR_NOMEM;
        return NULL;
    }
    if (c->err) {
        nb_debug("redis connect to %s:%d failed: %s", addr->host, addr->port, c->errstr);
        *err = NB_ERR_UNAVAILABLE;
        redisFree(c);
        return NULL;
    }
    /* also bounds every later read and write (pitfall: set after every connect) */
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        *err = NB_ERR_UNAVAILABLE;
        redisFree(c);
        return NULL;
    }
    return c;
}

/* True when the server on c says it is a master (ROLE). */
static bool is_master(redisContext *c)
{
    redisReply *reply = redisCommand(c, "ROLE");
    bool ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
              reply->element[0]->type == REDIS_REPLY_STRING &&
              strcmp(reply->element[0]->str, "master") == 0;
    if (reply) freeReplyObject(reply);
    return ok;
}

/* Forgets the master's address if it is still `was` (NULL: whatever it is),
 * so the next connection asks the sentinels. Fixed addresses stay. */
static void forget_master(kv_redis *r, const redis_addr *was)
{
    if (r->nsentinels == 0) return;
    pthread_mutex_lock(&r->addr_mu);
    if (!was || (strcmp(r->master.host, was->host) == 0 && r->master.port == was->port))
        r->master_known = false;
    pthread_mutex_unlock(&r->addr_mu);
}

/* Asks one sentinel for the master of r->master_name. */
static bool ask_sentinel(kv_redis *r, const redis_addr *sentinel, redis_addr *out)
{
    nb_err err;
    redisContext *c = connect_to(r, sentinel, &err);
    if (!c) return false;
    redisReply *reply = redisCommand(c, "SENTINEL get-master-addr-by-name %s", r->master_name);
    bool ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
              reply->element[0]->type == REDIS_REPLY_STRING &&
              reply->element[1]->type == REDIS_REPLY_STRING &&
              strlen(reply->element[0]->str) < sizeof(out->host);
    if (ok) {
        snprintf(out->host, sizeof(out->host), "%s", reply->element[0]->str);
        out->port = atoi(reply->element[1]->str);
        ok = out->port > 0 && out->port <= 65535;
    } else {
        nb_debug(
            "sentinel %s:%d has no master '%s': %s", sentinel->host, sentinel->port, r->master_name,
            reply ? (reply->type == REDIS_REPLY_ERROR ? reply->str : "no such master") : c->errstr);
    }
    if (reply) freeReplyObject(reply);
    redisFree(c);
    return ok;
}

/* Sentinel mode: asks the sentinels in turn (the last one that answered
 * first) and records the master they name. One discovery at a time. */
static bool discover(kv_redis *r)
{
    pthread_mutex_lock(&r->discover_mu);
    pthread_mutex_lock(&r->addr_mu);
    bool known = r->master_known; /* found by another thread meanwhile */
    pthread_mutex_unlock(&r->addr_mu);
    bool found = known;
    for (int i = 0; !found && i < r->nsentinels; i++) {
        redis_addr m;
        if (!ask_sentinel(r, &r->sentinels[i], &m)) continue;
        found = true;
        if (i > 0) { /* ask this one first next time */
            redis_addr s = r->sentinels[i];
            memmove(&r->sentinels[1], &r->sentinels[0], (size_t)i * sizeof(s));
            r->sentinels[0] = s;
        }
        pthread_mutex_lock(&r->addr_mu);
        bool changed = strcmp(r->master.host, m.host) != 0 || r->master.port != m.port;
        redis_addr was = r->master;
        r->master = m;
        r->master_known = true;
        pthread_mutex_unlock(&r->addr_mu);
        if (changed) {
            atomic_fetch_add(&r->gen, 1); /* connections to the old one go */
            nb_counter_inc(r->master_changes);
            if (was.host[0])
                nb_info("redis master of '%s' is now %s:%d (was %s:%d)", r->master_name, m.host,
                        m.port, was.host, was.port);
            else
                nb_info("redis master of '%s' is %s:%d", r->master_name, m.host, m.port);
        }
    }
    if (!found) nb_debug("no sentinel named a master for '%s'", r->master_name);
    pthread_mutex_unlock(&r->discover_mu);
    return found;
}

/* The master to connect to; false when the sentinels name none. */
static bool master_addr(kv_redis *r, redis_addr *out)
{
    pthread_mutex_lock(&r->addr_mu);
    bool known = r->master_known;
    *out = r->master;
    pthread_mutex_unlock(&r->addr_mu);
    if (known) return true;
    if (!discover(r)) return false;
    pthread_mutex_lock(&r->addr_mu);
    *out = r->master;
    known = r->master_known;
    pthread_mutex_unlock(&r->addr_mu);
    return known;
}

/* The calling thread's live connection, or NULL with *err set. */
/* fresh (may be NULL) tells whether the connection was made by this call. */
static redisContext *conn_get(kv_redis *r, nb_err *err, bool *fresh)
{
    if (fresh) *fresh = false;
    redis_conn *rc = pthread_getspecific(r->tls);
    if (!rc) {
        rc = calloc(1, sizeof(*rc));
        if (!rc) {
            *err = NB_ERR_NOMEM;
            return NULL;
        }
        rc->owner = r;
        pthread_mutex_lock(&r->mu);
        rc->next = r->conns;
        if (r->conns) r->conns->prev = rc;
        r->conns = rc;
        pthread_mutex_unlock(&r->mu);
        pthread_setspecific(r->tls, rc);
    }
    uint64_t gen = atomic_load(&r->gen);
    if (rc->c && rc->gen != gen) conn_close(rc);
    if (rc->c) return rc->c;

    redis_addr to;
    if (!master_addr(r, &to)) {
        *err = NB_ERR_UNAVAILABLE;
        return NULL;
    }
    gen = atomic_load(&r->gen); /* a discovery may have bumped it */
    redisContext *c = connect_to(r, &to, err);
    if (!c) {
        forget_master(r, &to);
        return NULL;
    }
    if (r->password[0] && !setup_command(c, "AUTH", redisCommand(c, "AUTH %s", r->password))) {
        *err = c->err ? err_of(c) : NB_ERR_UNAVAILABLE;
        goto out_free;
    }
    if (r->db != 0 && !setup_command(c, "SELECT", redisCommand(c, "SELECT %d", r->db))) {
        *err = c->err ? err_of(c) : NB_ERR_UNAVAILABLE;
        goto out_free;
    }
    if (r->nsentinels > 0 && !is_master(c)) { /* the sentinels' answer was out of date */
        nb_warn("redis at %s:%d is not the master of '%s' (yet); asking the sentinels again",
                to.host, to.port, r->master_name);
        *err = NB_ERR_UNAVAILABLE;
        forget_master(r, &to);
        goto out_free;
    }
    rc->c = c;
    rc->gen = gen;
    if (fresh) *fresh = true;
    return c;
out_free:
    redisFree(c);
    return NULL;
}

/* After a command: drop the connection on any context error. */
static nb_err conn_failed(kv_redis *r)
{
    redis_conn *rc = pthread_getspecific(r->tls);
    nb_err e = err_of(rc->c);
    nb_debug("redis command failed: %s", rc->c->errstr);
    conn_close(rc);
    if (e != NB_ERR_TIMEOUT) forget_master(r, NULL);
    return e;
}

/* A READONLY error: the connection reaches a replica (a failover demoted
 * it). Drops the connection and forgets the address. */
static bool demoted(kv_redis *r, redisReply *reply)
{
    if (reply->type != REDIS_REPLY_ERROR || strncmp(reply->str, "READONLY", 8) != 0) return false;
    nb_warn("redis answered READONLY: its master changed; asking the sentinels");
    conn_close(pthread_getspecific(r->tls));
    forget_master(r, NULL);
    return true;
}

/* Runs one command on the calling thread's connection. A reused connection
 * that fails at once with an I/O error (Redis restarted since its last use) is
 * replaced and the command tried once more; every command here is safe to
 * repeat (reads, deletes, the monotonic put). A timeout is never retried.
 * Returns the reply (caller frees) or NULL with *err set. */
static redisReply *run(kv_redis *r, nb_err *err, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh;
        redisContext *c = conn_get(r, err, &fresh);
        if (!c) return NULL;
        va_list ap;
        va_start(ap, fmt);
        redisReply *reply = redisvCommand(c, fmt, ap);
        va_end(ap);
        if (reply && !demoted(r, reply)) return reply;
        if (reply) {
            freeReplyObject(reply);
            *err = NB_ERR_UNAVAILABLE;
            if (fresh) return NULL;
            continue;
        }
        *err = conn_failed(r);
        if (fresh || *err == NB_ERR_TIMEOUT) return NULL;
    }
    return NULL;
}

/* run() for a command given as an argument vector (binary safe). */
static redisReply *run_argv(kv_redis *r, nb_err *err, int argc, const char **argv,
                            const size_t *lens)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh;
        redisContext *c = conn_get(r, err, &fresh);
        if (!c) return NULL;
        redisReply *reply = redisCommandArgv(c, argc, argv, lens);
        if (reply && !demoted(r, reply)) return reply;
        if (reply) {
            freeReplyObject(reply);
            *err = NB_ERR_UNAVAILABLE;
            if (fresh) return NULL;
            continue;
        }
        *err = conn_failed(r);
        if (fresh || *err == NB_ERR_TIMEOUT) return NULL;
    }
    return NULL;
}

static int make_key(char *out, size_t outlen, kv_ns ns, const char *key)
{
    int n = snprintf(out, outlen, "nimbus:%s:%s", ps_kv_ns_name(ns), key);
    return (n < 0 || (size_t)n >= outlen) ? -1 : n;
}

/* Reads an "HMGET key v d" reply into out. */
static nb_err hmget_value(const redisReply *reply, kv_value *out)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return NB_ERR_INTERNAL;
    const redisReply *v = reply->element[0], *d = reply->element[1];
    if (v->type != REDIS_REPLY_STRING || d->type != REDIS_REPLY_STRING) return NB_ERR_NOT_FOUND;
    out->data = malloc((size_t)d->len + 1);
    if (!out->data) return NB_ERR_NOMEM;
    memcpy(out->data, d->str, (size_t)d->len);
    out->data[d->len] = '\0';
    out->len = (size_t)d->len;
    out->version_ms = strtoll(v->str, NULL, 10);
    out->expires_at_ms = 0;
    return NB_OK;
}

static nb_err redis_get(kv *k, kv_ns ns, const char *key, kv_value *out)
{
    kv_redis *r = as_redis(k);
    char rkey[320];
    nb_err rc;
    int klen = make_key(rkey, sizeof(rkey), ns, key);
    if (klen < 0) return NB_ERR_INVALID;
    redisReply *reply = run(r, &rc, "HMGET %b v d", rkey, (size_t)klen);
    if (!reply) return rc;
    rc = hmget_value(reply, out);
    freeReplyObject(reply);
    return rc;
}

/* Pipelined HMGETs on the calling thread's connection: every command is
 * written in one go, then the replies are read in order. Like run(), a batch
 * that fails on a reused connection (dropped by the server meanwhile) is sent
 * once more on a new one; a timeout is never retried. */
static nb_err redis_get_many(kv *k, size_t n, const kv_ns *ns, const char *const *keys,
                             kv_value *out, nb_err *rcs)
{
    kv_redis *r = as_redis(k);
    nb_err err = NB_ERR_UNAVAILABLE;
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh;
        redisContext *c = conn_get(r, &err, &fresh);
        if (!c) return err;
        for (size_t i = 0; i < n; i++) {
            char rkey[320];
            int klen = make_key(rkey, sizeof(rkey), ns[i], keys[i]);
            out[i] = (kv_value){0};
            rcs[i] = NB_ERR_INVALID;
            if (klen >= 0 && redisAppendCommand(c, "HMGET %b v d", rkey, (size_t)klen) == REDIS_OK)
                rcs[i] = NB_OK; /* sent: a reply follows */
        }
        size_t i = 0;
        for (; i < n; i++) {
            if (rcs[i] != NB_OK) continue;
            redisReply *reply = NULL;
            if (redisGetReply(c, (void **)&reply) != REDIS_OK || !reply) break;
            rcs[i] = hmget_value(reply, &out[i]);
            freeReplyObject(reply);
        }
        if (i == n) return NB_OK;
        for (size_t j = 0; j < i; j++)
            ps_kv_value_release(&out[j]);
        err = conn_failed(r);
        if (fresh || err == NB_ERR_TIMEOUT) return err;
    }
    return err;
}

static nb_err redis_put(kv *k, kv_ns ns, const char *key, int64_t version_ms, int64_t expires_at_ms,
                        const char *data, size_t len, kv_put_result *res)
{
    kv_redis *r = as_redis(k);
    char rkey[320];
    nb_err rc;
    int klen = make_key(rkey, sizeof(rkey), ns, key);
    if (klen < 0) return NB_ERR_INVALID;
    long long ttl = r->ttl_ms;
    if (expires_at_ms > 0) {
        int64_t left = expires_at_ms - nb_now_ms();
        if (left < ttl) ttl = left;
    }
    if (ttl <= 0) ttl = 0;
    redisReply *reply = run(r, &rc, "EVAL %s 1 %b %lld %b %lld", put_script, rkey, (size_t)klen,
                            (long long)version_ms, data, len, ttl);
    if (!reply) return rc;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_INTEGER) {
        nb_warn("redis put script answered unexpectedly: %s",
                reply->type == REDIS_REPLY_ERROR ? reply->str : "(wrong shape)");
        rc = NB_ERR_INTERNAL;
        goto out_free;
    }
    res->applied = reply->element[0]->integer == 1;
    res->stored_ms = reply->element[1]->integer;
    rc = NB_OK;
out_free:
    freeReplyObject(reply);
    return rc;
}

static nb_err redis_del(kv *k, kv_ns ns, const char *key)
{
    kv_redis *r = as_redis(k);
    char rkey[320];
    nb_err rc;
    int klen = make_key(rkey, sizeof(rkey), ns, key);
    if (klen < 0) return NB_ERR_INVALID;
    redisReply *reply = run(r, &rc, "DEL %b", rkey, (size_t)klen);
    if (!reply) return rc;
    rc = reply->type == REDIS_REPLY_INTEGER ? NB_OK : NB_ERR_INTERNAL;
    freeReplyObject(reply);
    return rc;
}

static nb_err redis_ping(kv *k)
{
    kv_redis *r = as_redis(k);
    nb_err rc;
    redisReply *reply = run(r, &rc, "PING");
    if (!reply) return rc;
    rc = reply->type == REDIS_REPLY_STATUS ? NB_OK : NB_ERR_INTERNAL;
    freeReplyObject(reply);
    return rc;
}

static void redis_reset(kv *k)
{
    atomic_fetch_add(&as_redis(k)->gen, 1);
    forget_master(as_redis(k), NULL);
}

static void redis_free(kv *k)
{
    kv_redis *r = as_redis(k);
    pthread_key_delete(r->tls);
    while (r->conns)
        conn_unlink_free(r, r->conns);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->addr_mu);
    pthread_mutex_destroy(&r->discover_mu);
    free(r);
}

/* --- coordination ------------------------------------------------------------ */

static int make_lease_key(char *out, size_t outlen, kv_ns ns, const char *key)
{
    int n = snprintf(out, outlen, "nimbus:lease:%s:%s", ps_kv_ns_name(ns), key);
    return (n < 0 || (size_t)n >= outlen) ? -1 : n;
}

static bool is_int(const redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER;
}

static nb_err redis_lease_acquire(kv *k, kv_ns ns, const char *key, const char *token,
                                  int64_t ttl_ms, int64_t seen_ms, kv_lease *out)
{
    kv_redis *r = as_redis(k);
    char lkey[320], vkey[320];
    nb_err rc;
    memset(out, 0, sizeof(*out));
    int ll = make_lease_key(lkey, sizeof(lkey), ns, key),
        vl = make_key(vkey, sizeof(vkey), ns, key);
    if (ll < 0 || vl < 0) return NB_ERR_INVALID;
    redisReply *reply =
        run(r, &rc, "EVAL %s 2 %b %b %s %lld %lld", lease_acquire_script, lkey, (size_t)ll, vkey,
            (size_t)vl, token, (long long)ttl_ms, (long long)seen_ms);
    if (!reply) return rc;
    rc = NB_ERR_INTERNAL;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 || !is_int(reply->element[0]) ||
        !is_int(reply->element[1]) || reply->element[2]->type != REDIS_REPLY_STRING) {
        nb_warn("redis lease script answered unexpectedly: %s",
                reply->type == REDIS_REPLY_ERROR ? reply->str : "(wrong shape)");
        goto out_free;
    }
    long long code = reply->element[0]->integer, n = reply->element[1]->integer;
    const char *value = reply->element[2]->str;
    rc = NB_OK;
    if (code == 0) {
        out->state = KV_LEASE_GRANTED;
        out->ttl_left_ms = n;
    } else if (code == 1) {
        out->state = KV_LEASE_NEWER;
        out->version_ms = n;
    } else if (value[0] == '!') {
        char *end;
        out->state = KV_LEASE_FAILED;
        out->ttl_left_ms = n;
        out->retry_after_s = (int)strtol(value + 1, &end, 10);
        snprintf(out->reason, sizeof(out->reason), "%s", *end == ' ' ? end + 1 : end);
    } else {
        out->state = KV_LEASE_HELD;
        out->ttl_left_ms = n;
    }
out_free:
    freeReplyObject(reply);
    return rc;
}

static nb_err redis_lease_release(kv *k, kv_ns ns, const char *key, const char *token,
                                  int64_t hold_ms, const char *failure, bool *released)
{
    kv_redis *r = as_redis(k);
    char lkey[320];
    nb_err rc;
    *released = false;
    int ll = make_lease_key(lkey, sizeof(lkey), ns, key);
    if (ll < 0) return NB_ERR_INVALID;
    if (!failure) failure = "";
    redisReply *reply = run(r, &rc, "EVAL %s 1 %b %s %lld %b", lease_release_script, lkey,
                            (size_t)ll, token, (long long)hold_ms, failure, strlen(failure));
    if (!reply) return rc;
    rc = is_int(reply) ? NB_OK : NB_ERR_INTERNAL;
    if (rc == NB_OK)
        *released = reply->integer == 1;
    else
        nb_warn("redis release script answered unexpectedly: %s",
                reply->type == REDIS_REPLY_ERROR ? reply->str : "(wrong shape)");
    freeReplyObject(reply);
    return rc;
}

static nb_err redis_budget_take(kv *k, const char *name, double cost, const kv_window *w, size_t nw,
                                kv_budget *out)
{
    kv_redis *r = as_redis(k);
    char bkey[160];
    nb_err rc;
    memset(out, 0, sizeof(*out));
    int bl = snprintf(bkey, sizeof(bkey), "nimbus:budget:%s", name);
    if (bl < 0 || (size_t)bl >= sizeof(bkey) || nw == 0 || nw > KV_BUDGET_WINDOWS_MAX)
        return NB_ERR_INVALID;
    /* EVAL script 1 key cost s1 l1 s2 l2 ...: argv form, so any number of windows */
    enum { FIXED = 5 };
    const char *argv[FIXED + 2 * KV_BUDGET_WINDOWS_MAX];
    size_t lens[FIXED + 2 * KV_BUDGET_WINDOWS_MAX];
    char nums[1 + 2 * KV_BUDGET_WINDOWS_MAX][32];
    int argc = 0;
    argv[argc++] = "EVAL";
    argv[argc++] = budget_script;
    argv[argc++] = "1";
    argv[argc++] = bkey;
    snprintf(nums[0], sizeof(nums[0]), "%.6f", cost);
    argv[argc++] = nums[0];
    for (size_t i = 0; i < nw; i++) {
        snprintf(nums[1 + 2 * i], sizeof(nums[0]), "%lld", (long long)w[i].seconds);
        snprintf(nums[2 + 2 * i], sizeof(nums[0]), "%.6f", w[i].limit);
        argv[argc++] = nums[1 + 2 * i];
        argv[argc++] = nums[2 + 2 * i];
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    redisReply *reply = run_argv(r, &rc, argc, argv, lens);
    if (!reply) return rc;
    rc = NB_ERR_INTERNAL;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 || !is_int(reply->element[0]) ||
        !is_int(reply->element[1]) || reply->element[2]->type != REDIS_REPLY_ARRAY ||
        reply->element[2]->elements != nw) {
        nb_warn("redis budget script answered unexpectedly: %s",
                reply->type == REDIS_REPLY_ERROR ? reply->str : "(wrong shape)");
        goto out_free;
    }
    out->retry_after_ms = reply->element[0]->integer;
    out->granted = out->retry_after_ms == 0;
    out->window_s = out->granted ? 0 : reply->element[1]->integer;
    for (size_t i = 0; i < nw; i++) {
        const redisReply *t = reply->element[2]->element[i];
        out->left[i] = t->type == REDIS_REPLY_STRING ? strtod(t->str, NULL) : 0;
    }
    rc = NB_OK;
out_free:
    freeReplyObject(reply);
    return rc;
}

/* Pipelined HGET <value> v and GET <lease> per key, like redis_get_many. */
static nb_err redis_watch(kv *k, size_t n, const kv_ns *ns, const char *const *keys, kv_watch *out)
{
    kv_redis *r = as_redis(k);
    nb_err err = NB_ERR_UNAVAILABLE;
    for (size_t i = 0; i < n; i++) {
        char probe[320];
        if (make_key(probe, sizeof(probe), ns[i], keys[i]) < 0 ||
            make_lease_key(probe, sizeof(probe), ns[i], keys[i]) < 0)
            return NB_ERR_INVALID;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh;
        redisContext *c = conn_get(r, &err, &fresh);
        if (!c) return err;
        for (size_t i = 0; i < n; i++) {
            char vkey[320], lkey[320];
            int vl = make_key(vkey, sizeof(vkey), ns[i], keys[i]);
            int ll = make_lease_key(lkey, sizeof(lkey), ns[i], keys[i]);
            redisAppendCommand(c, "HGET %b v", vkey, (size_t)vl);
            redisAppendCommand(c, "GET %b", lkey, (size_t)ll);
        }
        size_t got = 0;
        for (; got < 2 * n; got++) {
            redisReply *reply = NULL;
            if (redisGetReply(c, (void **)&reply) != REDIS_OK || !reply) break;
            kv_watch *w = &out[got / 2];
            if (got % 2 == 0)
                w->version_ms =
                    reply->type == REDIS_REPLY_STRING ? strtoll(reply->str, NULL, 10) : 0;
            else
                w->lease_held = reply->type == REDIS_REPLY_STRING && reply->str[0] != '!';
            freeReplyObject(reply);
        }
        if (got == 2 * n) return NB_OK;
        err = conn_failed(r);
        if (fresh || err == NB_ERR_TIMEOUT) return err;
    }
    return err;
}

static const kv_coord_ops redis_coord_ops = {
    .lease_acquire = redis_lease_acquire,
    .lease_release = redis_lease_release,
    .budget_take = redis_budget_take,
    .watch = redis_watch,
};

static const kv_ops redis_ops = {
    .name = "redis",
    .get = redis_get,
    .get_many = redis_get_many,
    .put_if_newer = redis_put,
    .del = redis_del,
    .ping = redis_ping,
    .reset = redis_reset,
    .free = redis_free,
    .coord = &redis_coord_ops,
};

/* redis://[:password@]host[:port][/db] */
static bool parse_url(kv_redis *r, const char *url, const char **why)
{
    const char *p = url;
    if (strncmp(p, "redis://", 8) != 0) {
        *why = "redis URL must start with redis://";
        return false;
    }
    p += 8;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t n = (size_t)(at - pw);
        if (n >= sizeof(r->password)) {
            *why = "redis password too long";
            return false;
        }
        memcpy(r->password, pw, n);
        r->password[n] = '\0';
        p = at + 1;
    }
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof(r->master.host)) {
        *why = "redis URL has no host";
        return false;
    }
    memcpy(r->master.host, p, hl);
    r->master.host[hl] = '\0';
    p += hl;
    r->master.port = 6379;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535) {
            *why = "redis URL has a bad port";
            return false;
        }
        r->master.port = (int)port;
        p = end;
    }
    r->db = 0;
    if (*p == '/' && p[1]) {
        char *end;
        long db = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end || db < 0 || db > 1000000) {
            *why = "redis URL has a bad database number";
            return false;
        }
        r->db = (int)db;
    } else if (*p && strcmp(p, "/") != 0) {
        *why = "redis URL has trailing garbage";
        return false;
    }
    return true;
}

/* "host:port,host:port" (port default 26379) into r->sentinels. */
static bool parse_sentinels(kv_redis *r, const char *list, const char **why)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 0) {
            *why = "empty entry in the sentinel list";
            return false;
        }
        if (r->nsentinels == KV_REDIS_SENTINELS_MAX) {
            *why = "too many sentinels (at most " NB_STR(KV_REDIS_SENTINELS_MAX) ")";
            return false;
        }
        redis_addr *a = &r->sentinels[r->nsentinels];
        const char *colon = memchr(p, ':', n);
        size_t hl = colon ? (size_t)(colon - p) : n;
        if (hl == 0 || hl >= sizeof(a->host)) {
            *why = "a sentinel has no host (host:port expected)";
            return false;
        }
        memcpy(a->host, p, hl);
        a->host[hl] = '\0';
        a->port = 26379;
        if (colon) {
            char digits[8] = "";
            size_t dl = n - hl - 1;
            char *end;
            if (dl == 0 || dl >= sizeof(digits)) {
                *why = "a sentinel has a bad port";
                return false;
            }
            memcpy(digits, colon + 1, dl);
            long port = strtol(digits, &end, 10);
            if (*end || port < 1 || port > 65535) {
                *why = "a sentinel has a bad port";
                return false;
            }
            a->port = (int)port;
        }
        r->nsentinels++;
        p += n;
        if (*p == ',') p++;
    }
    return true;
}

kv *ps_kv_redis_new(const kv_redis_opts *o, const char **why)
{
    kv_redis *r = calloc(1, sizeof(*r));
    if (!r) {
        *why = "out of memory";
        return NULL;
    }
    if (!parse_url(r, o->url, why)) goto out_free;
    if (o->sentinels && o->sentinels[0]) {
        if (!parse_sentinels(r, o->sentinels, why)) goto out_free;
        if (!o->master_name || !o->master_name[0] ||
            strlen(o->master_name) >= sizeof(r->master_name)) {
            *why = "sentinels need a master name (1 to 127 bytes)";
            goto out_free;
        }
        snprintf(r->master_name, sizeof(r->master_name), "%s", o->master_name);
        r->master = (redis_addr){0}; /* found through the sentinels */
    } else {
        r->master_known = true;
    }
    if (pthread_key_create(&r->tls, conn_destroy) != 0) {
        *why = "no thread-local key";
        goto out_free;
    }
    r->base.ops = &redis_ops;
    r->base.name = "redis";
    r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 500;
    r->ttl_ms = o->ttl_ms > 0 ? o->ttl_ms : 86400000;
    r->master_changes = nb_counter_new("nimbus_redis_master_changes_total", NULL,
                                       "Times the sentinels named another Redis master");
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->addr_mu, NULL);
    pthread_mutex_init(&r->discover_mu, NULL);
    atomic_init(&r->gen, 0);
    return &r->base;
out_free:
    free(r);
    return NULL;
}
