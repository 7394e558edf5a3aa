/* fuzz_text — the small parsers of libcommon every daemon runs on outside
 * text: place-name normalisation (nb_geo_normalise, the api's city= and
 * persistence's /v1/geocode/{query}), location keys (nb_location_key_valid,
 * persistence's /v1/records/{key}), RFC 3339 times, and safe text
 * (nb_buf_add_safe / nb_buf_add_html, what front shows readers). */
#include "fuzz.h"
#include "nimbus/buf.h"
#include "nimbus/clock.h"
#include "nimbus/record.h"
#include "nimbus/text.h"

/* True when s is valid UTF-8 without an unsafe character. */
static int reader_safe(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0, len; i < n; i += len) {
        uint32_t cp;
        if ((len = nb_utf8_next(s + i, n - i, &cp)) == 0 || nb_text_unsafe(cp)) return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fz_string(data, size);
    char norm[NB_QUERY_MAX + 1], twice[NB_QUERY_MAX + 1];
    const char *why = NULL;

    /* A normalised name is normal: short, UTF-8, no controls, stable. */
    if (nb_geo_normalise(s, norm, &why) == NB_OK) {
        size_t n = strlen(norm);
        FZ_CHECK(n > 0 && n <= NB_QUERY_MAX && nb_utf8_valid(norm, n));
        FZ_CHECK(norm[0] != ' ' && norm[n - 1] != ' ' && !strstr(norm, "  "));
        FZ_CHECK(nb_geo_normalise(norm, twice, &why) == NB_OK && strcmp(norm, twice) == 0);
    } else {
        FZ_CHECK(why && *why);
    }

    /* A valid key is the key of its own coordinates. */
    double lat, lon;
    if (nb_location_key_valid(s, &lat, &lon)) {
        char key[NB_KEY_MAX];
        FZ_CHECK(nb_location_key(lat, lon, key) == NB_OK && strcmp(key, s) == 0);
    }

    /* A time that parses prints as one that parses to the same instant. */
    int64_t ms, ms2;
    if (nb_time_parse_rfc3339(s, &ms)) {
        char out[64];
        nb_time_rfc3339(ms, out, sizeof(out));
        if (!nb_time_parse_rfc3339(out, &ms2) || ms2 != ms) {
            FZ_FAIL("'%s' parses to %lld ms, printed '%s'", s, (long long)ms, out);
        }
    }

    /* Safe text is safe, and safe text stays as it is. */
    nb_buf b, b2;
    nb_buf_init(&b, 1 << 20);
    nb_buf_init(&b2, 1 << 20);
    FZ_CHECK(nb_buf_add_safe(&b, s) == NB_OK && reader_safe(nb_buf_str(&b)));
    FZ_CHECK(nb_buf_add_safe(&b2, nb_buf_str(&b)) == NB_OK);
    FZ_CHECK(strcmp(nb_buf_str(&b), nb_buf_str(&b2)) == 0);
    nb_buf_reset(&b);
    FZ_CHECK(nb_buf_add_html(&b, s) == NB_OK && reader_safe(nb_buf_str(&b)));
    FZ_CHECK(!strpbrk(nb_buf_str(&b), "<>\"'"));
    nb_buf_release(&b);
    nb_buf_release(&b2);
    free(s);
    return 0;
}
