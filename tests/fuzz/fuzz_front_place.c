/* fuzz_front_place — front's reading of a request (services/front/routes.c):
 * the place in the path or query (fr_place_parse, fr_place_path,
 * fr_parse_coords), content negotiation (fr_negotiate) and the api's
 * Cache-Control (fr_cache_control_parse). Fields: path tail, city, lat, lon,
 * format, Accept, User-Agent, Cache-Control (see fz_fields). */
#include "api_client.h"
#include "fuzz.h"
#include "routes.h"
#include "view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *f[8];
    char *store = fz_fields(data, size, f, 8);
    const char *tail = f[0] ? f[0] : "";
    fr_place p;
    fr_place_parse(tail, f[1], f[2], f[3], &p);
    char *path = fr_place_path(&p);
    switch (p.kind) {
    case FR_PLACE_NAME:
        FZ_CHECK(p.name && *p.name && strlen(p.name) <= FR_PLACE_MAX);
        /* "/" and the name percent-encoded: nothing a URL gives meaning to. */
        FZ_CHECK(path && path[0] == '/' &&
                 strspn(path + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789-._~%") == strlen(path + 1));
        break;
    case FR_PLACE_COORDS:
        FZ_CHECK(path && strlen(p.lat) < 32 && strlen(p.lon) < 32);
        break;
    case FR_PLACE_BAD:
        FZ_CHECK(p.reason && *p.reason && !path);
        break;
    default:
        FZ_CHECK(!path);
    }
    free(path);
    char lat[32], lon[32];
    (void)fr_parse_coords(tail, lat, lon);
    fr_format fmt = fr_negotiate(f[4], f[5], f[6]);
    FZ_CHECK(fmt == FR_FMT_HTML || fmt == FR_FMT_TEXT || fmt == FR_FMT_JSON || fmt == FR_FMT_LINE);
    long max_age, swr;
    fr_cache_control_parse(f[7], &max_age, &swr);
    FZ_CHECK(max_age >= -1 && swr >= -1);
    free(store);
    return 0;
}
