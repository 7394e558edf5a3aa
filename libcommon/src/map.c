/* map.c — SipHash-1-3 and a chained hash map over it (see map.h). */
#include "nimbus/map.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "nimbus/clock.h"

struct nb_map_entry {
    nb_map_entry *next;
    uint64_t hash;
    void *value;
    char key[]; /* NUL-terminated */
};

/* ---- SipHash-1-3 (Aumasson & Bernstein; 1 compression, 3 finalisation rounds) */

static uint64_t sip_k0, sip_k1;
static pthread_once_t sip_once = PTHREAD_ONCE_INIT;

static void sip_seed(void)
{
    uint64_t k[2];
    if (getrandom(k, sizeof(k), 0) != sizeof(k)) {
        k[0] = (uint64_t)nb_now_ms() * 0x9e3779b97f4a7c15ULL;
        k[1] = (uint64_t)nb_mono_ms() ^ (uint64_t)(uintptr_t)&sip_k0;
    }
    sip_k0 = k[0];
    sip_k1 = k[1];
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t siphash13(uint64_t k0, uint64_t k1, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1,
             v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    const unsigned char *end = p + (n & ~(size_t)7);
    for (; p < end; p += 8) {
        uint64_t m = load_le64(p);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)n << 56;
    for (size_t i = 0; i < (n & 7); i++)
        b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t nb_hash(const void *data, size_t n)
{
    pthread_once(&sip_once, sip_seed);
    return siphash13(sip_k0, sip_k1, data, n);
}

uint64_t nb_hash_stable(const void *data, size_t n)
{
    return siphash13(0x6e696d6275732d31ULL, 0x657461672d6b6579ULL, data,
                     n); /* "nimbus-1etag-key" */
}

/* ---- map ------------------------------------------------------------- */

void nb_map_init(nb_map *m)
{
    *m = (nb_map){0};
}

void nb_map_release(nb_map *m, void (*free_value)(void *value))
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (nb_map_entry *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            if (free_value) free_value(e->value);
            free(e);
        }
    }
    free(m->buckets);
    *m = (nb_map){0};
}

static nb_map_entry **slot(const nb_map *m, const char *key, uint64_t h)
{
    nb_map_entry **pp = &m->buckets[h & (m->nbuckets - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
        pp = &(*pp)->next;
    return pp;
}

void *nb_map_get(const nb_map *m, const char *key)
{
    if (m->len == 0) return NULL;
    nb_map_entry *e = *slot(m, key, nb_hash(key, strlen(key)));
    return e ? e->value : NULL;
}

/* Doubles the table (or makes the first one); false on no memory. */
static bool grow(nb_map *m)
{
    size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
    nb_map_entry **b = calloc(n, sizeof(*b));
    if (!b) return false;
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (nb_map_entry *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
    return true;
}

nb_err nb_map_put(nb_map *m, const char *key, void *value, void **old)
{
    if (old) *old = NULL;
    if (m->len >= m->nbuckets && !grow(m) && m->nbuckets == 0) return NB_ERR_NOMEM;
    size_t klen = strlen(key);
    uint64_t h = nb_hash(key, klen);
    nb_map_entry **pp = slot(m, key, h);
    if (*pp) {
        if (old) *old = (*pp)->value;
        (*pp)->value = value;
        return NB_OK;
    }
    nb_map_entry *e = malloc(sizeof(*e) + klen + 1);
    if (!e) return NB_ERR_NOMEM;
    e->next = NULL;
    e->hash = h;
    e->value = value;
    memcpy(e->key, key, klen + 1);
    *pp = e;
    m->len++;
    return NB_OK;
}

void *nb_map_remove(nb_map *m, const char *key)
{
    if (m->len == 0) return NULL;
    nb_map_entry **pp = slot(m, key, nb_hash(key, strlen(key))), *e = *pp;
    if (!e) return NULL;
    void *v = e->value;
    *pp = e->next;
    free(e);
    m->len--;
    return v;
}

size_t nb_map_len(const nb_map *m)
{
    return m->len;
}

void nb_map_sweep(nb_map *m, nb_map_visit_fn fn, void *arg)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (nb_map_entry **pp = &m->buckets[i]; *pp;) {
            nb_map_entry *e = *pp;
            if (fn(e->key, e->value, arg)) {
                *pp = e->next;
                free(e);
                m->len--;
            } else {
                pp = &e->next;
            }
        }
    }
}
