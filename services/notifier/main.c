/* main.c — nimbus-notifier: weather alerts by email. main() only wires: its
 * parts for the one service skeleton (nimbus/service.h), which loads and
 * checks the settings (notifier_config.c), starts the parts in order and
 * stops them in reverse order. The HTTP server (/healthz, /readyz, /metrics)
 * is made before the mailer and the consumer, which it reports on, and
 * listens before their threads start; at the stop it closes first, then the
 * consumer leaves the group (with its offsets), the mail being sent is
 * finished, and only then the server's memory goes. */
#include <stddef.h>

#include "consumer.h"
#include "mailer.h"
#include "nimbus/http_server.h"
#include "nimbus/log.h"
#include "nimbus/queue.h"
#include "nimbus/service.h"
#include "notifier_config.h"
#include "store_client.h"

typedef struct notifier {
    nt_config *cfg;
    nb_queue doorbell; /* the consumer rings the mailer */
    nt_store *store;
    nb_server *srv;
    nt_mailer *mailer;
    nt_consumer *consumer;
} notifier;

/* Ready when persistence answers and the consumer group gave this notifier
 * its share of the partitions. */
static bool ready(void *ctx, nb_buf *out)
{
    notifier *n = ctx;
    bool store_up = nt_store_ready(n->store);
    nb_buf_addf(out, "{\"persistence\":\"%s\",", store_up ? "up" : "down");
    bool assigned = nt_consumer_ready(n->consumer, out);
    nb_buf_adds(out, ",");
    nt_mailer_status(n->mailer, out);
    nb_buf_addf(out, ",\"ready\":%s}", store_up && assigned ? "true" : "false");
    return store_up && assigned;
}

static nb_err doorbell_start(void *ctx)
{
    return nb_queue_init(&((notifier *)ctx)->doorbell, 1);
}

static void doorbell_stop(void *ctx)
{
    nb_queue_release(&((notifier *)ctx)->doorbell);
}

static nb_err store_start(void *ctx)
{
    notifier *n = ctx;
    n->store = nt_store_new(n->cfg->persistence_url, n->cfg->persistence_timeout_ms);
    return n->store ? NB_OK : NB_ERR_NOMEM;
}

static void store_stop(void *ctx)
{
    nt_store_free(((notifier *)ctx)->store);
}

static nb_err server_new(void *ctx)
{
    notifier *n = ctx;
    nb_server_opts so = {.bind = n->cfg->bind,
                         .port = (int)n->cfg->port,
                         .threads = (int)n->cfg->threads,
                         .workers = 2,
                         .body_cap = (size_t)n->cfg->body_cap,
                         .conn_timeout_s = (int)n->cfg->conn_timeout_s,
                         .grace_ms = 1000,
                         .access_log = n->cfg->access_log,
                         .ready = ready,
                         .ready_ctx = n};
    n->srv = nb_server_new(&so);
    return n->srv ? NB_OK : NB_ERR_NOMEM;
}

static void server_free(void *ctx)
{
    nb_server_free(((notifier *)ctx)->srv);
}

static nb_err mailer_new(void *ctx)
{
    notifier *n = ctx;
    n->mailer = nt_mailer_new(n->cfg, n->store, &n->doorbell);
    return n->mailer ? NB_OK : NB_ERR_NOMEM;
}

/* Finishes the mail being sent. */
static void mailer_free(void *ctx)
{
    nt_mailer_free(((notifier *)ctx)->mailer);
}

static nb_err consumer_new(void *ctx)
{
    notifier *n = ctx;
    n->consumer = nt_consumer_new(n->cfg, n->store, &n->doorbell);
    return n->consumer ? NB_OK : NB_ERR_NOMEM;
}

/* Stops reading events, leaving the group with its offsets. */
static void consumer_free(void *ctx)
{
    nt_consumer_free(((notifier *)ctx)->consumer);
}

static nb_err server_start(void *ctx)
{
    notifier *n = ctx;
    nb_err e = nb_server_start(n->srv);
    if (e != NB_OK) {
        nb_error("could not start the HTTP server on %s:%ld", n->cfg->bind, n->cfg->port);
        return e;
    }
    nb_info("listening on http://%s:%d/ (health and metrics)", n->cfg->bind,
            nb_server_port(n->srv));
    return NB_OK;
}

/* First at the stop: /readyz and /metrics read the parts stopped after it. */
static void server_stop(void *ctx)
{
    nb_server_stop(((notifier *)ctx)->srv);
}

static nb_err mailer_start(void *ctx)
{
    return nt_mailer_start(((notifier *)ctx)->mailer);
}

static nb_err consumer_start(void *ctx)
{
    return nt_consumer_start(((notifier *)ctx)->consumer);
}

int main(int argc, char **argv)
{
    static notifier n;
    int nsettings;
    const nb_setting *settings = nt_config_table(&n.cfg, &nsettings);
    const nb_part parts[] = {
        {"the mail doorbell", doorbell_start, doorbell_stop, &n},
        {"the persistence client", store_start, store_stop, &n},
        {"the HTTP server", server_new, server_free, &n},
        {"the mailer", mailer_new, mailer_free, &n},
        {"the Kafka consumer", consumer_new, consumer_free, &n},
        {"the health endpoints", server_start, server_stop, &n},
        {"the mailer thread", mailer_start, NULL, &n},
        {"the consumer thread", consumer_start, NULL, &n},
    };
    const nb_service svc = {
        .prog = NT_PROG,
        .name = "notifier",
        .summary = NT_SUMMARY,
        .settings = settings,
        .nsettings = nsettings,
        .check = nt_config_check,
        .check_ctx = n.cfg,
        .parts = parts,
        .nparts = (int)(sizeof(parts) / sizeof(parts[0])),
    };
    return nb_service_run(&svc, argc, argv);
}
