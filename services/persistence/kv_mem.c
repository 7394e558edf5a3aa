/* kv_mem.c — in-memory kv backend for unit tests (see kv_mem.h).
 *
 * A small linked list per instance, guarded by one mutex; fine for tests,
 * not meant for volume. Owns copies of every key and value. The outbox is a
 * second list in creation order; its decisions are taken under the same
 * mutex, which plays the part of the database's row lock. */
#include "kv_mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/bucket.h"
#include "nimbus/clock.h"

typedef struct mem_entry {
    struct mem_entry *next;
    kv_ns ns;
    char *key;
    char *data;
    size_t len;
    int64_t version_ms;
    int64_t expires_at_ms; /* 0 = never */
    char *observed;        /* records put with an event: current.time (else NULL) */
} mem_entry;

typedef struct mem_event {
    struct mem_event *next;
    char id[KV_UUID_LEN + 1];
    char key[32];
    char *data;
    size_t len;
    int64_t created_ms, lease_until_ms, sent_ms; /* 0 = none */
    char owner[80];                              /* "" = unclaimed */
} mem_event;

/* A lease: value is the holder's token, or "!<retry_after_s> <reason>" for a
 * failure kept after its holder released it. */
typedef struct mem_lease {
    struct mem_lease *next;
    kv_ns ns;
    char key[256];
    char value[200];
    int64_t until_ms;
} mem_lease;

typedef struct mem_budget {
    struct mem_budget *next;
    char name[64];
    nb_bucket bucket;
} mem_budget;

typedef struct kv_mem {
    kv base;
    char name[32];
    int64_t ttl_ms;
    pthread_mutex_t mu;
    mem_entry *head;
    mem_event *events, **events_tail;
    mem_lease *leases;
    mem_budget *budgets;
    bool down;
    int delay_ms;
    unsigned gets, puts, resets;
    void (*on_call)(void *arg, const char *op);
    void *on_call_arg;
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

/* Tells the test's hook about a call, on the calling thread. */
static void mem_called(kv_mem *m, const char *op)
{
    pthread_mutex_lock(&m->mu);
    void (*fn)(void *, const char *) = m->on_call;
    void *arg = m->on_call_arg;
    pthread_mutex_unlock(&m->mu);
    if (fn) fn(arg, op);
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
    free(e->observed);
    free(e);
}

static nb_err mem_get(kv *k, kv_ns ns, const char *key, kv_value *out)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_ERR_NOT_FOUND;

    mem_called(m, "get");
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

/* The monotonic put; caller holds mu. *prev (may be NULL) gets the entry's
 * observation before the write (NULL when there was no live entry); observed
 * (may be NULL) is stored with the value. */
static nb_err put_locked(kv_mem *m, kv_ns ns, const char *key, int64_t version_ms,
                         int64_t expires_at_ms, const char *data, size_t len, const char *observed,
                         char **prev, bool *had, kv_put_result *res)
{
    int64_t now = nb_now_ms();
    mem_entry **slot = find_slot(m, ns, key);
    mem_entry *e = *slot;
    *had = e && entry_live(e, now);
    if (*had && e->version_ms >= version_ms) {
        res->applied = false;
        res->stored_ms = e->version_ms;
        return NB_OK;
    }
    char *copy = malloc(len + 1);
    char *obs = observed ? strdup(observed) : NULL;
    if (!copy || (observed && !obs)) {
        free(copy);
        free(obs);
        return NB_ERR_NOMEM;
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
            free(obs);
            return NB_ERR_NOMEM;
        }
        e->ns = ns;
        e->key = kcopy;
        *slot = e;
    }
    free(e->data);
    if (prev && *had)
        *prev = e->observed; /* the caller frees it */
    else
        free(e->observed);
    e->observed = obs;
    e->data = copy;
    e->len = len;
    e->version_ms = version_ms;
    e->expires_at_ms = expires_at_ms;
    if (m->ttl_ms > 0 && (e->expires_at_ms == 0 || e->expires_at_ms > now + m->ttl_ms))
        e->expires_at_ms = now + m->ttl_ms;
    res->applied = true;
    res->stored_ms = version_ms;
    return NB_OK;
}

static nb_err mem_put(kv *k, kv_ns ns, const char *key, int64_t version_ms, int64_t expires_at_ms,
                      const char *data, size_t len, kv_put_result *res)
{
    kv_mem *m = as_mem(k);
    bool had;
    mem_called(m, "put");
    mem_delay(m);
    pthread_mutex_lock(&m->mu);
    m->puts++;
    nb_err rc = m->down ? NB_ERR_UNAVAILABLE
                        : put_locked(m, ns, key, version_ms, expires_at_ms, data, len, NULL, NULL,
                                     &had, res);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static nb_err mem_del(kv *k, kv_ns ns, const char *key)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_OK;

    mem_called(m, "del");
    pthread_mutex_lock(&m->mu);
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
    mem_called(m, "ping");
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
    mem_event *ev = m->events;
    while (ev) {
        mem_event *next = ev->next;
        free(ev->data);
        free(ev);
        ev = next;
    }
    for (mem_lease *l = m->leases, *next; l; l = next) {
        next = l->next;
        free(l);
    }
    for (mem_budget *b = m->budgets, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* --- outbox ---------------------------------------------------------------- */

static nb_err mem_put_record(kv *k, const char *key, int64_t version_ms, const char *data,
                             size_t len, const kv_event *ev, kv_put_result *res)
{
    kv_mem *m = as_mem(k);
    char *prev = NULL;
    bool had;
    nb_err rc = NB_ERR_NOMEM;

    mem_called(m, "put_record");
    mem_delay(m);
    mem_event *e = calloc(1, sizeof(*e));
    if (e) e->data = malloc(ev->len + 1);
    pthread_mutex_lock(&m->mu);
    m->puts++;
    res->event_created = false;
    if (m->down) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_unlock;
    }
    if (!e || !e->data) goto out_unlock;
    rc = put_locked(m, KV_NS_RECORD, key, version_ms, 0, data, len, ev->observed, &prev, &had, res);
    if (rc != NB_OK || !res->applied) goto out_unlock;
    if (had && prev && strcmp(prev, ev->observed) == 0) goto out_unlock; /* same observation */
    snprintf(e->id, sizeof(e->id), "%s", ev->id);
    snprintf(e->key, sizeof(e->key), "%s", key);
    memcpy(e->data, ev->data, ev->len);
    e->data[ev->len] = '\0';
    e->len = ev->len;
    e->created_ms = nb_now_ms();
    *m->events_tail = e;
    m->events_tail = &e->next;
    e = NULL;
    res->event_created = true;
out_unlock:
    pthread_mutex_unlock(&m->mu);
    free(prev);
    if (e) free(e->data);
    free(e);
    return rc;
}

static mem_event *event_find(kv_mem *m, const char *id)
{
    for (mem_event *e = m->events; e; e = e->next)
        if (strcmp(e->id, id) == 0) return e;
    return NULL;
}

static nb_err mem_claim(kv *k, const char *owner, int limit, int lease_ms, kv_outbox_event **out,
                        size_t *n)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_OK;
    int64_t now = nb_now_ms();

    mem_called(m, "claim");
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&m->mu);
    if (m->down) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_unlock;
    }
    kv_outbox_event *evs = calloc((size_t)limit, sizeof(*evs));
    if (!evs) {
        rc = NB_ERR_NOMEM;
        goto out_unlock;
    }
    size_t got = 0;
    for (mem_event *e = m->events; e && got < (size_t)limit; e = e->next) {
        if (e->sent_ms || (e->owner[0] && e->lease_until_ms > now)) continue;
        kv_outbox_event *o = &evs[got];
        o->data = strdup(e->data);
        if (!o->data) {
            ps_kv_outbox_events_free(evs, got);
            rc = NB_ERR_NOMEM;
            goto out_unlock;
        }
        o->len = e->len;
        snprintf(o->id, sizeof(o->id), "%s", e->id);
        snprintf(o->key, sizeof(o->key), "%s", e->key);
        snprintf(e->owner, sizeof(e->owner), "%s", owner);
        e->lease_until_ms = now + lease_ms;
        got++;
    }
    if (got) {
        *out = evs;
        *n = got;
    } else {
        free(evs);
    }
out_unlock:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static nb_err mem_ack(kv *k, size_t n, const char *const *ids, size_t *done)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_OK;
    *done = 0;
    mem_called(m, "ack");
    pthread_mutex_lock(&m->mu);
    if (m->down) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_unlock;
    }
    for (size_t i = 0; i < n; i++) {
        mem_event *e = event_find(m, ids[i]);
        if (!e || e->sent_ms) continue;
        e->sent_ms = nb_now_ms();
        e->owner[0] = '\0';
        e->lease_until_ms = 0;
        (*done)++;
    }
out_unlock:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static nb_err mem_release(kv *k, const char *owner, size_t n, const char *const *ids, size_t *done)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_OK;
    *done = 0;
    mem_called(m, "release");
    pthread_mutex_lock(&m->mu);
    if (m->down) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_unlock;
    }
    for (size_t i = 0; i < n; i++) {
        mem_event *e = event_find(m, ids[i]);
        if (!e || e->sent_ms || strcmp(e->owner, owner) != 0) continue;
        e->owner[0] = '\0';
        e->lease_until_ms = 0;
        (*done)++;
    }
out_unlock:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static nb_err mem_stats(kv *k, kv_outbox_stats *out)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_OK;
    int64_t now = nb_now_ms(), oldest = 0;
    *out = (kv_outbox_stats){0};
    mem_called(m, "stats");
    pthread_mutex_lock(&m->mu);
    if (m->down) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_unlock;
    }
    for (mem_event *e = m->events; e; e = e->next) {
        if (e->sent_ms) continue;
        if (!out->pending++) oldest = e->created_ms;
    }
    out->oldest_age_s = out->pending ? (double)(now - oldest) / 1000.0 : 0;
out_unlock:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static nb_err mem_purge(kv *k, int64_t older_than_ms, size_t *done)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_OK;
    int64_t cut = nb_now_ms() - older_than_ms;
    *done = 0;
    mem_called(m, "purge");
    pthread_mutex_lock(&m->mu);
    if (m->down) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_unlock;
    }
    m->events_tail = &m->events;
    for (mem_event **p = &m->events; *p;) {
        mem_event *e = *p;
        if (e->sent_ms && e->sent_ms < cut) {
            *p = e->next;
            free(e->data);
            free(e);
            (*done)++;
            continue;
        }
        m->events_tail = &e->next;
        p = &e->next;
    }
out_unlock:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static const kv_outbox_ops mem_outbox_ops = {
    .put_record = mem_put_record,
    .claim = mem_claim,
    .ack = mem_ack,
    .release = mem_release,
    .stats = mem_stats,
    .purge = mem_purge,
};

/* --- coordination: leases and budgets ------------------------------------- */

/* The live lease of (ns, key), or NULL; caller holds mu. Expired ones go. */
static mem_lease *lease_find(kv_mem *m, kv_ns ns, const char *key)
{
    int64_t now = nb_now_ms();
    for (mem_lease **p = &m->leases; *p;) {
        mem_lease *l = *p;
        if (l->until_ms <= now) {
            *p = l->next;
            free(l);
            continue;
        }
        if (l->ns == ns && strcmp(l->key, key) == 0) return l;
        p = &l->next;
    }
    return NULL;
}

static nb_err mem_lease_acquire(kv *k, kv_ns ns, const char *key, const char *token, int64_t ttl_ms,
                                int64_t seen_ms, kv_lease *out)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_OK;
    memset(out, 0, sizeof(*out));
    mem_called(m, "lease_acquire");
    pthread_mutex_lock(&m->mu);
    if (m->down) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_unlock;
    }
    int64_t now = nb_now_ms();
    mem_entry *e = *find_slot(m, ns, key);
    if (e && entry_live(e, now) && e->version_ms > seen_ms) {
        out->state = KV_LEASE_NEWER;
        out->version_ms = e->version_ms;
        goto out_unlock;
    }
    mem_lease *l = lease_find(m, ns, key);
    if (l) {
        out->ttl_left_ms = l->until_ms - now;
        out->state = KV_LEASE_HELD;
        if (l->value[0] == '!') {
            out->state = KV_LEASE_FAILED;
            char *end;
            out->retry_after_s = (int)strtol(l->value + 1, &end, 10);
            snprintf(out->reason, sizeof(out->reason), "%s", *end == ' ' ? end + 1 : end);
        }
        goto out_unlock;
    }
    l = calloc(1, sizeof(*l));
    if (!l) {
        rc = NB_ERR_NOMEM;
        goto out_unlock;
    }
    l->ns = ns;
    snprintf(l->key, sizeof(l->key), "%s", key);
    snprintf(l->value, sizeof(l->value), "%s", token);
    l->until_ms = now + ttl_ms;
    l->next = m->leases;
    m->leases = l;
    out->state = KV_LEASE_GRANTED;
    out->ttl_left_ms = ttl_ms;
out_unlock:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static nb_err mem_lease_release(kv *k, kv_ns ns, const char *key, const char *token,
                                int64_t hold_ms, const char *failure, bool *released)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_OK;
    *released = false;
    mem_called(m, "lease_release");
    pthread_mutex_lock(&m->mu);
    if (m->down) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_unlock;
    }
    mem_lease *l = lease_find(m, ns, key);
    if (!l || strcmp(l->value, token) != 0) goto out_unlock;
    *released = true;
    if (hold_ms > 0) {
        snprintf(l->value, sizeof(l->value), "!%s", failure ? failure : "");
        l->until_ms = nb_now_ms() + hold_ms;
    } else {
        l->until_ms = 0; /* lease_find drops it */
        lease_find(m, ns, key);
    }
out_unlock:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static nb_err mem_budget_take(kv *k, const char *name, double cost, const kv_window *w, size_t nw,
                              kv_budget *out)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_OK;
    nb_window win[NB_BUCKET_WINDOWS_MAX];
    memset(out, 0, sizeof(*out));
    if (nw > NB_BUCKET_WINDOWS_MAX) return NB_ERR_INVALID;
    for (size_t i = 0; i < nw; i++)
        win[i] = (nb_window){w[i].seconds, w[i].limit};
    mem_called(m, "budget_take");
    pthread_mutex_lock(&m->mu);
    if (m->down) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_unlock;
    }
    mem_budget *b = m->budgets;
    while (b && strcmp(b->name, name) != 0)
        b = b->next;
    if (!b) {
        b = calloc(1, sizeof(*b));
        if (!b) {
            rc = NB_ERR_NOMEM;
            goto out_unlock;
        }
        snprintf(b->name, sizeof(b->name), "%s", name);
        b->next = m->budgets;
        m->budgets = b;
    }
    int64_t now = nb_now_ms();
    nb_take t = nb_bucket_take(&b->bucket, win, nw, cost, now);
    out->granted = t.granted;
    out->retry_after_ms = t.granted ? 0 : t.retry_after_ms;
    out->window_s = t.granted ? 0 : w[t.window].seconds;
    for (size_t i = 0; i < nw; i++)
        out->left[i] = nb_bucket_level(&b->bucket, win, i, now);
out_unlock:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static nb_err mem_watch(kv *k, size_t n, const kv_ns *ns, const char *const *keys, kv_watch *out)
{
    kv_mem *m = as_mem(k);
    nb_err rc = NB_OK;
    mem_called(m, "watch");
    pthread_mutex_lock(&m->mu);
    if (m->down) {
        rc = NB_ERR_UNAVAILABLE;
        goto out_unlock;
    }
    int64_t now = nb_now_ms();
    for (size_t i = 0; i < n; i++) {
        mem_entry *e = *find_slot(m, ns[i], keys[i]);
        mem_lease *l = lease_find(m, ns[i], keys[i]);
        out[i].version_ms = e && entry_live(e, now) ? e->version_ms : 0;
        out[i].lease_held = l && l->value[0] != '!';
    }
out_unlock:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static const kv_coord_ops mem_coord_ops = {
    .lease_acquire = mem_lease_acquire,
    .lease_release = mem_lease_release,
    .budget_take = mem_budget_take,
    .watch = mem_watch,
};

static const kv_ops mem_ops = {
    .name = "mem",
    .get = mem_get,
    .put_if_newer = mem_put,
    .del = mem_del,
    .ping = mem_ping,
    .reset = mem_reset,
    .free = mem_free,
    .outbox = &mem_outbox_ops,
    .coord = &mem_coord_ops,
};

kv *ps_kv_mem_new(const char *name, int64_t ttl_ms)
{
    kv_mem *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->base.ops = &mem_ops;
    strncpy(m->name, name ? name : "mem", sizeof(m->name) - 1);
    m->base.name = m->name;
    m->ttl_ms = ttl_ms;
    m->events_tail = &m->events;
    pthread_mutex_init(&m->mu, NULL);
    return &m->base;
}

void ps_kv_mem_set_down(kv *k, bool down)
{
    kv_mem *m = as_mem(k);
    pthread_mutex_lock(&m->mu);
    m->down = down;
    pthread_mutex_unlock(&m->mu);
}

void ps_kv_mem_set_delay_ms(kv *k, int ms)
{
    kv_mem *m = as_mem(k);
    pthread_mutex_lock(&m->mu);
    m->delay_ms = ms;
    pthread_mutex_unlock(&m->mu);
}

#define MEM_COUNTER(field)                                                                         \
    unsigned ps_kv_mem_##field(kv *k)                                                              \
    {                                                                                              \
        kv_mem *m = as_mem(k);                                                                     \
        pthread_mutex_lock(&m->mu);                                                                \
        unsigned v = m->field;                                                                     \
        pthread_mutex_unlock(&m->mu);                                                              \
        return v;                                                                                  \
    }
MEM_COUNTER(gets)
MEM_COUNTER(puts)
MEM_COUNTER(resets)

nb_err ps_kv_mem_peek(kv *k, kv_ns ns, const char *key, int64_t *version_ms)
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

void ps_kv_mem_on_call(kv *k, void (*fn)(void *arg, const char *op), void *arg)
{
    kv_mem *m = as_mem(k);
    pthread_mutex_lock(&m->mu);
    m->on_call = fn;
    m->on_call_arg = arg;
    pthread_mutex_unlock(&m->mu);
}

size_t ps_kv_mem_outbox_len(kv *k)
{
    kv_mem *m = as_mem(k);
    size_t n = 0;
    pthread_mutex_lock(&m->mu);
    for (mem_event *e = m->events; e; e = e->next)
        n++;
    pthread_mutex_unlock(&m->mu);
    return n;
}
