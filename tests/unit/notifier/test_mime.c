/* MIME message building: headers, encoded words, quoted-printable, line
 * lengths, 7-bit bodies, the RFC 8058 headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "nimbus/record.h"
#include "nimbus/text.h"

/* --- decoders, for checking ------------------------------------------------ */

static int b64val(char c)
{
    const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(t, c);
    return p && c ? (int)(p - t) : -1;
}

static size_t b64decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        int v = b64val(s[i]);
        assert_true(v >= 0);
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return o;
}

/* Decodes a header value of encoded words (folded); each word must hold
 * valid UTF-8 on its own. */
static void decode_words(const char *v, char *out)
{
    out[0] = '\0';
    const char *p = v;
    while ((p = strstr(p, "=?UTF-8?B?"))) {
        p += 10;
        const char *end = strstr(p, "?=");
        assert_non_null(end);
        char word[256];
        size_t n = b64decode(p, (size_t)(end - p), word);
        assert_true(nb_utf8_valid(word, n));
        strcat(out, word);
        p = end + 2;
    }
}

static char *qp_decode(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    for (const char *p = s; *p;) {
        if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
            p += 3;
        } else if (p[0] == '=') {
            unsigned v;
            assert_int_equal(sscanf(p + 1, "%2X", &v), 1);
            *o++ = (char)v;
            p += 3;
        } else if (p[0] == '\r' && p[1] == '\n') {
            *o++ = '\n';
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* Every line of s (CRLF-separated, no bare CR or LF) at most max chars. */
static void lines_within(const char *s, size_t max)
{
    const char *line = s;
    for (const char *p = s; *p; p++) {
        if (*p == '\n') fail_msg("bare LF at offset %zu", (size_t)(p - s));
        if (*p == '\r') {
            assert_int_equal(p[1], '\n');
            if ((size_t)(p - line) > max)
                fail_msg("line of %zu chars: %.*s", (size_t)(p - line), (int)(p - line), line);
            line = p + 2;
            p++;
        }
    }
    assert_true(strlen(line) <= max);
}

/* --- headers ------------------------------------------------------------ */

static void plain_ascii_subject_is_left_alone(void **state)
{
    nb_buf b;
    nb_buf_init(&b, 4096);
    assert_int_equal(nt_mime_header_text(&b, "Subject", "Berlin: 31.2 C, above 30 C"), NB_OK);
    assert_string_equal(nb_buf_str(&b), "Subject: Berlin: 31.2 C, above 30 C\r\n");
    nb_buf_release(&b);
}

static void non_ascii_subject_becomes_encoded_words(void **state)
{
    const char *subject =
        "São Paulo: 31,2 °C — über 30 °C, 東京 ☀️ and a long tail of words "
        "to fold over several lines ✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓";
    nb_buf b;
    nb_buf_init(&b, 8192);
    assert_int_equal(nt_mime_header_text(&b, "Subject", subject), NB_OK);
    const char *h = nb_buf_str(&b);
    assert_true(strncmp(h, "Subject: =?UTF-8?B?", 19) == 0);
    lines_within(h, 76);
    for (const char *p = h; *p; p++)
        assert_true((unsigned char)*p < 0x80);
    /* every encoded word at most 75 characters */
    for (const char *p = h; (p = strstr(p, "=?UTF-8?B?"));) {
        const char *end = strstr(p, "?=");
        assert_true(end - p + 2 <= 75);
        p = end;
    }
    assert_non_null(strstr(h, "\r\n =?UTF-8?B?")); /* folded */
    char decoded[1024];
    decode_words(h, decoded);
    assert_string_equal(decoded, subject);
    nb_buf_release(&b);
}

static void long_ascii_subject_is_folded_too(void **state)
{
    char subject[300];
    memset(subject, 'x', 200);
    subject[200] = '\0';
    nb_buf b;
    nb_buf_init(&b, 8192);
    assert_int_equal(nt_mime_header_text(&b, "Subject", subject), NB_OK);
    lines_within(nb_buf_str(&b), 76);
    char decoded[1024];
    decode_words(nb_buf_str(&b), decoded);
    assert_string_equal(decoded, subject);
    nb_buf_release(&b);
}

static void no_line_break_reaches_a_header(void **state)
{
    nb_buf b;
    nb_buf_init(&b, 4096);
    assert_int_equal(nt_mime_header_text(&b, "Subject", "Hi\r\nBcc: victim@example.org"), NB_OK);
    const char *h = nb_buf_str(&b);
    assert_string_equal(h, "Subject: HiBcc: victim@example.org\r\n");
    nb_buf_release(&b);
}

/* --- quoted-printable ----------------------------------------------------- */

static void quoted_printable_round_trips_within_76(void **state)
{
    const char *text =
        "Weather alert for São Paulo\n\nThe temperature is 31.2 °C, above your limit of 30 °C = "
        "hot.\n.\n.leading dot\ntrailing space \ntrailing tab\t\nA very long line that goes on "
        "and on and on without any line break at all, well past seventy-six characters, with "
        "ünïcödé in the middle of it and an equals sign = at the end=\n";
    nb_buf b;
    nb_buf_init(&b, 8192);
    assert_int_equal(nt_mime_qp(&b, text), NB_OK);
    const char *q = nb_buf_str(&b);
    lines_within(q, 76);
    for (const char *p = q; *p; p++)
        assert_true((unsigned char)*p < 0x80);
    assert_null(strstr(q, "\r\n.")); /* no line starts with a dot */
    assert_null(strstr(q, " \r\n")); /* no trailing blank */
    assert_null(strstr(q, "\t\r\n"));
    assert_non_null(strstr(q, "=3D"));
    assert_non_null(strstr(q, "S=C3=A3o Paulo"));
    char *back = qp_decode(q);
    assert_string_equal(back, text);
    free(back);
    nb_buf_release(&b);
}

static void escapes_are_never_split(void **state)
{
    /* 74 ASCII then é (=C3=A9): the escape must move whole to the next line. */
    char text[200];
    memset(text, 'a', 74);
    strcpy(text + 74, "é and more");
    nb_buf b;
    nb_buf_init(&b, 4096);
    assert_int_equal(nt_mime_qp(&b, text), NB_OK);
    lines_within(nb_buf_str(&b), 76);
    char *back = qp_decode(nb_buf_str(&b));
    assert_string_equal(back, text);
    free(back);
    nb_buf_release(&b);
}

/* --- the whole message ---------------------------------------------------- */

static nt_mime sample(void)
{
    return (nt_mime){.from_name = "nimbus weather",
                     .from_addr = "weather@nimbus.example",
                     .to = "jo@example.org",
                     .subject = "Zürich: now rain (was clear)",
                     .message_id = "<0b7c2f0e-0000-4000-8000-000000000001@nimbus.example>",
                     .date_ms = 1768478400000LL, /* 2026-01-15T12:00:00Z */
                     .kind = "alert",
                     .list_unsubscribe = "https://weather.example/subscriptions/"
                                         "unsubscribe?token=AbC-_123",
                     .one_click = true,
                     .text = "Weather alert for Zürich\nRain.\n",
                     .html = "<p>Weather alert for <b>Z&uuml;rich</b></p>",
                     .boundary = "0b7c2f0e-0000-4000-8000-000000000001"};
}

/* The unfolded value of header `name` (NULL when absent). */
static const char *header(const char *msg, const char *name, char *out, size_t outlen)
{
    size_t hl = (size_t)(strstr(msg, "\r\n\r\n") - msg) + 2;
    char *head = malloc(hl + 3);
    memcpy(head, "\r\n", 2);
    memcpy(head + 2, msg, hl);
    head[hl + 2] = '\0';
    char pat[64];
    snprintf(pat, sizeof(pat), "\r\n%s:", name);
    char *p = strstr(head, pat);
    if (!p) {
        free(head);
        return NULL;
    }
    p += strlen(pat);
    size_t n = 0;
    while (*p && n + 1 < outlen) {
        if (p[0] == '\r' && p[1] == '\n') {
            if (p[2] != ' ' && p[2] != '\t') break;
            p += 2; /* unfold */
            continue;
        }
        out[n++] = *p++;
    }
    out[n] = '\0';
    free(head);
    size_t skip = strspn(out, " ");
    memmove(out, out + skip, strlen(out + skip) + 1);
    return out;
}

static void message_has_what_a_list_mail_needs(void **state)
{
    nt_mime m = sample();
    size_t len;
    char *msg = nt_mime_build(&m, &len);
    assert_non_null(msg);
    assert_int_equal(strlen(msg), len);
    char v[512];
    assert_string_equal(header(msg, "Date", v, sizeof(v)), "Thu, 15 Jan 2026 12:00:00 +0000");
    assert_string_equal(header(msg, "From", v, sizeof(v)),
                        "\"nimbus weather\" <weather@nimbus.example>");
    assert_string_equal(header(msg, "To", v, sizeof(v)), "<jo@example.org>");
    assert_string_equal(header(msg, "Message-ID", v, sizeof(v)), m.message_id);
    assert_string_equal(header(msg, "MIME-Version", v, sizeof(v)), "1.0");
    assert_string_equal(header(msg, "Auto-Submitted", v, sizeof(v)), "auto-generated");
    assert_string_equal(header(msg, "List-Unsubscribe", v, sizeof(v)),
                        "<https://weather.example/subscriptions/unsubscribe?token=AbC-_123>");
    assert_string_equal(header(msg, "List-Unsubscribe-Post", v, sizeof(v)),
                        "List-Unsubscribe=One-Click");
    assert_non_null(header(msg, "Subject", v, sizeof(v)));
    char decoded[256];
    decode_words(v, decoded);
    assert_string_equal(decoded, "Zürich: now rain (was clear)");
    assert_string_equal(header(msg, "Content-Type", v, sizeof(v)),
                        "multipart/alternative; boundary=\"=_nimbus_"
                        "0b7c2f0e-0000-4000-8000-000000000001\"");
    /* both parts, in order, and the closing boundary */
    const char *plain = strstr(msg, "Content-Type: text/plain; charset=utf-8\r\n"
                                    "Content-Transfer-Encoding: quoted-printable");
    const char *html = strstr(msg, "Content-Type: text/html; charset=utf-8\r\n"
                                   "Content-Transfer-Encoding: quoted-printable");
    assert_non_null(plain);
    assert_non_null(html);
    assert_true(plain < html);
    assert_non_null(strstr(msg, "\r\n--=_nimbus_0b7c2f0e-0000-4000-8000-000000000001--\r\n"));
    assert_non_null(strstr(msg, "Weather alert for Z=C3=BCrich"));
    /* 7-bit, CRLF only, header lines within 998 and body lines within 76 */
    for (const char *p = msg; *p; p++)
        assert_true((unsigned char)*p < 0x80);
    const char *body = strstr(msg, "\r\n\r\n") + 4;
    char *head = strndup(msg, (size_t)(body - msg));
    lines_within(head, 998);
    lines_within(body, 76);
    free(head);
    free(msg);
}

static void confirmation_has_no_unsubscribe_headers(void **state)
{
    nt_mime m = sample();
    m.list_unsubscribe = NULL;
    m.one_click = false;
    m.kind = "confirmation";
    char *msg = nt_mime_build(&m, NULL);
    assert_non_null(msg);
    assert_null(strstr(msg, "List-Unsubscribe"));
    assert_non_null(strstr(msg, "X-Nimbus-Kind: confirmation\r\n"));
    free(msg);
}

static void non_ascii_display_name_is_encoded(void **state)
{
    nt_mime m = sample();
    m.from_name = "Wetter für dich";
    char *msg = nt_mime_build(&m, NULL);
    assert_non_null(msg);
    char v[512], decoded[256];
    header(msg, "From", v, sizeof(v));
    decode_words(v, decoded);
    assert_string_equal(decoded, "Wetter für dich");
    assert_non_null(strstr(v, "<weather@nimbus.example>"));
    free(msg);
}

static void bad_inputs_build_nothing(void **state)
{
    nt_mime m = sample();
    m.to = "jo@example.org\r\nBcc: all@example.org";
    assert_null(nt_mime_build(&m, NULL));
    m = sample();
    m.from_addr = "nobody";
    assert_null(nt_mime_build(&m, NULL));
    m = sample();
    m.list_unsubscribe = "https://x.example/u?t=1>\r\nBcc: x@y.org";
    assert_null(nt_mime_build(&m, NULL));
    m = sample();
    m.boundary = "has space";
    assert_null(nt_mime_build(&m, NULL));
    m = sample();
    m.html = NULL;
    assert_null(nt_mime_build(&m, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_ascii_subject_is_left_alone),
        cmocka_unit_test(non_ascii_subject_becomes_encoded_words),
        cmocka_unit_test(long_ascii_subject_is_folded_too),
        cmocka_unit_test(no_line_break_reaches_a_header),
        cmocka_unit_test(quoted_printable_round_trips_within_76),
        cmocka_unit_test(escapes_are_never_split),
        cmocka_unit_test(message_has_what_a_list_mail_needs),
        cmocka_unit_test(confirmation_has_no_unsubscribe_headers),
        cmocka_unit_test(non_ascii_display_name_is_encoded),
        cmocka_unit_test(bad_inputs_build_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
