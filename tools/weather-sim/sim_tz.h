/* sim_tz.h — UTC offsets of IANA time zones at a given instant (system tzdata).
 *
 * glibc only exposes zone rules through the TZ environment variable, which is
 * process-global, so lookups are serialised by one mutex around
 * setenv/tzset/localtime_r. Call ws_tz_init() once from main() before threads
 * start (it pins TZ so later setenv calls only replace the value).
 * Thread-safe after ws_tz_init(). */
#ifndef WS_TZ_H
#define WS_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void ws_tz_init(void);
/* True when name is a zone the system knows ("GMT", "UTC", "Europe/Berlin"). */
bool ws_tz_valid(const char *name);
/* UTC offset in seconds of zone `name` at unix time t; false if unknown. */
bool ws_tz_offset(const char *name, int64_t t, int *offset_s);
/* Open-Meteo's abbreviation for an offset: "GMT", "GMT+1", "GMT-3:30". */
void ws_tz_abbrev(int offset_s, char *out, size_t outlen);

#endif
