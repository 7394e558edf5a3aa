/* kv_pg.c — kv on PostgreSQL (see kv_pg.h), with the transactional outbox.
 *
 * Connections: one pg_conn per (instance, thread) in a pthread key, linked
 * into the instance for ps_kv_free(); ps_kv_reset() bumps a generation so every
 * thread drops its connection before the next use (same scheme as
 * kv_redis.c).
 *
 * A record write with its event is one transaction (READ COMMITTED): lock the
 * stored row (SELECT ... FOR UPDATE); if there is one, a single statement
 * updates it when the version is newer and, reading the locked row's
 * observation in the same snapshot, inserts the event only when the
 * observation differs; if there is none, a single statement inserts the row
 * (ON CONFLICT DO NOTHING) and the event with it. An insert that lost the race
 * to a concurrent writer of the same new key inserts nothing, and the loop
 * locks the now committed row and decides again. Any failure inside the
 * transaction drops the connection, which ends the transaction on the
 * server. */
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
    *err = ps_pgc_connect(p->dsn, p->timeout_ms, deadline, &pc->c);
    if (*err != NB_OK) return NULL;
    pc->gen = gen;
    if (fresh) *fresh = true;
    return pc->c;
}

/* Runs one statement before deadline; drops the connection when it failed or
 * timed out. A reused connection found broken (PostgreSQL restarted since its
 * last use) is replaced and the statement run once more within the same
 * deadline: every statement sent this way is safe to repeat (reads, deletes,
 * the upsert-if-newer, the outbox updates, BEGIN). A timeout is never retried. */
static nb_err exec_until(kv_pg *p, const char *stmt, int n, const char *const *params,
                         int64_t deadline, PGresult **res)
{
    nb_err rc = NB_ERR_UNAVAILABLE;

    *res = NULL;
    if (atomic_load(&p->schema_version) == 0)
        return NB_ERR_UNAVAILABLE; /* not migrated yet: the probe thread will */
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh;
        PGconn *c = conn_get(p, deadline, &rc, &fresh);
        if (!c) return rc;
        rc = ps_pgc_exec(c, stmt, n, params, deadline, res);
        if (rc != NB_ERR_TIMEOUT && rc != NB_ERR_UNAVAILABLE) return rc;
        conn_close(pthread_getspecific(p->tls));
        if (fresh || rc == NB_ERR_TIMEOUT) return rc;
    }
    return rc;
}

/* exec_until with the instance's deadline. */
static nb_err exec(kv_pg *p, const char *stmt, int n, const char *const *params, PGresult **res)
{
    return exec_until(p, stmt, n, params, nb_mono_ms() + p->timeout_ms, res);
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
        rc = ps_schema_migrate(c, deadline, &version);
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

/* --- the outbox ------------------------------------------------------------ */

/* $1 key. Holds the stored record (if any) until the transaction ends. */
static const char sql_lock_record[] = "SELECT 1 FROM records WHERE key = $1 FOR UPDATE";
/* With the row locked: $1 key, $2 version, $3 body, $4 event id, $5 event,
 * $6 the new observation. Returns the version written (NULL: not newer), the
 * version that was stored, and whether the event was inserted. */
static const char sql_advance_record[] =
    "WITH old AS (SELECT fetched_at_ms, body->'current'->>'time' AS observed"
    "             FROM records WHERE key = $1),"
    " up AS (UPDATE records SET fetched_at_ms = $2::bigint, body = $3::json, updated_at = now()"
    "        WHERE key = $1 AND fetched_at_ms < $2::bigint RETURNING fetched_at_ms),"
    " ev AS (INSERT INTO outbox (id, key, event) SELECT $4::uuid, $1, $5::json FROM up, old"
    "        WHERE old.observed IS DISTINCT FROM $6::text RETURNING id)"
    " SELECT (SELECT fetched_at_ms FROM up), (SELECT fetched_at_ms FROM old),"
    " (SELECT count(*) FROM ev)";
/* No stored row: $1..$5 as above. Returns the version written (NULL: another
 * writer inserted the key first) and whether the event was inserted. */
static const char sql_insert_record[] =
    "WITH ins AS (INSERT INTO records (key, fetched_at_ms, body)"
    "             VALUES ($1, $2::bigint, $3::json)"
    "             ON CONFLICT (key) DO NOTHING RETURNING fetched_at_ms),"
    " ev AS (INSERT INTO outbox (id, key, event) SELECT $4::uuid, $1, $5::json FROM ins"
    "        RETURNING id)"
    " SELECT (SELECT fetched_at_ms FROM ins), (SELECT count(*) FROM ev)";
/* $1 owner, $2 limit, $3 lease ms: unsent events no one holds a live lease on,
 * oldest first, skipping rows another claim is taking right now. */
static const char sql_claim[] =
    "WITH c AS (SELECT seq FROM outbox WHERE sent_at IS NULL"
    "           AND (lease_until IS NULL OR lease_until <= now())"
    "           ORDER BY seq LIMIT $2::int FOR UPDATE SKIP LOCKED),"
    " u AS (UPDATE outbox o SET claimed_by = $1,"
    "       lease_until = now() + $3::int * interval '1 millisecond'"
    "       FROM c WHERE o.seq = c.seq RETURNING o.seq, o.id, o.key, o.event)"
    " SELECT id, key, event FROM u ORDER BY seq";
/* $1 ids (uuid[] literal) */
static const char sql_ack[] = "UPDATE outbox SET sent_at = now(), claimed_by = NULL,"
                              " lease_until = NULL WHERE id = ANY($1::uuid[]) AND sent_at IS NULL";
/* $1 owner, $2 ids */
static const char sql_release[] =
    "UPDATE outbox SET claimed_by = NULL, lease_until = NULL"
    " WHERE id = ANY($2::uuid[]) AND claimed_by = $1 AND sent_at IS NULL";
static const char sql_stats[] =
    "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8"
    " FROM outbox WHERE sent_at IS NULL";
/* $1 retention ms; one bounded batch per statement */
#define PURGE_BATCH 10000
#define STR_(x) #x
#define STR(x) STR_(x)
static const char sql_purge[] =
    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox"
    " WHERE sent_at < now() - $1::bigint * interval '1 millisecond' LIMIT " STR(PURGE_BATCH) ")";

/* Ends a transaction that failed: dropping the connection makes the server
 * roll it back whatever state the connection was left in. */
static void tx_fail(kv_pg *p)
{
    pg_conn *pc = pthread_getspecific(p->tls);
    if (pc) conn_close(pc);
}

/* A statement inside the open transaction; on failure the transaction is over. */
static nb_err tx_exec(kv_pg *p, PGconn *c, const char *stmt, int n, const char *const *params,
                      int64_t deadline, PGresult **res)
{
    nb_err rc = ps_pgc_exec(c, stmt, n, params, deadline, res);
    if (rc != NB_OK) tx_fail(p);
    return rc;
}

static char *dup_text(const char *data, size_t len)
{
    char *t = malloc(len + 1);
    if (t) {
        memcpy(t, data, len);
        t[len] = '\0';
    }
    return t;
}

static nb_err pg_put_record(kv *k, const char *key, int64_t version_ms, const char *data,
                            size_t len, const kv_event *ev, kv_put_result *res)
{
    kv_pg *p = as_pg(k);
    int64_t deadline = nb_mono_ms() + p->timeout_ms;
    char version[24];
    PGresult *r = NULL;
    nb_err rc = NB_ERR_NOMEM;

    *res = (kv_put_result){0};
    snprintf(version, sizeof(version), "%" PRId64, version_ms);
    char *body = dup_text(data, len), *event = dup_text(ev->data, ev->len);
    if (!body || !event) goto out_free;
    const char *params[6] = {key, version, body, ev->id, event, ev->observed};
    if ((rc = exec_until(p, "BEGIN", 0, NULL, deadline, &r)) != NB_OK) goto out_free;
    PQclear(r);
    PGconn *c = ((pg_conn *)pthread_getspecific(p->tls))->c;
    for (int attempt = 0; attempt < 3; attempt++) {
        if ((rc = tx_exec(p, c, sql_lock_record, 1, params, deadline, &r)) != NB_OK) goto out_free;
        bool stored = PQntuples(r) == 1;
        PQclear(r);
        if (stored) {
            if ((rc = tx_exec(p, c, sql_advance_record, 6, params, deadline, &r)) != NB_OK)
                goto out_free;
            res->applied = !PQgetisnull(r, 0, 0);
            res->stored_ms = strtoll(PQgetvalue(r, 0, res->applied ? 0 : 1), NULL, 10);
            res->event_created = strcmp(PQgetvalue(r, 0, 2), "1") == 0;
            PQclear(r);
            goto out_commit;
        }
        if ((rc = tx_exec(p, c, sql_insert_record, 5, params, deadline, &r)) != NB_OK)
            goto out_free;
        res->applied = !PQgetisnull(r, 0, 0);
        res->event_created = strcmp(PQgetvalue(r, 0, 1), "1") == 0;
        PQclear(r);
        if (res->applied) {
            res->stored_ms = version_ms;
            goto out_commit;
        }
        /* a concurrent writer inserted the key first: lock its row, decide again */
    }
    nb_warn("record %s kept changing under its writer; not stored", key);
    tx_fail(p);
    rc = NB_ERR_INTERNAL;
    goto out_free;
out_commit:
    if ((rc = tx_exec(p, c, "COMMIT", 0, NULL, deadline, &r)) != NB_OK) {
        *res = (kv_put_result){0}; /* not known to be stored: nothing acknowledged */
        goto out_free;
    }
    PQclear(r);
out_free:
    free(body);
    free(event);
    return rc;
}

/* "{id,id,...}": a uuid[] parameter (ids are UUID text, checked by the caller). */
static char *uuid_array(size_t n, const char *const *ids)
{
    char *a = malloc(n * (KV_UUID_LEN + 1) + 3), *w = a;
    if (!a) return NULL;
    *w++ = '{';
    for (size_t i = 0; i < n; i++) {
        size_t l = strnlen(ids[i], KV_UUID_LEN);
        if (i) *w++ = ',';
        memcpy(w, ids[i], l);
        w += l;
    }
    *w++ = '}';
    *w = '\0';
    return a;
}

/* Runs an UPDATE/DELETE and returns how many rows it changed in *done. */
static nb_err exec_count(kv_pg *p, const char *stmt, int n, const char *const *params, size_t *done)
{
    PGresult *r;
    *done = 0;
    nb_err rc = exec(p, stmt, n, params, &r);
    if (rc != NB_OK) return rc;
    *done = (size_t)strtoull(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return NB_OK;
}

static nb_err pg_claim(kv *k, const char *owner, int limit, int lease_ms, kv_outbox_event **out,
                       size_t *n)
{
    kv_pg *p = as_pg(k);
    char lim[16], lease[16];
    PGresult *r;

    *out = NULL;
    *n = 0;
    snprintf(lim, sizeof(lim), "%d", limit);
    snprintf(lease, sizeof(lease), "%d", lease_ms);
    const char *params[3] = {owner, lim, lease};
    nb_err rc = exec(p, sql_claim, 3, params, &r);
    if (rc != NB_OK) return rc;
    size_t rows = (size_t)PQntuples(r);
    kv_outbox_event *evs = rows ? calloc(rows, sizeof(*evs)) : NULL;
    if (rows && !evs) {
        rc = NB_ERR_NOMEM; /* claimed all the same: the leases run out */
        goto out_clear;
    }
    for (size_t i = 0; i < rows; i++) {
        kv_outbox_event *e = &evs[i];
        snprintf(e->id, sizeof(e->id), "%s", PQgetvalue(r, (int)i, 0));
        snprintf(e->key, sizeof(e->key), "%s", PQgetvalue(r, (int)i, 1));
        e->len = (size_t)PQgetlength(r, (int)i, 2);
        e->data = dup_text(PQgetvalue(r, (int)i, 2), e->len);
        if (!e->data) {
            ps_kv_outbox_events_free(evs, i);
            rc = NB_ERR_NOMEM;
            goto out_clear;
        }
    }
    *out = evs;
    *n = rows;
out_clear:
    PQclear(r);
    return rc;
}

static nb_err pg_ack(kv *k, size_t n, const char *const *ids, size_t *done)
{
    *done = 0;
    char *arr = uuid_array(n, ids);
    if (!arr) return NB_ERR_NOMEM;
    const char *params[1] = {arr};
    nb_err rc = exec_count(as_pg(k), sql_ack, 1, params, done);
    free(arr);
    return rc;
}

static nb_err pg_release(kv *k, const char *owner, size_t n, const char *const *ids, size_t *done)
{
    *done = 0;
    char *arr = uuid_array(n, ids);
    if (!arr) return NB_ERR_NOMEM;
    const char *params[2] = {owner, arr};
    nb_err rc = exec_count(as_pg(k), sql_release, 2, params, done);
    free(arr);
    return rc;
}

static nb_err pg_stats(kv *k, kv_outbox_stats *out)
{
    PGresult *r;
    *out = (kv_outbox_stats){0};
    nb_err rc = exec(as_pg(k), sql_stats, 0, NULL, &r);
    if (rc != NB_OK) return rc;
    out->pending = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    out->oldest_age_s = strtod(PQgetvalue(r, 0, 1), NULL);
    PQclear(r);
    return NB_OK;
}

/* A few batches per call, so a large backlog neither holds one long
 * statement nor waits a whole interval per batch. */
static nb_err pg_purge(kv *k, int64_t older_than_ms, size_t *done)
{
    char ms[24];
    snprintf(ms, sizeof(ms), "%" PRId64, older_than_ms);
    const char *params[1] = {ms};
    *done = 0;
    for (int batch = 0; batch < 10; batch++) {
        size_t n;
        nb_err rc = exec_count(as_pg(k), sql_purge, 1, params, &n);
        if (rc != NB_OK) return rc;
        *done += n;
        if (n < PURGE_BATCH) break;
    }
    return NB_OK;
}

static const kv_outbox_ops pg_outbox_ops = {
    .put_record = pg_put_record,
    .claim = pg_claim,
    .ack = pg_ack,
    .release = pg_release,
    .stats = pg_stats,
    .purge = pg_purge,
};

static const kv_ops pg_ops = {
    .name = "postgres",
    .get = pg_get,
    .put_if_newer = pg_put,
    .del = pg_del,
    .ping = pg_ping,
    .reset = pg_reset,
    .free = pg_free,
    .outbox = &pg_outbox_ops,
};

kv *ps_kv_pg_new(const char *dsn, int timeout_ms)
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

PGconn *ps_kv_pg_conn(kv *k, int64_t deadline_ms, nb_err *err)
{
    kv_pg *p = as_pg(k);
    if (atomic_load(&p->schema_version) == 0) {
        *err = NB_ERR_UNAVAILABLE; /* not migrated yet: the probe thread will */
        return NULL;
    }
    return conn_get(p, deadline_ms, err, NULL);
}

void ps_kv_pg_conn_drop(kv *k)
{
    pg_conn *pc = pthread_getspecific(as_pg(k)->tls);
    if (pc) conn_close(pc);
}
