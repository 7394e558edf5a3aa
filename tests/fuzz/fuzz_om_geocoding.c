/* fuzz_om_geocoding — the api's parser of Open-Meteo geocoding answers
 * (services/api/openmeteo.c). A place it accepts becomes a geocoding entry
 * the api stores through persistence: that entry must encode and decode. */
#include "fuzz.h"
#include "openmeteo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nb_geo_entry g = {.query = "berlin", .resolved_at_ms = 1795478749123LL}, again;
    const char *why = NULL;
    bool found;
    char reason[256];
    api_om_error_reason((const char *)data, size, reason, sizeof(reason));
    if (api_om_parse_geocoding((const char *)data, size, &g.place, &found, &why) != NB_OK) {
        FZ_CHECK(why && *why);
        return 0;
    }
    if (!found) return 0;
    FZ_CHECK(g.place.name[0] && g.place.timezone[0]);
    g.found = true;
    g.expires_at_ms = g.resolved_at_ms + 86400000;
    size_t len;
    char *body = nb_geo_dump(&g, &len);
    FZ_CHECK(body);
    if (nb_geo_parse(body, len, &again, &why) != NB_OK) {
        FZ_FAIL("accepted place makes an entry persistence refuses (%s):\n%s", why, body);
    }
    free(body);
    return 0;
}
