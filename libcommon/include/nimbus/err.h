/* err.h — the one error enum of nimbus, its single mapping to HTTP, and the
 * one error value that carries a failure from where it happens to the answer.
 *
 * Action functions return nb_err (NB_OK == 0); predicates return bool. When
 * the caller needs more than the code (a reason for people, when to retry),
 * the function fills an nb_error. nb_err_http_status() is the only place an
 * error becomes a status code (nb_respond_error / nb_respond_err answer with
 * it): a given failure has one status everywhere, and a daemon passing on
 * another's refusal reads it back with nb_error_from_answer, keeping its code.
 * Thread-safe: pure functions. */
#ifndef NIMBUS_ERR_H
#define NIMBUS_ERR_H

#include <stddef.h>

typedef enum nb_err {
    NB_OK = 0,
    NB_ERR_NOMEM,        /* allocation failed (may pass)         -> 503 */
    NB_ERR_INVALID,      /* bad input from the caller            -> 400 */
    NB_ERR_NOT_FOUND,    /* no such thing                        -> 404 */
    NB_ERR_TOO_LARGE,    /* body or response over its cap        -> 413 */
    NB_ERR_MEDIA_TYPE,   /* body is not application/json         -> 415 */
    NB_ERR_METHOD,       /* route exists, method does not        -> 405 */
    NB_ERR_FORBIDDEN,    /* the request may not be made from there -> 403 */
    NB_ERR_CONFLICT,     /* precondition failed                  -> 409 */
    NB_ERR_RATE_LIMITED, /* the upstream budget is spent         -> 503 */
    NB_ERR_TOO_MANY,     /* a client over its own cap            -> 429 */
    NB_ERR_UNAVAILABLE,  /* a backend is down, retry later       -> 503 */
    NB_ERR_TIMEOUT,      /* a backend did not answer in time     -> 503 */
    NB_ERR_UPSTREAM,     /* upstream answered with garbage/error -> 502 */
    NB_ERR_INTERNAL,     /* a bug or an impossible state         -> 500 */
} nb_err;

/* HTTP status for an error (NB_OK -> 200). */
int nb_err_http_status(nb_err e);
/* Stable snake_case code for error bodies, e.g. "bad_request". */
const char *nb_err_code(nb_err e);
/* The error for a code nb_err_code() gives (an error body read back from
 * another nimbus daemon); NB_ERR_INTERNAL for anything else. */
nb_err nb_err_from_code(const char *code);

/* A failure with what a caller or a person needs to know about it. */
typedef struct nb_error {
    nb_err code;       /* NB_OK: no error */
    int retry_after_s; /* seconds for Retry-After; 0: don't say */
    char msg[256];     /* a reason for people (UTF-8, no trailing newline) */
} nb_error;

/* Fills e (when not NULL) and returns code, so that `return nb_error_set(...)`
 * reads as one step. */
nb_err nb_error_set(nb_error *e, nb_err code, int retry_after_s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The failure another nimbus daemon answered (status >= 400, its error body
 * per proto/error.schema.json and its Retry-After header, both may be NULL),
 * read back into e: the code its body names when that code's status is the
 * answer's (so that the failure keeps its one status when passed on), else
 * one by the status alone (a 4xx that is a code's status is that code, other
 * 4xx invalid; 502 upstream, other 5xx unavailable); the body's reason,
 * prefixed by "<who> answered <status>: " when who is not NULL.
 * Returns e->code. */
nb_err nb_error_from_answer(nb_error *e, long status, const char *body, size_t len,
                            const char *retry_after, const char *who);

#endif
