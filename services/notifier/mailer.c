/* mailer.c — claim, render, send, report (see mailer.h). */
#include "mailer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail_render.h"
#include "mime.h"
#include "nimbus/backoff.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"
#include "smtp.h"

#define CLAIM_MAX 500
#define STORE_RETRY_MAX_MS 5000

enum { K_CONFIRMATION, K_ALERT, K_DIGEST, K_COUNT };
enum { R_SENT, R_RETRIED, R_FAILED, R_COUNT };

struct nt_mailer {
    const nt_config *cfg;
    nt_store *store;
    nb_queue *doorbell;
    nt_smtp_opts smtp_opts;
    pthread_t thread;
    bool thread_started;
    atomic_bool running;
    char owner[65];
    char domain[256];
    pthread_mutex_t mu; /* guards the status below */
    int smtp_state;     /* 0 unknown, 1 ok, 2 failing */
    char last_error[256];
    _Atomic int64_t pending, oldest_s;
    nb_counter *mails[K_COUNT][R_COUNT];
};

static int kind_index(const char *kind)
{
    if (strcmp(kind, "confirmation") == 0) return K_CONFIRMATION;
    if (strcmp(kind, "digest") == 0) return K_DIGEST;
    return K_ALERT;
}

static void set_status(nt_mailer *m, int state, const char *err)
{
    pthread_mutex_lock(&m->mu);
    m->smtp_state = state;
    if (err) snprintf(m->last_error, sizeof(m->last_error), "%s", err);
    pthread_mutex_unlock(&m->mu);
}

/* Waits on the doorbell up to ms (any ring ends the wait); false when stopping. */
static bool nap(nt_mailer *m, long ms)
{
    if (!atomic_load(&m->running)) return false;
    nb_queue_pop(m->doorbell, ms);
    return atomic_load(&m->running);
}

/* Tells persistence the mail went out, insisting (bounded) while it is
 * down: a mail it never hears about is sent again when the lease ends. */
static void report_sent(nt_mailer *m, const nt_mail *mail)
{
    int64_t give_up = nb_mono_ms() + m->cfg->mail_lease_ms / 2;
    for (int attempt = 0;; attempt++) {
        if (nt_store_sent(m->store, m->owner, mail->id) == NB_OK) return;
        if (nb_mono_ms() >= give_up) {
            nb_error("mail %s was sent but persistence did not take note: it may be sent "
                     "again (same Message-ID)",
                     mail->id);
            return;
        }
        usleep((useconds_t)nb_backoff_ms(attempt, 100, STORE_RETRY_MAX_MS) * 1000);
    }
}

/* A mail not sent: given up (permanent), handed back for another notifier
 * at once (now: shutting down), or retried after a backoff. */
static void report_failed(nt_mailer *m, const nt_mail *mail, bool permanent, bool now,
                          const char *why)
{
    long retry = permanent || now ? 0
                                  : nb_backoff_ms(mail->attempts, m->cfg->mail_retry_base_ms,
                                                  m->cfg->mail_retry_max_ms);
    if (nt_store_failed(m->store, m->owner, mail->id, permanent, retry, why) != NB_OK)
        nb_warn("mail %s: persistence did not take the failure; the lease will end it", mail->id);
    if (permanent)
        nb_error("mail %s (%s) to subscription %s given up: %s", mail->id, mail->kind,
                 mail->subscription, why);
    else
        nb_warn("mail %s (%s) not sent (%s): retry %d in %ld ms", mail->id, mail->kind, why,
                mail->attempts + 1, retry);
}

/* Renders and sends one mail; returns the SMTP outcome (NT_REJECTED also for
 * a mail that cannot be rendered). */
static nt_send_result send_one(nt_mailer *m, nt_smtp *smtp, const nt_mail *mail, char *err,
                               size_t errlen, const char **kind)
{
    nt_rendered r;
    nb_err e = nt_render(mail, m->cfg->public_base, &r);
    *kind = mail->kind;
    if (e) {
        snprintf(err, errlen, "cannot render the mail: %s", nb_err_code(e));
        return e == NB_ERR_NOMEM ? NT_RETRY : NT_REJECTED;
    }
    *kind = r.kind;
    char msgid[400];
    snprintf(msgid, sizeof(msgid), "<%s@%s>", mail->id, m->domain);
    nt_mime mm = {.from_name = m->cfg->from_name,
                  .from_addr = m->cfg->from_addr,
                  .to = mail->email,
                  .subject = r.subject,
                  .message_id = msgid,
                  .date_ms = nb_now_ms(),
                  .kind = r.kind,
                  .list_unsubscribe = r.unsubscribe_url,
                  .one_click = r.unsubscribe_url != NULL,
                  .text = r.text,
                  .html = r.html,
                  .boundary = mail->id};
    size_t len;
    char *msg = nt_mime_build(&mm, &len);
    nt_send_result res;
    if (!msg) {
        snprintf(err, errlen, "cannot build the message (address '%s')", mail->email);
        res = NT_REJECTED;
    } else {
        res = nt_smtp_send(smtp, m->cfg->from_addr, mail->email, msg, len, err, errlen);
    }
    free(msg);
    nt_rendered_release(&r);
    return res;
}

static void update_stats(nt_mailer *m)
{
    long pending;
    double oldest;
    if (nt_store_mail_stats(m->store, &pending, &oldest) == NB_OK) {
        atomic_store(&m->pending, pending);
        atomic_store(&m->oldest_s, (int64_t)oldest);
    }
}

static void *mail_main(void *arg)
{
    nt_mailer *m = arg;
    const nt_config *cfg = m->cfg;
    nt_smtp *smtp = nt_smtp_new(&m->smtp_opts);
    nt_mail *batch = calloc((size_t)cfg->mail_batch, sizeof(*batch));
    int store_attempt = 0;
    nb_log_set_request_id("mailer");
    if (!smtp || !batch) {
        nb_error("mailer: out of memory; no mail will be sent");
        goto out;
    }
    while (atomic_load(&m->running)) {
        int n = 0;
        nb_err e =
            nt_store_claim(m->store, m->owner, (int)cfg->mail_batch, cfg->mail_lease_ms, batch, &n);
        if (e) {
            nap(m, nb_backoff_ms(store_attempt++, 200, STORE_RETRY_MAX_MS));
            continue;
        }
        store_attempt = 0;
        bool server_down = false;
        for (int i = 0; i < n; i++) {
            nt_mail *mail = &batch[i];
            char err[512] = "";
            const char *kind = mail->kind;
            nt_send_result res;
            bool stopping = false;
            nb_log_set_request_id(mail->id);
            if (mail->attempts >= cfg->mail_max_attempts) {
                snprintf(err, sizeof(err), "%d attempts failed", mail->attempts);
                res = NT_REJECTED;
            } else if (!atomic_load(&m->running)) {
                snprintf(err, sizeof(err), "shutting down: handed back");
                res = NT_RETRY;
                stopping = true;
            } else if (server_down) {
                snprintf(err, sizeof(err), "the mail server did not take the previous mail");
                res = NT_RETRY;
            } else {
                res = send_one(m, smtp, mail, err, sizeof(err), &kind);
            }
            int k = kind_index(kind);
            if (res == NT_SENT) {
                report_sent(m, mail);
                set_status(m, 1, NULL);
                nb_counter_inc(m->mails[k][R_SENT]);
                nb_info("mail %s (%s) sent to subscription %s", mail->id, kind, mail->subscription);
            } else {
                report_failed(m, mail, res == NT_REJECTED, stopping, err);
                nb_counter_inc(m->mails[k][res == NT_REJECTED ? R_FAILED : R_RETRIED]);
                if (res == NT_RETRY && atomic_load(&m->running) && !server_down) {
                    set_status(m, 2, err);
                    server_down = true; /* the rest of the batch waits for the next round */
                }
            }
            nt_mail_release(mail);
        }
        nb_log_set_request_id("mailer");
        update_stats(m);
        if (n < cfg->mail_batch || server_down) nap(m, cfg->mail_poll_ms);
    }
out:
    free(batch);
    nt_smtp_free(smtp);
    nb_log_set_request_id(NULL);
    return NULL;
}

static int64_t pending_metric(void *arg)
{
    return atomic_load(&((nt_mailer *)arg)->pending);
}

static int64_t oldest_metric(void *arg)
{
    return atomic_load(&((nt_mailer *)arg)->oldest_s);
}

nt_mailer *nt_mailer_new(const nt_config *cfg, nt_store *store, nb_queue *doorbell)
{
    nt_mailer *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->cfg = cfg;
    m->store = store;
    m->doorbell = doorbell;
    pthread_mutex_init(&m->mu, NULL);
    m->smtp_opts = (nt_smtp_opts){.url = cfg->smtp_url,
                                  .user = cfg->smtp_user,
                                  .password = cfg->smtp_password,
                                  .tls = cfg->tls,
                                  .ca_file = cfg->smtp_ca_file,
                                  .helo = cfg->smtp_helo,
                                  .connect_timeout_ms = cfg->smtp_connect_timeout_ms,
                                  .timeout_ms = cfg->smtp_timeout_ms};
    char host[128] = "notifier";
    gethostname(host, sizeof(host) - 1);
    snprintf(m->owner, sizeof(m->owner), "%.40s-%d-%llx", host, (int)getpid(),
             (unsigned long long)(nb_random_u64() & 0xffffff));
    const char *at = strrchr(cfg->from_addr, '@');
    snprintf(m->domain, sizeof(m->domain), "%s", at ? at + 1 : "nimbus.localhost");

    static const char *const kinds[K_COUNT] = {"confirmation", "alert", "digest"};
    static const char *const results[R_COUNT] = {"sent", "retried", "failed"};
    for (int k = 0; k < K_COUNT; k++)
        for (int r = 0; r < R_COUNT; r++) {
            char labels[64];
            snprintf(labels, sizeof(labels), "kind=\"%s\",result=\"%s\"", kinds[k], results[r]);
            m->mails[k][r] = nb_counter_new("nimbus_notifier_mails_total", labels,
                                            "Mails by kind and outcome of a send attempt");
        }
    nb_gauge_fn_new("nimbus_notifier_mails_pending", NULL,
                    "Mails queued in persistence and not sent yet (all notifiers)", pending_metric,
                    m);
    nb_gauge_fn_new("nimbus_notifier_mails_oldest_pending_seconds", NULL,
                    "Age of the oldest mail not sent yet", oldest_metric, m);
    return m;
}

nb_err nt_mailer_start(nt_mailer *m)
{
    atomic_store(&m->running, true);
    if (pthread_create(&m->thread, NULL, mail_main, m) != 0) return NB_ERR_INTERNAL;
    m->thread_started = true;
    nb_info("sending mail through %s as %s", m->cfg->smtp_url, m->owner);
    return NB_OK;
}

void nt_mailer_free(nt_mailer *m)
{
    if (!m) return;
    atomic_store(&m->running, false);
    nb_queue_push(m->doorbell, m); /* wakes a nap */
    if (m->thread_started) pthread_join(m->thread, NULL);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void nt_mailer_status(nt_mailer *m, nb_buf *out)
{
    pthread_mutex_lock(&m->mu);
    static const char *const states[] = {"unknown", "ok", "failing"};
    nb_buf_addf(out, "\"smtp\":\"%s\"", states[m->smtp_state]);
    if (m->smtp_state == 2) {
        json_t *s = json_string(m->last_error);
        char *e = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
        if (e) nb_buf_addf(out, ",\"smtp_error\":%s", e);
        free(e);
        json_decref(s);
    }
    pthread_mutex_unlock(&m->mu);
    nb_buf_addf(out, ",\"mails_pending\":%lld", (long long)atomic_load(&m->pending));
}
