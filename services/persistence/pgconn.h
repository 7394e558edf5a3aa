/* pgconn.h — libpq with deadlines: connect and run one parameterised
 * statement without ever blocking longer than the caller's deadline.
 *
 * Connect uses PQconnectStartParams/PQconnectPoll with our own poll() (libpq's
 * connect_timeout cannot go below 2 s) and sets statement_timeout through the
 * startup options. Statements go through PQsendQueryParams (parameters only,
 * never SQL built from input) and poll() until the deadline; on timeout the
 * statement is cancelled (PQcancel on a short-lived detached thread, since
 * PQcancel itself has no timeout) and the caller must drop the connection.
 * Threads: a PGconn belongs to one thread; these functions are thread-safe
 * for distinct connections. */
#ifndef NIMBUS_PERSISTENCE_PGCONN_H
#define NIMBUS_PERSISTENCE_PGCONN_H

#include <libpq-fe.h>
#include <stdint.h>

#include "nimbus/err.h"

/* Connects to dsn (key=value or URI) before deadline_ms (nb_mono_ms clock).
 * statement_timeout_ms > 0 sets the session's statement_timeout. On success
 * *out is a nonblocking connection owned by the caller (PQfinish). Errors:
 * NB_ERR_TIMEOUT, NB_ERR_UNAVAILABLE, NB_ERR_NOMEM. */
nb_err ps_pgc_connect(const char *dsn, int statement_timeout_ms, int64_t deadline_ms, PGconn **out);

/* Runs sql with text parameters; *res gets the last result (caller PQclears)
 * when it is PGRES_TUPLES_OK or PGRES_COMMAND_OK. Errors: NB_ERR_TIMEOUT (the
 * statement was cancelled; drop the connection), NB_ERR_UNAVAILABLE (the
 * connection is broken; drop it), NB_ERR_INTERNAL (the server answered with
 * an error; the connection is still usable). */
nb_err ps_pgc_exec(PGconn *c, const char *sql, int nparams, const char *const *params,
                   int64_t deadline_ms, PGresult **res);

#endif
