/* pace.h — a token bucket pacing upstream calls (N per minute).
 * Thread-safe (one mutex). */
#ifndef API_PACE_H
#define API_PACE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct pace pace;

/* per_min tokens a minute; burst = a tenth of a minute's worth (at least 1). */
pace *pace_new(long per_min);
void pace_free(pace *p);
/* Takes a token if there is one. Otherwise false, with *retry_after_s set to
 * the whole seconds until the next token (>= 1). */
bool pace_take(pace *p, int *retry_after_s);
/* Tokens available now (for /readyz and tests). */
double pace_available(pace *p);

#endif
