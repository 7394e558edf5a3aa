/* render_line.c — wttr.in's one-line answers (see render_line.h). */
#define _GNU_SOURCE /* strndup */
#include "render_line.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "wxfmt.h"

#define LINE_CAP (256 * 1024) /* > FR_LINE_FORMAT_MAX / 2 codes × FR_LINE_TEXT_MAX */
#define RAIN_HOURS 6          /* %R without a count */
#define RAIN_HOURS_MAX 48

const char *fr_line_format(const char *format)
{
    static const char *const presets[] = {
        "%c %t\\n",
        "%c 🌡️%t 🌬️%w\\n",
        "%l: %c %t\\n",
        "%l: %c 🌡️%t 🌬️%w\\n",
    };
    if (!format) return NULL;
    if (format[0] >= '1' && format[0] <= '4' && format[1] == '\0') return presets[format[0] - '1'];
    return strchr(format, '%') && strlen(format) <= FR_LINE_FORMAT_MAX ? format : NULL;
}

/* Terminal columns of the condition emoji (wttr.in's widths where it uses the
 * same symbol, East Asian width otherwise); %c pads to 3 columns. */
static int emoji_columns(const char *e)
{
    static const char *const wide[] = {"🌙", "⛅", "🌫", "🌧", "🌨"};
    for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
        if (strncmp(e, wide[i], strlen(wide[i])) == 0) return 2;
    return 1;
}

/* wttr.in's plain-text symbols, by WMO code. */
static const char *plain_symbol(double code)
{
    static const struct {
        int code;
        const char *sym;
    } t[] = {{0, "o"},   {1, "m"},   {2, "mm"},  {3, "mmm"},  {45, "="},  {48, "="},   {51, "."},
             {53, "."},  {55, "."},  {56, "x"},  {57, "x"},   {61, "/"},  {63, "/"},   {65, "///"},
             {66, "x"},  {67, "x"},  {71, "*"},  {73, "**"},  {75, "**"}, {77, "*"},   {80, "."},
             {81, "//"}, {82, "//"}, {85, "*/"}, {86, "*/*"}, {95, "!/"}, {96, "/!/"}, {99, "/!/"}};
    for (size_t i = 0; !isnan(code) && i < sizeof(t) / sizeof(t[0]); i++)
        if (t[i].code == (int)code) return t[i].sym;
    return "?";
}

typedef struct line_ctx {
    fr_out *o;
    const json_t *doc, *cur, *units, *hourly, *today;
    const char *place;
} line_ctx;

/* n bytes at s as safe text. */
static void put_safe_n(line_ctx *c, const char *s, size_t n)
{
    char *copy = n ? strndup(s, n) : NULL;
    if (n && !copy) {
        c->o->err = NB_ERR_NOMEM;
        return;
    }
    fr_put_safe(c->o, copy);
    free(copy);
}

/* Free text (a place, a condition, a zone) as safe text, cut at
 * FR_LINE_TEXT_MAX bytes on a character boundary. */
static void put_text(line_ctx *c, const char *s)
{
    size_t n = strlen(s);
    if (n > FR_LINE_TEXT_MAX) {
        n = FR_LINE_TEXT_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    put_safe_n(c, s, n);
}

static const char *unit(const line_ctx *c, const char *quantity, const char *fallback)
{
    const char *u = fr_wx_str(c->units, quantity);
    return *u ? u : fallback;
}

/* "+4°C" / "-3°C": whole degrees, signed like wttr.in. */
static void signed_temp(line_ctx *c, double v)
{
    if (isnan(v)) return;
    long t = lround(v);
    fr_putf(c->o, "%s%ld", t >= 0 ? "+" : "", t);
    put_text(c, unit(c, "temperature", "°C"));
}

static void whole(line_ctx *c, double v, const char *suffix)
{
    if (!isnan(v)) fr_putf(c->o, "%ld%s", lround(v), suffix);
}

static void wind(line_ctx *c)
{
    static const char *const arrows[] = {"↓", "↙", "←", "↖", "↑", "↗", "→", "↘"};
    double speed = nb_json_get_num(c->cur, "wind_speed");
    double dir = nb_json_get_num(c->cur, "wind_direction");
    if (isnan(speed)) return;
    if (!isnan(dir)) fr_put(c->o, arrows[(int)(fmod(fmod(dir + 22.5, 360) + 360, 360) / 45) % 8]);
    fr_putf(c->o, "%ld", lround(speed));
    put_text(c, unit(c, "wind_speed", "km/h"));
}

static void precipitation(line_ctx *c)
{
    double v = nb_json_get_num(c->cur, "precipitation");
    const char *u = unit(c, "precipitation", "mm");
    char n[32];
    if (isnan(v)) return;
    fr_put(c->o, fr_wx_fmt(v, strcmp(u, "mm") == 0 ? 1 : 2, n, sizeof(n)));
    put_text(c, u);
}

/* "07:45:00" from today's "YYYY-MM-DDTHH:MM". */
static void sun_time(line_ctx *c, const char *key)
{
    const char *t = fr_wx_str(c->today, key);
    if (strlen(t) == 16) fr_putf(c->o, "%.5s:00", t + 11);
}

/* %R: the highest chance of precipitation in the next hours hours, and the
 * local hour it is first reached. */
static void rain(line_ctx *c, int hours)
{
    double best = -1;
    const char *when = "";
    for (size_t i = 0; i < json_array_size(c->hourly) && i < (size_t)hours; i++) {
        const json_t *h = json_array_get(c->hourly, i);
        double p = nb_json_get_num(h, "precipitation_probability");
        if (!isnan(p) && p > best) {
            best = p;
            when = fr_wx_str(h, "time");
        }
    }
    if (best < 0) return;
    fr_putf(c->o, "%ld%%", lround(best));
    if (lround(best) > 0 && strlen(when) == 16) fr_putf(c->o, "@%.5s", when + 11);
}

static void code(line_ctx *c, char letter)
{
    double wcode = nb_json_get_num(c->cur, "weather_code");
    switch (letter) {
    case 'c': {
        const char *e = nb_wmo_emoji(wcode, fr_wx_bool(c->cur, "is_day"));
        fr_put(c->o, e);
        for (int i = emoji_columns(e); i < 3; i++)
            fr_put(c->o, " ");
        break;
    }
    case 'C':
        put_text(c, fr_wx_str(c->cur, "condition"));
        break;
    case 'x':
        fr_put(c->o, plain_symbol(wcode));
        break;
    case 't':
        signed_temp(c, nb_json_get_num(c->cur, "temperature"));
        break;
    case 'f':
        signed_temp(c, nb_json_get_num(c->cur, "apparent_temperature"));
        break;
    case 'h':
        whole(c, nb_json_get_num(c->cur, "relative_humidity"), "%");
        break;
    case 'w':
        wind(c);
        break;
    case 'l':
        put_text(c, c->place);
        break;
    case 'p':
        precipitation(c);
        break;
    case 'P':
        whole(c, nb_json_get_num(c->cur, "pressure_msl"), "hPa");
        break;
    case 'o':
        whole(c, nb_json_get_num(json_array_get(c->hourly, 0), "precipitation_probability"), "%");
        break;
    case 'u':
        whole(c, nb_json_get_num(c->today, "uv_index_max"), "");
        break;
    case 'S':
        sun_time(c, "sunrise");
        break;
    case 's':
        sun_time(c, "sunset");
        break;
    case 'Z':
        put_text(c, fr_wx_str(json_object_get(c->doc, "location"), "timezone"));
        break;
    case 'm': /* the moon moves on while the line is kept: filled when answering */
        fr_out_slot(c->o, FR_SLOT_MOON);
        break;
    case 'M':
        fr_out_slot(c->o, FR_SLOT_MOON_DAY);
        break;
    default: /* unknown to nimbus (or no data here: dawn, dusk, zenith): nothing */
        break;
    }
}

/* Literal text of the format: "\n" and real line breaks kept, the rest safe. */
static void literal(line_ctx *c, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        size_t skip = s[i] == '\n' ? 1 : (s[i] == '\\' && i + 1 < n && s[i + 1] == 'n') ? 2 : 0;
        if (!skip) continue;
        put_safe_n(c, s + start, i - start);
        fr_put(c->o, "\n");
        i += skip - 1;
        start = i + 1;
    }
    put_safe_n(c, s + start, n - start);
}

fr_tpl *fr_line_weather_tpl(const json_t *doc, const char *format, const char *place,
                            int rain_hours, int64_t now_ms)
{
    fr_out o;
    char today[16];
    const json_t *loc = json_object_get(doc, "location");
    const json_t *daily = json_object_get(doc, "daily");
    line_ctx c = {.o = &o,
                  .doc = doc,
                  .cur = json_object_get(doc, "current"),
                  .units = json_object_get(doc, "units"),
                  .hourly = json_object_get(doc, "hourly"),
                  .place = place ? place : fr_wx_place_name(loc)};
    fr_wx_local_date(now_ms, fr_wx_utc_offset(loc), today, sizeof(today));
    c.today = json_array_get(daily, fr_wx_first_day(daily, today));

    if (strlen(format) > FR_LINE_FORMAT_MAX) return NULL;
    fr_out_init(&o, LINE_CAP);
    const char *p = format, *lit = format;
    while (*p) {
        char l = p[0] == '%' ? p[1] : '\0';
        if (!((l >= 'a' && l <= 'z') || (l >= 'A' && l <= 'Z'))) { /* not a code: text */
            p++;
            continue;
        }
        literal(&c, lit, (size_t)(p - lit));
        if (l == 'R')
            rain(&c, rain_hours >= 1 && rain_hours <= RAIN_HOURS_MAX ? rain_hours : RAIN_HOURS);
        else
            code(&c, l);
        p = lit = p + 2;
    }
    literal(&c, lit, (size_t)(p - lit));
    return fr_out_finish_tpl(&o, fr_wx_utc_offset(loc), fr_wx_fetched_at_ms(doc), now_ms);
}

char *fr_line_weather(const json_t *doc, const char *format, const char *place, int rain_hours,
                      int64_t now_ms, size_t *len)
{
    fr_tpl *t = fr_line_weather_tpl(doc, format, place, rain_hours, now_ms);
    if (!t) return NULL;
    fr_fill f = {.now_ms = now_ms, .stale = fr_wx_doc_stale(doc), .max_age_s = -1, .swr_s = -1};
    char *line = fr_tpl_fill(t, &f, len);
    fr_tpl_unref(t);
    return line;
}
