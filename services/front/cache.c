/* cache.c — front's HTTP cache of the api's answers and renderings (see cache.h). */
#include "cache.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/clock.h"
#include "nimbus/etag.h"
#include "nimbus/log.h"
#include "nimbus/map.h"
#include "nimbus/metrics.h"
#include "nimbus/queue.h"
#include "wxfmt.h"

#define FRESHNESS_KEY ",\"freshness\":{"
#define REVALIDATORS_MAX 16
/* After a background revalidation that brought nothing newer (the api's
 * renewal is not done, or it failed), the next one waits this long: a
 * stale page viewed a thousand times a second costs the api one request a
 * second at most, not one per api round trip. */
#define REVALIDATE_QUIET_MS 1000

struct fr_rendering {
    char *variant;
    fr_tpl *tpl;
    int64_t used_ms;
    size_t bytes;
    fr_rendering *next;
};

/* One target: its copy and the headers of the last exchange about it. */
typedef struct entry {
    char *target;
    fr_copy *copy; /* the cache's reference */
    fr_meta meta;
    bool revalidating;
    int64_t quiet_until_ms; /* no background revalidation before (the last one found nothing) */
    size_t bytes;
    struct entry *newer, *older; /* the LRU list */
} entry;

enum { LOOK_FRESH, LOOK_STALE, LOOK_EXPIRED, LOOK_MISS, LOOKS };
enum { REV_NOT_MODIFIED, REV_MODIFIED, REV_GONE, REV_ERROR, REV_DROPPED, REVS };

struct fr_cache {
    fr_cache_opts o;
    pthread_mutex_t lock;
    nb_map map; /* target -> entry */
    entry *newest, *oldest;
    size_t bytes;
    nb_queue jobs; /* malloc'd targets to revalidate */
    pthread_t threads[REVALIDATORS_MAX];
    int nthreads;
    atomic_bool cancel; /* stopping: api calls under way end */
    bool stopped;
    nb_counter *lookups[LOOKS], *revalidations[REVS], *evictions;
    nb_gauge *g_bytes, *g_entries;
};

/* --- copies ----------------------------------------------------------- */

static fr_copy *copy_ref(fr_copy *c)
{
    if (c) atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

static void copy_unref(fr_copy *c)
{
    if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1) return;
    for (fr_rendering *r = c->renderings, *next; r; r = next) {
        next = r->next;
        fr_tpl_unref(r->tpl);
        free(r->variant);
        free(r);
    }
    json_decref(c->doc);
    free(c->body);
    free(c);
}

/* A word of lowercase letters (what the api writes as freshness.source). */
static bool plain_word(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max) return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i])) return false;
    return true;
}

/* Finds the api's per-answer freshness object, the body's last member:
 * ',"freshness":{…}}' with no object inside it. 0 when it is not there. */
static size_t find_tail(const char *body, size_t len)
{
    size_t kl = strlen(FRESHNESS_KEY);
    if (len < kl + 2 || body[len - 1] != '}' || body[len - 2] != '}') return 0;
    for (size_t i = len - kl; i > 0; i--) {
        if (memcmp(body + i, FRESHNESS_KEY, kl) != 0) continue;
        for (size_t j = i + kl; j < len - 2; j++)
            if (body[j] == '{' || body[j] == '}') return 0;
        return i;
    }
    return 0;
}

/* The end of the hour hourly[0] covers ("time" is the place's wall clock;
 * location.utc_offset_seconds makes it UTC), or 0 without hours. */
static int64_t first_hour_end(const json_t *doc)
{
    const char *t = fr_wx_str(json_array_get(json_object_get(doc, "hourly"), 0), "time");
    char iso[32];
    int64_t ms;
    if (strlen(t) != 16) return 0;
    snprintf(iso, sizeof(iso), "%s:00Z", t);
    if (!nb_time_parse_rfc3339(iso, &ms)) return 0;
    return ms - (int64_t)fr_wx_utc_offset(json_object_get(doc, "location")) * 1000 + 3600 * 1000;
}

/* A copy of a 200 answer holding a weather document (the body is taken from
 * resp); NULL when it is not one (resp untouched) or out of memory. */
static fr_copy *copy_new(fr_api_resp *resp)
{
    json_error_t jerr;
    json_t *doc = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, &jerr);
    if (!json_is_object(doc) || !json_is_object(json_object_get(doc, "current"))) {
        json_decref(doc);
        return NULL;
    }
    fr_copy *c = calloc(1, sizeof(*c));
    if (!c) {
        json_decref(doc);
        return NULL;
    }
    atomic_init(&c->refs, 1);
    snprintf(c->etag, sizeof(c->etag), "%s", resp->etag);
    snprintf(c->content_type, sizeof(c->content_type), "%s",
             resp->content_type[0] ? resp->content_type : "application/json");
    c->doc = doc;
    c->body = nb_buf_detach(&resp->body, &c->len);
    c->fetched_at_ms = fr_wx_fetched_at_ms(doc);
    const json_t *fr = json_object_get(doc, "freshness");
    const json_t *ttl = json_object_get(fr, "fresh_ttl_s");
    const char *source = fr_wx_str(fr, "source");
    c->tail_at = find_tail(c->body, c->len);
    if (c->tail_at && json_is_integer(ttl) && plain_word(source, sizeof(c->source))) {
        c->fresh_ttl_s = (long)json_integer_value(ttl);
        snprintf(c->source, sizeof(c->source), "%s", source);
    } else {
        c->tail_at = 0;
    }
    c->hour_end_ms = first_hour_end(doc);
    c->bytes = sizeof(*c) + c->len + 1 + c->len * FR_DOC_BYTES_PER_BYTE;
    return c;
}

/* --- freshness ---------------------------------------------------------- */

static void meta_from(fr_meta *m, const fr_api_resp *resp, int64_t now_ms)
{
    memset(m, 0, sizeof(*m));
    m->received_ms = now_ms;
    m->status = resp->status;
    fr_cache_control_parse(resp->cache_control, &m->max_age_s, &m->swr_s);
    m->expires_ms = m->max_age_s < 0 ? INT64_MIN : now_ms + (int64_t)m->max_age_s * 1000;
    char *end;
    long age = strtol(resp->age, &end, 10);
    m->age_s = end != resp->age && age > 0 ? age : 0;
    snprintf(m->cache_control, sizeof(m->cache_control), "%s", resp->cache_control);
    snprintf(m->last_modified, sizeof(m->last_modified), "%s", resp->last_modified);
    snprintf(m->cache_status, sizeof(m->cache_status), "%s", resp->cache_status);
    snprintf(m->x_cache, sizeof(m->x_cache), "%s", resp->x_cache);
    snprintf(m->x_source, sizeof(m->x_source), "%s", resp->x_source);
}

/* May a shared cache keep an answer with these headers? */
static bool storable(const fr_meta *m)
{
    return m->max_age_s >= 0 && !fr_cache_control_has(m->cache_control, "no-store") &&
           !fr_cache_control_has(m->cache_control, "private");
}

/* The headers m of an answer about copy c: fresh until the hour c's hours
 * start at is over, if that comes first (a 304 after it vouches for it). */
static fr_meta with_hours(fr_meta m, const fr_copy *c)
{
    if (c->hour_end_ms > m.received_ms && c->hour_end_ms < m.expires_ms)
        m.expires_ms = c->hour_end_ms;
    return m;
}

static fr_freshness state_of(const fr_meta *m, int64_t now_ms)
{
    if (m->max_age_s < 0) return FR_EXPIRED;
    if (now_ms < m->expires_ms) return FR_FRESH;
    if (m->swr_s >= 0 && now_ms < m->expires_ms + (int64_t)m->swr_s * 1000) return FR_STALE;
    return FR_EXPIRED;
}

/* --- the table (lock held) ---------------------------------------------- */

static int64_t now_of(const fr_cache *c)
{
    return c->o.clock ? c->o.clock(c->o.clock_ctx) : nb_now_ms();
}

static void lru_unlink(fr_cache *c, entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(fr_cache *c, entry *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest) c->newest->newer = e;
    c->newest = e;
    if (!c->oldest) c->oldest = e;
}

static size_t entry_bytes(const entry *e)
{
    size_t n = sizeof(*e) + strlen(e->target) + 1 + e->copy->bytes;
    for (const fr_rendering *r = e->copy->renderings; r; r = r->next)
        n += r->bytes;
    return n;
}

static void account(fr_cache *c, entry *e)
{
    size_t n = entry_bytes(e);
    c->bytes = c->bytes - e->bytes + n;
    e->bytes = n;
}

static void gauges(fr_cache *c)
{
    nb_gauge_set(c->g_bytes, (int64_t)c->bytes);
    nb_gauge_set(c->g_entries, (int64_t)nb_map_len(&c->map));
}

/* Takes e out of the table; its copy reference goes to *drop (released
 * after the lock, as it may free a parsed document). */
static void remove_entry(fr_cache *c, entry *e, fr_copy **drop)
{
    nb_map_remove(&c->map, e->target);
    lru_unlink(c, e);
    c->bytes -= e->bytes;
    *drop = e->copy;
    free(e->target);
    free(e);
}

/* The least recently used targets go until the bytes fit. Copies to release
 * after the lock go into drops (up to ndrops; the rest wait for the next). */
static size_t evict(fr_cache *c, fr_copy **drops, size_t ndrops)
{
    size_t n = 0;
    while (c->bytes > c->o.max_bytes && c->oldest && n < ndrops) {
        remove_entry(c, c->oldest, &drops[n++]);
        nb_counter_inc(c->evictions);
    }
    return n;
}

/* Fills hit from e (a new reference to its copy). */
static void hit_from(fr_hit *hit, const entry *e, int64_t now_ms)
{
    hit->copy = copy_ref(e->copy);
    hit->meta = e->meta;
    hit->now_ms = now_ms;
    hit->state = state_of(&e->meta, now_ms);
    hit->revalidating = e->revalidating;
}

/* Queues a background revalidation of e unless one is under way. */
static void revalidate_later(fr_cache *c, entry *e, int64_t now_ms)
{
    if (e->revalidating || c->stopped || now_ms < e->quiet_until_ms) return;
    char *job = strdup(e->target);
    if (job && nb_queue_push(&c->jobs, job)) {
        e->revalidating = true;
        return;
    }
    free(job);
    nb_counter_inc(c->revalidations[REV_DROPPED]);
}

static fr_tpl *rendering_of(fr_copy *copy, const char *variant, int64_t now_ms)
{
    for (fr_rendering *r = copy->renderings; r; r = r->next) {
        if (strcmp(r->variant, variant) != 0) continue;
        if (now_ms >= r->tpl->valid_until_ms) return NULL;
        r->used_ms = now_ms;
        return fr_tpl_ref(r->tpl);
    }
    return NULL;
}

/* --- lookups and fetches ------------------------------------------------ */

void fr_cache_lookup(fr_cache *c, const char *target, const char *variant, fr_hit *hit)
{
    memset(hit, 0, sizeof(*hit));
    hit->now_ms = now_of(c);
    hit->state = FR_MISS;
    hit->how = FR_HOW_HIT;
    if (c->o.max_bytes == 0) {
        nb_counter_inc(c->lookups[LOOK_MISS]);
        return;
    }
    pthread_mutex_lock(&c->lock);
    entry *e = nb_map_get(&c->map, target);
    if (e) {
        lru_unlink(c, e);
        lru_push(c, e);
        hit_from(hit, e, hit->now_ms);
        hit->stored = true;
        if (variant && hit->state != FR_EXPIRED)
            hit->tpl = rendering_of(e->copy, variant, hit->now_ms);
        if (hit->state == FR_STALE) revalidate_later(c, e, hit->now_ms);
        hit->revalidating = e->revalidating;
    }
    pthread_mutex_unlock(&c->lock);
    nb_counter_inc(c->lookups[hit->state == FR_FRESH   ? LOOK_FRESH
                              : hit->state == FR_STALE ? LOOK_STALE
                              : e                      ? LOOK_EXPIRED
                                                       : LOOK_MISS]);
}

/* A new entry for target, in the table and the LRU list (without a copy
 * yet: the caller sets one at once); NULL when out of memory. */
static entry *entry_new(fr_cache *c, const char *target)
{
    entry *e = calloc(1, sizeof(*e));
    if (!e || !(e->target = strdup(target)) || nb_map_put(&c->map, target, e, NULL) != NB_OK) {
        if (e) free(e->target);
        free(e);
        return NULL;
    }
    lru_push(c, e);
    return e;
}

/* What the api answered, applied to the table; hit gets the copy to answer
 * from (see fr_cache_fetch). background: a revalidation (starts none).
 * Returns the REV_ outcome. */
static int settle(fr_cache *c, const char *target, nb_err err, fr_api_resp *resp, fr_hit *hit,
                  bool background)
{
    fr_copy *drops[8] = {0}, *made = NULL;
    size_t ndrops = 0;
    int64_t now = now_of(c);
    int result = REV_ERROR;
    bool keep = c->o.max_bytes > 0;
    fr_meta m;

    memset(hit, 0, sizeof(*hit));
    hit->now_ms = now;
    hit->state = FR_MISS;
    if (err == NB_OK) meta_from(&m, resp, now);
    /* A new weather answer is parsed before the lock is taken, unless it is
     * the copy kept already (the same ETag: only its headers are new). */
    if (err == NB_OK && resp->status == 200) {
        bool known = false;
        if (keep && resp->etag[0]) {
            pthread_mutex_lock(&c->lock);
            entry *e = nb_map_get(&c->map, target);
            known = e && nb_etag_weak_eq(e->copy->etag, resp->etag);
            pthread_mutex_unlock(&c->lock);
        }
        if (!known && !(made = copy_new(resp))) err = NB_ERR_UPSTREAM; /* unusable: as a 5xx */
    }

relock:
    pthread_mutex_lock(&c->lock);
    entry *e = keep ? nb_map_get(&c->map, target) : NULL;
    bool same = err == NB_OK && e && resp->etag[0] && nb_etag_weak_eq(e->copy->etag, resp->etag);
    if (err == NB_OK && resp->status == 200 && !same && !made) {
        /* The copy it matched was replaced meanwhile: this answer is new after all. */
        pthread_mutex_unlock(&c->lock);
        if (!(made = copy_new(resp))) err = NB_ERR_UPSTREAM;
        goto relock;
    }
    if (err == NB_OK && (resp->status == 200 || resp->status == 304) && same) {
        /* A 304, or a 200 of the copy kept: new headers, the same copy. */
        m = with_hours(m, e->copy);
        hit_from(hit, e, now);
        hit->meta = m;
        hit->state = state_of(&m, now);
        if (storable(&m)) {
            e->meta = m;
            hit->stored = true;
            result = REV_NOT_MODIFIED;
        } else {
            remove_entry(c, e, &drops[ndrops++]); /* answered once more, kept no longer */
            e = NULL;
            result = REV_GONE;
        }
    } else if (err == NB_OK && resp->status == 200) { /* made: a new weather answer */
        result = REV_MODIFIED;
        m = with_hours(m, made);
        if (keep && storable(&m) && e && e->copy->fetched_at_ms > made->fetched_at_ms) {
            hit_from(hit, e, now); /* an older answer came after a newer one: keep the newer */
            hit->stored = true;
        } else if (keep && storable(&m) && (e || (e = entry_new(c, target)))) {
            drops[ndrops++] = e->copy;
            e->copy = made;
            made = NULL;
            e->meta = m;
            account(c, e);
            hit_from(hit, e, now);
            hit->stored = true;
        } else {
            if (e) remove_entry(c, e, &drops[ndrops++]); /* the api's answer may not be kept */
            e = NULL;
            hit->copy = made; /* answered once */
            made = NULL;
            hit->meta = m;
            hit->state = state_of(&m, now);
        }
    } else if (err == NB_OK && resp->status >= 400 && resp->status < 500) {
        if (e) { /* the api says otherwise now */
            remove_entry(c, e, &drops[ndrops++]);
            e = NULL;
        }
        result = REV_GONE;
    } else if (err == NB_OK && resp->status == 304) {
        result = REV_GONE; /* for a copy replaced meanwhile: nothing to refresh */
    } else if (e) {
        hit_from(hit, e, now); /* no answer, a 5xx or an unusable one: stale-if-error */
        hit->stored = true;
        hit->how = FR_HOW_STALE_ERROR;
    }
    if (e && hit->stored && hit->state == FR_STALE && !background) revalidate_later(c, e, now);
    if (e) hit->revalidating = e->revalidating;
    ndrops += evict(c, drops + ndrops, sizeof(drops) / sizeof(drops[0]) - ndrops);
    gauges(c);
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < ndrops; i++)
        copy_unref(drops[i]);
    copy_unref(made);
    return result;
}

nb_err fr_cache_fetch(fr_cache *c, const char *target, const char *variant, fr_fetch_mode mode,
                      fr_hit *hit, fr_api_resp *resp)
{
    char inm[sizeof(((fr_copy *)0)->etag)] = "";
    fr_freshness before = hit->copy ? hit->state : FR_MISS;
    fr_hit_release(hit);
    if (mode == FR_FETCH_END_TO_END && c->o.max_bytes > 0) {
        pthread_mutex_lock(&c->lock);
        entry *e = nb_map_get(&c->map, target);
        if (e) snprintf(inm, sizeof(inm), "%s", e->copy->etag);
        pthread_mutex_unlock(&c->lock);
    }
    nb_err err = c->o.fetch(c->o.fetch_ctx, target, inm[0] ? inm : NULL,
                            mode == FR_FETCH_END_TO_END, NULL, resp);
    settle(c, target, err, resp, hit, false);
    if (err == NB_OK && resp->status == 304 && !hit->copy) {
        /* The copy asked about was replaced meanwhile: ask for the answer itself. */
        fr_api_resp_release(resp);
        err = c->o.fetch(c->o.fetch_ctx, target, NULL, mode == FR_FETCH_END_TO_END, NULL, resp);
        settle(c, target, err, resp, hit, false);
    }
    if (variant && hit->copy && hit->stored) {
        pthread_mutex_lock(&c->lock);
        hit->tpl = rendering_of(hit->copy, variant, hit->now_ms);
        pthread_mutex_unlock(&c->lock);
    }
    if (hit->how != FR_HOW_STALE_ERROR)
        hit->how = mode == FR_FETCH_END_TO_END ? FR_HOW_REQUEST
                   : before == FR_EXPIRED      ? FR_HOW_EXPIRED
                                               : FR_HOW_MISS;
    return err;
}

void fr_cache_keep(fr_cache *c, const char *target, fr_copy *copy, const char *variant, fr_tpl *tpl)
{
    fr_rendering *old = NULL;
    fr_copy *drops[8];
    size_t ndrops = 0;
    if (c->o.max_bytes == 0 || c->o.renderings_max == 0) return;
    fr_rendering *r = calloc(1, sizeof(*r));
    if (!r || !(r->variant = strdup(variant))) {
        free(r);
        return;
    }
    int64_t now = now_of(c);
    r->tpl = fr_tpl_ref(tpl);
    r->used_ms = now;
    r->bytes = sizeof(*r) + strlen(variant) + 1 + tpl->bytes;

    pthread_mutex_lock(&c->lock);
    entry *e = nb_map_get(&c->map, target);
    if (e && e->copy == copy) {
        /* The same variant (past its midnight) or, when full, the least
         * recently used one makes room. */
        fr_rendering **victim = NULL;
        for (fr_rendering **p = &copy->renderings; *p; p = &(*p)->next) {
            if (strcmp((*p)->variant, variant) == 0) {
                victim = p;
                break;
            }
            if (copy->nrenderings >= c->o.renderings_max &&
                (!victim || (*p)->used_ms < (*victim)->used_ms))
                victim = p;
        }
        if (victim) {
            old = *victim;
            *victim = old->next;
            copy->nrenderings--;
        }
        r->next = copy->renderings;
        copy->renderings = r;
        copy->nrenderings++;
        r = NULL;
        account(c, e);
        ndrops = evict(c, drops, sizeof(drops) / sizeof(drops[0]));
        gauges(c);
    }
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < ndrops; i++)
        copy_unref(drops[i]);
    for (fr_rendering *x = r ? r : old; x; x = x == r ? old : NULL) {
        fr_tpl_unref(x->tpl);
        free(x->variant);
        free(x);
    }
}

void fr_hit_release(fr_hit *hit)
{
    copy_unref(hit->copy);
    fr_tpl_unref(hit->tpl);
    hit->copy = NULL;
    hit->tpl = NULL;
}

/* --- what an answer from a copy says ------------------------------------ */

long fr_hit_fresh_left_s(const fr_hit *hit)
{
    if (hit->meta.max_age_s < 0) return -1;
    int64_t d = hit->meta.expires_ms - hit->now_ms; /* whole seconds, as the api counts */
    return (long)(d >= 0 ? (d + 999) / 1000 : -(-d / 1000));
}

long fr_hit_age_s(const fr_hit *hit)
{
    int64_t kept = hit->now_ms - hit->meta.received_ms;
    return hit->meta.age_s + (long)((kept < 0 ? 0 : kept) / 1000);
}

void fr_hit_cache_control(const fr_hit *hit, char *out, size_t outlen)
{
    const char *cc = hit->meta.cache_control;
    long left = fr_hit_fresh_left_s(hit);
    const char *m = NULL;
    for (const char *p = cc; (p = strstr(p, "max-age=")); p++) {
        if (p == cc || p[-1] == ' ' || p[-1] == ',') {
            m = p;
            break;
        }
    }
    if (!m || hit->meta.max_age_s < 0) {
        snprintf(out, outlen, "%s", cc);
        return;
    }
    if (left < 0) left = 0;
    const char *v = m + strlen("max-age="), *end = v;
    while (isdigit((unsigned char)*end))
        end++;
    snprintf(out, outlen, "%.*s%ld%s", (int)(v - cc), cc, left, end);
}

void fr_hit_cache_status(const fr_hit *hit, char *out, size_t outlen)
{
    long ttl = fr_hit_fresh_left_s(hit);
    switch (hit->how) {
    case FR_HOW_HIT:
    case FR_HOW_STALE_ERROR:
        snprintf(out, outlen, "nimbus-front; hit; ttl=%ld%s", ttl,
                 hit->state == FR_FRESH ? "" : "; fwd=stale");
        return;
    case FR_HOW_MISS:
    case FR_HOW_EXPIRED:
    case FR_HOW_REQUEST:
        snprintf(out, outlen, "nimbus-front; fwd=%s; fwd-status=%ld%s; ttl=%ld",
                 hit->how == FR_HOW_MISS      ? "uri-miss"
                 : hit->how == FR_HOW_EXPIRED ? "stale"
                                              : "request",
                 hit->meta.status, hit->stored ? "; stored" : "", ttl);
        return;
    }
}

char *fr_hit_json(const fr_hit *hit, size_t *len)
{
    const fr_copy *c = hit->copy;
    if (!c->tail_at) {
        char *body = malloc(c->len + 1);
        if (!body) return NULL;
        memcpy(body, c->body, c->len + 1);
        *len = c->len;
        return body;
    }
    int64_t age = c->fetched_at_ms == INT64_MIN ? 0 : (hit->now_ms - c->fetched_at_ms) / 1000;
    const char *source =
        plain_word(hit->meta.x_source, sizeof(c->source)) ? hit->meta.x_source : c->source;
    char tail[192];
    int n = snprintf(tail, sizeof(tail),
                     FRESHNESS_KEY "\"state\":\"%s\",\"age_s\":%lld,\"fresh_ttl_s\":%ld,"
                                   "\"source\":\"%s\"}}",
                     hit->state == FR_FRESH ? "fresh" : "stale", (long long)(age < 0 ? 0 : age),
                     c->fresh_ttl_s, source);
    char *body = malloc(c->tail_at + (size_t)n + 1);
    if (!body) return NULL;
    memcpy(body, c->body, c->tail_at);
    memcpy(body + c->tail_at, tail, (size_t)n + 1);
    *len = c->tail_at + (size_t)n;
    return body;
}

/* --- background revalidation --------------------------------------------- */

static void run_job(fr_cache *c, char *target)
{
    char inm[sizeof(((fr_copy *)0)->etag)] = "";
    fr_api_resp resp;
    fr_hit hit = {0};
    int result = REV_GONE;

    pthread_mutex_lock(&c->lock);
    entry *e = nb_map_get(&c->map, target);
    if (e) snprintf(inm, sizeof(inm), "%s", e->copy->etag);
    pthread_mutex_unlock(&c->lock);
    if (e) { /* else evicted meanwhile: nothing to revalidate */
        nb_err err =
            c->o.fetch(c->o.fetch_ctx, target, inm[0] ? inm : NULL, false, &c->cancel, &resp);
        result = settle(c, target, err, &resp, &hit, true);
        if (err != NB_OK)
            nb_warn("revalidating %s: %s (%s); the kept answer stays", target, nb_err_code(err),
                    resp.errmsg);
        else if (resp.status >= 500)
            nb_warn("revalidating %s: the api answered %ld; the kept answer stays", target,
                    resp.status);
        fr_hit_release(&hit);
        fr_api_resp_release(&resp);
        pthread_mutex_lock(&c->lock);
        if ((e = nb_map_get(&c->map, target))) {
            e->revalidating = false;
            if (result != REV_MODIFIED && state_of(&e->meta, now_of(c)) != FR_FRESH)
                e->quiet_until_ms = now_of(c) + REVALIDATE_QUIET_MS;
        }
        pthread_mutex_unlock(&c->lock);
    }
    nb_counter_inc(c->revalidations[result]);
    free(target);
}

bool fr_cache_revalidate_next(fr_cache *c, int64_t timeout_ms)
{
    char *target = nb_queue_pop(&c->jobs, timeout_ms);
    if (!target) return false;
    run_job(c, target);
    return true;
}

static void *revalidator(void *arg)
{
    fr_cache *c = arg;
    char *target;
    while ((target = nb_queue_pop(&c->jobs, -1)))
        run_job(c, target);
    return NULL;
}

/* --- lifecycle ------------------------------------------------------------ */

fr_cache *fr_cache_new(const fr_cache_opts *o)
{
    static const char *const looks[] = {"fresh", "stale", "expired", "miss"};
    static const char *const revs[] = {"not_modified", "modified", "gone", "error", "dropped"};
    char labels[64];
    fr_cache *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->o = *o;
    if (c->o.revalidators > REVALIDATORS_MAX) c->o.revalidators = REVALIDATORS_MAX;
    if (nb_queue_init(&c->jobs, c->o.queue_cap ? c->o.queue_cap : 1) != NB_OK) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    nb_map_init(&c->map);
    atomic_init(&c->cancel, false);
    for (int i = 0; i < LOOKS; i++) {
        snprintf(labels, sizeof(labels), "result=\"%s\"", looks[i]);
        c->lookups[i] = nb_counter_new("nimbus_front_cache_lookups_total", labels,
                                       "Place requests by what front's cache held for them");
    }
    for (int i = 0; i < REVS; i++) {
        snprintf(labels, sizeof(labels), "result=\"%s\"", revs[i]);
        c->revalidations[i] =
            nb_counter_new("nimbus_front_cache_revalidations_total", labels,
                           "Background revalidations of stale answers with the api, by outcome");
    }
    c->evictions = nb_counter_new("nimbus_front_cache_evictions_total", NULL,
                                  "Kept answers dropped to stay within --cache-mb");
    c->g_bytes = nb_gauge_new("nimbus_front_cache_bytes", NULL,
                              "Memory held by kept answers, documents and renderings");
    c->g_entries = nb_gauge_new("nimbus_front_cache_entries", NULL, "Answers kept");
    nb_gauge *limit = nb_gauge_new("nimbus_front_cache_max_bytes", NULL, "--cache-mb in bytes");
    if (limit) nb_gauge_set(limit, (int64_t)c->o.max_bytes);
    return c;
}

nb_err fr_cache_start(fr_cache *c)
{
    for (; c->nthreads < c->o.revalidators; c->nthreads++)
        if (pthread_create(&c->threads[c->nthreads], NULL, revalidator, c) != 0) {
            fr_cache_stop(c);
            return NB_ERR_NOMEM;
        }
    return NB_OK;
}

void fr_cache_stop(fr_cache *c)
{
    pthread_mutex_lock(&c->lock);
    c->stopped = true;
    pthread_mutex_unlock(&c->lock);
    atomic_store(&c->cancel, true);
    nb_queue_close(&c->jobs);
    for (int i = 0; i < c->nthreads; i++)
        pthread_join(c->threads[i], NULL);
    c->nthreads = 0;
    char *target;
    while ((target = nb_queue_try_pop(&c->jobs))) {
        nb_counter_inc(c->revalidations[REV_DROPPED]);
        free(target);
    }
}

static void free_entry(void *value)
{
    entry *e = value;
    copy_unref(e->copy);
    free(e->target);
    free(e);
}

void fr_cache_free(fr_cache *c)
{
    if (!c) return;
    fr_cache_stop(c);
    nb_map_release(&c->map, free_entry);
    nb_queue_release(&c->jobs);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

size_t fr_cache_bytes(fr_cache *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->bytes;
    pthread_mutex_unlock(&c->lock);
    return n;
}

size_t fr_cache_entries(fr_cache *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = nb_map_len(&c->map);
    pthread_mutex_unlock(&c->lock);
    return n;
}
