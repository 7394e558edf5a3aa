/* sub_request.h — what a subscription request asks for, read from outside
 * input: the body of POST /v1/subscriptions (an address, a place given by
 * name or by coordinates, rules and quiet hours — each checked with
 * libcommon's one check of it), the token of the token routes, and the
 * place name stored with a subscription.
 *
 * Every refusal comes with the reason its 400 answer gives, naming the
 * field. Pure: no I/O, inputs borrowed, outputs in caller memory.
 * Thread-safe. */
#ifndef API_SUB_REQUEST_H
#define API_SUB_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "nimbus/email.h"
#include "nimbus/err.h"
#include "nimbus/record.h"
#include "nimbus/rules.h"

#define SUB_NAME_MAX 150 /* bytes of the place name stored with a subscription */
#define SUB_TOKEN_MAX 128

typedef struct sub_request {
    char email[NB_EMAIL_MAX + 1];
    bool by_name;                      /* true: city holds the place; false: key and name do */
    char city[NB_QUERY_MAX + 1];       /* normalised place name (nb_geo_normalise), to resolve */
    char city_given[NB_QUERY_MAX + 1]; /* as given (cut between characters), for messages */
    char key[NB_KEY_MAX];              /* location key of lat/lon */
    char name[SUB_NAME_MAX + 1];       /* "52.52, 13.41" for coordinates */
    nb_rules rules;                    /* validated; NB_RULES_DEFAULT when absent */
} sub_request;

/* Reads a POST /v1/subscriptions body (JSON: {"email", "city" | "lat" +
 * "lon", "rules"?, "quiet_hours"?}; no other field) into out. NB_OK, or
 * NB_ERR_INVALID with the reason in why (e.g. "email: no @",
 * "lat must be a number from -90 to 90"). */
nb_err api_sub_request_parse(const char *body, size_t len, sub_request *out, char *why,
                             size_t whylen);

/* The token a token route was given: ?token= (query, may be NULL) or else
 * the JSON body's "token" (body may be NULL). True with it copied into out
 * when it is 16 to 128 characters of base64url; false otherwise. */
bool api_sub_token_read(const char *query, const char *body, size_t len,
                        char out[SUB_TOKEN_MAX + 1]);

/* The name stored with a subscription to place p: "<name>, <country>" (or
 * the name alone), cut to fit SUB_NAME_MAX bytes between characters. */
void api_sub_place_name(const nb_place *p, char out[SUB_NAME_MAX + 1]);

#endif
