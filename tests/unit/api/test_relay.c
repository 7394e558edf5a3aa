/* The outbox relay over in-memory persistence and broker: events are acked
 * only once delivered; a broker outage keeps them in the outbox until it is
 * back; a stop releases the claims for the next relay; a relay that dies
 * without releasing is replaced once its lease ends; two relays on one outbox
 * deliver every event; a write that made an event wakes the relay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "doubles.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "relay.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#define WAIT_FOR(cond, ms)                                                                         \
    do {                                                                                           \
        int64_t until_ = nb_mono_ms() + (ms);                                                      \
        while (!(cond) && nb_mono_ms() < until_)                                                   \
            sleep_ms(5);                                                                           \
        assert_true(cond);                                                                         \
    } while (0)

static relay *start(store_mem *m, broker_mem *b, const char *owner, long lease_ms, long poll_ms)
{
    relay_opts o = {.owner = owner, .batch = 50, .lease_ms = lease_ms, .poll_ms = poll_ms};
    relay *r = api_relay_new(store_mem_base(m), broker_mem_base(b), &o);
    assert_non_null(r);
    return r;
}

static void add_events(store_mem *m, int n, char ids[][40])
{
    for (int i = 0; i < n; i++) {
        char key[NB_KEY_MAX];
        snprintf(key, sizeof(key), "1.%02d,1.00", i % 100);
        store_mem_add_event(m, key, "2026-11-24T10:00", ids[i]);
    }
}

static void events_are_acked_once_delivered(void **state)
{
    store_mem *m = store_mem_new();
    broker_mem *b = broker_mem_new(1000);
    char ids[5][40];
    add_events(m, 5, ids);
    relay *r = start(m, b, "r1", 2000, 50);
    WAIT_FOR(store_mem_acked(m) == 5, 5000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(broker_mem_count_id(b, ids[i]), 1);
    assert_int_equal(store_mem_unsent(m), 0);
    api_relay_free(r);
    api_broker_free(broker_mem_base(b));
    api_store_free(store_mem_base(m));
}

static void a_broker_outage_keeps_events_until_it_is_back(void **state)
{
    store_mem *m = store_mem_new();
    broker_mem *b = broker_mem_new(500); /* messages time out at half the lease */
    broker_mem_down(b, true);
    char ids[3][40];
    add_events(m, 3, ids);
    relay *r = start(m, b, "r1", 1000, 50);
    /* Claimed, timed out (failed), released and claimed again: twice each. */
    WAIT_FOR(store_mem_claims(m) >= 6, 10000);
    assert_int_equal(store_mem_acked(m), 0);
    assert_int_equal(store_mem_unsent(m), 3);
    assert_int_equal(broker_mem_delivered(b), 0);
    broker_mem_down(b, false);
    WAIT_FOR(store_mem_acked(m) == 3, 10000);
    for (int i = 0; i < 3; i++)
        assert_true(broker_mem_count_id(b, ids[i]) >= 1);
    api_relay_free(r);
    api_broker_free(broker_mem_base(b));
    api_store_free(store_mem_base(m));
}

static void stop_releases_claims_for_the_next_relay(void **state)
{
    store_mem *m = store_mem_new();
    broker_mem *down = broker_mem_new(30000);
    broker_mem_down(down, true);
    char ids[3][40];
    add_events(m, 3, ids);
    relay *r = start(m, down, "first", 60000, 50);
    WAIT_FOR(store_mem_claimed_by(m, "first") == 3, 5000);
    int64_t t0 = nb_mono_ms();
    api_relay_stop(r, nb_mono_ms() + 200, 500);
    api_relay_join(r);
    assert_true(nb_mono_ms() - t0 < 2000); /* bounded, not the 30 s message timeout */
    assert_int_equal(store_mem_claimed_by(m, "first"), 0);
    assert_int_equal(store_mem_unsent(m), 3);
    api_relay_free(r);
    api_broker_free(broker_mem_base(down));
    /* The next relay takes them at once: no lease to wait for. */
    broker_mem *up = broker_mem_new(30000);
    relay *next = start(m, up, "second", 60000, 50);
    WAIT_FOR(store_mem_acked(m) == 3, 3000);
    api_relay_free(next);
    api_broker_free(broker_mem_base(up));
    api_store_free(store_mem_base(m));
}

static void a_dead_relays_claims_end_with_their_lease(void **state)
{
    store_mem *m = store_mem_new();
    char ids[4][40];
    add_events(m, 4, ids);
    /* A relay that claimed and died (SIGKILL): nobody releases. */
    outbox_event *evs;
    size_t n;
    assert_int_equal(api_store_claim(store_mem_base(m), "dead", 10, 1000, 0, &evs, &n, NULL),
                     NB_OK);
    assert_int_equal(n, 4);
    api_outbox_events_free(evs, n);
    broker_mem *b = broker_mem_new(1000);
    int64_t t0 = nb_mono_ms();
    relay *r = start(m, b, "alive", 2000, 50);
    WAIT_FOR(store_mem_acked(m) == 4, 5000);
    assert_true(nb_mono_ms() - t0 >= 900); /* not before the lease ended */
    for (int i = 0; i < 4; i++)
        assert_int_equal(broker_mem_count_id(b, ids[i]), 1);
    api_relay_free(r);
    api_broker_free(broker_mem_base(b));
    api_store_free(store_mem_base(m));
}

static void two_relays_deliver_every_event(void **state)
{
    enum { N = 300 };
    store_mem *m = store_mem_new();
    broker_mem *b = broker_mem_new(5000), *b2 = broker_mem_new_on(b, 5000); /* one topic */
    relay *r1 = start(m, b, "replica-1", 10000, 20);
    relay *r2 = start(m, b2, "replica-2", 10000, 20);
    static char ids[N][40];
    for (int i = 0; i < N; i += 10) { /* arriving over time */
        add_events(m, 10, ids + i);
        api_relay_wake(r1);
        api_relay_wake(r2);
        sleep_ms(2);
    }
    WAIT_FOR(store_mem_acked(m) == N, 10000);
    long dup = 0;
    for (int i = 0; i < N; i++) {
        long c = broker_mem_count_id(b, ids[i]);
        assert_true(c >= 1);
        dup += c - 1;
    }
    assert_int_equal(dup, 0); /* claims are exclusive while they hold */
    api_relay_free(r1);
    api_relay_free(r2);
    api_broker_free(broker_mem_base(b2));
    api_broker_free(broker_mem_base(b));
    api_store_free(store_mem_base(m));
}

static void persistence_down_delays_nothing_is_lost(void **state)
{
    store_mem *m = store_mem_new();
    broker_mem *b = broker_mem_new(1000);
    store_mem_outbox_down(m, true);
    char ids[2][40];
    add_events(m, 2, ids);
    relay *r = start(m, b, "r1", 2000, 50);
    WAIT_FOR(store_mem_outbox_calls(m) >= 2, 5000); /* tried, failed, tried again */
    assert_int_equal(broker_mem_delivered(b), 0);
    store_mem_outbox_down(m, false);
    WAIT_FOR(store_mem_acked(m) == 2, 10000); /* backoff is capped at 5 s */
    api_relay_free(r);
    api_broker_free(broker_mem_base(b));
    api_store_free(store_mem_base(m));
}

int main(void)
{
    nb_log_init("relay-test", NB_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events_are_acked_once_delivered),
        cmocka_unit_test(a_broker_outage_keeps_events_until_it_is_back),
        cmocka_unit_test(stop_releases_claims_for_the_next_relay),
        cmocka_unit_test(a_dead_relays_claims_end_with_their_lease),
        cmocka_unit_test(two_relays_deliver_every_event),
        cmocka_unit_test(persistence_down_delays_nothing_is_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
