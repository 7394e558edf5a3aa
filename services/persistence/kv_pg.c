/* kv_pg.c — kv on PostgreSQL (see kv_pg.h).
 *
 * Connections: one pg_conn per (instance, thread) in a pthread key, linked
 * into the instance for kv_free(); kv_reset() bumps a generation so every
 * thread drops its connection before the next use (same scheme as
 * kv_redis.c). */
#include "kv_pg.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "pgconn.h"
#include "schema.h"

/* DDL may take longer than a request's deadline; it runs off the request path. */
#define MIGRATION_TIMEOUT_MS 15000

typedef struct pg_conn {
    struct pg_conn *prev, *next;
    struct kv_pg *owner;
    PGconn *c;
    uint64_t gen;
} pg_conn;

typedef struct kv_pg {
    kv base;
    char *dsn;
    int timeout_ms;
    pthread_key_t tls;
    pthread_mutex_t mu; /* guards conns */
    pg_conn *conns;
    atomic_uint_fast64_t gen;
    atomic_int schema_version;
} kv_pg;

typedef struct ns_sql {
    const char *get, *put, *current, *del;
} ns_sql;

/* gets: $1 key, $2 now (ms, geocode only). puts: $1 key, $2 version, then
 * records: $3 body; geocode: $3 expires (NULL = never), $4 body. */
static const ns_sql sql[KV_NS_COUNT] = {
    [KV_NS_RECORD] =
        {
            .get = "SELECT body, fetched_at_ms, 0 FROM records WHERE key = $1",
            .put = "INSERT INTO records AS stored (key, fetched_at_ms, body)"
                   " VALUES ($1, $2::bigint, $3::json)"
                   " ON CONFLICT (key) DO UPDATE SET fetched_at_ms = EXCLUDED.fetched_at_ms,"
                   " body = EXCLUDED.body, updated_at = now()"
                   " WHERE stored.fetched_at_ms < EXCLUDED.fetched_at_ms"
                   " RETURNING fetched_at_ms",
            .current = "SELECT fetched_at_ms FROM records WHERE key = $1",
            .del = "DELETE FROM records WHERE key = $1",
        },
    [KV_NS_GEOCODE] =
        {
            .get = "SELECT body, resolved_at_ms, coalesce(expires_at_ms, 0) FROM geocode"
                   " WHERE query = $1 AND (expires_at_ms IS NULL OR expires_at_ms > $2::bigint)",
            .put = "INSERT INTO geocode AS stored (query, resolved_at_ms, expires_at_ms, body)"
                   " VALUES ($1, $2::bigint, $3::bigint, $4::json)"
                   " ON CONFLICT (query) DO UPDATE SET resolved_at_ms = EXCLUDED.resolved_at_ms,"
                   " expires_at_ms = EXCLUDED.expires_at_ms, body = EXCLUDED.body,"
                   " updated_at = now()"
                   " WHERE stored.resolved_at_ms < EXCLUDED.resolved_at_ms"
                   " RETURNING resolved_at_ms",
            .current = "SELECT resolved_at_ms FROM geocode WHERE query = $1",
            .del = "DELETE FROM geocode WHERE query = $1",
        },
};

static kv_pg *as_pg(kv *k)
{
    return (kv_pg *)k;
}

static void conn_close(pg_conn *pc)
{
    if (pc->c) {
        PQfinish(pc->c);
        pc->c = NULL;
    }
}

static void conn_unlink_free(kv_pg *p, pg_conn *pc)
{
    if (pc->prev)
        pc->prev->next = pc->next;
    else
        p->conns = pc->next;
    if (pc->next) pc->next->prev = pc->prev;
    conn_close(pc);
    free(pc);
}

static void conn_destroy(void *arg)
{
    pg_conn *pc = arg;
    kv_pg *p = pc->owner;
    pthread_mutex_lock(&p->mu);
    conn_unlink_free(p, pc);
    pthread_mutex_unlock(&p->mu);
}

static pg_conn *conn_slot(kv_pg *p)
{
    pg_conn *pc = pthread_getspecific(p->tls);
    if (pc) return pc;
    pc = calloc(1, sizeof(*pc));
    if (!pc) return NULL;
    pc->owner = p;
    pthread_mutex_lock(&p->mu);
    pc->next = p->conns;
    if (p->conns) p->conns->prev = pc;
    p->conns = pc;
    pthread_mutex_unlock(&p->mu);
    pthread_setspecific(p->tls, pc);
    return pc;
}

/* The calling thread's connection, connected before deadline, or NULL.
 * *fresh (may be NULL) tells whether this call made it. */
static PGconn *conn_get(kv_pg *p, int64_t deadline, nb_err *err, bool *fresh)
{
    if (fresh) *fresh = false;
    pg_conn *pc = conn_slot(p);
    if (!pc) {
        *err = NB_ERR_NOMEM;
        return NULL;
    }
    uint64_t gen = atomic_load(&p->gen);
    if (pc->c && (pc->gen != gen || PQstatus(pc->c) != CONNECTION_OK)) conn_close(pc);
    if (pc->c) return pc->c;
    *err = pgc_connect(p->dsn, p->timeout_ms, deadline, &pc->c);
    if (*err != NB_OK) return NULL;
    pc->gen = gen;
    if (fresh) *fresh = true;
    return pc->c;
}

/* Runs one statement with the instance's deadline; drops the connection when
 * it failed or timed out. A reused connection found broken (PostgreSQL
 * restarted since its last use) is replaced and the statement run once more
 * within the same deadline: every statement here is safe to repeat (reads,
 * deletes, the upsert-if-newer). A timeout is never retried. */
static nb_err exec(kv_pg *p, const char *stmt, int n, const char *const *params, PGresult **res)
{
    int64_t deadline = nb_mono_ms() + p->timeout_ms;
    nb_err rc = NB_ERR_UNAVAILABLE;

    *res = NULL;
    if (atomic_load(&p->schema_version) == 0)
        return NB_ERR_UNAVAILABLE; /* not migrated yet: the probe thread will */
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh;
        PGconn *c = conn_get(p, deadline, &rc, &fresh);
        if (!c) return rc;
        rc = pgc_exec(c, stmt, n, params, deadline, res);
        if (rc != NB_ERR_TIMEOUT && rc != NB_ERR_UNAVAILABLE) return rc;
        conn_close(pthread_getspecific(p->tls));
        if (fresh || rc == NB_ERR_TIMEOUT) return rc;
    }
    return rc;
}

static nb_err pg_get(kv *k, kv_ns ns, const char *key, kv_value *out)
{
    kv_pg *p = as_pg(k);
    char now[24];
    snprintf(now, sizeof(now), "%" PRId64, nb_now_ms());
    const char *params[2] = {key, now};
    PGresult *r;
    /* the records query has no $2; pass only what the statement uses */
    nb_err rc = exec(p, sql[ns].get, ns == KV_NS_GEOCODE ? 2 : 1, params, &r);
    if (rc != NB_OK) return rc;
    if (PQntuples(r) == 0) {
        rc = NB_ERR_NOT_FOUND;
        goto out_clear;
    }
    size_t len = (size_t)PQgetlength(r, 0, 0);
    out->data = malloc(len + 1);
    if (!out->data) {
        rc = NB_ERR_NOMEM;
        goto out_clear;
    }
    memcpy(out->data, PQgetvalue(r, 0, 0), len);
    out->data[len] = '\0';
    out->len = len;
    out->version_ms = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    out->expires_at_ms = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
out_clear:
    PQclear(r);
    return rc;
}

static nb_err pg_put(kv *k, kv_ns ns, const char *key, int64_t version_ms, int64_t expires_at_ms,
                     const char *data, size_t len, kv_put_result *res)
{
    kv_pg *p = as_pg(k);
    char version[24], expires[24];
    PGresult *r;

    snprintf(version, sizeof(version), "%" PRId64, version_ms);
    snprintf(expires, sizeof(expires), "%" PRId64, expires_at_ms);
    /* text parameters must be NUL-terminated: copy if the caller's bytes are not */
    char *body = malloc(len + 1);
    if (!body) return NB_ERR_NOMEM;
    memcpy(body, data, len);
    body[len] = '\0';
    nb_err rc;
    if (ns == KV_NS_RECORD) {
        const char *params[3] = {key, version, body};
        rc = exec(p, sql[ns].put, 3, params, &r);
    } else {
        const char *params[4] = {key, version, expires_at_ms > 0 ? expires : NULL, body};
        rc = exec(p, sql[ns].put, 4, params, &r);
    }
    free(body);
    if (rc != NB_OK) return rc;
    if (PQntuples(r) == 1) {
        res->applied = true;
        res->stored_ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        return NB_OK;
    }
    PQclear(r);
    /* not applied: report the version that won */
    const char *kparam[1] = {key};
    rc = exec(p, sql[ns].current, 1, kparam, &r);
    if (rc != NB_OK) return rc;
    res->applied = false;
    res->stored_ms = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return NB_OK;
}

static nb_err pg_del(kv *k, kv_ns ns, const char *key)
{
    PGresult *r;
    const char *params[1] = {key};
    nb_err rc = exec(as_pg(k), sql[ns].del, 1, params, &r);
    PQclear(r);
    return rc;
}

/* Also migrates the schema the first time the database answers. */
static nb_err pg_ping(kv *k)
{
    kv_pg *p = as_pg(k);
    PGresult *r = NULL;
    nb_err rc;

    if (atomic_load(&p->schema_version) == 0) {
        int64_t deadline = nb_mono_ms() + MIGRATION_TIMEOUT_MS;
        PGconn *c = conn_get(p, nb_mono_ms() + p->timeout_ms, &rc, NULL);
        if (!c) return rc;
        int version = 0;
        rc = schema_migrate(c, deadline, &version);
        if (rc != NB_OK) {
            conn_close(pthread_getspecific(p->tls));
            return rc == NB_ERR_INTERNAL ? NB_ERR_UNAVAILABLE : rc;
        }
        atomic_store(&p->schema_version, version);
        nb_info("database schema is at version %d", version);
        return NB_OK;
    }
    rc = exec(p, "SELECT 1", 0, NULL, &r);
    PQclear(r);
    return rc;
}

static void pg_reset(kv *k)
{
    atomic_fetch_add(&as_pg(k)->gen, 1);
}

static void pg_free(kv *k)
{
    kv_pg *p = as_pg(k);
    pthread_key_delete(p->tls);
    while (p->conns)
        conn_unlink_free(p, p->conns);
    pthread_mutex_destroy(&p->mu);
    free(p->dsn);
    free(p);
}

static const kv_ops pg_ops = {
    .name = "postgres",
    .get = pg_get,
    .put_if_newer = pg_put,
    .del = pg_del,
    .ping = pg_ping,
    .reset = pg_reset,
    .free = pg_free,
};

kv *kv_pg_new(const char *dsn, int timeout_ms)
{
    kv_pg *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    p->dsn = strdup(dsn);
    if (!p->dsn || pthread_key_create(&p->tls, conn_destroy) != 0) {
        free(p->dsn);
        free(p);
        return NULL;
    }
    p->base.ops = &pg_ops;
    p->base.name = "postgres";
    p->timeout_ms = timeout_ms > 0 ? timeout_ms : 500;
    pthread_mutex_init(&p->mu, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->schema_version, 0);
    return &p->base;
}

int kv_pg_schema_version(kv *k)
{
    return atomic_load(&as_pg(k)->schema_version);
}

PGconn *kv_pg_conn(kv *k, int64_t deadline_ms, nb_err *err)
{
    kv_pg *p = as_pg(k);
    if (atomic_load(&p->schema_version) == 0) {
        *err = NB_ERR_UNAVAILABLE; /* not migrated yet: the probe thread will */
        return NULL;
    }
    return conn_get(p, deadline_ms, err, NULL);
}

void kv_pg_conn_drop(kv *k)
{
    pg_conn *pc = pthread_getspecific(as_pg(k)->tls);
    if (pc) conn_close(pc);
}
