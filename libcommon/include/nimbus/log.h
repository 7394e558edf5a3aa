/* log.h — JSON-lines logging to stderr.
 *
 * Every line: {"ts":"<RFC 3339 UTC, ms>","level":"info","svc":"<service>",
 * "rid":"<request id, if the calling thread has one>","msg":"..."} plus any
 * extra fields given with nb_log_fields(). One write(2) per line, so lines
 * from different threads never interleave. Thread-safe.
 *
 * Every line is valid JSON in ASCII only, whatever the text logged: the
 * message is escaped (quotes, backslashes, control characters; non-ASCII
 * characters as \u escapes; bytes that are not UTF-8 as \ufffd), so no ESC, C0 or
 * C1 byte ever reaches a terminal. A message too long for a line (4 KiB) is
 * cut at a character boundary. */
#ifndef NIMBUS_LOG_H
#define NIMBUS_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum nb_log_level { NB_LOG_DEBUG, NB_LOG_INFO, NB_LOG_WARN, NB_LOG_ERROR } nb_log_level;

/* Call once from main() before threads start. service is borrowed (static). */
void nb_log_init(const char *service, nb_log_level min_level);
/* Parses "debug|info|warn|error"; returns -1 if unknown. */
int nb_log_level_parse(const char *s);
/* nb_log_init from a level given as text (a setting); prints the reason to
 * stderr and returns false when the level is unknown. Call once from main(). */
bool nb_log_start(const char *service, const char *level);

/* The request id of the calling thread (NULL for none). The string is copied. */
void nb_log_set_request_id(const char *rid);
const char *nb_log_request_id(void);

void nb_log(nb_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* fields_json: a pre-rendered JSON object body without braces, e.g.
 * "\"status\":200,\"ms\":1.2", appended to the line. Put text in it only
 * through nb_log_escape(). Control bytes in it become spaces and non-ASCII
 * characters \u escapes; fields longer than 2 KiB are replaced by
 * "fields_dropped":"too long" (never cut). */
void nb_log_fields(nb_log_level lvl, const char *fields_json, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes s (NULL = "") into out as the inside of a JSON string, escaped as
 * above, NUL-terminated; stops before a character whose escape would not fit
 * in cap bytes, so the result is always valid. Returns its length (< cap). */
size_t nb_log_escape(char *out, size_t cap, const char *s);

#define nb_debug(...) nb_log(NB_LOG_DEBUG, __VA_ARGS__)
#define nb_info(...) nb_log(NB_LOG_INFO, __VA_ARGS__)
#define nb_warn(...) nb_log(NB_LOG_WARN, __VA_ARGS__)
#define nb_error(...) nb_log(NB_LOG_ERROR, __VA_ARGS__)

#endif
