/* Coalescing table: one fetch per id, waiters resumed exactly once (with the
 * one shared result, or at their deadline — never both), kept results gone at
 * their keep time, bounds on entries and waiters, stop. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "flight.h"
#include "nimbus/clock.h"

typedef struct probe {
    fl_waiter w;
    atomic_int calls;
    _Atomic(fl_result *) got;
    atomic_bool timed_out;
} probe;

static void on_resume(fl_waiter *w)
{
    probe *p = (probe *)w;
    if (w->res)
        atomic_store(&p->got, w->res);
    else
        atomic_store(&p->timed_out, true);
    atomic_fetch_add(&p->calls, 1);
}

static void probe_init(probe *p, int64_t wait_ms)
{
    memset(p, 0, sizeof(*p));
    p->w.resume = on_resume;
    p->w.deadline_ms = nb_mono_ms() + wait_ms;
}

static fl_result *record(double t, int64_t fetched)
{
    fl_result *r = api_fl_result_new(FL_RECORD);
    r->rec->rec.current.temperature = t;
    r->rec->rec.fetched_at_ms = fetched;
    return r;
}

static void wait_for(atomic_int *v, int want)
{
    int64_t until = nb_mono_ms() + 5000;
    while (atomic_load(v) < want && nb_mono_ms() < until) {
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL); /* polling a condition with a deadline */
    }
}

static void one_fetch_many_waiters_one_result(void **state)
{
    flights *f = api_fl_new(100, 100);
    probe a, b;
    probe_init(&a, 10000);
    probe_init(&b, 10000);
    assert_int_equal(api_fl_join(f, "w:1", &a.w, true, NULL), FL_STARTED); /* a does the work */
    assert_int_equal(api_fl_join(f, "w:1", &b.w, true, NULL), FL_RUNNING); /* b waits */
    assert_int_equal(api_fl_running(f), 1);
    assert_int_equal(api_fl_waiters(f), 1);
    fl_result *r = record(7.5, 100);
    api_fl_complete(f, "w:1", r, 60000);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 1);
    assert_ptr_equal(atomic_load(&b.got), r); /* the same result, not a copy */
    assert_int_equal(api_fl_running(f), 0);
    assert_int_equal(api_fl_done(f), 1);
    assert_int_equal(api_fl_waiters(f), 0);
    /* Kept: a later join gets the same result without starting a fetch. */
    fl_result *out = NULL;
    assert_int_equal(api_fl_join(f, "w:1", NULL, true, &out), FL_DONE);
    assert_ptr_equal(out, r);
    api_fl_result_unref(out);
    api_fl_result_unref(b.w.res);
    api_fl_result_unref(r);
    /* Forgotten once persistence has it. */
    api_fl_forget(f, "w:1", 99); /* another record: kept */
    assert_int_equal(api_fl_join(f, "w:1", NULL, false, NULL), FL_DONE);
    api_fl_forget(f, "w:1", 100);
    assert_int_equal(api_fl_join(f, "w:1", NULL, false, NULL), FL_NONE);
    assert_int_equal(api_fl_done(f), 0);
    api_fl_free(f);
}

static void deadline_resumes_the_waiter_alone(void **state)
{
    flights *f = api_fl_new(100, 100);
    probe late, patient;
    probe_init(&late, 50);
    probe_init(&patient, 10000);
    assert_int_equal(api_fl_join(f, "w:2", NULL, true, NULL), FL_STARTED);
    assert_int_equal(api_fl_join(f, "w:2", &late.w, false, NULL), FL_RUNNING);
    assert_int_equal(api_fl_join(f, "w:2", &patient.w, false, NULL), FL_RUNNING);
    wait_for(&late.calls, 1);
    assert_int_equal(late.calls, 1);
    assert_true(late.timed_out);
    assert_int_equal(patient.calls, 0);
    fl_result *r = record(1.0, 5);
    api_fl_complete(f, "w:2", r, 0); /* not kept */
    api_fl_result_unref(r);
    assert_int_equal(late.calls, 1); /* never twice */
    assert_int_equal(patient.calls, 1);
    assert_false(patient.timed_out);
    api_fl_result_unref(patient.w.res);
    assert_int_equal(api_fl_join(f, "w:2", NULL, false, NULL), FL_NONE);
    api_fl_free(f);
}

/* Completion and deadlines racing: every waiter is resumed exactly once. */
static void completion_and_deadline_race_exactly_once(void **state)
{
    enum { N = 400 };
    flights *f = api_fl_new(100, N);
    for (int round = 0; round < 5; round++) {
        probe *p = calloc(N, sizeof(*p));
        assert_int_equal(api_fl_join(f, "w:race", NULL, true, NULL), FL_STARTED);
        for (int i = 0; i < N; i++) {
            probe_init(&p[i], i % 3); /* 0, 1 and 2 ms: due while we complete */
            assert_int_equal(api_fl_join(f, "w:race", &p[i].w, false, NULL), FL_RUNNING);
        }
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
        fl_result *r = record(2.0, 1);
        api_fl_complete(f, "w:race", r, 0);
        api_fl_result_unref(r);
        for (int i = 0; i < N; i++) {
            wait_for(&p[i].calls, 1);
            assert_int_equal(atomic_load(&p[i].calls), 1);
            assert_true(atomic_load(&p[i].timed_out) != (atomic_load(&p[i].got) != NULL));
            api_fl_result_unref(p[i].w.res);
        }
        assert_int_equal(api_fl_waiters(f), 0);
        free(p);
    }
    api_fl_free(f);
}

static void kept_results_leave_at_their_keep_time(void **state)
{
    flights *f = api_fl_new(100, 100);
    assert_int_equal(api_fl_join(f, "w:bad", NULL, true, NULL), FL_STARTED);
    fl_result *err = api_fl_result_error(NB_ERR_UPSTREAM, 5, "upstream answered 500");
    api_fl_complete(f, "w:bad", err, 50); /* a failure: held briefly */
    api_fl_result_unref(err);
    assert_int_equal(api_fl_done(f), 1);
    int64_t until = nb_mono_ms() + 2000;
    while (api_fl_done(f) > 0 && nb_mono_ms() < until) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(api_fl_done(f), 0); /* gone by the timer, not by a later join */
    api_fl_free(f);
}

static void bounds_refuse_joins(void **state)
{
    flights *f = api_fl_new(2, 1);
    assert_int_equal(api_fl_join(f, "a", NULL, true, NULL), FL_STARTED);
    assert_int_equal(api_fl_join(f, "b", NULL, true, NULL), FL_STARTED);
    assert_int_equal(api_fl_join(f, "c", NULL, true, NULL), FL_FULL); /* all running */
    probe p, q;
    probe_init(&p, 10000);
    probe_init(&q, 10000);
    assert_int_equal(api_fl_join(f, "a", &p.w, false, NULL), FL_RUNNING);
    assert_int_equal(api_fl_join(f, "a", &q.w, false, NULL), FL_FULL); /* waiters */
    fl_result *r = record(1, 1);
    api_fl_put(f, "c", r, 60000); /* full of running entries: not kept */
    assert_int_equal(api_fl_join(f, "c", NULL, false, NULL), FL_NONE);
    api_fl_complete(f, "a", r, 60000);
    api_fl_complete(f, "b", r, 30000);
    /* Full of kept results: a new entry takes the place of the one due first. */
    assert_int_equal(api_fl_join(f, "c", NULL, true, NULL), FL_STARTED);
    assert_int_equal(api_fl_join(f, "b", NULL, false, NULL), FL_NONE);
    assert_int_equal(api_fl_join(f, "a", NULL, false, NULL), FL_DONE);
    api_fl_complete(f, "c", r, 0);
    api_fl_result_unref(p.w.res);
    api_fl_result_unref(r);
    assert_int_equal(q.calls, 0);
    api_fl_free(f);
}

static void stop_resumes_the_still_waiting(void **state)
{
    flights *f = api_fl_new(100, 100);
    probe p, q;
    probe_init(&p, 60000);
    probe_init(&q, 60000);
    assert_int_equal(api_fl_join(f, "g:x", NULL, true, NULL), FL_STARTED);
    assert_int_equal(api_fl_join(f, "g:x", &p.w, false, NULL), FL_RUNNING);
    api_fl_stop(f);
    assert_int_equal(p.calls, 1);
    assert_true(p.timed_out);
    assert_int_equal(api_fl_join(f, "g:x", &q.w, false, NULL), FL_FULL); /* stopped */
    fl_result *r = record(1, 1);
    api_fl_complete(f, "g:x", r, 1000); /* completing after stop is harmless */
    api_fl_result_unref(r);
    assert_int_equal(q.calls, 0);
    api_fl_free(f);
}

static void put_stores_a_result_without_a_fetch(void **state)
{
    flights *f = api_fl_new(100, 100);
    fl_result *r = api_fl_result_new(FL_PLACE);
    r->geo->found = true;
    api_fl_put(f, "g:berlin", r, 60000);
    fl_result *out = NULL;
    assert_int_equal(api_fl_join(f, "g:berlin", NULL, true, &out), FL_DONE);
    assert_true(out->geo->found);
    api_fl_result_unref(out);
    api_fl_put(f, "g:old", r, 0); /* nothing to keep */
    assert_int_equal(api_fl_join(f, "g:old", NULL, false, NULL), FL_NONE);
    api_fl_result_unref(r);
    api_fl_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_fetch_many_waiters_one_result),
        cmocka_unit_test(deadline_resumes_the_waiter_alone),
        cmocka_unit_test(completion_and_deadline_race_exactly_once),
        cmocka_unit_test(kept_results_leave_at_their_keep_time),
        cmocka_unit_test(bounds_refuse_joins),
        cmocka_unit_test(stop_resumes_the_still_waiting),
        cmocka_unit_test(put_stores_a_result_without_a_fetch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
