/* tpl.c — rendered answers with slots for what changes with time (see tpl.h). */
#include "tpl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wxfmt.h"

#define SYNODIC_DAYS 29.530588853
#define NEW_MOON_2000 947182440 /* 2000-01-06T18:14Z, a new moon */
#define DAY_MS 86400000LL

double fr_moon_age_days(int64_t now_ms)
{
    double age = fmod((double)(now_ms / 1000 - NEW_MOON_2000) / 86400.0, SYNODIC_DAYS);
    return age < 0 ? age + SYNODIC_DAYS : age;
}

/* The first local midnight after now_ms at a fixed UTC offset, in UTC ms. */
static int64_t next_local_midnight(int64_t now_ms, long utc_offset_s)
{
    int64_t local = now_ms + (int64_t)utc_offset_s * 1000;
    int64_t day = local / DAY_MS - (local % DAY_MS < 0);
    return (day + 1) * DAY_MS - (int64_t)utc_offset_s * 1000;
}

fr_tpl *fr_tpl_new(char *text, size_t len, fr_slot *slots, size_t nslots, long utc_offset_s,
                   int64_t fetched_at_ms, int64_t now_ms)
{
    fr_tpl *t = malloc(sizeof(*t));
    if (!t) {
        free(text);
        free(slots);
        return NULL;
    }
    atomic_init(&t->refs, 1);
    t->text = text;
    t->len = len;
    t->slots = slots;
    t->nslots = nslots;
    t->utc_offset_s = utc_offset_s;
    t->fetched_at_ms = fetched_at_ms;
    t->valid_until_ms = next_local_midnight(now_ms, utc_offset_s);
    t->bytes = sizeof(*t) + len + 1 + nslots * sizeof(fr_slot);
    return t;
}

fr_tpl *fr_tpl_ref(fr_tpl *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void fr_tpl_unref(fr_tpl *t)
{
    if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1) return;
    free(t->text);
    free(t->slots);
    free(t);
}

/* The value of one slot into out (>= 96 bytes); returns its length. */
static size_t slot_value(const fr_tpl *t, fr_slot_kind k, const fr_fill *f, char *out, size_t cap)
{
    static const char *const phases[] = {"🌑", "🌒", "🌓", "🌔", "🌕", "🌖", "🌗", "🌘"};
    const char *s = "";
    switch (k) {
    case FR_SLOT_STATE:
        s = f->stale ? "stale" : "fresh";
        break;
    case FR_SLOT_MAX_AGE:
        return (size_t)snprintf(out, cap, "%ld", f->max_age_s);
    case FR_SLOT_SWR:
        return (size_t)snprintf(out, cap, "%ld", f->swr_s);
    case FR_SLOT_LOCAL_TIME:
        fr_wx_local_time(f->now_ms, t->utc_offset_s, out, cap);
        return strlen(out);
    case FR_SLOT_AGO: {
        int64_t age = t->fetched_at_ms == INT64_MIN ? 0 : (f->now_ms - t->fetched_at_ms) / 1000;
        fr_wx_ago(age < 0 ? 0 : age, out, cap);
        return strlen(out);
    }
    case FR_SLOT_PILL:
        s = f->stale ? ">updating…" : " hidden>";
        break;
    case FR_SLOT_STALE_HINT:
        s = f->stale ? "<noscript><p class=\"hint\">Newer data is being fetched — reload the page "
                       "in a moment to see it.</p></noscript>\n"
                     : "";
        break;
    case FR_SLOT_TEXT_STALE:
        s = f->stale ? " (newer data is on its way — ask again shortly)" : "";
        break;
    case FR_SLOT_TEXT_STALE_NARROW:
        s = f->stale ? " (renewing)" : "";
        break;
    case FR_SLOT_MOON:
        s = phases[(int)floor(fr_moon_age_days(f->now_ms) / SYNODIC_DAYS * 8 + 0.5) % 8];
        break;
    case FR_SLOT_MOON_DAY:
        return (size_t)snprintf(out, cap, "%d", (int)fr_moon_age_days(f->now_ms));
    }
    size_t n = strlen(s);
    if (n >= cap) n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
}

char *fr_tpl_fill(const fr_tpl *t, const fr_fill *f, size_t *len)
{
    enum { VALUE_MAX = 160 };
    char *out = malloc(t->len + t->nslots * VALUE_MAX + 1), *p = out;
    size_t from = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < t->nslots; i++) {
        memcpy(p, t->text + from, t->slots[i].at - from);
        p += t->slots[i].at - from;
        p += slot_value(t, t->slots[i].kind, f, p, VALUE_MAX);
        from = t->slots[i].at;
    }
    memcpy(p, t->text + from, t->len - from);
    p += t->len - from;
    *p = '\0';
    if (len) *len = (size_t)(p - out);
    return out;
}
