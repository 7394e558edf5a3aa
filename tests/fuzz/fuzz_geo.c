/* fuzz_geo — the geocoding entry codec (libcommon record.c): persistence's
 * PUT /v1/geocode bodies, the api's reads of them. Accepted entries must
 * encode, decode again and be a fixed point. */
#include "fuzz.h"
#include "nimbus/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nb_geo_entry g, again;
    const char *why = NULL;
    if (nb_geo_parse((const char *)data, size, &g, &why) != NB_OK) {
        FZ_CHECK(why && *why);
        return 0;
    }
    size_t len, len2;
    char *canon = nb_geo_dump(&g, &len);
    FZ_CHECK(canon);
    why = NULL;
    if (nb_geo_parse(canon, len, &again, &why) != NB_OK) {
        FZ_FAIL("accepted entry does not decode after encoding (%s):\n%s", why, canon);
    }
    char *canon2 = nb_geo_dump(&again, &len2);
    FZ_CHECK(canon2 && len == len2 && memcmp(canon, canon2, len) == 0);
    free(canon);
    free(canon2);
    return 0;
}
