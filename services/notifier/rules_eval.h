/* rules_eval.h — deciding whether a new observation alerts a subscriber.
 *
 * Pure: (rules, the subscriber's rule state, the event's observation, the
 * stored record, the clock) → the rules that matched and the new state. The
 * state is what makes alerts sparse and replays harmless:
 *   seen_ms      fetched_at of the newest observation evaluated; an event no
 *                newer than it (a replay, a duplicate, a late relay) is skipped
 *   fired_ms[i]  fetched_at of the observation that last alerted rule i: the
 *                rule stays silent until cooldown_hours have passed since
 *   last[i]      condition_change: the last sky seen; daily_digest: the local
 *                date of the last digest
 * Thresholds compare the observed temperature (strictly above / below).
 * precipitation_probability_above looks at the record's forecast over the
 * next `hours`: the record holds daily maxima only, so the window is every
 * local day it touches (from now to now + hours), and the mail names the day
 * of the maximum. condition_change compares coarse skies (clear, cloudy, fog, rain,
 * snow, thunderstorm), so clear → mainly clear is no news. daily_digest fires
 * on the first observation at or after its local hour on a day without one.
 * Quiet hours (local to the place, at the time of deciding) silence every
 * rule without starting a cooldown; the sky is still tracked.
 * Local time is now + the record's UTC offset, or the observation's own local
 * time when there is no record. Thread-safe. */
#ifndef NOTIFIER_RULES_EVAL_H
#define NOTIFIER_RULES_EVAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "nimbus/err.h"
#include "nimbus/record.h"
#include "nimbus/rules.h"

/* "YYYY-MM-DDTHH:MM" and its NUL, with room to spare. */
#define NT_LOCAL_LEN 20

typedef struct nt_rule_state {
    int64_t fired_ms; /* 0: never */
    char last[16];    /* "" : nothing yet */
} nt_rule_state;

typedef struct nt_state {
    int64_t seen_ms;
    nt_rule_state rule[NB_RULES_MAX];
} nt_state;

/* The new observation, as the event carries it. */
typedef struct nt_obs {
    int64_t fetched_at_ms;
    char time[20]; /* local "YYYY-MM-DDTHH:MM" */
    double temperature, apparent_temperature, relative_humidity, wind_speed, weather_code;
    char condition[64];
} nt_obs;

typedef struct nt_match {
    int rule; /* index into the rules */
    nb_rule_kind kind;
    double value;          /* observed temperature, or the forecast probability */
    char day[11];          /* precipitation: local date of the maximum */
    char at[6];            /* precipitation: local "HH:MM" of its first hour ("" from daily data) */
    char from[16], to[16]; /* condition_change: skies */
} nt_match;

typedef enum nt_verdict {
    NT_EVALUATED,   /* rules were evaluated (matches may be 0) */
    NT_SKIP_SEEN,   /* not newer than the last observation evaluated */
    NT_SKIP_BEFORE, /* fetched before the subscription was confirmed */
} nt_verdict;

typedef struct nt_eval_in {
    const nb_rules *rules;
    const nt_obs *obs;
    const nb_record *rec; /* the stored record (forecast, UTC offset), or NULL */
    int64_t confirmed_ms; /* observations fetched before are not news to this subscriber */
    int64_t now_ms;       /* wall clock, for local time (quiet hours, digests) */
} nt_eval_in;

/* Evaluates in against *state and updates it. out receives up to
 * NB_RULES_MAX matches (*nmatch); *quiet tells that quiet hours held
 * matches back. */
nt_verdict nt_evaluate(const nt_eval_in *in, nt_state *state, nt_match out[NB_RULES_MAX],
                       int *nmatch, bool *quiet);

/* The coarse sky of a WMO code: "clear", "cloudy", "fog", "rain", "snow",
 * "thunderstorm", or "unknown". */
const char *nt_sky(double weather_code);

/* The local time of the place at now_ms: "YYYY-MM-DDTHH:MM",
 * from the record's UTC offset, or obs->time without a record. */
void nt_local_time(const nb_record *rec, const nt_obs *obs, int64_t now_ms, char out[NT_LOCAL_LEN]);

/* State <-> JSON {"seen_ms": n, "rules": [{"fired_ms": n, "last": "..."}]}.
 * A missing or malformed state reads as empty (nothing seen yet). */
void nt_state_from_json(const json_t *j, nt_state *out);
json_t *nt_state_json(const nt_state *s, int nrules);

#endif
