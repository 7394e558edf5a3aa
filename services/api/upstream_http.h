/* upstream_http.h — the Open-Meteo client: every attempt first takes its cost
 * from the upstream budget (budget.h, shared by every replica), bounded
 * retries with jitter on 5xx and timeouts (never on 4xx), a response size
 * cap, and the "Invalid timezone" fallback from timezone=auto to GMT. Each
 * calling thread uses its own curl handle (http_client.h). */
#ifndef API_UPSTREAM_HTTP_H
#define API_UPSTREAM_HTTP_H

#include "api_config.h"
#include "budget.h"
#include "upstream.h"

/* cfg and b are borrowed and must outlive the client. NULL on no memory. */
upstream *api_upstream_http_new(const api_config *cfg, budget *b);

#endif
