/* form.c — application/x-www-form-urlencoded fields (see form.h). */
#include "form.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes p[0..n) into out; false on a bad escape, a NUL or no room. */
static bool decode(const char *p, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 1 < n ? hexval(p[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(p[i + 2]) : -1;
            if (hi < 0 || lo < 0) return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0' || o + 1 >= outlen) return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

bool fr_form_get(const char *body, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *p = body, *end = body ? body + len : NULL;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *fend = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(fend - p));
        const char *kend = eq ? eq : fend;
        char key[64];
        if (decode(p, (size_t)(kend - p), key, sizeof(key)) && strlen(key) == nlen &&
            memcmp(key, name, nlen) == 0)
            return decode(eq ? eq + 1 : fend, eq ? (size_t)(fend - eq - 1) : 0, out, outlen);
        p = amp ? amp + 1 : NULL;
    }
    return false;
}
