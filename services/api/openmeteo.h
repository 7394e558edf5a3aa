/* openmeteo.h — the Open-Meteo wire format: request URLs and answer parsing.
 * Pure functions, no I/O; thread-safe. */
#ifndef API_OPENMETEO_H
#define API_OPENMETEO_H

#include <stddef.h>

#include "nimbus/buf.h"
#include "nimbus/err.h"
#include "nimbus/record.h"

/* Forecast URL for the key's grid point (lat/lon as in the key, never the
 * upstream's snapped cell). timezone: "auto" or "GMT". */
nb_err api_om_forecast_url(nb_buf *out, const char *base, double lat, double lon, int days,
                           const char *timezone);
/* Geocoding URL for a (normalised) place query; count=1. */
nb_err api_om_geocoding_url(nb_buf *out, const char *base, const char *query);

/* What a call to url counts as in Open-Meteo's limits: a forecast asking for
 * more than 10 variables or more than 2 weeks counts as more than one call, in
 * proportion — max(1, variables / 10) × max(1, days / 14), where variables are
 * those of current=, hourly=, daily= and minutely_15= together and days are
 * forecast_days (default 7) + past_days. Anything else (geocoding): 1. */
double api_om_url_cost(const char *url);

/* Parses a 200 forecast answer into a record for key (lat/lon from the key).
 * fetched_at_ms is stamped by the caller. *why names what is wrong. */
nb_err api_om_parse_forecast(const char *body, size_t len, const char *key, int64_t fetched_at_ms,
                             nb_record *out, const char **why);
/* Parses a 200 geocoding answer: NB_OK and *found=false when "results" is
 * absent or empty (Open-Meteo omits it when nothing matches). */
nb_err api_om_parse_geocoding(const char *body, size_t len, nb_place *out, bool *found,
                              const char **why);
/* The "reason" of an Open-Meteo error body ({"error":true,"reason":...}),
 * copied into out; "" if the body is not one. */
void api_om_error_reason(const char *body, size_t len, char *out, size_t outlen);

#endif
