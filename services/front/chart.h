/* chart.h — the hourly chart of the weather page: inline SVG drawn on the
 * server (no script needed), with a table as its text alternative.
 *
 * Geometry (viewBox 0 0 720 200; app.js rebuilds the same chart from new
 * data with the same arithmetic, so change both together):
 *   - one column per hour, col_w = 680 / n wide from x = 34; the hour's
 *     point at the column's centre x_i = 34 + (i + 0.5) * col_w;
 *   - temperature: y = 112 - (t - lo) / (hi - lo) * 98, lo/hi the lowest and
 *     highest temperature shown (widened to a 4-degree span when closer),
 *     drawn as polylines through consecutive hours; an hour without a value
 *     breaks the line (a gap, never a zero); a lone hour is a dot;
 *   - chance of precipitation: a bar per hour, 0..100 % over 48 units up
 *     from y = 172, 70 % of the column wide ("wet" when the hour brings
 *     precipitation); no value, no bar;
 *   - night: a shaded band over each run of hours with is_day false;
 *   - hour labels every 1, 2 or 3 hours (n <= 12, <= 24, more), a line and
 *     the weekday at each local midnight, the temperature at each labelled
 *     hour, lo and hi on the left.
 * Coordinates are written with one decimal after rounding half away from
 * zero (x.x5 → x.x + 0.1).
 *
 * The SVG carries role="img" and an aria-label saying what it shows; colours
 * come from style.css classes (light and dark), nothing inline, so the
 * page's Content-Security-Policy holds.
 * Pure functions; thread-safe. */
#ifndef FRONT_CHART_H
#define FRONT_CHART_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "out.h"

#define FR_CHART_HOURS 48 /* hours shown at most */
#define FR_CHART_W 720
#define FR_CHART_H 200

typedef struct fr_chart {
    int n;                           /* hours drawn */
    double col_w;                    /* column width */
    double lo, hi;                   /* temperature scale (NAN when no temperature at all) */
    double x[FR_CHART_HOURS];        /* column centres */
    double y[FR_CHART_HOURS];        /* temperature points; NAN = no value */
    double bar_h[FR_CHART_HOURS];    /* precipitation bars; NAN = no value */
    bool wet[FR_CHART_HOURS];        /* the hour brings precipitation */
    signed char day[FR_CHART_HOURS]; /* is_day: 1, 0, -1 unknown */
} fr_chart;

/* Lays out the first hours (at most FR_CHART_HOURS) of an api hourly array. */
void fr_chart_layout(const json_t *hourly, fr_chart *c);

/* Writes <figure> with the chart's SVG and the hourly table (details) for
 * doc's hourly array (both empty when it has no hours, for the script to
 * fill when data comes). */
void fr_chart_html(fr_out *o, const json_t *doc);

#endif
