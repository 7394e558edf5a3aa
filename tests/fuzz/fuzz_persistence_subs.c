/* fuzz_persistence_subs — persistence's reading of its subscription and
 * mail routes (services/persistence/subs_request.c). The first byte's low 3
 * bits pick the route: 0 POST /v1/subscriptions, 1 a token route,
 * 2 /v1/evaluations, 3 /v1/mails/claim, 4 /v1/mails/sent, 5 /v1/mails/failed
 * (the rest of the input is the body), 6-7 GET /v1/places/{key}/subscriptions
 * (the rest: fields path tail, after, limit; see fz_fields). What is accepted
 * is within its bounds — addresses valid and their canonical form lowercase,
 * rules and quiet hours canonical (read again, the same text), ids UUIDs,
 * texts UTF-8 of bounded length; every refusal says why in UTF-8. */
#include <ctype.h>

#include "event.h"
#include "fuzz.h"
#include "nimbus/rules.h"
#include "nimbus/text.h"
#include "subs_request.h"

static void check_refusal(nb_err e, const char *why)
{
    FZ_CHECK(e == NB_ERR_INVALID || e == NB_ERR_NOT_FOUND || e == NB_ERR_NOMEM);
    FZ_CHECK(why[0]);
    if (!nb_utf8_valid(why, strlen(why))) FZ_FAIL("reason is not UTF-8: %s", why);
}

/* The rules and quiet hours stored are canonical: read again, the same text. */
static void check_canonical(const char *rules, const char *quiet)
{
    json_t *r = json_loads(rules, 0, NULL), *q = json_loads(quiet, JSON_DECODE_ANY, NULL);
    nb_rules parsed;
    char why[256];
    FZ_CHECK(r && q);
    if (nb_rules_parse(r, q, &parsed, why, sizeof(why)) != NB_OK)
        FZ_FAIL("stored rules refused (%s): %s %s", why, rules, quiet);
    json_t *r2 = nb_rules_json(&parsed), *q2 = nb_quiet_json(&parsed);
    char *a = json_dumps(r2, JSON_COMPACT), *b = json_dumps(q2, JSON_COMPACT | JSON_ENCODE_ANY);
    FZ_CHECK(a && b && strcmp(a, rules) == 0 && strcmp(b, quiet) == 0);
    free(a);
    free(b);
    json_decref(r);
    json_decref(q);
    json_decref(r2);
    json_decref(q2);
}

static void create(const char *body, size_t len)
{
    sr_create c;
    char why[300] = "";
    nb_err e = ps_sr_create_read(body, len, &c, why, sizeof(why));
    if (e) {
        check_refusal(e, why);
        return;
    }
    const subs_request *r = &c.req;
    FZ_CHECK(nb_email_valid(r->email, NULL) && nb_email_valid(r->email_canonical, NULL));
    for (const char *p = r->email_canonical; *p; p++)
        FZ_CHECK(!isupper((unsigned char)*p));
    FZ_CHECK(nb_location_key_valid(r->place_key, NULL, NULL));
    size_t n = strlen(r->place_name);
    FZ_CHECK(n >= 1 && n <= 150 && nb_utf8_valid(r->place_name, n));
    FZ_CHECK(strlen(r->timezone) <= 63 && strlen(r->client) <= 64);
    FZ_CHECK(r->cap_address >= 0 && r->cap_address <= SR_CAP_MAX);
    FZ_CHECK(r->cap_client >= 0 && r->cap_client <= SR_CAP_MAX);
    check_canonical(r->rules, r->quiet);
    ps_sr_create_release(&c);
}

static void body_route(int route, const char *body, size_t len)
{
    char why[300] = "";
    nb_err e;
    switch (route) {
    case 0:
        create(body, len);
        return;
    case 1: {
        char t[SR_TOKEN_MAX + 1];
        if ((e = ps_sr_token_read(body, len, t, why, sizeof(why))) == NB_OK)
            FZ_CHECK(strlen(t) >= 16 && strlen(t) <= SR_TOKEN_MAX);
        break;
    }
    case 2: {
        sr_evaluations ev;
        if ((e = ps_sr_evaluations_read(body, len, &ev, why, sizeof(why))) == NB_OK) {
            json_t *a = json_loads(ev.results, 0, NULL);
            FZ_CHECK(ps_event_uuid_valid(ev.event) && json_is_array(a));
            FZ_CHECK(ev.n >= 1 && ev.n <= SR_RESULTS_MAX && (size_t)ev.n == json_array_size(a));
            json_decref(a);
            ps_sr_evaluations_release(&ev);
        }
        break;
    }
    case 3: {
        sr_claim c;
        if ((e = ps_sr_claim_read(body, len, &c, why, sizeof(why))) == NB_OK)
            FZ_CHECK(c.owner[0] && c.limit >= 1 && c.limit <= SR_BATCH_MAX && c.lease_ms >= 1000 &&
                     c.lease_ms <= 3600000);
        break;
    }
    case 4: {
        sr_sent s;
        if ((e = ps_sr_sent_read(body, len, &s, why, sizeof(why))) == NB_OK) {
            FZ_CHECK(s.n >= 1 && s.n <= SR_BATCH_MAX);
            for (int i = 0; i < s.n; i++)
                FZ_CHECK(ps_event_uuid_valid(s.ids[i]));
            ps_sr_sent_release(&s);
        }
        break;
    }
    default: {
        sr_failed f;
        if ((e = ps_sr_failed_read(body, len, &f, why, sizeof(why))) == NB_OK) {
            FZ_CHECK(f.owner[0] && ps_event_uuid_valid(f.id));
            FZ_CHECK(f.retry_in_ms >= 0 && f.retry_in_ms <= 7L * 86400 * 1000);
            FZ_CHECK(strlen(f.error) <= SR_ERROR_MAX && nb_utf8_valid(f.error, strlen(f.error)));
        }
        break;
    }
    }
    if (e) check_refusal(e, why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    int route = data[0] & 7;
    if (route < 6) {
        char *body = fz_string(data + 1, size - 1); /* NUL bytes included: len says */
        body_route(route, body, size - 1);
        free(body);
        return 0;
    }
    const char *f[3];
    char *store = fz_fields(data + 1, size - 1, f, 3);
    sr_page p;
    char why[300] = "";
    nb_err e = ps_sr_page_read(f[0] ? f[0] : "", f[1], f[2], &p, why, sizeof(why));
    if (e == NB_OK) {
        FZ_CHECK(nb_location_key_valid(p.key, NULL, NULL));
        FZ_CHECK(!p.after[0] || ps_event_uuid_valid(p.after));
        FZ_CHECK(p.limit >= 1 && p.limit <= SR_PAGE_MAX);
    } else {
        check_refusal(e, why);
    }
    free(store);
    return 0;
}
