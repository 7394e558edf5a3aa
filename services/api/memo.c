/* memo.c — striped hash of remembered records and rendered documents. */
#include "memo.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/metrics.h"

#define STRIPES 64
#define BUCKETS 256 /* per stripe */
#define VARIANT_MAX 160

typedef struct entry {
    struct entry *next;          /* bucket chain */
    struct entry *older, *newer; /* insertion order, for eviction */
    char key[NB_KEY_MAX];
    char etag[MEMO_ETAG_MAX];
    nb_record rec;
    char variant[VARIANT_MAX];
    char *doc; /* rendered for (rec.fetched_at_ms, variant), or NULL */
    size_t doc_len;
} entry;

typedef struct stripe {
    pthread_mutex_t lock;
    entry *buckets[BUCKETS];
    entry *oldest, *newest;
    size_t n;
} stripe;

struct memo {
    size_t per_stripe;
    stripe s[STRIPES];
};

static uint32_t hash(const char *k)
{
    uint32_t h = 2166136261u;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 16777619u;
    return h;
}

static stripe *stripe_of(memo *m, const char *key, entry ***bucket)
{
    uint32_t h = hash(key);
    stripe *st = &m->s[h % STRIPES];
    *bucket = &st->buckets[(h / STRIPES) % BUCKETS];
    return st;
}

static entry *find(entry **bucket, const char *key)
{
    entry *e = *bucket;
    while (e && strcmp(e->key, key) != 0)
        e = e->next;
    return e;
}

size_t memo_len(memo *m)
{
    size_t n = 0;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&m->s[i].lock);
        n += m->s[i].n;
        pthread_mutex_unlock(&m->s[i].lock);
    }
    return n;
}

static int64_t len_metric(void *arg)
{
    return (int64_t)memo_len(arg);
}

memo *memo_new(size_t max_entries)
{
    memo *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->per_stripe = (max_entries + STRIPES - 1) / STRIPES;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&m->s[i].lock, NULL);
    nb_gauge_fn_new("nimbus_memo_entries", NULL,
                    "Locations whose parsed record is remembered (bounded by --memo-entries)",
                    len_metric, m);
    return m;
}

void memo_free(memo *m)
{
    if (!m) return;
    for (int i = 0; i < STRIPES; i++) {
        for (entry *e = m->s[i].oldest, *n; e; e = n) {
            n = e->newer;
            free(e->doc);
            free(e);
        }
        pthread_mutex_destroy(&m->s[i].lock);
    }
    free(m);
}

bool memo_get(memo *m, const char *key, char etag[MEMO_ETAG_MAX], nb_record *out)
{
    if (!m->per_stripe) return false;
    entry **b;
    stripe *st = stripe_of(m, key, &b);
    pthread_mutex_lock(&st->lock);
    entry *e = find(b, key);
    if (e) {
        memcpy(etag, e->etag, MEMO_ETAG_MAX);
        *out = e->rec;
    }
    pthread_mutex_unlock(&st->lock);
    return e != NULL;
}

static void unlink_entry(stripe *st, entry **bucket, entry *e)
{
    entry **pp = bucket;
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    if (e->older)
        e->older->newer = e->newer;
    else
        st->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        st->newest = e->older;
    st->n--;
}

void memo_put(memo *m, const char *key, const char *etag, const nb_record *rec)
{
    if (!m->per_stripe || strlen(etag) >= MEMO_ETAG_MAX || strlen(key) >= NB_KEY_MAX) return;
    entry **b;
    stripe *st = stripe_of(m, key, &b);
    pthread_mutex_lock(&st->lock);
    entry *e = find(b, key);
    if (!e) {
        if (st->n >= m->per_stripe && st->oldest) { /* full: forget the oldest */
            entry *old = st->oldest;
            entry **ob;
            stripe_of(m, old->key, &ob);
            unlink_entry(st, ob, old);
            free(old->doc);
            free(old);
        }
        e = calloc(1, sizeof(*e));
        if (!e) goto out;
        strcpy(e->key, key);
        e->next = *b;
        *b = e;
        e->older = st->newest;
        if (st->newest)
            st->newest->newer = e;
        else
            st->oldest = e;
        st->newest = e;
        st->n++;
    }
    strcpy(e->etag, etag);
    e->rec = *rec;
    free(e->doc);
    e->doc = NULL;
out:
    pthread_mutex_unlock(&st->lock);
}

char *memo_get_doc(memo *m, const char *key, int64_t fetched_at_ms, const char *variant,
                   size_t *len)
{
    if (!m->per_stripe) return NULL;
    entry **b;
    stripe *st = stripe_of(m, key, &b);
    char *copy = NULL;
    pthread_mutex_lock(&st->lock);
    entry *e = find(b, key);
    if (e && e->doc && e->rec.fetched_at_ms == fetched_at_ms && strcmp(e->variant, variant) == 0) {
        copy = malloc(e->doc_len + 1);
        if (copy) {
            memcpy(copy, e->doc, e->doc_len + 1);
            *len = e->doc_len;
        }
    }
    pthread_mutex_unlock(&st->lock);
    return copy;
}

void memo_put_doc(memo *m, const char *key, int64_t fetched_at_ms, const char *variant,
                  const char *doc, size_t len)
{
    if (!m->per_stripe || strlen(variant) >= VARIANT_MAX) return;
    entry **b;
    stripe *st = stripe_of(m, key, &b);
    pthread_mutex_lock(&st->lock);
    entry *e = find(b, key);
    if (e && e->rec.fetched_at_ms == fetched_at_ms) {
        char *copy = malloc(len + 1);
        if (copy) {
            memcpy(copy, doc, len);
            copy[len] = '\0';
            free(e->doc);
            e->doc = copy;
            e->doc_len = len;
            strcpy(e->variant, variant);
        }
    }
    pthread_mutex_unlock(&st->lock);
}
