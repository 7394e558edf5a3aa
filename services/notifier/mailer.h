/* mailer.h — the notifier's sending loop: the mail queue in persistence out
 * over SMTP.
 *
 * One thread claims due mails from persistence with a lease (so notifiers
 * side by side never send the same mail at once, and a crashed one's mails
 * come back when the lease ends), renders each with the fresh token
 * persistence minted for it, sends it, and reports the outcome at once:
 * sent (never sent again), retry later (jittered exponential backoff, up to
 * --mail-max-attempts), or rejected for good. Confirmation mails queued by
 * the api's subscription requests go the same way as alerts.
 * The loop sleeps on the doorbell queue between rounds (the consumer rings it
 * when it queued alerts) or --mail-poll-ms.
 * The one window for a duplicate: the server took the mail and the process
 * died before persistence heard of it; the resent mail has the same
 * Message-ID. Metrics: nimbus_notifier_mails_total{kind,result},
 * nimbus_notifier_mails_pending, nimbus_notifier_mails_oldest_pending_seconds. */
#ifndef NOTIFIER_MAILER_H
#define NOTIFIER_MAILER_H

#include <stdbool.h>

#include "nimbus/buf.h"
#include "nimbus/err.h"
#include "nimbus/queue.h"
#include "notifier_config.h"
#include "store_client.h"

typedef struct nt_mailer nt_mailer;

/* All borrowed; they must outlive the mailer. */
nt_mailer *nt_mailer_new(const nt_config *cfg, nt_store *store, nb_queue *doorbell);
nb_err nt_mailer_start(nt_mailer *m);
/* Finishes the mail being sent (bounded by the SMTP timeout), hands back the
 * rest of the claim, stops the thread and frees. */
void nt_mailer_free(nt_mailer *m);
/* For /readyz: "smtp":"ok|failing|unknown" and the last SMTP error. */
void nt_mailer_status(nt_mailer *m, nb_buf *out);

#endif
