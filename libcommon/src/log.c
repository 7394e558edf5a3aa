/* log.c — JSON-lines logging to stderr, one write(2) per line.
 *
 * Every line is ASCII: text is escaped by json_escape() (quotes, backslashes,
 * control characters, every non-ASCII character as \uXXXX, bytes that are not
 * UTF-8 as \ufffd), so no byte a terminal could act on reaches it and every
 * line parses as JSON. */
#include "nimbus/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nimbus/clock.h"

#define LOG_LINE_MAX 4096
#define LOG_FIELDS_MAX (LOG_LINE_MAX / 2)

static const char *log_service = "nimbus";
static nb_log_level log_min = NB_LOG_INFO;
static _Thread_local char log_rid[65];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void nb_log_init(const char *service, nb_log_level min_level)
{
    log_service = service;
    log_min = min_level;
}

int nb_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) return i;
    return -1;
}

bool nb_log_start(const char *service, const char *level)
{
    int l = nb_log_level_parse(level);
    if (l < 0) {
        fprintf(stderr, "%s: invalid log-level '%s': use debug, info, warn or error\n", service,
                level);
        return false;
    }
    nb_log_init(service, (nb_log_level)l);
    return true;
}

void nb_log_set_request_id(const char *rid)
{
    if (!rid) {
        log_rid[0] = '\0';
        return;
    }
    snprintf(log_rid, sizeof(log_rid), "%s", rid);
}

const char *nb_log_request_id(void)
{
    return log_rid[0] ? log_rid : NULL;
}

/* ---- escaping ---------------------------------------------------------- */

/* Decodes the UTF-8 sequence at p (NUL-terminated); returns its length and
 * sets *cp, or returns 0 when p does not start a valid, shortest-form sequence
 * of a scalar value (RFC 3629). */
static size_t utf8_decode(const unsigned char *p, uint32_t *cp)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) { /* a NUL fails this test too */
        if ((p[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
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

/* Writes the escape of the character at *p into e (room for 12 bytes) and
 * advances *p. in_string: the text is the inside of a JSON string (quotes and
 * backslashes are escaped); otherwise it is JSON text whose strings are
 * already escaped, and only control and non-ASCII bytes are rewritten (a
 * control byte becomes a space, valid wherever it was). */
static size_t escape_one(const unsigned char **p, char *e, bool in_string)
{
    uint32_t cp;
    size_t n = utf8_decode(*p, &cp);
    if (n == 0) { /* not UTF-8: one byte becomes U+FFFD */
        *p += 1;
        return put_u(e, 0xfffd);
    }
    *p += n;
    if (cp >= 0x20 && cp < 0x7f) {
        if (in_string && (cp == '"' || cp == '\\')) {
            e[0] = '\\';
            e[1] = (char)cp;
            return 2;
        }
        e[0] = (char)cp;
        return 1;
    }
    if (cp < 0x80 && !in_string) {
        e[0] = ' ';
        return 1;
    }
    if (cp == '\n' || cp == '\r' || cp == '\t') {
        e[0] = '\\';
        e[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
        return 2;
    }
    if (cp < 0x10000) return put_u(e, cp);
    cp -= 0x10000; /* a surrogate pair */
    put_u(e, 0xd800 + (cp >> 10));
    return 6 + put_u(e + 6, 0xdc00 + (cp & 0x3ff));
}

/* Appends the escape of s to out[*pos..cap), keeping room for a NUL; stops
 * before a character whose escape would not fit. Returns false if it stopped. */
static bool put_escaped(char *out, size_t *pos, size_t cap, const char *s, bool in_string)
{
    const unsigned char *p = (const unsigned char *)s;
    char e[12];
    while (*p) {
        const unsigned char *next = p;
        size_t n = escape_one(&next, e, in_string);
        if (*pos + n >= cap) return false;
        memcpy(out + *pos, e, n);
        *pos += n;
        p = next;
    }
    return true;
}

size_t nb_log_escape(char *out, size_t cap, const char *s)
{
    if (cap == 0) return 0;
    size_t pos = 0;
    put_escaped(out, &pos, cap, s ? s : "", true);
    out[pos] = '\0';
    return pos;
}

/* ---- lines ------------------------------------------------------------- */

static void put_raw(char *out, size_t *pos, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n > cap - *pos - 1) n = cap - *pos - 1;
    memcpy(out + *pos, s, n);
    *pos += n;
}

static void log_emit(nb_log_level lvl, const char *fields, const char *fmt, va_list ap)
{
    char msg[LOG_LINE_MAX / 2];
    vsnprintf(msg, sizeof(msg), fmt, ap);

    /* The fields go in whole or not at all: a cut would break the line. */
    char f[LOG_FIELDS_MAX];
    size_t flen = 0;
    if (fields && *fields && !put_escaped(f, &flen, sizeof(f), fields, false)) {
        flen = 0;
        put_raw(f, &flen, sizeof(f), "\"fields_dropped\":\"too long\"");
    }
    f[flen] = '\0';

    char line[LOG_LINE_MAX];
    size_t pos = 0, cap = sizeof(line) - flen - 4; /* room for "," fields "}\n" */
    char ts[40];
    nb_time_rfc3339(nb_now_ms(), ts, sizeof(ts));
    put_raw(line, &pos, cap, "{\"ts\":\"");
    put_raw(line, &pos, cap, ts);
    put_raw(line, &pos, cap, "\",\"level\":\"");
    put_raw(line, &pos, cap, level_names[lvl]);
    put_raw(line, &pos, cap, "\",\"svc\":\"");
    put_escaped(line, &pos, cap - 1, log_service, true);
    if (log_rid[0]) {
        put_raw(line, &pos, cap, "\",\"rid\":\"");
        put_escaped(line, &pos, cap - 1, log_rid, true);
    }
    put_raw(line, &pos, cap, "\",\"msg\":\"");
    put_escaped(line, &pos, cap - 1, msg, true); /* cut at a character if too long */
    line[pos++] = '"';
    if (flen) {
        line[pos++] = ',';
        memcpy(line + pos, f, flen);
        pos += flen;
    }
    line[pos++] = '}';
    line[pos++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, pos);
    (void)w;
}

void nb_log(nb_log_level lvl, const char *fmt, ...)
{
    if (lvl < log_min) return;
    va_list ap;
    va_start(ap, fmt);
    log_emit(lvl, NULL, fmt, ap);
    va_end(ap);
}

void nb_log_fields(nb_log_level lvl, const char *fields_json, const char *fmt, ...)
{
    if (lvl < log_min) return;
    va_list ap;
    va_start(ap, fmt);
    log_emit(lvl, fields_json, fmt, ap);
    va_end(ap);
}
