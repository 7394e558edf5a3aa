/* event.c — the notification event of a new observation (see event.h). */
#include "event.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "nimbus/clock.h"
#include "nimbus/json.h"
#include "nimbus/wmo.h"

nb_err ps_event_uuid_v4(char out[KV_UUID_LEN + 1])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (errno != EINTR)
            return NB_ERR_INTERNAL;
    }
    b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
    b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
    snprintf(out, KV_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return NB_OK;
}

bool ps_event_uuid_valid(const char *s)
{
    for (int i = 0; i < KV_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return false;
    }
    return s[KV_UUID_LEN] == '\0';
}

char *ps_event_build(const nb_record *r, const char *name, const char *id, int64_t now_ms,
                     size_t *len)
{
    char now[40], fetched[40];
    const nb_current *c = &r->current;

    nb_time_rfc3339(now_ms, now, sizeof(now));
    nb_time_rfc3339(r->fetched_at_ms, fetched, sizeof(fetched));
    json_t *loc = json_pack("{s:f, s:f, s:s}", "latitude", r->latitude, "longitude", r->longitude,
                            "timezone", r->timezone);
    if (loc && name && *name) json_object_set_new(loc, "name", json_string(name));
    json_t *obs = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:s}", "time", c->time, "temperature",
        nb_json_num(c->temperature), "apparent_temperature", nb_json_num(c->apparent_temperature),
        "relative_humidity", nb_json_num(c->relative_humidity), "wind_speed",
        nb_json_num(c->wind_speed), "weather_code", nb_json_int(c->weather_code), "condition",
        nb_wmo_condition_of(c->weather_code));
    /* "o" steals loc and obs, even when packing fails */
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "id", id, "type",
                            "weather.observation", "time", now, "key", r->key, "location", loc,
                            "observation", obs, "fetched_at", fetched);
    char *out = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(doc);
    if (out) *len = strlen(out);
    return out;
}
