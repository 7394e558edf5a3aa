/* Bounded buffer: adds, the hard cap, HTML escaping, detach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nimbus/buf.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_and_format),
        cmocka_unit_test(cap_is_hard_and_leaves_buffer_unchanged),
        cmocka_unit_test(html_escaping),
        cmocka_unit_test(detach_takes_ownership),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
