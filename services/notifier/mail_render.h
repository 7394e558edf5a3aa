/* mail_render.h — what the notifier's mails say.
 *
 * An alert is decided when its event is consumed and sent later (maybe after
 * a restart or an SMTP outage), so what it will say is fixed at decision
 * time: nt_alert_payload() writes the observation, the matches and the next
 * days into a JSON payload that persistence keeps with the queued mail, and
 * nt_render() turns a claimed mail (payload, subscription, fresh token) into
 * a subject, a plain-text part and an HTML part. Confirmation mails carry no
 * payload: the subscription is all they need.
 *
 * Every mail names the place and its local time, links to the manage page
 * (alerts) or the confirm page (confirmations) under the public URL, and ends
 * with "Weather data by Open-Meteo.com". Everything from outside (place
 * names, conditions) is HTML-escaped in the HTML part.
 * Pure functions, thread-safe. */
#ifndef NOTIFIER_MAIL_RENDER_H
#define NOTIFIER_MAIL_RENDER_H

#include <jansson.h>

#include "nimbus/err.h"
#include "nimbus/record.h"
#include "nimbus/rules.h"
#include "rules_eval.h"

/* A mail as persistence hands it out for sending (see store_client.h). */
typedef struct nt_mail {
    char id[40];
    char kind[16]; /* "confirmation" or "alert" */
    char email[256];
    char subscription[40];
    char place_name[160];
    char place_key[NB_KEY_MAX];
    char timezone[64];
    json_t *rules;   /* the subscription's canonical rules (owned) */
    json_t *quiet;   /* its quiet hours or null (owned) */
    json_t *payload; /* alerts: nt_alert_payload(); confirmations: null (owned) */
    char token[128]; /* confirmation: the confirm token; alert: a manage token */
    long token_ttl_s;
    int attempts; /* sends tried before this one */
} nt_mail;

void nt_mail_release(nt_mail *m);

typedef struct nt_rendered {
    const char *kind; /* X-Nimbus-Kind: "confirmation", "alert" or "digest" (static) */
    char *subject, *text, *html;
    char *unsubscribe_url; /* alerts: the one-click URL; NULL for confirmations */
} nt_rendered;

/* The payload of an alert: the event's observation, the matches (with each
 * rule's limit), the local time at decision and the next three days of the
 * record (rec may be NULL). New reference, NULL on no memory. */
json_t *nt_alert_payload(const char *event_id, const nt_obs *obs, const nb_record *rec,
                         const nb_rules *rules, const nt_match *matches, int nmatch,
                         const char *local_time);

/* Renders m. public_url: front's public base URL, without a trailing slash.
 * NB_ERR_INVALID when the mail cannot be rendered (unknown kind, alert
 * without payload), NB_ERR_NOMEM. out is released on failure. */
nb_err nt_render(const nt_mail *m, const char *public_url, nt_rendered *out);
void nt_rendered_release(nt_rendered *r);

#endif
