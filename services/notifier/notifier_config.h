/* notifier_config.h — the notifier's settings, one table (flags, NIMBUS_*
 * env, --help) and the checks it cannot express, run once at start-up by the
 * service skeleton (main()). After them the struct is read-only: any thread
 * may read it. */
#ifndef NOTIFIER_CONFIG_H
#define NOTIFIER_CONFIG_H

#include <stdbool.h>

#include "nimbus/config.h"
#include "nimbus/email.h"
#include "nimbus/err.h"
#include "smtp.h"

typedef struct nt_config {
    const char *bind;
    long port, threads;
    const char *persistence_url;
    long persistence_timeout_ms;
    const char *kafka_brokers, *kafka_topic, *kafka_group;
    long kafka_session_timeout_ms;
    long max_event_age_s, subscriptions_page;
    const char *public_url;
    const char *smtp_url, *smtp_user, *smtp_password, *smtp_tls, *smtp_ca_file, *smtp_helo;
    long smtp_connect_timeout_ms, smtp_timeout_ms;
    const char *mail_from;
    long mail_batch, mail_lease_ms, mail_poll_ms, mail_max_attempts, mail_retry_base_ms,
        mail_retry_max_ms;
    long body_cap, conn_timeout_s;
    const char *log_level;
    bool access_log;

    /* Derived and checked by nt_config_check(). */
    char from_name[128];
    char from_addr[NB_EMAIL_MAX + 1];
    char public_base[512]; /* public_url without a trailing slash */
    nt_smtp_tls tls;
} nt_config;

#define NT_PROG "nimbus-notifier"
#define NT_SUMMARY "nimbus notifier: weather alerts by email, from the events on Kafka"

/* The settings table and its length; *cfg gets the struct loading it fills
 * (one per process). */
const nb_setting *nt_config_table(nt_config **cfg, int *n);
/* For nb_service.check, ctx that struct once loaded: checks what the table
 * cannot (the From address, the SMTP URL, the TLS mode, Kafka brokers given)
 * and fills the derived fields. false after printing the reason on stderr. */
bool nt_config_check(void *ctx);

/* Splits "Display Name <addr@example.org>" or "addr@example.org"; false when
 * the address is not valid (nimbus/email.h) or the form is not one of those. */
bool nt_parse_from(const char *from, char name[128], char addr[NB_EMAIL_MAX + 1]);

#endif
