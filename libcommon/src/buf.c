/* buf.c — bounded growable byte buffer; see buf.h for the invariants. */
#include "nimbus/buf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/text.h"

void nb_buf_init(nb_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void nb_buf_release(nb_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

void nb_buf_reset(nb_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

static nb_err buf_reserve(nb_buf *b, size_t extra)
{
    if (extra > b->cap || b->len > b->cap - extra) return NB_ERR_TOO_LARGE;
    size_t need = b->len + extra + 1;
    if (need <= b->alloc) return NB_OK;
    size_t n = b->alloc ? b->alloc : 256;
    while (n < need)
        n *= 2;
    if (n > b->cap + 1) n = b->cap + 1;
    char *p = realloc(b->data, n);
    if (!p) return NB_ERR_NOMEM;
    b->data = p;
    b->alloc = n;
    return NB_OK;
}

nb_err nb_buf_add(nb_buf *b, const void *p, size_t n)
{
    nb_err e = buf_reserve(b, n);
    if (e) return e;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return NB_OK;
}

nb_err nb_buf_adds(nb_buf *b, const char *s)
{
    return nb_buf_add(b, s, strlen(s));
}

nb_err nb_buf_vaddf(nb_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return NB_ERR_INVALID;
    nb_err e = buf_reserve(b, (size_t)n);
    if (e) return e;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return NB_OK;
}

nb_err nb_buf_addf(nb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nb_err e = nb_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return e;
}

/* The HTML entity for c, or NULL when c stands for itself. */
static const char *html_entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

/* Appends s with unsafe characters and stray bytes replaced by '?' (and HTML
 * special characters escaped when html); all or nothing. Copies runs of
 * characters that need nothing done in one add. */
static nb_err add_text(nb_buf *b, const char *s, bool html)
{
    size_t len0 = b->len, n = strlen(s), run = 0, i = 0;
    nb_err e = NB_OK;
    while (i < n && e == NB_OK) {
        uint32_t cp;
        size_t len = nb_utf8_next(s + i, n - i, &cp);
        const char *rep = NULL;
        if (len == 0 || nb_text_unsafe(cp)) {
            rep = "?";
            if (len == 0) len = 1; /* a stray byte */
        } else if (html && len == 1) {
            rep = html_entity(s[i]);
        }
        if (rep) {
            e = nb_buf_add(b, s + run, i - run);
            if (e == NB_OK) e = nb_buf_adds(b, rep);
            run = i + len;
        }
        i += len;
    }
    if (e == NB_OK) e = nb_buf_add(b, s + run, n - run);
    if (e != NB_OK) { /* leave the buffer as it was */
        b->len = len0;
        if (b->data) b->data[len0] = '\0';
    }
    return e;
}

nb_err nb_buf_add_safe(nb_buf *b, const char *s)
{
    return add_text(b, s, false);
}

nb_err nb_buf_add_html(nb_buf *b, const char *s)
{
    return add_text(b, s, true);
}

nb_err nb_buf_add_json_str(nb_buf *b, const char *s)
{
    size_t len0 = b->len, n = strlen(s ? s : ""), run = 0, i = 0;
    char e[NB_JSON_ESC_MAX];
    nb_err err = nb_buf_add(b, "\"", 1);
    if (!s) s = "";
    while (i < n && err == NB_OK) {
        size_t used, k = nb_json_escape_char(s + i, n - i, false, e, &used);
        if (k != used || memcmp(e, s + i, k) != 0) { /* escaped: flush the run before it */
            err = nb_buf_add(b, s + run, i - run);
            if (err == NB_OK) err = nb_buf_add(b, e, k);
            run = i + used;
        }
        i += used;
    }
    if (err == NB_OK) err = nb_buf_add(b, s + run, n - run);
    if (err == NB_OK) err = nb_buf_add(b, "\"", 1);
    if (err != NB_OK) { /* leave the buffer as it was */
        b->len = len0;
        if (b->data) b->data[len0] = '\0';
    }
    return err;
}

char *nb_buf_detach(nb_buf *b, size_t *len)
{
    char *p = b->data;
    if (!p) p = calloc(1, 1);
    if (len) *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}

const char *nb_buf_str(const nb_buf *b)
{
    return b->data ? b->data : "";
}
