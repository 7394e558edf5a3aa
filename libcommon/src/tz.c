/* tz.c — time zone offsets from TZif files and POSIX TZ rules (see tz.h).
 * Formats: RFC 8536 (TZif versions 1 to 4) and POSIX.1 TZ strings. */
#include "nimbus/tz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/map.h"

#define ZONEINFO "/usr/share/zoneinfo"
#define TZIF_MAX (256 * 1024) /* the largest zone file is under 4 KiB */
#define ZONES_MAX 1024        /* zones kept loaded */
#define OFFSET_MAX (26 * 3600)

bool nb_tz_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64 || name[0] == '/' || strstr(name, "..")) return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return false;
    }
    return true;
}

/* ---- civil dates ------------------------------------------------------ */

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian; m 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The year of days since 1970-01-01. */
static int64_t year_of_days(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    return yoe + era * 400 + (m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- POSIX TZ rules ---------------------------------------------------- */

typedef struct rule_date {
    char kind; /* 'M' (month.week.day), 'J' (Julian 1..365, no Feb 29), 'N' (0..365) */
    int m, w, d, n;
    int time; /* seconds after local midnight, may be negative or past 24 h */
} rule_date;

typedef struct posix_rule {
    int std_off, dst_off; /* seconds east of Greenwich */
    bool has_dst;
    rule_date start, end;
} posix_rule;

static const char *parse_name(const char *p)
{
    if (*p == '<') {
        const char *q = strchr(p, '>');
        return q && q - p >= 2 ? q + 1 : NULL;
    }
    const char *q = p;
    while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))
        q++;
    return q - p >= 3 ? q : NULL;
}

static const char *parse_num(const char *p, int max, int *out)
{
    int v = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 3) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (!digits || v > max) return NULL;
    *out = v;
    return p;
}

/* [+-]hh[:mm[:ss]] as signed seconds. */
static const char *parse_time(const char *p, int max_h, int *secs)
{
    int sign = 1, h, m = 0, s = 0;
    if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
    if (!(p = parse_num(p, max_h, &h))) return NULL;
    if (*p == ':' && !(p = parse_num(p + 1, 59, &m))) return NULL;
    if (*p == ':' && !(p = parse_num(p + 1, 59, &s))) return NULL;
    *secs = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *parse_date(const char *p, rule_date *d)
{
    memset(d, 0, sizeof(*d));
    d->time = 7200;
    if (*p == 'M') {
        d->kind = 'M';
        if (!(p = parse_num(p + 1, 12, &d->m)) || d->m < 1 || *p != '.' ||
            !(p = parse_num(p + 1, 5, &d->w)) || d->w < 1 || *p != '.' ||
            !(p = parse_num(p + 1, 6, &d->d)))
            return NULL;
    } else if (*p == 'J') {
        d->kind = 'J';
        if (!(p = parse_num(p + 1, 365, &d->n)) || d->n < 1) return NULL;
    } else {
        d->kind = 'N';
        if (!(p = parse_num(p, 365, &d->n))) return NULL;
    }
    if (*p == '/' && !(p = parse_time(p + 1, 167, &d->time))) return NULL;
    return p;
}

static bool parse_rule(const char *s, posix_rule *r)
{
    const char *p = parse_name(s);
    int west;
    memset(r, 0, sizeof(*r));
    if (!p || !(p = parse_time(p, 24, &west))) return false;
    r->std_off = -west;
    if (!*p) return true;
    if (!(p = parse_name(p))) return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = parse_time(p, 24, &west))) return false;
        r->dst_off = -west;
    }
    if (!*p) { /* no rule given: the US rule, as glibc assumes */
        r->start = (rule_date){.kind = 'M', .m = 3, .w = 2, .d = 0, .time = 7200};
        r->end = (rule_date){.kind = 'M', .m = 11, .w = 1, .d = 0, .time = 7200};
        return true;
    }
    if (*p != ',' || !(p = parse_date(p + 1, &r->start)) || *p != ',' ||
        !(p = parse_date(p + 1, &r->end)))
        return false;
    return *p == '\0';
}

/* Days since 1970-01-01 of the rule date in year y. */
static int64_t rule_day(const rule_date *d, int64_t y)
{
    if (d->kind == 'J') return days_from_civil(y, 1, 1) + d->n - 1 + (is_leap(y) && d->n >= 60);
    if (d->kind == 'N') return days_from_civil(y, 1, 1) + d->n;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t first = days_from_civil(y, d->m, 1);
    int wday_first = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    int64_t day = first + (d->d - wday_first + 7) % 7 + (int64_t)(d->w - 1) * 7;
    int len = mdays[d->m - 1] + (d->m == 2 && is_leap(y));
    while (day >= first + len)
        day -= 7;
    return day;
}

static int rule_offset(const posix_rule *r, int64_t t)
{
    if (!r->has_dst) return r->std_off;
    int64_t y = year_of_days(floor_div(t + r->std_off, 86400));
    int64_t start = rule_day(&r->start, y) * 86400 + r->start.time - r->std_off;
    int64_t end = rule_day(&r->end, y) * 86400 + r->end.time - r->dst_off;
    bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return dst ? r->dst_off : r->std_off;
}

bool nb_tz_posix_offset(const char *rule, int64_t t, int *offset_s)
{
    posix_rule r;
    if (!rule || !parse_rule(rule, &r)) return false;
    *offset_s = rule_offset(&r, t);
    return true;
}

/* ---- TZif files -------------------------------------------------------- */

typedef struct zone {
    size_t n;      /* transitions */
    int64_t *at;   /* n transition instants, ascending */
    uint8_t *type; /* n indexes into off */
    size_t ntypes;
    int *off; /* ntypes UTC offsets */
    bool has_rule;
    posix_rule rule; /* past the last transition */
} zone;

static void zone_free(void *p)
{
    zone *z = p;
    if (!z) return;
    free(z->at);
    free(z->type);
    free(z->off);
    free(z);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct counts {
    uint32_t isut, isstd, leap, time, type, chars;
} counts;

static bool read_header(const unsigned char *p, size_t len, counts *c)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0) return false;
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chars = be32(p + 40);
    return c->type >= 1 && c->type <= 256 && c->time <= 100000 && c->leap <= 100000 &&
           c->chars <= 100000 && c->isut <= c->type && c->isstd <= c->type;
}

static size_t block_size(const counts *c, size_t tsize)
{
    return c->time * tsize + c->time + c->type * 6 + c->chars + c->leap * (tsize + 4) + c->isstd +
           c->isut;
}

/* Parses a whole TZif file; NULL when malformed or out of memory. */
static zone *zone_parse(const unsigned char *p, size_t len)
{
    counts c;
    size_t tsize = 4;
    if (!read_header(p, len, &c)) return NULL;
    if (p[4] >= '2') { /* skip the 32-bit block; use the 64-bit one */
        size_t skip = 44 + block_size(&c, 4);
        if (skip > len) return NULL;
        p += skip;
        len -= skip;
        if (!read_header(p, len, &c)) return NULL;
        tsize = 8;
    }
    size_t need = 44 + block_size(&c, tsize);
    if (need > len) return NULL;
    zone *z = calloc(1, sizeof(*z));
    if (!z) return NULL;
    z->n = c.time;
    z->ntypes = c.type;
    z->at = malloc((c.time ? c.time : 1) * sizeof(*z->at));
    z->type = malloc(c.time ? c.time : 1);
    z->off = malloc(c.type * sizeof(*z->off));
    if (!z->at || !z->type || !z->off) goto bad;
    const unsigned char *q = p + 44;
    for (size_t i = 0; i < c.time; i++, q += tsize)
        z->at[i] = tsize == 8 ? be64(q) : (int64_t)(int32_t)be32(q);
    for (size_t i = 0; i < c.time; i++) {
        z->type[i] = *q++;
        if (z->type[i] >= c.type || (i > 0 && z->at[i] <= z->at[i - 1])) goto bad;
    }
    for (size_t i = 0; i < c.type; i++, q += 6) {
        z->off[i] = (int32_t)be32(q);
        if (z->off[i] < -OFFSET_MAX || z->off[i] > OFFSET_MAX) goto bad;
    }
    /* The footer of version 2+: "\n<POSIX TZ rule>\n" (may be empty). */
    const unsigned char *f = p + need;
    size_t flen = len - need;
    if (tsize == 8 && flen >= 2 && f[0] == '\n') {
        const unsigned char *nl = memchr(f + 1, '\n', flen - 1);
        char rule[128];
        size_t rl = nl ? (size_t)(nl - f - 1) : 0;
        if (nl && rl > 0 && rl < sizeof(rule)) {
            memcpy(rule, f + 1, rl);
            rule[rl] = '\0';
            z->has_rule = parse_rule(rule, &z->rule);
        }
    }
    return z;
bad:
    zone_free(z);
    return NULL;
}

static char zoneinfo[256] = ZONEINFO;
static pthread_once_t zoneinfo_once = PTHREAD_ONCE_INIT;

/* $TZDIR, as glibc reads it (an absolute path), read once. */
static void zoneinfo_init(void)
{
    const char *d = getenv("TZDIR");
    if (d && d[0] == '/' && strlen(d) < sizeof(zoneinfo))
        snprintf(zoneinfo, sizeof(zoneinfo), "%s", d);
}

static zone *zone_load(const char *name)
{
    char path[sizeof(zoneinfo) + 80];
    pthread_once(&zoneinfo_once, zoneinfo_init);
    snprintf(path, sizeof(path), "%s/%s", zoneinfo, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(TZIF_MAX);
    size_t len = buf ? fread(buf, 1, TZIF_MAX, f) : 0;
    bool whole = buf && feof(f) && !ferror(f);
    fclose(f);
    zone *z = whole ? zone_parse(buf, len) : NULL;
    free(buf);
    return z;
}

static int zone_offset(const zone *z, int64_t t)
{
    if (z->n == 0 || t < z->at[0]) {
        if (z->n == 0 && z->has_rule) return rule_offset(&z->rule, t);
        return z->off[0];
    }
    if (t >= z->at[z->n - 1] && z->has_rule) return rule_offset(&z->rule, t);
    size_t lo = 0, hi = z->n - 1; /* at[lo] <= t; find the last such */
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (z->at[mid] <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return z->off[z->type[lo]];
}

/* ---- the process's zones ----------------------------------------------- */

static pthread_mutex_t zones_lock = PTHREAD_MUTEX_INITIALIZER;
static nb_map zones; /* name → zone*, never freed: zones live as long as the process */

bool nb_tz_offset(const char *name, int64_t t, int *offset_s)
{
    if (name && (strcmp(name, "GMT") == 0 || strcmp(name, "UTC") == 0)) {
        *offset_s = 0;
        return true;
    }
    if (!nb_tz_name_ok(name)) return false;
    pthread_mutex_lock(&zones_lock);
    zone *z = nb_map_get(&zones, name);
    pthread_mutex_unlock(&zones_lock);
    bool keep = false;
    if (!z) {
        if (!(z = zone_load(name))) return false;
        pthread_mutex_lock(&zones_lock);
        zone *other = nb_map_get(&zones, name);
        if (other) { /* another thread loaded it meanwhile */
            zone_free(z);
            z = other;
            keep = true;
        } else if (nb_map_len(&zones) < ZONES_MAX && nb_map_put(&zones, name, z, NULL) == NB_OK) {
            keep = true;
        }
        pthread_mutex_unlock(&zones_lock);
    } else {
        keep = true;
    }
    *offset_s = zone_offset(z, t);
    if (!keep) zone_free(z);
    return true;
}
