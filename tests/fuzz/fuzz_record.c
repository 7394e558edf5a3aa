/* fuzz_record — the weather record codec (libcommon record.c), which
 * persistence runs on every PUT body and the api on every record it reads.
 * What it accepts must encode, decode again, and be a fixed point then: what
 * persistence stores is what the api can read. */
#include "fuzz.h"
#include "nimbus/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nb_record r, again;
    const char *why = NULL;
    if (nb_record_parse((const char *)data, size, &r, &why) != NB_OK) {
        FZ_CHECK(why && *why);
        return 0;
    }
    size_t len, len2;
    char *canon = nb_record_dump(&r, &len);
    FZ_CHECK(canon);
    why = NULL;
    if (nb_record_parse(canon, len, &again, &why) != NB_OK) {
        FZ_FAIL("accepted record does not decode after encoding (%s):\n%s", why, canon);
    }
    char *canon2 = nb_record_dump(&again, &len2);
    FZ_CHECK(canon2 && len == len2 && memcmp(canon, canon2, len) == 0);
    FZ_CHECK(strcmp(again.key, r.key) == 0 && again.fetched_at_ms == r.fetched_at_ms);
    free(canon);
    free(canon2);
    return 0;
}
