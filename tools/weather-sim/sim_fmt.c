/* sim_fmt.c — Open-Meteo-style JSON number/string printing. See sim_fmt.h. */
#include "sim_fmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rewrites %g output that came out in exponent form ("2e+02") as plain
 * decimals with the same significant digits ("200"). */
static void plain_decimal(char *s, size_t outlen, double v, int prec)
{
    if (!strchr(s, 'e')) return;
    int exp10 = (int)floor(log10(fabs(v)));
    int decimals = prec - 1 - exp10;
    snprintf(s, outlen, "%.*f", decimals < 0 ? 0 : decimals, v);
}

/* Makes sure text that looks like an integer gets a ".0" (Swift's Float). */
static void ensure_decimal(char *s, size_t outlen)
{
    if (strpbrk(s, ".eEn")) return;
    size_t n = strlen(s);
    if (n + 3 <= outlen) memcpy(s + n, ".0", 3);
}

void ws_fmt_f32_text(float v, char *out, size_t outlen)
{
    if (!isfinite(v)) {
        snprintf(out, outlen, "null");
        return;
    }
    int prec = 1;
    for (; prec <= 9; prec++) {
        snprintf(out, outlen, "%.*g", prec, (double)v);
        if (strtof(out, NULL) == v) break;
    }
    if (v != 0.0f) plain_decimal(out, outlen, (double)v, prec);
    ensure_decimal(out, outlen);
}

nb_err ws_fmt_f32(nb_buf *b, float v)
{
    char tmp[48];
    ws_fmt_f32_text(v, tmp, sizeof(tmp));
    return nb_buf_adds(b, tmp);
}

nb_err ws_fmt_num(nb_buf *b, double v, int decimals)
{
    char tmp[48];
    if (!isfinite(v)) return nb_buf_adds(b, "null");
    double scale = pow(10.0, decimals);
    double r = round(v * scale) / scale;
    if (r == 0.0) r = 0.0; /* no "-0.0" */
    if (decimals <= 0) return nb_buf_addf(b, "%.0f", r);
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, r);
        if (strtod(tmp, NULL) == r) break;
    }
    if (r != 0.0) plain_decimal(tmp, sizeof(tmp), r, prec);
    ensure_decimal(tmp, sizeof(tmp));
    return nb_buf_adds(b, tmp);
}
