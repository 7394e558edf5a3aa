/* test_cache.c — front's cache of the api's answers (cache.h) against an
 * in-memory api and a clock the tests move: what is kept and for how long,
 * background revalidation (one at a time, conditional, 304 / 200 / 4xx /
 * 5xx), end-to-end revalidation, error answers, renderings per variant and
 * ETag, the memory bound, and the JSON and headers as of answer time. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache.h"
#include "nimbus/clock.h"
#include "tpl.h"

#define T0 1795478400000LL /* 2026-11-24T00:00:00Z */
#define TARGET "/v1/weather?city=Berlin"

/* --- an api in memory ---------------------------------------------------- */

typedef struct api_double {
    int calls;
    char target[256], inm[160];
    bool no_cache;
    /* the next answer */
    nb_err err;
    long status;
    char body[2048];
    char etag[64], cache_control[160], age[16];
} api_double;

static int64_t now_ms;
static api_double api;

static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return now_ms;
}

static nb_err fake_fetch(void *ctx, const char *target, const char *if_none_match, bool no_cache,
                         const atomic_bool *cancel, fr_api_resp *resp)
{
    api_double *a = ctx;
    (void)cancel;
    a->calls++;
    snprintf(a->target, sizeof(a->target), "%s", target);
    snprintf(a->inm, sizeof(a->inm), "%s", if_none_match ? if_none_match : "");
    a->no_cache = no_cache;
    memset(resp, 0, sizeof(*resp));
    nb_buf_init(&resp->body, 1 << 20);
    if (a->err != NB_OK) {
        snprintf(resp->errmsg, sizeof(resp->errmsg), "refused");
        return a->err;
    }
    resp->status = a->status;
    bool not_modified = a->status == 200 && if_none_match && strcmp(if_none_match, a->etag) == 0;
    if (not_modified) resp->status = 304;
    if (resp->status != 304) nb_buf_adds(&resp->body, a->body);
    snprintf(resp->content_type, sizeof(resp->content_type), "application/json; charset=utf-8");
    snprintf(resp->etag, sizeof(resp->etag), "%s", a->status < 300 ? a->etag : "");
    snprintf(resp->cache_control, sizeof(resp->cache_control), "%s", a->cache_control);
    snprintf(resp->age, sizeof(resp->age), "%s", a->age);
    snprintf(resp->cache_status, sizeof(resp->cache_status), "nimbus; hit");
    snprintf(resp->x_cache, sizeof(resp->x_cache), "HIT");
    snprintf(resp->x_source, sizeof(resp->x_source), "cache");
    return NB_OK;
}

/* The api's next answer: a weather document fetched at fetched_s after T0
 * with temperature t, hours from first_hour (local "YYYY-MM-DDTHH:MM", NULL:
 * none), max-age and stale-while-revalidate as given. */
static void answer_weather_hours(long fetched_s, double t, long max_age, long swr,
                                 const char *first_hour)
{
    char fetched[32];
    nb_time_rfc3339(T0 + fetched_s * 1000, fetched, sizeof(fetched));
    api.err = NB_OK;
    api.status = 200;
    snprintf(api.body, sizeof(api.body),
             "{\"location\":{\"key\":\"52.52,13.41\",\"name\":\"Berlin\",\"utc_offset_seconds\":"
             "3600},\"current\":{\"temperature\":%.1f},\"hourly\":[%s%s%s],\"daily\":[],"
             "\"fetched_at\":\"%s\",\"freshness\":{\"state\":\"%s\",\"age_s\":0,"
             "\"fresh_ttl_s\":600,\"source\":\"cache\"}}",
             t, first_hour ? "{\"time\":\"" : "", first_hour ? first_hour : "",
             first_hour ? "\"}" : "", fetched, max_age > 0 ? "fresh" : "stale");
    snprintf(api.etag, sizeof(api.etag), "W/\"%ld-%.1f\"", fetched_s, t);
    snprintf(api.cache_control, sizeof(api.cache_control),
             "public, max-age=%ld, stale-while-revalidate=%ld", max_age, swr);
    snprintf(api.age, sizeof(api.age), "0");
}

static void answer_weather(long fetched_s, double t, long max_age, long swr)
{
    answer_weather_hours(fetched_s, t, max_age, swr, NULL);
}

static void answer_error(long status)
{
    api.err = NB_OK;
    api.status = status;
    snprintf(api.body, sizeof(api.body), "{\"error\":\"not_found\",\"reason\":\"no such place\"}");
    api.cache_control[0] = api.etag[0] = '\0';
}

static fr_cache *cache_with(size_t max_bytes)
{
    memset(&api, 0, sizeof(api));
    now_ms = T0;
    fr_cache *c = fr_cache_new(&(fr_cache_opts){.max_bytes = max_bytes,
                                                .revalidators = 0,
                                                .queue_cap = 64,
                                                .renderings_max = 4,
                                                .fetch = fake_fetch,
                                                .fetch_ctx = &api,
                                                .clock = fake_clock});
    assert_non_null(c);
    return c;
}

/* A miss, then the api asked once: the answer kept. */
static void prime(fr_cache *c, const char *target)
{
    fr_hit hit;
    fr_api_resp resp;
    fr_cache_lookup(c, target, NULL, &hit);
    assert_int_equal(hit.state, FR_MISS);
    assert_int_equal(fr_cache_fetch(c, target, NULL, FR_FETCH_PLAIN, &hit, &resp), NB_OK);
    assert_non_null(hit.copy);
    assert_true(hit.stored);
    fr_api_resp_release(&resp);
    fr_hit_release(&hit);
}

static double temperature(const fr_hit *hit)
{
    return json_real_value(
        json_object_get(json_object_get(hit->copy->doc, "current"), "temperature"));
}

static fr_tpl *tpl_of(const char *text)
{
    return fr_tpl_new(strdup(text), strlen(text), NULL, 0, 3600, T0, now_ms);
}

/* --- freshness ------------------------------------------------------------ */

static void test_fresh_copy_is_answered_without_the_api(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20);
    answer_weather(0, 4.4, 600, 60);
    prime(c, TARGET);
    assert_int_equal(api.calls, 1);
    assert_string_equal(api.inm, ""); /* nothing kept: an unconditional GET */
    assert_false(api.no_cache);
    for (int i = 0; i < 100; i++) {
        fr_hit hit;
        now_ms = T0 + i * 5990; /* up to 593 s of 600 */
        fr_cache_lookup(c, TARGET, NULL, &hit);
        assert_int_equal(hit.state, FR_FRESH);
        assert_false(hit.revalidating);
        assert_true(temperature(&hit) == 4.4);
        assert_int_equal(fr_hit_fresh_left_s(&hit), 600 - (now_ms - T0) / 1000);
        fr_hit_release(&hit);
    }
    assert_int_equal(api.calls, 1);
    assert_false(fr_cache_revalidate_next(c, 0));
    fr_cache_free(c);
}

static void test_stale_copy_is_revalidated_once_in_the_background(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20);
    answer_weather(0, 4.4, 600, 60);
    prime(c, TARGET);
    now_ms = T0 + 600 * 1000; /* max-age reached: stale, within stale-while-revalidate */
    for (int i = 0; i < 50; i++) {
        fr_hit hit;
        fr_cache_lookup(c, TARGET, NULL, &hit);
        assert_int_equal(hit.state, FR_STALE);
        assert_non_null(hit.copy); /* answered at once, stale */
        assert_true(hit.revalidating);
        fr_hit_release(&hit);
    }
    assert_int_equal(api.calls, 1); /* nothing asked on the request path */
    assert_true(fr_cache_revalidate_next(c, 0));
    assert_false(fr_cache_revalidate_next(c, 0)); /* one revalidation for 50 lookups */
    assert_int_equal(api.calls, 2);
    assert_string_equal(api.inm, api.etag); /* conditional, not a client's no-cache */
    assert_false(api.no_cache);
    /* The api had nothing newer: 304, the copy fresh again for its new max-age. */
    fr_hit hit;
    fr_cache_lookup(c, TARGET, NULL, &hit);
    assert_int_equal(hit.state, FR_FRESH);
    assert_false(hit.revalidating);
    assert_int_equal(hit.meta.status, 304);
    fr_hit_release(&hit);
    fr_cache_free(c);
}

static void test_a_changed_record_replaces_the_copy(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20);
    answer_weather(0, 4.4, 0, 10); /* stale at once, as the api answers a stale record */
    prime(c, TARGET);
    assert_true(fr_cache_revalidate_next(c, 0)); /* the stale answer started one */
    /* ...which found the renewal not done (304), then the renewed record. */
    answer_weather(30, 7.5, 600, 60);
    now_ms = T0 + 2000; /* past the quiet second after a revalidation that found nothing */
    fr_hit hit;
    fr_cache_lookup(c, TARGET, NULL, &hit);
    assert_int_equal(hit.state, FR_STALE);
    assert_true(temperature(&hit) == 4.4);
    fr_hit_release(&hit);
    assert_true(fr_cache_revalidate_next(c, 0));
    assert_int_equal(api.calls, 3);
    fr_cache_lookup(c, TARGET, NULL, &hit);
    assert_int_equal(hit.state, FR_FRESH);
    assert_true(temperature(&hit) == 7.5);
    assert_string_equal(hit.copy->etag, api.etag);
    fr_hit_release(&hit);
    fr_cache_free(c);
}

static void test_a_copy_is_fresh_until_its_first_hour_is_over(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20);
    fr_hit hit = {0};
    /* Made at 00:50 UTC, its hours from 01:00 local (UTC+1) = 00:00 UTC:
     * at 01:00 UTC the api's document starts an hour later. */
    answer_weather_hours(50 * 60, 4.4, 600, 60, "2026-11-24T01:00");
    now_ms = T0 + 50 * 60 * 1000;
    fr_api_resp resp;
    fr_cache_fetch(c, TARGET, NULL, FR_FETCH_PLAIN, &hit, &resp);
    assert_int_equal(hit.copy->hour_end_ms, T0 + 3600 * 1000);
    assert_int_equal(fr_hit_fresh_left_s(&hit), 600);
    fr_api_resp_release(&resp);
    fr_hit_release(&hit);
    now_ms = T0 + 3600 * 1000 - 1;
    fr_cache_lookup(c, TARGET, NULL, &hit);
    assert_int_equal(hit.state, FR_FRESH);
    fr_hit_release(&hit);
    now_ms = T0 + 3600 * 1000; /* 10 minutes into max-age, but the hour is over */
    fr_cache_lookup(c, TARGET, NULL, &hit);
    assert_int_equal(hit.state, FR_STALE);
    fr_hit_release(&hit);
    /* The api vouches for it (304): fresh for its max-age again. */
    assert_true(fr_cache_revalidate_next(c, 0));
    fr_cache_lookup(c, TARGET, NULL, &hit);
    assert_int_equal(hit.state, FR_FRESH);
    assert_int_equal(fr_hit_fresh_left_s(&hit), 600);
    fr_hit_release(&hit);
    fr_cache_free(c);
}

static void test_revalidation_that_finds_nothing_waits_a_second(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20);
    answer_weather(0, 4.4, 0, 10);
    prime(c, TARGET);
    assert_true(fr_cache_revalidate_next(c, 0)); /* 304: still stale */
    fr_hit hit;
    now_ms = T0 + 500;
    fr_cache_lookup(c, TARGET, NULL, &hit);
    assert_int_equal(hit.state, FR_STALE);
    assert_false(hit.revalidating);
    fr_hit_release(&hit);
    assert_false(fr_cache_revalidate_next(c, 0));
    now_ms = T0 + 1001;
    fr_cache_lookup(c, TARGET, NULL, &hit);
    assert_true(hit.revalidating);
    fr_hit_release(&hit);
    assert_true(fr_cache_revalidate_next(c, 0));
    assert_int_equal(api.calls, 3);
    fr_cache_free(c);
}

static void test_expired_copy_is_fetched_on_the_request_and_kept_when_unchanged(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20);
    answer_weather(0, 4.4, 60, 10);
    prime(c, TARGET);
    fr_hit hit;
    fr_api_resp resp;
    fr_tpl *t = tpl_of("page");
    fr_cache_lookup(c, TARGET, "html", &hit);
    fr_cache_keep(c, TARGET, hit.copy, "html", t);
    fr_copy *before = hit.copy;
    fr_hit_release(&hit);
    now_ms = T0 + 70 * 1000; /* past max-age and stale-while-revalidate */
    fr_cache_lookup(c, TARGET, "html", &hit);
    assert_int_equal(hit.state, FR_EXPIRED);
    assert_null(hit.tpl);
    assert_false(fr_cache_revalidate_next(c, 0)); /* not answered stale: nothing queued */
    answer_weather(0, 4.4, 600, 60);              /* the same record, fresh for the api now */
    assert_int_equal(fr_cache_fetch(c, TARGET, "html", FR_FETCH_PLAIN, &hit, &resp), NB_OK);
    assert_string_equal(api.inm, "");   /* unconditional: the api answers at once */
    assert_ptr_equal(hit.copy, before); /* same ETag: the parsed copy and its pages stay */
    assert_ptr_equal(hit.tpl, t);
    assert_int_equal(hit.state, FR_FRESH);
    assert_int_equal(hit.how, FR_HOW_EXPIRED);
    fr_api_resp_release(&resp);
    fr_hit_release(&hit);
    fr_tpl_unref(t);
    fr_cache_free(c);
}

static void test_client_no_cache_reaches_the_api_with_the_kept_etag(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20);
    answer_weather(0, 4.4, 600, 60);
    prime(c, TARGET);
    fr_hit hit = {0};
    fr_api_resp resp;
    assert_int_equal(fr_cache_fetch(c, TARGET, NULL, FR_FETCH_END_TO_END, &hit, &resp), NB_OK);
    assert_int_equal(api.calls, 2);
    assert_true(api.no_cache);
    assert_string_equal(api.inm, api.etag);
    assert_int_equal(resp.status, 304);
    assert_non_null(hit.copy);
    assert_int_equal(hit.how, FR_HOW_REQUEST);
    char cs[128];
    fr_hit_cache_status(&hit, cs, sizeof(cs));
    assert_string_equal(cs, "nimbus-front; fwd=request; fwd-status=304; stored; ttl=600");
    fr_api_resp_release(&resp);
    fr_hit_release(&hit);
    fr_cache_free(c);
}

/* --- what is not kept ------------------------------------------------------- */

static void test_error_answers_are_not_kept(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20);
    static const long statuses[] = {404, 400, 503, 502};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        fr_hit hit = {0};
        fr_api_resp resp;
        answer_error(statuses[i]);
        assert_int_equal(
            fr_cache_fetch(c, "/v1/weather?city=Nowhere", NULL, FR_FETCH_PLAIN, &hit, &resp),
            NB_OK);
        assert_null(hit.copy);
        assert_int_equal(resp.status, statuses[i]); /* the api's answer, for the reader */
        fr_api_resp_release(&resp);
        fr_cache_lookup(c, "/v1/weather?city=Nowhere", NULL, &hit);
        assert_int_equal(hit.state, FR_MISS);
        fr_hit_release(&hit);
    }
    assert_int_equal(fr_cache_entries(c), 0);
    fr_cache_free(c);
}

static void test_no_store_private_and_no_max_age_are_not_kept(void **state)
{
    (void)state;
    static const char *const ccs[] = {"no-store", "private, max-age=60", "public",
                                      "public, max-age=60, no-store"};
    fr_cache *c = cache_with(1 << 20);
    for (size_t i = 0; i < sizeof(ccs) / sizeof(ccs[0]); i++) {
        fr_hit hit = {0};
        fr_api_resp resp;
        answer_weather(0, 4.4, 600, 60);
        snprintf(api.cache_control, sizeof(api.cache_control), "%s", ccs[i]);
        fr_cache_fetch(c, TARGET, NULL, FR_FETCH_PLAIN, &hit, &resp);
        assert_non_null(hit.copy); /* answered once */
        assert_false(hit.stored);
        fr_api_resp_release(&resp);
        fr_hit_release(&hit);
    }
    assert_int_equal(fr_cache_entries(c), 0);
    fr_cache_free(c);
}

static void test_revalidation_outcomes(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20);
    fr_hit hit;
    answer_weather(0, 4.4, 0, 10);
    prime(c, TARGET);
    /* The api down: the stale copy stays and is answered (stale-if-error). */
    api.err = NB_ERR_UNAVAILABLE;
    assert_true(fr_cache_revalidate_next(c, 0));
    now_ms += 1500;
    fr_cache_lookup(c, TARGET, NULL, &hit);
    assert_int_equal(hit.state, FR_STALE);
    assert_non_null(hit.copy);
    fr_hit_release(&hit);
    /* A 5xx: the same. */
    answer_error(503);
    assert_true(fr_cache_revalidate_next(c, 0));
    now_ms += 1500;
    fr_cache_lookup(c, TARGET, NULL, &hit);
    assert_non_null(hit.copy);
    fr_hit_release(&hit);
    /* Past every window, the api still down: a request gets the kept copy. */
    now_ms += 60 * 1000;
    api.err = NB_ERR_TIMEOUT;
    fr_api_resp resp;
    fr_cache_lookup(c, TARGET, NULL, &hit);
    assert_int_equal(hit.state, FR_EXPIRED);
    assert_int_equal(fr_cache_fetch(c, TARGET, NULL, FR_FETCH_PLAIN, &hit, &resp), NB_ERR_TIMEOUT);
    assert_non_null(hit.copy);
    assert_int_equal(hit.how, FR_HOW_STALE_ERROR);
    fr_api_resp_release(&resp);
    fr_hit_release(&hit);
    /* The api says the place is gone: so is the copy. */
    answer_weather(0, 4.4, 0, 10);
    now_ms += 1000;
    fr_cache_fetch(c, TARGET, NULL, FR_FETCH_PLAIN, &hit, &resp); /* kept again, stale */
    fr_api_resp_release(&resp);
    fr_hit_release(&hit);
    answer_error(404);
    assert_true(fr_cache_revalidate_next(c, 0));
    fr_cache_lookup(c, TARGET, NULL, &hit);
    assert_int_equal(hit.state, FR_MISS);
    fr_hit_release(&hit);
    fr_cache_free(c);
}

static void test_an_older_answer_never_replaces_a_newer_one(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20);
    fr_hit hit = {0};
    fr_api_resp resp;
    answer_weather(60, 7.5, 600, 60);
    prime(c, TARGET);
    answer_weather(0, 4.4, 600, 60); /* e.g. another replica's older copy */
    fr_cache_fetch(c, TARGET, NULL, FR_FETCH_PLAIN, &hit, &resp);
    assert_true(temperature(&hit) == 7.5);
    fr_api_resp_release(&resp);
    fr_hit_release(&hit);
    fr_cache_free(c);
}

/* --- renderings ---------------------------------------------------------------- */

static void test_renderings_are_kept_per_variant_and_etag(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20);
    fr_hit hit;
    answer_weather(0, 4.4, 60, 600);
    prime(c, TARGET);
    fr_tpl *html = tpl_of("<p>4.4</p>"), *text = tpl_of("4.4");
    fr_cache_lookup(c, TARGET, "html", &hit);
    assert_null(hit.tpl);
    fr_cache_keep(c, TARGET, hit.copy, "html", html);
    fr_cache_keep(c, TARGET, hit.copy, "text", text);
    fr_hit_release(&hit);
    fr_cache_lookup(c, TARGET, "html", &hit);
    assert_ptr_equal(hit.tpl, html);
    fr_hit_release(&hit);
    fr_cache_lookup(c, TARGET, "text", &hit);
    assert_ptr_equal(hit.tpl, text);
    fr_hit_release(&hit);
    fr_cache_lookup(c, TARGET, "line:%t", &hit);
    assert_null(hit.tpl);
    fr_hit_release(&hit);
    /* A new answer (a new ETag) starts with no rendering. */
    now_ms = T0 + 61 * 1000;
    fr_cache_lookup(c, TARGET, "html", &hit);
    assert_int_equal(hit.state, FR_STALE);
    assert_ptr_equal(hit.tpl, html); /* answered stale with its page while revalidating */
    fr_hit_release(&hit);
    answer_weather(61, 7.5, 600, 60);
    assert_true(fr_cache_revalidate_next(c, 0));
    fr_cache_lookup(c, TARGET, "html", &hit);
    assert_true(temperature(&hit) == 7.5);
    assert_null(hit.tpl);
    fr_hit_release(&hit);
    fr_tpl_unref(html);
    fr_tpl_unref(text);
    fr_cache_free(c);
}

static void test_a_rendering_is_kept_until_local_midnight(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20);
    fr_hit hit;
    answer_weather(0, 4.4, 100000, 60);
    prime(c, TARGET);
    /* UTC+1: local midnight is 23:00 UTC. */
    now_ms = T0 + 22 * 3600 * 1000LL;
    fr_tpl *t = tpl_of("Today");
    assert_true(t->valid_until_ms == T0 + 23 * 3600 * 1000LL);
    fr_cache_lookup(c, TARGET, "text", &hit);
    fr_cache_keep(c, TARGET, hit.copy, "text", t);
    fr_hit_release(&hit);
    now_ms = T0 + 23 * 3600 * 1000LL - 1;
    fr_cache_lookup(c, TARGET, "text", &hit);
    assert_ptr_equal(hit.tpl, t);
    fr_hit_release(&hit);
    now_ms = T0 + 23 * 3600 * 1000LL;
    fr_cache_lookup(c, TARGET, "text", &hit);
    assert_null(hit.tpl); /* "Today" is tomorrow now: rendered again */
    fr_hit_release(&hit);
    fr_tpl_unref(t);
    fr_cache_free(c);
}

static void test_renderings_per_copy_are_bounded(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20); /* renderings_max 4 */
    fr_hit hit;
    char v[16];
    answer_weather(0, 4.4, 600, 60);
    prime(c, TARGET);
    fr_cache_lookup(c, TARGET, NULL, &hit);
    for (int i = 0; i < 10; i++) {
        now_ms++;
        snprintf(v, sizeof(v), "line:%d", i);
        fr_tpl *t = tpl_of(v);
        fr_cache_keep(c, TARGET, hit.copy, v, t);
        fr_tpl_unref(t);
    }
    assert_int_equal(hit.copy->nrenderings, 4);
    fr_hit_release(&hit);
    for (int i = 0; i < 10; i++) {
        snprintf(v, sizeof(v), "line:%d", i);
        fr_cache_lookup(c, TARGET, v, &hit);
        if (i < 6)
            assert_null(hit.tpl); /* the least recently used went */
        else
            assert_non_null(hit.tpl);
        fr_hit_release(&hit);
    }
    fr_cache_free(c);
}

/* --- memory --------------------------------------------------------------------- */

static void test_memory_is_bounded_least_recently_used_first(void **state)
{
    (void)state;
    size_t cap = 64 * 1024;
    fr_cache *c = cache_with(cap);
    fr_hit hit;
    char target[64];
    answer_weather(0, 4.4, 600, 60);
    prime(c, "/v1/weather?lat=0&lon=0");
    size_t one = fr_cache_bytes(c);
    assert_true(one > strlen(api.body) * FR_DOC_BYTES_PER_BYTE);
    for (int i = 1; i < 40; i++) {
        snprintf(target, sizeof(target), "/v1/weather?lat=%d&lon=0", i);
        prime(c, target);
        fr_cache_lookup(c, "/v1/weather?lat=0&lon=0", NULL, &hit); /* used: stays */
        assert_non_null(hit.copy);
        fr_hit_release(&hit);
        assert_true(fr_cache_bytes(c) <= cap);
    }
    assert_true(fr_cache_entries(c) < 40);
    assert_true(fr_cache_entries(c) >= cap / one - 1);
    fr_cache_lookup(c, "/v1/weather?lat=1&lon=0", NULL, &hit); /* the oldest: gone */
    assert_int_equal(hit.state, FR_MISS);
    fr_hit_release(&hit);
    fr_cache_free(c);
}

static void test_max_bytes_zero_keeps_nothing(void **state)
{
    (void)state;
    fr_cache *c = cache_with(0);
    for (int i = 0; i < 3; i++) {
        fr_hit hit;
        fr_api_resp resp;
        answer_weather(0, 4.4, 600, 60);
        fr_cache_lookup(c, TARGET, "html", &hit);
        assert_int_equal(hit.state, FR_MISS);
        assert_int_equal(fr_cache_fetch(c, TARGET, "html", FR_FETCH_PLAIN, &hit, &resp), NB_OK);
        assert_non_null(hit.copy);
        assert_false(hit.stored);
        assert_int_equal(hit.state, FR_FRESH);
        fr_tpl *t = tpl_of("x");
        fr_cache_keep(c, TARGET, hit.copy, "html", t);
        fr_tpl_unref(t);
        fr_api_resp_release(&resp);
        fr_hit_release(&hit);
    }
    assert_int_equal(api.calls, 3);
    assert_int_equal(fr_cache_bytes(c), 0);
    fr_cache_free(c);
}

/* --- the answer as of now ---------------------------------------------------------- */

static void test_json_and_headers_say_what_is_true_at_answer_time(void **state)
{
    (void)state;
    fr_cache *c = cache_with(1 << 20);
    fr_hit hit;
    answer_weather(-100, 4.4, 500, 60); /* fetched 100 s ago: the api says Age 100, 500 left */
    snprintf(api.age, sizeof(api.age), "100");
    prime(c, TARGET);
    now_ms = T0 + 200 * 1000;
    fr_cache_lookup(c, TARGET, NULL, &hit);
    char cc[160], cs[128];
    fr_hit_cache_control(&hit, cc, sizeof(cc));
    assert_string_equal(cc, "public, max-age=300, stale-while-revalidate=60");
    assert_int_equal(fr_hit_age_s(&hit), 300);
    fr_hit_cache_status(&hit, cs, sizeof(cs));
    assert_string_equal(cs, "nimbus-front; hit; ttl=300");
    size_t len;
    char *body = fr_hit_json(&hit, &len);
    json_t *doc = json_loadb(body, len, 0, NULL);
    assert_non_null(doc);
    json_t *f = json_object_get(doc, "freshness");
    assert_string_equal(json_string_value(json_object_get(f, "state")), "fresh");
    assert_int_equal(json_integer_value(json_object_get(f, "age_s")), 300);
    assert_int_equal(json_integer_value(json_object_get(f, "fresh_ttl_s")), 600);
    assert_string_equal(json_string_value(json_object_get(f, "source")), "cache");
    json_decref(doc);
    free(body);
    fr_hit_release(&hit);
    now_ms = T0 + 520 * 1000; /* 20 s past max-age */
    fr_cache_lookup(c, TARGET, NULL, &hit);
    fr_hit_cache_control(&hit, cc, sizeof(cc));
    assert_string_equal(cc, "public, max-age=0, stale-while-revalidate=60");
    fr_hit_cache_status(&hit, cs, sizeof(cs));
    assert_string_equal(cs, "nimbus-front; hit; ttl=-20; fwd=stale");
    body = fr_hit_json(&hit, &len);
    doc = json_loadb(body, len, 0, NULL);
    f = json_object_get(doc, "freshness");
    assert_string_equal(json_string_value(json_object_get(f, "state")), "stale");
    assert_int_equal(json_integer_value(json_object_get(f, "age_s")), 620);
    /* Everything else is the api's document as it came. */
    assert_true(json_real_value(json_object_get(json_object_get(doc, "current"), "temperature")) ==
                4.4);
    json_decref(doc);
    free(body);
    fr_hit_release(&hit);
    fr_cache_free(c);
}

static void test_template_fills_what_changes_with_time(void **state)
{
    (void)state;
    /* "<a s=STATE m=MAX_AGE>AGO|LOCAL_TIME" */
    char *text = strdup("<a s= m=>|");
    fr_slot *slots = malloc(4 * sizeof(*slots));
    slots[0] = (fr_slot){.at = 5, .kind = FR_SLOT_STATE};
    slots[1] = (fr_slot){.at = 8, .kind = FR_SLOT_MAX_AGE};
    slots[2] = (fr_slot){.at = 9, .kind = FR_SLOT_AGO};
    slots[3] = (fr_slot){.at = 10, .kind = FR_SLOT_LOCAL_TIME};
    fr_tpl *t = fr_tpl_new(text, strlen(text), slots, 4, 3600, T0, T0);
    size_t len;
    char *a =
        fr_tpl_fill(t, &(fr_fill){.now_ms = T0 + 30000, .stale = false, .max_age_s = 570}, &len);
    assert_string_equal(a, "<a s=fresh m=570>just now|Tue 01:00");
    assert_int_equal(len, strlen(a));
    char *b =
        fr_tpl_fill(t, &(fr_fill){.now_ms = T0 + 720000, .stale = true, .max_age_s = 0}, NULL);
    assert_string_equal(b, "<a s=stale m=0>12 minutes ago|Tue 01:12");
    free(a);
    free(b);
    fr_tpl_unref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_copy_is_answered_without_the_api),
        cmocka_unit_test(test_stale_copy_is_revalidated_once_in_the_background),
        cmocka_unit_test(test_a_changed_record_replaces_the_copy),
        cmocka_unit_test(test_a_copy_is_fresh_until_its_first_hour_is_over),
        cmocka_unit_test(test_revalidation_that_finds_nothing_waits_a_second),
        cmocka_unit_test(test_expired_copy_is_fetched_on_the_request_and_kept_when_unchanged),
        cmocka_unit_test(test_client_no_cache_reaches_the_api_with_the_kept_etag),
        cmocka_unit_test(test_error_answers_are_not_kept),
        cmocka_unit_test(test_no_store_private_and_no_max_age_are_not_kept),
        cmocka_unit_test(test_revalidation_outcomes),
        cmocka_unit_test(test_an_older_answer_never_replaces_a_newer_one),
        cmocka_unit_test(test_renderings_are_kept_per_variant_and_etag),
        cmocka_unit_test(test_a_rendering_is_kept_until_local_midnight),
        cmocka_unit_test(test_renderings_per_copy_are_bounded),
        cmocka_unit_test(test_memory_is_bounded_least_recently_used_first),
        cmocka_unit_test(test_max_bytes_zero_keeps_nothing),
        cmocka_unit_test(test_json_and_headers_say_what_is_true_at_answer_time),
        cmocka_unit_test(test_template_fills_what_changes_with_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
