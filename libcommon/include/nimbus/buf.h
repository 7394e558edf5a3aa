/* buf.h — a bounded, growable byte buffer (the curl dynbuf idea).
 *
 * Invariants: data is always NUL-terminated when len > 0 or after any add
 * (data may be NULL while empty); len never exceeds cap. An add that would pass
 * cap fails with NB_ERR_TOO_LARGE and leaves the buffer unchanged.
 * Ownership: the buffer owns data; nb_buf_detach() is the one way to take it.
 * Not thread-safe: one owner at a time. */
#ifndef NIMBUS_BUF_H
#define NIMBUS_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "nimbus/err.h"

typedef struct nb_buf {
    char *data;
    size_t len;
    size_t alloc;
    size_t cap; /* hard maximum of len */
} nb_buf;

void nb_buf_init(nb_buf *b, size_t cap);
/* Frees the storage; the buffer is empty and reusable with the same cap. */
void nb_buf_release(nb_buf *b);
/* Empties the buffer but keeps the storage. */
void nb_buf_reset(nb_buf *b);
nb_err nb_buf_add(nb_buf *b, const void *p, size_t n);
nb_err nb_buf_adds(nb_buf *b, const char *s);
nb_err nb_buf_addf(nb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
nb_err nb_buf_vaddf(nb_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends untrusted text for a reader (a terminal, a page): every unsafe
 * character (nimbus/text.h: C0 and C1 controls, DEL, bidirectional controls)
 * and every byte that is not valid UTF-8 becomes '?'. All or nothing, like
 * every add. */
nb_err nb_buf_add_safe(nb_buf *b, const char *s);
/* nb_buf_add_safe() with HTML special characters escaped (& < > " '). */
nb_err nb_buf_add_html(nb_buf *b, const char *s);
/* s (NULL = "") as a JSON string literal, quotes included, escaped by
 * text.h's nb_json_escape_char (UTF-8 kept as it is; bytes that are not
 * UTF-8 become U+FFFD). All or nothing, like every add. */
nb_err nb_buf_add_json_str(nb_buf *b, const char *s);
/* Returns the data (NUL-terminated, never NULL; caller frees) and empties b. */
char *nb_buf_detach(nb_buf *b, size_t *len);
/* A NUL-terminated view of the contents, "" when empty. Borrowed. */
const char *nb_buf_str(const nb_buf *b);

#endif
