/* view.h — how a reader asked to see a place: the kind of answer (page,
 * text report, one-line format, JSON), the units, the width and the days of
 * a text report. Read from the query the way wttr.in reads it:
 *
 *   format=json|text|html       the answer's kind (else Accept / User-Agent)
 *   format=1..4 | format=<%-codes>   a one-line answer (render_line.h)
 *   units=metric|imperial       units; ?u (USCS) and ?m (metric) the same
 *   ?n, ?narrow                 a report that fits 40 columns
 *   ?0 ?1 ?2 ?3                 forecast days in the text report (0: now only)
 *   hours=1..384, days=1..16    passed on to the api; hours also sets how far
 *                               ahead %R looks (render_line.h)
 *
 * One-letter options may be combined in one bare argument ("?0nu"), as on
 * wttr.in; letters wttr.in knows that change nothing here (A F T d q Q p)
 * are accepted and ignored. For pages, a "units" cookie (set when a page is
 * asked with units=) stands in when the query names no units.
 *
 * Pure functions over borrowed strings; thread-safe. */
#ifndef FRONT_VIEW_H
#define FRONT_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "nimbus/units.h"

typedef enum fr_format { FR_FMT_HTML, FR_FMT_TEXT, FR_FMT_JSON, FR_FMT_LINE } fr_format;
#define FR_FORMATS 4

#define FR_TEXT_DAYS 3 /* forecast days of the text report by default */

typedef struct fr_view {
    fr_format fmt;
    const char *line; /* FR_FMT_LINE: the %-format (a static preset, or borrowed) */
    nb_units units;
    bool units_asked; /* the query named the units (a page remembers them in a cookie) */
    bool narrow;
    int days;       /* text report: forecast days 0..3 */
    int rain_hours; /* hours=1..48: what %R looks at (0: its default) */
    /* as read from the query, before fr_view_finish */
    const char *format;
    int units_query, units_flag; /* -1 unset, else an nb_units */
} fr_view;

void fr_view_init(fr_view *v);
/* One query argument (value NULL for a bare "?name"). */
void fr_view_arg(fr_view *v, const char *name, const char *value);
/* Decides the answer's kind and units from what the query said and the
 * Accept, User-Agent and Cookie headers (each may be NULL). */
void fr_view_finish(fr_view *v, const char *accept, const char *user_agent, const char *cookie);

/* Content negotiation alone, exposed for tests: format query value (may be
 * NULL), Accept and User-Agent headers (may be NULL). */
fr_format fr_negotiate(const char *format, const char *accept, const char *user_agent);

/* The value of cookie name in a Cookie header ("a=1; units=imperial"),
 * copied into out; false when absent or too long. */
bool fr_cookie(const char *header, const char *name, char *out, size_t outlen);

#endif
