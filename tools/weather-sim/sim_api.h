/* sim_api.h — the Open-Meteo endpoints of the simulator, rendered to JSON.
 *
 * ws_api_forecast() imitates GET /v1/forecast and ws_api_search() imitates
 * GET /v1/search: parameter validation with Open-Meteo's 400 reasons, field
 * order, float32 grid coordinates, rounding, units, nulls. They know nothing
 * about HTTP servers: query parameters come through a lookup callback and the
 * body goes into the caller's nb_buf. Thread-safe (uses sim_tz's lock). */
#ifndef WS_API_H
#define WS_API_H

#include <stdbool.h>
#include <stdint.h>

#include "nimbus/buf.h"

/* Returns the value of query parameter key (borrowed), or NULL if absent. */
typedef const char *(*ws_param_fn)(void *ctx, const char *key);

typedef struct ws_params {
    ws_param_fn get;
    void *ctx;
} ws_params;

/* Renders the forecast for the simulated time now_s (unix seconds) into out.
 * Returns the HTTP status (200, or 400 with {"reason":...,"error":true}). */
int ws_api_forecast(const ws_params *q, int64_t now_s, nb_buf *out);

/* Renders a geocoding search into out; returns the HTTP status. */
int ws_api_search(const ws_params *q, nb_buf *out);

/* True when the request's timezone is GMT (absent, "GMT" or "UTC"): the
 * invalid_timezone fault spares those requests. */
bool ws_api_timezone_is_gmt(const ws_params *q);

/* Renders {"error":true,"reason":"<reason>"} into out. */
void ws_api_error_body(nb_buf *out, const char *reason);

#endif
