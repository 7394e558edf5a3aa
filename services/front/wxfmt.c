/* wxfmt.c — presentation helpers shared by the renderers (see wxfmt.h). */
#include "wxfmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nimbus/clock.h"

double fr_wx_bool(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_boolean(v) ? (json_is_true(v) ? 1 : 0) : NAN;
}

const char *fr_wx_str(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : "";
}

size_t fr_wx_fixed(long long k, int decimals, char out[32])
{
    char digits[24];
    int n = 0;
    unsigned long long u = k < 0 ? 0ULL - (unsigned long long)k : (unsigned long long)k;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0 || n <= decimals);
    size_t len = 0;
    if (k < 0) out[len++] = '-';
    while (n > 0) {
        if (n == decimals) out[len++] = '.';
        out[len++] = digits[--n];
    }
    out[len] = '\0';
    return len;
}

char *fr_wx_fmt(double v, int decimals, char *out, size_t outlen)
{
    static const double scale[] = {1, 10, 100, 1000};
    if (!isfinite(v)) {
        snprintf(out, outlen, "%s", FR_MISSING);
        return out;
    }
    /* A value that already has at most `decimals` decimals (what the api
     * sends) needs no rounding: written without printf (a page has hundreds). */
    if (decimals >= 0 && decimals <= 3 && fabs(v) < 1e12 && outlen >= 32) {
        double x = v * scale[decimals], k = round(x);
        if (fabs(x - k) < 1e-6 && k != 0) {
            fr_wx_fixed((long long)k, decimals, out);
            return out;
        }
    }
    snprintf(out, outlen, "%.*f", decimals, v);
    /* Rounding can yield "-0" / "-0.0": show it without the sign. */
    if (out[0] == '-' && strspn(out + 1, "0.") == strlen(out + 1))
        memmove(out, out + 1, strlen(out));
    return out;
}

const char *fr_wx_compass(double degrees)
{
    static const char *const points[16] = {"N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
                                           "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"};
    if (!isfinite(degrees)) return "";
    double d = fmod(degrees, 360.0);
    if (d < 0) d += 360.0;
    return points[(int)floor(d / 22.5 + 0.5) % 16];
}

long fr_wx_utc_offset(const json_t *location)
{
    double v = nb_json_get_num(location, "utc_offset_seconds");
    return isfinite(v) && fabs(v) <= 18 * 3600 ? (long)v : 0;
}

static bool local_tm(int64_t now_ms, long utc_offset_s, struct tm *tm)
{
    time_t t = (time_t)(now_ms / 1000 + utc_offset_s);
    return gmtime_r(&t, tm) != NULL;
}

void fr_wx_local_time(int64_t now_ms, long utc_offset_s, char *out, size_t outlen)
{
    struct tm tm;
    if (!local_tm(now_ms, utc_offset_s, &tm) || strftime(out, outlen, "%a %H:%M", &tm) == 0)
        snprintf(out, outlen, "%s", FR_MISSING);
}

void fr_wx_local_date(int64_t now_ms, long utc_offset_s, char *out, size_t outlen)
{
    struct tm tm;
    if (!local_tm(now_ms, utc_offset_s, &tm) || strftime(out, outlen, "%Y-%m-%d", &tm) == 0)
        snprintf(out, outlen, "%s", "");
}

void fr_wx_day_label(const char *date, const char *today_local, char *out, size_t outlen)
{
    int y, m, d;
    char tail;
    if (!date || sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 ||
        d < 1 || d > 31) {
        snprintf(out, outlen, "%s", date ? date : FR_MISSING);
        return;
    }
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
    time_t t = timegm(&tm);
    if (today_local && *today_local) {
        if (strcmp(date, today_local) == 0) {
            snprintf(out, outlen, "Today");
            return;
        }
        int ty, tmo, td;
        if (sscanf(today_local, "%4d-%2d-%2d", &ty, &tmo, &td) == 3) {
            struct tm tt = {.tm_year = ty - 1900, .tm_mon = tmo - 1, .tm_mday = td, .tm_hour = 12};
            if (t - timegm(&tt) == 86400) {
                snprintf(out, outlen, "Tomorrow");
                return;
            }
        }
    }
    struct tm norm;
    if (!gmtime_r(&t, &norm) || strftime(out, outlen, "%a %d", &norm) == 0)
        snprintf(out, outlen, "%s", date);
}

size_t fr_wx_first_day(const json_t *daily, const char *today_local)
{
    size_t i;
    const json_t *d;
    if (!today_local || !*today_local) return 0;
    json_array_foreach(daily, i, d)
    {
        /* "YYYY-MM-DD" strings order like the dates they name. */
        if (strcmp(fr_wx_str(d, "date"), today_local) >= 0) return i;
    }
    return 0;
}

void fr_wx_ago(int64_t age_s, char *out, size_t outlen)
{
    if (age_s < 60) {
        snprintf(out, outlen, "just now");
        return;
    }
    int64_t min = age_s / 60, hours = age_s / 3600, days = age_s / 86400;
    if (min < 120)
        snprintf(out, outlen, "%lld minute%s ago", (long long)min, min == 1 ? "" : "s");
    else if (hours < 48)
        snprintf(out, outlen, "%lld hours ago", (long long)hours);
    else
        snprintf(out, outlen, "%lld days ago", (long long)days);
}

int64_t fr_wx_age_s(const json_t *doc, int64_t now_ms)
{
    int64_t fetched = fr_wx_fetched_at_ms(doc);
    if (fetched == INT64_MIN) return -1;
    int64_t age = (now_ms - fetched) / 1000;
    return age < 0 ? 0 : age;
}

int64_t fr_wx_fetched_at_ms(const json_t *doc)
{
    int64_t fetched;
    const char *s = fr_wx_str(doc, "fetched_at");
    return *s && nb_time_parse_rfc3339(s, &fetched) ? fetched : INT64_MIN;
}

bool fr_wx_doc_stale(const json_t *doc)
{
    return strcmp(fr_wx_str(json_object_get(doc, "freshness"), "state"), "fresh") != 0;
}

void fr_wx_region(const json_t *location, char *out, size_t outlen)
{
    const char *name = fr_wx_str(location, "name");
    const char *admin1 = fr_wx_str(location, "admin1");
    const char *country = fr_wx_str(location, "country");
    if (strcmp(admin1, name) == 0) admin1 = "";
    snprintf(out, outlen, "%s%s%s", admin1, *admin1 && *country ? ", " : "", country);
}

const char *fr_wx_place_name(const json_t *location)
{
    const char *name = fr_wx_str(location, "name");
    return *name ? name : fr_wx_str(location, "key");
}
