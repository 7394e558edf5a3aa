/* service.c — the skeleton of a nimbus program's main() (see service.h). */
#include "nimbus/service.h"

#include <errno.h>
#include <jansson.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "nimbus/http_client.h"
#include "nimbus/log.h"

static sem_t signal_sem;
static volatile sig_atomic_t signal_seen; /* the last SIGTERM or SIGINT */
static atomic_bool signals_caught;
/* The program's signal actions: their signals, set before the handler is
 * installed for them, and which came since the wait last ran them. */
static int action_signo[NB_SERVICE_MAX_ACTIONS];
static int nactions;
static volatile sig_atomic_t action_pending[NB_SERVICE_MAX_ACTIONS];

static void on_signal(int sig)
{
    bool action = false;
    for (int i = 0; i < nactions; i++)
        if (action_signo[i] == sig) action_pending[i] = action = true;
    if (!action) signal_seen = sig;
    sem_post(&signal_sem); /* async-signal-safe */
}

void nb_service_catch_signals(void)
{
    if (atomic_exchange(&signals_caught, true)) return;
    sem_init(&signal_sem, 0, 0);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* Catches the actions' signals (after nb_service_catch_signals()). */
static void catch_actions(const nb_signal_action *a, int n)
{
    for (int i = 0; i < n; i++) {
        action_signo[i] = a[i].signo;
        action_pending[i] = false;
    }
    nactions = n;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < n; i++)
        sigaction(a[i].signo, &sa, NULL);
}

/* Waits for SIGTERM or SIGINT, running the actions whose signals came. */
static int wait_acting(const nb_signal_action *a, int n)
{
    for (;;) {
        while (sem_wait(&signal_sem) != 0 && errno == EINTR) {
        }
        for (int i = 0; i < n; i++)
            if (action_pending[i]) {
                action_pending[i] = false;
                a[i].fn(a[i].ctx);
            }
        if (signal_seen) return (int)signal_seen;
    }
}

int nb_service_wait_for_signal(void)
{
    nb_service_catch_signals();
    return wait_acting(NULL, 0);
}

int nb_service_start_parts(const nb_part *parts, int n, nb_err *rc)
{
    if (rc) *rc = NB_OK;
    for (int i = 0; i < n; i++) {
        nb_err e = parts[i].start ? parts[i].start(parts[i].ctx) : NB_OK;
        if (e != NB_OK) {
            nb_error("could not start %s (%s)", parts[i].name, nb_err_code(e));
            if (rc) *rc = e;
            return i;
        }
        nb_debug("started %s", parts[i].name);
    }
    return n;
}

void nb_service_stop_parts(const nb_part *parts, int started)
{
    for (int i = started - 1; i >= 0; i--) {
        nb_debug("stopping %s", parts[i].name);
        if (parts[i].stop) parts[i].stop(parts[i].ctx);
    }
}

/* The table's "log-level" setting, or "info". */
static const char *log_level_of(const nb_service *svc)
{
    for (int i = 0; i < svc->nsettings; i++)
        if (strcmp(svc->settings[i].name, "log-level") == 0 && svc->settings[i].type == NB_SET_STR)
            return *(const char **)svc->settings[i].dst;
    return "info";
}

int nb_service_run(const nb_service *svc, int argc, char **argv)
{
    bool exit_now = false;
    if (nb_config_load(svc->settings, svc->nsettings, argc, argv, svc->prog, svc->summary,
                       &exit_now) != NB_OK)
        return NB_EXIT_USAGE;
    if (exit_now) return NB_EXIT_OK;
    if (svc->check && !svc->check(svc->check_ctx)) return NB_EXIT_USAGE;
    if (!nb_log_start(svc->name, log_level_of(svc))) return NB_EXIT_USAGE;
    nb_config_log(svc->settings, svc->nsettings);

    if (svc->nactions < 0 || svc->nactions > NB_SERVICE_MAX_ACTIONS) {
        nb_error("%d signal actions (at most %d)", svc->nactions, NB_SERVICE_MAX_ACTIONS);
        return NB_EXIT_FAILURE;
    }
    signal(SIGPIPE, SIG_IGN);
    signal_seen = 0; /* this run's stop signal (a program runs once; tests more often) */
    nb_service_catch_signals();
    catch_actions(svc->actions, svc->nactions);
    json_object_seed(0);
    if (nb_httpc_global_init() != NB_OK) {
        nb_error("curl_global_init failed");
        return NB_EXIT_FAILURE;
    }
    nb_err rc;
    int started = nb_service_start_parts(svc->parts, svc->nparts, &rc);
    int status = NB_EXIT_OK;
    if (started == svc->nparts) {
        nb_info("signal %d received: stopping", wait_acting(svc->actions, svc->nactions));
    } else {
        status = rc == NB_ERR_INVALID ? NB_EXIT_USAGE : NB_EXIT_FAILURE;
    }
    nb_service_stop_parts(svc->parts, started);
    nb_httpc_global_cleanup();
    nb_info("stopped");
    return status;
}
