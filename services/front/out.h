/* out.h — the text writer of front's renderers: an nb_buf with a sticky
 * error, so render code writes straight through and checks once at the end.
 * Where an answer says something about now (tpl.h), a renderer writes a slot
 * instead and finishes with fr_out_finish_tpl: the kept template.
 * One owner at a time (not thread-safe). */
#ifndef FRONT_OUT_H
#define FRONT_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "nimbus/buf.h"
#include "tpl.h"

typedef struct fr_out {
    nb_buf b;
    nb_err err;     /* the first failure; every later write is skipped */
    fr_slot *slots; /* where fr_out_slot marked values of the answer's time */
    size_t nslots, slots_alloc;
} fr_out;

void fr_out_init(fr_out *o, size_t cap);
void fr_put(fr_out *o, const char *s);
void fr_putf(fr_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Untrusted text (a place name, anything from the api): appended as safe
 * text, unsafe characters replaced (nb_buf_add_safe); NULL writes nothing. */
void fr_put_safe(fr_out *o, const char *s);
/* The same, HTML-escaped too (nb_buf_add_html). */
void fr_put_html(fr_out *o, const char *s);
/* Marks the place of a value that changes with time (filled by fr_tpl_fill). */
void fr_out_slot(fr_out *o, fr_slot_kind kind);
/* The text (caller frees), or NULL when any write failed (everything released).
 * For output without slots. */
char *fr_out_finish(fr_out *o, size_t *len);
/* The template (tpl.h: its first reference, the caller's) of the text and
 * slots, valid until the local midnight after now_ms; NULL when any write
 * failed. Everything is handed over or released. */
fr_tpl *fr_out_finish_tpl(fr_out *o, long utc_offset_s, int64_t fetched_at_ms, int64_t now_ms);

#endif
