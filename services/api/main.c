/* main.c — nimbus-api: wires settings, logging, clients and the server, and
 * stops them in reverse order within a bounded time (see docs/operations.md,
 * "Shutdown"). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "api_config.h"
#include "events.h"
#include "flight.h"
#include "memo.h"
#include "nimbus/clock.h"
#include "nimbus/http_client.h"
#include "nimbus/http_server.h"
#include "nimbus/log.h"
#include "pool.h"
#include "store_http.h"
#include "upstream_http.h"
#include "weather.h"
#include "writer.h"

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
    store *st = store_http_new(&cfg);
    upstream *up = upstream_http_new(&cfg);
    events *ev = events_new(&cfg);
    flights *fl = flights_new(cfg.flight_entries, cfg.flight_waiters);
    writer_opts wo = {
        .max_pending = cfg.write_queue, .base_backoff_ms = 100, .max_backoff_ms = 6400};
    writer *wr = st ? writer_new(st, &wo) : NULL;
    pool *fetchers = pool_new((int)cfg.renew_workers, cfg.renew_queue);
    memo *mem = memo_new((size_t)cfg.memo_entries);
    weather *wx = NULL;
    nb_server *srv = NULL;
    if (!st || !up || !ev || !fl || !wr || !fetchers || !mem) goto out;
    weather_deps deps = {.cfg = &cfg,
                         .st = st,
                         .up = up,
                         .wr = wr,
                         .ev = ev,
                         .fl = fl,
                         .fetchers = fetchers,
                         .memo = mem};
    wx = weather_new(&deps);
    if (!wx) goto out;

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
        nb_server_start(srv) != NB_OK)
        goto out;

    nb_server_wait_for_signal(srv);
    rc = 0;
out:;
    /* Reverse order, each step bounded: fetches not started are dropped (503
     * to their waiters); the server refuses new requests and answers the
     * rest within grace-ms, while running fetches get the same time and are
     * then cancelled; waiters left are answered; the workers finish; writes
     * flush for write-flush-ms; the events flush for kafka-flush-ms. */
    int64_t t0 = nb_mono_ms();
    if (wx) weather_stop(wx);
    nb_server_stop(srv);
    if (fetchers && !pool_drain(fetchers, t0 + cfg.grace_ms)) upstream_cancel(up);
    pool_free(fetchers);
    if (fl) flights_stop(fl);
    nb_server_free(srv);
    if (wr) writer_stop(wr, nb_mono_ms() + cfg.write_flush_ms);
    writer_free(wr);
    flights_free(fl);
    events_free(ev, cfg.kafka_flush_ms);
    weather_free(wx);
    memo_free(mem);
    upstream_free(up);
    store_free(st);
    nb_httpc_global_cleanup();
    nb_info("stopped in %lld ms", (long long)(nb_mono_ms() - t0));
    return rc;
}
