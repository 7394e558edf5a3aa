/* budget.c — the shared upstream budget with a local allowance (see budget.h). */
#include "budget.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "nimbus/bucket.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"

enum { R_GRANTED, R_REFUSED, R_LOCAL_GRANTED, R_LOCAL_REFUSED, R_N };
static const char *const results[R_N] = {"granted", "refused", "local_granted", "local_refused"};
static const char *const window_names[] = {"minute", "hour", "day"};

struct budget {
    store *st;
    bool alone;
    size_t n;
    nb_window shared[NB_BUCKET_WINDOWS_MAX], local[NB_BUCKET_WINDOWS_MAX];
    const char *names[NB_BUCKET_WINDOWS_MAX];
    nb_counter *results[R_N];
    pthread_mutex_t lock; /* local, using_local, left */
    nb_bucket bucket;
    bool using_local;
    double left[NB_BUCKET_WINDOWS_MAX];
};

budget *api_budget_new(store *st, const budget_opts *o)
{
    budget *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->st = st;
    b->alone = o->alone;
    const long limits[] = {o->per_min, o->per_hour, o->per_day};
    const long seconds[] = {60, 3600, 86400};
    double share =
        o->alone ? 1.0
                 : (o->fallback_pct > 0 && o->fallback_pct <= 100 ? o->fallback_pct : 10) / 100.0;
    for (size_t i = 0; i < 3; i++) {
        if (limits[i] <= 0) continue;
        b->shared[b->n] = (nb_window){seconds[i], (double)limits[i]};
        double mine = (double)limits[i] * share;
        b->local[b->n] = (nb_window){seconds[i], mine < 1.0 ? 1.0 : mine};
        b->names[b->n] = window_names[i];
        b->left[b->n] = nb_window_burst(&b->shared[b->n]);
        b->n++;
    }
    for (int i = 0; i < R_N; i++) {
        char labels[40];
        snprintf(labels, sizeof(labels), "result=\"%s\"", results[i]);
        b->results[i] = nb_counter_new("nimbus_budget_requests_total", labels,
                                       "Upstream calls asked of the budget: shared (granted, "
                                       "refused) or this replica's own allowance (local_*)");
    }
    pthread_mutex_init(&b->lock, NULL);
    return b;
}

void api_budget_free(budget *b)
{
    if (!b) return;
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static int seconds_up(long ms)
{
    long s = (ms + 999) / 1000;
    return s < 1 ? 1 : s > 86400 ? 86400 : (int)s;
}

/* The index of the window that is seconds long (the first when none is). */
static size_t window_of(const budget *b, long seconds)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->shared[i].seconds == seconds) return i;
    return 0;
}

bool api_budget_take(budget *b, double cost, int *retry_after_s, char *why, size_t whylen)
{
    if (b->n == 0) return true;
    store_budget sb;
    nb_error err = {0};
    nb_err e = b->alone ? nb_error_set(&err, NB_ERR_UNAVAILABLE, 0, "--coordinate=false")
                        : api_store_budget_take(b->st, cost, b->shared, b->n, &sb, &err);
    if (e == NB_OK) {
        pthread_mutex_lock(&b->lock);
        bool was_local = b->using_local;
        b->using_local = false;
        for (size_t i = 0; i < b->n; i++)
            b->left[i] = sb.left[i];
        pthread_mutex_unlock(&b->lock);
        if (was_local)
            nb_info("upstream budget: persistence answers again; the shared one applies");
        nb_counter_inc(b->results[sb.granted ? R_GRANTED : R_REFUSED]);
        if (sb.granted) return true;
        *retry_after_s = seconds_up(sb.retry_after_ms);
        size_t w = window_of(b, sb.window_s);
        snprintf(why, whylen,
                 "upstream budget spent (the %s's limit of %.0f calls, for every replica); "
                 "enough is back in %d s",
                 b->names[w], b->shared[w].limit, *retry_after_s);
        return false;
    }
    /* persistence cannot answer: this replica's own allowance */
    pthread_mutex_lock(&b->lock);
    bool was_local = b->using_local;
    b->using_local = true;
    int64_t now = nb_mono_ms();
    nb_take t = nb_bucket_take(&b->bucket, b->local, b->n, cost, now);
    for (size_t i = 0; i < b->n; i++)
        b->left[i] = nb_bucket_level(&b->bucket, b->local, i, now);
    pthread_mutex_unlock(&b->lock);
    if (!was_local && !b->alone)
        nb_warn("upstream budget: persistence cannot answer (%s); spending this replica's own "
                "allowance (a share of each limit) until it does",
                err.msg);
    nb_counter_inc(b->results[t.granted ? R_LOCAL_GRANTED : R_LOCAL_REFUSED]);
    if (t.granted) return true;
    *retry_after_s = seconds_up(t.retry_after_ms);
    if (b->alone)
        snprintf(why, whylen,
                 "upstream budget spent (the %s's limit of %.0f calls); enough is back in %d s",
                 b->names[t.window], b->local[t.window].limit, *retry_after_s);
    else
        snprintf(why, whylen,
                 "upstream budget spent (this replica's own allowance of %.0f calls a %s, "
                 "while the shared budget cannot be asked); enough is back in %d s",
                 b->local[t.window].limit, b->names[t.window], *retry_after_s);
    return false;
}

void api_budget_status(budget *b, nb_buf *out)
{
    pthread_mutex_lock(&b->lock);
    nb_buf_addf(out, "\"budget\":\"%s\",\"budget_left\":[",
                b->alone         ? "alone"
                : b->using_local ? "local"
                                 : "shared");
    for (size_t i = 0; i < b->n; i++)
        nb_buf_addf(out, "%s%.1f", i ? "," : "", b->left[i]);
    nb_buf_adds(out, "]");
    pthread_mutex_unlock(&b->lock);
}
