/* schema.c — PostgreSQL schema migrations (see schema.h).
 *
 * Values are stored as the exact JSON text persistence serves (type json
 * keeps the bytes as given); versions and expiries are Unix milliseconds of
 * the daemon's clock. Add a migration by appending to `migrations` and
 * bumping SCHEMA_VERSION; never edit an applied one. */
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>

#include "nimbus/log.h"
#include "pgconn.h"

/* Arbitrary constant naming nimbus's migration lock. */
#define MIGRATION_LOCK "7243019184221"

/* Each version is a list of single statements (the extended protocol takes
 * one statement per call), ended by NULL. */
static const char *const migrations[SCHEMA_VERSION][16] = {
    /* 1: weather records and geocoding entries */
    {"CREATE TABLE records ("
     " key text PRIMARY KEY,"
     " fetched_at_ms bigint NOT NULL,"
     " body json NOT NULL,"
     " updated_at timestamptz NOT NULL DEFAULT now())",
     "CREATE TABLE geocode ("
     " query text PRIMARY KEY,"
     " resolved_at_ms bigint NOT NULL,"
     " expires_at_ms bigint,"
     " body json NOT NULL,"
     " updated_at timestamptz NOT NULL DEFAULT now())",
     NULL},
    /* 2: the transactional outbox (events of new observations, claimed with
     * leases by the relay, deleted some time after they were sent) */
    {"CREATE TABLE outbox ("
     " seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     " id uuid NOT NULL UNIQUE,"
     " key text NOT NULL,"
     " event json NOT NULL,"
     " created_at timestamptz NOT NULL DEFAULT now(),"
     " claimed_by text,"
     " lease_until timestamptz,"
     " sent_at timestamptz)",
     "CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL",
     "CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL", NULL},
    /* 3: email subscriptions, their tokens (hashes only) and the mail queue */
    {"CREATE TABLE subscriptions ("
     " id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
     " email text NOT NULL,"
     " email_canonical text NOT NULL,"
     " place_key text NOT NULL,"
     " place_name text NOT NULL,"
     " timezone text NOT NULL DEFAULT '',"
     " rules jsonb NOT NULL,"
     " quiet_hours jsonb,"
     " status text NOT NULL DEFAULT 'pending'"
     "  CHECK (status IN ('pending', 'active', 'unsubscribed')),"
     " state jsonb NOT NULL DEFAULT '{}',"
     " state_version bigint NOT NULL DEFAULT 0,"
     " client text NOT NULL DEFAULT '',"
     " created_at timestamptz NOT NULL DEFAULT now(),"
     " confirmed_at timestamptz,"
     " unsubscribed_at timestamptz)",
     "CREATE INDEX subscriptions_by_place ON subscriptions (place_key, id)"
     " WHERE status = 'active'",
     "CREATE UNIQUE INDEX subscriptions_one_active ON subscriptions (email_canonical, place_key)"
     " WHERE status = 'active'",
     "CREATE INDEX subscriptions_by_address ON subscriptions (email_canonical, created_at)",
     "CREATE INDEX subscriptions_by_client ON subscriptions (client, created_at)",
     "CREATE TABLE subscription_tokens ("
     " hash bytea PRIMARY KEY,"
     " subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,"
     " purpose text NOT NULL CHECK (purpose IN ('confirm', 'manage')),"
     " created_at timestamptz NOT NULL DEFAULT now(),"
     " expires_at timestamptz NOT NULL)",
     "CREATE INDEX subscription_tokens_expiry ON subscription_tokens (expires_at)",
     "CREATE INDEX subscription_tokens_by_subscription ON subscription_tokens (subscription_id)",
     "CREATE TABLE mails ("
     " id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
     " subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,"
     " kind text NOT NULL CHECK (kind IN ('confirmation', 'alert')),"
     " event_id uuid,"
     " payload jsonb,"
     " status text NOT NULL DEFAULT 'pending'"
     "  CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),"
     " attempts integer NOT NULL DEFAULT 0,"
     " next_attempt_at timestamptz NOT NULL DEFAULT now(),"
     " claimed_by text,"
     " claimed_until timestamptz,"
     " last_error text,"
     " created_at timestamptz NOT NULL DEFAULT now(),"
     " sent_at timestamptz,"
     " UNIQUE (subscription_id, event_id))",
     "CREATE INDEX mails_due ON mails (next_attempt_at) WHERE status = 'pending'",
     "CREATE INDEX mails_finished ON mails (created_at) WHERE status <> 'pending'", NULL},
};

/* Runs a statement and clears its result. */
static nb_err run(PGconn *c, const char *sql, int n, const char *const *params, int64_t deadline)
{
    PGresult *r;
    nb_err rc = ps_pgc_exec(c, sql, n, params, deadline, &r);
    PQclear(r);
    return rc;
}

nb_err ps_schema_migrate(PGconn *c, int64_t deadline_ms, int *version)
{
    PGresult *r = NULL;
    int current = 0;
    nb_err rc;

    if ((rc = run(c, "BEGIN", 0, NULL, deadline_ms)) != NB_OK) return rc;
    /* the session's statement_timeout is meant for requests, not DDL */
    if ((rc = run(c, "SET LOCAL statement_timeout = 0", 0, NULL, deadline_ms)) != NB_OK)
        goto out_rollback;
    if ((rc = run(c, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", 0, NULL, deadline_ms)) !=
        NB_OK)
        goto out_rollback;
    if ((rc = run(c,
                  "CREATE TABLE IF NOT EXISTS schema_version ("
                  " version integer PRIMARY KEY,"
                  " applied_at timestamptz NOT NULL DEFAULT now())",
                  0, NULL, deadline_ms)) != NB_OK)
        goto out_rollback;
    rc = ps_pgc_exec(c, "SELECT coalesce(max(version), 0) FROM schema_version", 0, NULL,
                     deadline_ms, &r);
    if (rc != NB_OK) goto out_rollback;
    current = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (current > SCHEMA_VERSION) {
        nb_warn("database schema version %d is newer than this build's %d", current,
                SCHEMA_VERSION);
    }
    for (int v = current + 1; v <= SCHEMA_VERSION; v++) {
        char vtext[16];
        snprintf(vtext, sizeof(vtext), "%d", v);
        const char *params[1] = {vtext};
        for (const char *const *sql = migrations[v - 1]; *sql; sql++)
            if ((rc = run(c, *sql, 0, NULL, deadline_ms)) != NB_OK) goto out_rollback;
        if ((rc = run(c, "INSERT INTO schema_version (version) VALUES ($1::integer)", 1, params,
                      deadline_ms)) != NB_OK)
            goto out_rollback;
        nb_info("database schema migrated to version %d", v);
    }
    if ((rc = run(c, "COMMIT", 0, NULL, deadline_ms)) != NB_OK) return rc;
    if (version) *version = current > SCHEMA_VERSION ? current : SCHEMA_VERSION;
    return NB_OK;
out_rollback:
    if (rc == NB_ERR_INTERNAL) run(c, "ROLLBACK", 0, NULL, deadline_ms);
    return rc;
}
