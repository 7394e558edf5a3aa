/* out.c — sticky-error writer for the renderers (see out.h). */
#include "out.h"

#include <stdarg.h>

void fr_out_init(fr_out *o, size_t cap)
{
    nb_buf_init(&o->b, cap);
    o->err = NB_OK;
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

char *fr_out_finish(fr_out *o, size_t *len)
{
    if (o->err != NB_OK) {
        nb_buf_release(&o->b);
        return NULL;
    }
    return nb_buf_detach(&o->b, len);
}
