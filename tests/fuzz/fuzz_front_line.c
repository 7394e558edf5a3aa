/* fuzz_front_line — front's reading of how a reader asked (view.c: format=,
 * units=, hours=, wttr.in's one-letter options, the units cookie) and the
 * one-line answers it leads to (render_line.c: presets and %-codes), plus
 * the text report in that view. Fields (see fz_fields): format, the api's
 * document (JSON), the place as asked, a query argument's name and value,
 * hours, Accept, User-Agent, Cookie. Whatever comes in, the view is in range
 * and no C0/C1 or bidirectional control and no byte that is not UTF-8
 * reaches the terminal (newlines aside). */
#include <jansson.h>

#include "fuzz.h"
#include "render_line.h"
#include "render_text.h"
#include "view.h"

#define NOW_MS 1795478700000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *f[9];
    char *store = fz_fields(data, size, f, 9);
    fr_view v;
    fr_view_init(&v);
    if (f[3]) fr_view_arg(&v, f[3], f[4]);
    if (f[0]) fr_view_arg(&v, "format", f[0]);
    if (f[5]) fr_view_arg(&v, "hours", f[5]);
    fr_view_finish(&v, f[6], f[7], f[8]);
    FZ_CHECK(v.fmt == FR_FMT_HTML || v.fmt == FR_FMT_TEXT || v.fmt == FR_FMT_JSON ||
             v.fmt == FR_FMT_LINE);
    FZ_CHECK((v.fmt == FR_FMT_LINE) == (v.line != NULL));
    FZ_CHECK(v.units == NB_UNITS_METRIC || v.units == NB_UNITS_IMPERIAL);
    FZ_CHECK(v.days >= 0 && v.days <= 3);
    FZ_CHECK(v.rain_hours >= 0 && v.rain_hours <= 48);

    json_error_t err;
    json_t *doc = f[1] ? json_loads(f[1], 0, &err) : NULL;
    if (!doc) doc = json_object();
    char *out;
    if (v.line) {
        fz_check_reader_safe(out = fr_line_weather(doc, v.line, f[2], v.rain_hours, NOW_MS, NULL),
                             "one-line answer");
        free(out);
    }
    if (f[0]) { /* any string as a %-format, preset or not; longer ones are refused */
        out = fr_line_weather(doc, f[0], f[2], v.rain_hours, NOW_MS, NULL);
        if (strlen(f[0]) <= FR_LINE_FORMAT_MAX) fz_check_reader_safe(out, "%-format");
        FZ_CHECK(strlen(f[0]) <= FR_LINE_FORMAT_MAX || !out);
        free(out);
    }
    fz_check_reader_safe(out = fr_text_weather(doc, NOW_MS, &v, NULL), "text report");
    free(out);
    json_decref(doc);
    free(store);
    return 0;
}
