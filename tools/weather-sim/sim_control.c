/* sim_control.c — test control state of the simulator. See sim_control.h. */
#include "sim_control.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "nimbus/clock.h"

void ws_ctl_init(ws_ctl *c)
{
    pthread_condattr_t attr;
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &attr);
    pthread_condattr_destroy(&attr);
}

void ws_ctl_destroy(ws_ctl *c)
{
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
}

void ws_ctl_reset(ws_ctl *c)
{
    pthread_mutex_lock(&c->lock);
    c->forecast_count = c->search_count = 0;
    c->latency_ms[0] = c->latency_ms[1] = 0;
    c->shift_s = 0;
    c->nrules = 0;
    pthread_mutex_unlock(&c->lock);
}

void ws_ctl_arrive(ws_ctl *c, ws_endpoint ep)
{
    pthread_mutex_lock(&c->lock);
    if (ep == WS_EP_FORECAST)
        c->forecast_count++;
    else if (ep == WS_EP_SEARCH)
        c->search_count++;
    pthread_mutex_unlock(&c->lock);
}

void ws_ctl_counters(ws_ctl *c, long *forecast, long *search)
{
    pthread_mutex_lock(&c->lock);
    *forecast = c->forecast_count;
    *search = c->search_count;
    pthread_mutex_unlock(&c->lock);
}

void ws_ctl_set_latency(ws_ctl *c, ws_endpoint ep, long ms)
{
    pthread_mutex_lock(&c->lock);
    if (ep & WS_EP_FORECAST) c->latency_ms[0] = ms;
    if (ep & WS_EP_SEARCH) c->latency_ms[1] = ms;
    pthread_mutex_unlock(&c->lock);
}

long ws_ctl_latency(ws_ctl *c, ws_endpoint ep)
{
    long ms;
    pthread_mutex_lock(&c->lock);
    ms = ep == WS_EP_SEARCH ? c->latency_ms[1] : c->latency_ms[0];
    pthread_mutex_unlock(&c->lock);
    return ms;
}

bool ws_ctl_add_rule(ws_ctl *c, const ws_action *a, ws_endpoint ep, long count)
{
    bool ok = false;
    pthread_mutex_lock(&c->lock);
    /* drop used-up rules first so the table does not fill with dead ones */
    int w = 0;
    for (int i = 0; i < c->nrules; i++)
        if (c->rules[i].remaining > 0) c->rules[w++] = c->rules[i];
    c->nrules = w;
    if (c->nrules < WS_MAX_RULES) {
        ws_rule *r = &c->rules[c->nrules++];
        r->action = *a;
        r->endpoint = ep;
        r->remaining = count;
        ok = true;
    }
    pthread_mutex_unlock(&c->lock);
    return ok;
}

void ws_ctl_take(ws_ctl *c, ws_endpoint ep, bool tz_is_gmt, ws_action *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->nrules; i++) {
        ws_rule *r = &c->rules[i];
        if (r->remaining <= 0 || !(r->endpoint & ep)) continue;
        if (r->action.kind == WS_ACT_INVALID_TZ && (ep != WS_EP_FORECAST || tz_is_gmt)) continue;
        *out = r->action;
        r->remaining--;
        break;
    }
    pthread_mutex_unlock(&c->lock);
}

void ws_ctl_set_shift(ws_ctl *c, int64_t shift_s)
{
    pthread_mutex_lock(&c->lock);
    c->shift_s = shift_s;
    pthread_mutex_unlock(&c->lock);
}

int64_t ws_ctl_now_s(ws_ctl *c)
{
    int64_t shift;
    pthread_mutex_lock(&c->lock);
    shift = c->shift_s;
    pthread_mutex_unlock(&c->lock);
    return nb_now_ms() / 1000 + shift;
}

bool ws_ctl_sleep(ws_ctl *c, long ms)
{
    struct timespec deadline;
    bool stopped;

    nb_mono_timespec_in(ms, &deadline);
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        if (pthread_cond_timedwait(&c->wake, &c->lock, &deadline) == ETIMEDOUT) break;
    }
    stopped = c->stopping;
    pthread_mutex_unlock(&c->lock);
    return !stopped;
}

bool ws_ctl_stopping(ws_ctl *c)
{
    bool s;
    pthread_mutex_lock(&c->lock);
    s = c->stopping;
    pthread_mutex_unlock(&c->lock);
    return s;
}

void ws_ctl_stop(ws_ctl *c)
{
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

bool ws_ctl_parse_endpoint(const char *s, ws_endpoint *ep)
{
    if (!s || !s[0] || strcmp(s, "any") == 0 || strcmp(s, "all") == 0)
        *ep = WS_EP_ANY;
    else if (strcmp(s, "forecast") == 0)
        *ep = WS_EP_FORECAST;
    else if (strcmp(s, "search") == 0 || strcmp(s, "geocoding") == 0)
        *ep = WS_EP_SEARCH;
    else
        return false;
    return true;
}

static const char *const kind_names[] = {
    [WS_ACT_NONE] = "none",           [WS_ACT_FAIL] = "fail",
    [WS_ACT_MALFORMED] = "malformed", [WS_ACT_TRUNCATED] = "truncated",
    [WS_ACT_OVERSIZED] = "oversized", [WS_ACT_HANG] = "hang",
    [WS_ACT_DRIP] = "drip",           [WS_ACT_INVALID_TZ] = "invalid_timezone",
    [WS_ACT_EMPTY] = "empty",
};

bool ws_ctl_parse_kind(const char *s, ws_action_kind *k)
{
    for (int i = WS_ACT_MALFORMED; s && i <= WS_ACT_EMPTY; i++)
        if (strcmp(s, kind_names[i]) == 0) {
            *k = (ws_action_kind)i;
            return true;
        }
    return false;
}

const char *ws_ctl_kind_name(ws_action_kind k)
{
    return (unsigned)k <= WS_ACT_EMPTY ? kind_names[k] : "?";
}
