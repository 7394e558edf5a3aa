/* store_client.h — the api's client of persistence's HTTP interface (the
 * api knows nothing of Redis or PostgreSQL). Blocking calls with the
 * configured timeout; thread-safe (per-thread curl handles). */
#ifndef API_STORE_CLIENT_H
#define API_STORE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "api_config.h"
#include "memo.h"
#include "nimbus/err.h"
#include "nimbus/record.h"

typedef struct store_client store_client;

store_client *store_client_new(const api_config *cfg);
void store_client_free(store_client *s);

/* NB_OK with the record, its source ("cache" or "database") and its version
 * (etag, "" if persistence sent none). With if_none_match equal to the stored
 * version: NB_OK, *unchanged and out untouched. NB_ERR_NOT_FOUND;
 * NB_ERR_UNAVAILABLE / NB_ERR_TIMEOUT / NB_ERR_UPSTREAM when persistence fails. */
nb_err store_get_record(store_client *s, const char *key, const char *if_none_match, nb_record *out,
                        char source[16], char etag[MEMO_ETAG_MAX], bool *unchanged);
/* NB_OK with the entry (expired entries are never returned); NB_ERR_NOT_FOUND; errors. */
nb_err store_get_geo(store_client *s, const char *query, nb_geo_entry *out);

/* PUT a JSON body to a persistence path ("/v1/records/..."). NB_OK when stored
 * (or already newer there); *retryable tells a transient failure from a refusal. */
nb_err store_put(store_client *s, const char *path, const char *body, size_t len, bool *retryable,
                 char *errmsg, size_t errlen);
/* Paths for the writer. Caller frees. */
char *store_record_path(const char *key);
char *store_geo_path(const char *query);

/* true when persistence's /healthz answers. */
bool store_ping(store_client *s);

#endif
