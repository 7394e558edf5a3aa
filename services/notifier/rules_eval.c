/* rules_eval.c — rule evaluation for one subscriber and one observation
 * (see rules_eval.h). */
#include "rules_eval.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nimbus/tz.h"

#define HOUR_MS (3600 * 1000LL)

const char *nt_sky(double code)
{
    if (isnan(code)) return "unknown";
    int c = (int)code;
    if (c <= 1) return "clear";
    if (c <= 3) return "cloudy";
    if (c == 45 || c == 48) return "fog";
    if ((c >= 51 && c <= 67) || (c >= 80 && c <= 82)) return "rain";
    if ((c >= 71 && c <= 77) || c == 85 || c == 86) return "snow";
    if (c >= 95 && c <= 99) return "thunderstorm";
    return "unknown";
}

/* "YYYY-MM-DDTHH:MM" of the instant ms shifted by offset_s. */
static void format_local(int64_t ms, int offset_s, char out[NT_LOCAL_LEN])
{
    time_t t = (time_t)(ms / 1000) + offset_s;
    struct tm tm;
    char buf[64];
    gmtime_r(&t, &tm);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min);
    snprintf(out, NT_LOCAL_LEN, "%.16s", buf);
}

void nt_local_time(const nb_record *rec, const nt_obs *obs, int64_t now_ms, char out[NT_LOCAL_LEN])
{
    if (rec) {
        format_local(now_ms, rec->utc_offset_seconds, out);
    } else {
        snprintf(out, NT_LOCAL_LEN, "%.16s", obs->time);
    }
}

static int local_hour(const char *local)
{
    return (local[11] - '0') * 10 + (local[12] - '0');
}

static bool cooled_down(const nt_rule_state *st, const nb_rule *r, int64_t at_ms)
{
    return st->fired_ms == 0 || at_ms - st->fired_ms >= (int64_t)r->cooldown_h * HOUR_MS;
}

/* The local wall clock of instant ms: the zone's own offset at that instant
 * (tzdata), or the record's offset at fetch time when the zone is unknown. */
static void local_of(const nb_record *rec, int64_t ms, char out[NT_LOCAL_LEN])
{
    int off = rec->utc_offset_seconds;
    if (!nb_tz_offset(rec->timezone, ms / 1000, &off)) off = rec->utc_offset_seconds;
    format_local(ms, off, out);
}

/* The highest hourly precipitation probability over the hours from now to
 * now + hours; the first hour that reaches it names the time. */
static bool precipitation_max_hourly(const nb_record *rec, int64_t now_ms, int hours, double *max,
                                     char day[11], char at[6])
{
    const nb_hourly *h = &rec->hourly;
    int i0 = nb_hourly_index(h, now_ms), i1 = nb_hourly_index(h, now_ms + hours * HOUR_MS - 1);
    if (i0 < 0) i0 = 0;
    if (i1 >= h->n) i1 = h->n - 1;
    int best = -1;
    for (int i = i0; i <= i1; i++) {
        if (isnan(h->precipitation_probability[i])) continue;
        if (best < 0 || h->precipitation_probability[i] > h->precipitation_probability[best])
            best = i;
    }
    if (best < 0) return false;
    *max = h->precipitation_probability[best];
    char local[NT_LOCAL_LEN];
    local_of(rec, h->start_ms + (int64_t)best * HOUR_MS, local);
    snprintf(day, 11, "%.10s", local);
    snprintf(at, 6, "%.5s", local + 11);
    return true;
}

/* Without hourly data (a record stored before nimbus kept it): the highest
 * daily probability over the local days the window touches. */
static bool precipitation_max(const nb_record *rec, int64_t now_ms, int hours, double *max,
                              char day[11], char at[6])
{
    if (!rec) return false;
    at[0] = '\0';
    if (rec->hourly.n > 0 && nb_hourly_index(&rec->hourly, now_ms) < rec->hourly.n)
        return precipitation_max_hourly(rec, now_ms, hours, max, day, at);
    char first[NT_LOCAL_LEN], last[NT_LOCAL_LEN];
    format_local(now_ms, rec->utc_offset_seconds, first);
    format_local(now_ms + hours * HOUR_MS, rec->utc_offset_seconds, last);
    bool found = false;
    for (int i = 0; i < rec->ndays; i++) {
        const nb_day *d = &rec->daily[i];
        if (strncmp(d->date, first, 10) < 0 || strncmp(d->date, last, 10) > 0) continue;
        if (isnan(d->precipitation_probability_max)) continue;
        if (!found || d->precipitation_probability_max > *max) {
            *max = d->precipitation_probability_max;
            snprintf(day, 11, "%s", d->date);
            found = true;
        }
    }
    return found;
}

nt_verdict nt_evaluate(const nt_eval_in *in, nt_state *state, nt_match out[NB_RULES_MAX],
                       int *nmatch, bool *quiet)
{
    const nt_obs *obs = in->obs;
    *nmatch = 0;
    *quiet = false;
    if (obs->fetched_at_ms <= state->seen_ms) return NT_SKIP_SEEN;
    if (obs->fetched_at_ms < in->confirmed_ms) return NT_SKIP_BEFORE;
    state->seen_ms = obs->fetched_at_ms;

    char local[NT_LOCAL_LEN];
    nt_local_time(in->rec, obs, in->now_ms, local);
    bool silent = nb_rules_quiet_at(in->rules, local_hour(local));
    const char *sky = nt_sky(obs->weather_code);

    for (int i = 0; i < in->rules->n; i++) {
        const nb_rule *r = &in->rules->rule[i];
        nt_rule_state *st = &state->rule[i];
        nt_match m = {.rule = i, .kind = r->kind, .value = NAN};
        bool hit = false;
        switch (r->kind) {
        case NB_RULE_TEMPERATURE_ABOVE:
            hit = !isnan(obs->temperature) && obs->temperature > r->value;
            m.value = obs->temperature;
            break;
        case NB_RULE_TEMPERATURE_BELOW:
            hit = !isnan(obs->temperature) && obs->temperature < r->value;
            m.value = obs->temperature;
            break;
        case NB_RULE_PRECIPITATION_ABOVE: {
            double max = NAN;
            hit = precipitation_max(in->rec, in->now_ms, r->hours, &max, m.day, m.at) &&
                  max > r->value;
            m.value = max;
            break;
        }
        case NB_RULE_CONDITION_CHANGE:
            if (strcmp(sky, "unknown") == 0) break; /* no news in a missing code */
            hit = st->last[0] && strcmp(st->last, sky) != 0;
            snprintf(m.from, sizeof(m.from), "%s", st->last);
            snprintf(m.to, sizeof(m.to), "%s", sky);
            /* The sky is tracked whatever happens next: after a cooldown or
             * the quiet hours, only a change from what was last seen is news. */
            snprintf(st->last, sizeof(st->last), "%s", sky);
            break;
        case NB_RULE_DAILY_DIGEST:
            hit = local_hour(local) >= r->hour && strncmp(st->last, local, 10) != 0;
            break;
        default:
            break;
        }
        if (!hit) continue;
        if (r->kind != NB_RULE_DAILY_DIGEST && !cooled_down(st, r, obs->fetched_at_ms)) continue;
        if (silent) {
            *quiet = true;
            continue;
        }
        if (r->kind == NB_RULE_DAILY_DIGEST)
            snprintf(st->last, sizeof(st->last), "%.10s", local);
        else
            st->fired_ms = obs->fetched_at_ms;
        out[(*nmatch)++] = m;
    }
    return NT_EVALUATED;
}

void nt_state_from_json(const json_t *j, nt_state *out)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(j)) return;
    json_t *seen = json_object_get(j, "seen_ms");
    if (json_is_integer(seen)) out->seen_ms = json_integer_value(seen);
    json_t *rules = json_object_get(j, "rules");
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        if (i >= NB_RULES_MAX) break;
        json_t *f = json_object_get(r, "fired_ms");
        if (json_is_integer(f)) out->rule[i].fired_ms = json_integer_value(f);
        const char *last = json_string_value(json_object_get(r, "last"));
        if (last) snprintf(out->rule[i].last, sizeof(out->rule[i].last), "%s", last);
    }
}

json_t *nt_state_json(const nt_state *s, int nrules)
{
    json_t *rules = json_array();
    for (int i = 0; rules && i < nrules && i < NB_RULES_MAX; i++)
        json_array_append_new(rules,
                              json_pack("{s:I, s:s}", "fired_ms", (json_int_t)s->rule[i].fired_ms,
                                        "last", s->rule[i].last));
    return json_pack("{s:I, s:o}", "seen_ms", (json_int_t)s->seen_ms, "rules",
                     rules ? rules : json_array());
}
