/* etag.c — RFC 9110 entity-tag comparisons (see etag.h). */
#include "nimbus/etag.h"

#include <string.h>

/* Parses one entity-tag at *p (after optional whitespace): sets the opaque
 * part (between the quotes, without them) and weak; advances *p past it.
 * false when malformed. */
static bool parse_tag(const char **p, const char **opaque, size_t *len, bool *weak)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    *weak = false;
    if (s[0] == 'W' && s[1] == '/') {
        *weak = true;
        s += 2;
    }
    if (*s != '"') return false;
    const char *start = ++s;
    /* etagc = %x21 / %x23-7E / obs-text */
    while (*s && *s != '"') {
        unsigned char c = (unsigned char)*s;
        if (c < 0x21 || c == 0x7f) return false;
        s++;
    }
    if (*s != '"') return false;
    *opaque = start;
    *len = (size_t)(s - start);
    *p = s + 1;
    return true;
}

/* Parses a whole header value holding exactly one tag. */
static bool parse_one(const char *v, const char **opaque, size_t *len, bool *weak)
{
    if (!v || !parse_tag(&v, opaque, len, weak)) return false;
    while (*v == ' ' || *v == '\t')
        v++;
    return *v == '\0';
}

bool nb_etag_strong_eq(const char *a, const char *b)
{
    const char *oa, *ob;
    size_t la, lb;
    bool wa, wb;
    if (!parse_one(a, &oa, &la, &wa) || !parse_one(b, &ob, &lb, &wb)) return false;
    return !wa && !wb && la == lb && memcmp(oa, ob, la) == 0;
}

bool nb_etag_weak_eq(const char *a, const char *b)
{
    const char *oa, *ob;
    size_t la, lb;
    bool wa, wb;
    if (!parse_one(a, &oa, &la, &wa) || !parse_one(b, &ob, &lb, &wb)) return false;
    return la == lb && memcmp(oa, ob, la) == 0;
}

bool nb_etag_none_match(const char *inm, const char *etag)
{
    const char *oe;
    size_t le;
    bool we;
    if (!inm || !parse_one(etag, &oe, &le, &we)) return false;
    const char *p = inm;
    while (*p == ' ' || *p == '\t')
        p++;
    if (p[0] == '*') {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        return *p == '\0';
    }
    for (;;) {
        const char *o;
        size_t l;
        bool w;
        if (!parse_tag(&p, &o, &l, &w)) return false;
        if (l == le && memcmp(o, oe, l) == 0) return true;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0') return false;
        if (*p != ',') return false;
        p++;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0') return false;
    }
}
