/* subs.c — subscriptions and the mail queue on PostgreSQL (see subs.h). */
#include "subs.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "kv_pg.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "pgconn.h"

#define TOKEN_BYTES 32
#define TOKEN_LEN 43 /* base64url of 32 bytes, no padding */
#define PURGE_EVERY_MS 60000
#define NIL_UUID "00000000-0000-0000-0000-000000000000"

/* A timestamp as RFC 3339 UTC with milliseconds (NULL stays NULL). */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* What a token holder (and the api) sees of a subscription. */
#define VIEW                                                                                       \
    "json_build_object('id', s.id, 'email', s.email, 'place', json_build_object('key', "           \
    "s.place_key, 'name', s.place_name, 'timezone', s.timezone), 'rules', s.rules, "               \
    "'quiet_hours', s.quiet_hours, 'status', s.status, 'created_at', " TS(                         \
        "s.created_at") ", 'confirmed_at', " TS("s.confirmed_at") ", 'unsubscribed_at', " TS("s."  \
                                                                                             "uns" \
                                                                                             "ubs" \
                                                                                             "cri" \
                                                                                             "bed" \
                                                                                             "_a"  \
                                                                                             "t") ")"

/* The rows a token opens (not expired). $1 = the token. */
#define BY_TOKEN                                                                                   \
    " FROM subscription_tokens t JOIN subscriptions s ON s.id = t.subscription_id"                 \
    " WHERE t.hash = sha256(convert_to($1, 'UTF8')) AND t.expires_at > now()"

struct subs {
    subs_opts o;
    _Atomic int64_t next_purge_ms;
};

subs *ps_subs_new(const subs_opts *o)
{
    subs *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->o = *o;
    if (s->o.timeout_ms <= 0) s->o.timeout_ms = 500;
    return s;
}

void ps_subs_free(subs *s)
{
    free(s);
}

/* A fresh token: 32 random bytes in base64url. */
static nb_err mint(char out[TOKEN_LEN + 1])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char b[TOKEN_BYTES + 1] = {0};
    if (getrandom(b, TOKEN_BYTES, 0) != TOKEN_BYTES) return NB_ERR_INTERNAL;
    size_t o = 0;
    for (size_t i = 0; i < TOKEN_BYTES; i += 3) {
        unsigned v = (unsigned)b[i] << 16 | (unsigned)b[i + 1] << 8 | b[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        if (i + 1 < TOKEN_BYTES) out[o++] = b64[(v >> 6) & 63];
        if (i + 2 < TOKEN_BYTES) out[o++] = b64[v & 63];
    }
    out[o] = '\0';
    return NB_OK;
}

/* --- transactions ------------------------------------------------------- */

typedef struct tx {
    subs *s;
    PGconn *c;
    int64_t deadline;
} tx;

/* Runs one statement; a broken or timed-out connection is dropped. */
static nb_err q(tx *t, const char *sql, int n, const char *const *params, PGresult **r)
{
    PGresult *tmp = NULL;
    nb_err rc = ps_pgc_exec(t->c, sql, n, params, t->deadline, r ? r : &tmp);
    PQclear(tmp);
    if (rc == NB_ERR_TIMEOUT || rc == NB_ERR_UNAVAILABLE) {
        ps_kv_pg_conn_drop(t->s->o.db);
        t->c = NULL;
    }
    return rc;
}

/* Opens a transaction on this thread's connection. A reused connection found
 * broken (the database restarted) is replaced once. */
static nb_err begin(subs *s, tx *t)
{
    nb_err rc = NB_ERR_UNAVAILABLE;
    *t = (tx){.s = s, .deadline = nb_mono_ms() + s->o.timeout_ms};
    for (int attempt = 0; attempt < 2; attempt++) {
        t->c = ps_kv_pg_conn(s->o.db, t->deadline, &rc);
        if (!t->c) return rc;
        rc = q(t, "BEGIN", 0, NULL, NULL);
        if (rc != NB_ERR_UNAVAILABLE) return rc;
    }
    return rc;
}

/* Commits when rc is NB_OK, rolls back otherwise; returns the outcome. */
static nb_err end(tx *t, nb_err rc)
{
    if (!t->c) return rc == NB_OK ? NB_ERR_UNAVAILABLE : rc;
    nb_err e = q(t, rc == NB_OK ? "COMMIT" : "ROLLBACK", 0, NULL, NULL);
    return rc == NB_OK ? e : rc;
}

/* Ends t as end() does; when the transaction did not commit, the answer made
 * in it (*out, a new reference) is dropped. */
static nb_err end_with(tx *t, nb_err rc, json_t **out)
{
    rc = end(t, rc);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* The JSON text in column col of row 0, parsed (new reference) or NULL. */
static json_t *json_col(PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) return json_null();
    return json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL);
}

/* --- requests ----------------------------------------------------------- */

/* How many subscriptions `who` asked for in the last hour (column = value),
 * and the seconds until the oldest of them leaves the hour. */
static nb_err recent(tx *t, const char *column, const char *who, long *count, long *retry_s)
{
    char sql[320];
    snprintf(sql, sizeof(sql),
             "SELECT count(*), coalesce(ceil(extract(epoch FROM min(created_at) +"
             " interval '1 hour' - now())), 0)::bigint FROM subscriptions"
             " WHERE %s = $1 AND created_at > now() - interval '1 hour'",
             column);
    const char *p[1] = {who};
    PGresult *r;
    nb_err rc = q(t, sql, 1, p, &r);
    if (rc) return rc;
    *count = atol(PQgetvalue(r, 0, 0));
    *retry_s = atol(PQgetvalue(r, 0, 1));
    if (*retry_s < 1) *retry_s = 1;
    PQclear(r);
    return NB_OK;
}

static nb_err lock(tx *t, const char *what, const char *value)
{
    char key[400];
    snprintf(key, sizeof(key), "nimbus:subs:%s:%s", what, value);
    const char *p[1] = {key};
    return q(t, "SELECT pg_advisory_xact_lock(hashtext($1))", 1, p, NULL);
}

nb_err ps_subs_create(subs *s, const subs_request *req, json_t **view, nb_error *err)
{
    tx t;
    PGresult *r = NULL;
    long n, retry;
    *view = NULL;
    nb_err rc = begin(s, &t);
    if (rc) return rc;
    /* Caps are counted under a lock per address and per client, so two
     * requests at once cannot both take the last place. */
    if ((rc = lock(&t, "address", req->email_canonical))) goto out;
    if (req->client[0] && (rc = lock(&t, "client", req->client))) goto out;
    if (req->cap_address > 0) {
        if ((rc = recent(&t, "email_canonical", req->email_canonical, &n, &retry))) goto out;
        if (n >= req->cap_address) {
            rc = nb_error_set(err, NB_ERR_TOO_MANY, (int)retry,
                              "%ld confirmation mails were sent to this address in the last "
                              "hour; try again in %ld minutes",
                              n, (retry + 59) / 60);
            goto out;
        }
    }
    if (req->cap_client > 0 && req->client[0]) {
        if ((rc = recent(&t, "client", req->client, &n, &retry))) goto out;
        if (n >= req->cap_client) {
            rc = nb_error_set(err, NB_ERR_TOO_MANY, (int)retry,
                              "%ld subscription requests came from your address in the last "
                              "hour; try again in %ld minutes",
                              n, (retry + 59) / 60);
            goto out;
        }
    }
    const char *p[8] = {req->email,    req->email_canonical, req->place_key, req->place_name,
                        req->timezone, req->rules,           req->quiet,     req->client};
    rc = q(&t,
           "INSERT INTO subscriptions AS s (email, email_canonical, place_key, place_name,"
           " timezone, rules, quiet_hours, client) VALUES ($1, $2, $3, $4, $5, $6::jsonb,"
           " nullif($7::jsonb, 'null'::jsonb), $8) RETURNING " VIEW ", s.id",
           8, p, &r);
    if (rc) goto out;
    const char *id[1] = {PQgetvalue(r, 0, 1)};
    if ((rc = q(&t, "INSERT INTO mails (subscription_id, kind) VALUES ($1::uuid, 'confirmation')",
                1, id, NULL)))
        goto out;
    *view = json_col(r, 0, 0);
out:
    PQclear(r);
    return end_with(&t, rc, view);
}

nb_err ps_subs_lookup(subs *s, const char *token, json_t **view, char purpose[16])
{
    tx t;
    PGresult *r = NULL;
    *view = NULL;
    nb_err rc = begin(s, &t);
    if (rc) return rc;
    const char *p[1] = {token};
    rc = q(&t, "SELECT " VIEW ", t.purpose" BY_TOKEN, 1, p, &r);
    if (!rc && PQntuples(r) == 0) rc = NB_ERR_NOT_FOUND;
    if (!rc) {
        *view = json_col(r, 0, 0);
        snprintf(purpose, 16, "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return end(&t, rc);
}

/* The subscription of a token (with a purpose, or any when NULL), locked. */
static nb_err token_subscription(tx *t, const char *token, const char *purpose, char id[40],
                                 char status[16], char address[300], char key[32])
{
    PGresult *r;
    const char *p[2] = {token, purpose};
    nb_err rc = q(t,
                  purpose ? "SELECT s.id, s.status, s.email_canonical, s.place_key" BY_TOKEN
                            " AND t.purpose = $2"
                          : "SELECT s.id, s.status, s.email_canonical, s.place_key" BY_TOKEN,
                  purpose ? 2 : 1, p, &r);
    if (rc) return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return NB_ERR_NOT_FOUND;
    }
    snprintf(id, 40, "%s", PQgetvalue(r, 0, 0));
    snprintf(status, 16, "%s", PQgetvalue(r, 0, 1));
    snprintf(address, 300, "%s", PQgetvalue(r, 0, 2));
    snprintf(key, 32, "%s", PQgetvalue(r, 0, 3));
    PQclear(r);
    return NB_OK;
}

static nb_err view_of(tx *t, const char *id, json_t **view)
{
    PGresult *r;
    const char *p[1] = {id};
    nb_err rc = q(t, "SELECT " VIEW " FROM subscriptions s WHERE s.id = $1::uuid", 1, p, &r);
    if (rc) return rc;
    *view = PQntuples(r) ? json_col(r, 0, 0) : NULL;
    PQclear(r);
    return *view ? NB_OK : NB_ERR_NOT_FOUND;
}

nb_err ps_subs_confirm(subs *s, const char *token, json_t **view, nb_error *err)
{
    tx t;
    char id[40], status[16], address[300], key[32];
    *view = NULL;
    nb_err rc = begin(s, &t);
    if (rc) return rc;
    if ((rc = token_subscription(&t, token, "confirm", id, status, address, key))) goto out;
    /* One active subscription per address and place: serialise with requests. */
    if ((rc = lock(&t, "address", address))) goto out;
    PGresult *r;
    const char *pid[1] = {id};
    if ((rc = q(&t, "SELECT status FROM subscriptions WHERE id = $1::uuid FOR UPDATE", 1, pid, &r)))
        goto out;
    snprintf(status, sizeof(status), "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    if (strcmp(status, "unsubscribed") == 0) {
        rc = nb_error_set(err, NB_ERR_CONFLICT, 0,
                          "this subscription was cancelled; subscribe again to get alerts");
        goto out;
    }
    if (strcmp(status, "pending") == 0) {
        const char *p[3] = {address, key, id};
        if ((rc = q(&t,
                    "WITH old AS (UPDATE subscriptions SET status = 'unsubscribed',"
                    " unsubscribed_at = now() WHERE email_canonical = $1 AND place_key = $2"
                    " AND status = 'active' AND id <> $3::uuid RETURNING id)"
                    " UPDATE mails SET status = 'cancelled' WHERE status = 'pending'"
                    " AND subscription_id IN (SELECT id FROM old)",
                    3, p, NULL)))
            goto out;
        if ((rc = q(&t,
                    "UPDATE subscriptions SET status = 'active', confirmed_at = now(),"
                    " state = '{}', state_version = state_version + 1 WHERE id = $1::uuid",
                    1, pid, NULL)))
            goto out;
    }
    rc = view_of(&t, id, view);
out:
    return end_with(&t, rc, view);
}

nb_err ps_subs_unsubscribe(subs *s, const char *token, json_t **view)
{
    tx t;
    char id[40], status[16], address[300], key[32];
    *view = NULL;
    nb_err rc = begin(s, &t);
    if (rc) return rc;
    if ((rc = token_subscription(&t, token, NULL, id, status, address, key))) goto out;
    const char *p[1] = {id};
    if ((rc = q(&t,
                "UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = now()"
                " WHERE id = $1::uuid AND status <> 'unsubscribed'",
                1, p, NULL)))
        goto out;
    if ((rc = q(&t,
                "UPDATE mails SET status = 'cancelled' WHERE subscription_id = $1::uuid"
                " AND status = 'pending'",
                1, p, NULL)))
        goto out;
    rc = view_of(&t, id, view);
out:
    return end_with(&t, rc, view);
}

/* --- the notifier's side ------------------------------------------------- */

nb_err ps_subs_of_place(subs *s, const char *key, const char *after, int limit, json_t **page)
{
    tx t;
    PGresult *r = NULL;
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", limit);
    *page = NULL;
    nb_err rc = begin(s, &t);
    if (rc) return rc;
    const char *p[3] = {key, after ? after : NIL_UUID, lim};
    rc = q(
        &t,
        "SELECT json_build_object('id', s.id, 'email', s.email, 'place', json_build_object("
        "'key', s.place_key, 'name', s.place_name, 'timezone', s.timezone), 'rules', s.rules,"
        " 'quiet_hours', s.quiet_hours, 'state', s.state, 'state_version', s.state_version,"
        " 'confirmed_at', " TS(
            "s.confirmed_at") "), s.id FROM subscriptions s"
                              " WHERE s.place_key = $1 AND s.status = 'active' AND s.id > $2::uuid"
                              " ORDER BY s.id LIMIT $3::int",
        3, p, &r);
    if (!rc) {
        json_t *list = json_array();
        int n = PQntuples(r);
        for (int i = 0; i < n; i++)
            json_array_append_new(list, json_col(r, i, 0));
        *page = json_pack("{s:o, s:o}", "subscriptions", list, "next",
                          n == limit && n > 0 ? json_string(PQgetvalue(r, n - 1, 1)) : json_null());
        if (!*page) rc = NB_ERR_NOMEM;
    }
    PQclear(r);
    return end(&t, rc);
}

nb_err ps_subs_evaluations(subs *s, const char *event_id, const char *results, int *applied,
                           int *mails)
{
    tx t;
    PGresult *r = NULL;
    nb_err rc = begin(s, &t);
    if (rc) return rc;
    const char *p[2] = {event_id, results};
    /* One statement: states move only from the version the notifier read,
     * and an alert is queued only with its state, once per event. */
    rc = q(&t,
           "WITH r AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(subscription uuid,"
           " state_version bigint, state jsonb, alert jsonb)),"
           " upd AS (UPDATE subscriptions s SET state = r.state,"
           " state_version = s.state_version + 1 FROM r WHERE s.id = r.subscription"
           " AND s.state_version = r.state_version AND s.status = 'active' RETURNING s.id),"
           " ins AS (INSERT INTO mails (subscription_id, kind, event_id, payload)"
           " SELECT r.subscription, 'alert', $1::uuid, r.alert FROM r JOIN upd"
           " ON upd.id = r.subscription WHERE r.alert IS NOT NULL"
           " AND jsonb_typeof(r.alert) = 'object'"
           " ON CONFLICT (subscription_id, event_id) DO NOTHING RETURNING 1)"
           " SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM ins)",
           2, p, &r);
    if (!rc) {
        *applied = atoi(PQgetvalue(r, 0, 0));
        *mails = atoi(PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return end(&t, rc);
}

/* Deletes expired tokens, finished mails and old subscriptions, at most
 * once a minute per process (any replica may). */
static void purge(subs *s)
{
    int64_t now = nb_mono_ms(), next = atomic_load(&s->next_purge_ms);
    if (now < next ||
        !atomic_compare_exchange_strong(&s->next_purge_ms, &next, now + PURGE_EVERY_MS))
        return;
    tx t;
    if (begin(s, &t)) return;
    char keep[24];
    snprintf(keep, sizeof(keep), "%ld", s->o.retention_s);
    const char *p[1] = {keep};
    nb_err rc = q(&t, "DELETE FROM subscription_tokens WHERE expires_at < now()", 0, NULL, NULL);
    if (!rc)
        rc = q(&t,
               "DELETE FROM mails WHERE status <> 'pending'"
               " AND created_at < now() - $1::bigint * interval '1 second'",
               1, p, NULL);
    if (!rc)
        rc = q(&t,
               "DELETE FROM subscriptions WHERE (status = 'unsubscribed' AND unsubscribed_at <"
               " now() - $1::bigint * interval '1 second') OR (status = 'pending' AND"
               " created_at < now() - $1::bigint * interval '1 second')",
               1, p, NULL);
    if (end(&t, rc) != NB_OK) nb_warn("purging old subscriptions and mails failed");
}

nb_err ps_subs_claim(subs *s, const char *owner, int limit, long lease_ms, json_t **mails)
{
    tx t;
    PGresult *r = NULL;
    char lim[16], lease[24], confirm_ttl[24], manage_ttl[24];
    *mails = NULL;
    purge(s);
    snprintf(lim, sizeof(lim), "%d", limit);
    snprintf(lease, sizeof(lease), "%ld", lease_ms);
    snprintf(confirm_ttl, sizeof(confirm_ttl), "%ld", s->o.confirm_ttl_s);
    snprintf(manage_ttl, sizeof(manage_ttl), "%ld", s->o.manage_ttl_s);
    nb_err rc = begin(s, &t);
    if (rc) return rc;
    const char *p[3] = {owner, lim, lease};
    /* Due, unclaimed (or lease over), and still wanted: a confirmation while
     * its subscription is pending, an alert while it is active. */
    rc = q(&t,
           "WITH due AS (SELECT m.id FROM mails m JOIN subscriptions s ON s.id ="
           " m.subscription_id WHERE m.status = 'pending' AND m.next_attempt_at <= now()"
           " AND (m.claimed_until IS NULL OR m.claimed_until < now())"
           " AND s.status = CASE m.kind WHEN 'confirmation' THEN 'pending' ELSE 'active' END"
           " ORDER BY m.next_attempt_at, m.created_at LIMIT $2::int FOR UPDATE OF m SKIP LOCKED)"
           " UPDATE mails m SET claimed_by = $1, claimed_until = now() + $3::bigint *"
           " interval '1 millisecond', attempts = m.attempts + 1 FROM due, subscriptions s"
           " WHERE m.id = due.id AND s.id = m.subscription_id"
           " RETURNING m.id, m.kind, m.attempts - 1, s.email, " VIEW ", m.payload, s.id",
           3, p, &r);
    if (rc) goto out;
    json_t *list = json_array();
    *mails = list;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        char token[TOKEN_LEN + 1];
        PGresult *tr;
        bool confirm = strcmp(PQgetvalue(r, i, 1), "confirmation") == 0;
        if ((rc = mint(token))) break;
        const char *tp[4] = {token, PQgetvalue(r, i, 6), confirm ? "confirm" : "manage",
                             confirm ? confirm_ttl : manage_ttl};
        rc = q(&t,
               "INSERT INTO subscription_tokens (hash, subscription_id, purpose, expires_at)"
               " VALUES (sha256(convert_to($1, 'UTF8')), $2::uuid, $3, now() + $4::bigint *"
               " interval '1 second') RETURNING " TS("expires_at"),
               4, tp, &tr);
        if (rc) break;
        json_t *m =
            json_pack("{s:s, s:s, s:i, s:s, s:o, s:o, s:s, s:s}", "id", PQgetvalue(r, i, 0), "kind",
                      PQgetvalue(r, i, 1), "attempts", atoi(PQgetvalue(r, i, 2)), "email",
                      PQgetvalue(r, i, 3), "subscription", json_col(r, i, 4), "payload",
                      json_col(r, i, 5), "token", token, "token_expires_at", PQgetvalue(tr, 0, 0));
        PQclear(tr);
        if (!m || json_array_append_new(list, m)) rc = NB_ERR_NOMEM;
    }
out:
    PQclear(r);
    return end_with(&t, rc, mails);
}

/* '{id,id,...}': an array literal of validated UUIDs. */
static char *uuid_array(const char *const *ids, int n)
{
    char *a = malloc((size_t)n * 37 + 3), *p = a;
    if (!a) return NULL;
    *p++ = '{';
    for (int i = 0; i < n; i++) {
        if (i) *p++ = ',';
        memcpy(p, ids[i], 36);
        p += 36;
    }
    *p++ = '}';
    *p = '\0';
    return a;
}

nb_err ps_subs_sent(subs *s, const char *const *ids, int nids, int *n)
{
    tx t;
    PGresult *r = NULL;
    char *arr = uuid_array(ids, nids);
    if (!arr) return NB_ERR_NOMEM;
    nb_err rc = begin(s, &t);
    if (rc) {
        free(arr);
        return rc;
    }
    const char *p[1] = {arr};
    rc = q(&t,
           "WITH done AS (UPDATE mails SET status = 'sent', sent_at = now(), claimed_by = NULL,"
           " claimed_until = NULL, last_error = NULL WHERE id = ANY($1::uuid[])"
           " AND status = 'pending' RETURNING 1) SELECT count(*) FROM done",
           1, p, &r);
    if (!rc) *n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    free(arr);
    return end(&t, rc);
}

nb_err ps_subs_failed(subs *s, const char *owner, const char *id, bool permanent, long retry_in_ms,
                      const char *error)
{
    tx t;
    PGresult *r = NULL;
    char retry[24];
    snprintf(retry, sizeof(retry), "%ld", retry_in_ms);
    nb_err rc = begin(s, &t);
    if (rc) return rc;
    const char *p[5] = {id, owner, permanent ? "failed" : "pending", retry, error};
    rc = q(&t,
           "UPDATE mails SET status = $3, next_attempt_at = now() + $4::bigint *"
           " interval '1 millisecond', claimed_by = NULL, claimed_until = NULL,"
           " last_error = left($5, 500) WHERE id = $1::uuid AND status = 'pending'"
           " AND claimed_by = $2 RETURNING 1",
           5, p, &r);
    if (!rc && PQntuples(r) == 0) rc = NB_ERR_NOT_FOUND;
    PQclear(r);
    return end(&t, rc);
}

nb_err ps_subs_mail_stats(subs *s, long *pending, double *oldest_age_s)
{
    tx t;
    PGresult *r = NULL;
    nb_err rc = begin(s, &t);
    if (rc) return rc;
    rc = q(&t,
           "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)"
           " FROM mails WHERE status = 'pending'",
           0, NULL, &r);
    if (!rc) {
        *pending = atol(PQgetvalue(r, 0, 0));
        *oldest_age_s = atof(PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return end(&t, rc);
}
