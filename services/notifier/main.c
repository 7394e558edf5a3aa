/* main.c — nimbus-notifier: weather alerts by email. main() only wires:
 * settings → logging → global inits → persistence client → mailer and
 * consumer threads → HTTP server (/healthz, /readyz, /metrics) → wait for a
 * signal → stop in reverse order. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "consumer.h"
#include "mailer.h"
#include "nimbus/http_client.h"
#include "nimbus/http_server.h"
#include "nimbus/log.h"
#include "nimbus/queue.h"
#include "notifier_config.h"
#include "store_client.h"

typedef struct parts {
    nt_store *store;
    nt_consumer *consumer;
    nt_mailer *mailer;
} parts;

/* Ready when persistence answers and the consumer group gave this notifier
 * its share of the partitions. */
static bool ready(void *ctx, nb_buf *out)
{
    parts *p = ctx;
    bool store_up = nt_store_ready(p->store);
    nb_buf_addf(out, "{\"persistence\":\"%s\",", store_up ? "up" : "down");
    bool assigned = nt_consumer_ready(p->consumer, out);
    nb_buf_adds(out, ",");
    nt_mailer_status(p->mailer, out);
    nb_buf_addf(out, ",\"ready\":%s}", store_up && assigned ? "true" : "false");
    return store_up && assigned;
}

int main(int argc, char **argv)
{
    nt_config cfg;
    bool exit_now;
    if (nt_config_load(&cfg, argc, argv, &exit_now) != NB_OK) return 2;
    if (exit_now) return 0;
    if (!nb_log_start("notifier", cfg.log_level)) return 2;
    nt_config_log();

    signal(SIGPIPE, SIG_IGN);
    json_object_seed(0);
    if (nb_httpc_global_init() != NB_OK) return 1;

    int rc = 1;
    nb_queue doorbell;
    parts p = {0};
    nb_server *srv = NULL;
    if (nb_queue_init(&doorbell, 1) != NB_OK) goto out_global;
    p.store = nt_store_new(cfg.persistence_url, cfg.persistence_timeout_ms);
    p.mailer = p.store ? nt_mailer_new(&cfg, p.store, &doorbell) : NULL;
    p.consumer = p.store ? nt_consumer_new(&cfg, p.store, &doorbell) : NULL;
    if (!p.store || !p.mailer || !p.consumer) goto out;

    nb_server_opts so = {.bind = cfg.bind,
                         .port = (int)cfg.port,
                         .threads = (int)cfg.threads,
                         .workers = 2,
                         .body_cap = 1024,
                         .conn_timeout_s = (int)cfg.conn_timeout_s,
                         .grace_ms = 1000,
                         .access_log = cfg.access_log,
                         .ready = ready,
                         .ready_ctx = &p};
    srv = nb_server_new(&so);
    if (!srv || nb_server_start(srv) != NB_OK) {
        nb_error("could not start the HTTP server on %s:%ld", cfg.bind, cfg.port);
        goto out;
    }
    if (nt_mailer_start(p.mailer) != NB_OK || nt_consumer_start(p.consumer) != NB_OK) goto out;
    nb_info("listening on http://%s:%d/ (health and metrics)", cfg.bind, nb_server_port(srv));
    nb_server_wait_for_signal(srv);
    nb_info("stopping");
    rc = 0;
out:
    /* The health endpoints first (/readyz and /metrics read the parts below),
     * then stop reading events (leaving the group with its offsets), then
     * finish the mail being sent. */
    if (srv) nb_server_stop(srv);
    nt_consumer_free(p.consumer);
    nt_mailer_free(p.mailer);
    nb_server_free(srv);
    nt_store_free(p.store);
    nb_queue_release(&doorbell);
out_global:
    nb_httpc_global_cleanup();
    nb_info("stopped");
    return rc;
}
