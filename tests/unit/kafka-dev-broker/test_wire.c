/* test_wire.c — the relay's rewriting of Kafka responses (wire.h).
 *
 * Frames are built byte by byte from the protocol's layouts, rewritten, and read
 * back field by field: the advertised address replaces the mock's for known node
 * ids, everything else is kept, and ApiVersions caps the two rewritten APIs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wire.h"

typedef struct frame {
    uint8_t b[512];
    size_t len;
} frame;

static void put16(frame *f, int v)
{
    f->b[f->len++] = (uint8_t)((unsigned)v >> 8);
    f->b[f->len++] = (uint8_t)v;
}

static void put32(frame *f, int32_t v)
{
    uint32_t u = (uint32_t)v;

    for (int s = 24; s >= 0; s -= 8)
        f->b[f->len++] = (uint8_t)(u >> s);
}

static void putstr(frame *f, const char *s)
{
    if (!s) {
        put16(f, -1);
        return;
    }
    put16(f, (int)strlen(s));
    memcpy(f->b + f->len, s, strlen(s));
    f->len += strlen(s);
}

static int get16(const uint8_t *p, size_t *off)
{
    int v = (int16_t)((p[*off] << 8) | p[*off + 1]);

    *off += 2;
    return v;
}

static int32_t get32(const uint8_t *p, size_t *off)
{
    uint32_t v = ((uint32_t)p[*off] << 24) | ((uint32_t)p[*off + 1] << 16) |
                 ((uint32_t)p[*off + 2] << 8) | p[*off + 3];

    *off += 4;
    return (int32_t)v;
}

/* Reads a STRING into buf ("(null)" for a null one). */
static void getstr(const uint8_t *p, size_t *off, char *buf, size_t cap)
{
    int n = get16(p, off);

    if (n < 0) {
        snprintf(buf, cap, "(null)");
        return;
    }
    assert_true((size_t)n < cap);
    memcpy(buf, p + *off, (size_t)n);
    buf[n] = '\0';
    *off += (size_t)n;
}

static const kdw_addr addrs[] = {{1, "kafka", 9092}, {2, "kafka-2", 9093}};

/* Metadata v1: two brokers (one known, one not), controller id, one topic. */
static frame metadata_v1(void)
{
    frame f = {{0}, 0};

    put32(&f, 77); /* correlation id */
    put32(&f, 2);  /* brokers */
    put32(&f, 1);
    putstr(&f, "127.0.0.1");
    put32(&f, 40001);
    putstr(&f, NULL); /* rack */
    put32(&f, 3);
    putstr(&f, "127.0.0.1");
    put32(&f, 40003);
    putstr(&f, "rack-c");
    put32(&f, 1); /* controller id */
    put32(&f, 1); /* topics */
    put16(&f, 0); /* error */
    putstr(&f, "weather.notifications");
    f.b[f.len++] = 0; /* is_internal */
    put32(&f, 0);     /* partitions */
    return f;
}

static void test_metadata_brokers_get_advertised_addresses(void **state)
{
    frame f = metadata_v1();
    nb_buf out;
    size_t off = 0;
    char s[64];

    nb_buf_init(&out, 1 << 20);
    assert_int_equal(kdw_rewrite_response(KDW_API_METADATA, 1, f.b, f.len, addrs, 2, &out), NB_OK);
    const uint8_t *p = (const uint8_t *)out.data;
    assert_int_equal(get32(p, &off), 77);
    assert_int_equal(get32(p, &off), 2);
    assert_int_equal(get32(p, &off), 1);
    getstr(p, &off, s, sizeof(s));
    assert_string_equal(s, "kafka");
    assert_int_equal(get32(p, &off), 9092);
    getstr(p, &off, s, sizeof(s));
    assert_string_equal(s, "(null)");
    assert_int_equal(get32(p, &off), 3); /* unknown node: kept as it was */
    getstr(p, &off, s, sizeof(s));
    assert_string_equal(s, "127.0.0.1");
    assert_int_equal(get32(p, &off), 40003);
    getstr(p, &off, s, sizeof(s));
    assert_string_equal(s, "rack-c");
    assert_int_equal(get32(p, &off), 1); /* controller id: the rest is copied */
    assert_int_equal(get32(p, &off), 1);
    assert_int_equal(get16(p, &off), 0);
    getstr(p, &off, s, sizeof(s));
    assert_string_equal(s, "weather.notifications");
    assert_int_equal(out.len, f.len - strlen("127.0.0.1") + strlen("kafka"));
    nb_buf_release(&out);
}

static void test_metadata_v3_has_throttle_time_first(void **state)
{
    frame f = {{0}, 0};
    nb_buf out;
    size_t off = 0;
    char s[64];

    put32(&f, 5);
    put32(&f, 250); /* throttle_time_ms */
    put32(&f, 1);
    put32(&f, 2);
    putstr(&f, "127.0.0.1");
    put32(&f, 40002);
    putstr(&f, NULL);
    putstr(&f, "cluster-id");
    nb_buf_init(&out, 1 << 20);
    assert_int_equal(kdw_rewrite_response(KDW_API_METADATA, 3, f.b, f.len, addrs, 2, &out), NB_OK);
    const uint8_t *p = (const uint8_t *)out.data;
    assert_int_equal(get32(p, &off), 5);
    assert_int_equal(get32(p, &off), 250);
    assert_int_equal(get32(p, &off), 1);
    assert_int_equal(get32(p, &off), 2);
    getstr(p, &off, s, sizeof(s));
    assert_string_equal(s, "kafka-2");
    assert_int_equal(get32(p, &off), 9093);
    getstr(p, &off, s, sizeof(s));
    assert_string_equal(s, "(null)");
    getstr(p, &off, s, sizeof(s));
    assert_string_equal(s, "cluster-id");
    assert_int_equal(off, out.len);
    nb_buf_release(&out);
}

static void test_find_coordinator_v1_gets_advertised_address(void **state)
{
    frame f = {{0}, 0};
    nb_buf out;
    size_t off = 0;
    char s[64];

    put32(&f, 9);
    put32(&f, 0);       /* throttle */
    put16(&f, 0);       /* error */
    putstr(&f, "none"); /* error message */
    put32(&f, 1);
    putstr(&f, "127.0.0.1");
    put32(&f, 40001);
    nb_buf_init(&out, 1 << 20);
    assert_int_equal(kdw_rewrite_response(KDW_API_FIND_COORDINATOR, 1, f.b, f.len, addrs, 2, &out),
                     NB_OK);
    const uint8_t *p = (const uint8_t *)out.data;
    off = 4 + 4 + 2;
    getstr(p, &off, s, sizeof(s));
    assert_string_equal(s, "none");
    assert_int_equal(get32(p, &off), 1);
    getstr(p, &off, s, sizeof(s));
    assert_string_equal(s, "kafka");
    assert_int_equal(get32(p, &off), 9092);
    assert_int_equal(off, out.len);
    nb_buf_release(&out);
}

/* ApiVersions v0 and v3 list {key, min, max}; Metadata and FindCoordinator are
 * capped, other APIs keep their range. */
static void test_api_versions_are_capped(void **state)
{
    nb_buf out;

    nb_buf_init(&out, 1 << 20);
    for (int version = 0; version <= 3; version += 3) {
        frame f = {{0}, 0};
        const int keys[][3] = {{0, 0, 9}, {3, 0, 12}, {10, 0, 4}, {18, 0, 3}};
        size_t off = 4 + 2;

        put32(&f, 1);
        put16(&f, 0);
        if (version >= 3)
            f.b[f.len++] = 5; /* compact array: 4 entries + 1 */
        else
            put32(&f, 4);
        for (int i = 0; i < 4; i++) {
            put16(&f, keys[i][0]);
            put16(&f, keys[i][1]);
            put16(&f, keys[i][2]);
            if (version >= 3) f.b[f.len++] = 0; /* no tagged fields */
        }
        put32(&f, 0);                       /* throttle */
        if (version >= 3) f.b[f.len++] = 0; /* tagged fields */

        assert_int_equal(
            kdw_rewrite_response(KDW_API_VERSIONS, (int16_t)version, f.b, f.len, addrs, 2, &out),
            NB_OK);
        assert_int_equal(out.len, f.len);
        const uint8_t *p = (const uint8_t *)out.data;
        off += version >= 3 ? 1 : 4;
        const int want_max[] = {9, KDW_METADATA_MAX_VERSION, KDW_FIND_COORDINATOR_MAX_VERSION, 3};
        for (int i = 0; i < 4; i++) {
            assert_int_equal(get16(p, &off), keys[i][0]);
            assert_int_equal(get16(p, &off), 0);
            assert_int_equal(get16(p, &off), want_max[i]);
            if (version >= 3) off++;
        }
    }
    nb_buf_release(&out);
}

static void test_other_frames_pass_unchanged(void **state)
{
    frame f = metadata_v1();
    nb_buf out;
    const kdw_addr none[] = {{9, "x", 1}};

    nb_buf_init(&out, 1 << 20);
    /* Produce responses, flexible Metadata versions, unknown node ids. */
    assert_int_equal(kdw_rewrite_response(0, 7, f.b, f.len, addrs, 2, &out), NB_ERR_NOT_FOUND);
    assert_int_equal(kdw_rewrite_response(KDW_API_METADATA, 9, f.b, f.len, addrs, 2, &out),
                     NB_ERR_NOT_FOUND);
    assert_int_equal(kdw_rewrite_response(KDW_API_METADATA, 1, f.b, f.len, none, 1, &out),
                     NB_ERR_NOT_FOUND);
    assert_int_equal(out.len, 0);
    nb_buf_release(&out);
}

static void test_truncated_frames_are_invalid(void **state)
{
    frame f = metadata_v1();
    nb_buf out;
    int16_t key, version;
    int32_t corr;

    nb_buf_init(&out, 1 << 20);
    for (size_t cut = 0; cut < 40; cut++)
        assert_int_equal(kdw_rewrite_response(KDW_API_METADATA, 1, f.b, cut, addrs, 2, &out),
                         NB_ERR_INVALID);
    assert_int_equal(out.len, 0);
    assert_int_equal(kdw_request_header(f.b, 7, &key, &version, &corr), NB_ERR_INVALID);
    assert_int_equal(kdw_response_correlation(f.b, 3, &corr), NB_ERR_INVALID);
    nb_buf_release(&out);
}

static void test_request_header_fields(void **state)
{
    frame f = {{0}, 0};
    int16_t key, version;
    int32_t corr;

    put16(&f, 3);
    put16(&f, 4);
    put32(&f, 123456);
    putstr(&f, "rdkafka");
    assert_int_equal(kdw_request_header(f.b, f.len, &key, &version, &corr), NB_OK);
    assert_int_equal(key, 3);
    assert_int_equal(version, 4);
    assert_int_equal(corr, 123456);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metadata_brokers_get_advertised_addresses),
        cmocka_unit_test(test_metadata_v3_has_throttle_time_first),
        cmocka_unit_test(test_find_coordinator_v1_gets_advertised_address),
        cmocka_unit_test(test_api_versions_are_capped),
        cmocka_unit_test(test_other_frames_pass_unchanged),
        cmocka_unit_test(test_truncated_frames_are_invalid),
        cmocka_unit_test(test_request_header_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
