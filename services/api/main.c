/* main.c — nimbus-api: settings → logging → clients → service → wait for a
 * signal → stop in reverse order (bounded; see app.h). */
#include <jansson.h>

#include "api_config.h"
#include "app.h"
#include "broker_kafka.h"
#include "budget.h"
#include "nimbus/http_client.h"
#include "nimbus/http_server.h"
#include "nimbus/log.h"
#include "store_http.h"
#include "upstream_http.h"

int main(int argc, char **argv)
{
    api_config cfg;
    bool exit_now;
    if (api_config_load(&cfg, argc, argv, &exit_now) != NB_OK) return 2;
    if (exit_now) return 0;
    if (!nb_log_start("api", cfg.log_level)) return 2;
    api_config_log();

    json_object_seed(0);
    if (nb_httpc_global_init() != NB_OK) return 1;

    int rc = 1;
    app *a = NULL;
    store *st = api_store_http_new(&cfg);
    budget_opts bo = {.alone = !cfg.coordinate,
                      .per_min = cfg.upstream_pace_per_min,
                      .per_hour = cfg.upstream_budget_per_hour,
                      .per_day = cfg.upstream_budget_per_day,
                      .fallback_pct = cfg.upstream_budget_local_pct};
    budget *bud = st ? api_budget_new(st, &bo) : NULL;
    upstream *up = bud ? api_upstream_http_new(&cfg, bud) : NULL;
    /* Kafka messages time out at half the claim lease: a report comes before the claim ends. */
    broker *br = cfg.kafka_brokers[0] ? api_broker_kafka_new(cfg.kafka_brokers, cfg.kafka_topic,
                                                             cfg.relay_lease_ms / 2)
                                      : NULL;
    if (st && up && (br || !cfg.kafka_brokers[0])) {
        app_clients clients = {.st = st, .up = up, .br = br, .bud = bud};
        a = api_app_new(&cfg, &clients);
    }
    if (a && api_app_start(a) == NB_OK) {
        nb_server_wait_for_signal(api_app_server(a));
        rc = 0;
    }
    api_app_free(a);
    api_broker_free(br);
    api_upstream_free(up);
    api_budget_free(bud);
    api_store_free(st);
    nb_httpc_global_cleanup();
    nb_info("stopped");
    return rc;
}
