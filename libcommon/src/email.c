/* email.c — email address validation (see email.h). */
#include "nimbus/email.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* RFC 5322 atext: ALPHA / DIGIT / "!#$%&'*+-/=?^_`{|}~" */
static bool is_atext(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static bool fail(const char **why, const char *reason)
{
    if (why) *why = reason;
    return false;
}

static bool local_valid(const char *s, size_t n, const char **why)
{
    if (n == 0) return fail(why, "nothing before the @");
    if (n > 64) return fail(why, "the part before the @ is longer than 64 characters");
    if (s[0] == '.' || s[n - 1] == '.')
        return fail(why, "the part before the @ cannot start or end with a dot");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (s[i + 1] == '.') return fail(why, "two dots in a row before the @");
            continue;
        }
        if (c >= 0x80) return fail(why, "only ASCII addresses are supported");
        if (!is_atext(c)) return fail(why, "a character that is not allowed before the @");
    }
    return true;
}

static bool domain_valid(const char *s, size_t n, const char **why)
{
    if (n == 0) return fail(why, "nothing after the @");
    if (n > 253) return fail(why, "the domain is longer than 253 characters");
    if (s[0] == '[') return fail(why, "address literals like [192.0.2.1] are not accepted");
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            unsigned char c = (unsigned char)s[i];
            if (c >= 0x80) return fail(why, "only ASCII addresses are supported");
            if (!isalnum(c) && c != '-')
                return fail(why, "the domain may only hold letters, digits, hyphens and dots");
            continue;
        }
        size_t len = i - start;
        if (len == 0)
            return fail(why, "the domain has an empty part (two dots, or a dot at an end)");
        if (len > 63) return fail(why, "a part of the domain is longer than 63 characters");
        if (s[start] == '-' || s[i - 1] == '-')
            return fail(why, "a part of the domain starts or ends with a hyphen");
        labels++;
        if (i == n) {
            bool digits = true;
            for (size_t j = start; j < i; j++)
                digits = digits && isdigit((unsigned char)s[j]);
            if (digits) return fail(why, "the domain cannot end in a number");
        }
        start = i + 1;
    }
    if (labels < 2) return fail(why, "the part after @ needs a dot (e.g. example.org)");
    return true;
}

bool nb_email_valid(const char *addr, const char **why)
{
    if (!addr || !*addr) return fail(why, "empty address");
    size_t n = strlen(addr);
    if (n > NB_EMAIL_MAX) return fail(why, "longer than 254 characters");
    const char *at = strrchr(addr, '@');
    if (!at) return fail(why, "no @");
    if (memchr(addr, '@', (size_t)(at - addr))) return fail(why, "more than one @");
    return local_valid(addr, (size_t)(at - addr), why) &&
           domain_valid(at + 1, n - (size_t)(at - addr) - 1, why);
}

void nb_email_canonical(const char *addr, char out[NB_EMAIL_MAX + 1])
{
    snprintf(out, NB_EMAIL_MAX + 1, "%s", addr);
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}
