/* err.c — nb_err to HTTP status and stable code: the only such mapping. */
#include "nimbus/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int nb_err_http_status(nb_err e)
{
    switch (e) {
    case NB_OK:
        return 200;
    case NB_ERR_INVALID:
        return 400;
    case NB_ERR_NOT_FOUND:
        return 404;
    case NB_ERR_METHOD:
        return 405;
    case NB_ERR_CONFLICT:
        return 409;
    case NB_ERR_TOO_LARGE:
        return 413;
    case NB_ERR_MEDIA_TYPE:
        return 415;
    case NB_ERR_UPSTREAM:
        return 502;
    case NB_ERR_RATE_LIMITED:
        return 503;
    case NB_ERR_UNAVAILABLE:
        return 503;
    case NB_ERR_TIMEOUT:
        return 503;
    case NB_ERR_NOMEM:
    case NB_ERR_INTERNAL:
        return 500;
    }
    return 500;
}

const char *nb_err_code(nb_err e)
{
    switch (e) {
    case NB_OK:
        return "ok";
    case NB_ERR_NOMEM:
        return "out_of_memory";
    case NB_ERR_INVALID:
        return "bad_request";
    case NB_ERR_NOT_FOUND:
        return "not_found";
    case NB_ERR_TOO_LARGE:
        return "payload_too_large";
    case NB_ERR_MEDIA_TYPE:
        return "unsupported_media_type";
    case NB_ERR_METHOD:
        return "method_not_allowed";
    case NB_ERR_CONFLICT:
        return "conflict";
    case NB_ERR_RATE_LIMITED:
        return "rate_limited";
    case NB_ERR_UNAVAILABLE:
        return "unavailable";
    case NB_ERR_TIMEOUT:
        return "timeout";
    case NB_ERR_UPSTREAM:
        return "upstream_error";
    case NB_ERR_INTERNAL:
        return "internal_error";
    }
    return "internal_error";
}

nb_err nb_err_from_code(const char *code)
{
    for (nb_err e = NB_OK; e <= NB_ERR_INTERNAL; e++)
        if (code && strcmp(code, nb_err_code(e)) == 0) return e;
    return NB_ERR_INTERNAL;
}

nb_err nb_error_set(nb_error *e, nb_err code, int retry_after_s, const char *fmt, ...)
{
    if (!e) return code;
    e->code = code;
    e->retry_after_s = retry_after_s;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}
