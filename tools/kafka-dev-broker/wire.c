/* wire.c — rewriting broker addresses in Kafka responses (see wire.h).
 *
 * Layouts (Kafka protocol guide; all integers big-endian, STRING = int16 length
 * + bytes, NULLABLE_STRING may have length -1):
 *   Metadata v0..v8:     [throttle_time_ms int32, v3+] brokers: int32 count of
 *                        {node_id int32, host STRING, port int32,
 *                         rack NULLABLE_STRING (v1+)}, then the rest (copied).
 *   FindCoordinator v0:  error_code int16, node_id int32, host STRING, port int32.
 *   FindCoordinator v1-2: throttle_time_ms int32, error_code int16,
 *                        error_message NULLABLE_STRING, node_id, host, port.
 *   ApiVersions v0..v2:  error_code int16, int32 count of {api_key, min, max
 *                        (int16 each)}, [throttle_time_ms int32, v1+].
 *   ApiVersions v3:      error_code int16, COMPACT_ARRAY (uvarint count + 1) of
 *                        {api_key, min, max, TAGGED_FIELDS}, throttle, TAGGED_FIELDS.
 * Every response body starts with the int32 correlation id (response header
 * v0: these APIs at these versions are not "flexible"; ApiVersions never is). */
#include "wire.h"

#include <stdbool.h>
#include <string.h>

/* A bounds-checked cursor over a byte range; any overrun sets err. */
typedef struct kdw_reader {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool err;
} kdw_reader;

static bool kdw_need(kdw_reader *r, size_t n)
{
    if (r->err || r->len - r->off < n) {
        r->err = true;
        return false;
    }
    return true;
}

static int16_t kdw_i16(kdw_reader *r)
{
    uint16_t v;

    if (!kdw_need(r, 2)) return 0;
    v = (uint16_t)((r->p[r->off] << 8) | r->p[r->off + 1]);
    r->off += 2;
    return (int16_t)v;
}

static int32_t kdw_i32(kdw_reader *r)
{
    uint32_t v;

    if (!kdw_need(r, 4)) return 0;
    v = ((uint32_t)r->p[r->off] << 24) | ((uint32_t)r->p[r->off + 1] << 16) |
        ((uint32_t)r->p[r->off + 2] << 8) | r->p[r->off + 3];
    r->off += 4;
    return (int32_t)v;
}

static uint32_t kdw_uvarint(kdw_reader *r)
{
    uint32_t v = 0;

    for (int shift = 0; shift <= 28; shift += 7) {
        uint8_t b;

        if (!kdw_need(r, 1)) return 0;
        b = r->p[r->off++];
        v |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    r->err = true;
    return 0;
}

static void kdw_skip(kdw_reader *r, size_t n)
{
    if (kdw_need(r, n)) r->off += n;
}

/* Skips a STRING or NULLABLE_STRING. */
static void kdw_skip_string(kdw_reader *r, bool nullable)
{
    int16_t n = kdw_i16(r);

    if (n == -1 && nullable) return;
    if (n < 0) {
        r->err = true;
        return;
    }
    kdw_skip(r, (size_t)n);
}

static void kdw_skip_tagged_fields(kdw_reader *r)
{
    uint32_t n = kdw_uvarint(r);

    for (uint32_t i = 0; i < n && !r->err; i++) {
        (void)kdw_uvarint(r); /* tag */
        kdw_skip(r, kdw_uvarint(r));
    }
}

static nb_err kdw_put_i16(nb_buf *out, int16_t v)
{
    uint8_t b[2] = {(uint8_t)((uint16_t)v >> 8), (uint8_t)v};

    return nb_buf_add(out, b, sizeof(b));
}

static nb_err kdw_put_i32(nb_buf *out, int32_t v)
{
    uint32_t u = (uint32_t)v;
    uint8_t b[4] = {(uint8_t)(u >> 24), (uint8_t)(u >> 16), (uint8_t)(u >> 8), (uint8_t)u};

    return nb_buf_add(out, b, sizeof(b));
}

static nb_err kdw_put_string(nb_buf *out, const char *s)
{
    size_t n = strlen(s);
    nb_err err;

    if (n > INT16_MAX) return NB_ERR_INVALID;
    err = kdw_put_i16(out, (int16_t)n);
    return err ? err : nb_buf_add(out, s, n);
}

static const kdw_addr *kdw_find(const kdw_addr *addrs, int n, int32_t node_id)
{
    for (int i = 0; i < n; i++)
        if (addrs[i].node_id == node_id) return &addrs[i];
    return NULL;
}

nb_err kdw_request_header(const uint8_t *body, size_t len, int16_t *api_key, int16_t *api_version,
                          int32_t *correlation_id)
{
    kdw_reader r = {body, len, 0, false};

    *api_key = kdw_i16(&r);
    *api_version = kdw_i16(&r);
    *correlation_id = kdw_i32(&r);
    return r.err ? NB_ERR_INVALID : NB_OK;
}

nb_err kdw_response_correlation(const uint8_t *body, size_t len, int32_t *correlation_id)
{
    kdw_reader r = {body, len, 0, false};

    *correlation_id = kdw_i32(&r);
    return r.err ? NB_ERR_INVALID : NB_OK;
}

/* Metadata: copies up to the broker array, writes it anew, copies the rest. */
static nb_err kdw_metadata(int16_t version, const uint8_t *body, size_t len, const kdw_addr *addrs,
                           int naddrs, nb_buf *out)
{
    kdw_reader r = {body, len, 0, false};
    int32_t count;
    bool changed = false;
    nb_err err;

    (void)kdw_i32(&r); /* correlation id */
    if (version >= 3) (void)kdw_i32(&r);
    count = kdw_i32(&r);
    if (r.err || count < 0) return NB_ERR_INVALID;
    if ((err = nb_buf_add(out, body, r.off)) != NB_OK) return err;
    for (int32_t i = 0; i < count; i++) {
        int32_t node_id = kdw_i32(&r), port;
        size_t host_at = r.off, rack_at;
        const kdw_addr *a;

        kdw_skip_string(&r, false);
        port = kdw_i32(&r);
        rack_at = r.off;
        if (version >= 1) kdw_skip_string(&r, true);
        if (r.err) return NB_ERR_INVALID;
        a = kdw_find(addrs, naddrs, node_id);
        if ((err = kdw_put_i32(out, node_id)) != NB_OK) return err;
        if (a) {
            changed = true;
            err = kdw_put_string(out, a->host);
            if (!err) err = kdw_put_i32(out, a->port);
        } else {
            err = nb_buf_add(out, body + host_at, rack_at - host_at - 4);
            if (!err) err = kdw_put_i32(out, port);
        }
        if (!err) err = nb_buf_add(out, body + rack_at, r.off - rack_at);
        if (err) return err;
    }
    if (!changed) return NB_ERR_NOT_FOUND;
    return nb_buf_add(out, body + r.off, len - r.off);
}

static nb_err kdw_find_coordinator(int16_t version, const uint8_t *body, size_t len,
                                   const kdw_addr *addrs, int naddrs, nb_buf *out)
{
    kdw_reader r = {body, len, 0, false};
    const kdw_addr *a;
    int32_t node_id;
    size_t node_at;
    nb_err err;

    (void)kdw_i32(&r); /* correlation id */
    if (version >= 1) (void)kdw_i32(&r);
    (void)kdw_i16(&r); /* error code */
    if (version >= 1) kdw_skip_string(&r, true);
    node_at = r.off;
    node_id = kdw_i32(&r);
    kdw_skip_string(&r, false);
    (void)kdw_i32(&r);
    if (r.err) return NB_ERR_INVALID;
    if (!(a = kdw_find(addrs, naddrs, node_id))) return NB_ERR_NOT_FOUND;
    if ((err = nb_buf_add(out, body, node_at)) != NB_OK) return err;
    if ((err = kdw_put_i32(out, node_id)) != NB_OK) return err;
    if ((err = kdw_put_string(out, a->host)) != NB_OK) return err;
    if ((err = kdw_put_i32(out, a->port)) != NB_OK) return err;
    return nb_buf_add(out, body + r.off, len - r.off);
}

/* The highest version of api_key the relay can rewrite, or -1 for any. */
static int kdw_version_cap(int16_t api_key)
{
    switch (api_key) {
    case KDW_API_METADATA:
        return KDW_METADATA_MAX_VERSION;
    case KDW_API_FIND_COORDINATOR:
        return KDW_FIND_COORDINATOR_MAX_VERSION;
    default:
        return -1;
    }
}

static nb_err kdw_api_versions(int16_t version, const uint8_t *body, size_t len, nb_buf *out)
{
    kdw_reader r = {body, len, 0, false};
    int64_t count;
    bool changed = false;

    (void)kdw_i32(&r); /* correlation id */
    /* Any error (e.g. UNSUPPORTED_VERSION) is answered in the v0 layout and the
     * client asks again: pass it on untouched. */
    if (kdw_i16(&r) != 0 || r.err) return r.err ? NB_ERR_INVALID : NB_ERR_NOT_FOUND;
    count = version >= 3 ? (int64_t)kdw_uvarint(&r) - 1 : kdw_i32(&r);
    if (r.err || count < 0) return NB_ERR_INVALID;
    if (nb_buf_add(out, body, len) != NB_OK) return NB_ERR_NOMEM;
    for (int64_t i = 0; i < count; i++) {
        int16_t key = kdw_i16(&r);
        size_t max_at;
        int cap;

        (void)kdw_i16(&r); /* min */
        max_at = r.off;
        cap = kdw_version_cap(key);
        if (kdw_i16(&r) > cap && cap >= 0) {
            /* Same length: patch the copy in place. */
            out->data[max_at] = (char)((unsigned)cap >> 8);
            out->data[max_at + 1] = (char)(cap & 0xff);
            changed = true;
        }
        if (version >= 3) kdw_skip_tagged_fields(&r);
        if (r.err) return NB_ERR_INVALID;
    }
    return changed ? NB_OK : NB_ERR_NOT_FOUND;
}

nb_err kdw_rewrite_response(int16_t api_key, int16_t api_version, const uint8_t *body, size_t len,
                            const kdw_addr *addrs, int naddrs, nb_buf *out)
{
    nb_err err = NB_ERR_NOT_FOUND;

    nb_buf_reset(out);
    if (api_version < 0) return NB_ERR_NOT_FOUND;
    if (api_key == KDW_API_METADATA && api_version <= KDW_METADATA_MAX_VERSION)
        err = kdw_metadata(api_version, body, len, addrs, naddrs, out);
    else if (api_key == KDW_API_FIND_COORDINATOR && api_version <= KDW_FIND_COORDINATOR_MAX_VERSION)
        err = kdw_find_coordinator(api_version, body, len, addrs, naddrs, out);
    else if (api_key == KDW_API_VERSIONS && api_version <= 3)
        err = kdw_api_versions(api_version, body, len, out);
    if (err != NB_OK) nb_buf_reset(out);
    return err;
}
