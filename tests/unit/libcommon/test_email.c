/* Email address validation: what a subscription accepts, and the reasons
 * given for what it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "nimbus/email.h"

static void accepts_ordinary_addresses(void **state)
{
    const char *ok[] = {"jo@example.org",
                        "Jo.Smith+weather@mail.example.co.uk",
                        "a@b.cd",
                        "x_y-z@sub-domain.example.org",
                        "o'brien@example.ie",
                        "user@123.example.com",
                        "1234567890123456789012345678901234567890123456789012345678901234@ex.org"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *why = NULL;
        if (!nb_email_valid(ok[i], &why)) fail_msg("refused %s: %s", ok[i], why);
    }
}

static void expect_refused(const char *addr, const char *reason_part)
{
    const char *why = NULL;
    if (nb_email_valid(addr, &why)) fail_msg("accepted %s", addr);
    assert_non_null(why);
    if (!strstr(why, reason_part)) fail_msg("%s: reason '%s' lacks '%s'", addr, why, reason_part);
}

static void refuses_with_a_reason(void **state)
{
    expect_refused("", "empty");
    expect_refused("jo.example.org", "no @");
    expect_refused("jo@@example.org", "more than one @");
    expect_refused("@example.org", "nothing before");
    expect_refused("jo@", "nothing after");
    expect_refused("jo@localhost", "needs a dot");
    expect_refused(".jo@example.org", "start or end with a dot");
    expect_refused("jo.@example.org", "start or end with a dot");
    expect_refused("j..o@example.org", "two dots");
    expect_refused("jo smith@example.org", "not allowed");
    expect_refused("\"jo\"@example.org", "not allowed");
    expect_refused("jo@exa_mple.org", "letters, digits, hyphens");
    expect_refused("jo@-example.org", "hyphen");
    expect_refused("jo@example-.org", "hyphen");
    expect_refused("jo@example..org", "empty part");
    expect_refused("jo@example.org.", "empty part");
    expect_refused("jo@[192.0.2.1]", "address literals");
    expect_refused("jo@192.0.2.1", "cannot end in a number");
    expect_refused("jö@example.org", "only ASCII");
    expect_refused("jo@exämple.org", "only ASCII");
}

static void nothing_that_could_break_a_header(void **state)
{
    expect_refused("jo@example.org\r\nBcc: all@example.org", "");
    expect_refused("jo@example.org>", "");
    expect_refused("<jo@example.org", "");
    expect_refused("jo\n@example.org", "");
    expect_refused("jo@example.org\t", "");
}

static void lengths(void **state)
{
    char local65[80], long_label[100], long_total[300];
    memset(local65, 'a', 65);
    strcpy(local65 + 65, "@example.org");
    expect_refused(local65, "longer than 64");
    memset(long_label, 'b', 64);
    strcpy(long_label + 64, ".org");
    char addr[200];
    snprintf(addr, sizeof(addr), "jo@%s", long_label);
    expect_refused(addr, "longer than 63");
    /* 4 labels of 62 + dots: a domain of 251, the whole over 254. */
    strcpy(long_total, "abcdef@");
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(long_total);
        memset(long_total + n, 'c', 62);
        long_total[n + 62] = '\0';
        strcat(long_total, i < 3 ? "." : "");
    }
    strcat(long_total, ".org");
    expect_refused(long_total, "longer than");
}

static void canonical_form_ignores_case(void **state)
{
    char a[NB_EMAIL_MAX + 1], b[NB_EMAIL_MAX + 1];
    nb_email_canonical("Jo.Smith@Example.ORG", a);
    nb_email_canonical("jo.smith@example.org", b);
    assert_string_equal(a, b);
    assert_string_equal(a, "jo.smith@example.org");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_ordinary_addresses),
        cmocka_unit_test(refuses_with_a_reason),
        cmocka_unit_test(nothing_that_could_break_a_header),
        cmocka_unit_test(lengths),
        cmocka_unit_test(canonical_form_ignores_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
