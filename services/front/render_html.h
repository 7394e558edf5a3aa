/* render_html.h — server-side HTML for the front's pages.
 *
 * Pure functions: (api weather document or error facts, page facts) → a
 * complete UTF-8 HTML5 document. The pages work without JavaScript; the
 * weather page also carries, in data-* attributes of <main id="wx">, what
 * app.js needs to revalidate (state, max-age, swr, ETag, the JSON URL) —
 * no inline script, so a strict Content-Security-Policy holds.
 * Every string that came from a user or the api is HTML-escaped.
 *
 * Ownership: inputs are borrowed; the result is malloc'd (caller frees) or
 * NULL on allocation failure. Thread-safe. */
#ifndef FRONT_RENDER_HTML_H
#define FRONT_RENDER_HTML_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpl.h"

typedef struct fr_page {
    const char *asset_version; /* goes into /static/...?v=<version> */
    const char *query;         /* the place as asked, pre-fills the search box; may be NULL */
    const char *data_path;     /* path the script revalidates, e.g. "/Berlin" (URL-escaped) */
    const char *etag;          /* the api's ETag or NULL */
    long max_age_s;            /* from the api's Cache-Control; -1 = unknown */
    long swr_s;                /* stale-while-revalidate; -1 = unknown */
    int64_t now_ms;            /* wall clock for local time and ages */
} fr_page;

/* The weather page for one place as a template (tpl.h: local time, "updated
 * … ago", fresh/stale, max-age and stale-while-revalidate are slots; the
 * rest as of the local date at pg->now_ms; pg->max_age_s and pg->swr_s are
 * not read). doc: the api's weather document. NULL when out of memory. */
fr_tpl *fr_html_weather_tpl(const json_t *doc, const fr_page *pg);
/* The page filled at pg->now_ms, stale as the document's freshness says,
 * with pg->max_age_s and pg->swr_s. */
char *fr_html_weather(const json_t *doc, const fr_page *pg, size_t *len);

/* The start page: the search box and a few example places. */
char *fr_html_search(const fr_page *pg, size_t *len);

/* An error page: status line text (e.g. "Place not found"), a sentence saying
 * what happened and what to do. pg->query (may be NULL) is shown escaped. */
char *fr_html_error(const fr_page *pg, int status, const char *title, const char *detail,
                    size_t *len);

/* A page about a subscription (confirm, manage, unsubscribe, and what
 * became of a request): a title, a sentence, the subscription's facts, at
 * most one button (a POST form) and one link. Strings are borrowed; every
 * one is escaped. */
typedef struct fr_notice {
    const char *title;
    const char *lead;
    const json_t *subscription;   /* the api's subscription document, or NULL */
    const char *action;           /* the form's action (path and query), or NULL: no form */
    const char *token;            /* a hidden "token" field of the form, or NULL */
    const char *button;           /* the button's label */
    bool danger;                  /* the button unsubscribes */
    const char *link, *link_text; /* one more link, or NULL */
} fr_notice;

char *fr_html_notice(const fr_page *pg, int status, const fr_notice *n, size_t *len);

#endif
