/* near_cache.c — persistence's record answers kept per key (see near_cache.h):
 * libcommon's hash map under one mutex, a least-recently-used list, and a
 * byte count checked against the bound on every insertion. */
#include "near_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/etag.h"
#include "nimbus/map.h"
#include "nimbus/metrics.h"

typedef struct doc_slot {
    char name[NC_VARIANT_MAX];
    nc_doc *doc; /* NULL: slot free */
} doc_slot;

typedef struct entry {
    struct entry *prev, *next; /* use order: c->head most recent */
    fl_result *rec;            /* a reference */
    char etag[STORE_ETAG_MAX];
    int64_t checked_ms; /* monotonic: persistence's last 200 or 304 for it */
    int64_t max_age_ms;
    doc_slot docs[NC_VARIANTS];
    int next_slot; /* the slot a new variant takes when all are used */
    size_t bytes;  /* what this entry accounts for in c->bytes */
    char key[];
} entry;

struct near_cache {
    pthread_mutex_t lock;
    nb_map map; /* key -> entry */
    entry *head, *tail;
    size_t bytes, max_bytes;
    int64_t last_max_age_ms; /* of the last record answer: for the api's own writes */
    nb_counter *evictions;
};

/* ---- documents ------------------------------------------------------- */

nc_doc *api_nc_doc_new(const char *data, size_t len)
{
    nc_doc *d = malloc(sizeof(*d) + len + 1);
    if (!d) return NULL;
    atomic_init(&d->refs, 1);
    d->len = len;
    memcpy(d->data, data, len);
    d->data[len] = '\0';
    return d;
}

nc_doc *api_nc_doc_ref(nc_doc *d)
{
    atomic_fetch_add(&d->refs, 1);
    return d;
}

void api_nc_doc_unref(nc_doc *d)
{
    if (d && atomic_fetch_sub(&d->refs, 1) == 1) free(d);
}

/* ---- entries (under c->lock) ------------------------------------------ */

static size_t rec_bytes(void)
{
    return sizeof(fl_result) + sizeof(fl_record);
}

static void unlink_entry(near_cache *c, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(near_cache *c, entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head) c->head->prev = e;
    c->head = e;
    if (!c->tail) c->tail = e;
}

/* Drops e's documents (their bytes leave the count). */
static void drop_docs(near_cache *c, entry *e)
{
    for (int i = 0; i < NC_VARIANTS; i++) {
        if (!e->docs[i].doc) continue;
        size_t b = sizeof(nc_doc) + e->docs[i].doc->len + 1;
        e->bytes -= b;
        c->bytes -= b;
        api_nc_doc_unref(e->docs[i].doc);
        e->docs[i].doc = NULL;
        e->docs[i].name[0] = '\0';
    }
    e->next_slot = 0;
}

/* Removes e from everything and frees it. */
static void entry_free(near_cache *c, entry *e)
{
    nb_map_remove(&c->map, e->key);
    unlink_entry(c, e);
    drop_docs(c, e);
    c->bytes -= e->bytes;
    api_fl_result_unref(e->rec);
    free(e);
}

/* Evicts least recently used entries (never keep) until the bound holds. */
static void shrink(near_cache *c, const entry *keep)
{
    while (c->bytes > c->max_bytes && c->tail && c->tail != keep) {
        entry_free(c, c->tail);
        nb_counter_inc(c->evictions);
    }
}

static entry *find(near_cache *c, const char *key)
{
    return nb_map_get(&c->map, key);
}

/* ---- the cache ------------------------------------------------------- */

static int64_t entries_metric(void *arg)
{
    return (int64_t)api_nc_len(arg);
}

static int64_t bytes_metric(void *arg)
{
    return (int64_t)api_nc_bytes(arg);
}

near_cache *api_nc_new(size_t max_bytes)
{
    near_cache *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    pthread_mutex_init(&c->lock, NULL);
    nb_map_init(&c->map);
    c->max_bytes = max_bytes;
    nb_gauge_fn_new("nimbus_near_cache_entries", NULL,
                    "Locations whose record (as persistence answered it) the api keeps",
                    entries_metric, c);
    nb_gauge_fn_new("nimbus_near_cache_bytes", NULL,
                    "Memory the api's copies of records and rendered documents take", bytes_metric,
                    c);
    nb_gauge_set(nb_gauge_new("nimbus_near_cache_max_bytes", NULL,
                              "Bound of nimbus_near_cache_bytes (--near-cache-mb)"),
                 (int64_t)max_bytes);
    c->evictions = nb_counter_new("nimbus_near_cache_evictions_total", NULL,
                                  "Copies dropped to stay within --near-cache-mb");
    return c;
}

void api_nc_free(near_cache *c)
{
    if (!c) return;
    while (c->head)
        entry_free(c, c->head);
    nb_map_release(&c->map, NULL);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

size_t api_nc_len(near_cache *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = nb_map_len(&c->map);
    pthread_mutex_unlock(&c->lock);
    return n;
}

size_t api_nc_bytes(near_cache *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->bytes;
    pthread_mutex_unlock(&c->lock);
    return n;
}

bool api_nc_get(near_cache *c, const char *key, int64_t now_ms, nc_copy *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->lock);
    entry *e = find(c, key);
    if (e) {
        out->rec = api_fl_result_ref(e->rec);
        memcpy(out->etag, e->etag, sizeof(out->etag));
        out->fresh = now_ms - e->checked_ms < e->max_age_ms;
        if (c->head != e) {
            unlink_entry(c, e);
            push_front(c, e);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return e != NULL;
}

nc_doc *api_nc_get_doc(near_cache *c, const char *key, int64_t fetched_at_ms, const char *variant)
{
    nc_doc *d = NULL;
    pthread_mutex_lock(&c->lock);
    entry *e = find(c, key);
    for (int i = 0; e && e->rec->rec->rec.fetched_at_ms == fetched_at_ms && i < NC_VARIANTS; i++)
        if (e->docs[i].doc && strcmp(e->docs[i].name, variant) == 0) {
            d = api_nc_doc_ref(e->docs[i].doc);
            break;
        }
    pthread_mutex_unlock(&c->lock);
    return d;
}

void api_nc_copy_release(nc_copy *cp)
{
    api_fl_result_unref(cp->rec);
    memset(cp, 0, sizeof(*cp));
}

void api_nc_put(near_cache *c, const char *key, fl_result *rec, const char *etag,
                int64_t max_age_ms, int64_t now_ms)
{
    if (!c->max_bytes || rec->kind != FL_RECORD || strlen(etag) >= STORE_ETAG_MAX) return;
    size_t klen = strlen(key) + 1;
    entry *fresh = calloc(1, sizeof(*fresh) + klen); /* made before the lock, in case */
    if (!fresh) return;
    memcpy(fresh->key, key, klen);
    pthread_mutex_lock(&c->lock);
    if (max_age_ms >= 0)
        c->last_max_age_ms = max_age_ms;
    else
        max_age_ms = c->last_max_age_ms;
    entry *e = find(c, key);
    if (e && e->rec->rec->rec.fetched_at_ms > rec->rec->rec.fetched_at_ms) goto out; /* older */
    if (!e) {
        if (nb_map_put(&c->map, fresh->key, fresh, NULL) != NB_OK) goto out;
        e = fresh;
        fresh = NULL;
        e->bytes = sizeof(*e) + klen + 64 /* map entry */ + rec_bytes();
        c->bytes += e->bytes;
        push_front(c, e);
    } else {
        if (e->rec->rec->rec.fetched_at_ms != rec->rec->rec.fetched_at_ms) drop_docs(c, e);
        api_fl_result_unref(e->rec);
        if (c->head != e) {
            unlink_entry(c, e);
            push_front(c, e);
        }
    }
    e->rec = api_fl_result_ref(rec);
    snprintf(e->etag, sizeof(e->etag), "%s", etag);
    e->checked_ms = now_ms;
    e->max_age_ms = max_age_ms;
    shrink(c, e);
out:
    pthread_mutex_unlock(&c->lock);
    free(fresh);
}

/* A copy of rec with another source; NULL on no memory. */
static fl_result *with_source(const fl_result *rec, const char *source)
{
    fl_result *r = api_fl_result_new(FL_RECORD);
    if (!r) return NULL;
    r->rec->rec = rec->rec->rec;
    snprintf(r->rec->source, sizeof(r->rec->source), "%s", source);
    return r;
}

fl_result *api_nc_confirm(near_cache *c, const char *key, const char *etag, const char *source,
                          int64_t max_age_ms, int64_t now_ms)
{
    fl_result *out = NULL, *moved = NULL;
    pthread_mutex_lock(&c->lock);
    if (max_age_ms >= 0) c->last_max_age_ms = max_age_ms;
    entry *e = find(c, key);
    if (!e || !nb_etag_weak_eq(e->etag, etag)) goto out;
    e->checked_ms = now_ms;
    e->max_age_ms = max_age_ms >= 0 ? max_age_ms : 0;
    out = api_fl_result_ref(e->rec);
    if (strcmp(e->rec->rec->source, source) == 0) goto out;
    /* persistence now answers it from another store: the copy says so (the
     * record is the same: documents stay). Made without the lock. */
    pthread_mutex_unlock(&c->lock);
    moved = with_source(out, source);
    pthread_mutex_lock(&c->lock);
    e = find(c, key);
    if (moved && e && e->rec == out) {
        e->rec = moved;           /* the entry takes moved's reference */
        api_fl_result_unref(out); /* the entry's reference to the old copy */
        api_fl_result_unref(out); /* and the caller's: it gets the new one */
        out = api_fl_result_ref(moved);
        moved = NULL;
    }
out:
    pthread_mutex_unlock(&c->lock);
    api_fl_result_unref(moved);
    return out;
}

void api_nc_put_written(near_cache *c, const char *key, const fl_result *rec, const char *source,
                        const char *etag, int64_t now_ms)
{
    fl_result *r = with_source(rec, source);
    if (!r) return;
    api_nc_put(c, key, r, etag, -1, now_ms);
    api_fl_result_unref(r);
}

void api_nc_drop(near_cache *c, const char *key)
{
    pthread_mutex_lock(&c->lock);
    entry *e = find(c, key);
    if (e) entry_free(c, e);
    pthread_mutex_unlock(&c->lock);
}

void api_nc_put_doc(near_cache *c, const char *key, int64_t fetched_at_ms, const char *variant,
                    nc_doc *doc)
{
    if (strlen(variant) >= NC_VARIANT_MAX) return;
    pthread_mutex_lock(&c->lock);
    entry *e = find(c, key);
    if (!e || e->rec->rec->rec.fetched_at_ms != fetched_at_ms) goto out;
    int slot = -1;
    for (int i = 0; i < NC_VARIANTS && slot < 0; i++)
        if (e->docs[i].doc && strcmp(e->docs[i].name, variant) == 0) slot = i;
    if (slot < 0) {
        for (int i = 0; i < NC_VARIANTS && slot < 0; i++)
            if (!e->docs[i].doc) slot = i;
    }
    if (slot < 0) { /* all taken: the slots go round */
        slot = e->next_slot;
        e->next_slot = (e->next_slot + 1) % NC_VARIANTS;
    }
    doc_slot *v = &e->docs[slot];
    if (v->doc) {
        size_t b = sizeof(nc_doc) + v->doc->len + 1;
        e->bytes -= b;
        c->bytes -= b;
        api_nc_doc_unref(v->doc);
    }
    v->doc = api_nc_doc_ref(doc);
    snprintf(v->name, sizeof(v->name), "%s", variant);
    size_t b = sizeof(nc_doc) + doc->len + 1;
    e->bytes += b;
    c->bytes += b;
    shrink(c, e);
out:
    pthread_mutex_unlock(&c->lock);
}
