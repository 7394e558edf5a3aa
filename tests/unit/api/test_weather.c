/* The weather flows end to end through the real server (libcommon's nb_server
 * on a free port) and the api service (app.c), with persistence and the
 * upstream replaced by in-memory doubles: statuses, caching headers, how often
 * each backend is asked (coalescing), deadlines, a paused persistence,
 * bounded memory and a bounded shutdown. */
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
static broker_mem *bm;
static app *svc;
static char base[64];

/* Starts the service with the given extra settings (NULL-terminated). */
static void start(const char *const *extra)
{
    const char *argv[40] = {"test",
                            "--port=0",
                            "--threads=2",
                            "--workers=8",
                            "--access-log=false",
                            "--relay-poll-ms=100",
                            "--grace-ms=2000",
                            "--write-flush-ms=500",
                            "--miss-deadline-ms=5000"};
    int argc = 9;
    for (int i = 0; extra && extra[i]; i++)
        argv[argc++] = extra[i];
    bool exit_now;
    assert_int_equal(api_config_load(&cfg, argc, (char **)argv, &exit_now), NB_OK);
    sm = store_mem_new();
    um = upstream_mem_new();
    bm = broker_mem_new(cfg.relay_lease_ms / 2);
    app_clients c = {
        .st = store_mem_base(sm), .up = upstream_mem_base(um), .br = broker_mem_base(bm)};
    svc = api_app_new(&cfg, &c);
    assert_non_null(svc);
    assert_int_equal(api_app_start(svc), NB_OK);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", api_app_port(svc));
}

static void stop(void)
{
    api_app_free(svc);
    api_broker_free(broker_mem_base(bm));
    api_upstream_free(upstream_mem_base(um));
    api_store_free(store_mem_base(sm));
}

/* A second api replica on the same doubles (persistence, upstream, and its
 * own producer on the same Kafka topic). */
static app *replica;
static broker_mem *replica_bm;
static char replica_base[64];

static void start_replica(void)
{
    replica_bm = broker_mem_new_on(bm, cfg.relay_lease_ms / 2);
    app_clients c = {
        .st = store_mem_base(sm), .up = upstream_mem_base(um), .br = broker_mem_base(replica_bm)};
    replica = api_app_new(&cfg, &c);
    assert_non_null(replica);
    assert_int_equal(api_app_start(replica), NB_OK);
    snprintf(replica_base, sizeof(replica_base), "http://127.0.0.1:%d", api_app_port(replica));
}

static void stop_replica(void)
{
    api_app_free(replica);
    api_broker_free(broker_mem_base(replica_bm));
    replica = NULL;
    replica_bm = NULL;
}

/* GET <at>/v1/weather?query with an optional extra header line. */
static long get_at(const char *at, const char *query, const char *header, nb_httpc_resp *resp)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/v1/weather?%s", at, query);
    const char *headers[2] = {header, NULL};
    nb_httpc_req req = {
        .method = "GET", .url = url, .headers = header ? headers : NULL, .timeout_ms = 30000};
    nb_err e = nb_httpc_do(&req, resp);
    return e ? -1 : resp->status;
}

/* GET /v1/weather?query on the first replica. */
static long get(const char *query, const char *header, nb_httpc_resp *resp)
{
    return get_at(base, query, header, resp);
}

static const char *hdr(const nb_httpc_resp *resp, const char *name)
{
    const char *v = nb_httpc_header(resp, name);
    return v ? v : "";
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The value of a metric line starting with name (-1 if absent). */
static double metric(const char *name)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/metrics", base);
    nb_httpc_req req = {.method = "GET", .url = url, .timeout_ms = 5000};
    nb_httpc_resp m;
    double v = -1;
    if (nb_httpc_do(&req, &m) == NB_OK) {
        for (const char *p = nb_buf_str(&m.body); p && *p;
             p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
            if (starts(p, name) && p[strlen(name)] == ' ') v = atof(p + strlen(name) + 1);
    }
    nb_httpc_resp_release(&m);
    return v;
}

/* Polls cond() every 5 ms until it holds or 5 s pass. */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        int64_t until_ = nb_mono_ms() + 5000;                                                      \
        while (!(cond) && nb_mono_ms() < until_)                                                   \
            sleep_ms(5);                                                                           \
        assert_true(cond);                                                                         \
    } while (0)

static void put_stored(const char *key, int64_t age_ms, double t)
{
    nb_record r;
    test_record(&r, key, nb_now_ms() - age_ms, t, "2026-11-24T01:00");
    store_mem_put_record(sm, &r);
}

/* ---- many requests at once ------------------------------------------ */

typedef struct shot {
    const char *at; /* base URL (NULL: the first replica) */
    const char *query;
    const char *header;
    long status;
    double secs;
    char cache[16];
} shot;

static void *fire(void *arg)
{
    shot *s = arg;
    nb_httpc_resp resp;
    double t0 = nb_mono_s();
    s->status = get_at(s->at ? s->at : base, s->query, s->header, &resp);
    s->secs = nb_mono_s() - t0;
    snprintf(s->cache, sizeof(s->cache), "%s", hdr(&resp, "X-Cache"));
    nb_httpc_resp_release(&resp);
    return NULL;
}

/* n requests for query at once; shots[] gets their outcomes. */
static void fire_all(shot *shots, int n)
{
    pthread_t *t = calloc((size_t)n, sizeof(*t));
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, fire, &shots[i]);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
}

/* ---- the five flows -------------------------------------------------- */

static void flow1_fresh_hit_asks_persistence_only(void **state)
{
    start(NULL);
    put_stored("52.52,13.41", 60000, 42.4);
    nb_httpc_resp r;
    assert_int_equal(get("lat=52.52&lon=13.41", NULL, &r), 200);
    assert_string_equal(hdr(&r, "X-Cache"), "HIT");
    assert_string_equal(hdr(&r, "X-Source"), "cache");
    assert_true(starts(hdr(&r, "Cache-Control"), "public, max-age=5"));
    assert_true(starts(hdr(&r, "Cache-Status"), "nimbus; hit; ttl="));
    assert_true(starts(hdr(&r, "ETag"), "W/\""));
    assert_true(hdr(&r, "Last-Modified")[0] && hdr(&r, "Age")[0]);
    assert_non_null(strstr(nb_buf_str(&r.body), "\"temperature\":42.4"));
    nb_httpc_resp_release(&r);
    assert_int_equal(upstream_mem_forecasts(um), 0);
    assert_int_equal(store_mem_reads(sm), 1);
    stop();
}

static void flow2_stale_hit_answers_at_once_and_renews_once(void **state)
{
    start(NULL);
    put_stored("50.94,6.96", 3600000, 42.4);
    upstream_mem_latency(um, 1500);
    nb_httpc_resp r;
    double t0 = nb_mono_s();
    assert_int_equal(get("lat=50.94&lon=6.96", NULL, &r), 200);
    assert_true(nb_mono_s() - t0 < 1.0); /* not waiting for the renewal */
    assert_string_equal(hdr(&r, "X-Cache"), "STALE");
    assert_string_equal(hdr(&r, "Cache-Control"), "public, max-age=0, stale-while-revalidate=10");
    assert_true(strstr(hdr(&r, "Cache-Status"), "; fwd=stale") != NULL);
    nb_httpc_resp_release(&r);
    /* More stale hits meanwhile: still one renewal. */
    assert_int_equal(get("lat=50.94&lon=6.96", NULL, &r), 200);
    nb_httpc_resp_release(&r);
    WAIT_FOR(store_mem_stored(sm, "/v1/records/50.94,6.96") == 1);
    assert_int_equal(upstream_mem_forecasts(um), 1);
    nb_record stored;
    assert_true(store_mem_get(sm, "50.94,6.96", &stored));
    assert_true(stored.current.temperature != 42.4);
    assert_int_equal(get("lat=50.94&lon=6.96", NULL, &r), 200);
    assert_string_equal(hdr(&r, "X-Cache"), "HIT");
    nb_httpc_resp_release(&r);
    stop();
}

static void flow5_miss_fetches_answers_and_writes(void **state)
{
    start(NULL);
    upstream_mem_place(um, "zürich", "Zürich", 47.3769, 8.5417);
    nb_httpc_resp r;
    assert_int_equal(get("city=Z%C3%BCrich", NULL, &r), 200);
    assert_string_equal(hdr(&r, "X-Cache"), "MISS");
    assert_string_equal(hdr(&r, "X-Source"), "upstream");
    assert_true(starts(hdr(&r, "Cache-Status"), "nimbus; fwd=uri-miss"));
    assert_non_null(strstr(nb_buf_str(&r.body), "\"name\":\"Zürich\""));
    nb_httpc_resp_release(&r);
    /* Stored asynchronously, the place name passed for the event. */
    WAIT_FOR(store_mem_stored(sm, "/v1/records/47.38,8.54") == 1);
    char path[200];
    store_mem_last_put(sm, "/v1/records/47.38,8.54", path, sizeof(path));
    /* ...and the renewal lease this replica held, released by that PUT. */
    assert_true(starts(path, "/v1/records/47.38,8.54?name=Z%C3%BCrich&lease="));
    assert_false(store_mem_lease_held(sm, "47.38,8.54"));
    WAIT_FOR(store_mem_stored(sm, "/v1/geocode/") == 1);
    /* Again, spelt differently: stored data, no second fetch. */
    assert_int_equal(get("city=%20%20Z%C3%BCRICH", NULL, &r), 200);
    assert_string_equal(hdr(&r, "X-Cache"), "HIT");
    nb_httpc_resp_release(&r);
    assert_int_equal(upstream_mem_forecasts(um), 1);
    assert_int_equal(upstream_mem_geocodes(um), 1);
    stop();
}

/* A write that made an outbox event wakes the relay: the event reaches the
 * broker at once, not at the next poll (here a minute away). */
static void a_new_observation_is_relayed_at_once(void **state)
{
    start((const char *const[]){"--relay-poll-ms=60000", NULL});
    nb_httpc_resp r;
    int64_t t0 = nb_mono_ms();
    assert_int_equal(get("lat=12.34&lon=56.78", NULL, &r), 200);
    nb_httpc_resp_release(&r);
    WAIT_FOR(broker_mem_delivered(bm) == 1 && store_mem_acked(sm) == 1);
    assert_true(nb_mono_ms() - t0 < 3000);
    assert_int_equal(store_mem_unsent(sm), 0);
    stop();
}

/* ---- coalescing ------------------------------------------------------ */

static void herd_for_a_new_name_makes_one_call_of_each_kind(void **state)
{
    start(NULL);
    upstream_mem_place(um, "kraków", "Kraków", 50.0647, 19.945);
    upstream_mem_latency(um, 150);
    enum { N = 60 };
    shot s[N];
    for (int i = 0; i < N; i++)
        s[i] = (shot){.query = "city=Krak%C3%B3w"};
    fire_all(s, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(s[i].status, 200);
    assert_int_equal(upstream_mem_geocodes(um), 1);
    assert_int_equal(upstream_mem_forecasts(um), 1);
    /* The persistence reads were shared too: one of the name, one of the key. */
    assert_int_equal(store_mem_geo_reads(sm), 1);
    assert_int_equal(store_mem_reads(sm), 1);
    stop();
}

/* persistence paused (as with SIGSTOP): its reads time out after 1 s. The
 * herd waits for one read per step, not one per request. */
static void herd_with_persistence_paused_answers_within_the_deadline(void **state)
{
    start((const char *const[]){"--workers=4", NULL});
    upstream_mem_place(um, "gdańsk", "Gdańsk", 54.352, 18.6466);
    store_mem_pause_reads(sm, 60000, 1000);
    enum { N = 80 };
    shot s[N];
    for (int i = 0; i < N; i++)
        s[i] = (shot){.query = "city=Gda%C5%84sk"};
    double t0 = nb_mono_s();
    fire_all(s, N);
    double took = nb_mono_s() - t0;
    double worst = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(s[i].status, 200);
        if (s[i].secs > worst) worst = s[i].secs;
    }
    /* Two reads (name, record) of 1 s each, not N / workers × 2 s. */
    assert_true(worst < 6.0);
    assert_true(took < 8.0);
    assert_int_equal(store_mem_geo_reads(sm), 1);
    assert_int_equal(store_mem_reads(sm), 1);
    assert_int_equal(upstream_mem_forecasts(um), 1);
    store_mem_pause_reads(sm, 0, 0);
    stop();
}

static void revalidation_joins_the_renewal_in_flight(void **state)
{
    start(NULL);
    put_stored("45.46,9.19", 3600000, 42.4);
    upstream_mem_latency(um, 300);
    nb_httpc_resp r;
    assert_int_equal(get("lat=45.46&lon=9.19", NULL, &r), 200);
    assert_string_equal(hdr(&r, "X-Cache"), "STALE");
    nb_httpc_resp_release(&r);
    assert_int_equal(get("lat=45.46&lon=9.19", "Cache-Control: no-cache", &r), 200);
    assert_string_equal(hdr(&r, "X-Cache"), "MISS");
    assert_true(starts(hdr(&r, "Cache-Status"), "nimbus; fwd=stale; fwd-status=200"));
    assert_null(strstr(nb_buf_str(&r.body), "\"temperature\":42.4"));
    char etag[64];
    snprintf(etag, sizeof(etag), "If-None-Match: %s", hdr(&r, "ETag"));
    nb_httpc_resp_release(&r);
    assert_int_equal(upstream_mem_forecasts(um), 1);
    assert_int_equal(get("lat=45.46&lon=9.19", etag, &r), 304);
    nb_httpc_resp_release(&r);
    stop();
}

/* ---- the near-cache: persistence's answers kept as its Cache-Control allows ---- */

/* GET status only (the answer released). */
static long status_of(const char *query, const char *header)
{
    nb_httpc_resp r;
    long st = get(query, header, &r);
    nb_httpc_resp_release(&r);
    return st;
}

/* GET; true when the body holds needle. */
static bool body_has(const char *query, const char *needle)
{
    nb_httpc_resp r;
    bool has = get(query, NULL, &r) == 200 && strstr(nb_buf_str(&r.body), needle) != NULL;
    nb_httpc_resp_release(&r);
    return has;
}

/* GET; true when the body holds needle and X-Cache, X-Source are as given. */
static bool answers(const char *query, const char *needle, const char *cache, const char *source)
{
    nb_httpc_resp r;
    bool yes = get(query, NULL, &r) == 200 && strstr(nb_buf_str(&r.body), needle) != NULL &&
               strcmp(hdr(&r, "X-Cache"), cache) == 0 && strcmp(hdr(&r, "X-Source"), source) == 0;
    nb_httpc_resp_release(&r);
    return yes;
}

static void a_copy_is_reused_within_persistences_max_age(void **state)
{
    start(NULL);
    store_mem_max_age(sm, 60);
    put_stored("48.14,11.58", 60000, 42.4);
    nb_httpc_resp r;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(get("lat=48.14&lon=11.58", NULL, &r), 200);
        assert_string_equal(hdr(&r, "X-Cache"), "HIT");
        assert_string_equal(hdr(&r, "X-Source"), "cache");
        assert_true(atoi(hdr(&r, "Age")) >= 60); /* the record's age, not the copy's */
        assert_non_null(strstr(nb_buf_str(&r.body), "\"temperature\":42.4"));
        nb_httpc_resp_release(&r);
    }
    assert_int_equal(store_mem_reads(sm), 1);
    stop();
}

/* No Cache-Control from persistence (or max-age=0): every request asks, and
 * a 304 spares the body. */
static void without_max_age_every_request_revalidates(void **state)
{
    start(NULL);
    put_stored("48.14,11.58", 60000, 42.4);
    for (int i = 0; i < 3; i++)
        assert_true(body_has("lat=48.14&lon=11.58", "\"temperature\":42.4"));
    assert_int_equal(store_mem_reads(sm), 3);
    assert_int_equal(store_mem_not_modified(sm), 2);
    stop();
}

static void a_304_restarts_the_copys_max_age(void **state)
{
    start(NULL);
    store_mem_max_age(sm, 1);
    put_stored("48.14,11.58", 60000, 42.4);
    assert_int_equal(status_of("lat=48.14&lon=11.58", NULL), 200);
    assert_int_equal(store_mem_reads(sm), 1);
    /* Once the second has passed, a request revalidates: 304. */
    WAIT_FOR(status_of("lat=48.14&lon=11.58", NULL) == 200 && store_mem_not_modified(sm) == 1);
    long reads = store_mem_reads(sm);
    /* ... and the copy is good for another second: no read now. */
    assert_true(body_has("lat=48.14&lon=11.58", "\"temperature\":42.4"));
    assert_int_equal(store_mem_reads(sm), reads);
    stop();
}

static void a_clients_no_cache_reaches_persistence(void **state)
{
    start(NULL);
    store_mem_max_age(sm, 60);
    put_stored("48.14,11.58", 60000, 42.4);
    nb_httpc_resp r;
    assert_int_equal(get("lat=48.14&lon=11.58", NULL, &r), 200);
    char inm[80];
    snprintf(inm, sizeof(inm), "If-None-Match: %s", hdr(&r, "ETag"));
    nb_httpc_resp_release(&r);
    assert_int_equal(status_of("lat=48.14&lon=11.58", "Cache-Control: no-cache"), 200);
    assert_int_equal(store_mem_reads(sm), 2);
    assert_int_equal(store_mem_not_modified(sm), 1);
    assert_int_equal(status_of("lat=48.14&lon=11.58", "Cache-Control: max-age=0"), 200);
    assert_int_equal(status_of("lat=48.14&lon=11.58", "Pragma: no-cache"), 200);
    assert_int_equal(store_mem_reads(sm), 4);
    /* A conditional request is no end-to-end revalidation: the copy answers it. */
    assert_int_equal(status_of("lat=48.14&lon=11.58", inm), 304);
    assert_int_equal(store_mem_reads(sm), 4);
    stop();
}

/* Another replica's write: seen once persistence's max-age has passed. */
static void a_newer_record_in_persistence_is_seen_after_max_age(void **state)
{
    start(NULL);
    store_mem_max_age(sm, 2);
    put_stored("48.14,11.58", 60000, 42.4);
    assert_true(body_has("lat=48.14&lon=11.58", "\"temperature\":42.4"));
    put_stored("48.14,11.58", 1000, 17.5);
    int64_t t0 = nb_mono_ms();
    assert_true(body_has("lat=48.14&lon=11.58", "\"temperature\":42.4")); /* the copy */
    WAIT_FOR(body_has("lat=48.14&lon=11.58", "\"temperature\":17.5"));
    assert_true(nb_mono_ms() - t0 < 4000);
    assert_int_equal(upstream_mem_forecasts(um), 0);
    stop();
}

/* The api's own renewal is its copy as soon as persistence confirms the
 * write: no read needed to serve it. */
static void the_apis_own_renewal_updates_its_copy(void **state)
{
    start(NULL);
    store_mem_max_age(sm, 60);
    put_stored("50.94,6.96", 3600000, 42.4);
    nb_httpc_resp r;
    assert_int_equal(get("lat=50.94&lon=6.96", NULL, &r), 200);
    assert_string_equal(hdr(&r, "X-Cache"), "STALE");
    nb_httpc_resp_release(&r);
    WAIT_FOR(store_mem_stored(sm, "/v1/records/50.94,6.96") == 1);
    nb_record stored;
    assert_true(store_mem_get(sm, "50.94,6.96", &stored));
    char want[64];
    snprintf(want, sizeof(want), "\"temperature\":%.10g", stored.current.temperature);
    /* the fetched record is answered from the flight table until the write's
     * answer reaches the near-cache, then from the near-cache: both HIT */
    WAIT_FOR(answers("lat=50.94&lon=6.96", want, "HIT", "cache"));
    assert_int_equal(store_mem_reads(sm), 1);
    assert_int_equal(upstream_mem_forecasts(um), 1);
    stop();
}

/* A stale copy decides nothing alone: persistence may hold another replica's
 * renewal. Only while this api renews the key does the copy answer. */
static void a_stale_copy_is_checked_unless_renewing(void **state)
{
    start(NULL);
    store_mem_max_age(sm, 60);
    put_stored("45.46,9.19", 3600000, 42.4);
    upstream_mem_latency(um, 1500);
    assert_int_equal(status_of("lat=45.46&lon=9.19", NULL), 200); /* STALE, renewal starts */
    assert_int_equal(status_of("lat=45.46&lon=9.19", NULL), 200); /* renewal running: copy */
    assert_int_equal(store_mem_reads(sm), 1);
    WAIT_FOR(store_mem_stored(sm, "/v1/records/45.46,9.19") == 1);

    /* A key whose renewal fails: no renewal runs, so the next request asks. */
    upstream_mem_latency(um, 0);
    upstream_mem_fail(um, NB_ERR_UPSTREAM);
    put_stored("40.00,-3.00", 3600000, 42.4);
    long reads = store_mem_reads(sm);
    assert_int_equal(status_of("lat=40.00&lon=-3.00", NULL), 200);
    WAIT_FOR(upstream_mem_running(um) == 0 && upstream_mem_forecasts(um) >= 2);
    assert_int_equal(status_of("lat=40.00&lon=-3.00", NULL), 200);
    assert_int_equal(store_mem_reads(sm), reads + 2);
    stop();
}

static void the_near_cache_stays_within_its_memory(void **state)
{
    start((const char *const[]){"--near-cache-mb=1", NULL});
    store_mem_max_age(sm, 60);
    double evicted = metric("nimbus_near_cache_evictions_total");
    char key[NB_KEY_MAX], q[64];
    for (int i = 0; i < 400; i++) {
        snprintf(key, sizeof(key), "%d.00,%d.50", i % 80, i / 80);
        put_stored(key, 60000, 42.4);
        snprintf(q, sizeof(q), "lat=%d.00&lon=%d.50", i % 80, i / 80);
        assert_int_equal(status_of(q, NULL), 200);
        assert_true(metric("nimbus_near_cache_bytes") <= 1 << 20);
    }
    assert_true(metric("nimbus_near_cache_evictions_total") > evicted);
    assert_true(metric("nimbus_near_cache_entries") > 10);
    assert_true(metric("nimbus_near_cache_max_bytes") == 1 << 20);
    stop();
}

/* ---- replicas: one service ------------------------------------------- */

static void a_herd_over_two_replicas_makes_one_call_of_each_kind(void **state)
{
    start(NULL);
    start_replica();
    upstream_mem_place(um, "poznań", "Poznań", 52.4064, 16.9252);
    upstream_mem_latency(um, 200);
    enum { N = 60 };
    shot s[N];
    for (int i = 0; i < N; i++)
        s[i] = (shot){.at = i % 2 ? replica_base : base, .query = "city=Pozna%C5%84"};
    fire_all(s, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(s[i].status, 200);
    assert_int_equal(upstream_mem_geocodes(um), 1);
    assert_int_equal(upstream_mem_forecasts(um), 1);
    /* One lease request per key per replica (in-process coalescing first). */
    assert_in_range(store_mem_lease_calls(sm), 2, 8);
    stop_replica();
    stop();
}

static void a_stale_key_on_both_replicas_is_renewed_once(void **state)
{
    start(NULL);
    start_replica();
    put_stored("48.14,11.58", 3600000, 42.4);
    upstream_mem_latency(um, 300);
    nb_httpc_resp r;
    for (int i = 0; i < 6; i++) { /* stale answers at once on both; each starts a renewal */
        assert_int_equal(get_at(i % 2 ? replica_base : base, "lat=48.14&lon=11.58", NULL, &r), 200);
        assert_string_equal(hdr(&r, "X-Cache"), "STALE");
        nb_httpc_resp_release(&r);
    }
    /* A revalidation on the other replica joins the renewal in flight. */
    assert_int_equal(get_at(replica_base, "lat=48.14&lon=11.58", "Cache-Control: no-cache", &r),
                     200);
    assert_null(strstr(nb_buf_str(&r.body), "\"temperature\":42.4"));
    nb_httpc_resp_release(&r);
    WAIT_FOR(store_mem_stored(sm, "/v1/records/48.14,11.58") == 1);
    assert_int_equal(upstream_mem_forecasts(um), 1);
    stop_replica();
    stop();
}

static void without_the_lease_service_each_replica_fetches_alone(void **state)
{
    start(NULL);
    start_replica();
    store_mem_coord_down(sm, true); /* Redis down behind persistence */
    upstream_mem_latency(um, 200);
    enum { N = 40 };
    shot s[N];
    for (int i = 0; i < N; i++)
        s[i] = (shot){.at = i % 2 ? replica_base : base, .query = "lat=45.07&lon=7.69"};
    fire_all(s, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(s[i].status, 200);
    /* Coalesced within each process still: at most one call per replica. */
    assert_in_range(upstream_mem_forecasts(um), 1, 2);
    stop_replica();
    stop();
}

/* ---- failures -------------------------------------------------------- */

static void stale_if_error_and_errors_without_data(void **state)
{
    start((const char *const[]){"--revalidate-wait-ms=300", NULL});
    put_stored("40.00,-3.00", 3600000, 42.4);
    upstream_mem_fail(um, NB_ERR_UPSTREAM);
    nb_httpc_resp r;
    assert_int_equal(get("lat=40&lon=-3", NULL, &r), 200);
    assert_string_equal(hdr(&r, "X-Cache"), "STALE");
    nb_httpc_resp_release(&r);
    double t0 = nb_mono_s();
    assert_int_equal(get("lat=40&lon=-3", "Cache-Control: no-cache", &r), 200);
    assert_string_equal(hdr(&r, "X-Cache"), "STALE");
    assert_true(nb_mono_s() - t0 < 2.0); /* at most the revalidation wait */
    nb_httpc_resp_release(&r);
    assert_int_equal(get("lat=41&lon=-4", NULL, &r), 502);
    assert_non_null(strstr(nb_buf_str(&r.body), "\"error\":\"upstream_error\""));
    assert_true(atoi(hdr(&r, "Retry-After")) >= 1);
    nb_httpc_resp_release(&r);
    /* Nothing stored from a failure. */
    assert_false(store_mem_get(sm, "41.00,-4.00", &(nb_record){0}));
    stop();
}

static void unknown_place_is_404_and_remembered(void **state)
{
    start(NULL);
    nb_httpc_resp r;
    assert_int_equal(get("city=Qwxzyv", NULL, &r), 404);
    assert_non_null(strstr(nb_buf_str(&r.body), "qwxzyv"));
    nb_httpc_resp_release(&r);
    assert_int_equal(get("city=qwxzyv", NULL, &r), 404);
    nb_httpc_resp_release(&r);
    assert_int_equal(upstream_mem_geocodes(um), 1);
    stop();
}

static void pace_limit_is_503_and_the_refusal_is_not_kept(void **state)
{
    start(NULL);
    upstream_mem_fail(um, NB_ERR_RATE_LIMITED);
    enum { N = 20 };
    for (int i = 0; i < N; i++) {
        char q[64];
        snprintf(q, sizeof(q), "lat=10.%02d&lon=10", i);
        nb_httpc_resp r;
        assert_int_equal(get(q, NULL, &r), 503);
        assert_non_null(strstr(nb_buf_str(&r.body), "\"error\":\"rate_limited\""));
        assert_int_equal(atoi(hdr(&r, "Retry-After")), 7);
        nb_httpc_resp_release(&r);
    }
    /* The refused fetches are gone within the hold time (1 s), not at a sweep. */
    assert_true(metric("nimbus_flight_entries{state=\"done\"}") > 0);
    int64_t t0 = nb_mono_ms();
    WAIT_FOR(metric("nimbus_flight_entries{state=\"done\"}") == 0);
    assert_true(nb_mono_ms() - t0 < 3000);
    stop();
}

static void miss_deadline_is_503_then_the_fetch_still_serves(void **state)
{
    start((const char *const[]){"--miss-deadline-ms=300", NULL});
    upstream_mem_latency(um, 3000);
    nb_httpc_resp r;
    double t0 = nb_mono_s();
    assert_int_equal(get("lat=20&lon=20", NULL, &r), 503);
    double took = nb_mono_s() - t0;
    assert_true(took >= 0.28 && took < 2.0); /* the deadline, not the fetch */
    assert_non_null(strstr(nb_buf_str(&r.body), "did not answer within 300 ms"));
    nb_httpc_resp_release(&r);
    /* The fetch goes on; once done the key is answered from memory. */
    WAIT_FOR(upstream_mem_running(um) == 0);
    WAIT_FOR(store_mem_stored(sm, "/v1/records/20.00,20.00") == 1);
    assert_int_equal(get("lat=20&lon=20", NULL, &r), 200);
    nb_httpc_resp_release(&r);
    assert_int_equal(upstream_mem_forecasts(um), 1);
    stop();
}

/* A revalidation with --revalidate-wait-ms 0: its deadline passes as it is
 * attached; whichever of completion and deadline comes first resumes it, once
 * (under ASan a waiter freed while still read would show). */
static void revalidate_wait_zero_answers_stale_at_once(void **state)
{
    start((const char *const[]){"--revalidate-wait-ms=0", NULL});
    put_stored("30.00,30.00", 3600000, 42.4);
    upstream_mem_latency(um, 20);
    enum { N = 40 };
    shot s[N];
    for (int i = 0; i < N; i++)
        s[i] = (shot){.query = "lat=30&lon=30", .header = "Cache-Control: no-cache"};
    fire_all(s, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(s[i].status, 200);
        assert_true(strcmp(s[i].cache, "STALE") == 0 || strcmp(s[i].cache, "MISS") == 0 ||
                    strcmp(s[i].cache, "HIT") == 0);
    }
    stop();
}

/* ---- shutdown ------------------------------------------------------- */

typedef struct stopper {
    app *a;
    double took;
} stopper;

static void shutdown_drops_queued_fetches_and_is_bounded(void **state)
{
    start((const char *const[]){"--renew-workers=1", "--renew-queue=100", "--grace-ms=1000", NULL});
    upstream_mem_latency(um, 10000); /* the running fetch would take 10 s */
    enum { N = 30 };
    shot s[N];
    char q[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(q[i], sizeof(q[i]), "lat=11.%02d&lon=11", i);
        s[i] = (shot){.query = q[i]};
    }
    pthread_t t[N];
    for (int i = 0; i < N; i++)
        pthread_create(&t[i], NULL, fire, &s[i]);
    WAIT_FOR(upstream_mem_running(um) == 1);           /* one running... */
    WAIT_FOR(metric("nimbus_fetch_queue_depth") == N); /* ...the rest queued */
    double t0 = nb_mono_s();
    api_app_stop(svc);
    double took = nb_mono_s() - t0;
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    assert_true(took < 4.0); /* grace 1 s, then the running fetch is cancelled */
    for (int i = 0; i < N; i++)
        assert_int_equal(s[i].status, 503);
    assert_int_equal(upstream_mem_forecasts(um), 1); /* queued ones never ran */
    stop();
}

int main(void)
{
    nb_log_init("api-test", NB_LOG_ERROR);
    nb_httpc_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flow1_fresh_hit_asks_persistence_only),
        cmocka_unit_test(flow2_stale_hit_answers_at_once_and_renews_once),
        cmocka_unit_test(flow5_miss_fetches_answers_and_writes),
        cmocka_unit_test(a_new_observation_is_relayed_at_once),
        cmocka_unit_test(herd_for_a_new_name_makes_one_call_of_each_kind),
        cmocka_unit_test(herd_with_persistence_paused_answers_within_the_deadline),
        cmocka_unit_test(revalidation_joins_the_renewal_in_flight),
        cmocka_unit_test(a_copy_is_reused_within_persistences_max_age),
        cmocka_unit_test(without_max_age_every_request_revalidates),
        cmocka_unit_test(a_304_restarts_the_copys_max_age),
        cmocka_unit_test(a_clients_no_cache_reaches_persistence),
        cmocka_unit_test(a_newer_record_in_persistence_is_seen_after_max_age),
        cmocka_unit_test(the_apis_own_renewal_updates_its_copy),
        cmocka_unit_test(a_stale_copy_is_checked_unless_renewing),
        cmocka_unit_test(the_near_cache_stays_within_its_memory),
        cmocka_unit_test(a_herd_over_two_replicas_makes_one_call_of_each_kind),
        cmocka_unit_test(a_stale_key_on_both_replicas_is_renewed_once),
        cmocka_unit_test(without_the_lease_service_each_replica_fetches_alone),
        cmocka_unit_test(stale_if_error_and_errors_without_data),
        cmocka_unit_test(unknown_place_is_404_and_remembered),
        cmocka_unit_test(pace_limit_is_503_and_the_refusal_is_not_kept),
        cmocka_unit_test(miss_deadline_is_503_then_the_fetch_still_serves),
        cmocka_unit_test(revalidate_wait_zero_answers_stale_at_once),
        cmocka_unit_test(shutdown_drops_queued_fetches_and_is_bounded),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nb_httpc_global_cleanup();
    return rc;
}
