/* document.h — the api's answer: nimbus's weather document
 * (proto/weather.schema.json) and its HTTP caching headers (Cache-Control,
 * Age, ETag/304, Last-Modified, Cache-Status, X-Cache, X-Source).
 * Thread-safe (pure apart from answering the request). */
#ifndef API_DOCUMENT_H
#define API_DOCUMENT_H

#include "api_config.h"
#include "nimbus/http_server.h"
#include "nimbus/record.h"

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
    const char *source;    /* "cache", "database" or "upstream" */
    answer_kind kind;
} answer;

/* The document without its per-request part (freshness): JSON text lacking
 * its closing brace, which depends only on the record, the days and the
 * place, so it can be rendered once and remembered. Caller frees. */
char *doc_render_head(const api_config *cfg, const answer *a, size_t *len);

/* Answers r: the caching headers, then 304 when If-None-Match matches, or
 * 200 with head (borrowed, from doc_render_head) completed by freshness. */
void doc_respond(nb_req *r, const api_config *cfg, const answer *a, const char *head,
                 size_t head_len);

/* The whole document at now_ms (caller frees); for tests. */
char *doc_render(const api_config *cfg, const answer *a, int64_t now_ms, size_t *len);

#endif
