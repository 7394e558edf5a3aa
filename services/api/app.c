/* app.c — the api service's parts, wired and stopped in order (see app.h). */
#include "app.h"

#include <stdlib.h>

#include "flight.h"
#include "near_cache.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "pool.h"
#include "relay.h"
#include "subscriptions.h"
#include "weather.h"
#include "writer.h"

struct app {
    const api_config *cfg;
    app_clients c;
    flights *fl;
    writer *wr;
    pool *fetchers;
    near_cache *nc;
    relay *rl;
    weather *wx;
    subscriptions *subs;
    nb_server *srv;
    bool stopped;
};

/* The subscription routes resolve a place by name with the weather flows'
 * place step (coalesced, remembered, bounded; it never blocks a worker). */
static void resolve_place(void *ctx, nb_req *r, const char *query, sub_resolved_fn done, void *arg)
{
    api_weather_resolve(ctx, r, query, done, arg);
}

/* /readyz: ready when persistence answers; the state of each part. */
static bool app_ready(void *ctx, nb_buf *out)
{
    app *a = ctx;
    bool up = api_store_ping(a->c.st);
    nb_buf_addf(out, "{\"ready\":%s,\"persistence\":\"%s\",", up ? "true" : "false",
                up ? "up" : "down");
    api_weather_status(a->wx, out);
    nb_buf_adds(out, ",");
    if (a->c.bud) {
        api_budget_status(a->c.bud, out);
        nb_buf_adds(out, ",");
    }
    api_relay_status(a->rl, out);
    nb_buf_adds(out, "}");
    return up;
}

app *api_app_new(const api_config *cfg, const app_clients *c)
{
    app *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->cfg = cfg;
    a->c = *c;
    relay_opts ro = {
        .batch = cfg->relay_batch, .lease_ms = cfg->relay_lease_ms, .poll_ms = cfg->relay_poll_ms};
    a->rl = api_relay_new(c->st, c->br, &ro);
    if (!a->rl) goto fail;
    writer_opts wo = {.max_pending = cfg->write_queue,
                      .base_backoff_ms = 100,
                      .max_backoff_ms = 6400,
                      .on_event = api_relay_wake, /* a write that made an event: relay it now */
                      .on_event_ctx = a->rl};
    a->fl = api_fl_new(cfg->flight_entries, cfg->flight_waiters);
    a->wr = api_writer_new(c->st, &wo);
    a->fetchers = api_pool_new((int)cfg->renew_workers, cfg->renew_queue);
    a->nc = api_nc_new((size_t)cfg->near_cache_mb << 20);
    if (!a->fl || !a->wr || !a->fetchers || !a->nc) goto fail;
    weather_deps deps = {.cfg = cfg,
                         .st = c->st,
                         .up = c->up,
                         .wr = a->wr,
                         .fl = a->fl,
                         .fetchers = a->fetchers,
                         .nc = a->nc};
    a->wx = api_weather_new(&deps);
    if (!a->wx) goto fail;
    sub_deps sd = {.cfg = cfg, .st = c->st, .resolve = resolve_place, .resolve_ctx = a->wx};
    a->subs = api_subscriptions_new(&sd);
    if (!a->subs) goto fail;
    nb_server_opts so = {.bind = cfg->bind,
                         .port = (int)cfg->port,
                         .threads = (int)cfg->threads,
                         .workers = (int)cfg->workers,
                         .body_cap = (size_t)cfg->body_cap,
                         .conn_timeout_s = (int)cfg->conn_timeout_s,
                         .grace_ms = (int)cfg->grace_ms,
                         .access_log = cfg->access_log,
                         .ready = app_ready,
                         .ready_ctx = a};
    a->srv = nb_server_new(&so);
    /* Inline: a request the near-cache can answer never waits for a worker
     * (weather.c hands the others over). */
    if (!a->srv ||
        nb_server_route(a->srv, "GET", "/v1/weather", "weather", NB_ROUTE_INLINE,
                        api_weather_handle, a->wx) != NB_OK ||
        api_subscriptions_register(a->subs, a->srv) != NB_OK)
        goto fail;
    return a;
fail:
    nb_error("cannot set up the api service (out of memory or threads)");
    api_app_free(a);
    return NULL;
}

nb_err api_app_start(app *a)
{
    return nb_server_start(a->srv);
}

int api_app_port(const app *a)
{
    return nb_server_port(a->srv);
}

nb_server *api_app_server(app *a)
{
    return a->srv;
}

void api_app_stop(app *a)
{
    if (a->stopped) return;
    a->stopped = true;
    int64_t t0 = nb_mono_ms();
    if (a->rl) api_relay_stop(a->rl, t0 + a->cfg->kafka_flush_ms, 1000);
    if (a->wx) api_weather_stop(a->wx);
    nb_server_stop(a->srv);
    if (a->fetchers && !api_pool_drain(a->fetchers, t0 + a->cfg->grace_ms)) {
        nb_warn("shutdown: cancelling the upstream fetches still running");
        api_upstream_cancel(a->c.up);
    }
    api_pool_free(a->fetchers);
    a->fetchers = NULL;
    if (a->fl) api_fl_stop(a->fl);
    nb_server_free(a->srv);
    a->srv = NULL;
    if (a->wr) api_writer_stop(a->wr, nb_mono_ms() + a->cfg->write_flush_ms);
    if (a->rl) api_relay_join(a->rl);
    nb_info("api service stopped in %lld ms", (long long)(nb_mono_ms() - t0));
}

void api_app_free(app *a)
{
    if (!a) return;
    api_app_stop(a);
    api_writer_free(a->wr);
    api_relay_free(a->rl);
    api_fl_free(a->fl);
    api_subscriptions_free(a->subs);
    api_weather_free(a->wx);
    api_nc_free(a->nc);
    free(a);
}
