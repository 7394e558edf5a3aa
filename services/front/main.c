/* main.c — nimbus-front: wires settings, logging, the api client, the cache
 * of its answers and the HTTP server, then waits for SIGTERM/SIGINT. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "nimbus/config.h"
#include "nimbus/http_client.h"
#include "nimbus/http_server.h"
#include "nimbus/log.h"
#include "routes.h"

int main(int argc, char **argv)
{
    const char *bind, *api_url, *public_url, *log_level;
    long port, threads, workers, timeout_ms, connect_ms, conn_timeout_s, cache_mb, revalidators;
    bool access_log, exit_now = false;
    const nb_setting settings[] = {
        {"bind", NB_SET_STR, &bind, "127.0.0.1", 0, 0, "IPv4 address to listen on"},
        {"port", NB_SET_INT, &port, "8000", 0, 65535, "TCP port (0 = any free port)"},
        {"threads", NB_SET_INT, &threads, "2", 1, 64, "HTTP polling threads"},
        {"workers", NB_SET_INT, &workers, "16", 1, 256, "worker threads for api calls"},
        {"api-url", NB_SET_URL, &api_url, "http://127.0.0.1:8080", 0, 0, "base URL of the api"},
        {"public-url", NB_SET_URL, &public_url, "http://127.0.0.1:8000", 0, 0,
         "the URL people reach front at: the origin its forms must come from (the notifier's "
         "links use the same setting)"},
        {"api-timeout-ms", NB_SET_INT, &timeout_ms, "5000", 100, 60000,
         "total time allowed for one api request"},
        {"api-connect-timeout-ms", NB_SET_INT, &connect_ms, "1000", 50, 30000,
         "time allowed to connect to the api"},
        {"conn-timeout-s", NB_SET_INT, &conn_timeout_s, "30", 1, 3600,
         "idle client connection timeout"},
        {"cache-mb", NB_SET_INT, &cache_mb, "128", 0, 1048576,
         "memory for the api's answers and the pages rendered from them, kept as their "
         "Cache-Control allows (least recently used go first; 0 = keep nothing, ask the api on "
         "every view)"},
        {"revalidate-workers", NB_SET_INT, &revalidators, "2", 1, 16,
         "threads revalidating stale answers with the api in the background"},
        {"log-level", NB_SET_STR, &log_level, "info", 0, 0, "debug, info, warn or error"},
        {"access-log", NB_SET_BOOL, &access_log, "true", 0, 0, "one log line per request"},
    };
    const int nsettings = (int)(sizeof(settings) / sizeof(settings[0]));
    fr_routes routes = {0};
    fr_cache *cache = NULL;
    nb_server *server = NULL;
    int rc = EXIT_FAILURE;

    if (nb_config_load(settings, nsettings, argc, argv, "nimbus-front",
                       "the web page: HTML for browsers, text for curl, JSON for scripts",
                       &exit_now) != NB_OK)
        return 2;
    if (exit_now) return EXIT_SUCCESS;
    if (!nb_log_start("front", log_level)) return 2;
    json_object_seed(0);
    if (nb_httpc_global_init() != NB_OK) {
        nb_error("curl_global_init failed");
        return EXIT_FAILURE;
    }
    nb_config_log(settings, nsettings);

    char public_base[512];
    size_t plen = strlen(public_url);
    while (plen > 0 && public_url[plen - 1] == '/')
        plen--;
    snprintf(public_base, sizeof(public_base), "%.*s", (int)plen, public_url);
    routes.public_url = public_base;
    routes.api = (fr_api){.base_url = api_url,
                          .connect_timeout_ms = connect_ms < timeout_ms ? connect_ms : timeout_ms,
                          .timeout_ms = timeout_ms,
                          .max_body = 1024 * 1024};
    cache = fr_cache_new(&(fr_cache_opts){.max_bytes = (size_t)cache_mb * 1024 * 1024,
                                          .revalidators = (int)revalidators,
                                          .queue_cap = 4096,
                                          .renderings_max = 32,
                                          .fetch = fr_api_fetch,
                                          .fetch_ctx = &routes.api});
    if (!cache) {
        nb_error("could not create the cache");
        goto out_global;
    }
    routes.cache = cache;
    nb_server_opts opts = {.bind = bind,
                           .port = (int)port,
                           .threads = (int)threads,
                           .workers = (int)workers,
                           .body_cap = 16 * 1024,
                           .conn_timeout_s = (int)conn_timeout_s,
                           .grace_ms = (int)timeout_ms + 1000,
                           .access_log = access_log,
                           .ready = fr_routes_ready,
                           .ready_ctx = &routes};
    server = nb_server_new(&opts);
    if (!server) {
        nb_error("could not create the HTTP server");
        goto out_global;
    }
    if (fr_routes_register(&routes, server) != NB_OK || nb_server_start(server) != NB_OK) {
        nb_error("could not start the HTTP server on %s:%ld", bind, port);
        goto out_free_server;
    }
    if (fr_cache_start(cache) != NB_OK) {
        nb_error("could not start the revalidation threads");
        goto out_stop_server;
    }
    nb_info("listening on http://%s:%d/ (api %s)", bind, nb_server_port(server), api_url);
    nb_server_wait_for_signal(server);
    nb_info("stopping");
    rc = EXIT_SUCCESS;

out_stop_server:
    nb_server_stop(server);
    fr_cache_stop(cache); /* workers may still hold copies: freed after them */
out_free_server:
    nb_server_free(server);
out_global:
    fr_cache_free(cache);
    nb_httpc_global_cleanup();
    return rc;
}
