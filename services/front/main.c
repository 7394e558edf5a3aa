/* main.c — nimbus-front: declares its settings and its parts (the cache of
 * the api's answers, the HTTP server, the revalidation threads) for the one
 * service skeleton (nimbus/service.h), which runs them. main() only wires. */
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "nimbus/config.h"
#include "nimbus/http_server.h"
#include "nimbus/log.h"
#include "nimbus/service.h"
#include "routes.h"

typedef struct front {
    const char *bind, *api_url, *public_url, *log_level;
    long port, threads, workers, timeout_ms, connect_ms, conn_timeout_s, body_cap, api_body_cap;
    long cache_mb, revalidators;
    bool access_log;
    char public_base[512];
    fr_routes routes;
    fr_cache *cache;
    nb_server *server;
} front;

static nb_err cache_start(void *ctx)
{
    front *f = ctx;
    size_t plen = strlen(f->public_url);
    while (plen > 0 && f->public_url[plen - 1] == '/')
        plen--;
    snprintf(f->public_base, sizeof(f->public_base), "%.*s", (int)plen, f->public_url);
    f->routes.public_url = f->public_base;
    f->routes.api = (fr_api){.base_url = f->api_url,
                             .connect_timeout_ms =
                                 f->connect_ms < f->timeout_ms ? f->connect_ms : f->timeout_ms,
                             .timeout_ms = f->timeout_ms,
                             .max_body = (size_t)f->api_body_cap};
    f->cache = fr_cache_new(&(fr_cache_opts){.max_bytes = (size_t)f->cache_mb * 1024 * 1024,
                                             .revalidators = (int)f->revalidators,
                                             .queue_cap = 4096,
                                             .renderings_max = 32,
                                             .fetch = fr_api_fetch,
                                             .fetch_ctx = &f->routes.api});
    f->routes.cache = f->cache;
    return f->cache ? NB_OK : NB_ERR_NOMEM;
}

/* After the server: workers may still hold copies, freed after them. */
static void cache_stop(void *ctx)
{
    front *f = ctx;
    fr_cache_free(f->cache);
}

static nb_err server_start(void *ctx)
{
    front *f = ctx;
    nb_server_opts opts = {.bind = f->bind,
                           .port = (int)f->port,
                           .threads = (int)f->threads,
                           .workers = (int)f->workers,
                           .body_cap = (size_t)f->body_cap,
                           .conn_timeout_s = (int)f->conn_timeout_s,
                           .grace_ms = (int)f->timeout_ms + 1000,
                           .access_log = f->access_log,
                           .ready = fr_routes_ready,
                           .ready_ctx = &f->routes};
    f->server = nb_server_new(&opts);
    nb_err e = f->server ? fr_routes_register(&f->routes, f->server) : NB_ERR_NOMEM;
    if (e == NB_OK) e = nb_server_start(f->server);
    if (e != NB_OK) { /* NB_ERR_INVALID: --bind is not an address (exit 2) */
        nb_error("could not start the HTTP server on %s:%ld", f->bind, f->port);
        nb_server_free(f->server);
        return e;
    }
    nb_info("listening on http://%s:%d/ (api %s)", f->bind, nb_server_port(f->server), f->api_url);
    return NB_OK;
}

static void server_stop(void *ctx)
{
    front *f = ctx;
    nb_server_stop(f->server);
    fr_cache_stop(f->cache); /* the revalidators, before the server's memory goes */
    nb_server_free(f->server);
}

static nb_err revalidators_start(void *ctx)
{
    front *f = ctx;
    return fr_cache_start(f->cache);
}

int main(int argc, char **argv)
{
    static front f;
    const nb_setting settings[] = {
        {"bind", NB_SET_STR, &f.bind, "127.0.0.1", 0, 0, "IPv4 address to listen on"},
        {"port", NB_SET_INT, &f.port, "8000", 0, 65535, "TCP port (0 = any free port)"},
        {"threads", NB_SET_INT, &f.threads, "2", 1, 64, "HTTP polling threads"},
        {"workers", NB_SET_INT, &f.workers, "16", 1, 256, "worker threads for api calls"},
        {"api-url", NB_SET_URL, &f.api_url, "http://127.0.0.1:8080", 0, 0, "base URL of the api"},
        {"public-url", NB_SET_URL, &f.public_url, "http://127.0.0.1:8000", 0, 0,
         "the URL people reach front at: the origin its forms must come from (the notifier's "
         "links use the same setting)"},
        {"api-timeout-ms", NB_SET_INT, &f.timeout_ms, "5000", 100, 60000,
         "total time allowed for one api request"},
        {"api-connect-timeout-ms", NB_SET_INT, &f.connect_ms, "1000", 50, 30000,
         "time allowed to connect to the api"},
        {"api-body-cap", NB_SET_INT, &f.api_body_cap, "1048576", 65536, 16L * 1024 * 1024,
         "largest answer read from the api, bytes"},
        {"body-cap", NB_SET_INT, &f.body_cap, "16384", 1024, 1048576,
         "largest request body, bytes (the subscription forms)"},
        {"conn-timeout-s", NB_SET_INT, &f.conn_timeout_s, "30", 1, 3600,
         "idle client connection timeout"},
        {"cache-mb", NB_SET_INT, &f.cache_mb, "128", 0, 1048576,
         "memory for the api's answers and the pages rendered from them, kept as their "
         "Cache-Control allows (least recently used go first; 0 = keep nothing, ask the api on "
         "every view)"},
        {"revalidate-workers", NB_SET_INT, &f.revalidators, "2", 1, 16,
         "threads revalidating stale answers with the api in the background"},
        {"log-level", NB_SET_STR, &f.log_level, "info", 0, 0, "debug, info, warn or error"},
        {"access-log", NB_SET_BOOL, &f.access_log, "true", 0, 0, "one log line per request"},
    };
    const nb_part parts[] = {
        {"the cache of the api's answers", cache_start, cache_stop, &f},
        {"the HTTP server", server_start, server_stop, &f},
        {"the revalidation threads", revalidators_start, NULL, &f},
    };
    const nb_service svc = {
        .prog = "nimbus-front",
        .name = "front",
        .summary = "the web page: HTML for browsers, text for curl, JSON for scripts",
        .settings = settings,
        .nsettings = (int)(sizeof(settings) / sizeof(settings[0])),
        .parts = parts,
        .nparts = (int)(sizeof(parts) / sizeof(parts[0])),
    };
    return nb_service_run(&svc, argc, argv);
}
