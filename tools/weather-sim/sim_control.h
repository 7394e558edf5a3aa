/* sim_control.h — the simulator's test controls: counters, latency, failures,
 * faults and the clock shift, plus the stop flag that interrupts every wait.
 *
 * One ws_ctl is shared by all connection threads; every field is guarded by
 * its mutex and only touched through these functions. Rules queue up: each
 * /_sim/fail or /_sim/fault call appends one rule that applies to the next N
 * matching answers (first matching rule first). Thread-safe. */
#ifndef WS_CONTROL_H
#define WS_CONTROL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum ws_endpoint { WS_EP_FORECAST = 1, WS_EP_SEARCH = 2, WS_EP_ANY = 3 } ws_endpoint;

typedef enum ws_action_kind {
    WS_ACT_NONE = 0,
    WS_ACT_FAIL,       /* status + real-looking error body */
    WS_ACT_MALFORMED,  /* 200, invalid JSON */
    WS_ACT_TRUNCATED,  /* 200, Content-Length promises more, then close */
    WS_ACT_OVERSIZED,  /* 200, valid but huge body, streamed */
    WS_ACT_HANG,       /* never answers */
    WS_ACT_DRIP,       /* 200, one byte per interval */
    WS_ACT_INVALID_TZ, /* 400 Invalid timezone unless timezone=GMT */
    WS_ACT_EMPTY,      /* 200, empty body */
} ws_action_kind;

typedef struct ws_action {
    ws_action_kind kind;
    int status;       /* WS_ACT_FAIL */
    char reason[256]; /* WS_ACT_FAIL: 429 variant or 400 reason ("" = default) */
} ws_action;

enum { WS_MAX_RULES = 32 };

typedef struct ws_rule {
    ws_action action;
    ws_endpoint endpoint;
    long remaining;
} ws_rule;

typedef struct ws_ctl {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* broadcast on stop */
    bool stopping;
    long forecast_count, search_count;
    long latency_ms[2]; /* [0] forecast, [1] search */
    int64_t shift_s;
    ws_rule rules[WS_MAX_RULES];
    int nrules;
} ws_ctl;

void ws_ctl_init(ws_ctl *c);
void ws_ctl_destroy(ws_ctl *c);

/* Clears rules, latency, counters and the clock shift. */
void ws_ctl_reset(ws_ctl *c);
/* Counts a request on arrival. */
void ws_ctl_arrive(ws_ctl *c, ws_endpoint ep);
void ws_ctl_counters(ws_ctl *c, long *forecast, long *search);
/* Sets the added latency for ep (WS_EP_ANY: both). */
void ws_ctl_set_latency(ws_ctl *c, ws_endpoint ep, long ms);
long ws_ctl_latency(ws_ctl *c, ws_endpoint ep);
/* Appends a rule; false when the rule table is full. */
bool ws_ctl_add_rule(ws_ctl *c, const ws_action *a, ws_endpoint ep, long count);
/* Takes the action for the next answer on ep (WS_ACT_NONE if no rule
 * applies). tz_is_gmt: the request asked for GMT, which invalid_timezone
 * rules skip without being used up. */
void ws_ctl_take(ws_ctl *c, ws_endpoint ep, bool tz_is_gmt, ws_action *out);
/* Absolute clock shift in seconds; simulated now = wall clock + shift. */
void ws_ctl_set_shift(ws_ctl *c, int64_t shift_s);
int64_t ws_ctl_now_s(ws_ctl *c);

/* Sleeps up to ms milliseconds; returns false early when the sim stops. */
bool ws_ctl_sleep(ws_ctl *c, long ms);
bool ws_ctl_stopping(ws_ctl *c);
/* Sets the stop flag and wakes every sleeper (SIGTERM path). */
void ws_ctl_stop(ws_ctl *c);

/* Parsers for control parameters: false if the text is not recognised. */
bool ws_ctl_parse_endpoint(const char *s, ws_endpoint *ep);
bool ws_ctl_parse_kind(const char *s, ws_action_kind *k);
const char *ws_ctl_kind_name(ws_action_kind k);

#endif
