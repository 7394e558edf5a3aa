/* schema.h — PostgreSQL schema creation and migration.
 *
 * ps_schema_migrate() brings the database to the newest schema version in one
 * transaction under a transaction-level advisory lock, so daemons starting
 * together migrate once and the others wait and find nothing to do. It is
 * idempotent; the table schema_version records each applied version.
 * Threads: any thread, with its own connection. */
#ifndef NIMBUS_PERSISTENCE_SCHEMA_H
#define NIMBUS_PERSISTENCE_SCHEMA_H

#include <libpq-fe.h>
#include <stdint.h>

#include "nimbus/err.h"

/* The version this build migrates to. */
#define SCHEMA_VERSION 3

/* Migrates on connection c before deadline_ms (nb_mono_ms clock). On success
 * *version (if not NULL) is the database's version afterwards. On error the
 * transaction is rolled back; on NB_ERR_TIMEOUT/UNAVAILABLE drop c. */
nb_err ps_schema_migrate(PGconn *c, int64_t deadline_ms, int *version);

#endif
