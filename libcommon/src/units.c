/* units.c — metric and imperial units (see units.h). */
#include "nimbus/units.h"

#include <math.h>
#include <string.h>

#define KM_PER_MILE 1.609344 /* exact, by definition of the international mile */
#define MM_PER_INCH 25.4     /* exact */

bool nb_units_parse(const char *s, nb_units *out)
{
    if (!s) return false;
    if (strcmp(s, "metric") == 0) return (*out = NB_UNITS_METRIC), true;
    if (strcmp(s, "imperial") == 0) return (*out = NB_UNITS_IMPERIAL), true;
    return false;
}

const char *nb_units_name(nb_units u)
{
    return u == NB_UNITS_IMPERIAL ? "imperial" : "metric";
}

const char *nb_units_symbol(nb_units u, nb_qty q)
{
    static const char *const sym[2][3] = {{"°C", "km/h", "mm"}, {"°F", "mph", "in"}};
    return sym[u == NB_UNITS_IMPERIAL][q];
}

double nb_c_to_f(double c)
{
    return c * 9.0 / 5.0 + 32.0;
}

double nb_kmh_to_mph(double kmh)
{
    return kmh / KM_PER_MILE;
}

double nb_mm_to_in(double mm)
{
    return mm / MM_PER_INCH;
}

/* v rounded to the given decimals, half away from zero; -0 becomes 0. */
static double round_to(double v, int decimals)
{
    double f = decimals == 1 ? 10.0 : decimals == 2 ? 100.0 : 1000.0;
    double r = round(v * f) / f;
    return r == 0 ? 0.0 : r;
}

double nb_units_convert(nb_units u, nb_qty q, double v)
{
    if (u != NB_UNITS_IMPERIAL || isnan(v)) return v;
    switch (q) {
    case NB_QTY_TEMPERATURE:
        return round_to(nb_c_to_f(v), 1);
    case NB_QTY_SPEED:
        return round_to(nb_kmh_to_mph(v), 1);
    case NB_QTY_PRECIPITATION:
        return round_to(nb_mm_to_in(v), 3);
    }
    return v;
}
