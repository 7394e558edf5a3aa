/* main.c — weather-sim: an offline Open-Meteo (forecast + geocoding) with
 * test controls. main() only wires: its settings and its parts (the control
 * state, the HTTP server) for the one service skeleton (nimbus/service.h). */
#include <stdbool.h>
#include <stdio.h>

#include "nimbus/config.h"
#include "nimbus/log.h"
#include "nimbus/service.h"
#include "sim_control.h"
#include "sim_server.h"

typedef struct sim {
    const char *bind, *log_level;
    long port, drip_ms, oversized, hang_max, conn_timeout;
    ws_ctl ctl;
    ws_server *srv;
} sim;

static nb_err ctl_start(void *ctx)
{
    ws_ctl_init(&((sim *)ctx)->ctl);
    return NB_OK;
}

static void ctl_stop(void *ctx)
{
    ws_ctl_destroy(&((sim *)ctx)->ctl);
}

static nb_err server_start(void *ctx)
{
    sim *s = ctx;
    ws_server_opts opts = {
        .bind = s->bind,
        .port = (int)s->port,
        .drip_interval_ms = s->drip_ms,
        .oversized_bytes = s->oversized,
        .hang_max_s = s->hang_max,
        .connection_timeout_s = s->conn_timeout,
    };
    s->srv = ws_server_start(&opts, &s->ctl);
    if (!s->srv) return NB_ERR_UNAVAILABLE;
    char fields[128];
    snprintf(fields, sizeof(fields), "\"port\":%d,\"bind\":\"%s\"", ws_server_port(s->srv),
             s->bind);
    nb_log_fields(NB_LOG_INFO, fields, "weather-sim listening on http://%s:%d", s->bind,
                  ws_server_port(s->srv));
    return NB_OK;
}

static void server_stop(void *ctx)
{
    ws_server_stop(((sim *)ctx)->srv);
}

int main(int argc, char **argv)
{
    static sim s;
    const nb_setting settings[] = {
        {"bind", NB_SET_STR, &s.bind, "127.0.0.1", 0, 0, "IPv4 address to listen on"},
        {"port", NB_SET_INT, &s.port, "8090", 0, 65535, "TCP port (0 = any free port, logged)"},
        {"log-level", NB_SET_STR, &s.log_level, "info", 0, 0, "debug, info, warn or error"},
        {"drip-interval-ms", NB_SET_INT, &s.drip_ms, "200", 1, 60000,
         "pause before each byte of a 'drip' fault"},
        {"oversized-bytes", NB_SET_INT, &s.oversized, "8388608", 1024, 1L << 30,
         "size of the body of an 'oversized' fault"},
        {"hang-max-s", NB_SET_INT, &s.hang_max, "600", 1, 86400,
         "a 'hang' fault closes the connection after this long at the latest"},
        {"connection-timeout-s", NB_SET_INT, &s.conn_timeout, "120", 1, 3600,
         "idle keep-alive connections are closed after this long"},
    };
    const nb_part parts[] = {
        {"the control state", ctl_start, ctl_stop, &s},
        {"the HTTP server", server_start, server_stop, &s},
    };
    const nb_service svc = {
        .prog = "weather-sim",
        .name = "weather-sim",
        .summary = "Open-Meteo-compatible forecast and geocoding simulator with test controls "
                   "(/_sim/...)",
        .settings = settings,
        .nsettings = (int)(sizeof(settings) / sizeof(settings[0])),
        .parts = parts,
        .nparts = (int)(sizeof(parts) / sizeof(parts[0])),
    };
    return nb_service_run(&svc, argc, argv);
}
