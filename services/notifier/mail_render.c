/* mail_render.c — alert payloads and the text/HTML of every mail (see
 * mail_render.h). */
#include "mail_render.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/buf.h"
#include "nimbus/json.h"
#include "nimbus/wmo.h"

#define PART_CAP (256 * 1024)
#define DAYS_SHOWN 3
#define ATTRIBUTION "Weather data by Open-Meteo.com"
#define ATTRIBUTION_URL "https://open-meteo.com/"

void nt_mail_release(nt_mail *m)
{
    json_decref(m->rules);
    json_decref(m->quiet);
    json_decref(m->payload);
    m->rules = m->quiet = m->payload = NULL;
}

void nt_rendered_release(nt_rendered *r)
{
    free(r->subject);
    free(r->text);
    free(r->html);
    free(r->unsubscribe_url);
    memset(r, 0, sizeof(*r));
}

/* --- the payload -------------------------------------------------------- */

json_t *nt_alert_payload(const char *event_id, const nt_obs *obs, const nb_record *rec,
                         const nb_rules *rules, const nt_match *matches, int nmatch,
                         const char *local_time)
{
    json_t *o =
        json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:s}", "time", obs->time, "temperature",
                  nb_json_num(obs->temperature), "apparent_temperature",
                  nb_json_num(obs->apparent_temperature), "relative_humidity",
                  nb_json_num(obs->relative_humidity), "wind_speed", nb_json_num(obs->wind_speed),
                  "weather_code", nb_json_int(obs->weather_code), "condition", obs->condition);
    json_t *ms = json_array();
    for (int i = 0; ms && i < nmatch; i++) {
        const nt_match *m = &matches[i];
        const nb_rule *r = &rules->rule[m->rule];
        json_t *j = json_pack("{s:s, s:i, s:o}", "kind", nb_rule_kind_name(m->kind), "rule",
                              m->rule, "value", nb_json_num(m->value));
        if (!j) continue;
        if (m->kind == NB_RULE_TEMPERATURE_ABOVE || m->kind == NB_RULE_TEMPERATURE_BELOW ||
            m->kind == NB_RULE_PRECIPITATION_ABOVE)
            json_object_set_new(j, "limit", json_real(r->value));
        if (m->kind == NB_RULE_PRECIPITATION_ABOVE) {
            json_object_set_new(j, "hours", json_integer(r->hours));
            json_object_set_new(j, "day", json_string(m->day));
            if (m->at[0]) json_object_set_new(j, "at", json_string(m->at));
        }
        if (m->kind == NB_RULE_CONDITION_CHANGE) {
            json_object_set_new(j, "from", json_string(m->from));
            json_object_set_new(j, "to", json_string(m->to));
        }
        json_array_append_new(ms, j);
    }
    json_t *days = json_array();
    if (rec && days) {
        int first = 0;
        while (first < rec->ndays && strncmp(rec->daily[first].date, local_time, 10) < 0)
            first++;
        for (int i = first; i < rec->ndays && i < first + DAYS_SHOWN; i++) {
            const nb_day *d = &rec->daily[i];
            json_array_append_new(
                days, json_pack("{s:s, s:s, s:o, s:o, s:o}", "date", d->date, "condition",
                                nb_wmo_condition_of(d->weather_code), "temperature_max",
                                nb_json_num(d->temperature_max), "temperature_min",
                                nb_json_num(d->temperature_min), "precipitation_probability_max",
                                nb_json_int(d->precipitation_probability_max)));
        }
    }
    json_t *p = json_pack("{s:s, s:o, s:o, s:o, s:s, s:s, s:s}", "event", event_id, "observation",
                          o, "matches", ms, "days", days, "local_time", local_time, "timezone",
                          rec ? rec->timezone : "", "tz_abbreviation",
                          rec ? rec->timezone_abbreviation : "");
    return p;
}

/* --- small formatting helpers ------------------------------------------- */

/* "12.3" or "–" for a missing number. */
static const char *num(const json_t *o, const char *key, int decimals, char *buf, size_t len)
{
    double v = nb_json_get_num(o, key);
    if (isnan(v)) return "–";
    snprintf(buf, len, "%.*f", decimals, v);
    if (strcmp(buf, "-0") == 0 || strcmp(buf, "-0.0") == 0) memmove(buf, buf + 1, strlen(buf));
    return buf;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* "Tue 24 Nov" for "2026-11-24" (the date itself when unreadable). */
static void day_label(const char *date, char *out, size_t len)
{
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int y, m, d;
    if (sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12) {
        snprintf(out, len, "%s", date);
        return;
    }
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
    time_t t = timegm(&tm);
    gmtime_r(&t, &tm);
    snprintf(out, len, "%s %d %s", wd[tm.tm_wday], tm.tm_mday, mo[tm.tm_mon]);
}

/* "14:05" from "YYYY-MM-DDTHH:MM". */
static void clock_of(const char *local, char out[6])
{
    snprintf(out, 6, "%s", strlen(local) >= 16 ? local + 11 : "--:--");
}

/* When a precipitation match happens: "at 15:00 on Thu 26" from hourly
 * data, "on Thu 26" from daily data. */
static void when_label(const json_t *m, char *out, size_t len)
{
    char day[20];
    day_label(str(m, "day"), day, sizeof(day));
    const char *at = str(m, "at");
    if (at[0])
        snprintf(out, len, "at %s on %s", at, day);
    else
        snprintf(out, len, "on %s", day);
}

/* One sentence per match, for people. */
static void match_sentence(const json_t *m, char *out, size_t len)
{
    const char *kind = str(m, "kind");
    char v[32], lim[32], day[48];
    if (strcmp(kind, "temperature_above") == 0 || strcmp(kind, "temperature_below") == 0) {
        bool above = kind[12] == 'a';
        snprintf(out, len, "The temperature is %s °C, %s your limit of %g °C.",
                 num(m, "value", 1, v, sizeof(v)), above ? "above" : "below",
                 nb_json_get_num(m, "limit"));
    } else if (strcmp(kind, "precipitation_probability_above") == 0) {
        when_label(m, day, sizeof(day));
        snprintf(lim, sizeof(lim), "%g", nb_json_get_num(m, "limit"));
        snprintf(out, len,
                 "Chance of precipitation up to %s %% %s (your limit: %s %% within %d hours).",
                 num(m, "value", 0, v, sizeof(v)), day, lim, (int)nb_json_get_num(m, "hours"));
    } else if (strcmp(kind, "condition_change") == 0) {
        snprintf(out, len, "The sky changed from %s to %s.", str(m, "from"), str(m, "to"));
    } else if (strcmp(kind, "daily_digest") == 0) {
        snprintf(out, len, "Your daily summary.");
    } else {
        snprintf(out, len, "A rule matched.");
    }
}

static bool digest_only(const json_t *matches)
{
    size_t i;
    json_t *m;
    if (json_array_size(matches) == 0) return false;
    json_array_foreach(matches, i, m) if (strcmp(str(m, "kind"), "daily_digest") != 0) return false;
    return true;
}

/* The first match that is not a digest (or the first one). */
static const json_t *headline_match(const json_t *matches)
{
    size_t i;
    json_t *m;
    json_array_foreach(matches, i, m) if (strcmp(str(m, "kind"), "daily_digest") != 0) return m;
    return json_array_get(matches, 0);
}

static char *subject_alert(const char *place, const json_t *p)
{
    const json_t *matches = json_object_get(p, "matches");
    const json_t *obs = json_object_get(p, "observation");
    const json_t *m = headline_match(matches);
    const char *kind = str(m, "kind");
    char v[32], day[48], s[512];
    size_t n = json_array_size(matches), others = 0;
    size_t i;
    json_t *x;
    json_array_foreach(matches, i, x) if (x != m && strcmp(str(x, "kind"), "daily_digest") != 0)
        others++;

    if (digest_only(matches)) {
        const json_t *today = json_array_get(json_object_get(p, "days"), 0);
        char lo[32], hi[32];
        if (today && strncmp(str(today, "date"), str(p, "local_time"), 10) == 0)
            snprintf(s, sizeof(s), "%s today: %s, %s to %s °C", place, str(today, "condition"),
                     num(today, "temperature_min", 0, lo, sizeof(lo)),
                     num(today, "temperature_max", 0, hi, sizeof(hi)));
        else
            snprintf(s, sizeof(s), "%s now: %s, %s °C", place, str(obs, "condition"),
                     num(obs, "temperature", 1, v, sizeof(v)));
        return strdup(s);
    }
    if (strcmp(kind, "temperature_above") == 0 || strcmp(kind, "temperature_below") == 0)
        snprintf(s, sizeof(s), "%s: %s °C, %s %g °C", place, num(m, "value", 1, v, sizeof(v)),
                 kind[12] == 'a' ? "above" : "below", nb_json_get_num(m, "limit"));
    else if (strcmp(kind, "precipitation_probability_above") == 0) {
        when_label(m, day, sizeof(day));
        snprintf(s, sizeof(s), "%s: %s %% chance of precipitation %s", place,
                 num(m, "value", 0, v, sizeof(v)), day);
    } else if (strcmp(kind, "condition_change") == 0)
        snprintf(s, sizeof(s), "%s: now %s (was %s)", place, str(m, "to"), str(m, "from"));
    else
        snprintf(s, sizeof(s), "%s: weather alert", place);
    if (others > 0 && n > 1) {
        size_t l = strlen(s);
        snprintf(s + l, sizeof(s) - l, " (and %zu more)", others);
    }
    return strdup(s);
}

/* "14:05 local time (CET, Europe/Berlin) on Tue 24 Nov" */
static void when_line(const json_t *p, char *out, size_t len)
{
    const char *local = str(p, "local_time");
    char hm[6], day[32], zone[96] = "";
    clock_of(local, hm);
    char date[11];
    snprintf(date, sizeof(date), "%.10s", local);
    day_label(date, day, sizeof(day));
    const char *abbr = str(p, "tz_abbreviation"), *tz = str(p, "timezone");
    if (*abbr && *tz)
        snprintf(zone, sizeof(zone), " (%s, %s)", abbr, tz);
    else if (*tz)
        snprintf(zone, sizeof(zone), " (%s)", tz);
    snprintf(out, len, "%s local time%s on %s", hm, zone, day);
}

static void now_line(const json_t *obs, char *out, size_t len)
{
    char t[32], a[32], h[32], w[32];
    snprintf(out, len, "%s, %s °C (feels like %s °C), humidity %s %%, wind %s km/h",
             str(obs, "condition"), num(obs, "temperature", 1, t, sizeof(t)),
             num(obs, "apparent_temperature", 1, a, sizeof(a)),
             num(obs, "relative_humidity", 0, h, sizeof(h)),
             num(obs, "wind_speed", 0, w, sizeof(w)));
}

/* --- the parts ---------------------------------------------------------- */

typedef struct parts {
    nb_buf text, html;
    nb_err err;
} parts;

static void t_add(parts *p, const char *s)
{
    if (!p->err) p->err = nb_buf_adds(&p->text, s);
}
static void h_add(parts *p, const char *s)
{
    if (!p->err) p->err = nb_buf_adds(&p->html, s);
}
static void h_esc(parts *p, const char *s)
{
    if (!p->err) p->err = nb_buf_add_html(&p->html, s);
}
static void t_addf(parts *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void t_addf(parts *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!p->err) p->err = nb_buf_vaddf(&p->text, fmt, ap);
    va_end(ap);
}

static void html_start(parts *p, const char *title)
{
    h_add(p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    h_esc(p, title);
    h_add(p, "</title>\n</head>\n<body style=\"margin:0;padding:24px;background:#f4f6f8;"
             "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
             "color:#1d2733;line-height:1.5\">\n<div style=\"max-width:560px;margin:0 auto;"
             "background:#ffffff;border-radius:8px;padding:24px\">\n");
}

static void html_button(parts *p, const char *url, const char *label)
{
    h_add(p, "<p style=\"margin:24px 0\"><a href=\"");
    h_esc(p, url);
    h_add(p, "\" style=\"display:inline-block;background:#2563eb;color:#ffffff;"
             "text-decoration:none;padding:10px 18px;border-radius:6px;font-weight:600\">");
    h_esc(p, label);
    h_add(p, "</a></p>\n");
}

static void footer(parts *p, const char *place, const char *public_url, const char *manage,
                   const char *unsubscribe)
{
    if (manage) {
        t_addf(p, "\nManage your alerts: %s\nUnsubscribe: %s\n", manage, unsubscribe);
        t_addf(p,
               "\nYou get this mail because this address subscribed to weather alerts for %s "
               "at %s.\n",
               place, public_url);
    }
    if (!manage) t_addf(p, "\nSent by nimbus weather, %s\n", public_url);
    t_addf(p, "\n%s (%s)\n", ATTRIBUTION, ATTRIBUTION_URL);
    h_add(p, "<hr style=\"border:none;border-top:1px solid #e3e8ee;margin:24px 0 12px\">\n"
             "<p style=\"font-size:13px;color:#5b6b7c\">");
    if (manage) {
        h_add(p, "You get this mail because this address subscribed to weather alerts for ");
        h_esc(p, place);
        h_add(p, ".<br><a href=\"");
        h_esc(p, manage);
        h_add(p, "\" style=\"color:#2563eb\">Manage your alerts</a> · <a href=\"");
        h_esc(p, unsubscribe);
        h_add(p, "\" style=\"color:#2563eb\">Unsubscribe</a><br>");
    }
    h_add(p, "<a href=\"" ATTRIBUTION_URL "\" style=\"color:#5b6b7c\">" ATTRIBUTION "</a></p>\n"
             "</div>\n</body>\n</html>\n");
}

static void rules_list(parts *p, const nt_mail *m)
{
    nb_rules rules;
    char why[160], line[160];
    if (nb_rules_parse(m->rules, m->quiet, &rules, why, sizeof(why)) != NB_OK) return;
    h_add(p, "<ul>\n");
    for (int i = 0; i < rules.n; i++) {
        nb_rule_describe(&rules.rule[i], line, sizeof(line));
        t_addf(p, "  * %s\n", line);
        h_add(p, "<li>");
        h_esc(p, line);
        h_add(p, "</li>\n");
    }
    h_add(p, "</ul>\n");
    if (rules.quiet) {
        snprintf(line, sizeof(line),
                 "Quiet hours: nothing is sent from %02d:00 to %02d:00 local time.",
                 rules.quiet_start, rules.quiet_end);
        t_addf(p, "%s\n", line);
        h_add(p, "<p>");
        h_esc(p, line);
        h_add(p, "</p>\n");
    }
}

static void render_confirmation(parts *p, const nt_mail *m, const char *url, const char *base)
{
    char title[256];
    snprintf(title, sizeof(title), "Confirm your weather alerts for %s", m->place_name);
    long hours = m->token_ttl_s > 0 ? (m->token_ttl_s + 3599) / 3600 : 0;

    t_addf(p,
           "%s\n\nSomeone, hopefully you, asked to send weather alerts for %s to this address:\n",
           title, m->place_name);
    html_start(p, title);
    h_add(p, "<h1 style=\"font-size:20px;margin:0 0 16px\">");
    h_esc(p, title);
    h_add(p, "</h1>\n<p>Someone, hopefully you, asked to send weather alerts for <strong>");
    h_esc(p, m->place_name);
    h_add(p, "</strong> to this address:</p>\n");
    rules_list(p, m);
    t_addf(p, "\nTo confirm, open this link and press \"Confirm\":\n%s\n\n", url);
    h_add(p, "<p>To confirm, open the confirmation page and press <em>Confirm</em>:</p>\n");
    html_button(p, url, "Open the confirmation page");
    h_add(p, "<p style=\"font-size:13px;color:#5b6b7c\">Or paste this link into your browser: ");
    h_esc(p, url);
    h_add(p, "</p>\n");
    if (hours > 0) t_addf(p, "The link works for %ld hours. ", hours);
    t_add(p, "If you did not ask for this, ignore this mail: nothing will be sent.\n");
    h_add(p, "<p>");
    if (hours > 0) {
        char s[64];
        snprintf(s, sizeof(s), "The link works for %ld hours. ", hours);
        h_add(p, s);
    }
    h_add(p, "If you did not ask for this, ignore this mail: nothing will be sent.</p>\n");
    footer(p, m->place_name, base, NULL, NULL);
}

static void render_alert(parts *p, const nt_mail *m, const char *subject, const char *manage,
                         const char *unsubscribe, const char *base)
{
    const json_t *pl = m->payload;
    const json_t *matches = json_object_get(pl, "matches");
    const json_t *obs = json_object_get(pl, "observation");
    bool digest = digest_only(matches);
    char when[256], now[256], line[512], heading[256];
    when_line(pl, when, sizeof(when));
    now_line(obs, now, sizeof(now));
    snprintf(heading, sizeof(heading), "%s for %s", digest ? "Daily weather" : "Weather alert",
             m->place_name);

    t_addf(p, "%s\n\nAt %s:\n\n", heading, when);
    html_start(p, subject);
    h_add(p, "<h1 style=\"font-size:20px;margin:0 0 4px\">");
    h_esc(p, heading);
    h_add(p, "</h1>\n<p style=\"margin:0 0 16px;color:#5b6b7c\">At ");
    h_esc(p, when);
    h_add(p, "</p>\n<ul>\n");
    size_t i;
    json_t *x;
    json_array_foreach(matches, i, x)
    {
        if (strcmp(str(x, "kind"), "daily_digest") == 0 && !digest) continue;
        match_sentence(x, line, sizeof(line));
        t_addf(p, "  * %s\n", line);
        h_add(p, "<li>");
        h_esc(p, line);
        h_add(p, "</li>\n");
    }
    h_add(p, "</ul>\n<p><strong>Now:</strong> ");
    h_esc(p, now);
    h_add(p, "</p>\n");
    t_addf(p, "\nNow: %s.\n", now);

    const json_t *days = json_object_get(pl, "days");
    if (json_array_size(days) > 0) {
        t_add(p, "\nNext days:\n");
        h_add(p,
              "<table style=\"border-collapse:collapse;width:100%\">\n"
              "<tr><th align=\"left\">Day</th><th align=\"left\">Sky</th>"
              "<th align=\"right\">Low / high</th><th align=\"right\">Precipitation</th></tr>\n");
        json_array_foreach(days, i, x)
        {
            char day[32], lob[32], hib[32], ppb[32];
            day_label(str(x, "date"), day, sizeof(day));
            const char *lo = num(x, "temperature_min", 0, lob, sizeof(lob));
            const char *hi = num(x, "temperature_max", 0, hib, sizeof(hib));
            const char *pp = num(x, "precipitation_probability_max", 0, ppb, sizeof(ppb));
            t_addf(p, "  %-11s %s, %s to %s °C, precipitation %s %%\n", day, str(x, "condition"),
                   lo, hi, pp);
            h_add(p, "<tr><td>");
            h_esc(p, day);
            h_add(p, "</td><td>");
            h_esc(p, str(x, "condition"));
            h_add(p, "</td><td align=\"right\">");
            h_esc(p, lo);
            h_add(p, " / ");
            h_esc(p, hi);
            h_add(p, " °C</td><td align=\"right\">");
            h_esc(p, pp);
            h_add(p, " %</td></tr>\n");
        }
        h_add(p, "</table>\n");
    }
    html_button(p, manage, "Manage your alerts");
    footer(p, m->place_name, base, manage, unsubscribe);
}

static char *link(const char *base, const char *page, const char *token)
{
    size_t n = strlen(base) + strlen(page) + strlen(token) + 40;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/subscriptions/%s?token=%s", base, page, token);
    return s;
}

nb_err nt_render(const nt_mail *m, const char *public_url, nt_rendered *out)
{
    memset(out, 0, sizeof(*out));
    parts p = {0};
    nb_buf_init(&p.text, PART_CAP);
    nb_buf_init(&p.html, PART_CAP);
    char *manage = NULL;
    nb_err rc = NB_OK;

    /* The place's name comes from a geocoder: nothing in it may steer a
     * reader (controls, bidirectional overrides, broken UTF-8 become '?'). */
    nt_mail safe = *m; /* borrows m's JSON; never released */
    nb_buf name;
    nb_buf_init(&name, 2 * sizeof(safe.place_name));
    if (nb_buf_add_safe(&name, m->place_name) != NB_OK) {
        nb_buf_release(&name);
        return NB_ERR_NOMEM;
    }
    snprintf(safe.place_name, sizeof(safe.place_name), "%s", nb_buf_str(&name));
    nb_buf_release(&name);
    m = &safe;

    for (const char *t = m->token; *t; t++) /* tokens are base64url: safe in a URL */
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
              *t == '-' || *t == '_'))
            return NB_ERR_INVALID;
    if (!m->token[0]) return NB_ERR_INVALID;

    if (strcmp(m->kind, "confirmation") == 0) {
        char *url = link(public_url, "confirm", m->token);
        char s[512];
        snprintf(s, sizeof(s), "Confirm your weather alerts for %s", m->place_name);
        out->kind = "confirmation";
        out->subject = strdup(s);
        if (url) render_confirmation(&p, m, url, public_url);
        free(url);
        if (!url) rc = NB_ERR_NOMEM;
    } else if (strcmp(m->kind, "alert") == 0 && json_is_object(m->payload) &&
               json_array_size(json_object_get(m->payload, "matches")) > 0) {
        manage = link(public_url, "manage", m->token);
        out->unsubscribe_url = link(public_url, "unsubscribe", m->token);
        out->kind = digest_only(json_object_get(m->payload, "matches")) ? "digest" : "alert";
        out->subject = subject_alert(m->place_name, m->payload);
        if (manage && out->unsubscribe_url && out->subject)
            render_alert(&p, m, out->subject, manage, out->unsubscribe_url, public_url);
        else
            rc = NB_ERR_NOMEM;
    } else {
        rc = NB_ERR_INVALID;
    }
    if (!rc && !out->subject) rc = NB_ERR_NOMEM;
    if (!rc) rc = p.err;
    free(manage);
    if (rc) {
        nb_buf_release(&p.text);
        nb_buf_release(&p.html);
        nt_rendered_release(out);
        return rc;
    }
    out->text = nb_buf_detach(&p.text, NULL);
    out->html = nb_buf_detach(&p.html, NULL);
    return NB_OK;
}
