/* store_http.h — the store backend that speaks persistence's HTTP interface
 * (proto/: records, geocode, outbox). Blocking calls through libcommon's
 * HTTP client (one curl handle per thread); thread-safe. */
#ifndef API_STORE_HTTP_H
#define API_STORE_HTTP_H

#include "api_config.h"
#include "store.h"

/* cfg is borrowed and must outlive the store. NULL on no memory. */
store *api_store_http_new(const api_config *cfg);

#endif
