/* POST /v1/subscriptions end to end through the real server and the api
 * service (app.c), with persistence and the upstream replaced by in-memory
 * doubles: a place given by name is resolved by the weather requests' own
 * place step — shared with them, remembered (not found too), bounded by the
 * deadline — without a worker waiting for the geocoder; what persistence is
 * sent, and how its answers are passed on. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "app.h"
#include "doubles.h"
#include "nimbus/clock.h"
#include "nimbus/http_client.h"
#include "nimbus/log.h"

static api_config cfg;
static store_mem *sm;
static upstream_mem *um;
static app *svc;
static char base[64];

/* Starts the service with the given extra settings (NULL-terminated). */
static void start(const char *const *extra)
{
    const char *argv[40] = {"test",
                            "--port=0",
                            "--threads=2",
                            "--workers=2",
                            "--access-log=false",
                            "--grace-ms=2000",
                            "--kafka-brokers=",
                            "--miss-deadline-ms=5000"};
    int argc = 8;
    for (int i = 0; extra && extra[i]; i++)
        argv[argc++] = extra[i];
    bool exit_now;
    assert_int_equal(api_config_load(&cfg, argc, (char **)argv, &exit_now), NB_OK);
    sm = store_mem_new();
    um = upstream_mem_new();
    upstream_mem_place(um, "berlin", "Berlin", 52.5244, 13.4105);
    app_clients c = {.st = store_mem_base(sm), .up = upstream_mem_base(um), .br = NULL};
    svc = api_app_new(&cfg, &c);
    assert_non_null(svc);
    assert_int_equal(api_app_start(svc), NB_OK);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", api_app_port(svc));
}

static void stop(void)
{
    api_app_free(svc);
    api_upstream_free(upstream_mem_base(um));
    api_store_free(store_mem_base(sm));
}

static long request(const char *method, const char *path, const char *body,
                    const char *const *headers, nb_httpc_resp *resp)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", base, path);
    nb_httpc_req req = {.method = method,
                        .url = url,
                        .headers = headers,
                        .body = body,
                        .body_len = body ? strlen(body) : 0,
                        .timeout_ms = 30000};
    return nb_httpc_do(&req, resp) ? -1 : resp->status;
}

/* POST /v1/subscriptions with a JSON body. */
static long subscribe(const char *body, nb_httpc_resp *resp)
{
    static const char *const json[] = {"Content-Type: application/json",
                                       "X-Forwarded-For: 198.51.100.7", NULL};
    return request("POST", "/v1/subscriptions", body, json, resp);
}

static const char *hdr(const nb_httpc_resp *resp, const char *name)
{
    const char *v = nb_httpc_header(resp, name);
    return v ? v : "";
}

static bool has(const nb_httpc_resp *resp, const char *text)
{
    return strstr(nb_buf_str(&resp->body), text) != NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls cond() every 5 ms until it holds or 10 s pass. */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        int64_t until_ = nb_mono_ms() + 10000;                                                     \
        while (!(cond) && nb_mono_ms() < until_)                                                   \
            sleep_ms(5);                                                                           \
        assert_true(cond);                                                                         \
    } while (0)

/* ---- requests in parallel ------------------------------------------- */

typedef struct shot {
    const char *method, *path, *body;
    long status;
    double secs;
} shot;

static void *fire(void *arg)
{
    shot *s = arg;
    nb_httpc_resp resp;
    double t0 = nb_mono_s();
    s->status =
        s->body ? subscribe(s->body, &resp) : request(s->method, s->path, NULL, NULL, &resp);
    s->secs = nb_mono_s() - t0;
    nb_httpc_resp_release(&resp);
    return NULL;
}

static void launch(shot *shots, int n, pthread_t *t)
{
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, fire, &shots[i]);
}

static void join_all(int n, pthread_t *t)
{
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

/* ---- the place ------------------------------------------------------- */

static void a_place_by_name_is_stored_with_the_subscription(void **state)
{
    start(NULL);
    nb_httpc_resp r;
    assert_int_equal(subscribe("{\"email\":\"jo@example.org\",\"city\":\"  BERLIN \"}", &r), 202);
    assert_true(has(&r, "\"status\":\"pending\""));
    nb_httpc_resp_release(&r);
    char sent[2048];
    assert_int_equal(store_mem_subscriptions(sm, sent, sizeof(sent)), 1);
    assert_non_null(strstr(sent, "\"key\":\"52.52,13.41\""));
    assert_non_null(strstr(sent, "\"name\":\"Berlin, Germany\""));
    assert_non_null(strstr(sent, "\"timezone\":\"Europe/Berlin\""));
    assert_non_null(strstr(sent, "\"client\":\"198.51.100.7\"")); /* behind a trusted proxy */
    assert_non_null(strstr(sent, "\"kind\":\"daily_digest\""));   /* the default rule */
    /* The place step stored its answer, as for a weather request. */
    WAIT_FOR(store_mem_stored(sm, "/v1/geocode/berlin") == 1);
    assert_int_equal(upstream_mem_geocodes(um), 1);
    /* A weather request for the name now needs no geocoder. */
    assert_int_equal(request("GET", "/v1/weather?city=Berlin", NULL, NULL, &r), 200);
    nb_httpc_resp_release(&r);
    assert_int_equal(upstream_mem_geocodes(um), 1);
    stop();
}

static void coordinates_need_no_geocoder(void **state)
{
    start(NULL);
    nb_httpc_resp r;
    assert_int_equal(
        subscribe("{\"email\":\"jo@example.org\",\"lat\":52.5244,\"lon\":13.4105}", &r), 202);
    nb_httpc_resp_release(&r);
    char sent[2048];
    assert_int_equal(store_mem_subscriptions(sm, sent, sizeof(sent)), 1);
    assert_non_null(strstr(sent, "\"key\":\"52.52,13.41\""));
    assert_non_null(strstr(sent, "\"name\":\"52.52, 13.41\""));
    assert_int_equal(upstream_mem_geocodes(um), 0);
    assert_int_equal(store_mem_geo_reads(sm), 0);
    stop();
}

/* Subscriptions and weather requests for a new name at once: one read of
 * the name from persistence, one geocoding fetch, for all of them. */
static void a_herd_of_subscriptions_and_weather_requests_geocodes_once(void **state)
{
    start((const char *const[]){"--workers=4", NULL});
    upstream_mem_latency(um, 300);
    enum { N = 40 };
    shot s[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++)
        s[i] = i % 2 ? (shot){.body = "{\"email\":\"herd@example.org\",\"city\":\"Berlin\"}"}
                     : (shot){.method = "GET", .path = "/v1/weather?city=Berlin"};
    launch(s, N, t);
    join_all(N, t);
    for (int i = 0; i < N; i++)
        assert_int_equal(s[i].status, i % 2 ? 202 : 200);
    assert_int_equal(upstream_mem_geocodes(um), 1);
    assert_int_equal(store_mem_geo_reads(sm), 1);
    assert_int_equal(store_mem_subscriptions(sm, NULL, 0), N / 2);
    stop();
}

/* Two workers, a geocoder that takes 1.5 s, and more subscriptions waiting
 * for it than there are workers: the workers stay free (a request for
 * stored data is answered meanwhile), and the waiters all get their answer
 * from the one fetch. */
static void waiting_for_the_geocoder_holds_no_worker(void **state)
{
    start(NULL);
    nb_record rec;
    test_record(&rec, "48.14,11.58", nb_now_ms(), 12.5, "2026-11-24T01:00");
    store_mem_put_record(sm, &rec);
    upstream_mem_latency(um, 1500);
    enum { N = 8 };
    shot s[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++)
        s[i] = (shot){.body = "{\"email\":\"wait@example.org\",\"city\":\"Berlin\"}"};
    launch(s, N, t);
    WAIT_FOR(upstream_mem_running(um) == 1);
    sleep_ms(100); /* the rest attach to the flight */
    nb_httpc_resp r;
    double t0 = nb_mono_s();
    assert_int_equal(request("GET", "/v1/weather?lat=48.14&lon=11.58", NULL, NULL, &r), 200);
    double took = nb_mono_s() - t0;
    nb_httpc_resp_release(&r);
    assert_true(upstream_mem_running(um) == 1); /* still geocoding: not waited for */
    assert_true(took < 1.0);
    join_all(N, t);
    for (int i = 0; i < N; i++)
        assert_int_equal(s[i].status, 202);
    assert_int_equal(upstream_mem_geocodes(um), 1);
    stop();
}

/* ---- what goes wrong --------------------------------------------------- */

static void an_unknown_place_is_404_and_remembered(void **state)
{
    start(NULL);
    nb_httpc_resp r;
    assert_int_equal(subscribe("{\"email\":\"jo@example.org\",\"city\":\"Qwx Zyv\"}", &r), 404);
    assert_true(has(&r, "unknown place 'Qwx Zyv'"));
    nb_httpc_resp_release(&r);
    assert_int_equal(subscribe("{\"email\":\"jo@example.org\",\"city\":\"qwx  zyv\"}", &r), 404);
    nb_httpc_resp_release(&r);
    assert_int_equal(request("GET", "/v1/weather?city=QWX%20ZYV", NULL, NULL, &r), 404);
    nb_httpc_resp_release(&r);
    assert_int_equal(upstream_mem_geocodes(um), 1); /* the negative answer was kept */
    assert_int_equal(store_mem_subscriptions(sm, NULL, 0), 0);
    stop();
}

static void a_slow_geocoder_is_503_at_the_deadline(void **state)
{
    start((const char *const[]){"--miss-deadline-ms=400", NULL});
    upstream_mem_latency(um, 3000);
    nb_httpc_resp r;
    double t0 = nb_mono_s();
    assert_int_equal(subscribe("{\"email\":\"jo@example.org\",\"city\":\"Berlin\"}", &r), 503);
    double took = nb_mono_s() - t0;
    assert_true(took >= 0.38 && took < 2.5);
    assert_true(has(&r, "\"error\":\"timeout\""));
    assert_true(has(&r, "the geocoder did not answer within 400 ms"));
    assert_true(atoi(hdr(&r, "Retry-After")) >= 1);
    nb_httpc_resp_release(&r);
    assert_int_equal(store_mem_subscriptions(sm, NULL, 0), 0);
    WAIT_FOR(upstream_mem_running(um) == 0);
    stop();
}

static void a_broken_geocoder_is_502_and_a_paced_one_503(void **state)
{
    start(NULL);
    nb_httpc_resp r;
    upstream_mem_fail(um, NB_ERR_UPSTREAM);
    assert_int_equal(subscribe("{\"email\":\"jo@example.org\",\"city\":\"Berlin\"}", &r), 502);
    assert_true(has(&r, "\"error\":\"upstream_error\""));
    nb_httpc_resp_release(&r);
    upstream_mem_fail(um, NB_ERR_RATE_LIMITED);
    assert_int_equal(subscribe("{\"email\":\"jo@example.org\",\"city\":\"Paris\"}", &r), 503);
    assert_true(has(&r, "\"error\":\"rate_limited\""));
    assert_true(atoi(hdr(&r, "Retry-After")) >= 1);
    nb_httpc_resp_release(&r);
    assert_int_equal(store_mem_subscriptions(sm, NULL, 0), 0);
    stop();
}

static void persistence_refusals_are_passed_on(void **state)
{
    start(NULL);
    nb_httpc_resp r;
    store_mem_subscriptions_answer(sm, 429, "1800");
    assert_int_equal(subscribe("{\"email\":\"jo@example.org\",\"lat\":1,\"lon\":2}", &r), 429);
    assert_string_equal(hdr(&r, "Retry-After"), "1800");
    assert_true(has(&r, "\"error\":\"too_many_requests\""));
    assert_true(has(&r, "refused by the test"));
    nb_httpc_resp_release(&r);
    store_mem_subscriptions_answer(sm, 500, NULL);
    assert_int_equal(subscribe("{\"email\":\"jo@example.org\",\"lat\":1,\"lon\":2}", &r), 503);
    assert_true(atoi(hdr(&r, "Retry-After")) >= 1);
    nb_httpc_resp_release(&r);
    /* The token routes: persistence knows no such token. */
    assert_int_equal(request("GET", "/v1/subscriptions?token=AAAAAAAAAAAAAAAAAAAA", NULL, NULL, &r),
                     404);
    assert_true(has(&r, "unknown or expired token"));
    nb_httpc_resp_release(&r);
    assert_int_equal(request("GET", "/v1/subscriptions?token=short", NULL, NULL, &r), 400);
    nb_httpc_resp_release(&r);
    stop();
}

static void bad_bodies_get_400_with_the_field(void **state)
{
    start(NULL);
    static const struct {
        const char *body, *reason;
    } cases[] = {
        {"{\"email\":\"no-at-sign\",\"lat\":1,\"lon\":2}", "email: no @"},
        {"{\"lat\":1,\"lon\":2}", "email: missing"},
        {"{\"email\":\"jo@example.org\",\"lat\":1,\"lon\":2,\"colour\":\"red\"}",
         "unknown field 'colour'"},
        {"{\"email\":\"jo@example.org\",\"city\":\"Berlin\",\"lat\":1}", "either city or lat"},
        {"{\"email\":\"jo@example.org\",\"lat\":91,\"lon\":2}", "lat must be a number"},
        {"[1]", "must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nb_httpc_resp r;
        assert_int_equal(subscribe(cases[i].body, &r), 400);
        if (!has(&r, cases[i].reason)) fail_msg("%s: %s", cases[i].body, nb_buf_str(&r.body));
        nb_httpc_resp_release(&r);
    }
    assert_int_equal(upstream_mem_geocodes(um), 0);
    assert_int_equal(store_mem_subscriptions(sm, NULL, 0), 0);
    stop();
}

/* ---- shutdown ------------------------------------------------------- */

/* Subscriptions waiting for the geocoder when the service stops are
 * answered (503) within the bound, and nothing is left behind (ASan). */
static void shutdown_answers_subscriptions_waiting_for_their_place(void **state)
{
    start((const char *const[]){"--grace-ms=1000", NULL});
    upstream_mem_latency(um, 10000);
    enum { N = 6 };
    shot s[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++)
        s[i] = (shot){.body = "{\"email\":\"late@example.org\",\"city\":\"Berlin\"}"};
    launch(s, N, t);
    WAIT_FOR(upstream_mem_running(um) == 1);
    sleep_ms(100);
    double t0 = nb_mono_s();
    api_app_stop(svc);
    double took = nb_mono_s() - t0;
    join_all(N, t);
    assert_true(took < 4.0);
    for (int i = 0; i < N; i++)
        assert_int_equal(s[i].status, 503);
    assert_int_equal(store_mem_subscriptions(sm, NULL, 0), 0);
    stop();
}

static void an_unreadable_trusted_proxies_list_stops_the_start(void **state)
{
    const char *argv[] = {"test", "--port=0", "--trusted-proxies=10.0.0.0/8,not-a-network"};
    bool exit_now;
    assert_int_equal(api_config_load(&cfg, 3, (char **)argv, &exit_now), NB_OK);
    sm = store_mem_new();
    um = upstream_mem_new();
    app_clients c = {.st = store_mem_base(sm), .up = upstream_mem_base(um)};
    assert_null(api_app_new(&cfg, &c));
    api_upstream_free(upstream_mem_base(um));
    api_store_free(store_mem_base(sm));
}

int main(void)
{
    nb_log_init("api-test", NB_LOG_ERROR);
    nb_httpc_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_place_by_name_is_stored_with_the_subscription),
        cmocka_unit_test(coordinates_need_no_geocoder),
        cmocka_unit_test(a_herd_of_subscriptions_and_weather_requests_geocodes_once),
        cmocka_unit_test(waiting_for_the_geocoder_holds_no_worker),
        cmocka_unit_test(an_unknown_place_is_404_and_remembered),
        cmocka_unit_test(a_slow_geocoder_is_503_at_the_deadline),
        cmocka_unit_test(a_broken_geocoder_is_502_and_a_paced_one_503),
        cmocka_unit_test(persistence_refusals_are_passed_on),
        cmocka_unit_test(bad_bodies_get_400_with_the_field),
        cmocka_unit_test(shutdown_answers_subscriptions_waiting_for_their_place),
        cmocka_unit_test(an_unreadable_trusted_proxies_list_stops_the_start),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nb_httpc_global_cleanup();
    return rc;
}
