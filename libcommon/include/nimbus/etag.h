/* etag.h — entity-tag comparison as RFC 9110 §8.8.3 defines it, for every hop
 * that validates a cached copy (api ← persistence, front ← api, clients).
 *
 * An entity tag is `"opaque"` (strong) or `W/"opaque"` (weak). Pure functions,
 * thread-safe. Malformed tags never match. */
#ifndef NIMBUS_ETAG_H
#define NIMBUS_ETAG_H

#include <stdbool.h>

/* Strong comparison: both strong and their opaque-tags equal. */
bool nb_etag_strong_eq(const char *a, const char *b);
/* Weak comparison: opaque-tags equal, whether weak or strong. */
bool nb_etag_weak_eq(const char *a, const char *b);
/* Evaluates an If-None-Match field value (§13.1.2) against the current etag:
 * true when it is "*" or lists a tag weakly equal to etag — for GET/HEAD the
 * answer is then 304. NULL or empty header: false. */
bool nb_etag_none_match(const char *if_none_match, const char *etag);

#endif
