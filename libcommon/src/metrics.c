/* metrics.c — Prometheus counters, gauges and latency histograms.
 * Registration appends to a global list (start-up only); updates are atomic. */
#include "nimbus/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum metric_kind { M_COUNTER, M_GAUGE, M_GAUGE_FN, M_HISTOGRAM };

static const double hist_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBUCKETS (sizeof(hist_bounds) / sizeof(hist_bounds[0]))

typedef struct metric {
    struct metric *next;
    enum metric_kind kind;
    char *name, *labels, *help;
    _Atomic uint64_t count;  /* counter value, histogram count */
    _Atomic int64_t gauge;   /* gauge value */
    _Atomic uint64_t sum_us; /* histogram sum in microseconds */
    _Atomic uint64_t buckets[NBUCKETS];
    int64_t (*fn)(void *);
    void *arg;
} metric;

struct nb_counter {
    metric m;
};
struct nb_gauge {
    metric m;
};
struct nb_histogram {
    metric m;
};

static metric *registry_head, **registry_tail = &registry_head;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

static metric *metric_register(enum metric_kind kind, const char *name, const char *labels,
                               const char *help)
{
    pthread_mutex_lock(&registry_lock);
    for (metric *m = registry_head; m; m = m->next) {
        if (m->kind == kind && strcmp(m->name, name) == 0 &&
            strcmp(m->labels, labels ? labels : "") == 0) {
            pthread_mutex_unlock(&registry_lock);
            return m;
        }
    }
    /* nb_counter etc. are layout-identical wrappers of metric */
    metric *m = calloc(1, sizeof(*m));
    if (m) {
        m->kind = kind;
        m->name = strdup(name);
        m->labels = strdup(labels ? labels : "");
        m->help = strdup(help ? help : "");
        *registry_tail = m;
        registry_tail = &m->next;
    }
    pthread_mutex_unlock(&registry_lock);
    return m;
}

nb_counter *nb_counter_new(const char *name, const char *labels, const char *help)
{
    return (nb_counter *)metric_register(M_COUNTER, name, labels, help);
}

void nb_counter_add(nb_counter *c, uint64_t n)
{
    if (c) atomic_fetch_add_explicit(&c->m.count, n, memory_order_relaxed);
}

uint64_t nb_counter_get(const nb_counter *c)
{
    return c ? atomic_load_explicit(&((nb_counter *)c)->m.count, memory_order_relaxed) : 0;
}

nb_gauge *nb_gauge_new(const char *name, const char *labels, const char *help)
{
    return (nb_gauge *)metric_register(M_GAUGE, name, labels, help);
}

void nb_gauge_set(nb_gauge *g, int64_t v)
{
    if (g) atomic_store_explicit(&g->m.gauge, v, memory_order_relaxed);
}

nb_gauge *nb_gauge_fn_new(const char *name, const char *labels, const char *help,
                          int64_t (*fn)(void *arg), void *arg)
{
    metric *m = metric_register(M_GAUGE_FN, name, labels, help);
    if (m) {
        m->fn = fn;
        m->arg = arg;
    }
    return (nb_gauge *)m;
}

nb_histogram *nb_histogram_new(const char *name, const char *labels, const char *help)
{
    return (nb_histogram *)metric_register(M_HISTOGRAM, name, labels, help);
}

void nb_histogram_observe(nb_histogram *h, double seconds)
{
    if (!h) return;
    for (size_t i = 0; i < NBUCKETS; i++) {
        if (seconds <= hist_bounds[i]) {
            atomic_fetch_add_explicit(&h->m.buckets[i], 1, memory_order_relaxed);
            break;
        }
    }
    atomic_fetch_add_explicit(&h->m.count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->m.sum_us, (uint64_t)(seconds * 1e6), memory_order_relaxed);
}

static const char *kind_word(enum metric_kind k)
{
    switch (k) {
    case M_COUNTER:
        return "counter";
    case M_HISTOGRAM:
        return "histogram";
    default:
        return "gauge";
    }
}

static nb_err render_one(nb_buf *out, metric *m)
{
    const char *l = m->labels, *sep = *l ? "," : "";
    switch (m->kind) {
    case M_COUNTER:
        return nb_buf_addf(out, "%s%s%s%s %llu\n", m->name, *l ? "{" : "", l, *l ? "}" : "",
                           (unsigned long long)atomic_load(&m->count));
    case M_GAUGE:
    case M_GAUGE_FN: {
        int64_t v = m->kind == M_GAUGE ? atomic_load(&m->gauge) : m->fn(m->arg);
        return nb_buf_addf(out, "%s%s%s%s %lld\n", m->name, *l ? "{" : "", l, *l ? "}" : "",
                           (long long)v);
    }
    case M_HISTOGRAM: {
        uint64_t cum = 0;
        nb_err e = NB_OK;
        for (size_t i = 0; i < NBUCKETS && !e; i++) {
            cum += atomic_load(&m->buckets[i]);
            e = nb_buf_addf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", m->name, l, sep, hist_bounds[i],
                            (unsigned long long)cum);
        }
        uint64_t count = atomic_load(&m->count);
        if (!e)
            e = nb_buf_addf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", m->name, l, sep,
                            (unsigned long long)count);
        if (!e)
            e = nb_buf_addf(out, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", m->name, *l ? "{" : "",
                            l, *l ? "}" : "", atomic_load(&m->sum_us) / 1e6, m->name, *l ? "{" : "",
                            l, *l ? "}" : "", (unsigned long long)count);
        return e;
    }
    }
    return NB_OK;
}

nb_err nb_metrics_render(nb_buf *out)
{
    nb_err e = NB_OK;
    pthread_mutex_lock(&registry_lock);
    for (metric *m = registry_head; m && !e; m = m->next) {
        bool first = true; /* print HELP/TYPE before the first of each name */
        for (metric *p = registry_head; p != m; p = p->next)
            if (strcmp(p->name, m->name) == 0) first = false;
        if (!first) continue;
        e = nb_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
                        kind_word(m->kind));
        for (metric *p = m; p && !e; p = p->next)
            if (strcmp(p->name, m->name) == 0) e = render_one(out, p);
    }
    pthread_mutex_unlock(&registry_lock);
    return e;
}
