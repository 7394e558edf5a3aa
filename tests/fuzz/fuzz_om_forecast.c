/* fuzz_om_forecast — the api's parser of Open-Meteo forecast answers
 * (services/api/openmeteo.c), the bytes an upstream (or anything posing as
 * one) sends. A forecast it accepts must be a record persistence accepts. */
#include "fuzz.h"
#include "openmeteo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nb_record r, stored;
    const char *why = NULL;
    char reason[256];
    api_om_error_reason((const char *)data, size, reason, sizeof(reason));
    if (api_om_parse_forecast((const char *)data, size, "52.52,13.41", 1795478749123LL, &r, &why) !=
        NB_OK) {
        FZ_CHECK(why && *why);
        return 0;
    }
    FZ_CHECK(strcmp(r.key, "52.52,13.41") == 0 && r.ndays >= 1 && r.ndays <= NB_MAX_DAYS);
    size_t len;
    char *body = nb_record_dump(&r, &len);
    FZ_CHECK(body && nb_record_parse(body, len, &stored, &why) == NB_OK);
    free(body);
    return 0;
}
