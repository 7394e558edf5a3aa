/* test_outbox.c — the transactional outbox as the store sees it, proved over
 * two kv_mem backends: one event per new observation, claims with leases,
 * acks, releases, the gauges and the retention of sent events; and the event
 * document itself (event.h). */
#include <jansson.h>
#include <math.h>
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

#include "event.h"
#include "kv_mem.h"
#include "nimbus/buf.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"
#include "store.h"

typedef struct fixture {
    kv *cache, *db;
    store *st;
} fixture;

static int setup_with(void **state, int64_t retention_ms)
{
    fixture *f = calloc(1, sizeof(*f));
    f->cache = ps_kv_mem_new("cache", 0);
    f->db = ps_kv_mem_new("db", 0);
    store_opts o = {.cache = f->cache,
                    .db = f->db,
                    .probe_min_ms = 10,
                    .probe_max_ms = 40,
                    .health_interval_ms = 20,
                    .outbox_retention_ms = retention_ms};
    f->st = ps_store_new(&o);
    assert_non_null(f->st);
    assert_int_equal(ps_store_start(f->st), NB_OK);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, 0);
}

static int setup_short_retention(void **state)
{
    return setup_with(state, 50);
}

static int teardown(void **state)
{
    fixture *f = *state;
    ps_store_free(f->st);
    ps_kv_free(f->cache);
    ps_kv_free(f->db);
    free(f);
    return 0;
}

static bool wait_for(bool (*pred)(void *), void *arg, int timeout_ms)
{
    int64_t deadline = nb_mono_ms() + timeout_ms;
    while (nb_mono_ms() < deadline) {
        if (pred(arg)) return true;
        nanosleep(&(struct timespec){0, 2 * 1000000L}, NULL);
    }
    return pred(arg);
}

/* A record write with its event, as routes.c makes it. */
typedef struct put_out {
    store_put_result res;
    char id[KV_UUID_LEN + 1];
} put_out;

static nb_err put_obs(fixture *f, const char *key, int64_t version, const char *observed,
                      put_out *out)
{
    char body[96], event[160];
    assert_int_equal(ps_event_uuid_v4(out->id), NB_OK);
    snprintf(body, sizeof(body), "{\"v\":%lld,\"obs\":\"%s\"}", (long long)version, observed);
    snprintf(event, sizeof(event), "{\"id\":\"%s\",\"obs\":\"%s\"}", out->id, observed);
    kv_event ev = {.id = out->id, .observed = observed, .data = event, .len = strlen(event)};
    return ps_store_put_record(f->st, key, version, body, strlen(body), &ev, &out->res);
}

/* Renders /metrics and returns the value of an unlabelled metric (-1: absent). */
static double metric(const char *name)
{
    nb_buf b;
    nb_buf_init(&b, 1 << 20);
    assert_int_equal(nb_metrics_render(&b), NB_OK);
    double v = -1;
    size_t n = strlen(name);
    for (const char *p = nb_buf_str(&b); p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ') v = strtod(p + n + 1, NULL);
    nb_buf_release(&b);
    return v;
}

/* --- one event per new observation ------------------------------------------ */

static void a_new_observation_makes_one_event_and_a_repeat_none(void **state)
{
    fixture *f = *state;
    put_out p;

    /* nothing stored: new */
    assert_int_equal(put_obs(f, "1.00,1.00", 1000, "2026-11-24T01:00", &p), NB_OK);
    assert_true(p.res.applied);
    assert_true(p.res.event_created);
    assert_true(p.res.cache_written);
    assert_int_equal(ps_kv_mem_outbox_len(f->db), 1);
    /* the same observation fetched again, newer: stored, no event */
    assert_int_equal(put_obs(f, "1.00,1.00", 2000, "2026-11-24T01:00", &p), NB_OK);
    assert_true(p.res.applied);
    assert_false(p.res.event_created);
    /* an older write with another observation: not stored, no event */
    assert_int_equal(put_obs(f, "1.00,1.00", 1500, "2026-11-24T01:15", &p), NB_OK);
    assert_false(p.res.applied);
    assert_int_equal(p.res.stored_ms, 2000);
    assert_false(p.res.event_created);
    /* equal version, other observation: not newer, no event */
    assert_int_equal(put_obs(f, "1.00,1.00", 2000, "2026-11-24T01:15", &p), NB_OK);
    assert_false(p.res.applied);
    assert_false(p.res.event_created);
    /* newer and another observation: an event */
    assert_int_equal(put_obs(f, "1.00,1.00", 3000, "2026-11-24T01:15", &p), NB_OK);
    assert_true(p.res.applied);
    assert_true(p.res.event_created);
    /* another key is its own story */
    assert_int_equal(put_obs(f, "2.00,2.00", 1000, "2026-11-24T01:15", &p), NB_OK);
    assert_true(p.res.event_created);
    assert_int_equal(ps_kv_mem_outbox_len(f->db), 3);
    assert_true(
        nb_counter_get(nb_counter_new("nimbus_outbox_events_created_total", NULL, "test")) >= 3);
}

static void an_event_is_kept_even_when_the_cache_write_fails(void **state)
{
    fixture *f = *state;
    put_out p;
    ps_kv_mem_set_down(f->cache, true);
    assert_int_equal(put_obs(f, "3.00,3.00", 1000, "2026-11-24T02:00", &p), NB_OK);
    assert_true(p.res.applied);
    assert_false(p.res.cache_written);
    assert_true(p.res.event_created);
    assert_int_equal(ps_kv_mem_outbox_len(f->db), 1);
}

static void database_down_stores_neither_record_nor_event(void **state)
{
    fixture *f = *state;
    put_out p;
    kv_outbox_event *evs;
    size_t n, done;
    kv_outbox_stats st;
    const char *ids[1] = {"00000000-0000-4000-8000-000000000000"};

    ps_kv_mem_set_down(f->db, true);
    assert_int_equal(put_obs(f, "4.00,4.00", 1000, "2026-11-24T02:00", &p), NB_ERR_UNAVAILABLE);
    assert_false(p.res.event_created);
    assert_int_equal(ps_store_outbox_claim(f->st, "a", 10, 1000, &evs, &n), NB_ERR_UNAVAILABLE);
    assert_int_equal(n, 0);
    assert_int_equal(ps_store_outbox_ack(f->st, 1, ids, &done), NB_ERR_UNAVAILABLE);
    assert_int_equal(ps_store_outbox_release(f->st, "a", 1, ids, &done), NB_ERR_UNAVAILABLE);
    assert_int_equal(ps_store_outbox_stats(f->st, &st), NB_ERR_UNAVAILABLE);
    ps_kv_mem_set_down(f->db, false);
    assert_int_equal(ps_kv_mem_outbox_len(f->db), 0);
    int64_t v;
    assert_int_equal(ps_kv_mem_peek(f->db, KV_NS_RECORD, "4.00,4.00", &v), NB_ERR_NOT_FOUND);
}

static void future_records_are_refused_with_no_event(void **state)
{
    fixture *f = *state;
    put_out p;
    int64_t skew = ps_store_max_skew_ms(f->st);
    assert_int_equal(skew, 60000); /* the default */
    assert_int_equal(put_obs(f, "5.00,5.00", nb_now_ms() + skew + 5000, "2026-11-24T02:00", &p),
                     NB_ERR_INVALID);
    assert_int_equal(ps_kv_mem_outbox_len(f->db), 0);
    assert_int_equal(put_obs(f, "5.00,5.00", nb_now_ms() + skew / 2, "2026-11-24T02:00", &p),
                     NB_OK);
    assert_true(p.res.event_created);
}

/* --- claims ----------------------------------------------------------------- */

/* n events for keys first.00,7.00, first+1.00,7.00, ... */
static void make_events(fixture *f, int first, int n, char ids[][KV_UUID_LEN + 1])
{
    for (int i = 0; i < n; i++) {
        char key[16];
        put_out p;
        snprintf(key, sizeof(key), "%d.00,7.00", first + i);
        assert_int_equal(put_obs(f, key, 1000, "2026-11-24T03:00", &p), NB_OK);
        assert_true(p.res.event_created);
        if (ids) memcpy(ids[i], p.id, sizeof(p.id));
    }
}

static void claims_are_oldest_first_and_disjoint(void **state)
{
    fixture *f = *state;
    char ids[5][KV_UUID_LEN + 1];
    kv_outbox_event *a, *b, *c;
    size_t na, nb, nc;

    make_events(f, 10, 5, ids);
    assert_int_equal(ps_store_outbox_claim(f->st, "relay-a", 3, 60000, &a, &na), NB_OK);
    assert_int_equal(na, 3);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(a[i].id, ids[i]);
        assert_non_null(strstr(a[i].data, ids[i])); /* the event body as stored */
    }
    assert_string_equal(a[0].key, "10.00,7.00");
    assert_int_equal(ps_store_outbox_claim(f->st, "relay-b", 10, 60000, &b, &nb), NB_OK);
    assert_int_equal(nb, 2);
    assert_string_equal(b[0].id, ids[3]);
    assert_string_equal(b[1].id, ids[4]);
    assert_int_equal(ps_store_outbox_claim(f->st, "relay-c", 10, 60000, &c, &nc), NB_OK);
    assert_int_equal(nc, 0); /* everything is leased */
    assert_null(c);
    ps_kv_outbox_events_free(a, na);
    ps_kv_outbox_events_free(b, nb);
}

static void acked_events_never_come_back(void **state)
{
    fixture *f = *state;
    char ids[3][KV_UUID_LEN + 1];
    kv_outbox_event *evs;
    size_t n, done;

    make_events(f, 10, 3, ids);
    assert_int_equal(ps_store_outbox_claim(f->st, "a", 10, 1000, &evs, &n), NB_OK);
    assert_int_equal(n, 3);
    ps_kv_outbox_events_free(evs, n);
    const char *acks[2] = {ids[0], ids[2]};
    assert_int_equal(ps_store_outbox_ack(f->st, 2, acks, &done), NB_OK);
    assert_int_equal(done, 2);
    assert_int_equal(ps_store_outbox_ack(f->st, 2, acks, &done), NB_OK);
    assert_int_equal(done, 0); /* idempotent */
    kv_outbox_stats st;
    assert_int_equal(ps_store_outbox_stats(f->st, &st), NB_OK);
    assert_int_equal(st.pending, 1);
    /* released by its owner, the unacked one is claimable at once; acked never */
    const char *rest[1] = {ids[1]};
    assert_int_equal(ps_store_outbox_release(f->st, "someone-else", 1, rest, &done), NB_OK);
    assert_int_equal(done, 0);
    assert_int_equal(
        ps_store_outbox_release(f->st, "a", 3, (const char *[]){ids[0], ids[1], ids[2]}, &done),
        NB_OK);
    assert_int_equal(done, 1);
    assert_int_equal(ps_store_outbox_claim(f->st, "b", 10, 1000, &evs, &n), NB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(evs[0].id, ids[1]);
    ps_kv_outbox_events_free(evs, n);
}

typedef struct claim_arg {
    fixture *f;
    const char *owner;
    size_t n;
} claim_arg;

static bool claimable(void *p)
{
    claim_arg *a = p;
    kv_outbox_event *evs;
    assert_int_equal(ps_store_outbox_claim(a->f->st, a->owner, 10, 60000, &evs, &a->n), NB_OK);
    ps_kv_outbox_events_free(evs, a->n);
    return a->n > 0;
}

static void an_expired_lease_is_claimable_again(void **state)
{
    fixture *f = *state;
    kv_outbox_event *evs;
    size_t n;
    make_events(f, 10, 2, NULL);
    int64_t t0 = nb_mono_ms();
    assert_int_equal(ps_store_outbox_claim(f->st, "crashed", 10, 150, &evs, &n), NB_OK);
    assert_int_equal(n, 2);
    ps_kv_outbox_events_free(evs, n);
    claim_arg a = {f, "survivor", 0};
    assert_false(claimable(&a)); /* leased */
    assert_true(wait_for(claimable, &a, 3000));
    assert_int_equal(a.n, 2);
    /* not before the lease ran out; the lease is on the wall clock and this
     * measure on the monotonic one, each read at millisecond granularity */
    assert_true(nb_mono_ms() - t0 >= 148);
}

/* --- gauges and retention -------------------------------------------------------- */

static bool gauges_show_two_pending(void *p)
{
    (void)p;
    return metric("nimbus_outbox_pending") == 2;
}

static bool gauges_show_none_pending(void *p)
{
    (void)p;
    return metric("nimbus_outbox_pending") == 0 &&
           metric("nimbus_outbox_oldest_pending_age_seconds") == 0;
}

static bool outbox_empty(void *p)
{
    return ps_kv_mem_outbox_len(p) == 0;
}

static void gauges_follow_the_outbox_and_sent_events_are_purged(void **state)
{
    fixture *f = *state;
    char ids[2][KV_UUID_LEN + 1];
    size_t done;
    make_events(f, 10, 2, ids);
    assert_true(wait_for(gauges_show_two_pending, NULL, 3000));
    assert_int_equal(ps_store_outbox_ack(f->st, 2, (const char *[]){ids[0], ids[1]}, &done), NB_OK);
    assert_int_equal(done, 2);
    assert_true(wait_for(gauges_show_none_pending, NULL, 3000));
    /* retention 50 ms: the fill thread deletes them */
    assert_true(wait_for(outbox_empty, f->db, 3000));
}

static bool oldest_is_50ms_old(void *p)
{
    kv_outbox_stats st;
    assert_int_equal(ps_store_outbox_stats(p, &st), NB_OK);
    return st.oldest_age_s >= 0.05;
}

static void stats_report_the_oldest_pending_age(void **state)
{
    fixture *f = *state;
    kv_outbox_stats st;
    assert_int_equal(ps_store_outbox_stats(f->st, &st), NB_OK);
    assert_int_equal(st.pending, 0);
    assert_true(st.oldest_age_s == 0);
    make_events(f, 10, 1, NULL);
    assert_true(wait_for(oldest_is_50ms_old, f->st, 3000));
    make_events(f, 11, 1, NULL); /* the age is the oldest one's */
    assert_int_equal(ps_store_outbox_stats(f->st, &st), NB_OK);
    assert_int_equal(st.pending, 2);
    assert_true(st.oldest_age_s >= 0.05 && st.oldest_age_s < 10);
}

/* --- concurrency ------------------------------------------------------------------ */

typedef struct writer_arg {
    fixture *f;
    int id;
    int events;
} writer_arg;

/* Writers race on one key; observation i is fetched at versions 100i..100i+9
 * (later observations are newer), each writer writes every one of them in its
 * own order. */
static void *writer(void *p)
{
    writer_arg *a = p;
    for (int i = 0; i < 40; i++) {
        int obs = (i * 7 + a->id * 3) % 40;
        char observed[32];
        put_out o;
        snprintf(observed, sizeof(observed), "2026-11-24T%02d:%02d", obs / 60, obs % 60);
        if (put_obs(a->f, "8.00,8.00", 100000 + 100 * obs + a->id, observed, &o) == NB_OK &&
            o.res.event_created)
            a->events++;
    }
    return NULL;
}

static void concurrent_writers_make_at_most_one_event_per_observation(void **state)
{
    fixture *f = *state;
    pthread_t t[8];
    writer_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (writer_arg){f, i, 0};
        pthread_create(&t[i], NULL, writer, &a[i]);
    }
    int events = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        events += a[i].events;
    }
    /* every event is in the outbox, none twice for an observation */
    kv_outbox_event *evs;
    size_t n;
    assert_int_equal(ps_store_outbox_claim(f->st, "check", 1000, 60000, &evs, &n), NB_OK);
    assert_int_equal((int)n, events);
    assert_true(n >= 1 && n <= 40);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            const char *oi = strstr(evs[i].data, "\"obs\""), *oj = strstr(evs[j].data, "\"obs\"");
            assert_string_not_equal(oi, oj);
        }
    /* the last observation is stored, and it has its event */
    bool last = false;
    for (size_t i = 0; i < n; i++)
        last |= strstr(evs[i].data, "2026-11-24T00:39") != NULL;
    assert_true(last);
    ps_kv_outbox_events_free(evs, n);
}

/* --- the event document ---------------------------------------------------------- */

static void uuids_are_version_4(void **state)
{
    (void)state;
    char a[KV_UUID_LEN + 1], b[KV_UUID_LEN + 1];
    assert_int_equal(ps_event_uuid_v4(a), NB_OK);
    assert_int_equal(ps_event_uuid_v4(b), NB_OK);
    assert_true(ps_event_uuid_valid(a));
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));
    assert_true(ps_event_uuid_valid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
    assert_false(ps_event_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950"));
    assert_false(ps_event_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950e0"));
    assert_false(ps_event_uuid_valid("0f8fad5bd-9cb-469f-a165-70867728950e"));
    assert_false(ps_event_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950g"));
    assert_false(ps_event_uuid_valid(""));
}

static void the_event_carries_the_observation(void **state)
{
    (void)state;
    nb_record r = {.key = "52.52,13.41",
                   .latitude = 52.52,
                   .longitude = 13.41,
                   .fetched_at_ms = 1795480287487,
                   .timezone = "Europe/Berlin",
                   .current = {.time = "2026-11-24T01:30",
                               .temperature = 2.5,
                               .apparent_temperature = NAN,
                               .relative_humidity = 72,
                               .wind_speed = 20.6,
                               .weather_code = 3}};
    size_t len;
    char *text =
        ps_event_build(&r, "Berlin", "3ac073fe-f32e-4dbc-8fb6-d850933b3b41", 1795480287568, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "id")),
                        "3ac073fe-f32e-4dbc-8fb6-d850933b3b41");
    assert_string_equal(json_string_value(json_object_get(doc, "type")), "weather.observation");
    assert_string_equal(json_string_value(json_object_get(doc, "time")),
                        "2026-11-24T00:31:27.568Z");
    assert_string_equal(json_string_value(json_object_get(doc, "fetched_at")),
                        "2026-11-24T00:31:27.487Z");
    assert_string_equal(json_string_value(json_object_get(doc, "key")), "52.52,13.41");
    json_t *loc = json_object_get(doc, "location");
    assert_string_equal(json_string_value(json_object_get(loc, "name")), "Berlin");
    assert_true(json_real_value(json_object_get(loc, "latitude")) == 52.52);
    json_t *obs = json_object_get(doc, "observation");
    assert_string_equal(json_string_value(json_object_get(obs, "time")), "2026-11-24T01:30");
    assert_string_equal(json_string_value(json_object_get(obs, "condition")), "Overcast");
    assert_int_equal(json_integer_value(json_object_get(obs, "weather_code")), 3);
    assert_true(json_is_null(json_object_get(obs, "apparent_temperature")));
    json_decref(doc);
    free(text);

    /* no name, no weather code */
    r.current.weather_code = NAN;
    text = ps_event_build(&r, NULL, "3ac073fe-f32e-4dbc-8fb6-d850933b3b41", 0, &len);
    doc = json_loads(text, 0, NULL);
    assert_null(json_object_get(json_object_get(doc, "location"), "name"));
    obs = json_object_get(doc, "observation");
    assert_true(json_is_null(json_object_get(obs, "weather_code")));
    assert_string_equal(json_string_value(json_object_get(obs, "condition")), "Unknown");
    json_decref(doc);
    free(text);
}

int main(void)
{
    nb_log_init("outbox-test", NB_LOG_ERROR);
    json_object_seed(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_new_observation_makes_one_event_and_a_repeat_none, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_event_is_kept_even_when_the_cache_write_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(database_down_stores_neither_record_nor_event, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(future_records_are_refused_with_no_event, setup, teardown),
        cmocka_unit_test_setup_teardown(claims_are_oldest_first_and_disjoint, setup, teardown),
        cmocka_unit_test_setup_teardown(acked_events_never_come_back, setup, teardown),
        cmocka_unit_test_setup_teardown(an_expired_lease_is_claimable_again, setup, teardown),
        cmocka_unit_test_setup_teardown(gauges_follow_the_outbox_and_sent_events_are_purged,
                                        setup_short_retention, teardown),
        cmocka_unit_test_setup_teardown(stats_report_the_oldest_pending_age, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_writers_make_at_most_one_event_per_observation,
                                        setup, teardown),
        cmocka_unit_test(uuids_are_version_4),
        cmocka_unit_test(the_event_carries_the_observation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
