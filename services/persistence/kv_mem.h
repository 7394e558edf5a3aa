/* kv_mem.h — an in-memory kv backend, for unit tests of the store logic.
 *
 * Behaves like a real store (monotonic puts, expiry against nb_now_ms(), an
 * optional TTL cap like Redis's) and can be switched "down" to simulate an
 * unreachable backend: every operation then fails with NB_ERR_UNAVAILABLE.
 * It counts the operations it served so tests can observe the store's calls.
 * It keeps an outbox too (kv_outbox_ops: the same rules as the database's,
 * with leases on nb_now_ms()), so the store's event logic is testable here,
 * and what Redis offers replicas (kv_coord_ops: renewal leases, budgets with
 * libcommon's bucket.h, the state a watcher reads), so the store's
 * coordination is too.
 * Threads: all functions are thread-safe (one mutex). */
#ifndef NIMBUS_PERSISTENCE_KV_MEM_H
#define NIMBUS_PERSISTENCE_KV_MEM_H

#include "kv.h"

/* ttl_ms: cap on every value's life (0 = none). Returns NULL on no memory. */
kv *ps_kv_mem_new(const char *name, int64_t ttl_ms);
void ps_kv_mem_set_down(kv *k, bool down);
/* Every put first sleeps this long (simulates a slow write path). */
void ps_kv_mem_set_delay_ms(kv *k, int ms);
/* Number of get/put calls made (including failed ones). */
unsigned ps_kv_mem_gets(kv *k);
unsigned ps_kv_mem_puts(kv *k);
unsigned ps_kv_mem_resets(kv *k);
/* fn(arg, op) is called on the calling thread at the start of every
 * operation ("get", "put", "del", "ping", "put_record", "claim", ...);
 * NULL removes it. */
void ps_kv_mem_on_call(kv *k, void (*fn)(void *arg, const char *op), void *arg);
/* Outbox rows kept (sent or not). */
size_t ps_kv_mem_outbox_len(kv *k);
/* Peek without counting: NB_OK and the version, or NB_ERR_NOT_FOUND. */
nb_err ps_kv_mem_peek(kv *k, kv_ns ns, const char *key, int64_t *version_ms);

#endif
