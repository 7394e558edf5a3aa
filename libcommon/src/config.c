/* config.c — settings from defaults, NIMBUS_* environment and --flags. */
#include "nimbus/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "nimbus/log.h"

static void env_name(const char *name, char *out, size_t outlen)
{
    size_t i = 0;
    int n = snprintf(out, outlen, "NIMBUS_");
    for (i = (size_t)n; *name && i + 1 < outlen; name++, i++)
        out[i] = (*name == '-') ? '_' : (char)toupper((unsigned char)*name);
    out[i] = '\0';
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return (*out = true), true;
        if (strcasecmp(v, no[i]) == 0) return (*out = false), true;
    }
    return false;
}

/* Sets one setting from text; prints the reason and returns false if invalid. */
static bool apply(const char *prog, const nb_setting *s, const char *v, const char *origin)
{
    switch (s->type) {
    case NB_SET_STR:
        *(const char **)s->dst = v;
        return true;
    case NB_SET_URL:
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
            fprintf(stderr, "%s: invalid %s '%s' (from %s): must start with http:// or https://\n",
                    prog, s->name, v, origin);
            return false;
        }
        *(const char **)s->dst = v;
        return true;
    case NB_SET_INT: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end) {
            fprintf(stderr, "%s: invalid %s '%s' (from %s): not an integer\n", prog, s->name, v,
                    origin);
            return false;
        }
        if (n < s->min || n > s->max) {
            fprintf(stderr, "%s: invalid %s %ld (from %s): must be between %ld and %ld\n", prog,
                    s->name, n, origin, s->min, s->max);
            return false;
        }
        *(long *)s->dst = n;
        return true;
    }
    case NB_SET_BOOL:
        if (!parse_bool(v, (bool *)s->dst)) {
            fprintf(stderr, "%s: invalid %s '%s' (from %s): use true or false\n", prog, s->name, v,
                    origin);
            return false;
        }
        return true;
    }
    return false;
}

static const char *type_word(nb_setting_type t)
{
    switch (t) {
    case NB_SET_INT:
        return "N";
    case NB_SET_BOOL:
        return "BOOL";
    case NB_SET_URL:
        return "URL";
    default:
        return "TEXT";
    }
}

static void print_help(const nb_setting *table, int n, const char *prog, const char *summary)
{
    printf("Usage: %s [--setting=value ...]\n\n%s\n\nSettings (flag, environment variable, "
           "default):\n",
           prog, summary);
    char env[96];
    for (int i = 0; i < n; i++) {
        const nb_setting *s = &table[i];
        env_name(s->name, env, sizeof(env));
        printf("  --%s=%s\n      env %s, default: %s\n      %s", s->name, type_word(s->type), env,
               s->def ? (*s->def ? s->def : "(empty)") : "(required)", s->help);
        if (s->type == NB_SET_INT) printf(" [%ld..%ld]", s->min, s->max);
        printf("\n");
    }
    printf("  --help\n      print this help and exit\n");
}

static const nb_setting *find(const nb_setting *table, int n, const char *name, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(table[i].name) == len && strncmp(table[i].name, name, len) == 0)
            return &table[i];
    return NULL;
}

nb_err nb_config_load(const nb_setting *table, int n, int argc, char **argv, const char *prog,
                      const char *summary, bool *exit_now)
{
    *exit_now = false;
    for (int i = 0; i < n; i++) {
        const nb_setting *s = &table[i];
        if (s->def && !apply(prog, s, s->def, "default")) return NB_ERR_INVALID;
    }
    char env[96];
    for (int i = 0; i < n; i++) {
        env_name(table[i].name, env, sizeof(env));
        const char *v = getenv(env);
        if (v && !apply(prog, &table[i], v, env)) return NB_ERR_INVALID;
    }
    bool seen_required[128] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(table, n, prog, summary);
            *exit_now = true;
            return NB_OK;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, a);
            return NB_ERR_INVALID;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const nb_setting *s = find(table, n, name, len);
        if (!s) {
            fprintf(stderr, "%s: unknown setting '--%.*s' (see --help)\n", prog, (int)len, name);
            return NB_ERR_INVALID;
        }
        const char *v;
        if (eq) {
            v = eq + 1;
        } else if (s->type == NB_SET_BOOL &&
                   (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)) {
            v = "true";
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            fprintf(stderr, "%s: --%s needs a value\n", prog, s->name);
            return NB_ERR_INVALID;
        }
        if (!apply(prog, s, v, "command line")) return NB_ERR_INVALID;
        if (s - table < 128) seen_required[s - table] = true;
    }
    for (int i = 0; i < n; i++) {
        const nb_setting *s = &table[i];
        if (s->def) continue;
        env_name(s->name, env, sizeof(env));
        if (!getenv(env) && !(i < 128 && seen_required[i])) {
            fprintf(stderr, "%s: missing required setting --%s (or %s)\n", prog, s->name, env);
            return NB_ERR_INVALID;
        }
    }
    return NB_OK;
}

char *nb_config_dump_json(const nb_setting *table, int n)
{
    json_t *o = json_object();
    for (int i = 0; i < n; i++) {
        const nb_setting *s = &table[i];
        bool secret = strstr(s->name, "password") || strstr(s->name, "dsn");
        json_t *v;
        switch (s->type) {
        case NB_SET_INT:
            v = json_integer(*(long *)s->dst);
            break;
        case NB_SET_BOOL:
            v = json_boolean(*(bool *)s->dst);
            break;
        default: {
            const char *str = *(const char **)s->dst;
            const char *scheme = str ? strstr(str, "://") : NULL;
            const char *at = scheme ? strchr(scheme, '@') : NULL;
            if (secret) {
                v = json_string("***");
            } else if (at) { /* scheme://user:password@host... */
                char masked[512];
                snprintf(masked, sizeof(masked), "%.*s***%s", (int)(scheme + 3 - str), str, at);
                v = json_string(masked);
            } else {
                v = str ? json_string(str) : json_null();
            }
        }
        }
        json_object_set_new(o, s->name, v ? v : json_null());
    }
    char *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

void nb_config_log(const nb_setting *table, int n)
{
    char *dump = nb_config_dump_json(table, n);
    size_t len = dump ? strlen(dump) : 0;
    char *fields = dump ? malloc(len + 16) : NULL;
    if (fields) snprintf(fields, len + 16, "\"config\":%s", dump);
    nb_log_fields(NB_LOG_INFO, fields, "starting");
    free(fields);
    free(dump);
}
