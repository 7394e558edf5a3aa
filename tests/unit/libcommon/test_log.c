/* Log lines: whatever text is logged (quotes, backslashes, ESC, C0 and C1
 * controls, bytes that are not UTF-8, text too long for a line), every line
 * is valid JSON made of printable ASCII only, and says what was logged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "nimbus/log.h"

static FILE *capture;
static int saved_stderr = -1;

static int setup(void **state)
{
    nb_log_init("test", NB_LOG_DEBUG);
    capture = tmpfile();
    return capture ? 0 : -1;
}

static int teardown(void **state)
{
    fclose(capture);
    return 0;
}

/* From here until lines(), log lines go to the capture file. */
static void capture_begin(void)
{
    saved_stderr = dup(STDERR_FILENO);
    dup2(fileno(capture), STDERR_FILENO);
}

/* Everything logged since capture_begin(), as parsed lines (a JSON array);
 * stderr is cmocka's again. */
static json_t *lines(void)
{
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    int fd = fileno(capture); /* plain fd calls: stdio's buffer would hide the offset */
    off_t end = lseek(fd, 0, SEEK_END);
    char *all = calloc(1, (size_t)end + 1);
    assert_int_equal(pread(fd, all, (size_t)end, 0), end);
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    json_t *out = json_array();
    char *save = NULL;
    for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        for (const unsigned char *p = (const unsigned char *)line; *p; p++)
            if (*p < 0x20 || *p >= 0x7f) fail_msg("raw byte 0x%02x in log line: %s", *p, line);
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        if (!o) fail_msg("log line is not JSON (%s): %s", err.text, line);
        json_array_append_new(out, o);
    }
    free(all);
    return out;
}

static const char *msg_of(json_t *a, size_t i)
{
    return json_string_value(json_object_get(json_array_get(a, i), "msg"));
}

static void hostile_messages_stay_json(void **state)
{
    capture_begin();
    nb_log(NB_LOG_INFO, "method %s", "GE\"T\\ \x1b[31mred\x1b[0m");
    nb_log(NB_LOG_WARN, "c1 %s",
           "\xc2\x9b"
           "2J and raw \x9b bytes");
    nb_log(NB_LOG_ERROR, "bad utf8 %s|", "\xff\xfe\xc3(\xed\xa0\x80\xf4\x90\x80\x80");
    nb_log(NB_LOG_INFO, "ctl %s", "\x01\x07\x08\x7f\t\r\n");
    nb_log(NB_LOG_INFO, "text %s", "S\xc3\xa3o Paulo \xe2\x80\xa8 \xf0\x9f\x8c\xa7");
    json_t *a = lines();
    assert_int_equal(json_array_size(a), 5);
    assert_string_equal(msg_of(a, 0), "method GE\"T\\ \x1b[31mred\x1b[0m");
    assert_string_equal(msg_of(a, 1), "c1 \xc2\x9b"
                                      "2J and raw \xef\xbf\xbd bytes");
    /* each byte that is not UTF-8 is one U+FFFD; "(" survives */
    assert_string_equal(msg_of(a, 2), "bad utf8 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd("
                                      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|");
    assert_string_equal(msg_of(a, 3), "ctl \x01\x07\x08\x7f\t\r\n");
    assert_string_equal(msg_of(a, 4), "text S\xc3\xa3o Paulo \xe2\x80\xa8 \xf0\x9f\x8c\xa7");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "svc")), "test");
    json_decref(a);
}

static void long_messages_are_cut_on_a_character(void **state)
{
    static char big[6000];
    for (size_t i = 0; i + 1 < sizeof(big); i++)
        big[i] = "\x1b\"\\\xc3\xa9x"[i % 6]; /* escapes that take 6, 2 and 1 bytes */
    big[sizeof(big) - 1] = '\0';
    capture_begin();
    nb_log_fields(NB_LOG_INFO, "\"status\":200", "%s", big);
    json_t *a = lines();
    assert_int_equal(json_array_size(a), 1);
    json_t *o = json_array_get(a, 0);
    assert_true(strlen(json_string_value(json_object_get(o, "msg"))) > 100);
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 200); /* kept whole */
    json_decref(a);
}

static void fields_are_sanitised_or_dropped_whole(void **state)
{
    char esc[64], fields[256];
    nb_log_escape(esc, sizeof(esc), "\x1b]0;title\x07\"\xff");
    snprintf(fields, sizeof(fields), "\"method\":\"%s\",\"n\":1", esc);
    static char huge[5000];
    memset(huge, 'a', sizeof(huge) - 1);
    memcpy(huge, "\"k\":\"", 5);
    huge[sizeof(huge) - 2] = '"';
    capture_begin();
    nb_log_fields(NB_LOG_INFO, fields, "access");
    /* fields built carelessly: raw controls and non-ASCII are still neutralised */
    nb_log_fields(NB_LOG_INFO, "\"path\":\"/\x1b[2J\xc3\xa9\"", "careless");
    nb_log_fields(NB_LOG_INFO, huge, "huge");
    json_t *a = lines();
    assert_int_equal(json_array_size(a), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "method")),
                        "\x1b]0;title\x07\"\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "path")),
                        "/ [2J\xc3\xa9");
    assert_non_null(json_object_get(json_array_get(a, 2), "fields_dropped"));
    json_decref(a);
}

/* However small the room, nb_log_escape never leaves half an escape. */
static void escape_never_cuts_an_escape(void **state)
{
    const char *in = "a\x1b\"\xc3\xa9\xf0\x9f\x8c\xa7\xff\\z";
    for (size_t cap = 1; cap < 48; cap++) {
        char out[64], quoted[80];
        size_t n = nb_log_escape(out, cap, in);
        assert_true(n < cap);
        assert_int_equal(strlen(out), n);
        snprintf(quoted, sizeof(quoted), "[\"%s\"]", out);
        json_t *j = json_loads(quoted, 0, NULL);
        if (!j) fail_msg("cap %zu gave %s", cap, out);
        json_decref(j);
    }
    char out[8];
    assert_int_equal(nb_log_escape(out, sizeof(out), NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hostile_messages_stay_json),
        cmocka_unit_test(long_messages_are_cut_on_a_character),
        cmocka_unit_test(fields_are_sanitised_or_dropped_whole),
        cmocka_unit_test(escape_never_cuts_an_escape),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
