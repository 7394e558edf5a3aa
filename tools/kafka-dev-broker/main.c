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
 * reaches the same brokers and topics). main() only wires: its settings, its parts (the
 * topic list, the brokers, the relay, the announcement of the bootstrap string) and its
 * SIGUSR1/SIGUSR2 actions for the one service skeleton (nimbus/service.h), which runs the
 * actions on main()'s thread while it waits for SIGTERM. */
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
#include "nimbus/service.h"
#include "relay.h"

#define KDB_MAX_TOPICS 32
#define KDB_MAX_BROKERS 16
#define KDB_TOPIC_TIMEOUT_MS 10000

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

typedef struct kdb {
    int argc;
    char **argv; /* every --topic flag is read from them */
    const char *bootstrap_file, *topic, *log_level, *listen, *advertise, *forward;
    long partitions, brokers;
    char *topic_flags, *topic_list;
    char *topics[KDB_MAX_TOPICS];
    int ntopics;
    kdb_broker *broker; /* NULL with --forward */
    kdr_route routes[KDB_MAX_BROKERS];
    char *route_text;
    kdr_relay *relay; /* NULL without --listen */
    const char *bootstrap;
} kdb;

/* The topics to create, from every --topic flag (or the setting); the
 * settings' rules the table cannot say. */
static nb_err topics_start(void *ctx)
{
    kdb *k = ctx;
    k->topic_flags = kdb_topic_flags(k->argc, k->argv);
    k->topic_list = strdup(k->topic);
    if (!k->topic_flags || !k->topic_list) return NB_ERR_NOMEM;
    k->ntopics = kdb_add_topics(k->topic_flags[0] ? k->topic_flags : k->topic_list, k->topics, 0);
    if (k->ntopics <= 0) {
        if (k->ntopics == 0) fprintf(stderr, "kafka-dev-broker: --topic: no topic given\n");
        return NB_ERR_INVALID;
    }
    if (k->forward[0] && (!k->listen[0] || k->brokers != 1)) {
        fprintf(stderr, "kafka-dev-broker: --forward needs one --listen address (and "
                        "--brokers 1)\n");
        return NB_ERR_INVALID;
    }
    return NB_OK;
}

static void topics_stop(void *ctx)
{
    kdb *k = ctx;
    free(k->topic_list);
    free(k->topic_flags);
}

/* With --forward, none: the bootstrap string is the other dev broker's. */
static nb_err brokers_start(void *ctx)
{
    kdb *k = ctx;
    if (k->forward[0]) {
        k->bootstrap = k->forward;
        return NB_OK;
    }
    nb_err e = kdb_open((int)k->brokers, &k->broker);
    for (int i = 0; e == NB_OK && i < k->ntopics; i++) {
        e = kdb_create_topic(k->broker, k->topics[i], (int)k->partitions, KDB_TOPIC_TIMEOUT_MS);
        if (e == NB_OK) nb_info("topic %s ready (%ld partitions)", k->topics[i], k->partitions);
    }
    if (e != NB_OK) {
        kdb_close(k->broker);
        return e == NB_ERR_INVALID ? NB_ERR_UNAVAILABLE : e;
    }
    k->bootstrap = kdb_bootstraps(k->broker);
    return NB_OK;
}

static void brokers_stop(void *ctx)
{
    kdb_close(((kdb *)ctx)->broker);
}

/* With --listen, clients reach the brokers through it. */
static nb_err relay_start(void *ctx)
{
    kdb *k = ctx;
    if (!k->listen[0]) return NB_OK;
    if (kdr_routes_parse(k->listen, k->advertise, k->bootstrap, k->routes, (int)k->brokers,
                         &k->route_text) != NB_OK)
        return NB_ERR_INVALID;
    nb_err e = kdr_start(k->routes, (int)k->brokers, &k->relay);
    if (e != NB_OK) {
        free(k->route_text);
        return e == NB_ERR_INVALID ? NB_ERR_UNAVAILABLE : e;
    }
    k->bootstrap = kdr_advertised(k->relay);
    return NB_OK;
}

static void relay_stop(void *ctx)
{
    kdb *k = ctx;
    kdr_stop(k->relay);
    free(k->route_text);
}

/* The file and the line the tests and ./stack wait for. */
static nb_err announce_start(void *ctx)
{
    kdb *k = ctx;
    if (k->bootstrap_file[0] && kdb_write_atomic(k->bootstrap_file, k->bootstrap) != NB_OK)
        return NB_ERR_UNAVAILABLE;
    printf("bootstrap=%s\n", k->bootstrap);
    fflush(stdout);
    nb_info("ready: bootstrap=%s", k->bootstrap);
    return NB_OK;
}

/* SIGUSR1 */
static void brokers_down(void *ctx)
{
    kdb *k = ctx;
    if (k->broker && kdb_is_up(k->broker) && kdb_set_down(k->broker) == NB_OK)
        kdb_log_state(k->broker, k->brokers);
}

/* SIGUSR2 */
static void brokers_up(void *ctx)
{
    kdb *k = ctx;
    if (k->broker && !kdb_is_up(k->broker) && kdb_set_up(k->broker) == NB_OK)
        kdb_log_state(k->broker, k->brokers);
}

int main(int argc, char **argv)
{
    static kdb k;
    k.argc = argc;
    k.argv = argv;
    const nb_setting settings[] = {
        {"bootstrap-file", NB_SET_STR, &k.bootstrap_file, "", 0, 0,
         "write the bootstrap servers to this file (atomically) once the topics exist"},
        {"topic", NB_SET_STR, &k.topic, "weather.notifications", 0, 0,
         "topic(s) to create: comma list, flag may be repeated"},
        {"partitions", NB_SET_INT, &k.partitions, "1", 1, 1000, "partitions per topic"},
        {"brokers", NB_SET_INT, &k.brokers, "1", 1, KDB_MAX_BROKERS, "number of mock brokers"},
        {"listen", NB_SET_STR, &k.listen, "", 0, 0,
         "host:port per broker (comma list): serve clients there through a relay "
         "(for other hosts, e.g. 0.0.0.0:9092 in a container); empty = loopback only"},
        {"advertise", NB_SET_STR, &k.advertise, "", 0, 0,
         "host:port per broker that clients are told to connect to (with --listen; "
         "default: the --listen addresses)"},
        {"forward", NB_SET_STR, &k.forward, "", 0, 0,
         "host:port of another dev broker (its --listen address): run no brokers here, relay "
         "the one --listen address to it (a further Kafka broker service of a compose file "
         "standing in for a real cluster); --topic and --partitions are then that broker's"},
        {"log-level", NB_SET_STR, &k.log_level, "info", 0, 0, "debug|info|warn|error"},
    };
    const nb_part parts[] = {
        {"the topic list", topics_start, topics_stop, &k},
        {"the brokers", brokers_start, brokers_stop, &k},
        {"the relay", relay_start, relay_stop, &k},
        {"the bootstrap announcement", announce_start, NULL, &k},
    };
    const nb_signal_action actions[] = {
        {SIGUSR1, brokers_down, &k},
        {SIGUSR2, brokers_up, &k},
    };
    const nb_service svc = {
        .prog = "kafka-dev-broker",
        .name = "kafka-dev-broker",
        .summary = "Kafka broker for development (librdkafka mock cluster)",
        .settings = settings,
        .nsettings = (int)(sizeof(settings) / sizeof(settings[0])),
        .parts = parts,
        .nparts = (int)(sizeof(parts) / sizeof(parts[0])),
        .actions = actions,
        .nactions = (int)(sizeof(actions) / sizeof(actions[0])),
    };
    return nb_service_run(&svc, argc, argv);
}
