/* sim_tz.h — how Open-Meteo names a UTC offset in timezone_abbreviation.
 * (Offsets themselves come from libcommon's nimbus/tz.h.) Pure, thread-safe. */
#ifndef WS_TZ_H
#define WS_TZ_H

#include <stddef.h>

/* Open-Meteo's abbreviation for an offset: "GMT", "GMT+1", "GMT-3:30". */
void ws_tz_abbrev(int offset_s, char *out, size_t outlen);

#endif
