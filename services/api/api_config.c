/* api_config.c — the api's settings table. */
#include "api_config.h"

#include "nimbus/config.h"

static api_config c;

static const nb_setting table[] = {
    {"bind", NB_SET_STR, &c.bind, "127.0.0.1", 0, 0, "address to listen on"},
    {"port", NB_SET_INT, &c.port, "8080", 0, 65535, "HTTP port"},
    {"threads", NB_SET_INT, &c.threads, "2", 1, 64, "HTTP polling threads"},
    {"workers", NB_SET_INT, &c.workers, "16", 1, 256,
     "request worker threads (they call persistence)"},
    {"persistence-url", NB_SET_URL, &c.persistence_url, "http://127.0.0.1:8081", 0, 0,
     "base URL of the persistence service"},
    {"persistence-timeout-ms", NB_SET_INT, &c.persistence_timeout_ms, "2000", 50, 60000,
     "total timeout of one call to persistence"},
    {"forecast-url", NB_SET_URL, &c.forecast_url, "https://api.open-meteo.com/v1/forecast", 0, 0,
     "Open-Meteo-compatible forecast endpoint"},
    {"geocoding-url", NB_SET_URL, &c.geocoding_url,
     "https://geocoding-api.open-meteo.com/v1/search", 0, 0,
     "Open-Meteo-compatible geocoding endpoint"},
    {"upstream-connect-timeout-ms", NB_SET_INT, &c.upstream_connect_timeout_ms, "2000", 50, 60000,
     "connect timeout of one upstream call"},
    {"upstream-timeout-ms", NB_SET_INT, &c.upstream_timeout_ms, "4000", 100, 120000,
     "total timeout of one upstream call"},
    {"upstream-retries", NB_SET_INT, &c.upstream_retries, "2", 0, 10,
     "retries (with jittered backoff) after an upstream 5xx or timeout; never after a 4xx"},
    {"upstream-max-body", NB_SET_INT, &c.upstream_max_body, "1048576", 1024, 67108864,
     "largest upstream answer accepted, bytes"},
    {"upstream-pace-per-min", NB_SET_INT, &c.upstream_pace_per_min, "600", 1, 1000000,
     "upstream calls allowed per minute for every replica together (a shared budget kept by "
     "persistence); past it stale data is served and misses get 503 with Retry-After"},
    {"upstream-budget-per-hour", NB_SET_INT, &c.upstream_budget_per_hour, "5000", 0, 100000000,
     "upstream calls allowed per hour, every replica together (0 = no hourly limit)"},
    {"upstream-budget-per-day", NB_SET_INT, &c.upstream_budget_per_day, "10000", 0, 1000000000,
     "upstream calls allowed per day, every replica together (0 = no daily limit)"},
    {"upstream-budget-local-pct", NB_SET_INT, &c.upstream_budget_local_pct, "10", 1, 100,
     "while persistence cannot answer the budget question, this replica alone may spend this "
     "percentage of each limit"},
    {"coordinate", NB_SET_BOOL, &c.coordinate, "true", 0, 0,
     "coordinate with the other api replicas through persistence (renewal leases, the shared "
     "upstream budget); false: this api on its own (its budget is the whole limits) — for a "
     "single api, or a baseline"},
    {"lease-ms", NB_SET_INT, &c.lease_ms, "8000", 100, 600000,
     "how long a renewal lease holds: one replica fetches a key while the others wait for its "
     "record; a replica that dies holding one blocks the key at most this long"},
    {"forecast-days", NB_SET_INT, &c.forecast_days, "16", 1, 16,
     "days of forecast fetched and stored per location"},
    {"kafka-brokers", NB_SET_STR, &c.kafka_brokers, "127.0.0.1:9092", 0, 0,
     "Kafka bootstrap servers (empty: relay nothing; events wait in persistence's outbox)"},
    {"kafka-topic", NB_SET_STR, &c.kafka_topic, "weather.notifications", 0, 0,
     "topic of the notification events"},
    {"kafka-flush-ms", NB_SET_INT, &c.kafka_flush_ms, "1000", 0, 600000,
     "how long shutdown waits for delivery reports of events being relayed (the rest stay in "
     "the outbox, released for the next relay)"},
    {"relay-batch", NB_SET_INT, &c.relay_batch, "100", 1, 1000,
     "outbox events the relay claims at a time"},
    {"relay-lease-ms", NB_SET_INT, &c.relay_lease_ms, "30000", 2000, 600000,
     "how long a claim on outbox events holds: after a crash they are relayed again once it "
     "ends (Kafka messages time out at half of it)"},
    {"relay-poll-ms", NB_SET_INT, &c.relay_poll_ms, "1000", 50, 600000,
     "how often the relay looks for events when no write woke it (other replicas' events, "
     "retries)"},
    {"fresh-ttl-s", NB_SET_INT, &c.fresh_ttl_s, "600", 1, 86400 * 30,
     "a record is fresh for this long after it was fetched"},
    {"swr-fresh-s", NB_SET_INT, &c.swr_fresh_s, "60", 0, 86400,
     "stale-while-revalidate seconds announced on fresh answers"},
    {"swr-stale-s", NB_SET_INT, &c.swr_stale_s, "10", 0, 3600,
     "stale-while-revalidate seconds announced on stale answers"},
    {"negative-ttl-s", NB_SET_INT, &c.negative_ttl_s, "300", 1, 86400 * 7,
     "how long an unknown place name is remembered as not found"},
    {"geo-ttl-s", NB_SET_INT, &c.geo_ttl_s, "2592000", 60, 86400 * 365,
     "how long a resolved place name is kept"},
    {"revalidate-wait-ms", NB_SET_INT, &c.revalidate_wait_ms, "3000", 0, 60000,
     "how long a revalidation waits for an in-flight renewal before getting the stale copy"},
    {"miss-deadline-ms", NB_SET_INT, &c.miss_deadline_ms, "15000", 100, 120000,
     "longest a request without stored data waits for the upstream"},
    {"renew-workers", NB_SET_INT, &c.renew_workers, "4", 1, 64,
     "threads fetching from the upstream (renewals and misses)"},
    {"renew-queue", NB_SET_INT, &c.renew_queue, "1000", 1, 1000000,
     "fetches that may wait for a thread; past it renewals are skipped, misses get 503"},
    {"flight-entries", NB_SET_INT, &c.flight_entries, "10000", 16, 10000000,
     "keys being fetched or read, plus results kept for a while (just fetched, not found, "
     "failed); when full, the kept result due first makes room; when all are under way, new "
     "misses get 503"},
    {"flight-waiters", NB_SET_INT, &c.flight_waiters, "10000", 16, 10000000,
     "requests that may wait at once for a fetch or a read of another request; past it 503"},
    {"near-cache-mb", NB_SET_INT, &c.near_cache_mb, "256", 0, 65536,
     "memory for records as persistence answered them and the documents rendered from them, "
     "reused as long as persistence's Cache-Control allows, then revalidated (0 = keep none)"},
    {"write-queue", NB_SET_INT, &c.write_queue, "100000", 1, 10000000,
     "keys whose write to persistence may wait (one pending write per key, the newest wins)"},
    {"write-flush-ms", NB_SET_INT, &c.write_flush_ms, "1500", 0, 600000,
     "how long shutdown keeps writing to persistence; writes left then are lost (logged)"},
    {"confirm-cap-per-address", NB_SET_INT, &c.confirm_cap_per_address, "3", 0, 1000,
     "subscription requests (confirmation mails) per address per hour; past it 429 (0 = no "
     "cap)"},
    {"confirm-cap-per-client", NB_SET_INT, &c.confirm_cap_per_client, "20", 0, 100000,
     "subscription requests per client address per hour; past it 429 (0 = no cap)"},
    {"trusted-proxies", NB_SET_STR, &c.trusted_proxies, "127.0.0.0/8,::1", 0, 0,
     "networks (IPv4 CIDR, or IPv6 addresses) whose X-Forwarded-For names the client, e.g. "
     "front's"},
    {"body-cap", NB_SET_INT, &c.body_cap, "16384", 0, 1048576, "largest request body, bytes"},
    {"conn-timeout-s", NB_SET_INT, &c.conn_timeout_s, "30", 1, 3600, "idle connection timeout"},
    {"grace-ms", NB_SET_INT, &c.grace_ms, "4000", 0, 600000,
     "how long shutdown waits for in-flight requests and running fetches (then 503 / cancelled)"},
    {"log-level", NB_SET_STR, &c.log_level, "info", 0, 0, "debug, info, warn or error"},
    {"access-log", NB_SET_BOOL, &c.access_log, "true", 0, 0, "log one line per request"},
};

const nb_setting *api_config_table(api_config **cfg, int *n)
{
    *cfg = &c;
    *n = (int)(sizeof(table) / sizeof(table[0]));
    return table;
}

nb_err api_config_load(api_config *cfg, int argc, char **argv, bool *exit_now)
{
    nb_err e = nb_config_load(table, (int)(sizeof(table) / sizeof(table[0])), argc, argv, API_PROG,
                              API_SUMMARY, exit_now);
    *cfg = c;
    return e;
}
