/* text.c — UTF-8 decoding and safe text (see text.h). */
#include "nimbus/text.h"

#include <string.h>

size_t nb_utf8_next(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t c = p[0], min;
    size_t len;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, min = 0x80, c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, min = 0x800, c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
    *cp = c;
    return len;
}

static size_t put_u(char *out, uint32_t v)
{
    static const char hex[] = "0123456789abcdef";
    out[0] = '\\';
    out[1] = 'u';
    for (int i = 0; i < 4; i++)
        out[2 + i] = hex[(v >> (12 - 4 * i)) & 15];
    return 6;
}

size_t nb_json_escape_char(const char *s, size_t n, bool ascii_only, char *out, size_t *used)
{
    uint32_t cp;
    size_t len = nb_utf8_next(s, n, &cp);
    if (len == 0) { /* not UTF-8: one byte becomes U+FFFD */
        *used = 1;
        return put_u(out, 0xfffd);
    }
    *used = len;
    if (cp == '"' || cp == '\\') {
        out[0] = '\\';
        out[1] = (char)cp;
        return 2;
    }
    if (cp >= 0x20 && cp < 0x7f) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp == '\n' || cp == '\r' || cp == '\t') {
        out[0] = '\\';
        out[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
        return 2;
    }
    if (cp < 0x80) return put_u(out, cp);
    if (!ascii_only) {
        memcpy(out, s, len);
        return len;
    }
    if (cp < 0x10000) return put_u(out, cp);
    cp -= 0x10000; /* a surrogate pair */
    put_u(out, 0xd800 + (cp >> 10));
    return 6 + put_u(out + 6, 0xdc00 + (cp & 0x3ff));
}

bool nb_utf8_valid(const char *s, size_t n)
{
    uint32_t cp;
    for (size_t i = 0, len; i < n; i += len)
        if ((len = nb_utf8_next(s + i, n - i, &cp)) == 0) return false;
    return true;
}

size_t nb_utf8_prefix(const char *s, size_t max)
{
    size_t n = strlen(s), i = 0, len;
    uint32_t cp;
    while (i < n && (len = nb_utf8_next(s + i, n - i, &cp)) != 0 && i + len <= max)
        i += len;
    return i;
}

bool nb_text_unsafe(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
           cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}
