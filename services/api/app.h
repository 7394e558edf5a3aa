/* app.h — the api service assembled from its clients: the coalescing table,
 * the fetch pool, the writer, the near-cache, the weather flows, the subscription
 * routes (which resolve places with the weather flows' place step), the
 * outbox relay and the HTTP server, started together and stopped in reverse order within a
 * bounded time.
 *
 * main() makes the real clients (persistence over HTTP, Open-Meteo, Kafka) and
 * hands them over; the unit tests hand over in-memory doubles and drive the
 * same service through a real server on a free port.
 *
 * Shutdown (api_app_stop), each step bounded; total about grace-ms + 1 s +
 * write-flush-ms (6.5 s by default), inside a container's 10 s:
 *   1. the relay claims no more and flushes, in parallel with what follows,
 *      for kafka-flush-ms; then it acks what was delivered and releases the
 *      rest (each call at most 1 s) — unsent events stay in the outbox;
 *   2. fetches not started are dropped: their waiters get 503;
 *   3. the server stops (nb_server_stop): new requests 503 + Connection:
 *      close, in-flight ones answered within grace-ms; running fetches get
 *      the same time and are then cancelled (within a second);
 *   4. waiters still attached (weather and subscription requests) are
 *      answered; the workers finish;
 *   5. writes flush for write-flush-ms (the rest is logged as lost: not
 *      stored, so no event either — the next request fetches again).
 * Threads: one owner calls these, in order. */
#ifndef API_APP_H
#define API_APP_H

#include "api_config.h"
#include "broker.h"
#include "budget.h"
#include "nimbus/err.h"
#include "nimbus/http_server.h"
#include "store.h"
#include "upstream.h"

typedef struct app app;

/* The clients; borrowed, they must outlive the app. */
typedef struct app_clients {
    store *st;
    upstream *up;
    broker *br;  /* NULL: no Kafka configured (events wait in the outbox) */
    budget *bud; /* the upstream budget the client spends (for /readyz); may be NULL */
} app_clients;

/* cfg is borrowed and must outlive the app. NULL (logged) on failure. */
app *api_app_new(const api_config *cfg, const app_clients *c);
/* Starts serving on cfg->bind:cfg->port (0: any free port, see api_app_port). */
nb_err api_app_start(app *a);
int api_app_port(const app *a);
nb_server *api_app_server(app *a);
/* The bounded shutdown above. Idempotent. */
void api_app_stop(app *a);
/* Stops if needed and frees. */
void api_app_free(app *a);

#endif
