/* mime.c — MIME message building (see mime.h). */
#include "mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/email.h"

#define LINE_MAX_CHARS 76
#define MESSAGE_CAP (1024 * 1024)
#define EW_OVERHEAD 12 /* "=?UTF-8?B?" + "?=" */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static nb_err add_base64(nb_buf *out, const unsigned char *p, size_t n)
{
    char quad[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n) v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        quad[0] = b64[(v >> 18) & 63];
        quad[1] = b64[(v >> 12) & 63];
        quad[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < n ? b64[v & 63] : '=';
        nb_err e = nb_buf_add(out, quad, 4);
        if (e) return e;
    }
    return NB_OK;
}

void nt_mime_date(int64_t ms, char *out, size_t outlen)
{
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000", wd[tm.tm_wday], tm.tm_mday,
             mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* value without control characters (CR, LF, ... never reach a header). */
static char *clean(const char *value)
{
    size_t n = strlen(value);
    char *c = malloc(n + 1), *q = c;
    if (!c) return NULL;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if (*p >= 0x20 && *p != 0x7f) *q++ = (char)*p;
    *q = '\0';
    return c;
}

static bool plain_ascii(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p > 0x7e) return false;
    return strstr(s, "=?") == NULL;
}

/* Appends value as encoded words; `used` characters of the current line are
 * taken already. Each word holds whole UTF-8 characters. */
static nb_err add_encoded_words(nb_buf *out, const char *value, size_t used)
{
    const unsigned char *p = (const unsigned char *)value;
    size_t left = strlen(value);
    nb_err e = NB_OK;
    bool first = true;
    while (left > 0 && !e) {
        size_t lead = first ? used : 1;
        size_t room = (LINE_MAX_CHARS - lead - EW_OVERHEAD) / 4 * 3; /* raw bytes that fit */
        size_t n = left < room ? left : room;
        while (n < left && n > 0 && (p[n] & 0xC0) == 0x80) /* never split a character */
            n--;
        if (n == 0) n = left < room ? left : room; /* not UTF-8 after all: split anyway */
        if (!first) e = nb_buf_adds(out, "\r\n ");
        if (!e) e = nb_buf_adds(out, "=?UTF-8?B?");
        if (!e) e = add_base64(out, p, n);
        if (!e) e = nb_buf_adds(out, "?=");
        p += n;
        left -= n;
        first = false;
    }
    return e;
}

nb_err nt_mime_header_text(nb_buf *out, const char *name, const char *value)
{
    char *v = clean(value);
    if (!v) return NB_ERR_NOMEM;
    size_t used = strlen(name) + 2;
    nb_err e = nb_buf_addf(out, "%s: ", name);
    if (!e && plain_ascii(v) && used + strlen(v) <= LINE_MAX_CHARS)
        e = nb_buf_adds(out, v);
    else if (!e)
        e = add_encoded_words(out, v, used);
    if (!e) e = nb_buf_adds(out, "\r\n");
    free(v);
    return e;
}

/* --- quoted-printable --------------------------------------------------- */

typedef struct qp {
    nb_buf *out;
    size_t col;
    nb_err err;
} qp;

static void qp_put(qp *q, const char *s, size_t n)
{
    if (q->err) return;
    if (q->col + n > LINE_MAX_CHARS - 1) { /* room for the '=' of a soft break */
        q->err = nb_buf_adds(q->out, "=\r\n");
        q->col = 0;
    }
    if (!q->err) q->err = nb_buf_add(q->out, s, n);
    q->col += n;
}

static void qp_escape(qp *q, unsigned char c)
{
    char esc[4];
    snprintf(esc, sizeof(esc), "=%02X", c);
    qp_put(q, esc, 3);
}

nb_err nt_mime_qp(nb_buf *out, const char *s)
{
    qp q = {.out = out};
    for (const unsigned char *p = (const unsigned char *)s; *p && !q.err; p++) {
        unsigned char c = *p;
        if (c == '\r' && p[1] == '\n') continue; /* CRLF in the input: one line end */
        if (c == '\n') {
            q.err = nb_buf_adds(out, "\r\n");
            q.col = 0;
            continue;
        }
        bool at_end = p[1] == '\0' || p[1] == '\n' || (p[1] == '\r' && p[2] == '\n');
        if ((c == ' ' || c == '\t') && at_end)
            qp_escape(&q, c); /* trailing blanks would be stripped in transit */
        else if (c == '.' && q.col == 0)
            qp_escape(&q, c); /* a line of one "." would end the SMTP DATA */
        else if (c == '=' || c >= 0x7f || (c < 0x20 && c != '\t'))
            qp_escape(&q, c);
        else
            qp_put(&q, (const char *)p, 1);
    }
    return q.err;
}

/* --- the message -------------------------------------------------------- */

static nb_err add_part(nb_buf *b, const char *boundary, const char *type, const char *body)
{
    nb_err e = nb_buf_addf(b,
                           "--=_nimbus_%s\r\nContent-Type: %s; charset=utf-8\r\n"
                           "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                           boundary, type);
    if (!e) e = nt_mime_qp(b, body);
    if (!e) e = nb_buf_adds(b, "\r\n");
    return e;
}

/* From: with an optional display name (a quoted string when plain ASCII,
 * encoded words otherwise). */
static nb_err add_from(nb_buf *b, const char *name, const char *addr)
{
    if (!name || !*name) return nb_buf_addf(b, "From: <%s>\r\n", addr);
    char *n = clean(name);
    if (!n) return NB_ERR_NOMEM;
    nb_err e;
    if (plain_ascii(n) && !strpbrk(n, "\"\\") && strlen(n) + strlen(addr) + 11 <= 998) {
        e = nb_buf_addf(b, "From: \"%s\" <%s>\r\n", n, addr);
    } else {
        e = nb_buf_adds(b, "From: ");
        if (!e) e = add_encoded_words(b, n, 6);
        if (!e) e = nb_buf_addf(b, "\r\n <%s>\r\n", addr);
    }
    free(n);
    return e;
}

char *nt_mime_build(const nt_mime *m, size_t *len)
{
    if (!m->text || !m->html || !m->subject || !m->message_id || !m->boundary ||
        !nb_email_valid(m->from_addr, NULL) || !nb_email_valid(m->to, NULL))
        return NULL;
    for (const char *p = m->boundary; *p; p++) /* boundary: bchars without space */
        if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return NULL;
    if (strpbrk(m->message_id, "\r\n") ||
        (m->list_unsubscribe &&
         (strpbrk(m->list_unsubscribe, "\r\n<> ") || strlen(m->list_unsubscribe) > 900)))
        return NULL;

    nb_buf b;
    nb_buf_init(&b, MESSAGE_CAP);
    char date[40];
    nt_mime_date(m->date_ms, date, sizeof(date));
    nb_err e = nb_buf_addf(&b, "Date: %s\r\n", date);
    if (!e) e = add_from(&b, m->from_name, m->from_addr);
    if (!e) e = nb_buf_addf(&b, "To: <%s>\r\n", m->to);
    if (!e) e = nt_mime_header_text(&b, "Subject", m->subject);
    if (!e) e = nb_buf_addf(&b, "Message-ID: %s\r\n", m->message_id);
    if (!e) e = nb_buf_adds(&b, "MIME-Version: 1.0\r\n");
    /* RFC 3834: no vacation replies to machine mail. */
    if (!e) e = nb_buf_adds(&b, "Auto-Submitted: auto-generated\r\n");
    if (!e && m->kind) e = nb_buf_addf(&b, "X-Nimbus-Kind: %s\r\n", m->kind);
    if (!e && m->list_unsubscribe) {
        /* One line (under 998 characters): some readers mishandle a folded one. */
        e = nb_buf_addf(&b, "List-Unsubscribe: <%s>\r\n", m->list_unsubscribe);
        if (!e && m->one_click)
            e = nb_buf_adds(&b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    }
    if (!e)
        e = nb_buf_addf(&b,
                        "Content-Type: multipart/alternative;\r\n boundary=\"=_nimbus_%s\"\r\n\r\n"
                        "This is a message in MIME format.\r\n\r\n",
                        m->boundary);
    if (!e) e = add_part(&b, m->boundary, "text/plain", m->text);
    if (!e) e = add_part(&b, m->boundary, "text/html", m->html);
    if (!e) e = nb_buf_addf(&b, "--=_nimbus_%s--\r\n", m->boundary);
    if (e) {
        nb_buf_release(&b);
        return NULL;
    }
    return nb_buf_detach(&b, len);
}
