/* bucket.c — token buckets per time window (see bucket.h). */
#include "nimbus/bucket.h"

#include <math.h>

double nb_window_burst(const nb_window *w)
{
    return fmax(1.0, w->limit / 10.0);
}

double nb_window_rate_ms(const nb_window *w)
{
    double burst = nb_window_burst(w);
    double per_window = w->limit - burst > 0 ? w->limit - burst : w->limit;
    return per_window / ((double)w->seconds * 1000.0);
}

/* Tokens of window i at now_ms, from the state b holds. */
static double level(const nb_bucket *b, const nb_window *w, size_t i, int64_t now_ms)
{
    double burst = nb_window_burst(&w[i]);
    if (!b->started) return burst;
    int64_t dt = now_ms > b->at_ms ? now_ms - b->at_ms : 0;
    return fmin(burst, b->tokens[i] + (double)dt * nb_window_rate_ms(&w[i]));
}

double nb_bucket_level(const nb_bucket *b, const nb_window *w, size_t i, int64_t now_ms)
{
    return level(b, w, i, now_ms);
}

nb_take nb_bucket_take(nb_bucket *b, const nb_window *w, size_t n, double cost, int64_t now_ms)
{
    nb_take t = {.granted = true};
    double now_tokens[NB_BUCKET_WINDOWS_MAX];
    if (n > NB_BUCKET_WINDOWS_MAX) n = NB_BUCKET_WINDOWS_MAX;
    for (size_t i = 0; i < n; i++) {
        now_tokens[i] = level(b, w, i, now_ms);
        double need = fmin(cost, nb_window_burst(&w[i]));
        if (now_tokens[i] + 1e-9 < need) {
            int64_t wait = (int64_t)ceil((need - now_tokens[i]) / nb_window_rate_ms(&w[i]));
            if (wait < 1) wait = 1;
            if (!t.granted && wait <= t.retry_after_ms) continue;
            t.granted = false;
            t.retry_after_ms = wait;
            t.window = i;
        }
    }
    for (size_t i = 0; i < n; i++)
        b->tokens[i] = now_tokens[i] - (t.granted ? fmin(cost, nb_window_burst(&w[i])) : 0.0);
    b->at_ms = now_ms;
    b->started = true;
    return t;
}
