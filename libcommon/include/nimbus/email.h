/* email.h — the one check of an email address nimbus accepts for a
 * subscription (the api refuses with the reason, persistence refuses the
 * same, the notifier never sends to anything else).
 *
 * Accepted: the ASCII "dot-atom" form of RFC 5322 / RFC 5321 that mail
 * providers hand out: local-part@domain, local-part at most 64 octets of
 * atext separated by single dots, domain at most 253 octets of two or more
 * LDH labels (1..63 octets, no leading or trailing hyphen, the last one not
 * all digits), the whole at most 254 octets. Not accepted, on purpose:
 * quoted local parts, address literals ([192.0.2.1]), comments, display
 * names, non-ASCII addresses (SMTPUTF8) — nothing that could carry a CR, LF,
 * '<' or '>' into a mail header or an SMTP command.
 * Pure functions, thread-safe. */
#ifndef NIMBUS_EMAIL_H
#define NIMBUS_EMAIL_H

#include <stdbool.h>
#include <stddef.h>

#define NB_EMAIL_MAX 254

/* True when addr is acceptable; otherwise false with *why (static text, may
 * be NULL) saying what is wrong, e.g. "the part after @ needs a dot". */
bool nb_email_valid(const char *addr, const char **why);

/* The form used to compare addresses (caps per address, one subscription per
 * address and place): lowercased as a whole. RFC 5321 lets the receiving
 * server decide the case of the local part, but virtually every provider
 * ignores it, and a cap must not be dodged by writing JO@ for jo@. Mail still
 * goes to the address as given. out must hold NB_EMAIL_MAX + 1 bytes. */
void nb_email_canonical(const char *addr, char out[NB_EMAIL_MAX + 1]);

#endif
