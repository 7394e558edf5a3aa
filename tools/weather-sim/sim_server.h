/* sim_server.h — the simulator's HTTP front: libmicrohttpd, one thread per
 * connection (so hangs and slow drips block only their own connection),
 * routing to the Open-Meteo endpoints, the /_sim control API and the faults.
 *
 * The server borrows the ws_ctl (which must outlive it). ws_server_stop()
 * raises the ctl's stop flag first, so hanging and dripping connections end
 * at once, then stops the daemon and joins its threads.
 * start/stop: main thread only; the handlers run on MHD's threads. */
#ifndef WS_SERVER_H
#define WS_SERVER_H

#include "nimbus/err.h"
#include "sim_control.h"

typedef struct ws_server_opts {
    const char *bind;          /* IPv4 address, e.g. "127.0.0.1" */
    int port;                  /* 0 = any free port */
    long drip_interval_ms;     /* pause before each byte of a drip */
    long oversized_bytes;      /* size of an oversized body */
    long hang_max_s;           /* a hang gives up after this long */
    long connection_timeout_s; /* idle keep-alive connections close after this */
} ws_server_opts;

typedef struct ws_server ws_server;

/* Starts listening. Returns NULL (and logs why) on failure. opts is copied. */
ws_server *ws_server_start(const ws_server_opts *opts, ws_ctl *ctl);
/* The port actually bound (useful with port 0). */
int ws_server_port(const ws_server *s);
/* Stops, joins every connection thread and frees s. */
void ws_server_stop(ws_server *s);

#endif
