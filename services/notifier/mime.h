/* mime.h — an RFC 5322 / MIME message as it goes over SMTP.
 *
 * nt_mime_build() makes a multipart/alternative message with a text/plain
 * and a text/html part, both UTF-8 in quoted-printable, so every line is
 * 7-bit and at most 76 characters and no body byte can end the SMTP DATA
 * early. Lines end in CRLF. Header values that are not plain ASCII (the
 * subject, a display name) go out as RFC 2047 encoded words of at most 75
 * characters on lines of at most 76, never splitting a UTF-8 character; CR
 * and LF can never reach a header. The boundary starts with "=_", which
 * quoted-printable output cannot contain.
 * Pure functions, thread-safe. Results are malloc'd (caller frees). */
#ifndef NOTIFIER_MIME_H
#define NOTIFIER_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nimbus/buf.h"
#include "nimbus/err.h"

typedef struct nt_mime {
    const char *from_name;  /* display name (UTF-8) or NULL */
    const char *from_addr;  /* a valid address (nimbus/email.h) */
    const char *to;         /* a valid address */
    const char *subject;    /* UTF-8, one line */
    const char *message_id; /* "<...@...>" */
    int64_t date_ms;
    const char *kind;             /* X-Nimbus-Kind: confirmation, alert, digest */
    const char *list_unsubscribe; /* URL for List-Unsubscribe, or NULL */
    bool one_click;               /* add List-Unsubscribe-Post: List-Unsubscribe=One-Click */
    const char *text;             /* UTF-8, lines end in \n */
    const char *html;             /* UTF-8 */
    const char *boundary;         /* unique text after "=_nimbus_" (e.g. the mail id) */
} nt_mime;

/* The whole message, headers and body. NULL on no memory or a bad input
 * (invalid address, NULL part). */
char *nt_mime_build(const nt_mime *m, size_t *len);

/* Appends s quoted-printable encoded (RFC 2045 §6.7): \n becomes a CRLF hard
 * line break, lines are at most 76 characters with "=" soft breaks, '=',
 * non-ASCII, control characters, a leading '.', and spaces before a line end
 * are encoded. */
nb_err nt_mime_qp(nb_buf *out, const char *s);

/* Appends a header "Name: value\r\n" with value as RFC 2047 B-encoded words
 * when it is not printable ASCII (or is long), folding so that no line passes
 * 76 characters. CR, LF and other controls in value are dropped. */
nb_err nt_mime_header_text(nb_buf *out, const char *name, const char *value);

/* "Tue, 24 Nov 2026 00:05:49 +0000" (out >= 40). */
void nt_mime_date(int64_t ms, char *out, size_t outlen);

#endif
