/* kv.c — helpers shared by every kv backend (see kv.h). Thread-safe. */
#include "kv.h"

#include <stdlib.h>

void ps_kv_value_release(kv_value *v)
{
    free(v->data);
    v->data = NULL;
    v->len = 0;
    v->version_ms = 0;
    v->expires_at_ms = 0;
}

const char *ps_kv_ns_name(kv_ns ns)
{
    switch (ns) {
    case KV_NS_RECORD:
        return "rec";
    case KV_NS_GEOCODE:
        return "geo";
    default:
        return "unknown";
    }
}

void ps_kv_outbox_events_free(kv_outbox_event *evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(evs[i].data);
    free(evs);
}
