/* chart.c — the hourly chart as inline SVG, and its table (see chart.h). */
#include "chart.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "wxfmt.h"

#define X0 34.0
#define PLOT_W (FR_CHART_W - X0 - 6.0)
#define T_TOP 14.0
#define T_BOT 112.0
#define P_BOT 172.0
#define P_H 48.0
#define BAND_TOP 8.0
#define BAND_BOT 176.0
#define LABEL_Y 190.0
#define MIN_SPAN 4.0

void fr_chart_layout(const json_t *hourly, fr_chart *c)
{
    memset(c, 0, sizeof(*c));
    size_t n = json_array_size(hourly);
    c->n = (int)(n < FR_CHART_HOURS ? n : FR_CHART_HOURS);
    c->lo = c->hi = NAN;
    if (c->n == 0) return;
    c->col_w = PLOT_W / c->n;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < c->n; i++) {
        double t = nb_json_get_num(json_array_get(hourly, (size_t)i), "temperature");
        if (isnan(t)) continue;
        lo = fmin(lo, t);
        hi = fmax(hi, t);
    }
    if (lo <= hi) {
        if (hi - lo < MIN_SPAN) {
            double mid = (lo + hi) / 2;
            lo = mid - MIN_SPAN / 2;
            hi = mid + MIN_SPAN / 2;
        }
        c->lo = lo;
        c->hi = hi;
    }
    for (int i = 0; i < c->n; i++) {
        const json_t *h = json_array_get(hourly, (size_t)i);
        double t = nb_json_get_num(h, "temperature");
        double p = nb_json_get_num(h, "precipitation_probability");
        double mm = nb_json_get_num(h, "precipitation");
        double day = fr_wx_bool(h, "is_day");
        c->x[i] = X0 + (i + 0.5) * c->col_w;
        c->y[i] = isnan(t) ? NAN : T_BOT - (t - c->lo) / (c->hi - c->lo) * (T_BOT - T_TOP);
        c->bar_h[i] = isnan(p) ? NAN : fmin(fmax(p, 0), 100) / 100 * P_H;
        c->wet[i] = mm > 0;
        c->day[i] = isnan(day) ? -1 : (signed char)day;
    }
}

/* One coordinate: rounded to 1 decimal, half away from zero (hundreds per
 * page: no printf). */
static void num(fr_out *o, double v)
{
    char s[32];
    fr_wx_fixed((long long)round(v * 10), 1, s);
    fr_put(o, s);
}

static void attr(fr_out *o, const char *name, double v)
{
    fr_put(o, " ");
    fr_put(o, name);
    fr_put(o, "=\"");
    num(o, v);
    fr_put(o, "\"");
}

/* A whole number (hours, degrees) without printf. */
static void whole(fr_out *o, long v)
{
    char s[32];
    fr_wx_fixed(v, 0, s);
    fr_put(o, s);
}

/* Hours between labels: every hour up to 12, every 2 up to 24, else 3. */
static int label_step(int n)
{
    return n <= 12 ? 1 : n <= 24 ? 2 : 3;
}

/* The hour of a "YYYY-MM-DDTHH:MM" label, or -1. */
static int hour_of(const char *t)
{
    if (strlen(t) != 16 || t[11] < '0' || t[11] > '2' || t[12] < '0' || t[12] > '9') return -1;
    return (t[11] - '0') * 10 + (t[12] - '0');
}

static void nights(fr_out *o, const fr_chart *c)
{
    for (int i = 0; i < c->n;) {
        if (c->day[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < c->n && c->day[j] == 0)
            j++;
        fr_put(o, "<rect class=\"night\"");
        attr(o, "x", c->x[i] - c->col_w / 2);
        attr(o, "y", BAND_TOP);
        attr(o, "width", (j - i) * c->col_w);
        attr(o, "height", BAND_BOT - BAND_TOP);
        fr_put(o, "/>");
        i = j;
    }
}

static void midnights(fr_out *o, const fr_chart *c, const json_t *hourly)
{
    for (int i = 1; i < c->n; i++) {
        const char *t = fr_wx_str(json_array_get(hourly, (size_t)i), "time");
        if (strlen(t) != 16 || strcmp(t + 11, "00:00") != 0) continue;
        char label[32];
        char date[11];
        snprintf(date, sizeof(date), "%.10s", t);
        fr_wx_day_label(date, NULL, label, sizeof(label));
        double x = c->x[i] - c->col_w / 2;
        fr_put(o, "<line class=\"midnight\"");
        attr(o, "x1", x);
        attr(o, "y1", BAND_TOP);
        attr(o, "x2", x);
        attr(o, "y2", BAND_BOT);
        fr_put(o, "/><text class=\"day\"");
        attr(o, "x", x + 3);
        attr(o, "y", BAND_TOP + 9);
        fr_put(o, ">");
        fr_put_html(o, label);
        fr_put(o, "</text>");
    }
}

static void bars(fr_out *o, const fr_chart *c)
{
    double w = c->col_w * 0.7;
    for (int i = 0; i < c->n; i++) {
        if (!(c->bar_h[i] > 0)) continue;
        fr_put(o, c->wet[i] ? "<rect class=\"pop wet\"" : "<rect class=\"pop\"");
        attr(o, "x", c->x[i] - w / 2);
        attr(o, "y", P_BOT - c->bar_h[i]);
        attr(o, "width", w);
        attr(o, "height", c->bar_h[i]);
        fr_put(o, "/>");
    }
}

/* One polyline per run of hours with a temperature; a lone hour is a dot. */
static void temps(fr_out *o, const fr_chart *c)
{
    for (int i = 0; i < c->n;) {
        if (isnan(c->y[i])) {
            i++;
            continue;
        }
        int j = i;
        while (j < c->n && !isnan(c->y[j]))
            j++;
        if (j - i == 1) {
            fr_put(o, "<circle class=\"temp-dot\"");
            attr(o, "cx", c->x[i]);
            attr(o, "cy", c->y[i]);
            fr_put(o, " r=\"2.5\"/>");
        } else {
            fr_put(o, "<polyline class=\"temp\" points=\"");
            for (int k = i; k < j; k++) {
                if (k > i) fr_put(o, " ");
                num(o, c->x[k]);
                fr_put(o, ",");
                num(o, c->y[k]);
            }
            fr_put(o, "\"/>");
        }
        i = j;
    }
}

static void labels(fr_out *o, const fr_chart *c, const json_t *hourly)
{
    int step = label_step(c->n);
    for (int i = 0; i < c->n; i++) {
        const json_t *h = json_array_get(hourly, (size_t)i);
        int hh = hour_of(fr_wx_str(h, "time"));
        if (hh < 0 || hh % step != 0) continue;
        fr_put(o, "<text class=\"hour\"");
        attr(o, "x", c->x[i]);
        attr(o, "y", LABEL_Y);
        fr_put(o, hh < 10 ? ">0" : ">");
        whole(o, hh);
        fr_put(o, "</text>");
        if (isnan(c->y[i])) continue;
        fr_put(o, "<text class=\"tval\"");
        attr(o, "x", c->x[i]);
        attr(o, "y", c->y[i] - 5);
        fr_put(o, ">");
        whole(o, lround(nb_json_get_num(h, "temperature")));
        fr_put(o, "°</text>");
    }
    if (isnan(c->lo)) return;
    fr_put(o, "<text class=\"axis\"");
    attr(o, "x", X0 - 4);
    attr(o, "y", T_TOP + 4);
    fr_putf(o, ">%ld°</text><text class=\"axis\"", lround(c->hi));
    attr(o, "x", X0 - 4);
    attr(o, "y", T_BOT + 4);
    fr_putf(o, ">%ld°</text><text class=\"axis\"", lround(c->lo));
    attr(o, "x", X0 - 4);
    attr(o, "y", P_BOT);
    fr_put(o, ">%</text>");
}

/* "Hourly forecast for the next 48 hours: temperature 1 to 6 °C, chance of
 * precipitation up to 80 %" (what the chart shows, for screen readers). */
static void aria_label(fr_out *o, const json_t *hourly, int n, const char *tunit)
{
    double tmin = INFINITY, tmax = -INFINITY, pmax = -1;
    for (int i = 0; i < n; i++) {
        const json_t *h = json_array_get(hourly, (size_t)i);
        double t = nb_json_get_num(h, "temperature"),
               p = nb_json_get_num(h, "precipitation_probability");
        if (!isnan(t)) {
            tmin = fmin(tmin, t);
            tmax = fmax(tmax, t);
        }
        if (!isnan(p)) pmax = fmax(pmax, p);
    }
    fr_putf(o, "Hourly forecast for the next %d hours", n);
    if (tmin <= tmax) {
        fr_putf(o, ": temperature %ld to %ld ", lround(tmin), lround(tmax));
        fr_put_html(o, tunit);
    }
    if (pmax >= 0)
        fr_putf(o, "%s chance of precipitation up to %ld %%", tmin <= tmax ? "," : ":",
                lround(pmax));
}

/* One table cell: "<td>" value " " unit "</td>". */
static void cell(fr_out *o, const char *value, const char *unit)
{
    fr_put(o, "<td>");
    fr_put(o, value);
    if (unit) {
        fr_put(o, " ");
        fr_put_html(o, unit);
    }
    fr_put(o, "</td>");
}

static void table(fr_out *o, const json_t *doc, const json_t *hourly, int n)
{
    const json_t *u = json_object_get(doc, "units");
    const char *tu = fr_wx_str(u, "temperature"), *pu = fr_wx_str(u, "precipitation");
    const char *wu = fr_wx_str(u, "wind_speed");
    tu = *tu ? tu : "°C";
    pu = *pu ? pu : "mm";
    wu = *wu ? wu : "km/h";
    int pdec = strcmp(pu, "in") == 0 ? 2 : 1;
    char v[32], label[32] = "", date[11], last[11] = "";
    fr_put(o, "<details class=\"hours\"><summary>Hour by hour</summary>\n<table>\n<thead><tr>"
              "<th scope=\"col\">Time</th><th scope=\"col\">Sky</th><th scope=\"col\">Temp.</th>"
              "<th scope=\"col\">Feels</th><th scope=\"col\">Chance</th>"
              "<th scope=\"col\">Precip.</th><th scope=\"col\">Wind</th></tr></thead>\n"
              "<tbody data-f=\"hours\">\n");
    for (int i = 0; i < n; i++) {
        const json_t *h = json_array_get(hourly, (size_t)i);
        const char *t = fr_wx_str(h, "time");
        snprintf(date, sizeof(date), "%.10s", t);
        if (strcmp(date, last) != 0) { /* a day's hours share their label */
            fr_wx_day_label(date, NULL, label, sizeof(label));
            memcpy(last, date, sizeof(last));
        }
        fr_put(o, "<tr><th scope=\"row\">");
        fr_put_html(o, label);
        fr_put(o, " ");
        fr_put_html(o, strlen(t) == 16 ? t + 11 : "");
        fr_put(o, "</th><td>");
        fr_put_html(o, fr_wx_str(h, "condition"));
        fr_put(o, "</td>");
        cell(o, fr_wx_fmt(nb_json_get_num(h, "temperature"), 1, v, sizeof(v)), tu);
        cell(o, fr_wx_fmt(nb_json_get_num(h, "apparent_temperature"), 1, v, sizeof(v)), tu);
        cell(o, fr_wx_fmt(nb_json_get_num(h, "precipitation_probability"), 0, v, sizeof(v)), "%");
        cell(o, fr_wx_fmt(nb_json_get_num(h, "precipitation"), pdec, v, sizeof(v)), pu);
        cell(o, fr_wx_fmt(round(nb_json_get_num(h, "wind_speed")), 0, v, sizeof(v)), wu);
        fr_put(o, "</tr>\n");
    }
    fr_put(o, "</tbody>\n</table>\n</details>\n");
}

void fr_chart_html(fr_out *o, const json_t *doc)
{
    const json_t *hourly = json_object_get(doc, "hourly");
    fr_chart c;
    fr_chart_layout(hourly, &c); /* no hours: an empty chart the script can fill */
    const char *tunit = fr_wx_str(json_object_get(doc, "units"), "temperature");
    if (!*tunit) tunit = "°C";
    fr_putf(o,
            "<figure class=\"chart\">\n<svg class=\"hourly\" data-f=\"chart\" viewBox=\"0 0 %d "
            "%d\" role=\"img\" aria-label=\"",
            FR_CHART_W, FR_CHART_H);
    aria_label(o, hourly, c.n, tunit);
    fr_put(o, "\">");
    nights(o, &c);
    midnights(o, &c, hourly);
    bars(o, &c);
    temps(o, &c);
    labels(o, &c, hourly);
    fr_put(o, "</svg>\n");
    table(o, doc, hourly, c.n);
    fr_put(o, "</figure>\n");
}
