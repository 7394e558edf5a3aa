/* cache_control.h — reading Cache-Control (RFC 9111 §5.2) and Pragma field
 * values, for every hop that keeps or revalidates a copy (api ← persistence,
 * front ← api) and every server that honours a client's revalidation.
 *
 * A field value is a comma-separated list of directives, `name` or
 * `name=value` (value a token or a quoted string); names are
 * case-insensitive. Pure functions, thread-safe; a NULL field is empty. */
#ifndef NIMBUS_CACHE_CONTROL_H
#define NIMBUS_CACHE_CONTROL_H

#include <stdbool.h>

/* True when the field lists directive name (with or without a value). */
bool nb_cc_has(const char *cache_control, const char *name);
/* The delta-seconds of directive name (e.g. "max-age"), or -1 when the
 * directive is absent or its value is not a whole number of seconds. Values
 * past 2^31 - 1 read as 2^31 - 1 (§1.2.2). */
long nb_cc_seconds(const char *cache_control, const char *name);
/* True when a request asks every cache on the way to revalidate with the
 * origin: Cache-Control no-cache or max-age=0, or (HTTP/1.0) Pragma: no-cache. */
bool nb_cc_wants_revalidation(const char *cache_control, const char *pragma);

#endif
