/* Bounded buffer: adds, the hard cap, safe text and HTML escaping, detach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nimbus/buf.h"
#include "nimbus/text.h"

static void add_and_format(void **state)
{
    nb_buf b;
    nb_buf_init(&b, 64);
    assert_int_equal(nb_buf_str(&b)[0], '\0');
    assert_int_equal(nb_buf_adds(&b, "abc"), NB_OK);
    assert_int_equal(nb_buf_addf(&b, "-%d-", 42), NB_OK);
    assert_string_equal(nb_buf_str(&b), "abc-42-");
    assert_int_equal(b.len, 7);
    nb_buf_reset(&b);
    assert_string_equal(nb_buf_str(&b), "");
    nb_buf_release(&b);
}

static void cap_is_hard_and_leaves_buffer_unchanged(void **state)
{
    nb_buf b;
    nb_buf_init(&b, 8);
    assert_int_equal(nb_buf_adds(&b, "12345678"), NB_OK);
    assert_int_equal(nb_buf_adds(&b, "9"), NB_ERR_TOO_LARGE);
    assert_int_equal(nb_buf_addf(&b, "%s", "x"), NB_ERR_TOO_LARGE);
    assert_string_equal(nb_buf_str(&b), "12345678");
    nb_buf_release(&b);
}

static void html_escaping(void **state)
{
    nb_buf b;
    nb_buf_init(&b, 256);
    assert_int_equal(nb_buf_add_html(&b, "<script>alert('x') & \"y\"</script>"), NB_OK);
    assert_string_equal(nb_buf_str(&b),
                        "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
    nb_buf_release(&b);
}

/* What a crafted name could smuggle to a terminal or a page, and what a
 * reader sees instead. */
static void safe_text_replaces_controls_and_bidi(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"Berlin", "Berlin"},
        {"S\xc3\xa3o Paulo \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x8c\xa7", /* ã, 東京, 🌧 */
         "S\xc3\xa3o Paulo \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x8c\xa7"},
        {"Evil\x1b[31mTown\r\n\tX\x7f", "Evil?[31mTown???X?"},        /* C0, DEL */
        {"\302\23331mBerlin", "?31mBerlin"},                          /* C1 CSI */
        {"\xc2\x80\xc2\x85\xc2\x9f\xc2\xa0", "???\xc2\xa0"},          /* C1; NBSP stays */
        {"Ber\xe2\x80\xaelin", "Ber?lin"},                            /* U+202E RLO */
        {"\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", "????"}, /* U+202A..D */
        {"\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", "????"}, /* U+2066..9 */
        {"\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "???"},                  /* LRM, RLM, ALM */
        {"\xe2\x80\x8d\xe2\x81\xa5", "\xe2\x80\x8d\xe2\x81\xa5"},     /* ZWJ, U+2065 */
        {"\23331m", "?31m"},                                          /* raw 8-bit CSI */
        {"a\xe2\x80", "a??"},                                         /* cut sequence */
        {"\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80", "?????????"},        /* overlong etc. */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nb_buf b;
        nb_buf_init(&b, 256);
        assert_int_equal(nb_buf_add_safe(&b, cases[i].in), NB_OK);
        assert_string_equal(nb_buf_str(&b), cases[i].out);
        nb_buf_release(&b);
    }
}

static void html_escaping_is_safe_text_too(void **state)
{
    nb_buf b;
    nb_buf_init(&b, 256);
    assert_int_equal(nb_buf_add_html(&b, "<b>\302\233Ber\xe2\x80\xaelin & \xc3\xa9\x01</b>"),
                     NB_OK);
    assert_string_equal(nb_buf_str(&b), "&lt;b&gt;?Ber?lin &amp; \xc3\xa9?&lt;/b&gt;");
    nb_buf_release(&b);
}

static void safe_text_past_the_cap_leaves_the_buffer_unchanged(void **state)
{
    nb_buf b;
    nb_buf_init(&b, 12);
    assert_int_equal(nb_buf_adds(&b, "abc"), NB_OK);
    assert_int_equal(nb_buf_add_safe(&b, "\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b"),
                     NB_ERR_TOO_LARGE);
    assert_string_equal(nb_buf_str(&b), "abc");
    assert_int_equal(nb_buf_add_html(&b, "<<<<"), NB_ERR_TOO_LARGE);
    assert_string_equal(nb_buf_str(&b), "abc");
    assert_int_equal(b.len, 3);
    nb_buf_release(&b);
}

static void utf8_decoding(void **state)
{
    uint32_t cp = 0;
    assert_int_equal(nb_utf8_next("A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(nb_utf8_next("\xe2\x80\xae", 3, &cp), 3);
    assert_int_equal(cp, 0x202e);
    assert_int_equal(nb_utf8_next("\xf0\x9f\x8c\xa7", 4, &cp), 4);
    assert_int_equal(cp, 0x1f327);
    assert_int_equal(nb_utf8_next("\xe2\x80\xae", 2, &cp), 0);     /* not all there */
    assert_int_equal(nb_utf8_next("\xc1\xbf", 2, &cp), 0);         /* overlong */
    assert_int_equal(nb_utf8_next("\xed\xa0\x80", 3, &cp), 0);     /* surrogate */
    assert_int_equal(nb_utf8_next("\xf4\x90\x80\x80", 4, &cp), 0); /* > U+10FFFF */
    assert_int_equal(nb_utf8_next("\x80", 1, &cp), 0);
    assert_true(nb_utf8_valid("S\xc3\xa3o", 4));
    assert_false(nb_utf8_valid("S\xc3", 2));
    assert_true(nb_text_unsafe(0x9b) && nb_text_unsafe(0x202e) && nb_text_unsafe(0x0a));
    assert_false(nb_text_unsafe(0xa0) || nb_text_unsafe(' ') || nb_text_unsafe(0x2065));
}

static void utf8_prefix_cuts_between_characters(void **state)
{
    assert_int_equal(nb_utf8_prefix("Zürich", 100), 7);
    assert_int_equal(nb_utf8_prefix("Zürich", 2), 1); /* not inside the ü */
    assert_int_equal(nb_utf8_prefix("Zürich", 3), 3);
    assert_int_equal(nb_utf8_prefix("\xf0\x9f\x8c\xa7!", 3), 0); /* a 4-byte character */
    assert_int_equal(nb_utf8_prefix("\xf0\x9f\x8c\xa7!", 4), 4);
    assert_int_equal(nb_utf8_prefix("abc", 0), 0);
    assert_int_equal(nb_utf8_prefix("ab\xf6"
                                    "cd",
                                    100),
                     2);                                /* stops before a byte not UTF-8 */
    assert_int_equal(nb_utf8_prefix("ab\xc3", 100), 2); /* or a character cut short */
    char cut[16];
    const char *s = "ääää";
    snprintf(cut, sizeof(cut), "%.*s", (int)nb_utf8_prefix(s, 7), s);
    assert_true(nb_utf8_valid(cut, strlen(cut)));
    assert_string_equal(cut, "äää");
}

static void detach_takes_ownership(void **state)
{
    nb_buf b;
    nb_buf_init(&b, 16);
    size_t len = 99;
    char *empty = nb_buf_detach(&b, &len);
    assert_non_null(empty);
    assert_int_equal(len, 0);
    free(empty);
    nb_buf_adds(&b, "hi");
    char *p = nb_buf_detach(&b, &len);
    assert_string_equal(p, "hi");
    assert_int_equal(len, 2);
    assert_null(b.data);
    free(p);
}

static void json_strings_keep_utf8_and_escape_the_rest(void **state)
{
    nb_buf b;
    (void)state;
    nb_buf_init(&b, 1024);
    assert_int_equal(nb_buf_add_json_str(&b, "a\"b\\c\nZürich\x01\x7f\xff°"), NB_OK);
    assert_string_equal(nb_buf_str(&b), "\"a\\\"b\\\\c\\nZürich\\u0001\\u007f\\ufffd°\"");
    nb_buf_reset(&b);
    assert_int_equal(nb_buf_add_json_str(&b, NULL), NB_OK);
    assert_string_equal(nb_buf_str(&b), "\"\"");
    nb_buf_release(&b);

    nb_buf_init(&b, 8); /* all or nothing past the cap */
    assert_int_equal(nb_buf_adds(&b, "x"), NB_OK);
    assert_int_equal(nb_buf_add_json_str(&b, "abcdef\n"), NB_ERR_TOO_LARGE);
    assert_string_equal(nb_buf_str(&b), "x");
    nb_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_and_format),
        cmocka_unit_test(cap_is_hard_and_leaves_buffer_unchanged),
        cmocka_unit_test(html_escaping),
        cmocka_unit_test(safe_text_replaces_controls_and_bidi),
        cmocka_unit_test(html_escaping_is_safe_text_too),
        cmocka_unit_test(safe_text_past_the_cap_leaves_the_buffer_unchanged),
        cmocka_unit_test(utf8_decoding),
        cmocka_unit_test(utf8_prefix_cuts_between_characters),
        cmocka_unit_test(json_strings_keep_utf8_and_escape_the_rest),
        cmocka_unit_test(detach_takes_ownership),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
