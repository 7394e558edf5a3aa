/* fuzz_front_render — front's renderers (render_text.c, render_html.c) on
 * whatever JSON the api sends, with the input also as the reader's query.
 * Whatever comes in, no C0/C1 or bidirectional control and no byte that is
 * not UTF-8 reaches a terminal or a page (newlines of the layout aside). */
#include <jansson.h>

#include "fuzz.h"
#include "render_html.h"
#include "render_text.h"

#define NOW_MS 1795478700000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fz_string(data, size);
    json_error_t err;
    json_t *doc = json_loadb((const char *)data, size, 0, &err);
    fr_page pg = {.asset_version = "0123456789ab",
                  .query = s,
                  .data_path = "/x",
                  .etag = s,
                  .max_age_s = 0,
                  .swr_s = 60,
                  .now_ms = NOW_MS};
    char *out;
    if (doc) {
        fz_check_reader_safe(out = fr_text_weather(doc, NOW_MS, NULL, NULL), "text report");
        free(out);
        fz_check_reader_safe(out = fr_html_weather(doc, &pg, NULL), "HTML page");
        free(out);
        json_decref(doc);
    }
    fz_check_reader_safe(out = fr_text_error("Place not found", s, s, NULL), "text error");
    free(out);
    fz_check_reader_safe(out = fr_html_error(&pg, 404, "Place not found", s, NULL), "HTML error");
    free(out);
    free(s);
    return 0;
}
