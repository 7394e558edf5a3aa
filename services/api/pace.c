/* pace.c — token bucket for upstream calls. */
#include "pace.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "nimbus/clock.h"

struct pace {
    pthread_mutex_t lock;
    double tokens, burst, per_ms;
    int64_t last_ms;
};

pace *pace_new(long per_min)
{
    pace *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->burst = fmax(1.0, floor((double)per_min / 10.0));
    p->tokens = p->burst;
    p->per_ms = (double)per_min / 60000.0;
    p->last_ms = nb_mono_ms();
    return p;
}

void pace_free(pace *p)
{
    if (!p) return;
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static void refill(pace *p)
{
    int64_t now = nb_mono_ms();
    p->tokens = fmin(p->burst, p->tokens + (double)(now - p->last_ms) * p->per_ms);
    p->last_ms = now;
}

bool pace_take(pace *p, int *retry_after_s)
{
    pthread_mutex_lock(&p->lock);
    refill(p);
    bool ok = p->tokens >= 1.0;
    if (ok)
        p->tokens -= 1.0;
    else
        *retry_after_s = (int)ceil((1.0 - p->tokens) / p->per_ms / 1000.0);
    pthread_mutex_unlock(&p->lock);
    if (!ok && *retry_after_s < 1) *retry_after_s = 1;
    return ok;
}

double pace_available(pace *p)
{
    pthread_mutex_lock(&p->lock);
    refill(p);
    double t = p->tokens;
    pthread_mutex_unlock(&p->lock);
    return t;
}
