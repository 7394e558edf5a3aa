/* smtp.h — sending one message over SMTP with libcurl.
 *
 * smtp:// (plain, with STARTTLS as tls says) or smtps:// (TLS from the first
 * byte); AUTH when a user is set; certificate checks always on (ca_file adds
 * a CA, e.g. a private relay's). One nt_smtp per thread: it keeps its easy
 * handle, so consecutive mails reuse the SMTP connection.
 * The outcome tells the caller what to do: sent, retry later (no answer, 4xx,
 * TLS or AUTH trouble: nothing is wrong with the mail), or rejected (a 5xx to
 * RCPT TO or to the message itself: sending it again changes nothing). */
#ifndef NOTIFIER_SMTP_H
#define NOTIFIER_SMTP_H

#include <stddef.h>

#include "nimbus/err.h"

typedef enum nt_smtp_tls {
    NT_TLS_NONE,     /* never STARTTLS */
    NT_TLS_TRY,      /* STARTTLS when offered */
    NT_TLS_REQUIRED, /* STARTTLS or fail (smtps:// is always TLS) */
} nt_smtp_tls;

typedef struct nt_smtp_opts {
    const char *url;  /* smtp://host[:port] or smtps://host[:port] */
    const char *user; /* "" or NULL: no AUTH */
    const char *password;
    nt_smtp_tls tls;
    const char *ca_file; /* "" or NULL: the system's CAs */
    const char *helo;    /* name for EHLO ("" or NULL: libcurl's default) */
    long connect_timeout_ms, timeout_ms;
} nt_smtp_opts;

typedef enum nt_send_result { NT_SENT, NT_RETRY, NT_REJECTED } nt_send_result;

typedef struct nt_smtp nt_smtp;

/* Parses a --smtp-tls value: "none", "try" or "required"; -1 otherwise. */
int nt_smtp_tls_parse(const char *s);

/* opts and its strings are borrowed and must outlive the sender. */
nt_smtp *nt_smtp_new(const nt_smtp_opts *opts);
void nt_smtp_free(nt_smtp *s);

/* Sends msg (a complete RFC 5322 message, CRLF line ends) from from_addr to
 * to. On anything but NT_SENT, err says why (with the server's code). */
nt_send_result nt_smtp_send(nt_smtp *s, const char *from_addr, const char *to, const char *msg,
                            size_t len, char *err, size_t errlen);

#endif
