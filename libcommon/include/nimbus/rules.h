/* rules.h — the alert rules of an email subscription: their one model, their
 * validation (with a reason naming the field) and their canonical JSON.
 *
 * Wire form (proto/subscription-request.schema.json):
 *   "rules": [{"kind": "temperature_above", "value": 30, "cooldown_hours": 12},
 *             {"kind": "temperature_below", "value": -5},
 *             {"kind": "precipitation_probability_above", "value": 70, "hours": 12},
 *             {"kind": "condition_change"},
 *             {"kind": "daily_digest", "hour": 7}]
 *   "quiet_hours": {"start": 22, "end": 7}        (local hours; optional)
 * Temperatures are °C, probabilities %, hours local to the place. A missing
 * "rules" means NB_RULES_DEFAULT. Defaults are written out in the canonical
 * form, so a stored subscription keeps its meaning when a default changes.
 *
 * The api validates (400 with the reason), persistence stores the canonical
 * form, the notifier evaluates (services/notifier/rules_eval.c).
 * Pure functions, thread-safe. */
#ifndef NIMBUS_RULES_H
#define NIMBUS_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "nimbus/err.h"

#define NB_RULES_MAX 10

typedef enum nb_rule_kind {
    NB_RULE_TEMPERATURE_ABOVE,
    NB_RULE_TEMPERATURE_BELOW,
    NB_RULE_PRECIPITATION_ABOVE, /* precipitation_probability_above */
    NB_RULE_CONDITION_CHANGE,
    NB_RULE_DAILY_DIGEST,
    NB_RULE_KINDS
} nb_rule_kind;

typedef struct nb_rule {
    nb_rule_kind kind;
    double value;   /* threshold: °C, or % for precipitation */
    int hours;      /* precipitation: the window, 1..48 hours from now */
    int hour;       /* daily_digest: local hour 0..23 */
    int cooldown_h; /* hours before the same rule may alert again (0 for digests) */
} nb_rule;

typedef struct nb_rules {
    int n;
    nb_rule rule[NB_RULES_MAX];
    bool quiet;                 /* quiet hours set */
    int quiet_start, quiet_end; /* local hours: quiet from start:00 to end:00 (may wrap) */
} nb_rules;

/* The default of a subscription without "rules": one digest a day at 07:00
 * local time — it informs every day and can never be more than one mail. */
#define NB_RULES_DEFAULT "[{\"kind\":\"daily_digest\",\"hour\":7}]"

/* "temperature_above", ... */
const char *nb_rule_kind_name(nb_rule_kind k);

/* Validates rules (a JSON array, or NULL for the default) and quiet (an
 * object, or NULL/null for none) into out. NB_ERR_INVALID with a reason for
 * people in why (e.g. "rules[1].value: a number from 0 to 99 (percent)"). */
nb_err nb_rules_parse(const json_t *rules, const json_t *quiet, nb_rules *out, char *why,
                      size_t whylen);

/* The canonical JSON of the rules (array) and of the quiet hours (object, or
 * JSON null when none). New references; NULL on no memory. */
json_t *nb_rules_json(const nb_rules *r);
json_t *nb_quiet_json(const nb_rules *r);

/* True when quiet hours are set and local_hour (0..23) is inside them. */
bool nb_rules_quiet_at(const nb_rules *r, int local_hour);

/* One line describing a rule for people, e.g. "temperature above 30 °C"
 * (out >= 96 bytes). */
void nb_rule_describe(const nb_rule *r, char *out, size_t outlen);

#endif
