/* backoff.c — jittered exponential backoff (see backoff.h). */
#include "nimbus/backoff.h"

#include <stdbool.h>
#include <sys/random.h>

#include "nimbus/clock.h"

uint64_t nb_random_u64(void)
{
    static _Thread_local uint64_t s[2];
    static _Thread_local bool seeded;
    if (!seeded) {
        if (getrandom(s, sizeof(s), 0) != sizeof(s)) {
            s[0] = (uint64_t)nb_mono_ms() ^ (uint64_t)(uintptr_t)&seeded;
            s[1] = (uint64_t)nb_now_ms() * 0x9e3779b97f4a7c15ULL;
        }
        if (!s[0] && !s[1]) s[1] = 1;
        seeded = true;
    }
    uint64_t x = s[0], y = s[1]; /* xorshift128+ */
    s[0] = y;
    x ^= x << 23;
    s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return s[1] + y;
}

long nb_backoff_ms(int attempt, long base_ms, long cap_ms)
{
    if (base_ms < 1) base_ms = 1;
    if (cap_ms < base_ms) cap_ms = base_ms;
    long step = base_ms;
    for (int i = 0; i < attempt && step < cap_ms; i++)
        step *= 2;
    if (step > cap_ms) step = cap_ms;
    return step / 2 + (long)(nb_random_u64() % (uint64_t)step);
}
