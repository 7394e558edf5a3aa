/* document.h — the api's answer: nimbus's weather document
 * (proto/weather.schema.json) and its HTTP caching headers (Cache-Control,
 * Age, ETag/304, Last-Modified, Cache-Status, X-Cache, X-Source).
 * Thread-safe (pure apart from answering the request). */
#ifndef API_DOCUMENT_H
#define API_DOCUMENT_H

#include "api_config.h"
#include "nimbus/http_server.h"
#include "nimbus/record.h"
#include "nimbus/units.h"

typedef enum answer_kind {
    ANS_HIT,         /* fresh stored data */
    ANS_STALE,       /* stale stored data; renewal runs in the background */
    ANS_MISS,        /* nothing stored: fetched from the upstream for this request */
    ANS_REVALIDATED, /* stale stored data; the request waited for the renewal */
} answer_kind;

typedef struct answer {
    const nb_record *rec;
    const nb_place *place; /* NULL when asked by coordinates */
    int days;              /* days of forecast wanted (1..16) */
    int hours;             /* hourly entries wanted from the current hour (1..384) */
    nb_units units;        /* what the numbers are converted to */
    int64_t now_ms;        /* the instant answered for (0: the clock now) */
    const char *source;    /* "cache", "database" or "upstream" */
    answer_kind kind;
} answer;

#define DOC_VARIANT_MAX 160

/* What, besides the record, shapes the document head: days, hours, units,
 * the place's name and country, and the hour the hourly list starts at (it
 * moves on every hour). Equal variants of one record give equal heads, so a
 * head can be remembered under (key, fetched_at, variant) — see near_cache.h. */
void api_doc_variant(const answer *a, char out[DOC_VARIANT_MAX]);

/* The document without its per-request part (freshness): JSON text lacking
 * its closing brace, which depends only on the record and the variant, so it
 * can be rendered once and remembered. Caller frees. */
char *api_doc_render_head(const api_config *cfg, const answer *a, size_t *len);

/* Answers r: the caching headers, then 304 when If-None-Match matches, or
 * 200 with head (borrowed, from api_doc_render_head for the same answer)
 * completed by freshness. */
void api_doc_respond(nb_req *r, const api_config *cfg, const answer *a, const char *head,
                     size_t head_len);

/* The whole document (caller frees); for tests. */
char *api_doc_render(const api_config *cfg, const answer *a, size_t *len);

#endif
