/* fuzz_persistence_request — persistence's reading of requests
 * (services/persistence/request.c): the namespace (bit 7 of the first byte:
 * records or geocode), then the fields path tail, Content-Type and PUT body
 * (see fz_fields; the body runs to the end of the input, NUL bytes
 * included). What it stores is canonical: put again, it gives the same bytes
 * and version. */
#include "fuzz.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *f[3];
    char *store = fz_fields(data, size, f, 3);
    kv_ns ns = (size && (data[0] & 0x80)) ? KV_NS_GEOCODE : KV_NS_RECORD;
    const char *tail = f[0] ? f[0] : "";
    char key[NB_QUERY_MAX + 1], why[600] = "";
    (void)ps_rq_is_json(f[1]);
    if (ps_rq_key(ns, tail, key, why, sizeof(why)) != NB_OK) {
        FZ_CHECK(why[0]);
        goto out;
    }
    /* The body is the rest of the input after the fields. */
    const char *body = f[2] ? f[2] : "";
    size_t blen = f[2] ? size - (size_t)(body - store) : 0;
    rq_put put, again;
    nb_record rec;
    nb_err rc = ns == KV_NS_RECORD ? ps_rq_record_put(key, body, blen, &rec, &put, why, sizeof(why))
                                   : ps_rq_geo_put(key, body, blen, &put, why, sizeof(why));
    if (rc != NB_OK) {
        FZ_CHECK(why[0] && !put.canon);
        goto out;
    }
    rc = ns == KV_NS_RECORD
             ? ps_rq_record_put(key, put.canon, put.len, &rec, &again, why, sizeof(why))
             : ps_rq_geo_put(key, put.canon, put.len, &again, why, sizeof(why));
    if (rc != NB_OK) FZ_FAIL("stored form refused (%s):\n%s", why, put.canon);
    FZ_CHECK(again.len == put.len && memcmp(again.canon, put.canon, put.len) == 0);
    FZ_CHECK(again.version_ms == put.version_ms && again.expires_at_ms == put.expires_at_ms);
    ps_rq_put_release(&put);
    ps_rq_put_release(&again);
out:
    free(store);
    return 0;
}
