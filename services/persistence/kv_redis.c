/* kv_redis.c — kv on Redis (see kv_redis.h).
 *
 * Connections: one redis_conn per (instance, thread) in a pthread key; all of
 * them are also linked into the instance so kv_free() can release those of
 * threads that are still alive. A connection remembers the instance's
 * generation it was made in; kv_reset() bumps the generation so every thread
 * drops its (probably dead) connection before the next use. */
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

typedef struct redis_conn {
    struct redis_conn *prev, *next;
    struct kv_redis *owner;
    redisContext *c;
    uint64_t gen;
} redis_conn;

typedef struct kv_redis {
    kv base;
    char host[256];
    int port;
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

    struct timeval tv = {.tv_sec = r->timeout_ms / 1000, .tv_usec = (r->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!c) {
        *err = NB_ERR_NOMEM;
        return NULL;
    }
    if (c->err) {
        nb_debug("redis connect to %s:%d failed: %s", r->host, r->port, c->errstr);
        *err = NB_ERR_UNAVAILABLE;
        goto out_free;
    }
    /* also bounds every later read and write (pitfall: set after every connect) */
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        *err = NB_ERR_UNAVAILABLE;
        goto out_free;
    }
    if (r->password[0] && !setup_command(c, "AUTH", redisCommand(c, "AUTH %s", r->password))) {
        *err = c->err ? err_of(c) : NB_ERR_UNAVAILABLE;
        goto out_free;
    }
    if (r->db != 0 && !setup_command(c, "SELECT", redisCommand(c, "SELECT %d", r->db))) {
        *err = c->err ? err_of(c) : NB_ERR_UNAVAILABLE;
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
    return e;
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
        if (reply) return reply;
        *err = conn_failed(r);
        if (fresh || *err == NB_ERR_TIMEOUT) return NULL;
    }
    return NULL;
}

static int make_key(char *out, size_t outlen, kv_ns ns, const char *key)
{
    int n = snprintf(out, outlen, "nimbus:%s:%s", kv_ns_name(ns), key);
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
            kv_value_release(&out[j]);
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
}

static void redis_free(kv *k)
{
    kv_redis *r = as_redis(k);
    pthread_key_delete(r->tls);
    while (r->conns)
        conn_unlink_free(r, r->conns);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static const kv_ops redis_ops = {
    .name = "redis",
    .get = redis_get,
    .get_many = redis_get_many,
    .put_if_newer = redis_put,
    .del = redis_del,
    .ping = redis_ping,
    .reset = redis_reset,
    .free = redis_free,
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
    if (hl == 0 || hl >= sizeof(r->host)) {
        *why = "redis URL has no host";
        return false;
    }
    memcpy(r->host, p, hl);
    r->host[hl] = '\0';
    p += hl;
    r->port = 6379;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535) {
            *why = "redis URL has a bad port";
            return false;
        }
        r->port = (int)port;
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

kv *kv_redis_new(const char *url, int timeout_ms, int64_t ttl_ms, const char **why)
{
    kv_redis *r = calloc(1, sizeof(*r));
    if (!r) {
        *why = "out of memory";
        return NULL;
    }
    if (!parse_url(r, url, why)) goto out_free;
    if (pthread_key_create(&r->tls, conn_destroy) != 0) {
        *why = "no thread-local key";
        goto out_free;
    }
    r->base.ops = &redis_ops;
    r->base.name = "redis";
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 500;
    r->ttl_ms = ttl_ms > 0 ? ttl_ms : 86400000;
    pthread_mutex_init(&r->mu, NULL);
    atomic_init(&r->gen, 0);
    return &r->base;
out_free:
    free(r);
    return NULL;
}
