/* kv_pg.h — the database backend: kv on PostgreSQL 15 (libpq).
 *
 * Tables (schema.c): records(key, fetched_at_ms, body, ...),
 * geocode(query, resolved_at_ms, expires_at_ms, body, ...) and outbox. Puts are
 * INSERT ... ON CONFLICT DO UPDATE ... WHERE stored version < new version,
 * so they are monotonic under concurrent writers; gets treat a row whose
 * expires_at_ms has passed (daemon clock) as absent. Every operation is
 * bounded by timeout_ms (pgconn.h). Each calling thread gets its own
 * connection (thread-local, lazily created, never shared); a connection that
 * failed or timed out is dropped.
 *
 * The outbox (kv_outbox_ops) is the table outbox(seq, id uuid, key, event
 * json, created_at, claimed_by, lease_until, sent_at): a record write and
 * its event are one transaction with the stored row locked (kv_pg.c says
 * how); claims are FOR UPDATE SKIP LOCKED with a lease on the database's
 * clock, so any number of relays (and persistence replicas) share it.
 *
 * The schema is migrated by the first successful ping (main calls it at
 * start-up, the store's probe thread later); until then get/put/del answer
 * NB_ERR_UNAVAILABLE without connecting, so requests never wait on DDL.
 * Threads: see kv.h (any thread). */
#ifndef NIMBUS_PERSISTENCE_KV_PG_H
#define NIMBUS_PERSISTENCE_KV_PG_H

#include <libpq-fe.h>
#include <stdint.h>

#include "kv.h"

/* dsn is copied. NULL on no memory; does not connect. */
kv *ps_kv_pg_new(const char *dsn, int timeout_ms);

/* The calling thread's connection, for other stores on the same database
 * (subs.c): connected before deadline_ms (nb_mono_ms clock). NULL with *err
 * set: NB_ERR_UNAVAILABLE until the schema is migrated or when the database
 * cannot be reached, NB_ERR_TIMEOUT, NB_ERR_NOMEM. Borrowed: valid on this
 * thread until ps_kv_pg_conn_drop() or ps_kv_free(). */
PGconn *ps_kv_pg_conn(kv *k, int64_t deadline_ms, nb_err *err);
/* Drops the calling thread's connection (after a timeout or a broken
 * connection); the next ps_kv_pg_conn() connects again. */
void ps_kv_pg_conn_drop(kv *k);

#endif
