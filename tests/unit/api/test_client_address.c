/* Who a subscription request speaks for (the per-client cap): the peer, or
 * behind a trusted proxy the nearest untrusted X-Forwarded-For address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "subscriptions.h"

#define TRUSTED "127.0.0.0/8,10.0.0.0/8,::1"

static const char *client(const char *peer, const char *xff)
{
    static char out[64];
    api_sub_client_address(peer, xff, TRUSTED, out, sizeof(out));
    return out;
}

static void an_untrusted_peer_is_the_client(void **state)
{
    assert_string_equal(client("203.0.113.7", NULL), "203.0.113.7");
    /* whatever it claims */
    assert_string_equal(client("203.0.113.7", "198.51.100.1"), "203.0.113.7");
}

static void behind_a_trusted_proxy_the_forwarded_address_counts(void **state)
{
    assert_string_equal(client("127.0.0.1", "198.51.100.1"), "198.51.100.1");
    assert_string_equal(client("::1", "2001:db8::5"), "2001:db8::5");
    /* hops we trust are skipped from the right; a client cannot hide behind
     * an address it prepends itself */
    assert_string_equal(client("10.1.2.3", "6.6.6.6, 198.51.100.1, 10.9.9.9"), "198.51.100.1");
    assert_string_equal(client("127.0.0.1", " 198.51.100.1 ,  127.0.0.2 "), "198.51.100.1");
    /* nothing forwarded: the proxy itself */
    assert_string_equal(client("127.0.0.1", NULL), "127.0.0.1");
    /* every hop trusted: the leftmost */
    assert_string_equal(client("127.0.0.1", "10.0.0.1, 10.0.0.2"), "10.0.0.1");
}

static void garbage_in_the_header_is_not_believed(void **state)
{
    assert_string_equal(client("127.0.0.1", "not-an-address"), "127.0.0.1");
    assert_string_equal(client("127.0.0.1", "198.51.100.1, junk"), "127.0.0.1");
    assert_string_equal(client("127.0.0.1", "junk, 10.0.0.9"), "10.0.0.9");
}

static void networks_are_matched_by_prefix(void **state)
{
    char out[64];
    api_sub_client_address("172.20.0.5", "198.51.100.1", "172.16.0.0/12", out, sizeof(out));
    assert_string_equal(out, "198.51.100.1");
    api_sub_client_address("172.32.0.5", "198.51.100.1", "172.16.0.0/12", out, sizeof(out));
    assert_string_equal(out, "172.32.0.5");
    api_sub_client_address("192.0.2.1", "198.51.100.1", "", out, sizeof(out));
    assert_string_equal(out, "192.0.2.1");
}

/* The header a client sends ahead of what our proxy appends may be long:
 * the walk reads all of it (it kept the first 1 KiB, so a client could
 * push the proxy's entry out and name itself whatever it liked). */
static void a_long_header_does_not_hide_the_last_hop(void **state)
{
    char xff[4096] = "";
    for (int i = 0; i < 200; i++) /* 2.8 KB */
        strcat(xff, "203.0.113.66, ");
    strcat(xff, "198.51.100.7");
    assert_string_equal(client("127.0.0.1", xff), "198.51.100.7");
}

static void ipv6_entries_match_exactly(void **state)
{
    char out[64];
    api_sub_client_address("::1", "2001:db8::7", "127.0.0.0/8,::1", out, sizeof(out));
    assert_string_equal(out, "2001:db8::7");
    api_sub_client_address("0:0::1", "2001:db8::7", "127.0.0.0/8,::1", out, sizeof(out));
    assert_string_equal(out, "2001:db8::7"); /* the same address, written otherwise */
    api_sub_client_address("::2", "2001:db8::7", "127.0.0.0/8,::1", out, sizeof(out));
    assert_string_equal(out, "::2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_untrusted_peer_is_the_client),
        cmocka_unit_test(behind_a_trusted_proxy_the_forwarded_address_counts),
        cmocka_unit_test(garbage_in_the_header_is_not_believed),
        cmocka_unit_test(networks_are_matched_by_prefix),
        cmocka_unit_test(a_long_header_does_not_hide_the_last_hop),
        cmocka_unit_test(ipv6_entries_match_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
