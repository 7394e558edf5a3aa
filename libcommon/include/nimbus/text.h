/* text.h — UTF-8 decoding and what counts as safe text to show a reader.
 *
 * "Unsafe" characters are those a terminal or a browser acts on instead of
 * showing, or that let a string disguise itself: the C0 controls (tab and
 * newline too) and DEL, the C1 controls U+0080–U+009F (U+009B is CSI, the
 * start of a terminal escape), and the bidirectional controls U+061C, U+200E,
 * U+200F, U+202A–U+202E and U+2066–U+2069 (Trojan Source, CVE-2021-42574).
 * nb_buf_add_safe() and nb_buf_add_html() in buf.h write text with them
 * replaced. Pure functions; thread-safe. */
#ifndef NIMBUS_TEXT_H
#define NIMBUS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the UTF-8 sequence at s (n > 0 bytes available): its length
 * (1..4) with the code point in *cp, or 0 when the bytes at s are not a
 * valid, shortest-form sequence of a Unicode scalar value. */
size_t nb_utf8_next(const char *s, size_t n, uint32_t *cp);

/* True when the n bytes at s are valid UTF-8 (NUL bytes included). */
bool nb_utf8_valid(const char *s, size_t n);

/* The length of the longest prefix of s (NUL-terminated) that is at most
 * max bytes and valid UTF-8: it ends between two characters, and before the
 * first byte that is not UTF-8. Where to cut outside text quoted in a
 * message ("%.*s") so that the message stays UTF-8. */
size_t nb_utf8_prefix(const char *s, size_t max);

/* True for a code point that must not reach a reader (see above). */
bool nb_text_unsafe(uint32_t cp);

/* The one JSON string escaper of nimbus (log lines, buf.h's
 * nb_buf_add_json_str). Writes the character at s (n > 0 bytes) as it goes
 * inside a JSON string into out (room for NB_JSON_ESC_MAX bytes), sets *used
 * to the bytes of s it took, and returns the length written: quotes and
 * backslashes are escaped, \n \r \t as such, other controls and DEL as
 * a \u escape of four hex digits, a byte that is not UTF-8 as \ufffd; other
 * characters stay UTF-8, or become \u escapes (a surrogate pair above
 * U+FFFF) when ascii_only. */
#define NB_JSON_ESC_MAX 12
size_t nb_json_escape_char(const char *s, size_t n, bool ascii_only, char *out, size_t *used);

#endif
