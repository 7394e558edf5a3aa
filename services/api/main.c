/* main.c — nimbus-api: wires settings, logging, clients and the server. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "api_config.h"
#include "events.h"
#include "flight.h"
#include "memo.h"
#include "nimbus/http_client.h"
#include "nimbus/http_server.h"
#include "nimbus/log.h"
#include "pool.h"
#include "store_client.h"
#include "subscriptions.h"
#include "upstream.h"
#include "weather.h"
#include "writer.h"

/* The subscription routes resolve places as the weather route does. */
static nb_err resolve_place(void *ctx, const char *query, nb_place *out, nb_error *err)
{
    return weather_resolve(ctx, query, out, err);
}

int main(int argc, char **argv)
{
    api_config cfg;
    bool exit_now;
    if (api_config_load(&cfg, argc, argv, &exit_now) != NB_OK) return 2;
    if (exit_now) return 0;
    if (!nb_log_start("api", cfg.log_level)) return 2;
    api_config_log();

    json_object_seed(0);
    if (nb_httpc_global_init() != NB_OK) return 1;

    int rc = 1;
    store_client *store = store_client_new(&cfg);
    upstream *up = upstream_new(&cfg);
    events *ev = events_new(&cfg);
    flights *fl = flights_new();
    writer *wr = store ? writer_new(store, cfg.write_queue) : NULL;
    pool *fetchers = pool_new((int)cfg.renew_workers, cfg.renew_queue);
    memo *mem = memo_new((size_t)cfg.memo_entries);
    weather *wx = NULL;
    subscriptions *subs = NULL;
    nb_server *srv = NULL;
    if (!store || !up || !ev || !fl || !wr || !fetchers || !mem) goto out;
    weather_deps deps = {.cfg = &cfg,
                         .store = store,
                         .up = up,
                         .wr = wr,
                         .ev = ev,
                         .fl = fl,
                         .fetchers = fetchers,
                         .memo = mem};
    wx = weather_new(&deps);
    subs = wx ? subscriptions_new(&cfg, resolve_place, wx) : NULL;
    if (!wx || !subs) goto out;

    nb_server_opts so = {.bind = cfg.bind,
                         .port = (int)cfg.port,
                         .threads = (int)cfg.threads,
                         .workers = (int)cfg.workers,
                         .body_cap = (size_t)cfg.body_cap,
                         .conn_timeout_s = (int)cfg.conn_timeout_s,
                         .grace_ms = (int)cfg.grace_ms,
                         .access_log = cfg.access_log,
                         .ready = weather_ready,
                         .ready_ctx = wx};
    srv = nb_server_new(&so);
    if (!srv ||
        nb_server_route(srv, "GET", "/v1/weather", "weather", NB_ROUTE_WORKER, weather_handle,
                        wx) != NB_OK ||
        subscriptions_register(subs, srv) != NB_OK || nb_server_start(srv) != NB_OK)
        goto out;

    nb_server_wait_for_signal(srv);
    rc = 0;
out:
    /* Reverse order: stop answering, finish fetches, drain the writes (their
     * callbacks touch the flights), then the flights and the events. */
    nb_server_free(srv);
    pool_free(fetchers);
    writer_free(wr, cfg.grace_ms);
    flights_free(fl);
    events_free(ev, cfg.kafka_flush_ms);
    subscriptions_free(subs);
    weather_free(wx);
    memo_free(mem);
    upstream_free(up);
    store_client_free(store);
    nb_httpc_global_cleanup();
    nb_info("stopped");
    return rc;
}
