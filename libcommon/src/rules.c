/* rules.c — subscription alert rules: validation and canonical JSON (see rules.h). */
#include "nimbus/rules.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nimbus/text.h"

static const char *const kind_names[NB_RULE_KINDS] = {"temperature_above", "temperature_below",
                                                      "precipitation_probability_above",
                                                      "condition_change", "daily_digest"};

/* Hours before the same rule may alert again, when the request does not say. */
static const int default_cooldown_h[NB_RULE_KINDS] = {12, 12, 12, 3, 0};

#define TEMP_MIN -80
#define TEMP_MAX 60
#define WINDOW_DEFAULT_H 12
#define WINDOW_MAX_H 48
#define COOLDOWN_MAX_H 168

const char *nb_rule_kind_name(nb_rule_kind k)
{
    return k >= 0 && k < NB_RULE_KINDS ? kind_names[k] : "unknown";
}

static nb_err bad(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static nb_err bad(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why && whylen) vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return NB_ERR_INVALID;
}

/* A number within [lo, hi]; whole when `whole`. */
static bool number_in(const json_t *v, double lo, double hi, bool whole, double *out)
{
    if (!json_is_number(v)) return false;
    double d = json_number_value(v);
    if (!isfinite(d) || d < lo || d > hi) return false;
    if (whole && d != floor(d)) return false;
    *out = d;
    return true;
}

static nb_err parse_rule(const json_t *o, int i, nb_rule *r, char *why, size_t whylen)
{
    if (!json_is_object(o))
        return bad(why, whylen, "rules[%d]: an object like {\"kind\": \"condition_change\"}", i);
    const char *kind = json_string_value(json_object_get(o, "kind"));
    if (!kind) return bad(why, whylen, "rules[%d].kind: missing (a string)", i);
    int k;
    for (k = 0; k < NB_RULE_KINDS; k++)
        if (strcmp(kind, kind_names[k]) == 0) break;
    if (k == NB_RULE_KINDS)
        return bad(why, whylen,
                   "rules[%d].kind: unknown kind '%.*s' (temperature_above, temperature_below, "
                   "precipitation_probability_above, condition_change or daily_digest)",
                   i, (int)nb_utf8_prefix(kind, 40), kind);
    *r = (nb_rule){.kind = (nb_rule_kind)k, .cooldown_h = default_cooldown_h[k]};

    const char *key;
    const json_t *v;
    bool has_value = false;
    json_object_foreach((json_t *)o, key, v)
    {
        double d;
        if (strcmp(key, "kind") == 0) continue;
        if (strcmp(key, "value") == 0 &&
            (k == NB_RULE_TEMPERATURE_ABOVE || k == NB_RULE_TEMPERATURE_BELOW)) {
            if (!number_in(v, TEMP_MIN, TEMP_MAX, false, &d))
                return bad(why, whylen, "rules[%d].value: a number from %d to %d (°C)", i, TEMP_MIN,
                           TEMP_MAX);
            r->value = d;
            has_value = true;
        } else if (strcmp(key, "value") == 0 && k == NB_RULE_PRECIPITATION_ABOVE) {
            if (!number_in(v, 0, 99, false, &d))
                return bad(why, whylen, "rules[%d].value: a number from 0 to 99 (percent)", i);
            r->value = d;
            has_value = true;
        } else if (strcmp(key, "hours") == 0 && k == NB_RULE_PRECIPITATION_ABOVE) {
            if (!number_in(v, 1, WINDOW_MAX_H, true, &d))
                return bad(why, whylen, "rules[%d].hours: a whole number from 1 to %d", i,
                           WINDOW_MAX_H);
            r->hours = (int)d;
        } else if (strcmp(key, "hour") == 0 && k == NB_RULE_DAILY_DIGEST) {
            if (!number_in(v, 0, 23, true, &d))
                return bad(why, whylen, "rules[%d].hour: a whole number from 0 to 23 (local time)",
                           i);
            r->hour = (int)d;
            has_value = true;
        } else if (strcmp(key, "cooldown_hours") == 0 && k != NB_RULE_DAILY_DIGEST) {
            if (!number_in(v, 1, COOLDOWN_MAX_H, true, &d))
                return bad(why, whylen, "rules[%d].cooldown_hours: a whole number from 1 to %d", i,
                           COOLDOWN_MAX_H);
            r->cooldown_h = (int)d;
        } else {
            return bad(why, whylen, "rules[%d]: %s takes no field '%.*s'", i, kind,
                       (int)nb_utf8_prefix(key, 40), key);
        }
    }
    if (!has_value && k != NB_RULE_CONDITION_CHANGE)
        return bad(why, whylen, "rules[%d]: %s needs %s", i, kind,
                   k == NB_RULE_DAILY_DIGEST ? "\"hour\" (local hour, 0 to 23)" : "\"value\"");
    if (k == NB_RULE_PRECIPITATION_ABOVE && r->hours == 0) r->hours = WINDOW_DEFAULT_H;
    return NB_OK;
}

static nb_err parse_quiet(const json_t *q, nb_rules *out, char *why, size_t whylen)
{
    if (!q || json_is_null(q)) return NB_OK;
    if (!json_is_object(q))
        return bad(why, whylen, "quiet_hours: an object like {\"start\": 22, \"end\": 7}");
    double s, e;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)q, key, v)
    {
        if (strcmp(key, "start") != 0 && strcmp(key, "end") != 0)
            return bad(why, whylen, "quiet_hours: no field '%.*s' (start and end)",
                       (int)nb_utf8_prefix(key, 40), key);
    }
    if (!number_in(json_object_get(q, "start"), 0, 23, true, &s))
        return bad(why, whylen, "quiet_hours.start: a whole number from 0 to 23 (local hour)");
    if (!number_in(json_object_get(q, "end"), 0, 23, true, &e))
        return bad(why, whylen, "quiet_hours.end: a whole number from 0 to 23 (local hour)");
    if (s == e) return bad(why, whylen, "quiet_hours: start and end must differ");
    out->quiet = true;
    out->quiet_start = (int)s;
    out->quiet_end = (int)e;
    return NB_OK;
}

nb_err nb_rules_parse(const json_t *rules, const json_t *quiet, nb_rules *out, char *why,
                      size_t whylen)
{
    json_t *dflt = NULL;
    nb_err rc = NB_OK;
    memset(out, 0, sizeof(*out));
    if (!rules || json_is_null(rules)) rules = dflt = json_loads(NB_RULES_DEFAULT, 0, NULL);
    if (!rules) return NB_ERR_NOMEM;
    if (!json_is_array(rules)) {
        rc = bad(why, whylen, "rules: an array of rule objects");
        goto out;
    }
    size_t n = json_array_size(rules);
    if (n == 0 || n > NB_RULES_MAX) {
        rc = bad(why, whylen, "rules: from 1 to %d rules (leave it out for the default)",
                 NB_RULES_MAX);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = parse_rule(json_array_get(rules, i), (int)i, &out->rule[i], why, whylen)))
            goto out;
    out->n = (int)n;
    if ((rc = parse_quiet(quiet, out, why, whylen))) goto out;
    for (int i = 0; i < out->n; i++)
        if (out->rule[i].kind == NB_RULE_DAILY_DIGEST &&
            nb_rules_quiet_at(out, out->rule[i].hour)) {
            rc = bad(why, whylen, "rules[%d].hour: %02d:00 is inside the quiet hours", i,
                     out->rule[i].hour);
            goto out;
        }
out:
    json_decref(dflt);
    return rc;
}

json_t *nb_rules_json(const nb_rules *r)
{
    json_t *a = json_array();
    for (int i = 0; a && i < r->n; i++) {
        const nb_rule *x = &r->rule[i];
        json_t *o = json_pack("{s:s}", "kind", kind_names[x->kind]);
        switch (x->kind) {
        case NB_RULE_TEMPERATURE_ABOVE:
        case NB_RULE_TEMPERATURE_BELOW:
            json_object_set_new(o, "value", json_real(x->value));
            break;
        case NB_RULE_PRECIPITATION_ABOVE:
            json_object_set_new(o, "value", json_real(x->value));
            json_object_set_new(o, "hours", json_integer(x->hours));
            break;
        case NB_RULE_DAILY_DIGEST:
            json_object_set_new(o, "hour", json_integer(x->hour));
            break;
        default:
            break;
        }
        if (x->cooldown_h > 0)
            json_object_set_new(o, "cooldown_hours", json_integer(x->cooldown_h));
        if (!o || json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *nb_quiet_json(const nb_rules *r)
{
    if (!r->quiet) return json_null();
    return json_pack("{s:i, s:i}", "start", r->quiet_start, "end", r->quiet_end);
}

bool nb_rules_quiet_at(const nb_rules *r, int local_hour)
{
    if (!r->quiet) return false;
    if (r->quiet_start < r->quiet_end)
        return local_hour >= r->quiet_start && local_hour < r->quiet_end;
    return local_hour >= r->quiet_start || local_hour < r->quiet_end; /* wraps midnight */
}

void nb_rule_describe(const nb_rule *r, char *out, size_t outlen)
{
    switch (r->kind) {
    case NB_RULE_TEMPERATURE_ABOVE:
        snprintf(out, outlen, "temperature above %g °C", r->value);
        break;
    case NB_RULE_TEMPERATURE_BELOW:
        snprintf(out, outlen, "temperature below %g °C", r->value);
        break;
    case NB_RULE_PRECIPITATION_ABOVE:
        snprintf(out, outlen, "chance of precipitation above %g %% within %d hours", r->value,
                 r->hours);
        break;
    case NB_RULE_CONDITION_CHANGE:
        snprintf(out, outlen, "the sky changes (clear, cloudy, rain, snow, ...)");
        break;
    case NB_RULE_DAILY_DIGEST:
        snprintf(out, outlen, "a daily summary at %02d:00 local time", r->hour);
        break;
    default:
        snprintf(out, outlen, "unknown rule");
    }
}
