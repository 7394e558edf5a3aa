/* service.h — the one skeleton of a nimbus program's main().
 *
 * main() declares its settings and its parts, then returns nb_service_run(),
 * which goes, in this order:
 *   1. settings: nb_config_load() on the program's table, then its check
 *      (rules between settings);
 *   2. logging: nb_log_start() with the table's "log-level" setting ("info"
 *      when it has none), then the effective settings logged;
 *   3. global inits: SIGPIPE ignored, SIGTERM/SIGINT caught (one that comes
 *      while the parts start is kept, not lost), json_object_seed(0), curl's
 *      global init;
 *   4. the parts started in order (clients, workers, the server, ...); the
 *      first that fails ends the start;
 *   5. a wait for SIGTERM or SIGINT (skipped when a part failed), running
 *      the program's signal actions (below) as their signals come;
 *   6. every part that started stopped in reverse order, then the global
 *      cleanup.
 * The exit status is the same in every program: NB_EXIT_OK after a stop on a
 * signal and after --help, NB_EXIT_USAGE for bad settings or flags (the
 * reason printed on stderr), NB_EXIT_FAILURE when a part could not start.
 *
 * Threads: call once, from main(), before any thread starts; parts start
 * and stop on the calling thread. */
#ifndef NIMBUS_SERVICE_H
#define NIMBUS_SERVICE_H

#include <stdbool.h>

#include "nimbus/config.h"
#include "nimbus/err.h"

enum { NB_EXIT_OK = 0, NB_EXIT_FAILURE = 1, NB_EXIT_USAGE = 2 };

/* One thing a program starts and later stops. start returns NB_OK, or an
 * error after logging why (NB_ERR_INVALID: a setting found bad only now,
 * e.g. an address that does not parse: exit NB_EXIT_USAGE; any other:
 * NB_EXIT_FAILURE). stop (may be NULL) is called only when start succeeded. */
typedef struct nb_part {
    const char *name; /* for the log: "starting <name>" */
    nb_err (*start)(void *ctx);
    void (*stop)(void *ctx);
    void *ctx;
} nb_part;

/* A signal other than SIGTERM/SIGINT that the program acts on while it runs
 * (the dev broker's SIGUSR1/SIGUSR2 outage controls). Caught from step 3 (one
 * that comes while the parts start is kept); fn runs at step 5 on the calling
 * thread, never in the handler, once per wake-up on which its signal came
 * (the same signal twice before fn ran counts once; actions whose signals
 * both came run in table order). At most NB_SERVICE_MAX_ACTIONS. */
typedef struct nb_signal_action {
    int signo;
    void (*fn)(void *ctx);
    void *ctx;
} nb_signal_action;

enum { NB_SERVICE_MAX_ACTIONS = 4 };

typedef struct nb_service {
    const char *prog;    /* "nimbus-front": --help and messages */
    const char *name;    /* "front": the log lines' "svc" */
    const char *summary; /* one line for --help */
    const nb_setting *settings;
    int nsettings;
    /* May be NULL. After the settings loaded: false (after printing the
     * reason to stderr) ends with NB_EXIT_USAGE. */
    bool (*check)(void *ctx);
    void *check_ctx;
    const nb_part *parts;
    int nparts;
    const nb_signal_action *actions; /* may be NULL */
    int nactions;
} nb_service;

/* Runs the skeleton above; returns the exit status for main() to return. */
int nb_service_run(const nb_service *svc, int argc, char **argv);

/* Steps 4 and 6 on their own (nb_service_run uses them; tests too): starts
 * parts in order and returns how many started (n when all did; *rc, may be
 * NULL, gets the failed start's error); stops the first `started` of them in
 * reverse order. */
int nb_service_start_parts(const nb_part *parts, int n, nb_err *rc);
void nb_service_stop_parts(const nb_part *parts, int started);

/* Catches SIGTERM and SIGINT from now on (idempotent); a signal that comes
 * before the wait is kept. */
void nb_service_catch_signals(void);
/* Waits for SIGTERM or SIGINT (catching them if not yet) and returns it. */
int nb_service_wait_for_signal(void);

#endif
