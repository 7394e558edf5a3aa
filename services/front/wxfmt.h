/* wxfmt.h — presentation helpers shared by the HTML and text renderers:
 * reading the api's weather document (jansson; numbers with nimbus/json.h,
 * weather codes with nimbus/wmo.h), number formatting with a placeholder for
 * missing values, compass points, the place's local time and "updated N
 * minutes ago".
 *
 * Pure functions over borrowed inputs; outputs go to caller buffers or are
 * static strings. Thread-safe. */
#ifndef FRONT_WXFMT_H
#define FRONT_WXFMT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nimbus/json.h"
#include "nimbus/wmo.h"

#define FR_MISSING "–" /* shown for a null/missing value (U+2013) */

/* Boolean at obj[key] as 1 or 0; NAN when absent, null or not a boolean. */
double fr_wx_bool(const json_t *obj, const char *key);
/* String at obj[key]; "" when absent or not a string. Borrowed from obj. */
const char *fr_wx_str(const json_t *obj, const char *key);

/* Formats v with `decimals` decimals as printf's "%.*f" does ("-0.0" becomes
 * "0.0"); FR_MISSING when v is NAN. Returns out. */
char *fr_wx_fmt(double v, int decimals, char *out, size_t outlen);
/* k / 10^decimals written out ("-12.3" for -123, 1): the fast path of
 * fr_wx_fmt and of the chart's coordinates. Returns the length. */
size_t fr_wx_fixed(long long k, int decimals, char out[32]);

/* 16-point compass name for a direction in degrees ("NE"); "" for NAN. */
const char *fr_wx_compass(double degrees);

/* location.utc_offset_seconds when it is a number of seconds a zone can
 * have (-18 h..+18 h); 0 otherwise (absent, null, not a number, absurd). */
long fr_wx_utc_offset(const json_t *location);

/* The place's wall clock at now_ms for a fixed UTC offset: "Tue 14:05".
 * out >= 16 bytes. */
void fr_wx_local_time(int64_t now_ms, long utc_offset_s, char *out, size_t outlen);
/* The place's local date at now_ms: "YYYY-MM-DD" (out >= 11 bytes). */
void fr_wx_local_date(int64_t now_ms, long utc_offset_s, char *out, size_t outlen);

/* "Tue 24" for "2026-11-24", "Today"/"Tomorrow" relative to today_local
 * ("YYYY-MM-DD" or NULL). Falls back to the raw text when it can't parse. */
void fr_wx_day_label(const char *date, const char *today_local, char *out, size_t outlen);

/* Index of the first entry of a daily array dated today_local or later
 * (past days are not forecast any more); 0 when none is, or today is "". */
size_t fr_wx_first_day(const json_t *daily, const char *today_local);

/* Age phrase from seconds: "just now", "1 minute ago", "12 minutes ago",
 * "3 hours ago", "2 days ago". Negative ages count as just now. */
void fr_wx_ago(int64_t age_s, char *out, size_t outlen);

/* Seconds since the document's fetched_at at now_ms; -1 when missing/invalid. */
int64_t fr_wx_age_s(const json_t *doc, int64_t now_ms);
/* The document's fetched_at in Unix ms; INT64_MIN when missing/invalid. */
int64_t fr_wx_fetched_at_ms(const json_t *doc);
/* True unless the document's freshness.state is "fresh" (as the api said
 * when it answered). */
bool fr_wx_doc_stale(const json_t *doc);

/* "Land Berlin, Germany" from location.admin1/country (either may be missing;
 * admin1 is dropped when equal to the name). "" when neither. */
void fr_wx_region(const json_t *location, char *out, size_t outlen);

/* The place's display name: location.name, or the key ("52.52,13.41"). */
const char *fr_wx_place_name(const json_t *location);

#endif
