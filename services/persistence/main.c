/* main.c — nimbus-persistence: the data layer (Redis cache, PostgreSQL truth)
 * behind an HTTP interface. main() only wires: config → log → backends →
 * store → server → wait for a signal → stop in reverse order. */
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_pg.h"
#include "kv_redis.h"
#include "nimbus/config.h"
#include "nimbus/http_server.h"
#include "nimbus/log.h"
#include "routes.h"
#include "store.h"
#include "subs.h"
#include "subs_routes.h"
#include "watch.h"

typedef struct settings {
    const char *bind, *redis_url, *redis_sentinels, *redis_master_name, *postgres_dsn, *log_level;
    long port, threads, workers, cache_ttl_s, backend_timeout_ms, body_cap, conn_timeout_s,
        grace_ms, max_clock_skew_ms, outbox_retention_s, watch_interval_ms, max_waiters,
        record_max_age_s, geocode_max_age_s;
    long confirm_ttl_s, manage_ttl_s, subscription_retention_s;
    bool access_log;
} settings;

int main(int argc, char **argv)
{
    settings cfg;
    const nb_setting table[] = {
        {"bind", NB_SET_STR, &cfg.bind, "127.0.0.1", 0, 0, "IPv4 address to listen on"},
        {"port", NB_SET_INT, &cfg.port, "8081", 0, 65535, "TCP port (0 = any free port)"},
        {"threads", NB_SET_INT, &cfg.threads, "2", 1, 64, "HTTP polling threads"},
        {"workers", NB_SET_INT, &cfg.workers, "8", 1, 256,
         "worker threads (each owns one Redis and one PostgreSQL connection)"},
        {"redis-url", NB_SET_STR, &cfg.redis_url, "redis://127.0.0.1:6379/0", 0, 0,
         "cache: redis://[:password@]host[:port][/db] (with --redis-sentinels only its "
         "password and database are used)"},
        {"redis-sentinels", NB_SET_STR, &cfg.redis_sentinels, "", 0, 0,
         "Redis Sentinel addresses host:port,... (port default 26379): the cache's master is "
         "found through them and followed across a failover; empty = --redis-url's server"},
        {"redis-master-name", NB_SET_STR, &cfg.redis_master_name, "mymaster", 0, 0,
         "the name the sentinels monitor the cache's master under"},
        {"postgres-dsn", NB_SET_STR, &cfg.postgres_dsn,
         "host=127.0.0.1 port=5432 dbname=nimbus user=nimbus", 0, 0,
         "database: libpq connection string or URI"},
        {"cache-ttl-s", NB_SET_INT, &cfg.cache_ttl_s, "86400", 1, 365L * 86400,
         "life of a cache entry in seconds"},
        {"backend-timeout-ms", NB_SET_INT, &cfg.backend_timeout_ms, "500", 10, 60000,
         "deadline of each Redis/PostgreSQL operation, connect included"},
        {"max-clock-skew-ms", NB_SET_INT, &cfg.max_clock_skew_ms, "60000", 1, 86400000,
         "a PUT whose fetched_at/resolved_at is further than this in the future is refused (400)"},
        {"outbox-retention-s", NB_SET_INT, &cfg.outbox_retention_s, "86400", 1, 365L * 86400,
         "sent outbox events are deleted this long after they were acknowledged"},
        {"record-max-age-s", NB_SET_INT, &cfg.record_max_age_s, "1", 0, 3600,
         "Cache-Control: max-age of record answers: how long a client (the api) may reuse one "
         "before revalidating it (0 = ask every time)"},
        {"geocode-max-age-s", NB_SET_INT, &cfg.geocode_max_age_s, "600", 0, 86400,
         "Cache-Control: max-age of geocoding answers (never past the entry's expiry; 0 = ask "
         "every time)"},
        {"watch-interval-ms", NB_SET_INT, &cfg.watch_interval_ms, "25", 5, 1000,
         "how often held long polls (GET ?wait_ms=) read the state of their keys in Redis; "
         "a newer version reaches a waiter within this"},
        {"max-waiters", NB_SET_INT, &cfg.max_waiters, "10000", 1, 1000000,
         "long polls held at once; past it a GET ?wait_ms= is answered at once"},
        {"confirm-token-ttl-s", NB_SET_INT, &cfg.confirm_ttl_s, "259200", 600, 30L * 86400,
         "life of the link in a confirmation mail"},
        {"manage-token-ttl-s", NB_SET_INT, &cfg.manage_ttl_s, "7776000", 3600, 400L * 86400,
         "life of the manage and unsubscribe links in an alert"},
        {"subscription-retention-s", NB_SET_INT, &cfg.subscription_retention_s, "2592000", 3600,
         3650L * 86400,
         "unsubscribed and never confirmed subscriptions, and finished mails, are deleted after "
         "this long"},
        {"body-cap", NB_SET_INT, &cfg.body_cap, "65536", 1024, 16L * 1024 * 1024,
         "largest accepted request body in bytes"},
        {"conn-timeout-s", NB_SET_INT, &cfg.conn_timeout_s, "30", 1, 3600,
         "idle HTTP connection timeout"},
        {"grace-ms", NB_SET_INT, &cfg.grace_ms, "5000", 0, 600000,
         "shutdown grace for in-flight requests"},
        {"log-level", NB_SET_STR, &cfg.log_level, "info", 0, 0, "debug|info|warn|error"},
        {"access-log", NB_SET_BOOL, &cfg.access_log, "true", 0, 0, "one log line per request"},
    };
    const int ntable = (int)(sizeof(table) / sizeof(table[0]));
    kv *cache = NULL, *db = NULL;
    store *st = NULL;
    watch *w = NULL;
    subs *sb = NULL;
    nb_server *srv = NULL;
    int status = 1;
    bool exit_now = false;
    const char *why = NULL;

    if (nb_config_load(table, ntable, argc, argv, "nimbus-persistence",
                       "nimbus data layer: records, geocoding entries, the event outbox and email "
                       "subscriptions on Redis + PostgreSQL",
                       &exit_now) != NB_OK)
        return 2;
    if (exit_now) return 0;
    if (!nb_log_start("persistence", cfg.log_level)) return 2;
    nb_config_log(table, ntable);

    /* global inits before any thread: a dead Redis socket must not kill us */
    signal(SIGPIPE, SIG_IGN);
    json_object_seed(0);

    kv_redis_opts ro = {.url = cfg.redis_url,
                        .sentinels = cfg.redis_sentinels,
                        .master_name = cfg.redis_master_name,
                        .timeout_ms = (int)cfg.backend_timeout_ms,
                        .ttl_ms = cfg.cache_ttl_s * 1000};
    cache = ps_kv_redis_new(&ro, &why);
    if (!cache) {
        nb_error("bad --redis-url or --redis-sentinels: %s", why);
        goto out;
    }
    db = ps_kv_pg_new(cfg.postgres_dsn, (int)cfg.backend_timeout_ms);
    if (!db) {
        nb_error("out of memory");
        goto out;
    }
    /* migrate now if the database is there; otherwise the store's probe will */
    if (ps_kv_ping(db) != NB_OK)
        nb_warn("database not reachable at start-up; will keep trying (not ready until then)");
    store_opts so = {.cache = cache,
                     .db = db,
                     .max_skew_ms = cfg.max_clock_skew_ms,
                     .outbox_retention_ms = cfg.outbox_retention_s * 1000};
    st = ps_store_new(&so);
    if (!st || ps_store_start(st) != NB_OK) {
        nb_error("could not start the store");
        goto out;
    }
    watch_opts wo = {
        .st = st, .interval_ms = (int)cfg.watch_interval_ms, .max_waiters = cfg.max_waiters};
    w = ps_watch_new(&wo);
    if (!w || ps_watch_start(w) != NB_OK) {
        nb_error("could not start the long-poll watch");
        goto out;
    }
    subs_opts sbo = {.db = db,
                     .timeout_ms = (int)cfg.backend_timeout_ms,
                     .confirm_ttl_s = cfg.confirm_ttl_s,
                     .manage_ttl_s = cfg.manage_ttl_s,
                     .retention_s = cfg.subscription_retention_s};
    sb = ps_subs_new(&sbo);
    if (!sb) {
        nb_error("out of memory");
        goto out;
    }
    nb_server_opts opts = {
        .bind = cfg.bind,
        .port = (int)cfg.port,
        .threads = (int)cfg.threads,
        .workers = (int)cfg.workers,
        .body_cap = (size_t)cfg.body_cap,
        .conn_timeout_s = (int)cfg.conn_timeout_s,
        .grace_ms = (int)cfg.grace_ms,
        .access_log = cfg.access_log,
        .ready = ps_routes_ready,
        .ready_ctx = st,
    };
    routes_deps rdeps = {.st = st,
                         .w = w,
                         .record_max_age_s = cfg.record_max_age_s,
                         .geocode_max_age_s = cfg.geocode_max_age_s};
    srv = nb_server_new(&opts);
    if (!srv || ps_routes_register(srv, &rdeps) != NB_OK ||
        ps_subs_routes_register(srv, sb) != NB_OK || nb_server_start(srv) != NB_OK) {
        nb_error("could not start the HTTP server on %s:%ld", cfg.bind, cfg.port);
        goto out;
    }
    nb_server_wait_for_signal(srv);
    nb_info("stopping");
    ps_watch_stop(w); /* held long polls are answered with what is stored now */
    nb_server_stop(srv);
    status = 0;
out:
    ps_watch_stop(w);
    ps_store_stop_reads(st); /* its callbacks touch the server: stop them first */
    nb_server_free(srv);
    ps_watch_free(w);
    ps_subs_free(sb);
    ps_store_free(st);
    ps_kv_free(db);
    ps_kv_free(cache);
    if (status == 0) nb_info("stopped");
    return status;
}
