/* budget.h — the upstream budget: how many calls Open-Meteo allows per minute,
 * hour and day, spent by every api replica together.
 *
 * Each upstream call first takes its cost (openmeteo.h api_om_url_cost: a
 * forecast with many variables or days counts as more than one call) from a
 * token bucket per window that persistence keeps in Redis for every replica
 * (POST /v1/budget/take; the rules are libcommon's bucket.h). A refusal comes
 * with the time until every window holds enough again: the caller answers 503
 * with that Retry-After (or serves stale data).
 *
 * When persistence cannot answer the budget question (down, Redis down), this
 * replica spends from its own allowance instead: the same windows with
 * fallback_pct percent of each limit, so up to 100 / fallback_pct replicas cut
 * off together still stay within the upstream's limits. It says so in the log
 * (once per switch) and in /readyz, and goes back to the shared budget as soon
 * as persistence answers again. With alone (--coordinate=false) it never asks:
 * the whole limits are this api's own.
 *
 * Metrics: nimbus_budget_requests_total{result="granted|refused|local_granted|
 * local_refused"}.
 * Threads: every function may be called from any thread (one mutex for the
 * local allowance). */
#ifndef API_BUDGET_H
#define API_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

#include "nimbus/buf.h"
#include "store.h"

typedef struct budget_opts {
    bool alone; /* never ask persistence: this api's own buckets, whole limits */
    long per_min, per_hour, per_day; /* 0: no such window */
    long fallback_pct;               /* 1..100: this replica's share when persistence is away */
} budget_opts;

typedef struct budget budget;

/* st is borrowed and must outlive the budget. NULL on no memory. */
budget *api_budget_new(store *st, const budget_opts *o);
void api_budget_free(budget *b);

/* Takes cost. false when spent: *retry_after_s (>= 1) until enough is back,
 * and why (for the error body) says which window. */
bool api_budget_take(budget *b, double cost, int *retry_after_s, char *why, size_t whylen);
/* JSON fields (no braces) for /readyz: "budget":"shared|local|alone" (where
 * the last take was decided) and "budget_left":[tokens per window, as last seen]. */
void api_budget_status(budget *b, nb_buf *out);

#endif
