/* relay.h — gives the mock brokers addresses that other hosts can reach.
 *
 * The mock brokers listen on loopback only and advertise that address (see
 * wire.h). With --listen, kafka-dev-broker starts this relay: one listening
 * socket per broker; each accepted connection is joined to a new connection to
 * that broker's loopback address, and frames are passed both ways, with the
 * broker addresses in responses replaced by the advertised ones (e.g. the
 * container's service name, "kafka:9092").
 *
 * Threads: kdr_start()/kdr_stop() from one thread (main). The relay runs one
 * accept thread and two threads per connection (one per direction), all
 * stopped and joined by kdr_stop(). */
#ifndef KDB_RELAY_H
#define KDB_RELAY_H

#include "nimbus/err.h"

/* One broker: listen on listen_host:listen_port (port 0 = any free port),
 * forward to target_host:target_port, advertise adv_host:adv_port for node_id
 * (adv_port 0 = the listening port). Strings are borrowed until kdr_start returns. */
typedef struct kdr_route {
    int node_id;
    const char *listen_host;
    int listen_port;
    const char *target_host;
    int target_port;
    const char *adv_host;
    int adv_port;
} kdr_route;

typedef struct kdr_relay kdr_relay;

/* Fills routes[0..n-1] (node ids 1..n) from comma lists: listen ("host:port",
 * one per broker), advertise (the same, or "" to advertise the listen address,
 * refused for a wildcard one) and the mock cluster's bootstraps (targets, in
 * broker id order). The routes borrow from *arena, a copy the caller frees once
 * kdr_start() has returned. NB_ERR_INVALID after printing the reason to stderr. */
nb_err kdr_routes_parse(const char *listen, const char *advertise, const char *bootstraps,
                        kdr_route *routes, int n, char **arena);

/* Binds every route's listening socket and starts serving. On success *out is a
 * relay the caller stops with kdr_stop(). NB_ERR_UNAVAILABLE when an address
 * cannot be bound (logged with the reason). */
nb_err kdr_start(const kdr_route *routes, int n, kdr_relay **out);

/* "host:port,..." of the advertised addresses, in route order. Borrowed, valid
 * until kdr_stop(). */
const char *kdr_advertised(const kdr_relay *r);

/* Closes the listeners and every connection, joins every thread, frees r.
 * NULL is a no-op. */
void kdr_stop(kdr_relay *r);

#endif
