/* Coalescing table: one fetch per id, waiters answered once with the result
 * or at their deadline, results kept until forgotten or expired. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "flight.h"
#include "nimbus/clock.h"

typedef struct probe {
    fl_waiter w;
    atomic_int calls;
    atomic_int got_result; /* 1 result, 2 deadline */
    double temperature;
} probe;

static void on_done(fl_waiter *w, const fl_result *res)
{
    probe *p = (probe *)w;
    atomic_fetch_add(&p->calls, 1);
    if (res) {
        p->temperature = res->rec.current.temperature;
        atomic_store(&p->got_result, 1);
    } else {
        atomic_store(&p->got_result, 2);
    }
}

static fl_result result(double t, int64_t fetched)
{
    fl_result r;
    memset(&r, 0, sizeof(r));
    r.rec.current.temperature = t;
    r.rec.fetched_at_ms = fetched;
    return r;
}

static void one_fetch_many_waiters(void **state)
{
    flights *f = flights_new();
    probe a = {.w = {.done = on_done, .deadline_ms = nb_mono_ms() + 10000}};
    probe b = a;
    assert_int_equal(flights_join(f, "w:1", &a.w, true, NULL), FL_STARTED);
    assert_int_equal(flights_join(f, "w:1", &b.w, true, NULL), FL_RUNNING);
    assert_int_equal(flights_running(f), 1);
    fl_result r = result(7.5, 100);
    flights_complete(f, "w:1", &r, nb_mono_ms() + 60000);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_true(a.temperature == 7.5 && b.temperature == 7.5);
    assert_int_equal(flights_running(f), 0);
    /* Kept: a later join gets the result without starting a fetch. */
    fl_result out;
    assert_int_equal(flights_join(f, "w:1", NULL, true, &out), FL_DONE);
    assert_true(out.rec.current.temperature == 7.5);
    /* Forgotten once persistence has it. */
    flights_forget(f, "w:1", 99); /* another record: kept */
    assert_int_equal(flights_join(f, "w:1", NULL, false, NULL), FL_DONE);
    flights_forget(f, "w:1", 100);
    assert_int_equal(flights_join(f, "w:1", NULL, false, NULL), FL_NONE);
    flights_free(f);
}

static void deadline_answers_the_waiter_alone(void **state)
{
    flights *f = flights_new();
    probe late = {.w = {.done = on_done, .deadline_ms = nb_mono_ms() + 50}};
    probe patient = {.w = {.done = on_done, .deadline_ms = nb_mono_ms() + 10000}};
    assert_int_equal(flights_join(f, "w:2", &late.w, true, NULL), FL_STARTED);
    assert_int_equal(flights_join(f, "w:2", &patient.w, true, NULL), FL_RUNNING);
    int64_t until = nb_mono_ms() + 2000;
    while (atomic_load(&late.calls) == 0 && nb_mono_ms() < until) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL); /* polling a condition with a deadline */
    }
    assert_int_equal(late.calls, 1);
    assert_int_equal(late.got_result, 2);
    assert_int_equal(patient.calls, 0);
    fl_result r = result(1.0, 5);
    flights_complete(f, "w:2", &r, 0); /* not kept */
    assert_int_equal(late.calls, 1);   /* never twice */
    assert_int_equal(patient.got_result, 1);
    assert_int_equal(flights_join(f, "w:2", NULL, false, NULL), FL_NONE);
    flights_free(f);
}

static void free_answers_the_still_waiting(void **state)
{
    flights *f = flights_new();
    probe p = {.w = {.done = on_done, .deadline_ms = nb_mono_ms() + 60000}};
    assert_int_equal(flights_join(f, "g:x", &p.w, true, NULL), FL_STARTED);
    flights_free(f);
    assert_int_equal(p.calls, 1);
    assert_int_equal(p.got_result, 2);
}

static void put_stores_a_result_without_a_fetch(void **state)
{
    flights *f = flights_new();
    fl_result r = result(3.0, 1);
    r.geo_found = true;
    flights_put(f, "g:berlin", &r, nb_mono_ms() + 60000);
    fl_result out;
    assert_int_equal(flights_join(f, "g:berlin", NULL, true, &out), FL_DONE);
    assert_true(out.geo_found);
    flights_put(f, "g:old", &r, nb_mono_ms() - 1); /* already expired */
    assert_int_equal(flights_join(f, "g:old", NULL, false, NULL), FL_NONE);
    flights_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_fetch_many_waiters),
        cmocka_unit_test(deadline_answers_the_waiter_alone),
        cmocka_unit_test(free_answers_the_still_waiting),
        cmocka_unit_test(put_stores_a_result_without_a_fetch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
