/* log.c — JSON-lines logging to stderr, one write(2) per line. */
#include "nimbus/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nimbus/clock.h"

#define LOG_LINE_MAX 4096

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

/* Appends s JSON-escaped into out[*pos..cap), truncating safely. */
static void put_escaped(char *out, size_t *pos, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)s; *p && *pos + 7 < cap; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            out[(*pos)++] = '\\';
            out[(*pos)++] = (char)c;
        } else if (c == '\n') {
            out[(*pos)++] = '\\';
            out[(*pos)++] = 'n';
        } else if (c < 0x20) {
            memcpy(out + *pos, "\\u00", 4);
            *pos += 4;
            out[(*pos)++] = hex[c >> 4];
            out[(*pos)++] = hex[c & 15];
        } else {
            out[(*pos)++] = (char)c;
        }
    }
}

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

    char line[LOG_LINE_MAX];
    size_t pos = 0, cap = sizeof(line) - 2; /* room for "}\n" */
    char ts[40];
    nb_time_rfc3339(nb_now_ms(), ts, sizeof(ts));
    put_raw(line, &pos, cap, "{\"ts\":\"");
    put_raw(line, &pos, cap, ts);
    put_raw(line, &pos, cap, "\",\"level\":\"");
    put_raw(line, &pos, cap, level_names[lvl]);
    put_raw(line, &pos, cap, "\",\"svc\":\"");
    put_escaped(line, &pos, cap, log_service);
    if (log_rid[0]) {
        put_raw(line, &pos, cap, "\",\"rid\":\"");
        put_escaped(line, &pos, cap, log_rid);
    }
    put_raw(line, &pos, cap, "\",\"msg\":\"");
    put_escaped(line, &pos, cap, msg);
    put_raw(line, &pos, cap, "\"");
    if (fields && *fields) {
        put_raw(line, &pos, cap, ",");
        put_raw(line, &pos, cap, fields);
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
