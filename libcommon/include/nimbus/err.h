/* err.h — the one error enum of nimbus, and its single mapping to HTTP.
 *
 * Action functions return nb_err (NB_OK == 0); predicates return bool.
 * nb_err_http_status() is the only place an error becomes a status code.
 * Thread-safe: pure functions. */
#ifndef NIMBUS_ERR_H
#define NIMBUS_ERR_H

typedef enum nb_err {
    NB_OK = 0,
    NB_ERR_NOMEM,        /* allocation failed                    -> 500 */
    NB_ERR_INVALID,      /* bad input from the caller            -> 400 */
    NB_ERR_NOT_FOUND,    /* no such thing                        -> 404 */
    NB_ERR_TOO_LARGE,    /* body or response over its cap        -> 413 */
    NB_ERR_MEDIA_TYPE,   /* body is not application/json         -> 415 */
    NB_ERR_METHOD,       /* route exists, method does not        -> 405 */
    NB_ERR_CONFLICT,     /* precondition failed                  -> 409 */
    NB_ERR_RATE_LIMITED, /* our own pace limit is spent          -> 503 */
    NB_ERR_UNAVAILABLE,  /* a backend is down, retry later       -> 503 */
    NB_ERR_TIMEOUT,      /* a backend did not answer in time     -> 504 */
    NB_ERR_UPSTREAM,     /* upstream answered with garbage/error -> 502 */
    NB_ERR_INTERNAL,     /* a bug or an impossible state         -> 500 */
} nb_err;

/* HTTP status for an error (NB_OK -> 200). */
int nb_err_http_status(nb_err e);
/* Stable snake_case code for error bodies, e.g. "bad_request". */
const char *nb_err_code(nb_err e);

#endif
