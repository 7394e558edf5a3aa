/* sub_request.c — reading subscription requests (see sub_request.h). */
#include "sub_request.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nimbus/text.h"

static bool coordinate(const json_t *v, double lo, double hi, double *out)
{
    if (!json_is_number(v)) return false;
    *out = json_number_value(v);
    return isfinite(*out) && *out >= lo && *out <= hi;
}

static nb_err refuse(char *why, size_t whylen, const char *reason)
{
    snprintf(why, whylen, "%s", reason);
    return NB_ERR_INVALID;
}

/* The place: a name to resolve, or coordinates. */
static nb_err read_place(const json_t *b, sub_request *out, char *why, size_t whylen)
{
    const json_t *city = json_object_get(b, "city"), *lat = json_object_get(b, "lat"),
                 *lon = json_object_get(b, "lon");
    if (city && (lat || lon))
        return refuse(why, whylen, "give either city or lat and lon, not both");
    if (city) {
        const char *bad = "a place name";
        if (!json_is_string(city) ||
            nb_geo_normalise(json_string_value(city), out->city, &bad) != NB_OK) {
            snprintf(why, whylen, "city: %s", bad);
            return NB_ERR_INVALID;
        }
        const char *given = json_string_value(city);
        snprintf(out->city_given, sizeof(out->city_given), "%.*s",
                 (int)nb_utf8_prefix(given, NB_QUERY_MAX), given);
        out->by_name = true;
        return NB_OK;
    }
    if (!lat && !lon) return refuse(why, whylen, "missing city, or lat and lon");
    if (!lat || !lon) return refuse(why, whylen, "lat and lon must be given together");
    double la, lo, kla, klo;
    if (!coordinate(lat, -90, 90, &la))
        return refuse(why, whylen, "lat must be a number from -90 to 90");
    if (!coordinate(lon, -180, 180, &lo))
        return refuse(why, whylen, "lon must be a number from -180 to 180");
    if (nb_location_key(la, lo, out->key) != NB_OK || !nb_location_key_valid(out->key, &kla, &klo))
        return refuse(why, whylen, "lat and lon do not name a place");
    out->by_name = false;
    snprintf(out->name, sizeof(out->name), "%.2f, %.2f", kla, klo);
    return NB_OK;
}

nb_err api_sub_request_parse(const char *body, size_t len, sub_request *out, char *why,
                             size_t whylen)
{
    static const char *const known[] = {"email", "city", "lat", "lon", "rules", "quiet_hours"};
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *b = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    nb_err e = NB_ERR_INVALID;
    if (!json_is_object(b)) {
        const char *what = b ? "got another JSON value" : jerr.text;
        snprintf(why, whylen, "the body must be a JSON object (%.*s)",
                 (int)nb_utf8_prefix(what, 160), what);
        goto out;
    }
    const char *field;
    json_t *v;
    json_object_foreach(b, field, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok = ok || strcmp(field, known[i]) == 0;
        if (!ok) {
            char shown[41];
            snprintf(shown, sizeof(shown), "%.*s", (int)nb_utf8_prefix(field, 40), field);
            snprintf(why, whylen,
                     "unknown field '%s' (email, city or lat and lon, rules, quiet_hours)", shown);
            goto out;
        }
    }
    const char *email = json_string_value(json_object_get(b, "email")), *bad = "missing";
    if (!email || !nb_email_valid(email, &bad)) {
        snprintf(why, whylen, "email: %s", bad ? bad : "not an address");
        goto out;
    }
    snprintf(out->email, sizeof(out->email), "%s", email);
    e = nb_rules_parse(json_object_get(b, "rules"), json_object_get(b, "quiet_hours"), &out->rules,
                       why, whylen);
    if (e == NB_OK) e = read_place(b, out, why, whylen);
out:
    json_decref(b);
    return e;
}

bool api_sub_token_read(const char *query, const char *body, size_t len,
                        char out[SUB_TOKEN_MAX + 1])
{
    json_t *doc = NULL;
    const char *t = query;
    if (!t && body && len) {
        doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        t = json_string_value(json_object_get(doc, "token"));
    }
    size_t n = t ? strlen(t) : 0;
    bool ok = n >= 16 && n <= SUB_TOKEN_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
             (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_';
    if (ok) memcpy(out, t, n + 1);
    json_decref(doc);
    return ok;
}

void api_sub_place_name(const nb_place *p, char out[SUB_NAME_MAX + 1])
{
    int name = (int)nb_utf8_prefix(p->name, 100), country = (int)nb_utf8_prefix(p->country, 45);
    if (country)
        snprintf(out, SUB_NAME_MAX + 1, "%.*s, %.*s", name, p->name, country, p->country);
    else
        snprintf(out, SUB_NAME_MAX + 1, "%.*s", name, p->name);
}
