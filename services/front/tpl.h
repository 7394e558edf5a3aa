/* tpl.h — a rendered answer kept with holes for what changes with time.
 *
 * front keeps the pages, reports and lines it renders per api answer (ETag)
 * and variant (cache.h). What they say about *now* is never frozen into a
 * kept copy: the renderers write a slot there (fr_out_slot in out.h) and
 * fr_tpl_fill() writes the values when answering — the place's local time,
 * "updated N minutes ago", fresh or stale (data-state, the "updating…" pill,
 * the text report's note), the seconds of max-age left and the
 * stale-while-revalidate window (data-max-age, data-swr), the moon.
 * The rest of a template depends on the place's local date only ("Today",
 * the first forecast day, today's sunrise and UV index): it is valid until
 * the place's next local midnight (valid_until_ms), then rendered again.
 *
 * Ownership: a template is reference counted (fr_tpl_ref / fr_tpl_unref; the
 * creator holds the first reference) and immutable, so any thread may fill
 * it while others hold it. Threads: any. */
#ifndef FRONT_TPL_H
#define FRONT_TPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum fr_slot_kind {
    FR_SLOT_STATE,             /* "fresh" | "stale" (data-state) */
    FR_SLOT_MAX_AGE,           /* seconds of max-age left (data-max-age); -1 unknown */
    FR_SLOT_SWR,               /* stale-while-revalidate seconds (data-swr); -1 unknown */
    FR_SLOT_LOCAL_TIME,        /* the place's wall clock: "Tue 14:05" */
    FR_SLOT_AGO,               /* "just now", "12 minutes ago" (since fetched_at) */
    FR_SLOT_PILL,              /* end of the state pill's tag and its text:
                                  " hidden>" when fresh, ">updating…" when stale */
    FR_SLOT_STALE_HINT,        /* the page's <noscript> hint while stale, else nothing */
    FR_SLOT_TEXT_STALE,        /* " (newer data is on its way — ask again shortly)" */
    FR_SLOT_TEXT_STALE_NARROW, /* " (renewing)" */
    FR_SLOT_MOON,              /* moon phase emoji */
    FR_SLOT_MOON_DAY,          /* whole days since the new moon */
} fr_slot_kind;

typedef struct fr_slot {
    size_t at; /* byte offset in text; slots are in ascending order */
    fr_slot_kind kind;
} fr_slot;

typedef struct fr_tpl {
    atomic_int refs;
    char *text; /* the answer without the slots' values */
    size_t len;
    fr_slot *slots;
    size_t nslots;
    long utc_offset_s;      /* the place's (for FR_SLOT_LOCAL_TIME) */
    int64_t fetched_at_ms;  /* the data's (for FR_SLOT_AGO); INT64_MIN when unknown */
    int64_t valid_until_ms; /* the place's next local midnight after rendering */
    size_t bytes;           /* memory held, for the cache's accounting */
} fr_tpl;

/* What the slots say, at answer time. */
typedef struct fr_fill {
    int64_t now_ms; /* wall clock */
    bool stale;     /* the data is stale (being renewed) */
    long max_age_s; /* seconds of freshness left; -1 unknown */
    long swr_s;     /* stale-while-revalidate; -1 unknown */
} fr_fill;

/* A template of text (taken: malloc'd, freed with the template) and slots
 * (taken); valid until the local midnight after now_ms at utc_offset_s.
 * NULL when out of memory (text and slots freed). */
fr_tpl *fr_tpl_new(char *text, size_t len, fr_slot *slots, size_t nslots, long utc_offset_s,
                   int64_t fetched_at_ms, int64_t now_ms);
fr_tpl *fr_tpl_ref(fr_tpl *t);
void fr_tpl_unref(fr_tpl *t); /* NULL is fine */

/* The answer: the template with every slot's value at f (malloc'd, caller
 * frees), or NULL when out of memory. */
char *fr_tpl_fill(const fr_tpl *t, const fr_fill *f, size_t *len);

/* Days since the new moon at now_ms (0 <= d < 29.53). */
double fr_moon_age_days(int64_t now_ms);

#endif
