/* The upstream budget (budget.c) against persistence's in-memory double:
 * replicas share one budget, a refusal says when and which window, and while
 * persistence cannot answer a replica spends only its own small allowance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "budget.h"
#include "doubles.h"
#include "nimbus/log.h"

static void replicas_spend_one_budget(void **state)
{
    store_mem *sm = store_mem_new();
    budget_opts o = {.per_min = 60, .per_hour = 5000, .per_day = 10000, .fallback_pct = 10};
    budget *a = api_budget_new(store_mem_base(sm), &o), *b = api_budget_new(store_mem_base(sm), &o);
    int granted = 0, retry = 0;
    char why[200];
    for (int i = 0; i < 20; i++) /* 20 new places, over two replicas in turn */
        granted += api_budget_take(i % 2 ? a : b, 1.0, &retry, why, sizeof(why));
    assert_int_equal(granted, 6); /* what one replica alone would get: a tenth of 60 */
    assert_in_range(retry, 1, 2);
    assert_string_equal(why, "upstream budget spent (the minute's limit of 60 calls, for every "
                             "replica); enough is back in 2 s");
    api_budget_free(a);
    api_budget_free(b);
    api_store_free(store_mem_base(sm));
}

static void a_costly_forecast_spends_more(void **state)
{
    store_mem *sm = store_mem_new();
    budget_opts o = {.per_min = 600, .per_hour = 5000, .per_day = 10000, .fallback_pct = 10};
    budget *a = api_budget_new(store_mem_base(sm), &o);
    int granted = 0, retry = 0;
    char why[200];
    for (int i = 0; i < 100; i++)
        granted += api_budget_take(a, 2.5, &retry, why, sizeof(why));
    assert_int_equal(granted, 24); /* a burst of 60 calls' worth */
    api_budget_free(a);
    api_store_free(store_mem_base(sm));
}

static void without_persistence_a_replica_spends_its_own_share(void **state)
{
    store_mem *sm = store_mem_new();
    budget_opts o = {.per_min = 600, .per_hour = 5000, .per_day = 10000, .fallback_pct = 10};
    budget *a = api_budget_new(store_mem_base(sm), &o);
    int granted = 0, retry = 0;
    char why[200];
    nb_buf status;
    store_mem_coord_down(sm, true);
    for (int i = 0; i < 20; i++)
        granted += api_budget_take(a, 1.0, &retry, why, sizeof(why));
    assert_int_equal(granted, 6); /* a tenth of the minute's burst of 60 */
    assert_non_null(strstr(why, "this replica's own allowance of 60 calls a minute"));
    nb_buf_init(&status, 1024);
    api_budget_status(a, &status);
    assert_non_null(strstr(nb_buf_str(&status), "\"budget\":\"local\""));
    nb_buf_release(&status);
    /* persistence is back: the shared budget applies again */
    store_mem_coord_down(sm, false);
    assert_true(api_budget_take(a, 1.0, &retry, why, sizeof(why)));
    nb_buf_init(&status, 1024);
    api_budget_status(a, &status);
    assert_non_null(strstr(nb_buf_str(&status), "\"budget\":\"shared\""));
    nb_buf_release(&status);
    api_budget_free(a);
    api_store_free(store_mem_base(sm));
}

int main(void)
{
    nb_log_init("budget-test", NB_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replicas_spend_one_budget),
        cmocka_unit_test(a_costly_forecast_spends_more),
        cmocka_unit_test(without_persistence_a_replica_spends_its_own_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
