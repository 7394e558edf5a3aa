/* heap.h — a binary min-heap of intrusive nodes ordered by a 64-bit key: the
 * one way nimbus keeps "what is due next" (waiter deadlines, result expiries,
 * retry times) without scanning everything.
 *
 * A node is embedded in the caller's struct; recover the struct with
 * NB_CONTAINER_OF. A node is in at most one heap at a time; nb_heap_remove()
 * takes it out from anywhere in O(log n). Equal keys come out in no
 * particular order.
 *
 * Ownership: the heap holds borrowed pointers to nodes; it owns only its array.
 * Not thread-safe: the owner serialises access (its own lock). */
#ifndef NIMBUS_HEAP_H
#define NIMBUS_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nimbus/err.h"

#define NB_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

typedef struct nb_heap_node {
    int64_t key;
    size_t pos; /* index + 1 while in a heap, 0 otherwise */
} nb_heap_node;

typedef struct nb_heap {
    nb_heap_node **a;
    size_t len, alloc;
} nb_heap;

void nb_heap_init(nb_heap *h);
/* Frees the array; nodes still in it are simply forgotten (marked out). */
void nb_heap_release(nb_heap *h);

/* Inserts n (not in any heap) with key. NB_ERR_NOMEM leaves the heap unchanged. */
nb_err nb_heap_push(nb_heap *h, nb_heap_node *n, int64_t key);
/* The node with the smallest key, or NULL when empty (stays in the heap). */
nb_heap_node *nb_heap_peek(const nb_heap *h);
/* Removes and returns the node with the smallest key, or NULL. */
nb_heap_node *nb_heap_pop(nb_heap *h);
/* Takes n out of h; a no-op when n is in no heap. */
void nb_heap_remove(nb_heap *h, nb_heap_node *n);
static inline bool nb_heap_node_queued(const nb_heap_node *n)
{
    return n->pos != 0;
}
static inline size_t nb_heap_len(const nb_heap *h)
{
    return h->len;
}

#endif
