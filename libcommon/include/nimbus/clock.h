/* clock.h — time sources and the time formats nimbus speaks. Thread-safe. */
#ifndef NIMBUS_CLOCK_H
#define NIMBUS_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Unix time in milliseconds (wall clock). */
int64_t nb_now_ms(void);
/* Monotonic milliseconds, for deadlines and durations. */
int64_t nb_mono_ms(void);
/* Monotonic seconds as a double, for latency measurements. */
double nb_mono_s(void);

/* The CLOCK_REALTIME instant ms from now, for pthread_cond_timedwait. */
struct timespec;
void nb_timespec_in(int64_t ms, struct timespec *ts);
/* The same on CLOCK_MONOTONIC, for a condition variable made with
 * pthread_condattr_setclock(CLOCK_MONOTONIC) (immune to clock steps). */
void nb_mono_timespec_in(int64_t ms, struct timespec *ts);

/* The instants RFC 3339 can write in UTC: 0000-01-01T00:00:00.000Z to
 * 9999-12-31T23:59:59.999Z, as Unix milliseconds. */
#define NB_TIME_MIN_MS (-62167219200000LL)
#define NB_TIME_MAX_MS 253402300799999LL

/* "2026-11-24T00:05:49.123Z" (out >= 32 bytes; ms within NB_TIME_MIN/MAX_MS). */
void nb_time_rfc3339(int64_t ms, char *out, size_t outlen);
/* Parses RFC 3339 with 'Z' or a numeric offset, optional fraction; false
 * also for an instant outside NB_TIME_MIN/MAX_MS (what could not be written
 * back in UTC). */
bool nb_time_parse_rfc3339(const char *s, int64_t *ms);
/* IMF-fixdate for HTTP headers: "Tue, 24 Nov 2026 00:05:49 GMT" (out >= 32). */
void nb_time_http(int64_t ms, char *out, size_t outlen);

#endif
