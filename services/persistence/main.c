/* main.c — nimbus-persistence: the data layer (Redis cache, PostgreSQL truth)
 * behind an HTTP interface. main() only wires: its settings and its parts
 * (the Redis and PostgreSQL clients, the store, the subscriptions, the
 * long-poll watch, the HTTP server) for the one service skeleton
 * (nimbus/service.h), which starts them in order and stops them in reverse
 * order. */
#include <stdbool.h>
#include <stddef.h>

#include "kv_pg.h"
#include "kv_redis.h"
#include "nimbus/config.h"
#include "nimbus/http_server.h"
#include "nimbus/log.h"
#include "nimbus/service.h"
#include "routes.h"
#include "store.h"
#include "subs.h"
#include "subs_routes.h"
#include "watch.h"

typedef struct config {
    const char *bind, *redis_url, *redis_sentinels, *redis_master_name, *postgres_dsn, *log_level;
    long port, threads, workers, cache_ttl_s, backend_timeout_ms, body_cap, conn_timeout_s,
        grace_ms, max_clock_skew_ms, outbox_retention_s, watch_interval_ms, max_waiters,
        record_max_age_s, geocode_max_age_s;
    long confirm_ttl_s, manage_ttl_s, subscription_retention_s;
    bool access_log;
} config;

typedef struct persistence {
    config cfg;
    kv *cache, *db;
    store *st;
    subs *sb;
    watch *w;
    routes_deps routes; /* borrowed by the routes while the server lives */
    nb_server *srv;
} persistence;

static nb_err cache_start(void *ctx)
{
    persistence *p = ctx;
    const char *why = NULL;
    kv_redis_opts ro = {.url = p->cfg.redis_url,
                        .sentinels = p->cfg.redis_sentinels,
                        .master_name = p->cfg.redis_master_name,
                        .timeout_ms = (int)p->cfg.backend_timeout_ms,
                        .ttl_ms = p->cfg.cache_ttl_s * 1000};
    p->cache = ps_kv_redis_new(&ro, &why);
    if (!p->cache) {
        nb_error("bad --redis-url or --redis-sentinels: %s", why);
        return NB_ERR_INVALID;
    }
    return NB_OK;
}

static void cache_stop(void *ctx)
{
    ps_kv_free(((persistence *)ctx)->cache);
}

static nb_err db_start(void *ctx)
{
    persistence *p = ctx;
    p->db = ps_kv_pg_new(p->cfg.postgres_dsn, (int)p->cfg.backend_timeout_ms);
    if (!p->db) return NB_ERR_NOMEM;
    /* migrate now if the database is there; otherwise the store's probe will */
    if (ps_kv_ping(p->db) != NB_OK)
        nb_warn("database not reachable at start-up; will keep trying (not ready until then)");
    return NB_OK;
}

static void db_stop(void *ctx)
{
    ps_kv_free(((persistence *)ctx)->db);
}

static nb_err store_start(void *ctx)
{
    persistence *p = ctx;
    store_opts so = {.cache = p->cache,
                     .db = p->db,
                     .max_skew_ms = p->cfg.max_clock_skew_ms,
                     .outbox_retention_ms = p->cfg.outbox_retention_s * 1000};
    p->st = ps_store_new(&so);
    nb_err e = p->st ? ps_store_start(p->st) : NB_ERR_NOMEM;
    if (e != NB_OK) ps_store_free(p->st);
    return e;
}

static void store_stop(void *ctx)
{
    ps_store_free(((persistence *)ctx)->st);
}

static nb_err subs_start(void *ctx)
{
    persistence *p = ctx;
    subs_opts sbo = {.db = p->db,
                     .timeout_ms = (int)p->cfg.backend_timeout_ms,
                     .confirm_ttl_s = p->cfg.confirm_ttl_s,
                     .manage_ttl_s = p->cfg.manage_ttl_s,
                     .retention_s = p->cfg.subscription_retention_s};
    p->sb = ps_subs_new(&sbo);
    return p->sb ? NB_OK : NB_ERR_NOMEM;
}

static void subs_stop(void *ctx)
{
    ps_subs_free(((persistence *)ctx)->sb);
}

static nb_err watch_start(void *ctx)
{
    persistence *p = ctx;
    watch_opts wo = {.st = p->st,
                     .interval_ms = (int)p->cfg.watch_interval_ms,
                     .max_waiters = p->cfg.max_waiters};
    p->w = ps_watch_new(&wo);
    nb_err e = p->w ? ps_watch_start(p->w) : NB_ERR_NOMEM;
    if (e != NB_OK) ps_watch_free(p->w);
    return e;
}

static void watch_stop(void *ctx)
{
    ps_watch_free(((persistence *)ctx)->w);
}

static nb_err server_start(void *ctx)
{
    persistence *p = ctx;
    nb_server_opts opts = {
        .bind = p->cfg.bind,
        .port = (int)p->cfg.port,
        .threads = (int)p->cfg.threads,
        .workers = (int)p->cfg.workers,
        .body_cap = (size_t)p->cfg.body_cap,
        .conn_timeout_s = (int)p->cfg.conn_timeout_s,
        .grace_ms = (int)p->cfg.grace_ms,
        .access_log = p->cfg.access_log,
        .ready = ps_routes_ready,
        .ready_ctx = p->st,
    };
    p->routes = (routes_deps){.st = p->st,
                              .w = p->w,
                              .record_max_age_s = p->cfg.record_max_age_s,
                              .geocode_max_age_s = p->cfg.geocode_max_age_s};
    p->srv = nb_server_new(&opts);
    nb_err e = p->srv ? ps_routes_register(p->srv, &p->routes) : NB_ERR_NOMEM;
    if (e == NB_OK) e = ps_subs_routes_register(p->srv, p->sb);
    if (e == NB_OK) e = nb_server_start(p->srv);
    if (e != NB_OK) {
        nb_error("could not start the HTTP server on %s:%ld", p->cfg.bind, p->cfg.port);
        ps_store_stop_reads(p->st); /* its callbacks touch the server: stop them first */
        nb_server_free(p->srv);
    }
    return e;
}

static void server_stop(void *ctx)
{
    persistence *p = ctx;
    ps_watch_stop(p->w); /* held long polls are answered with what is stored now */
    nb_server_stop(p->srv);
    ps_store_stop_reads(p->st); /* its callbacks touch the server: stop them first */
    nb_server_free(p->srv);
}

int main(int argc, char **argv)
{
    static persistence p;
    const nb_setting settings[] = {
        {"bind", NB_SET_STR, &p.cfg.bind, "127.0.0.1", 0, 0, "IPv4 address to listen on"},
        {"port", NB_SET_INT, &p.cfg.port, "8081", 0, 65535, "TCP port (0 = any free port)"},
        {"threads", NB_SET_INT, &p.cfg.threads, "2", 1, 64, "HTTP polling threads"},
        {"workers", NB_SET_INT, &p.cfg.workers, "8", 1, 256,
         "worker threads (each owns one Redis and one PostgreSQL connection)"},
        {"redis-url", NB_SET_STR, &p.cfg.redis_url, "redis://127.0.0.1:6379/0", 0, 0,
         "cache: redis://[:password@]host[:port][/db] (with --redis-sentinels only its "
         "password and database are used)"},
        {"redis-sentinels", NB_SET_STR, &p.cfg.redis_sentinels, "", 0, 0,
         "Redis Sentinel addresses host:port,... (port default 26379): the cache's master is "
         "found through them and followed across a failover; empty = --redis-url's server"},
        {"redis-master-name", NB_SET_STR, &p.cfg.redis_master_name, "mymaster", 0, 0,
         "the name the sentinels monitor the cache's master under"},
        {"postgres-dsn", NB_SET_STR, &p.cfg.postgres_dsn,
         "host=127.0.0.1 port=5432 dbname=nimbus user=nimbus", 0, 0,
         "database: libpq connection string or URI"},
        {"cache-ttl-s", NB_SET_INT, &p.cfg.cache_ttl_s, "86400", 1, 365L * 86400,
         "life of a cache entry in seconds"},
        {"backend-timeout-ms", NB_SET_INT, &p.cfg.backend_timeout_ms, "500", 10, 60000,
         "deadline of each Redis/PostgreSQL operation, connect included"},
        {"max-clock-skew-ms", NB_SET_INT, &p.cfg.max_clock_skew_ms, "60000", 1, 86400000,
         "a PUT whose fetched_at/resolved_at is further than this in the future is refused (400)"},
        {"outbox-retention-s", NB_SET_INT, &p.cfg.outbox_retention_s, "86400", 1, 365L * 86400,
         "sent outbox events are deleted this long after they were acknowledged"},
        {"record-max-age-s", NB_SET_INT, &p.cfg.record_max_age_s, "1", 0, 3600,
         "Cache-Control: max-age of record answers: how long a client (the api) may reuse one "
         "before revalidating it (0 = ask every time)"},
        {"geocode-max-age-s", NB_SET_INT, &p.cfg.geocode_max_age_s, "600", 0, 86400,
         "Cache-Control: max-age of geocoding answers (never past the entry's expiry; 0 = ask "
         "every time)"},
        {"watch-interval-ms", NB_SET_INT, &p.cfg.watch_interval_ms, "25", 5, 1000,
         "how often held long polls (GET ?wait_ms=) read the state of their keys in Redis; "
         "a newer version reaches a waiter within this"},
        {"max-waiters", NB_SET_INT, &p.cfg.max_waiters, "10000", 1, 1000000,
         "long polls held at once; past it a GET ?wait_ms= is answered at once"},
        {"confirm-token-ttl-s", NB_SET_INT, &p.cfg.confirm_ttl_s, "259200", 600, 30L * 86400,
         "life of the link in a confirmation mail"},
        {"manage-token-ttl-s", NB_SET_INT, &p.cfg.manage_ttl_s, "7776000", 3600, 400L * 86400,
         "life of the manage and unsubscribe links in an alert"},
        {"subscription-retention-s", NB_SET_INT, &p.cfg.subscription_retention_s, "2592000", 3600,
         3650L * 86400,
         "unsubscribed and never confirmed subscriptions, and finished mails, are deleted after "
         "this long"},
        {"body-cap", NB_SET_INT, &p.cfg.body_cap, "65536", 1024, 16L * 1024 * 1024,
         "largest accepted request body in bytes"},
        {"conn-timeout-s", NB_SET_INT, &p.cfg.conn_timeout_s, "30", 1, 3600,
         "idle HTTP connection timeout"},
        {"grace-ms", NB_SET_INT, &p.cfg.grace_ms, "5000", 0, 600000,
         "shutdown grace for in-flight requests"},
        {"log-level", NB_SET_STR, &p.cfg.log_level, "info", 0, 0, "debug|info|warn|error"},
        {"access-log", NB_SET_BOOL, &p.cfg.access_log, "true", 0, 0, "one log line per request"},
    };
    const nb_part parts[] = {
        {"the Redis client", cache_start, cache_stop, &p},
        {"the PostgreSQL client", db_start, db_stop, &p},
        {"the store", store_start, store_stop, &p},
        {"the subscriptions", subs_start, subs_stop, &p},
        {"the long-poll watch", watch_start, watch_stop, &p},
        {"the HTTP server", server_start, server_stop, &p},
    };
    const nb_service svc = {
        .prog = "nimbus-persistence",
        .name = "persistence",
        .summary = "nimbus data layer: records, geocoding entries, the event outbox and email "
                   "subscriptions on Redis + PostgreSQL",
        .settings = settings,
        .nsettings = (int)(sizeof(settings) / sizeof(settings[0])),
        .parts = parts,
        .nparts = (int)(sizeof(parts) / sizeof(parts[0])),
    };
    return nb_service_run(&svc, argc, argv);
}
