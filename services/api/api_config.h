/* api_config.h — the api's settings, one table (flags, NIMBUS_* env,
 * --help), loaded once at start-up by the service skeleton (main()). After
 * the load the struct is read-only: any thread may read it. */
#ifndef API_CONFIG_H
#define API_CONFIG_H

#include <stdbool.h>

#include "nimbus/config.h"
#include "nimbus/err.h"

#define API_PROG "nimbus-api"
#define API_SUMMARY "nimbus api: weather answers with stale-while-revalidate."

typedef struct api_config {
    const char *bind;
    long port, threads, workers;
    const char *persistence_url;
    long persistence_timeout_ms;
    const char *forecast_url, *geocoding_url;
    long upstream_connect_timeout_ms, upstream_timeout_ms, upstream_retries;
    long upstream_max_body;
    long upstream_pace_per_min, upstream_budget_per_hour, upstream_budget_per_day;
    long upstream_budget_local_pct;
    long lease_ms;
    bool coordinate;
    long forecast_days;
    const char *kafka_brokers, *kafka_topic;
    long kafka_flush_ms;
    long relay_batch, relay_lease_ms, relay_poll_ms;
    long fresh_ttl_s, swr_fresh_s, swr_stale_s;
    long negative_ttl_s, geo_ttl_s;
    long revalidate_wait_ms, miss_deadline_ms;
    long renew_workers, renew_queue;
    long flight_entries, flight_waiters;
    long write_queue, write_flush_ms;
    long near_cache_mb;
    long body_cap, conn_timeout_s, grace_ms;
    long confirm_cap_per_address, confirm_cap_per_client;
    const char *trusted_proxies;
    const char *log_level;
    bool access_log;
} api_config;

/* The settings table and its length; *cfg gets the struct loading it fills
 * (nb_service_run() in main(); one per process). */
const nb_setting *api_config_table(api_config **cfg, int *n);
/* Loads the table from defaults, NIMBUS_* env and flags and copies the
 * result into cfg (the unit tests). *exit_now after --help. */
nb_err api_config_load(api_config *cfg, int argc, char **argv, bool *exit_now);

#endif
