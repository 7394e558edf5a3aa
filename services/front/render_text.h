/* render_text.h — the plain-text report for curl and other terminals (in the
 * spirit of wttr.in): place, condition, temperature, feels-like, wind,
 * humidity, the next hours at a glance, a few days of forecast, when it was
 * updated, the attribution. Numbers in the document's units. A narrow layout
 * (view.h: ?n, ?narrow) fits 40 columns; ?0..?3 choose the forecast days.
 *
 * Strings from the api or the user are written as safe text (fr_put_safe:
 * C0/C1 controls, bidirectional controls and stray bytes replaced by '?'), so
 * a crafted place name cannot send terminal escapes or reorder the line.
 * Pure functions; inputs borrowed; results malloc'd (caller frees) or NULL
 * on allocation failure. Thread-safe. */
#ifndef FRONT_RENDER_TEXT_H
#define FRONT_RENDER_TEXT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tpl.h"
#include "view.h"

#define FR_TEXT_HOURS 12       /* hours at a glance, wide layout */
#define FR_TEXT_HOURS_NARROW 6 /* and narrow */

/* The report for one place from the api's weather document as a template
 * (tpl.h: local time, "Updated … ago" and the stale note are slots; the rest
 * as of the local date at now_ms). view: the layout and days (NULL: wide,
 * FR_TEXT_DAYS days). NULL when out of memory. */
fr_tpl *fr_text_weather_tpl(const json_t *doc, int64_t now_ms, const fr_view *view);
/* The report filled at now_ms, stale as the document's freshness says. */
char *fr_text_weather(const json_t *doc, int64_t now_ms, const fr_view *view, size_t *len);

/* Usage text for "/" without a place. */
char *fr_text_help(size_t *len);

/* "Place not found: ..." style answer; query may be NULL. */
char *fr_text_error(const char *title, const char *detail, const char *query, size_t *len);

#endif
