/* memo.h — the api's memory of records it has parsed and documents it has
 * rendered, keyed by location key.
 *
 * It is not a cache in front of persistence: every request still asks
 * persistence, sending the remembered version as If-None-Match; on 304 the
 * remembered record and rendered document are used instead of parsing and
 * rendering the same bytes again. Bounded to max_entries keys (the oldest
 * inserted go first). Thread-safe: striped mutexes; everything is copied in
 * and out, so no caller holds a pointer into it. */
#ifndef API_MEMO_H
#define API_MEMO_H

#include <stdbool.h>
#include <stddef.h>

#include "nimbus/record.h"

#define MEMO_ETAG_MAX 32

typedef struct memo memo;

/* max_entries 0 makes every call a no-op (nothing remembered). Registers the
 * nimbus_memo_entries gauge. */
memo *memo_new(size_t max_entries);
void memo_free(memo *m);
/* Keys remembered now. */
size_t memo_len(memo *m);

/* Copies the record remembered for key and its persistence validator. */
bool memo_get(memo *m, const char *key, char etag[MEMO_ETAG_MAX], nb_record *out);
/* Remembers rec (as persistence's version etag); drops any rendered document. */
void memo_put(memo *m, const char *key, const char *etag, const nb_record *rec);

/* The rendered document for (key, fetched_at_ms, variant) as a malloc'd copy,
 * or NULL. variant names what else shapes the document (days, place name). */
char *memo_get_doc(memo *m, const char *key, int64_t fetched_at_ms, const char *variant,
                   size_t *len);
/* Remembers a rendered document if the record it was made from is still the
 * remembered one. doc is copied. */
void memo_put_doc(memo *m, const char *key, int64_t fetched_at_ms, const char *variant,
                  const char *doc, size_t len);

#endif
