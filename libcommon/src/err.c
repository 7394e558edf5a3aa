/* err.c — nb_err to HTTP status and stable code: the only such mapping. */
#include "nimbus/err.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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
    case NB_ERR_FORBIDDEN:
        return 403;
    case NB_ERR_CONFLICT:
        return 409;
    case NB_ERR_TOO_LARGE:
        return 413;
    case NB_ERR_MEDIA_TYPE:
        return 415;
    case NB_ERR_UPSTREAM:
        return 502;
    case NB_ERR_TOO_MANY:
        return 429;
    case NB_ERR_RATE_LIMITED:
    case NB_ERR_UNAVAILABLE:
    case NB_ERR_TIMEOUT:
    case NB_ERR_NOMEM:
        return 503;
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
    case NB_ERR_FORBIDDEN:
        return "forbidden";
    case NB_ERR_CONFLICT:
        return "conflict";
    case NB_ERR_RATE_LIMITED:
        return "rate_limited";
    case NB_ERR_TOO_MANY:
        return "too_many_requests";
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

/* The error for a status alone (no body, or one that says otherwise: a proxy's
 * answer): a 4xx that is some code's status is that code, another 4xx a bad
 * request; 502 the upstream's failure, any other 5xx "unavailable". */
static nb_err status_err(long status)
{
    if (status >= 400 && status < 500) {
        for (nb_err e = NB_ERR_NOMEM; e <= NB_ERR_INTERNAL; e++)
            if (nb_err_http_status(e) == status) return e;
        return NB_ERR_INVALID;
    }
    return status == 502 ? NB_ERR_UPSTREAM : NB_ERR_UNAVAILABLE;
}

nb_err nb_error_from_answer(nb_error *e, long status, const char *body, size_t len,
                            const char *retry_after, const char *who)
{
    json_t *doc = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(doc, "error"));
    const char *reason = json_string_value(json_object_get(doc, "reason"));
    nb_err c = nb_err_from_code(code);
    if (!code || c == NB_OK || nb_err_http_status(c) != status) c = status_err(status);
    char *end = NULL;
    long ra = retry_after ? strtol(retry_after, &end, 10) : 0;
    if (!end || *end || ra < 0 || ra > 86400) ra = 0;
    if (who)
        nb_error_set(e, c, (int)ra, "%s answered %ld: %s", who, status,
                     reason ? reason : "no reason given");
    else
        nb_error_set(e, c, (int)ra, "%s", reason ? reason : "no reason given");
    json_decref(doc);
    return c;
}
