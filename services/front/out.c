/* out.c — sticky-error writer for the renderers (see out.h). */
#include "out.h"

#include <stdarg.h>
#include <stdlib.h>

void fr_out_init(fr_out *o, size_t cap)
{
    nb_buf_init(&o->b, cap);
    o->err = NB_OK;
    o->slots = NULL;
    o->nslots = o->slots_alloc = 0;
}

void fr_put(fr_out *o, const char *s)
{
    if (o->err == NB_OK) o->err = nb_buf_adds(&o->b, s);
}

void fr_putf(fr_out *o, const char *fmt, ...)
{
    va_list ap;
    if (o->err != NB_OK) return;
    va_start(ap, fmt);
    o->err = nb_buf_vaddf(&o->b, fmt, ap);
    va_end(ap);
}

void fr_put_safe(fr_out *o, const char *s)
{
    if (o->err == NB_OK) o->err = nb_buf_add_safe(&o->b, s ? s : "");
}

void fr_put_html(fr_out *o, const char *s)
{
    if (o->err == NB_OK) o->err = nb_buf_add_html(&o->b, s ? s : "");
}

void fr_out_slot(fr_out *o, fr_slot_kind kind)
{
    if (o->err != NB_OK) return;
    if (o->nslots == o->slots_alloc) {
        size_t n = o->slots_alloc ? 2 * o->slots_alloc : 8;
        fr_slot *s = realloc(o->slots, n * sizeof(*s));
        if (!s) {
            o->err = NB_ERR_NOMEM;
            return;
        }
        o->slots = s;
        o->slots_alloc = n;
    }
    o->slots[o->nslots++] = (fr_slot){.at = o->b.len, .kind = kind};
}

char *fr_out_finish(fr_out *o, size_t *len)
{
    free(o->slots);
    o->slots = NULL;
    o->nslots = o->slots_alloc = 0;
    if (o->err != NB_OK) {
        nb_buf_release(&o->b);
        return NULL;
    }
    return nb_buf_detach(&o->b, len);
}

fr_tpl *fr_out_finish_tpl(fr_out *o, long utc_offset_s, int64_t fetched_at_ms, int64_t now_ms)
{
    fr_slot *slots = o->slots;
    size_t nslots = o->nslots, len;
    o->slots = NULL;
    o->nslots = o->slots_alloc = 0;
    if (o->err != NB_OK) {
        free(slots);
        nb_buf_release(&o->b);
        return NULL;
    }
    char *text = nb_buf_detach(&o->b, &len);
    return fr_tpl_new(text, len, slots, nslots, utc_offset_s, fetched_at_ms, now_ms);
}
