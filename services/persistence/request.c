/* request.c — reading persistence's requests (see request.h). */
#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nimbus/clock.h"
#include "nimbus/text.h"

nb_err ps_rq_key(kv_ns ns, const char *tail, char key[NB_QUERY_MAX + 1], char *why, size_t whylen)
{
    if (ns == KV_NS_RECORD) {
        if (nb_location_key_valid(tail, NULL, NULL)) {
            memcpy(key, tail, strlen(tail) + 1); /* valid keys are < NB_KEY_MAX */
            return NB_OK;
        }
        snprintf(why, whylen,
                 "location key must be canonical lat,lon with 2 decimals, e.g. 52.52,13.41");
        return NB_ERR_INVALID;
    }
    const char *reason = NULL;
    if (nb_geo_normalise(tail, key, &reason) == NB_OK) return NB_OK;
    snprintf(why, whylen, "invalid geocoding query: %s", reason ? reason : "unreadable");
    return NB_ERR_INVALID;
}

bool ps_rq_is_json(const char *ct)
{
    static const char json[] = "application/json";
    const size_t n = sizeof(json) - 1;
    return ct && strncasecmp(ct, json, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* A whole decimal number in [min, max]. */
static bool whole(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') return false;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max) return false;
    *out = v;
    return true;
}

nb_err ps_rq_wait(const char *newer_than, const char *wait_ms, int64_t *newer_than_ms,
                  int64_t *wait_ms_out, char *why, size_t whylen)
{
    *newer_than_ms = 0;
    *wait_ms_out = 0;
    if (newer_than && !whole(newer_than, 0, NB_TIME_MAX_MS, newer_than_ms)) {
        snprintf(why, whylen, "newer_than must be a version in milliseconds (an ETag's number)");
        return NB_ERR_INVALID;
    }
    if (wait_ms && !whole(wait_ms, 0, RQ_WAIT_MAX_MS, wait_ms_out)) {
        snprintf(why, whylen, "wait_ms must be a whole number of milliseconds from 0 to %d",
                 RQ_WAIT_MAX_MS);
        return NB_ERR_INVALID;
    }
    return NB_OK;
}

json_t *ps_rq_json_object(const char *body, size_t len, const char *const *fields, char *why,
                          size_t whylen)
{
    if (!body || len == 0) {
        snprintf(why, whylen, "empty body");
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        snprintf(why, whylen, "invalid JSON: %.*s",
                 (int)nb_utf8_prefix(jerr.text, sizeof(jerr.text)), jerr.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        snprintf(why, whylen, "body must be a JSON object");
        goto out_fail;
    }
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        const char *const *f = fields;
        while (*f && strcmp(*f, k) != 0)
            f++;
        if (!*f) {
            snprintf(why, whylen, "unknown field \"%.*s\"", (int)nb_utf8_prefix(k, 64), k);
            goto out_fail;
        }
    }
    return doc;
out_fail:
    json_decref(doc);
    return NULL;
}

/* Refuses an empty body; otherwise prepares out. */
static bool has_body(const char *body, size_t len, rq_put *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    if (body && len > 0) return true;
    snprintf(why, whylen, "empty body");
    return false;
}

nb_err ps_rq_record_put(const char *key, const char *body, size_t len, nb_record *rec, rq_put *out,
                        char *why, size_t whylen)
{
    const char *reason = NULL;
    if (!has_body(body, len, out, why, whylen)) return NB_ERR_INVALID;
    nb_err rc = nb_record_parse(body, len, rec, &reason);
    if (rc != NB_OK) {
        snprintf(why, whylen, "invalid record: %s", reason ? reason : "unreadable");
        return rc;
    }
    if (strcmp(rec->key, key) != 0) {
        snprintf(why, whylen, "record key %s does not match the path key %s", rec->key, key);
        return NB_ERR_INVALID;
    }
    out->version_ms = rec->fetched_at_ms;
    out->canon = nb_record_dump(rec, &out->len);
    if (!out->canon) {
        snprintf(why, whylen, "could not encode the record");
        return NB_ERR_NOMEM;
    }
    return NB_OK;
}

nb_err ps_rq_geo_put(const char *query, const char *body, size_t len, rq_put *out, char *why,
                     size_t whylen)
{
    const char *reason = NULL;
    if (!has_body(body, len, out, why, whylen)) return NB_ERR_INVALID;
    nb_geo_entry *g = malloc(sizeof(*g)); /* large for a worker's stack */
    nb_err rc = NB_ERR_NOMEM;
    if (!g) {
        snprintf(why, whylen, "out of memory");
        return rc;
    }
    rc = nb_geo_parse(body, len, g, &reason);
    if (rc != NB_OK) {
        snprintf(why, whylen, "invalid geocoding entry: %s", reason ? reason : "unreadable");
        goto out_free;
    }
    if (strcmp(g->query, query) != 0) {
        snprintf(why, whylen, "entry query does not match the path query");
        rc = NB_ERR_INVALID;
        goto out_free;
    }
    out->version_ms = g->resolved_at_ms;
    out->expires_at_ms = g->expires_at_ms;
    out->canon = nb_geo_dump(g, &out->len);
    if (!out->canon) {
        snprintf(why, whylen, "could not encode the entry");
        rc = NB_ERR_NOMEM;
    }
out_free:
    free(g);
    return rc;
}

void ps_rq_put_release(rq_put *p)
{
    free(p->canon);
    p->canon = NULL;
    p->len = 0;
}
