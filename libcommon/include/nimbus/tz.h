/* tz.h — UTC offsets of IANA time zones ("Europe/Berlin") at any instant,
 * read from the system's tzdata (TZif files under /usr/share/zoneinfo, or
 * $TZDIR when set to an absolute path, as glibc does; read once: the
 * transition table, and its POSIX TZ footer rule for instants past the
 * table, e.g. "CET-1CEST,M3.5.0,M10.5.0/3").
 *
 * Why not localtime_r: glibc takes the zone from the TZ environment variable,
 * which is process-global; setting it while other threads read the
 * environment (libcurl does) is undefined. This reads the files itself.
 *
 * Zones are loaded once per name and kept for the life of the process (a
 * bounded table; the system has about 600 zones). Thread-safe. */
#ifndef NIMBUS_TZ_H
#define NIMBUS_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when name looks like a zone name nimbus would open: 1..64 bytes of
 * [A-Za-z0-9/_+-], no leading '/', no "..". Says nothing about existence. */
bool nb_tz_name_ok(const char *name);

/* The UTC offset (seconds east of Greenwich) of zone name at Unix time t.
 * "GMT" and "UTC" are 0 without a file. False when the zone is unknown or
 * its file is unreadable or malformed (*offset_s untouched). */
bool nb_tz_offset(const char *name, int64_t t, int *offset_s);

/* Parses a POSIX TZ rule string (a TZif footer) and gives its offset at t:
 * exposed for tests. False when the string is not a rule this reads. */
bool nb_tz_posix_offset(const char *rule, int64_t t, int *offset_s);

#endif
