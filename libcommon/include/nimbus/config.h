/* config.h — settings from command-line flags and environment variables.
 *
 * Each daemon declares a static table of nb_setting; nb_config_load() fills the
 * destinations from defaults, then NIMBUS_<NAME> environment variables, then
 * --<name>=<value> / --<name> <value> flags (flags win). Every value is
 * validated; on error it prints a one-line reason naming the setting and
 * returns NB_ERR_INVALID. --help prints every setting, its environment
 * variable and its default. Call once from main(), before threads start.
 * String destinations point into argv/environ or static defaults (borrowed). */
#ifndef NIMBUS_CONFIG_H
#define NIMBUS_CONFIG_H

#include <stdbool.h>

#include "nimbus/err.h"

typedef enum nb_setting_type {
    NB_SET_STR,  /* const char **dst                       */
    NB_SET_INT,  /* long *dst, within [min, max]            */
    NB_SET_BOOL, /* bool *dst: true/false/1/0/yes/no/on/off */
    NB_SET_URL,  /* const char **dst, must be http(s)://... */
} nb_setting_type;

typedef struct nb_setting {
    const char *name; /* flag name, e.g. "redis-url"; env is NIMBUS_REDIS_URL */
    nb_setting_type type;
    void *dst;
    const char *def; /* default as text; NULL = required (STR/URL only) */
    long min, max;   /* for NB_SET_INT */
    const char *help;
} nb_setting;

/* Returns NB_OK, or NB_ERR_INVALID after printing the reason to stderr.
 * Sets *exit_now (with NB_OK) when --help was printed (there is no
 * --version). Programs call it through service.h's nb_service_run(). */
nb_err nb_config_load(const nb_setting *table, int n, int argc, char **argv, const char *prog,
                      const char *summary, bool *exit_now);

/* Renders the effective configuration as one JSON object. Settings whose name
 * contains "password" or "dsn" print as "***", and the user:password part of
 * any URL as "***". Caller frees. */
char *nb_config_dump_json(const nb_setting *table, int n);
/* Logs the effective configuration: one "starting" line with a "config" field. */
void nb_config_log(const nb_setting *table, int n);

#endif
