/* heap.c — binary min-heap of intrusive nodes (see heap.h). */
#include "nimbus/heap.h"

#include <stdlib.h>

void nb_heap_init(nb_heap *h)
{
    *h = (nb_heap){0};
}

void nb_heap_release(nb_heap *h)
{
    for (size_t i = 0; i < h->len; i++)
        h->a[i]->pos = 0;
    free(h->a);
    *h = (nb_heap){0};
}

static void place(nb_heap *h, size_t i, nb_heap_node *n)
{
    h->a[i] = n;
    n->pos = i + 1;
}

static void sift_up(nb_heap *h, size_t i)
{
    nb_heap_node *n = h->a[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->a[parent]->key <= n->key) break;
        place(h, i, h->a[parent]);
        i = parent;
    }
    place(h, i, n);
}

static void sift_down(nb_heap *h, size_t i)
{
    nb_heap_node *n = h->a[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->len) break;
        if (c + 1 < h->len && h->a[c + 1]->key < h->a[c]->key) c++;
        if (n->key <= h->a[c]->key) break;
        place(h, i, h->a[c]);
        i = c;
    }
    place(h, i, n);
}

nb_err nb_heap_push(nb_heap *h, nb_heap_node *n, int64_t key)
{
    if (h->len == h->alloc) {
        size_t alloc = h->alloc ? h->alloc * 2 : 16;
        nb_heap_node **a = realloc(h->a, alloc * sizeof(*a));
        if (!a) return NB_ERR_NOMEM;
        h->a = a;
        h->alloc = alloc;
    }
    n->key = key;
    place(h, h->len++, n);
    sift_up(h, h->len - 1);
    return NB_OK;
}

nb_heap_node *nb_heap_peek(const nb_heap *h)
{
    return h->len ? h->a[0] : NULL;
}

void nb_heap_remove(nb_heap *h, nb_heap_node *n)
{
    if (!n->pos) return;
    size_t i = n->pos - 1;
    n->pos = 0;
    nb_heap_node *last = h->a[--h->len];
    if (i == h->len) return; /* it was the last one */
    place(h, i, last);
    if (i > 0 && h->a[(i - 1) / 2]->key > last->key)
        sift_up(h, i);
    else
        sift_down(h, i);
}

nb_heap_node *nb_heap_pop(nb_heap *h)
{
    nb_heap_node *n = nb_heap_peek(h);
    if (n) nb_heap_remove(h, n);
    return n;
}
