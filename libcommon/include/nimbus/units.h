/* units.h — the two unit systems nimbus answers in, and the conversions from
 * the one stored (metric) record: °C → °F, km/h → mph, mm → inches.
 *
 * Records are always metric (Open-Meteo's °C, km/h, mm); the api converts
 * when it renders a document with units=imperial, and front converts what it
 * shows when the reader asked for °F. Every other quantity (%, °, hPa, UV,
 * WMO codes) is the same in both systems.
 *
 * Converted values are rounded like Open-Meteo rounds them in its own
 * imperial answers (°F and mph 1 decimal, inches 3 decimals), so a document
 * is the same whichever process converts; metric values are returned as they
 * are. NAN stays NAN.
 * Pure functions over static data: thread-safe. */
#ifndef NIMBUS_UNITS_H
#define NIMBUS_UNITS_H

#include <stdbool.h>

typedef enum nb_units { NB_UNITS_METRIC = 0, NB_UNITS_IMPERIAL = 1 } nb_units;

/* The quantities that differ between the systems. */
typedef enum nb_qty { NB_QTY_TEMPERATURE, NB_QTY_SPEED, NB_QTY_PRECIPITATION } nb_qty;

/* "metric" / "imperial" → *out; false for anything else (NULL included). */
bool nb_units_parse(const char *s, nb_units *out);
/* "metric" or "imperial". */
const char *nb_units_name(nb_units u);

/* The unit symbol of q in u: "°C" / "°F", "km/h" / "mph", "mm" / "in". */
const char *nb_units_symbol(nb_units u, nb_qty q);

/* v (metric: °C, km/h or mm) in u, rounded as described above. */
double nb_units_convert(nb_units u, nb_qty q, double v);

/* The unrounded conversions, for callers that round for display. */
double nb_c_to_f(double c);
double nb_kmh_to_mph(double kmh);
double nb_mm_to_in(double mm);

#endif
