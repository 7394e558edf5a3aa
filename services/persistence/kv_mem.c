/* kv_mem.c — in-memory kv backend for unit tests (see kv_mem.h).
 *
 * A small linked list per instance, guarded by one mutex; fine for tests,
 * not meant for volume. Owns copies of every key and value. */
#include "kv_mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/clock.h"

typedef struct mem_entry {
    struct mem_entry *next;
    kv_ns ns;
    char *key;
    char *data;
    size_t len;
    int64_t version_ms;
    int64_t expires_at_ms; /* 0 = never */
} mem_entry;

typedef struct kv_mem {
    kv base;
    char name[32];
    int64_t ttl_ms;
    pthread_mutex_t mu;
    mem_entry *head;
    bool down;
    int delay_ms;
    unsigned gets, puts, dels, resets;
} kv_mem;

static kv_mem *as_mem(kv *k)
{
    return (kv_mem *)k;
}

/* Simulated latency, outside the lock so other callers are not serialised. */
static void mem_delay(kv_mem *m)
{
    pthread_mutex_lock(&m->mu);
    int ms = m->delay_ms;
    pthread_mutex_unlock(&m->mu);
    if (ms > 0) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static bool entry_live(const mem_entry *e, int64_t now)
{
    return e->expires_at_ms == 0 || e->expires_at_ms > now;
}

/* Caller holds mu. */
static mem_entry **find_slot(kv_mem *m, kv_ns ns, const char *key)
{
    mem_entry **p = &m->head;
    for (; *p; p = &(*p)->next)
        if ((*p)->ns == ns && strcmp((*p)->key, key) == 0) return p;
    return p;
}

static void entry_free(mem_entry *e)
{
    free(e->key);
    free(e->data);
    free(e);
}

static nb_err mem_get(kv *k, kv_ns ns, const char *key, kv_value *out)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_ERR_NOT_FOUND;

    pthread_mutex_lock(&m->mu);
    m->gets++;
    if (m->down) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_unlock;
    }
    mem_entry *e = *find_slot(m, ns, key);
    if (!e || !entry_live(e, nb_now_ms())) goto out_unlock;
    out->data = malloc(e->len + 1);
    if (!out->data) {
        rc = NB_ERR_NOMEM;
        goto out_unlock;
    }
    memcpy(out->data, e->data, e->len);
    out->data[e->len] = '\0';
    out->len = e->len;
    out->version_ms = e->version_ms;
    out->expires_at_ms = e->expires_at_ms;
    rc = NB_OK;
out_unlock:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static nb_err mem_put(kv *k, kv_ns ns, const char *key, int64_t version_ms, int64_t expires_at_ms,
                      const char *data, size_t len, kv_put_result *res)
{
    kv_mem *m = as_mem(k);
    mem_delay(m);
    nb_err rc = NB_OK;
    int64_t now = nb_now_ms();

    pthread_mutex_lock(&m->mu);
    m->puts++;
    if (m->down) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_unlock;
    }
    mem_entry **slot = find_slot(m, ns, key);
    mem_entry *e = *slot;
    if (e && entry_live(e, now) && e->version_ms >= version_ms) {
        res->applied = false;
        res->stored_ms = e->version_ms;
        goto out_unlock;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        rc = NB_ERR_NOMEM;
        goto out_unlock;
    }
    memcpy(copy, data, len);
    copy[len] = '\0';
    if (!e) {
        e = calloc(1, sizeof(*e));
        char *kcopy = strdup(key);
        if (!e || !kcopy) {
            free(e);
            free(kcopy);
            free(copy);
            rc = NB_ERR_NOMEM;
            goto out_unlock;
        }
        e->ns = ns;
        e->key = kcopy;
        *slot = e;
    }
    free(e->data);
    e->data = copy;
    e->len = len;
    e->version_ms = version_ms;
    e->expires_at_ms = expires_at_ms;
    if (m->ttl_ms > 0 && (e->expires_at_ms == 0 || e->expires_at_ms > now + m->ttl_ms))
        e->expires_at_ms = now + m->ttl_ms;
    res->applied = true;
    res->stored_ms = version_ms;
out_unlock:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static nb_err mem_del(kv *k, kv_ns ns, const char *key)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_OK;

    pthread_mutex_lock(&m->mu);
    m->dels++;
    if (m->down) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_unlock;
    }
    mem_entry **slot = find_slot(m, ns, key);
    mem_entry *e = *slot;
    if (e) {
        *slot = e->next;
        entry_free(e);
    }
out_unlock:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static nb_err mem_ping(kv *k)
{
    kv_mem *m = as_mem(k);
    pthread_mutex_lock(&m->mu);
    nb_err rc = m->down ? NB_ERR_UNAVAILABLE : NB_OK;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static void mem_reset(kv *k)
{
    kv_mem *m = as_mem(k);
    pthread_mutex_lock(&m->mu);
    m->resets++;
    pthread_mutex_unlock(&m->mu);
}

static void mem_free(kv *k)
{
    kv_mem *m = as_mem(k);
    mem_entry *e = m->head;
    while (e) {
        mem_entry *next = e->next;
        entry_free(e);
        e = next;
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static const kv_ops mem_ops = {
    .name = "mem",
    .get = mem_get,
    .put_if_newer = mem_put,
    .del = mem_del,
    .ping = mem_ping,
    .reset = mem_reset,
    .free = mem_free,
};

kv *kv_mem_new(const char *name, int64_t ttl_ms)
{
    kv_mem *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->base.ops = &mem_ops;
    strncpy(m->name, name ? name : "mem", sizeof(m->name) - 1);
    m->base.name = m->name;
    m->ttl_ms = ttl_ms;
    pthread_mutex_init(&m->mu, NULL);
    return &m->base;
}

void kv_mem_set_down(kv *k, bool down)
{
    kv_mem *m = as_mem(k);
    pthread_mutex_lock(&m->mu);
    m->down = down;
    pthread_mutex_unlock(&m->mu);
}

void kv_mem_set_delay_ms(kv *k, int ms)
{
    kv_mem *m = as_mem(k);
    pthread_mutex_lock(&m->mu);
    m->delay_ms = ms;
    pthread_mutex_unlock(&m->mu);
}

#define MEM_COUNTER(field)                                                                         \
    unsigned kv_mem_##field(kv *k)                                                                 \
    {                                                                                              \
        kv_mem *m = as_mem(k);                                                                     \
        pthread_mutex_lock(&m->mu);                                                                \
        unsigned v = m->field;                                                                     \
        pthread_mutex_unlock(&m->mu);                                                              \
        return v;                                                                                  \
    }
MEM_COUNTER(gets)
MEM_COUNTER(puts)
MEM_COUNTER(dels)
MEM_COUNTER(resets)

nb_err kv_mem_peek(kv *k, kv_ns ns, const char *key, int64_t *version_ms)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_ERR_NOT_FOUND;
    pthread_mutex_lock(&m->mu);
    mem_entry *e = *find_slot(m, ns, key);
    if (e && entry_live(e, nb_now_ms())) {
        *version_ms = e->version_ms;
        rc = NB_OK;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}
