/* fuzz_api_subscription — the api's reading of the subscription routes
 * (services/api/sub_request.c, subscriptions.c): fields ?token=, the peer
 * address, X-Forwarded-For and the body (see fz_fields; the body runs to the
 * end of the input). The body is read as a POST /v1/subscriptions and as a
 * token route's; the client a request speaks for is worked out from peer
 * and X-Forwarded-For behind the default trusted proxies. An accepted
 * request names a valid address, a normalised place name or a valid key,
 * and rules within their ranges; a token is base64url; the client is the
 * peer or an address from X-Forwarded-For; refusals say why in UTF-8. */
#include <arpa/inet.h>

#include "fuzz.h"
#include "nimbus/text.h"
#include "sub_request.h"
#include "subscriptions.h"

static bool is_ip(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* The rightmost entry of a comma-separated list, trimmed of spaces and tabs. */
static bool last_entry(const char *list, char *out, size_t outlen)
{
    const char *comma = strrchr(list, ',');
    const char *a = comma ? comma + 1 : list, *b = list + strlen(list);
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    if ((size_t)(b - a) >= outlen) return false;
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = '\0';
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *f[4];
    char *store = fz_fields(data, size, f, 4);
    const char *body = f[3] ? f[3] : "";
    size_t blen = f[3] ? size - (size_t)(body - store) : 0;

    sub_request q;
    char why[256] = "";
    if (api_sub_request_parse(body, blen, &q, why, sizeof(why)) == NB_OK) {
        FZ_CHECK(nb_email_valid(q.email, NULL));
        FZ_CHECK(q.rules.n >= 1 && q.rules.n <= NB_RULES_MAX);
        if (q.by_name) {
            char again[NB_QUERY_MAX + 1];
            const char *reason;
            FZ_CHECK(nb_geo_normalise(q.city, again, &reason) == NB_OK);
            FZ_CHECK(strcmp(again, q.city) == 0);
            FZ_CHECK(nb_utf8_valid(q.city_given, strlen(q.city_given)));
        } else {
            double lat, lon;
            char name[SUB_NAME_MAX + 1];
            FZ_CHECK(nb_location_key_valid(q.key, &lat, &lon));
            snprintf(name, sizeof(name), "%.2f, %.2f", lat, lon);
            FZ_CHECK(strcmp(name, q.name) == 0);
        }
    } else {
        FZ_CHECK(why[0]);
        if (!nb_utf8_valid(why, strlen(why))) FZ_FAIL("reason is not UTF-8: %s", why);
    }

    char token[SUB_TOKEN_MAX + 1];
    if (api_sub_token_read(f[0], body, blen, token)) {
        size_t n = strlen(token);
        FZ_CHECK(n >= 16 && n <= SUB_TOKEN_MAX);
        FZ_CHECK(
            strspn(token, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n);
    }

    char client[64];
    api_sub_client_address(f[1], f[2], "127.0.0.0/8,::1", client, sizeof(client));
    /* The peer (as much as fits: real ones are at most 45 characters), or an
     * address from X-Forwarded-For. */
    if (f[1] && strncmp(client, f[1], sizeof(client) - 1) != 0)
        FZ_CHECK(f[2] && is_ip(client) && strstr(f[2], client));
    if (!f[1]) FZ_CHECK(client[0] == '\0');
    /* Behind our proxy, the last hop it appended — the rightmost entry — is
     * who it saw; when that is no proxy of ours, it is the client, however
     * long the header the client sent ahead of it. */
    struct in_addr a;
    char last[64];
    if (f[1] && f[2] && strcmp(f[1], "127.0.0.1") == 0 && last_entry(f[2], last, sizeof(last)) &&
        inet_pton(AF_INET, last, &a) == 1 && (ntohl(a.s_addr) >> 24) != 127 &&
        strcmp(client, last) != 0)
        FZ_FAIL("client %s, but the last hop is %s", client, last);
    free(store);
    return 0;
}
