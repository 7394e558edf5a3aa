/* fuzz_email — the one check of an email address (libcommon email.c:
 * nb_email_valid, nb_email_canonical), which the api, persistence and the
 * notifier apply to what people type. An accepted address is short, plain
 * printable ASCII with one @, nothing that could break a header or an SMTP
 * command; its canonical form is accepted too and is a fixed point; every
 * refusal says why. */
#include "fuzz.h"
#include "nimbus/email.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fz_string(data, size);
    const char *why = NULL;
    if (nb_email_valid(s, &why)) {
        size_t n = strlen(s);
        FZ_CHECK(n >= 3 && n <= NB_EMAIL_MAX);
        const char *at = strchr(s, '@');
        FZ_CHECK(at && at > s && strchr(at + 1, '@') == NULL && strchr(at, '.'));
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            FZ_CHECK(c > 0x20 && c < 0x7f);
            FZ_CHECK(c != '<' && c != '>' && c != '"' && c != '(' && c != ')' && c != ',' &&
                     c != ';' && c != ':' && c != '\\' && c != '[' && c != ']');
        }
        char canon[NB_EMAIL_MAX + 1], again[NB_EMAIL_MAX + 1];
        nb_email_canonical(s, canon);
        FZ_CHECK(strlen(canon) == n);
        FZ_CHECK(nb_email_valid(canon, NULL));
        nb_email_canonical(canon, again);
        FZ_CHECK(strcmp(canon, again) == 0);
    } else {
        FZ_CHECK(why && why[0]);
    }
    free(s);
    return 0;
}
