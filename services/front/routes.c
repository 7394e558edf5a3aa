/* routes.c — front's routes: content negotiation, the cache of the api's
 * answers, rendering (see routes.h). */
#define _GNU_SOURCE /* strcasestr, asprintf */
#include "routes.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assets.h"
#include "nimbus/cache_control.h"
#include "nimbus/clock.h"
#include "nimbus/etag.h"
#include "nimbus/http_client.h"
#include "nimbus/log.h"
#include "render_html.h"
#include "render_line.h"
#include "render_text.h"
#include "subscribe.h"
#include "view.h"

#define CSP                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
#define HTML_TYPE "text/html; charset=utf-8"
/* The reader's units for pages asked without any: a year, this site only. */
#define UNITS_COOKIE(v) "units=" v "; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly"
#define TEXT_TYPE "text/plain; charset=utf-8"

/* --- coordinates --------------------------------------------------------- */

/* One decimal number: -?digits(.digits)? ; returns the end or NULL. */
static const char *scan_decimal(const char *p)
{
    if (*p == '-' || *p == '+') p++;
    if (!isdigit((unsigned char)*p)) return NULL;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return p;
}

bool fr_parse_coords(const char *s, char lat[32], char lon[32])
{
    const char *a = s, *ae = scan_decimal(a);
    if (!ae || *ae != ',' || ae - a >= 32) return false;
    const char *b = ae + 1;
    while (*b == ' ')
        b++;
    const char *be = scan_decimal(b);
    if (!be || *be != '\0' || be - b >= 32) return false;
    memcpy(lat, a, (size_t)(ae - a));
    lat[ae - a] = '\0';
    memcpy(lon, b, (size_t)(be - b));
    lon[be - b] = '\0';
    return true;
}

/* --- which place -------------------------------------------------------- */

void fr_place_parse(const char *tail, const char *city, const char *lat, const char *lon,
                    fr_place *p)
{
    const char *place = *tail ? tail : city;
    memset(p, 0, sizeof(*p));

    /* "/Berlin/" is "/Berlin". Longer names are refused below anyway. */
    size_t tl = strlen(tail);
    if (tl > 1 && tl < sizeof(p->trimmed) && tail[tl - 1] == '/') {
        memcpy(p->trimmed, tail, tl);
        while (tl > 0 && p->trimmed[tl - 1] == '/')
            tl--;
        p->trimmed[tl] = '\0';
        place = p->trimmed;
    }
    /* Browsers ask for these on their own; they are not places. */
    if (strcmp(tail, "favicon.ico") == 0 || strcmp(tail, "robots.txt") == 0 ||
        strncmp(tail, "apple-touch-icon", 16) == 0) {
        p->kind = FR_PLACE_IGNORED;
        return;
    }
    p->shown = place && *place ? place : NULL; /* pre-fills the search box */
    if (place && fr_parse_coords(place, p->lat, p->lon)) {
        p->kind = FR_PLACE_COORDS;
    } else if (!place && lat && lon) {
        if (strlen(lat) >= sizeof(p->lat) || strlen(lon) >= sizeof(p->lon)) {
            p->kind = FR_PLACE_BAD;
            p->reason = "Coordinates are at most 31 characters each.";
            return;
        }
        memcpy(p->lat, lat, strlen(lat) + 1);
        memcpy(p->lon, lon, strlen(lon) + 1);
        p->kind = FR_PLACE_COORDS;
    } else if (place && *place) {
        if (strlen(place) > FR_PLACE_MAX) {
            p->kind = FR_PLACE_BAD;
            p->reason = "Place names are at most 200 bytes long.";
            return;
        }
        p->kind = FR_PLACE_NAME;
        p->name = place;
    }
}

char *fr_place_path(const fr_place *p)
{
    char *path = NULL;
    if (p->kind == FR_PLACE_COORDS) {
        path = malloc(strlen(p->lat) + strlen(p->lon) + 3);
        if (path) sprintf(path, "/%s,%s", p->lat, p->lon);
    } else if (p->kind == FR_PLACE_NAME) {
        char *e = nb_url_escape(p->name);
        if (e && (path = malloc(strlen(e) + 2))) sprintf(path, "/%s", e);
        free(e);
    }
    return path;
}

/* --- answering helpers --------------------------------------------------- */

static void security_headers(nb_req *r)
{
    nb_req_add_header(r, "Content-Security-Policy", CSP);
    nb_req_add_header(r, "X-Content-Type-Options", "nosniff");
    nb_req_add_header(r, "Referrer-Policy", "no-referrer");
    nb_req_add_header(r, "X-Frame-Options", "DENY");
}

static void respond_page(nb_req *r, int status, fr_format fmt, char *body, size_t len)
{
    if (!body) {
        nb_respond_error(r, NB_ERR_NOMEM, "could not render the page");
        return;
    }
    nb_req_add_header(r, "Vary", "Accept, User-Agent, Cookie");
    nb_req_add_header(r, "Cache-Control", "no-cache");
    if (fmt == FR_FMT_HTML)
        security_headers(r);
    else
        nb_req_add_header(r, "X-Content-Type-Options", "nosniff");
    nb_respond_take(r, status, fmt == FR_FMT_HTML ? HTML_TYPE : TEXT_TYPE, body, len);
}

void fr_respond_html(nb_req *r, int status, char *body, size_t len, const char *cache_control)
{
    if (!body) {
        nb_respond_error(r, NB_ERR_NOMEM, "could not render the page");
        return;
    }
    nb_req_add_header(r, "Cache-Control", cache_control);
    security_headers(r);
    nb_respond_take(r, status, HTML_TYPE, body, len);
}

/* An error for a human (HTML or text) or a script (JSON error body). */
/* An error page, JSON body or text for a failure: its status is err.h's one
 * mapping of code (nb_err_http_status). */
static void respond_problem(nb_req *r, fr_format fmt, const fr_page *pg, nb_err code,
                            const char *title, const char *detail)
{
    size_t len = 0;
    int status = nb_err_http_status(code);
    if (fmt == FR_FMT_JSON) {
        nb_req_add_header(r, "Vary", "Accept, User-Agent");
        nb_respond_error(r, code, "%s", detail);
        return;
    }
    char *body = fmt == FR_FMT_HTML ? fr_html_error(pg, status, title, detail, &len)
                                    : fr_text_error(title, detail, pg->query, &len);
    respond_page(r, status, fmt == FR_FMT_HTML ? FR_FMT_HTML : FR_FMT_TEXT, body, len);
}

static bool wants_revalidation(const nb_req *r)
{
    return nb_cc_wants_revalidation(nb_req_header(r, "Cache-Control"), nb_req_header(r, "Pragma"));
}

/* The api's JSON answer (any status) handed to the client as is. */
static void pass_through(nb_req *r, fr_api_resp *ar)
{
    struct {
        const char *name;
        const char *value;
    } h[] = {
        {"Cache-Control", ar->cache_control},
        {"Age", ar->age},
        {"ETag", ar->etag},
        {"Last-Modified", ar->last_modified},
        {"Cache-Status", ar->cache_status},
        {"X-Cache", ar->x_cache},
        {"X-Source", ar->x_source},
        {"Retry-After", ar->retry_after},
    };
    for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
        if (h[i].value[0]) nb_req_add_header(r, h[i].name, h[i].value);
    nb_req_add_header(r, "Vary", "Accept, User-Agent");
    nb_req_add_header(r, "X-Content-Type-Options", "nosniff");
    size_t len;
    char *body = nb_buf_detach(&ar->body, &len);
    nb_respond_take(r, (int)ar->status, ar->content_type[0] ? ar->content_type : "application/json",
                    body, len);
}

/* The "reason" of an api error body, or fallback. Borrowed from doc. */
static const char *api_reason(json_t *doc, const char *fallback)
{
    json_t *reason = json_object_get(doc, "reason");
    return json_is_string(reason) ? json_string_value(reason) : fallback;
}

/* --- the place route ------------------------------------------------------ */

/* One place request, from the polling thread that reads it to the worker
 * that asks the api when it must (one owner at a time). */
typedef struct place_req {
    fr_routes *rt;
    fr_format fmt;
    fr_view view;
    fr_place where; /* where.name and pg.query may point into it: never copied */
    fr_page pg;
    char *data_path; /* "/Berlin" or "/52.52,13.41" */
    char *target;    /* the api's: "/v1/weather?city=Berlin" */
    char *variant;   /* what is rendered from the answer (NULL: JSON, passed on) */
    bool no_cache;   /* the client asked every cache to revalidate */
    fr_hit hit;      /* what the cache held when the request was read */
} place_req;

static void place_req_free(place_req *p)
{
    fr_hit_release(&p->hit);
    free(p->data_path);
    free(p->target);
    free(p->variant);
    free(p);
}

static void view_arg(const char *name, const char *value, void *view)
{
    fr_view_arg(view, name, value);
}

/* The variant of the answer asked: everything of the request a rendering
 * depends on besides the api's answer (lengths first: no two variants
 * read alike). NULL for JSON, or when out of memory. */
static char *variant_of(const place_req *p)
{
    const char *shown = p->pg.query ? p->pg.query : "";
    char *v = NULL;
    int n = -1;
    switch (p->fmt) {
    case FR_FMT_HTML:
        n = asprintf(&v, "html:%zu:%s:%s", strlen(shown), shown, p->data_path);
        break;
    case FR_FMT_TEXT:
        n = asprintf(&v, "text:%d:%d", p->view.narrow, p->view.days);
        break;
    case FR_FMT_LINE:
        n = asprintf(&v, "line:%d:%c%zu:%s:%s", p->view.rain_hours, p->pg.query ? 'q' : '-',
                     strlen(shown), shown, p->view.line);
        break;
    case FR_FMT_JSON:
        return NULL;
    }
    return n < 0 ? NULL : v;
}

/* Reads the request into p; false when it was answered already (no place,
 * a bad one, what browsers ask on their own, out of memory). */
static bool read_place(nb_req *r, place_req *p)
{
    fr_api_query q = {0};
    fr_place_parse(nb_req_tail(r), nb_req_query(r, "city"), nb_req_query(r, "lat"),
                   nb_req_query(r, "lon"), &p->where);
    if (p->where.kind == FR_PLACE_IGNORED) {
        nb_req_add_header(r, "X-Content-Type-Options", "nosniff");
        nb_respond(r, nb_err_http_status(NB_ERR_NOT_FOUND), TEXT_TYPE, "not found\n", 10);
        return false;
    }
    fr_view_init(&p->view);
    nb_req_query_each(r, view_arg, &p->view);
    fr_view_finish(&p->view, nb_req_header(r, "Accept"), nb_req_header(r, "User-Agent"),
                   nb_req_header(r, "Cookie"));
    p->fmt = p->view.fmt;
    p->pg.asset_version = fr_assets_version();
    p->pg.now_ms = nb_now_ms();
    p->pg.max_age_s = p->pg.swr_s = -1;
    p->pg.query = p->where.shown;

    if (p->where.kind == FR_PLACE_NONE) {
        size_t len = 0;
        if (p->fmt == FR_FMT_JSON) {
            nb_respond_error(r, NB_ERR_INVALID,
                             "give a place: /<name>, /<lat>,<lon>, ?city= or ?lat=&lon=");
            return false;
        }
        char *body = p->fmt == FR_FMT_HTML ? fr_html_search(&p->pg, &len) : fr_text_help(&len);
        respond_page(r, 200, p->fmt == FR_FMT_HTML ? FR_FMT_HTML : FR_FMT_TEXT, body, len);
        return false;
    }
    if (p->view.format && strchr(p->view.format, '%') &&
        strlen(p->view.format) > FR_LINE_FORMAT_MAX) {
        respond_problem(r, FR_FMT_TEXT, &p->pg, NB_ERR_INVALID, "Format too long",
                        "A format is at most 1024 bytes long.");
        return false;
    }
    if (p->where.kind == FR_PLACE_BAD) {
        respond_problem(r, p->fmt, &p->pg, NB_ERR_INVALID, "That doesn't look like a place",
                        p->where.reason);
        return false;
    }
    if (p->where.kind == FR_PLACE_COORDS) {
        q.lat = p->where.lat;
        q.lon = p->where.lon;
    } else {
        q.city = p->where.name;
    }
    q.days = nb_req_query(r, "days");
    q.hours = nb_req_query(r, "hours");
    /* units= goes to the api as given (a wrong value gets its 400 and reason) */
    q.units = nb_req_query(r, "units");
    if (!q.units && p->view.units == NB_UNITS_IMPERIAL) q.units = "imperial";
    p->no_cache = wants_revalidation(r);
    p->data_path = fr_place_path(&p->where);
    p->pg.data_path = p->data_path;
    p->target = p->data_path ? fr_api_target(&q) : NULL;
    p->variant = p->target ? variant_of(p) : NULL;
    if (!p->target || (!p->variant && p->fmt != FR_FMT_JSON)) {
        nb_respond_error(r, NB_ERR_NOMEM, "out of memory");
        return false;
    }
    return true;
}

/* The api's JSON from the copy, as the api would answer it now: Age and
 * max-age as of now, front's Cache-Status member after the api's; a 304
 * when the client's If-None-Match matches. */
static void answer_json(nb_req *r, const fr_hit *hit)
{
    const fr_copy *c = hit->copy;
    const fr_meta *m = &hit->meta;
    char v[420], mine[128];

    fr_hit_cache_control(hit, v, sizeof(v));
    if (v[0]) nb_req_add_header(r, "Cache-Control", v);
    snprintf(v, sizeof(v), "%ld", fr_hit_age_s(hit));
    nb_req_add_header(r, "Age", v);
    if (c->etag[0]) nb_req_add_header(r, "ETag", c->etag);
    if (m->last_modified[0]) nb_req_add_header(r, "Last-Modified", m->last_modified);
    fr_hit_cache_status(hit, mine, sizeof(mine));
    snprintf(v, sizeof(v), "%s%s%s", m->cache_status, m->cache_status[0] ? ", " : "", mine);
    nb_req_add_header(r, "Cache-Status", v);
    if (m->x_cache[0]) nb_req_add_header(r, "X-Cache", m->x_cache);
    if (m->x_source[0]) nb_req_add_header(r, "X-Source", m->x_source);
    nb_req_add_header(r, "Vary", "Accept, User-Agent");
    nb_req_add_header(r, "X-Content-Type-Options", "nosniff");
    if (c->etag[0] && nb_etag_none_match(nb_req_header(r, "If-None-Match"), c->etag)) {
        nb_respond(r, 304, c->content_type, "", 0);
        return;
    }
    size_t len = 0;
    char *body = fr_hit_json(hit, &len);
    if (!body) {
        nb_respond_error(r, NB_ERR_NOMEM, "out of memory");
        return;
    }
    nb_respond_take(r, 200, c->content_type, body, len);
}

/* A page, report or line from the copy's kept rendering (hit->tpl), filled
 * with what is true now. */
static void answer_rendered(nb_req *r, const place_req *p, const fr_hit *hit)
{
    char status[128];
    long left = fr_hit_fresh_left_s(hit);
    fr_fill f = {.now_ms = hit->now_ms,
                 .stale = hit->state != FR_FRESH,
                 .max_age_s = hit->meta.max_age_s < 0 ? -1
                              : left < 0              ? 0
                                                      : left,
                 .swr_s = hit->meta.swr_s};
    size_t len = 0;
    char *body = fr_tpl_fill(hit->tpl, &f, &len);
    fr_hit_cache_status(hit, status, sizeof(status));
    nb_req_add_header(r, "Cache-Status", status);
    if (p->fmt == FR_FMT_HTML && p->view.units_asked)
        nb_req_add_header(r, "Set-Cookie",
                          p->view.units == NB_UNITS_IMPERIAL ? UNITS_COOKIE("imperial")
                                                             : UNITS_COOKIE("metric"));
    respond_page(r, 200, p->fmt == FR_FMT_LINE ? FR_FMT_TEXT : p->fmt, body, len);
}

/* No weather answer to give: the api's error, or why there was none. */
static void answer_problem(fr_routes *rt, nb_req *r, place_req *p, nb_err err, fr_api_resp *ar)
{
    if (err != NB_OK) {
        nb_counter_inc(rt->api_failures);
        nb_warn("api request failed: %s (%s)", nb_err_code(err), ar->errmsg);
        if (err == NB_ERR_TIMEOUT) {
            nb_req_add_header(r, "Retry-After", "10");
            respond_problem(r, p->fmt, &p->pg, NB_ERR_UNAVAILABLE, "Weather service is slow",
                            "The weather service did not answer in time. Please try again in a "
                            "moment.");
        } else {
            respond_problem(r, p->fmt, &p->pg, NB_ERR_UPSTREAM, "Weather service unreachable",
                            "We can't reach the weather service right now. Please try again in a "
                            "minute.");
        }
        return;
    }
    if (p->fmt == FR_FMT_JSON) {
        if (ar->status >= 500) nb_counter_inc(rt->api_failures);
        pass_through(r, ar);
        return;
    }
    json_error_t jerr;
    json_t *doc = ar->status >= 400 && ar->body.len > 0
                      ? json_loadb(ar->body.data, ar->body.len, 0, &jerr)
                      : NULL;
    if (ar->status == 404) {
        respond_problem(r, p->fmt, &p->pg, NB_ERR_NOT_FOUND, "Place not found",
                        "We couldn't find a place with that name. Check the spelling, or try "
                        "a nearby town or coordinates like 52.52,13.41.");
    } else if (ar->status == 400) {
        respond_problem(r, p->fmt, &p->pg, NB_ERR_INVALID, "That doesn't look like a place",
                        api_reason(doc, "The request was not understood."));
    } else if (ar->status == 502 || ar->status == 503 || ar->status == 504) {
        nb_counter_inc(rt->api_failures);
        if (ar->retry_after[0]) nb_req_add_header(r, "Retry-After", ar->retry_after);
        respond_problem(r, p->fmt, &p->pg, NB_ERR_UNAVAILABLE, "Weather temporarily unavailable",
                        "Our weather source is not answering right now and we have no stored data "
                        "for this place yet. Please try again in a minute.");
    } else {
        nb_counter_inc(rt->api_failures);
        nb_warn("api answered %ld with an unusable body", ar->status);
        respond_problem(r, p->fmt, &p->pg, NB_ERR_UPSTREAM, "Weather service error",
                        "The weather service gave an answer we couldn't use. Please try again "
                        "in a minute.");
    }
    json_decref(doc);
}

/* Renders p's variant of hit's copy (on a worker) and keeps it with the copy. */
static bool render(fr_routes *rt, place_req *p, fr_hit *hit)
{
    const json_t *doc = hit->copy->doc;
    p->pg.etag = hit->copy->etag;
    p->pg.now_ms = hit->now_ms;
    if (p->fmt == FR_FMT_HTML)
        hit->tpl = fr_html_weather_tpl(doc, &p->pg);
    else if (p->fmt == FR_FMT_LINE)
        hit->tpl =
            fr_line_weather_tpl(doc, p->view.line, p->pg.query, p->view.rain_hours, hit->now_ms);
    else
        hit->tpl = fr_text_weather_tpl(doc, hit->now_ms, &p->view);
    if (!hit->tpl) return false;
    nb_counter_inc(rt->renders[p->fmt]);
    if (hit->stored) fr_cache_keep(rt->cache, p->target, hit->copy, p->variant, hit->tpl);
    return true;
}

/* The worker's part: ask the api when nothing usable is kept (or the
 * client asked to revalidate), render when the variant is not kept. */
static void on_place_worker(nb_req *r, void *ctx)
{
    place_req *p = ctx;
    fr_routes *rt = p->rt;
    fr_hit *hit = &p->hit;

    if (p->no_cache || hit->state == FR_MISS || hit->state == FR_EXPIRED) {
        fr_api_resp ar;
        nb_err err = fr_cache_fetch(rt->cache, p->target, p->variant,
                                    p->no_cache ? FR_FETCH_END_TO_END : FR_FETCH_PLAIN, hit, &ar);
        if (!hit->copy) answer_problem(rt, r, p, err, &ar);
        fr_api_resp_release(&ar);
        if (!hit->copy) goto out;
    }
    if (p->fmt == FR_FMT_JSON)
        answer_json(r, hit);
    else if (hit->tpl || render(rt, p, hit))
        answer_rendered(r, p, hit);
    else
        nb_respond_error(r, NB_ERR_NOMEM, "could not render the page");
out:
    place_req_free(p);
}

/* On the polling thread: what the cache holds fresh (or stale, while it is
 * revalidated in the background) and already rendered is answered here;
 * everything else goes to a worker. */
static void on_place(nb_req *r, void *ctx)
{
    fr_routes *rt = ctx;
    place_req *p = calloc(1, sizeof(*p));
    if (!p) {
        nb_respond_error(r, NB_ERR_NOMEM, "out of memory");
        return;
    }
    p->rt = rt;
    if (!read_place(r, p)) {
        place_req_free(p);
        return;
    }
    if (!p->no_cache) {
        fr_cache_lookup(rt->cache, p->target, p->variant, &p->hit);
        bool usable = p->hit.state == FR_FRESH || p->hit.state == FR_STALE;
        if (usable && p->fmt == FR_FMT_JSON) {
            answer_json(r, &p->hit);
            place_req_free(p);
            return;
        }
        if (usable && p->hit.tpl) {
            answer_rendered(r, p, &p->hit);
            place_req_free(p);
            return;
        }
    }
    nb_req_to_worker(r, on_place_worker, p);
}

/* --- static assets -------------------------------------------------------- */

static void on_static(nb_req *r, void *ctx)
{
    const fr_asset *a = fr_asset_find(nb_req_tail(r));
    if (!a) {
        nb_req_add_header(r, "X-Content-Type-Options", "nosniff");
        nb_respond(r, nb_err_http_status(NB_ERR_NOT_FOUND), TEXT_TYPE, "not found\n", 10);
        return;
    }
    char etag[32];
    const char *v = nb_req_query(r, "v");
    const char *inm = nb_req_header(r, "If-None-Match");
    snprintf(etag, sizeof(etag), "\"%s\"", a->blob->version);
    nb_req_add_header(r, "ETag", etag);
    nb_req_add_header(r, "X-Content-Type-Options", "nosniff");
    /* The pages link with ?v=<set version>: such a URL never changes content. */
    nb_req_add_header(r, "Cache-Control",
                      v && strcmp(v, fr_assets_version()) == 0
                          ? "public, max-age=31536000, immutable"
                          : "public, max-age=300");
    if (nb_etag_none_match(inm, etag)) {
        nb_respond(r, 304, a->content_type, "", 0);
        return;
    }
    nb_respond(r, 200, a->content_type, a->blob->data, a->blob->len);
}

/* --- wiring --------------------------------------------------------------- */

bool fr_routes_ready(void *ctx, nb_buf *out)
{
    fr_routes *rt = ctx;
    bool ok = fr_api_healthy(&rt->api);
    nb_buf_addf(out, "{\"api\":\"%s\"}", ok ? "ok" : "unreachable");
    return ok;
}

nb_err fr_routes_register(fr_routes *rt, nb_server *s)
{
    nb_err err;
    rt->api_failures = nb_counter_new("nimbus_front_api_failures_total", NULL,
                                      "Place requests without a usable answer from the api");
    rt->renders[FR_FMT_HTML] = nb_counter_new("nimbus_front_renders_total", "format=\"html\"",
                                              "Weather pages rendered, by format");
    rt->renders[FR_FMT_TEXT] = nb_counter_new("nimbus_front_renders_total", "format=\"text\"",
                                              "Weather pages rendered, by format");
    rt->renders[FR_FMT_LINE] = nb_counter_new("nimbus_front_renders_total", "format=\"line\"",
                                              "Weather pages rendered, by format");
    if (!rt->api_failures || !rt->renders[FR_FMT_HTML] || !rt->renders[FR_FMT_TEXT] ||
        !rt->renders[FR_FMT_LINE])
        return NB_ERR_NOMEM;
    /* First match wins: the assets before the catch-all place route. */
    err = nb_server_route(s, "GET", "/static/*", "static", NB_ROUTE_INLINE, on_static, rt);
    if (err == NB_OK) err = fr_subscribe_register(rt, s);
    if (err == NB_OK) err = nb_server_route(s, "GET", "/*", "place", NB_ROUTE_INLINE, on_place, rt);
    return err;
}
