/* kafka-dev-broker — a Kafka broker for tests and the local stack.
 *
 * Starts librdkafka's mock cluster, creates the topics, prints
 * "bootstrap=<host:port,...>" on stdout, writes the bootstrap string to
 * --bootstrap-file (atomically, once the topics exist) and runs until SIGTERM or
 * SIGINT. SIGUSR1 takes all brokers down, SIGUSR2 brings them back up (outage
 * tests); stored messages survive. With --listen, clients connect through the
 * relay (relay.h) instead, which lets other hosts (containers) reach the brokers
 * under the --advertise names; the bootstrap string is then those names. With --forward it
 * runs no brokers of its own: its one --listen address relays to another dev broker's
 * (another compose service standing in for a further Kafka broker: every one of them
 * reaches the same brokers and topics). Signal handlers only record what was asked; the
 * main loop, woken by sigsuspend(), acts on it. main() only wires. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev_broker.h"
#include "nimbus/config.h"
#include "nimbus/log.h"
#include "relay.h"

#define KDB_MAX_TOPICS 32
#define KDB_MAX_BROKERS 16
#define KDB_TOPIC_TIMEOUT_MS 10000

enum { KDB_WANT_NONE, KDB_WANT_DOWN, KDB_WANT_UP };

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_want; /* last of SIGUSR1/SIGUSR2 wins */

static void kdb_on_signal(int sig)
{
    if (sig == SIGUSR1)
        g_want = KDB_WANT_DOWN;
    else if (sig == SIGUSR2)
        g_want = KDB_WANT_UP;
    else
        g_stop = 1;
}

/* Blocks the control signals (before librdkafka starts its threads, which then
 * inherit the mask) and installs the handlers. *waitmask gets the mask to
 * sigsuspend() with, which lets them in again. */
static int kdb_signals_setup(sigset_t *waitmask)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kdb_on_signal;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&block);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaddset(&block, sigs[i]);
        sigaddset(&sa.sa_mask, sigs[i]);
    }
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], &sa, NULL) != 0) return -1;
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &block, waitmask) != 0) return -1;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigdelset(waitmask, sigs[i]);
    return 0;
}

/* Writes "text\n" to path through a temporary file and rename(2), so a reader
 * sees either no file or the whole content. */
static nb_err kdb_write_atomic(const char *path, const char *text)
{
    nb_err err = NB_ERR_INTERNAL;
    size_t tmplen = strlen(path) + 32;
    char *tmp = malloc(tmplen);
    FILE *f = NULL;

    if (!tmp) return NB_ERR_NOMEM;
    snprintf(tmp, tmplen, "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp, "w");
    if (!f) {
        nb_error("cannot write %s: %s", tmp, strerror(errno));
        goto out_free_tmp;
    }
    if (fprintf(f, "%s\n", text) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        nb_error("cannot write %s: %s", tmp, strerror(errno));
        fclose(f);
        goto out_unlink;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        nb_error("cannot move %s to %s: %s", tmp, path, strerror(errno));
        goto out_unlink;
    }
    err = NB_OK;
    goto out_free_tmp;

out_unlink:
    unlink(tmp);
out_free_tmp:
    free(tmp);
    return err;
}

/* Splits a comma list into topics (in place), appending to names[]. */
static int kdb_add_topics(char *list, char **names, int n)
{
    char *save = NULL;

    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (*t == '\0') continue;
        if (n >= KDB_MAX_TOPICS) {
            fprintf(stderr, "kafka-dev-broker: more than %d topics\n", KDB_MAX_TOPICS);
            return -1;
        }
        names[n++] = t;
    }
    return n;
}

/* --topic may be repeated; the config table keeps one value (the last flag, or
 * NIMBUS_TOPIC, or the default), so every --topic flag is collected here. */
static char *kdb_topic_flags(int argc, char **argv)
{
    size_t len = 1;
    char *all;

    for (int i = 1; i < argc; i++)
        len += strlen(argv[i]) + 1;
    all = calloc(1, len);
    if (!all) return NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;

        if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc)
            v = argv[++i];
        else if (strncmp(argv[i], "--topic=", 8) == 0)
            v = argv[i] + 8;
        if (v) {
            strcat(all, ",");
            strcat(all, v);
        }
    }
    return all;
}

static void kdb_log_state(kdb_broker *b, long brokers)
{
    char fields[96];

    snprintf(fields, sizeof(fields), "\"event\":\"%s\",\"brokers\":%ld",
             kdb_is_up(b) ? "brokers_up" : "brokers_down", brokers);
    nb_log_fields(NB_LOG_INFO, fields, "%s", kdb_is_up(b) ? "all brokers up" : "all brokers down");
}

int main(int argc, char **argv)
{
    const char *bootstrap_file = "", *topic = "weather.notifications", *log_level = "info";
    const char *listen = "", *advertise = "", *forward = "", *bootstrap = NULL;
    long partitions = 1, brokers = 1;
    const nb_setting settings[] = {
        {"bootstrap-file", NB_SET_STR, &bootstrap_file, "", 0, 0,
         "write the bootstrap servers to this file (atomically) once the topics exist"},
        {"topic", NB_SET_STR, &topic, "weather.notifications", 0, 0,
         "topic(s) to create: comma list, flag may be repeated"},
        {"partitions", NB_SET_INT, &partitions, "1", 1, 1000, "partitions per topic"},
        {"brokers", NB_SET_INT, &brokers, "1", 1, KDB_MAX_BROKERS, "number of mock brokers"},
        {"listen", NB_SET_STR, &listen, "", 0, 0,
         "host:port per broker (comma list): serve clients there through a relay "
         "(for other hosts, e.g. 0.0.0.0:9092 in a container); empty = loopback only"},
        {"advertise", NB_SET_STR, &advertise, "", 0, 0,
         "host:port per broker that clients are told to connect to (with --listen; "
         "default: the --listen addresses)"},
        {"forward", NB_SET_STR, &forward, "", 0, 0,
         "host:port of another dev broker (its --listen address): run no brokers here, relay "
         "the one --listen address to it (a further Kafka broker service of a compose file "
         "standing in for a real cluster); --topic and --partitions are then that broker's"},
        {"log-level", NB_SET_STR, &log_level, "info", 0, 0, "debug|info|warn|error"},
    };
    int rc = 1, ntopics = 0;
    bool exit_now = false;
    char *topic_flags = NULL, *topic_list = NULL;
    char *topics[KDB_MAX_TOPICS];
    char *route_text = NULL;
    kdr_route routes[KDB_MAX_BROKERS];
    kdb_broker *broker = NULL;
    kdr_relay *relay = NULL;
    sigset_t waitmask;

    if (nb_config_load(settings, (int)(sizeof(settings) / sizeof(settings[0])), argc, argv,
                       "kafka-dev-broker", "Kafka broker for development (librdkafka mock cluster)",
                       &exit_now) != NB_OK)
        return 2;
    if (exit_now) return 0;
    if (!nb_log_start("kafka-dev-broker", log_level)) return 2;

    topic_flags = kdb_topic_flags(argc, argv);
    topic_list = strdup(topic);
    if (!topic_flags || !topic_list) goto out;
    ntopics = kdb_add_topics(topic_flags[0] ? topic_flags : topic_list, topics, 0);
    if (ntopics <= 0) {
        if (ntopics == 0) fprintf(stderr, "kafka-dev-broker: --topic: no topic given\n");
        rc = 2;
        goto out;
    }
    if (kdb_signals_setup(&waitmask) != 0) {
        nb_error("installing signal handlers: %s", strerror(errno));
        goto out;
    }
    if (forward[0]) {
        if (!listen[0] || brokers != 1) {
            fprintf(stderr, "kafka-dev-broker: --forward needs one --listen address (and "
                            "--brokers 1)\n");
            rc = 2;
            goto out;
        }
        bootstrap = forward;
        goto relay;
    }
    if (kdb_open((int)brokers, &broker) != NB_OK) goto out;
    for (int i = 0; i < ntopics; i++) {
        if (kdb_create_topic(broker, topics[i], (int)partitions, KDB_TOPIC_TIMEOUT_MS) != NB_OK)
            goto out_close;
        nb_info("topic %s ready (%ld partitions)", topics[i], partitions);
    }
    bootstrap = kdb_bootstraps(broker);
relay:
    if (listen[0]) {
        if (kdr_routes_parse(listen, advertise, bootstrap, routes, (int)brokers, &route_text) !=
            NB_OK) {
            rc = 2;
            goto out_close;
        }
        if (kdr_start(routes, (int)brokers, &relay) != NB_OK) goto out_close;
        bootstrap = kdr_advertised(relay);
    }
    if (bootstrap_file[0] && kdb_write_atomic(bootstrap_file, bootstrap) != NB_OK) goto out_close;
    printf("bootstrap=%s\n", bootstrap);
    fflush(stdout);
    nb_info("ready: bootstrap=%s", bootstrap);

    while (!g_stop) {
        sigsuspend(&waitmask); /* returns after a handler ran */
        if (!broker) {         /* --forward: no brokers of its own to take down */
        } else if (g_want == KDB_WANT_DOWN && kdb_is_up(broker)) {
            if (kdb_set_down(broker) == NB_OK) kdb_log_state(broker, brokers);
        } else if (g_want == KDB_WANT_UP && !kdb_is_up(broker)) {
            if (kdb_set_up(broker) == NB_OK) kdb_log_state(broker, brokers);
        }
        g_want = KDB_WANT_NONE;
    }
    nb_info("stopping");
    rc = 0;

out_close:
    kdr_stop(relay);
    kdb_close(broker);
out:
    free(route_text);
    free(topic_list);
    free(topic_flags);
    return rc;
}
