/* main.c — weather-sim: an offline Open-Meteo (forecast + geocoding) with
 * test controls. main() only wires: config -> logging -> time zones ->
 * control state -> HTTP server -> wait for SIGTERM/SIGINT -> stop. */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/config.h"
#include "nimbus/log.h"
#include "sim_control.h"
#include "sim_server.h"

int main(int argc, char **argv)
{
    const char *bind = NULL, *log_level = NULL;
    long port = 0, drip_ms = 0, oversized = 0, hang_max = 0, conn_timeout = 0;
    const nb_setting settings[] = {
        {"bind", NB_SET_STR, &bind, "127.0.0.1", 0, 0, "IPv4 address to listen on"},
        {"port", NB_SET_INT, &port, "8090", 0, 65535, "TCP port (0 = any free port, logged)"},
        {"log-level", NB_SET_STR, &log_level, "info", 0, 0, "debug, info, warn or error"},
        {"drip-interval-ms", NB_SET_INT, &drip_ms, "200", 1, 60000,
         "pause before each byte of a 'drip' fault"},
        {"oversized-bytes", NB_SET_INT, &oversized, "8388608", 1024, 1L << 30,
         "size of the body of an 'oversized' fault"},
        {"hang-max-s", NB_SET_INT, &hang_max, "600", 1, 86400,
         "a 'hang' fault closes the connection after this long at the latest"},
        {"connection-timeout-s", NB_SET_INT, &conn_timeout, "120", 1, 3600,
         "idle keep-alive connections are closed after this long"},
    };
    const int nsettings = (int)(sizeof(settings) / sizeof(settings[0]));
    bool exit_now = false;
    ws_ctl ctl;
    ws_server *srv;
    sigset_t sigs;
    int sig = 0, rc = EXIT_FAILURE;

    if (nb_config_load(settings, nsettings, argc, argv, "weather-sim",
                       "Open-Meteo-compatible forecast and geocoding simulator with test "
                       "controls (/_sim/...)",
                       &exit_now) != NB_OK)
        return 2;
    if (exit_now) return EXIT_SUCCESS;
    if (!nb_log_start("weather-sim", log_level)) return 2;
    nb_config_log(settings, nsettings);
    ws_ctl_init(&ctl);

    /* block the stop signals before MHD starts its threads; sigwait below */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    ws_server_opts opts = {
        .bind = bind,
        .port = (int)port,
        .drip_interval_ms = drip_ms,
        .oversized_bytes = oversized,
        .hang_max_s = hang_max,
        .connection_timeout_s = conn_timeout,
    };
    srv = ws_server_start(&opts, &ctl);
    if (!srv) goto out_ctl;
    {
        char fields[128];
        snprintf(fields, sizeof(fields), "\"port\":%d,\"bind\":\"%s\"", ws_server_port(srv), bind);
        nb_log_fields(NB_LOG_INFO, fields, "weather-sim listening on http://%s:%d", bind,
                      ws_server_port(srv));
    }
    sigwait(&sigs, &sig);
    nb_info("signal %d: stopping", sig);
    ws_server_stop(srv);
    nb_info("stopped");
    rc = EXIT_SUCCESS;
out_ctl:
    ws_ctl_destroy(&ctl);
    return rc;
}
