/* wire.h — the few Kafka protocol frames the relay must rewrite.
 *
 * librdkafka's mock brokers listen on 127.0.0.1:<random port> and advertise
 * exactly that address to clients (in Metadata and FindCoordinator responses),
 * so a client in another network namespace (a container) cannot follow it. The
 * relay (relay.h) forwards frames unchanged except these responses, where each
 * broker's address becomes the advertised one given for its node id:
 *   - Metadata (api key 3) v0..v8 and FindCoordinator (10) v0..v2: the broker
 *     host and port are replaced (the frame changes length);
 *   - ApiVersions (18) v0..v3: the maximum versions of those two APIs are capped
 *     at the last non-flexible layout above, so clients never ask for a layout
 *     the relay does not rewrite.
 * Other frames, and frames these functions cannot parse, pass unchanged.
 *
 * Threads: pure functions, any thread. */
#ifndef KDB_WIRE_H
#define KDB_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "nimbus/buf.h"
#include "nimbus/err.h"

#define KDW_API_METADATA 3
#define KDW_API_FIND_COORDINATOR 10
#define KDW_API_VERSIONS 18
#define KDW_METADATA_MAX_VERSION 8
#define KDW_FIND_COORDINATOR_MAX_VERSION 2

/* An advertised address for one broker node id. */
typedef struct kdw_addr {
    int32_t node_id;
    const char *host; /* borrowed */
    int32_t port;
} kdw_addr;

/* The request header fields a response is matched to (from a request frame's
 * body, i.e. after the 4-byte size). NB_ERR_INVALID when shorter than 8 bytes. */
nb_err kdw_request_header(const uint8_t *body, size_t len, int16_t *api_key, int16_t *api_version,
                          int32_t *correlation_id);

/* The correlation id of a response frame's body. NB_ERR_INVALID when short. */
nb_err kdw_response_correlation(const uint8_t *body, size_t len, int32_t *correlation_id);

/* Rewrites the response body (after the 4-byte size, starting with the
 * correlation id) of a request with api_key/api_version, as described above.
 * Returns NB_OK with the new body in *out (reset first) when it changed
 * something; NB_ERR_NOT_FOUND when the frame is to pass unchanged (other API or
 * version, nothing to change); NB_ERR_INVALID when the frame does not parse;
 * NB_ERR_NOMEM / NB_ERR_TOO_LARGE from *out. */
nb_err kdw_rewrite_response(int16_t api_key, int16_t api_version, const uint8_t *body, size_t len,
                            const kdw_addr *addrs, int naddrs, nb_buf *out);

#endif
