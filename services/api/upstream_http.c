/* upstream_http.c — budgeted, retried calls to the Open-Meteo-compatible
 * upstream (see upstream_http.h). */
#include "upstream_http.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/backoff.h"
#include "nimbus/clock.h"
#include "nimbus/http_client.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"
#include "openmeteo.h"

enum { EP_FORECAST, EP_GEOCODING, EP_COUNT };
static const char *const ep_names[] = {"forecast", "geocoding"};

typedef struct upstream_http {
    upstream base;
    const api_config *cfg;
    budget *budget;
    atomic_bool cancelled;
    pthread_mutex_t lock; /* backoff waits end early on cancel */
    pthread_cond_t wake;
    nb_counter *calls[EP_COUNT], *errors[EP_COUNT], *retries[EP_COUNT];
    nb_counter *pace_rejections;
    nb_histogram *latency[EP_COUNT];
} upstream_http;

static const upstream_ops http_ops;

upstream *api_upstream_http_new(const api_config *cfg, budget *b)
{
    upstream_http *u = calloc(1, sizeof(*u));
    if (!u) return NULL;
    u->base.ops = &http_ops;
    u->cfg = cfg;
    u->budget = b;
    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->wake, NULL);
    char labels[64];
    for (int i = 0; i < EP_COUNT; i++) {
        snprintf(labels, sizeof(labels), "endpoint=\"%s\"", ep_names[i]);
        u->calls[i] = nb_counter_new("nimbus_upstream_calls_total", labels,
                                     "Calls made to the weather upstream");
        u->errors[i] = nb_counter_new("nimbus_upstream_errors_total", labels,
                                      "Upstream calls that failed (status, transport, body)");
        u->retries[i] = nb_counter_new("nimbus_upstream_retries_total", labels,
                                       "Upstream calls retried after a 5xx or timeout");
        u->latency[i] = nb_histogram_new("nimbus_upstream_duration_seconds", labels,
                                         "Duration of upstream calls");
    }
    u->pace_rejections = nb_counter_new("nimbus_upstream_pace_rejections_total", NULL,
                                        "Upstream calls not made because the budget was spent");
    return &u->base;
}

static void http_free(upstream *base)
{
    upstream_http *u = (upstream_http *)base;
    pthread_cond_destroy(&u->wake);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

static void http_cancel(upstream *base)
{
    upstream_http *u = (upstream_http *)base;
    pthread_mutex_lock(&u->lock);
    atomic_store(&u->cancelled, true);
    pthread_cond_broadcast(&u->wake);
    pthread_mutex_unlock(&u->lock);
}

/* Waits ms before a retry; false when cancelled meanwhile. */
static bool backoff_wait(upstream_http *u, long ms)
{
    struct timespec ts;
    nb_timespec_in(ms, &ts);
    pthread_mutex_lock(&u->lock);
    while (!atomic_load(&u->cancelled)) {
        if (pthread_cond_timedwait(&u->wake, &u->lock, &ts) != 0) break;
    }
    bool ok = !atomic_load(&u->cancelled);
    pthread_mutex_unlock(&u->lock);
    return ok;
}

typedef nb_err (*parse_fn)(const nb_httpc_resp *resp, void *arg, const char **why);

/* One logical call: budget, request, classify, retry. On HTTP 200 the body is
 * handed to parse. A 400 "Invalid timezone" makes *tz_fallback true and
 * returns NB_ERR_CONFLICT so the caller can ask again with GMT. */
static nb_err call(upstream_http *u, int ep, const char *url, parse_fn parse, void *arg,
                   nb_error *err, bool *tz_fallback)
{
    const api_config *c = u->cfg;
    memset(err, 0, sizeof(*err));
    for (int attempt = 0;; attempt++) {
        if (atomic_load(&u->cancelled))
            return nb_error_set(err, NB_ERR_UNAVAILABLE, 5,
                                "shutting down: upstream call cancelled");
        char spent[200];
        if (!api_budget_take(u->budget, api_om_url_cost(url), &err->retry_after_s, spent,
                             sizeof(spent))) {
            nb_counter_inc(u->pace_rejections);
            return nb_error_set(err, NB_ERR_RATE_LIMITED, err->retry_after_s, "%s", spent);
        }
        nb_counter_inc(u->calls[ep]);
        nb_httpc_req req = {.method = "GET",
                            .url = url,
                            .connect_timeout_ms = c->upstream_connect_timeout_ms,
                            .timeout_ms = c->upstream_timeout_ms,
                            .max_body = (size_t)c->upstream_max_body,
                            .cancel = &u->cancelled};
        nb_httpc_resp resp;
        double t0 = nb_mono_s();
        nb_err e = nb_httpc_do(&req, &resp);
        nb_histogram_observe(u->latency[ep], nb_mono_s() - t0);
        bool retryable = false;
        if (e == NB_OK && resp.status == 200) {
            const char *why = NULL;
            e = parse(&resp, arg, &why);
            if (e)
                snprintf(err->msg, sizeof(err->msg), "upstream %s answer unusable: %s",
                         ep_names[ep], why ? why : "?");
        } else if (e == NB_OK) {
            char reason[200];
            api_om_error_reason(resp.body.data ? resp.body.data : "", resp.body.len, reason,
                                sizeof(reason));
            if (resp.status == 400 && tz_fallback && strstr(reason, "Invalid timezone")) {
                *tz_fallback = true;
                nb_httpc_resp_release(&resp);
                return NB_ERR_CONFLICT;
            }
            snprintf(err->msg, sizeof(err->msg), "upstream %s answered %ld%s%s", ep_names[ep],
                     resp.status, reason[0] ? ": " : "", reason);
            if (resp.status == 429) {
                e = NB_ERR_RATE_LIMITED;
                const char *ra = nb_httpc_header(&resp, "Retry-After");
                err->retry_after_s = ra ? atoi(ra) : 60;
                if (err->retry_after_s <= 0) err->retry_after_s = 60;
            } else {
                e = NB_ERR_UPSTREAM;
                retryable = resp.status >= 500;
            }
        } else {
            snprintf(err->msg, sizeof(err->msg), "upstream %s: %.200s", ep_names[ep], resp.errmsg);
            retryable = e == NB_ERR_TIMEOUT || e == NB_ERR_UNAVAILABLE || e == NB_ERR_UPSTREAM;
        }
        nb_httpc_resp_release(&resp);
        if (e == NB_OK) return NB_OK;
        err->code = e;
        nb_counter_inc(u->errors[ep]);
        if (!retryable || attempt >= c->upstream_retries || atomic_load(&u->cancelled)) {
            nb_warn("%s", err->msg);
            if (!err->retry_after_s) err->retry_after_s = 30;
            return e;
        }
        nb_counter_inc(u->retries[ep]);
        nb_info("%s; retrying (%d of %ld)", err->msg, attempt + 1, c->upstream_retries);
        if (!backoff_wait(u, nb_backoff_ms(attempt, 200, 6400))) /* 200, 400, 800 ms ... */
            return nb_error_set(err, NB_ERR_UNAVAILABLE, 5,
                                "shutting down: upstream call cancelled");
    }
}

typedef struct forecast_arg {
    const char *key;
    nb_record *out;
} forecast_arg;

static nb_err parse_forecast(const nb_httpc_resp *resp, void *arg, const char **why)
{
    forecast_arg *a = arg;
    return api_om_parse_forecast(nb_buf_str(&resp->body), resp->body.len, a->key, nb_now_ms(),
                                 a->out, why) == NB_OK
               ? NB_OK
               : NB_ERR_UPSTREAM;
}

static nb_err http_forecast(upstream *base, const char *key, nb_record *out, nb_error *err)
{
    upstream_http *u = (upstream_http *)base;
    double lat, lon;
    if (!nb_location_key_valid(key, &lat, &lon))
        return nb_error_set(err, NB_ERR_INVALID, 0, "not a location key: %s", key);
    forecast_arg a = {key, out};
    nb_buf url;
    nb_buf_init(&url, 4096);
    bool fallback = false;
    api_om_forecast_url(&url, u->cfg->forecast_url, lat, lon, (int)u->cfg->forecast_days, "auto");
    nb_err e = call(u, EP_FORECAST, nb_buf_str(&url), parse_forecast, &a, err, &fallback);
    if (e == NB_ERR_CONFLICT && fallback) {
        nb_info("upstream has no time zone for %s: asking again with GMT", key);
        nb_buf_reset(&url);
        api_om_forecast_url(&url, u->cfg->forecast_url, lat, lon, (int)u->cfg->forecast_days,
                            "GMT");
        e = call(u, EP_FORECAST, nb_buf_str(&url), parse_forecast, &a, err, NULL);
    }
    nb_buf_release(&url);
    return e;
}

typedef struct geo_arg {
    nb_place *out;
    bool *found;
} geo_arg;

static nb_err parse_geo(const nb_httpc_resp *resp, void *arg, const char **why)
{
    geo_arg *a = arg;
    return api_om_parse_geocoding(nb_buf_str(&resp->body), resp->body.len, a->out, a->found, why) ==
                   NB_OK
               ? NB_OK
               : NB_ERR_UPSTREAM;
}

static nb_err http_geocode(upstream *base, const char *query, nb_place *out, bool *found,
                           nb_error *err)
{
    upstream_http *u = (upstream_http *)base;
    geo_arg a = {out, found};
    nb_buf url;
    nb_buf_init(&url, 4096);
    nb_err e = api_om_geocoding_url(&url, u->cfg->geocoding_url, query);
    if (!e) e = call(u, EP_GEOCODING, nb_buf_str(&url), parse_geo, &a, err, NULL);
    nb_buf_release(&url);
    return e;
}

static const upstream_ops http_ops = {
    .name = "http",
    .forecast = http_forecast,
    .geocode = http_geocode,
    .cancel = http_cancel,
    .free = http_free,
};
