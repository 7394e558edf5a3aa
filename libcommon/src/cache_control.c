/* cache_control.c — Cache-Control directives (see cache_control.h). */
#include "nimbus/cache_control.h"

#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#define DELTA_MAX 2147483647L

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Finds directive name in cc: its value (after '=', may be "") through
 * *value and *vlen, NULL value when it has none. false when absent. */
static bool find(const char *cc, const char *name, const char **value, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = cc;
    while (p && *p) {
        p = skip_ows(p);
        const char *start = p;
        while (*p && *p != '=' && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        size_t len = (size_t)(p - start);
        p = skip_ows(p);
        const char *v = NULL;
        size_t vl = 0;
        if (*p == '=') {
            p = skip_ows(p + 1);
            if (*p == '"') { /* quoted-string: up to the closing quote, escapes kept */
                v = ++p;
                while (*p && *p != '"')
                    p += (*p == '\\' && p[1]) ? 2 : 1;
                vl = (size_t)(p - v);
                if (*p == '"') p++;
            } else {
                v = p;
                while (*p && *p != ',' && *p != ' ' && *p != '\t')
                    p++;
                vl = (size_t)(p - v);
            }
        }
        if (len == nl && strncasecmp(start, name, nl) == 0) {
            *value = v;
            *vlen = vl;
            return true;
        }
        while (*p && *p != ',') /* anything else up to the next directive */
            p++;
        if (*p == ',') p++;
    }
    return false;
}

bool nb_cc_has(const char *cc, const char *name)
{
    const char *v;
    size_t n;
    return cc && find(cc, name, &v, &n);
}

long nb_cc_seconds(const char *cc, const char *name)
{
    const char *v;
    size_t n;
    if (!cc || !find(cc, name, &v, &n) || !v || n == 0) return -1;
    long s = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)v[i])) return -1;
        s = s > DELTA_MAX / 10 ? DELTA_MAX : s * 10 + (v[i] - '0');
        if (s > DELTA_MAX) s = DELTA_MAX;
    }
    return s;
}

bool nb_cc_wants_revalidation(const char *cache_control, const char *pragma)
{
    return nb_cc_has(cache_control, "no-cache") || nb_cc_seconds(cache_control, "max-age") == 0 ||
           nb_cc_has(pragma, "no-cache");
}
