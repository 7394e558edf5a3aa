/* fuzz_rules — the one model of alert rules (libcommon rules.c:
 * nb_rules_parse and the canonical JSON), which the api and persistence
 * apply to subscription requests. The input is a JSON object whose "rules"
 * and "quiet_hours" are parsed. What is accepted is within its ranges, its
 * canonical JSON is accepted again and is a fixed point, and a digest never
 * falls in the quiet hours; every refusal says why, in UTF-8 (it becomes the
 * reason of a 400 answer). */
#include <jansson.h>

#include "fuzz.h"
#include "nimbus/rules.h"
#include "nimbus/text.h"

/* The canonical text of r: rules and quiet hours as one compact document. */
static char *canonical(const nb_rules *r)
{
    json_t *doc =
        json_pack("{s:o, s:o}", "rules", nb_rules_json(r), "quiet_hours", nb_quiet_json(r));
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(doc);
    if (!text) abort();
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(in)) {
        json_decref(in);
        return 0;
    }
    nb_rules r, again;
    char why[256] = "";
    if (nb_rules_parse(json_object_get(in, "rules"), json_object_get(in, "quiet_hours"), &r, why,
                       sizeof(why)) == NB_OK) {
        FZ_CHECK(r.n >= 1 && r.n <= NB_RULES_MAX);
        for (int i = 0; i < r.n; i++) {
            const nb_rule *x = &r.rule[i];
            char text[128];
            FZ_CHECK(x->kind >= 0 && x->kind < NB_RULE_KINDS);
            FZ_CHECK(x->hour >= 0 && x->hour <= 23 && x->hours >= 0 && x->hours <= 48);
            FZ_CHECK(x->cooldown_h >= 0 && x->cooldown_h <= 168);
            FZ_CHECK(x->value >= -80 && x->value <= 99);
            if (x->kind == NB_RULE_DAILY_DIGEST) FZ_CHECK(!nb_rules_quiet_at(&r, x->hour));
            nb_rule_describe(x, text, sizeof(text));
            FZ_CHECK(nb_utf8_valid(text, strlen(text)));
        }
        if (r.quiet)
            FZ_CHECK(r.quiet_start >= 0 && r.quiet_start <= 23 && r.quiet_end >= 0 &&
                     r.quiet_end <= 23 && r.quiet_start != r.quiet_end);
        char *first = canonical(&r);
        json_t *doc = json_loads(first, 0, NULL);
        FZ_CHECK(doc);
        if (nb_rules_parse(json_object_get(doc, "rules"), json_object_get(doc, "quiet_hours"),
                           &again, why, sizeof(why)) != NB_OK)
            FZ_FAIL("canonical rules refused (%s): %s", why, first);
        char *second = canonical(&again);
        if (strcmp(first, second) != 0) FZ_FAIL("not a fixed point:\n%s\n%s", first, second);
        free(first);
        free(second);
        json_decref(doc);
    } else {
        FZ_CHECK(why[0]);
        if (!nb_utf8_valid(why, strlen(why))) FZ_FAIL("reason is not UTF-8: %s", why);
    }
    json_decref(in);
    return 0;
}
