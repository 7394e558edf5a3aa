/* What persistence reads from a request before it touches a store: the key
 * in the path, the media type and the PUT body; and the reason for every
 * refusal (the text of the 400 answer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nimbus/text.h"
#include "request.h"

static const char record[] =
    "{ \"key\": \"52.52,13.41\", \"latitude\": 52.52, \"longitude\": 13.41, \"extra\": [1],"
    "\"fetched_at\":\"2026-11-24T01:05:49.123+01:00\",\"timezone\":\"Europe/Berlin\","
    "\"utc_offset_seconds\":3600,"
    "\"current\":{\"time\":\"2026-11-24T01:00\",\"temperature\":4.4},\"daily\":[]}";

static const char entry[] =
    "{\"query\":\"sao paulo\",\"found\":true,\"resolved_at\":\"2026-11-24T00:00:00Z\","
    "\"expires_at\":\"2026-12-24T00:00:00Z\",\"place\":{\"name\":\"S\xc3\xa3o Paulo\","
    "\"latitude\":-23.5475,\"longitude\":-46.63611,\"timezone\":\"America/Sao_Paulo\"}}";

static void keys_from_the_path(void **state)
{
    char key[NB_QUERY_MAX + 1], why[300];
    assert_int_equal(ps_rq_key(KV_NS_RECORD, "52.52,13.41", key, why, sizeof(why)), NB_OK);
    assert_string_equal(key, "52.52,13.41");
    assert_int_equal(ps_rq_key(KV_NS_RECORD, "52.5,13.41", key, why, sizeof(why)), NB_ERR_INVALID);
    assert_string_equal(why,
                        "location key must be canonical lat,lon with 2 decimals, e.g. 52.52,13.41");
    assert_int_equal(ps_rq_key(KV_NS_GEOCODE, "  S\xc3\xa3o  PAULO ", key, why, sizeof(why)),
                     NB_OK);
    assert_string_equal(key, "s\xc3\xa3o paulo");
    assert_int_equal(ps_rq_key(KV_NS_GEOCODE, "   ", key, why, sizeof(why)), NB_ERR_INVALID);
    assert_string_equal(why, "invalid geocoding query: place name is empty");
    assert_int_equal(ps_rq_key(KV_NS_GEOCODE, "a\x01", key, why, sizeof(why)), NB_ERR_INVALID);
    assert_string_equal(why, "invalid geocoding query: place name contains control characters");
}

static void media_types(void **state)
{
    assert_true(ps_rq_is_json("application/json"));
    assert_true(ps_rq_is_json("Application/JSON; charset=utf-8"));
    assert_true(ps_rq_is_json("application/json ;charset=utf-8"));
    assert_false(ps_rq_is_json("application/jsonx"));
    assert_false(ps_rq_is_json("text/plain"));
    assert_false(ps_rq_is_json("application/js"));
    assert_false(ps_rq_is_json(""));
    assert_false(ps_rq_is_json(NULL));
}

static void a_record_is_stored_canonically(void **state)
{
    rq_put put;
    char why[600];
    nb_record rec;
    assert_int_equal(
        ps_rq_record_put("52.52,13.41", record, strlen(record), &rec, &put, why, sizeof(why)),
        NB_OK);
    assert_string_equal(rec.current.time, "2026-11-24T01:00");
    assert_int_equal(put.version_ms, 1795478749123LL);
    assert_int_equal(put.expires_at_ms, 0);
    assert_int_equal(strlen(put.canon), put.len);
    assert_null(strstr(put.canon, "extra"));
    assert_null(strchr(put.canon, ' '));
    assert_non_null(strstr(put.canon, "\"fetched_at\":\"2026-11-24T00:05:49.123Z\""));
    ps_rq_put_release(&put);
    assert_null(put.canon);
}

static void an_entry_is_stored_canonically(void **state)
{
    rq_put put;
    char why[600];
    assert_int_equal(ps_rq_geo_put("sao paulo", entry, strlen(entry), &put, why, sizeof(why)),
                     NB_OK);
    assert_int_equal(put.version_ms, 1795478400000LL);
    assert_int_equal(put.expires_at_ms, 1795478400000LL + 30LL * 86400 * 1000);
    assert_non_null(strstr(put.canon, "\"name\":\"S\xc3\xa3o Paulo\""));
    ps_rq_put_release(&put);
}

static void every_refused_body_says_why(void **state)
{
    rq_put put;
    nb_record rec;
    char why[600];
    assert_int_equal(ps_rq_record_put("52.52,13.41", "", 0, &rec, &put, why, sizeof(why)),
                     NB_ERR_INVALID);
    assert_string_equal(why, "empty body");
    assert_int_equal(ps_rq_geo_put("x", NULL, 0, &put, why, sizeof(why)), NB_ERR_INVALID);
    assert_string_equal(why, "empty body");
    assert_int_equal(ps_rq_record_put("52.52,13.41", "{", 1, &rec, &put, why, sizeof(why)),
                     NB_ERR_INVALID);
    assert_string_equal(why, "invalid record: body is not valid JSON");
    assert_int_equal(
        ps_rq_record_put("1.00,2.00", record, strlen(record), &rec, &put, why, sizeof(why)),
        NB_ERR_INVALID);
    assert_string_equal(why, "record key 52.52,13.41 does not match the path key 1.00,2.00");
    assert_int_equal(ps_rq_geo_put("x", "[]", 2, &put, why, sizeof(why)), NB_ERR_INVALID);
    assert_string_equal(why, "invalid geocoding entry: entry must be a JSON object");
    assert_int_equal(ps_rq_geo_put("rio", entry, strlen(entry), &put, why, sizeof(why)),
                     NB_ERR_INVALID);
    assert_string_equal(why, "entry query does not match the path query");
    assert_null(put.canon);
}

static void long_poll_queries(void **state)
{
    int64_t newer, wait;
    char why[200];
    assert_int_equal(ps_rq_wait(NULL, NULL, &newer, &wait, why, sizeof(why)), NB_OK);
    assert_true(newer == 0 && wait == 0);
    assert_int_equal(ps_rq_wait("1795635665234", "2500", &newer, &wait, why, sizeof(why)), NB_OK);
    assert_true(newer == 1795635665234LL && wait == 2500);
    assert_int_equal(ps_rq_wait(NULL, "60000", &newer, &wait, why, sizeof(why)), NB_OK);
    assert_int_equal(ps_rq_wait(NULL, "60001", &newer, &wait, why, sizeof(why)), NB_ERR_INVALID);
    assert_string_equal(why, "wait_ms must be a whole number of milliseconds from 0 to 60000");
    const char *bad_waits[] = {"", "-1", "+5", " 5", "5ms", "1e3", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad_waits) / sizeof(bad_waits[0]); i++)
        assert_int_equal(ps_rq_wait(NULL, bad_waits[i], &newer, &wait, why, sizeof(why)),
                         NB_ERR_INVALID);
    assert_int_equal(ps_rq_wait("x", "5", &newer, &wait, why, sizeof(why)), NB_ERR_INVALID);
    assert_string_equal(why, "newer_than must be a version in milliseconds (an ETag's number)");
}

/* Found by fuzz_persistence_subs: jansson quotes the bytes near a syntax
 * error, which need not be UTF-8; "invalid JSON: ..." then was not either. */
static void json_bodies_are_refused_with_a_utf8_reason(void **state)
{
    static const char *const fields[] = {"token", NULL};
    char why[300];
    const char bad[] = "{\"t\\u2\xc3\xbc"
                       "02\":1}"; /* an escape cut by ü */
    assert_null(ps_rq_json_object(bad, sizeof(bad) - 1, fields, why, sizeof(why)));
    assert_true(strncmp(why, "invalid JSON: ", 14) == 0);
    assert_true(nb_utf8_valid(why, strlen(why)));
    assert_null(ps_rq_json_object("{\"x\":1}", 7, fields, why, sizeof(why)));
    assert_string_equal(why, "unknown field \"x\"");
    assert_null(ps_rq_json_object("", 0, fields, why, sizeof(why)));
    assert_string_equal(why, "empty body");
    json_t *ok = ps_rq_json_object("{\"token\":\"t\"}", 13, fields, why, sizeof(why));
    assert_non_null(ok);
    json_decref(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_from_the_path),
        cmocka_unit_test(media_types),
        cmocka_unit_test(a_record_is_stored_canonically),
        cmocka_unit_test(an_entry_is_stored_canonically),
        cmocka_unit_test(every_refused_body_says_why),
        cmocka_unit_test(long_poll_queries),
        cmocka_unit_test(json_bodies_are_refused_with_a_utf8_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
