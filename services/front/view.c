/* view.c — reading how a reader asked to see a place (see view.h). */
#define _GNU_SOURCE /* strcasestr */
#include "view.h"

#include <string.h>
#include <strings.h>

#include "render_line.h"

void fr_view_init(fr_view *v)
{
    memset(v, 0, sizeof(*v));
    v->days = FR_TEXT_DAYS;
    v->units_query = v->units_flag = -1;
}

/* wttr.in's one-letter options in a bare argument; false when it holds
 * anything else (then it is not an option string at all). */
static bool flags(fr_view *v, const char *s)
{
    int units = v->units_flag, days = v->days;
    bool narrow = v->narrow;
    if (!*s || strlen(s) > 16) return false;
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case 'u':
            units = NB_UNITS_IMPERIAL;
            break;
        case 'm':
            units = NB_UNITS_METRIC;
            break;
        case 'n':
            narrow = true;
            break;
        case '0':
        case '1':
        case '2':
        case '3':
            days = *p - '0';
            break;
        case 'A': /* accepted, nothing to change: no ANSI colours, no pager */
        case 'F':
        case 'T':
        case 'd':
        case 'q':
        case 'Q':
        case 'p':
            break;
        default:
            return false;
        }
    }
    v->units_flag = units;
    v->days = days;
    v->narrow = narrow;
    return true;
}

void fr_view_arg(fr_view *v, const char *name, const char *value)
{
    nb_units u;
    if (strcasecmp(name, "format") == 0 && value) {
        if (!v->format) v->format = value;
    } else if (strcasecmp(name, "units") == 0 && value) {
        if (v->units_query < 0 && nb_units_parse(value, &u)) v->units_query = (int)u;
    } else if (strcasecmp(name, "hours") == 0 && value) {
        int h = 0;
        for (const char *q = value; *q >= '0' && *q <= '9' && h <= 48; q++)
            h = h * 10 + (*q - '0');
        v->rain_hours = h >= 1 && h <= 48 ? h : 0;
    } else if (strcasecmp(name, "narrow") == 0) {
        v->narrow = true;
    } else if (!value || !*value) {
        flags(v, name);
    }
}

static bool has_token(const char *list, const char *token)
{
    return list && strcasestr(list, token) != NULL;
}

fr_format fr_negotiate(const char *format, const char *accept, const char *user_agent)
{
    if (format) {
        if (strcasecmp(format, "json") == 0) return FR_FMT_JSON;
        if (strcasecmp(format, "text") == 0 || strcasecmp(format, "txt") == 0 ||
            strcasecmp(format, "plain") == 0)
            return FR_FMT_TEXT;
        if (strcasecmp(format, "html") == 0) return FR_FMT_HTML;
        if (fr_line_format(format)) return FR_FMT_LINE;
    }
    if (has_token(accept, "text/html")) return FR_FMT_HTML;
    if (has_token(accept, "application/json")) return FR_FMT_JSON;
    if (has_token(accept, "text/plain")) return FR_FMT_TEXT;
    if (user_agent &&
        (strncasecmp(user_agent, "curl/", 5) == 0 || strncasecmp(user_agent, "Wget/", 5) == 0 ||
         strncasecmp(user_agent, "HTTPie/", 7) == 0))
        return FR_FMT_TEXT;
    return FR_FMT_HTML;
}

bool fr_cookie(const char *header, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ';' || *p == '\t')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = len - nl - 1;
            while (vl > 0 && (p[nl + 1 + vl - 1] == ' ' || p[nl + 1 + vl - 1] == '\t'))
                vl--;
            if (vl >= outlen) return false;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return true;
        }
        p = end;
    }
    return false;
}

void fr_view_finish(fr_view *v, const char *accept, const char *user_agent, const char *cookie)
{
    v->fmt = fr_negotiate(v->format, accept, user_agent);
    v->line = v->fmt == FR_FMT_LINE ? fr_line_format(v->format) : NULL;
    v->units_asked = v->units_query >= 0 || v->units_flag >= 0;
    char c[16];
    nb_units u = NB_UNITS_METRIC;
    if (v->units_query >= 0)
        u = (nb_units)v->units_query;
    else if (v->units_flag >= 0)
        u = (nb_units)v->units_flag;
    else if (v->fmt == FR_FMT_HTML && fr_cookie(cookie, "units", c, sizeof(c)))
        nb_units_parse(c, &u);
    v->units = u;
}
