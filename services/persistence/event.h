/* event.h — the notification event of a new observation (proto/event.schema.json),
 * as persistence writes it into the outbox.
 *
 * The event id is a UUID v4 made here; `time` is when the event was made;
 * the observation is the record's `current` with its WMO condition text
 * (libcommon wmo.h).
 * Pure functions (event_uuid_v4 reads the kernel's random source): thread-safe. */
#ifndef NIMBUS_PERSISTENCE_EVENT_H
#define NIMBUS_PERSISTENCE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv.h"
#include "nimbus/record.h"

/* A fresh random (version 4) UUID, lowercase text; NB_ERR_INTERNAL when the
 * kernel's random source fails. */
nb_err ps_event_uuid_v4(char out[KV_UUID_LEN + 1]);
/* True when s is a UUID in text form (8-4-4-4-12 hex digits, any case). */
bool ps_event_uuid_valid(const char *s);

/* The event JSON for record r (compact; caller frees), or NULL on no memory.
 * name (may be NULL or "") becomes location.name; id is the event id and
 * now_ms its time. */
char *ps_event_build(const nb_record *r, const char *name, const char *id, int64_t now_ms,
                     size_t *len);

#endif
