/* store.c — what every store backend shares: persistence's resource names,
 * which of its refusals are final (see store.h). */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/http_client.h"

bool api_store_err_transient(nb_err e)
{
    switch (e) {
    case NB_ERR_INVALID:
    case NB_ERR_NOT_FOUND:
    case NB_ERR_TOO_LARGE:
    case NB_ERR_MEDIA_TYPE:
    case NB_ERR_METHOD:
    case NB_ERR_CONFLICT:
        return false;
    default:
        return true;
    }
}

char *api_store_record_path(const char *key, const char *name)
{
    char *q = name && *name ? nb_url_escape(name) : NULL;
    if (name && *name && !q) return NULL;
    size_t n = strlen(key) + (q ? strlen(q) + 8 : 0) + 16;
    char *p = malloc(n);
    if (p) snprintf(p, n, "/v1/records/%s%s%s", key, q ? "?name=" : "", q ? q : "");
    free(q);
    return p;
}

char *api_store_geo_path(const char *query)
{
    char *q = nb_url_escape(query);
    if (!q) return NULL;
    size_t n = strlen(q) + 16;
    char *p = malloc(n);
    if (p) snprintf(p, n, "/v1/geocode/%s", q);
    free(q);
    return p;
}

char *api_store_with_lease(char *path, const char *token)
{
    if (!path || !token || !*token) return path;
    size_t n = strlen(path) + strlen(token) + 8;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s%clease=%s", path, strchr(path, '?') ? '&' : '?', token);
    free(path);
    return p;
}

void api_store_reply_release(store_reply *r)
{
    if (!r) return;
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

void api_outbox_events_free(outbox_event *evs, size_t n)
{
    for (size_t i = 0; evs && i < n; i++)
        free(evs[i].json);
    free(evs);
}
