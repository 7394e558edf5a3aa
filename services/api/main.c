/* main.c — nimbus-api: declares its parts (the persistence client, the
 * upstream budget and client, the Kafka producer, the api service) for the
 * one service skeleton (nimbus/service.h), which loads the settings
 * (api_config.c), starts the parts in order and stops them in reverse order.
 * The api service's own stop is the bounded shutdown in app.h. main() only
 * wires. */
#include <stddef.h>

#include "api_config.h"
#include "app.h"
#include "broker_kafka.h"
#include "budget.h"
#include "nimbus/service.h"
#include "store_http.h"
#include "upstream_http.h"

typedef struct api {
    api_config *cfg;
    store *st;
    budget *bud;
    upstream *up;
    broker *br; /* NULL: no Kafka configured (events wait in the outbox) */
    app *a;
} api;

static nb_err store_start(void *ctx)
{
    api *p = ctx;
    p->st = api_store_http_new(p->cfg);
    return p->st ? NB_OK : NB_ERR_NOMEM;
}

static void store_stop(void *ctx)
{
    api_store_free(((api *)ctx)->st);
}

static nb_err budget_start(void *ctx)
{
    api *p = ctx;
    budget_opts bo = {.alone = !p->cfg->coordinate,
                      .per_min = p->cfg->upstream_pace_per_min,
                      .per_hour = p->cfg->upstream_budget_per_hour,
                      .per_day = p->cfg->upstream_budget_per_day,
                      .fallback_pct = p->cfg->upstream_budget_local_pct};
    p->bud = api_budget_new(p->st, &bo);
    return p->bud ? NB_OK : NB_ERR_NOMEM;
}

static void budget_stop(void *ctx)
{
    api_budget_free(((api *)ctx)->bud);
}

static nb_err upstream_start(void *ctx)
{
    api *p = ctx;
    p->up = api_upstream_http_new(p->cfg, p->bud);
    return p->up ? NB_OK : NB_ERR_NOMEM;
}

static void upstream_stop(void *ctx)
{
    api_upstream_free(((api *)ctx)->up);
}

static nb_err broker_start(void *ctx)
{
    api *p = ctx;
    if (!p->cfg->kafka_brokers[0]) return NB_OK;
    /* Kafka messages time out at half the claim lease: a report comes before the claim ends. */
    p->br = api_broker_kafka_new(p->cfg->kafka_brokers, p->cfg->kafka_topic,
                                 p->cfg->relay_lease_ms / 2);
    return p->br ? NB_OK : NB_ERR_UNAVAILABLE;
}

static void broker_stop(void *ctx)
{
    api_broker_free(((api *)ctx)->br);
}

static nb_err app_start(void *ctx)
{
    api *p = ctx;
    app_clients clients = {.st = p->st, .up = p->up, .br = p->br, .bud = p->bud};
    p->a = api_app_new(p->cfg, &clients);
    if (!p->a) return NB_ERR_NOMEM;
    nb_err e = api_app_start(p->a);
    if (e != NB_OK) api_app_free(p->a);
    return e;
}

/* The bounded shutdown (api_app_stop, app.h), then the service's memory. */
static void app_stop(void *ctx)
{
    api_app_free(((api *)ctx)->a);
}

int main(int argc, char **argv)
{
    static api p;
    int nsettings;
    const nb_setting *settings = api_config_table(&p.cfg, &nsettings);
    const nb_part parts[] = {
        {"the persistence client", store_start, store_stop, &p},
        {"the upstream budget", budget_start, budget_stop, &p},
        {"the upstream client", upstream_start, upstream_stop, &p},
        {"the Kafka producer", broker_start, broker_stop, &p},
        {"the api service", app_start, app_stop, &p},
    };
    const nb_service svc = {
        .prog = API_PROG,
        .name = "api",
        .summary = API_SUMMARY,
        .settings = settings,
        .nsettings = nsettings,
        .parts = parts,
        .nparts = (int)(sizeof(parts) / sizeof(parts[0])),
    };
    return nb_service_run(&svc, argc, argv);
}
