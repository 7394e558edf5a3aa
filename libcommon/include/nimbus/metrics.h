/* metrics.h — Prometheus text-format metrics.
 *
 * Counters, gauges and histograms are registered (usually at start-up,
 * before the server starts) and updated lock-free with atomics from any
 * thread. nb_metrics_render() writes the exposition format. Registration and
 * rendering take the registry's lock, so both are thread-safe; registering a
 * name and labels that exist returns the same metric. Metric objects live
 * until exit. */
#ifndef NIMBUS_METRICS_H
#define NIMBUS_METRICS_H

#include <stdint.h>

#include "nimbus/buf.h"

typedef struct nb_counter nb_counter;
typedef struct nb_gauge nb_gauge;
typedef struct nb_histogram nb_histogram;

/* name: e.g. "nimbus_store_hits_total"; labels: pre-rendered label pairs
 * without braces, e.g. "store=\"cache\"" or NULL. help: one line.
 * Registering the same name+labels twice returns the first object. */
nb_counter *nb_counter_new(const char *name, const char *labels, const char *help);
void nb_counter_add(nb_counter *c, uint64_t n);
static inline void nb_counter_inc(nb_counter *c)
{
    nb_counter_add(c, 1);
}
uint64_t nb_counter_get(const nb_counter *c);

nb_gauge *nb_gauge_new(const char *name, const char *labels, const char *help);
void nb_gauge_set(nb_gauge *g, int64_t v);
/* A gauge whose value is read from fn(arg) at render time. */
nb_gauge *nb_gauge_fn_new(const char *name, const char *labels, const char *help,
                          int64_t (*fn)(void *arg), void *arg);

/* Latency histogram in seconds with fixed buckets from 0.0005 s to 10 s. */
nb_histogram *nb_histogram_new(const char *name, const char *labels, const char *help);
void nb_histogram_observe(nb_histogram *h, double seconds);

nb_err nb_metrics_render(nb_buf *out);

#endif
