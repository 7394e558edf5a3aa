/* fuzz.h — what nimbus's libFuzzer targets share: splitting one input into
 * several string fields, and failing loudly when a property does not hold.
 *
 * Each target is one LLVMFuzzerTestOneInput over one parser of outside input
 * that checks, besides "no crash, no leak, no UB", what the parser promises
 * (what it accepts re-encodes and decodes to the same thing, refusals carry a
 * reason, ...). A broken property aborts, so libFuzzer keeps the input. */
#ifndef NIMBUS_FUZZ_H
#define NIMBUS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts, saying which property broke and how (printf-style). */
#define FZ_FAIL(...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, "fuzz property failed at %s:%d: ", __FILE__, __LINE__);                    \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

/* Aborts with the property's text when cond is false. */
#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) FZ_FAIL("%s", #cond);                                                         \
    } while (0)

/* The input as a NUL-terminated string (up to its first NUL); caller frees. */
static inline char *fz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) abort();
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Splits an input into n string fields. Layout: (n + 7) / 8 bytes whose bit
 * i (bit i % 8 of byte i / 8) says whether field i is present (absent fields
 * are NULL), then the present fields' bytes separated by NUL bytes (fields
 * past the end are ""). Returns the storage the fields point into (caller
 * frees). n <= 16. */
static inline char *fz_fields(const uint8_t *data, size_t size, const char **fields, size_t n)
{
    char *copy = fz_string(data, size);
    size_t nmask = (n + 7) / 8;
    unsigned mask = 0;
    for (size_t b = 0; b < nmask && b < size; b++)
        mask |= (unsigned)data[b] << (8 * b);
    size_t at = size < nmask ? size : nmask;
    for (size_t i = 0; i < n; i++) {
        if (!(mask & (1u << i))) {
            fields[i] = NULL;
            continue;
        }
        fields[i] = copy + at; /* up to the next NUL (or the end) */
        at += strlen(copy + at);
        if (at < size) at++;
    }
    return copy;
}

/* Aborts unless out is valid UTF-8 with no C0/C1 or bidirectional control
 * (newlines of a layout aside): what may reach a terminal or a page. */
static inline void fz_check_reader_safe(const char *out, const char *what)
{
    FZ_CHECK(out);
    size_t n = strlen(out);
    for (size_t i = 0, len; i < n; i += len) {
        uint32_t cp;
        len = nb_utf8_next(out + i, n - i, &cp);
        if (len == 0 || (nb_text_unsafe(cp) && cp != '\n')) {
            FZ_FAIL("%s: unsafe byte 0x%02x at %zu", what, out[i] & 0xff, i);
        }
    }
}

#endif
