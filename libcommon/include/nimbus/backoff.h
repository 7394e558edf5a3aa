/* backoff.h — how long to wait before retry number `attempt` (0-based):
 * exponential from base_ms, capped at cap_ms, with "equal jitter" (uniformly
 * between half and one and a half times the step) so that many clients that
 * failed together do not retry together. Thread-safe (thread-local random
 * state seeded from getrandom). */
#ifndef NIMBUS_BACKOFF_H
#define NIMBUS_BACKOFF_H

#include <stdint.h>

/* min(base_ms << attempt, cap_ms) × [0.5, 1.5). attempt < 0 counts as 0. */
long nb_backoff_ms(int attempt, long base_ms, long cap_ms);
/* A uniformly random 64-bit number (not for secrets). */
uint64_t nb_random_u64(void);

#endif
