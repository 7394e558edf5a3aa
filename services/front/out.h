/* out.h — the text writer of front's renderers: an nb_buf with a sticky
 * error, so render code writes straight through and checks once at the end.
 * One owner at a time (not thread-safe). */
#ifndef FRONT_OUT_H
#define FRONT_OUT_H

#include <stddef.h>

#include "nimbus/buf.h"

typedef struct fr_out {
    nb_buf b;
    nb_err err; /* the first failure; every later write is skipped */
} fr_out;

void fr_out_init(fr_out *o, size_t cap);
void fr_put(fr_out *o, const char *s);
void fr_putf(fr_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Untrusted text (a place name, anything from the api): appended as safe
 * text, unsafe characters replaced (nb_buf_add_safe); NULL writes nothing. */
void fr_put_safe(fr_out *o, const char *s);
/* The same, HTML-escaped too (nb_buf_add_html). */
void fr_put_html(fr_out *o, const char *s);
/* The text (caller frees), or NULL when any write failed (everything released). */
char *fr_out_finish(fr_out *o, size_t *len);

#endif
