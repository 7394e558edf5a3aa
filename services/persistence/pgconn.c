/* pgconn.c — libpq with deadlines (see pgconn.h). */
#include "pgconn.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/clock.h"
#include "nimbus/log.h"

#define MAX_CANCELS 4

static atomic_int cancels_in_flight;

/* Waits until fd is readable (events POLLIN) or writable; false on deadline. */
static bool wait_fd(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - nb_mono_ms();
        if (left <= 0) return false;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return true; /* let libpq see and report the error */
    }
}

/* Server notices ("relation already exists, skipping") go to the debug log,
 * not raw to stderr. */
static void log_notice(void *arg, const char *message)
{
    size_t n = strlen(message);
    while (n > 0 && message[n - 1] == '\n')
        n--;
    nb_debug("postgres notice: %.*s", (int)n, message);
}

nb_err ps_pgc_connect(const char *dsn, int statement_timeout_ms, int64_t deadline_ms, PGconn **out)
{
    char options[96];
    const char *keys[4] = {"dbname", "application_name", NULL, NULL};
    const char *vals[4] = {dsn, "nimbus-persistence", NULL, NULL};
    nb_err rc;

    *out = NULL;
    if (statement_timeout_ms > 0) {
        snprintf(options, sizeof(options), "-c statement_timeout=%d", statement_timeout_ms);
        keys[2] = "options";
        vals[2] = options;
    }
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    if (!c) return NB_ERR_NOMEM;
    if (PQstatus(c) == CONNECTION_BAD) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_fail;
    }
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) {
            rc = NB_ERR_UNAVAILABLE;
            goto out_fail;
        }
        short ev = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        if (!wait_fd(PQsocket(c), ev, deadline_ms)) {
            rc = NB_ERR_TIMEOUT;
            goto out_fail;
        }
        st = PQconnectPoll(c);
    }
    PQsetNoticeProcessor(c, log_notice, NULL);
    if (PQsetnonblocking(c, 1) != 0) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_fail;
    }
    *out = c;
    return NB_OK;
out_fail:
    nb_debug("postgres connect failed: %s", rc == NB_ERR_TIMEOUT ? "timeout" : PQerrorMessage(c));
    PQfinish(c);
    return rc;
}

static void *cancel_thread(void *arg)
{
    PGcancel *cn = arg;
    char err[256];
    if (!PQcancel(cn, err, sizeof(err))) nb_debug("postgres cancel failed: %s", err);
    PQfreeCancel(cn);
    atomic_fetch_sub(&cancels_in_flight, 1);
    return NULL;
}

/* Asks the server to cancel c's statement without waiting for it. */
static void cancel_async(PGconn *c)
{
    if (atomic_fetch_add(&cancels_in_flight, 1) >= MAX_CANCELS)
        goto out_skip; /* statement_timeout will end it on the server */
    PGcancel *cn = PQgetCancel(c);
    if (!cn) goto out_skip;
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&t, &attr, cancel_thread, cn);
    pthread_attr_destroy(&attr);
    if (err == 0) return;
    PQfreeCancel(cn);
out_skip:
    atomic_fetch_sub(&cancels_in_flight, 1);
}

nb_err ps_pgc_exec(PGconn *c, const char *sql, int nparams, const char *const *params,
                   int64_t deadline_ms, PGresult **res)
{
    PGresult *last = NULL;
    nb_err rc = NB_OK;

    *res = NULL;
    if (!PQsendQueryParams(c, sql, nparams, NULL, params, NULL, NULL, 0)) return NB_ERR_UNAVAILABLE;
    int f;
    while ((f = PQflush(c)) == 1) {
        if (!wait_fd(PQsocket(c), POLLOUT, deadline_ms)) {
            cancel_async(c);
            return NB_ERR_TIMEOUT;
        }
    }
    if (f < 0) return NB_ERR_UNAVAILABLE;
    for (;;) {
        while (PQisBusy(c)) {
            if (!wait_fd(PQsocket(c), POLLIN, deadline_ms)) {
                cancel_async(c);
                PQclear(last);
                return NB_ERR_TIMEOUT;
            }
            if (!PQconsumeInput(c)) {
                PQclear(last);
                return NB_ERR_UNAVAILABLE;
            }
        }
        PGresult *r = PQgetResult(c);
        if (!r) break;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            PQclear(last);
            last = r;
        } else {
            if (rc == NB_OK) nb_warn("postgres statement failed: %s", PQresultErrorMessage(r));
            rc = NB_ERR_INTERNAL;
            PQclear(r);
        }
    }
    if (PQstatus(c) == CONNECTION_BAD) {
        PQclear(last);
        return NB_ERR_UNAVAILABLE;
    }
    if (rc != NB_OK) {
        PQclear(last);
        return rc;
    }
    if (!last) return NB_ERR_INTERNAL;
    *res = last;
    return NB_OK;
}
