/* map.h — a hash map from NUL-terminated string keys to pointers, and the one
 * string hash of nimbus.
 *
 * The hash is SipHash-1-3 with a key drawn from getrandom() once per process,
 * so keys chosen by clients (place names, location keys) cannot be crafted to
 * collide. Chained buckets; the table doubles when it holds more entries than
 * buckets, so lookups stay O(1) at any size.
 *
 * Ownership: the map copies keys; values are borrowed pointers the caller
 * owns (nb_map_release can free them through a callback).
 * Not thread-safe: the owner serialises access (its own lock). */
#ifndef NIMBUS_MAP_H
#define NIMBUS_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nimbus/err.h"

typedef struct nb_map_entry nb_map_entry;

typedef struct nb_map {
    nb_map_entry **buckets;
    size_t nbuckets; /* a power of two, or 0 before the first put */
    size_t len;
} nb_map;

/* Keyed 64-bit hash of n bytes (SipHash-1-3, per-process random key): for
 * tables. */
uint64_t nb_hash(const void *p, size_t n);
/* The same function with a fixed, public key: the same bytes give the same
 * value in every process and replica. For identifiers that must agree across
 * processes (ETags), never for tables fed by clients. */
uint64_t nb_hash_stable(const void *p, size_t n);

void nb_map_init(nb_map *m);
/* Frees every entry; free_value (may be NULL) is called on each value. */
void nb_map_release(nb_map *m, void (*free_value)(void *value));

/* The value stored for key, or NULL. */
void *nb_map_get(const nb_map *m, const char *key);
/* Stores value for key (the key is copied). When the key was present its
 * previous value is replaced and returned through *old (may be NULL), else
 * *old is NULL. NB_ERR_NOMEM leaves the map unchanged. */
nb_err nb_map_put(nb_map *m, const char *key, void *value, void **old);
/* Removes key; returns its value (now the caller's) or NULL. */
void *nb_map_remove(nb_map *m, const char *key);
size_t nb_map_len(const nb_map *m);

/* Calls fn on every entry (in no particular order). When fn returns true the
 * entry is removed from the map (fn must have taken care of the value). */
typedef bool (*nb_map_visit_fn)(const char *key, void *value, void *arg);
void nb_map_sweep(nb_map *m, nb_map_visit_fn fn, void *arg);

#endif
