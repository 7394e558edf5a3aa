/* log.c — JSON-lines logging to stderr, one write(2) per line.
 *
 * Every line is ASCII: text is escaped by json_escape() (quotes, backslashes,
 * control characters, every non-ASCII character as a \u escape, bytes that are not
 * UTF-8 as \ufffd), so no byte a terminal could act on reaches it and every
 * line parses as JSON. */
#include "nimbus/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nimbus/clock.h"
#include "nimbus/text.h"

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

/* Writes the escape of the character at *p into e (room for NB_JSON_ESC_MAX
 * bytes) and advances *p. in_string: the text is the inside of a JSON string
 * (text.h's escaper, ASCII only); otherwise it is JSON text whose strings are
 * already escaped, and only control and non-ASCII bytes are rewritten (a
 * control byte becomes a space, valid wherever it was). */
static size_t escape_one(const unsigned char **p, char *e, bool in_string)
{
    if (!in_string && **p < 0x80) {
        e[0] = **p >= 0x20 && **p != 0x7f ? (char)**p : ' ';
        *p += 1;
        return 1;
    }
    /* p is NUL-terminated: the decoder stops at the NUL, a non-continuation
     * byte, so 4 bytes "available" never reads past it. */
    size_t used;
    size_t n = nb_json_escape_char((const char *)*p, 4, true, e, &used);
    *p += used;
    return n;
}

/* Appends the escape of s to out[*pos..cap), keeping room for a NUL; stops
 * before a character whose escape would not fit. Returns false if it stopped. */
static bool put_escaped(char *out, size_t *pos, size_t cap, const char *s, bool in_string)
{
    const unsigned char *p = (const unsigned char *)s;
    char e[NB_JSON_ESC_MAX];
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
