/* notifier_config.c — the notifier's settings table and its checks. */
#include "notifier_config.h"

#include <stdio.h>
#include <string.h>

#include "nimbus/config.h"

static nt_config c;

static const nb_setting table[] = {
    {"bind", NB_SET_STR, &c.bind, "127.0.0.1", 0, 0, "address of /healthz, /readyz, /metrics"},
    {"port", NB_SET_INT, &c.port, "8082", 0, 65535, "HTTP port (0 = any free port)"},
    {"threads", NB_SET_INT, &c.threads, "2", 1, 16, "HTTP polling threads"},
    {"persistence-url", NB_SET_URL, &c.persistence_url, "http://127.0.0.1:8081", 0, 0,
     "base URL of the persistence service"},
    {"persistence-timeout-ms", NB_SET_INT, &c.persistence_timeout_ms, "5000", 100, 60000,
     "total timeout of one call to persistence"},
    {"kafka-brokers", NB_SET_STR, &c.kafka_brokers, "127.0.0.1:9092", 0, 0,
     "Kafka bootstrap servers"},
    {"kafka-topic", NB_SET_STR, &c.kafka_topic, "weather.notifications", 0, 0,
     "topic of the notification events"},
    {"kafka-group", NB_SET_STR, &c.kafka_group, "nimbus-notifier", 0, 0,
     "consumer group: notifiers in one group share the topic's partitions"},
    {"kafka-session-timeout-ms", NB_SET_INT, &c.kafka_session_timeout_ms, "10000", 6000, 300000,
     "how long the group waits for a notifier that stopped answering before its partitions "
     "move to another"},
    {"max-event-age-s", NB_SET_INT, &c.max_event_age_s, "10800", 60, 86400 * 7,
     "events about observations fetched longer ago are not news: nobody is mailed"},
    {"subscriptions-page", NB_SET_INT, &c.subscriptions_page, "500", 1, 1000,
     "subscriptions read from persistence per request"},
    {"public-url", NB_SET_URL, &c.public_url, "http://127.0.0.1:8000", 0, 0,
     "front's public URL: every link in a mail starts with it"},
    {"smtp-url", NB_SET_STR, &c.smtp_url, "smtp://127.0.0.1:25", 0, 0,
     "mail server: smtp://host[:port] (STARTTLS as --smtp-tls says) or smtps://host[:port]"},
    {"smtp-user", NB_SET_STR, &c.smtp_user, "", 0, 0, "SMTP AUTH user (empty: no AUTH)"},
    {"smtp-password", NB_SET_STR, &c.smtp_password, "", 0, 0, "SMTP AUTH password"},
    {"smtp-tls", NB_SET_STR, &c.smtp_tls, "try", 0, 0,
     "STARTTLS on smtp://: none, try (when offered) or required"},
    {"smtp-ca-file", NB_SET_STR, &c.smtp_ca_file, "", 0, 0,
     "extra CA certificate (PEM) to trust for the mail server (empty: the system's)"},
    {"smtp-helo", NB_SET_STR, &c.smtp_helo, "", 0, 0,
     "name sent in EHLO (empty: this host's name)"},
    {"smtp-connect-timeout-ms", NB_SET_INT, &c.smtp_connect_timeout_ms, "5000", 100, 120000,
     "time allowed to connect to the mail server"},
    {"smtp-timeout-ms", NB_SET_INT, &c.smtp_timeout_ms, "30000", 500, 600000,
     "time allowed for one whole mail"},
    {"mail-from", NB_SET_STR, &c.mail_from, "nimbus weather <weather@nimbus.localhost>", 0, 0,
     "From of every mail: \"Name <address>\" or an address"},
    {"mail-batch", NB_SET_INT, &c.mail_batch, "20", 1, 500, "mails claimed for sending at once"},
    {"mail-lease-ms", NB_SET_INT, &c.mail_lease_ms, "120000", 5000, 3600000,
     "how long a claimed mail stays this notifier's before another may send it"},
    {"mail-poll-ms", NB_SET_INT, &c.mail_poll_ms, "1000", 50, 60000,
     "how often the mail queue is checked when idle"},
    {"mail-max-attempts", NB_SET_INT, &c.mail_max_attempts, "30", 1, 1000,
     "sends tried before a mail is given up"},
    {"mail-retry-base-ms", NB_SET_INT, &c.mail_retry_base_ms, "2000", 10, 3600000,
     "first wait before retrying a mail the server did not take (doubles, jittered)"},
    {"mail-retry-max-ms", NB_SET_INT, &c.mail_retry_max_ms, "1800000", 100, 86400000,
     "longest wait between two tries of one mail"},
    {"body-cap", NB_SET_INT, &c.body_cap, "1024", 0, 1048576,
     "largest request body, bytes (/healthz, /readyz and /metrics take none)"},
    {"conn-timeout-s", NB_SET_INT, &c.conn_timeout_s, "30", 1, 3600, "idle connection timeout"},
    {"log-level", NB_SET_STR, &c.log_level, "info", 0, 0, "debug, info, warn or error"},
    {"access-log", NB_SET_BOOL, &c.access_log, "false", 0, 0, "log one line per HTTP request"},
};

#define NTABLE ((int)(sizeof(table) / sizeof(table[0])))

bool nt_parse_from(const char *from, char name[128], char addr[NB_EMAIL_MAX + 1])
{
    const char *lt = strrchr(from, '<');
    name[0] = '\0';
    if (!lt) {
        snprintf(addr, NB_EMAIL_MAX + 1, "%s", from);
        return nb_email_valid(addr, NULL);
    }
    const char *gt = strchr(lt, '>');
    if (!gt || gt[1] != '\0' || (size_t)(gt - lt - 1) > NB_EMAIL_MAX) return false;
    snprintf(addr, NB_EMAIL_MAX + 1, "%.*s", (int)(gt - lt - 1), lt + 1);
    const char *s = from, *e = lt;
    while (*s == ' ')
        s++;
    while (e > s && e[-1] == ' ')
        e--;
    if (e - s >= 2 && *s == '"' && e[-1] == '"') {
        s++;
        e--;
    }
    snprintf(name, 128, "%.*s", (int)(e - s), s);
    return nb_email_valid(addr, NULL);
}

const nb_setting *nt_config_table(nt_config **cfg, int *n)
{
    *cfg = &c;
    *n = NTABLE;
    return table;
}

bool nt_config_check(void *ctx)
{
    nt_config *cfg = ctx;
    if (!nt_parse_from(cfg->mail_from, cfg->from_name, cfg->from_addr)) {
        fprintf(stderr,
                "nimbus-notifier: invalid mail-from '%s': use \"Name <address>\" or an address\n",
                cfg->mail_from);
        return false;
    }
    if (strncmp(cfg->smtp_url, "smtp://", 7) != 0 && strncmp(cfg->smtp_url, "smtps://", 8) != 0) {
        fprintf(stderr,
                "nimbus-notifier: invalid smtp-url '%s': must start with smtp:// or "
                "smtps://\n",
                cfg->smtp_url);
        return false;
    }
    int tls = nt_smtp_tls_parse(cfg->smtp_tls);
    if (tls < 0) {
        fprintf(stderr, "nimbus-notifier: invalid smtp-tls '%s': use none, try or required\n",
                cfg->smtp_tls);
        return false;
    }
    cfg->tls = (nt_smtp_tls)tls;
    size_t n = strlen(cfg->public_url);
    while (n > 0 && cfg->public_url[n - 1] == '/')
        n--;
    snprintf(cfg->public_base, sizeof(cfg->public_base), "%.*s", (int)n, cfg->public_url);
    if (!cfg->kafka_brokers[0]) {
        fprintf(stderr, "nimbus-notifier: kafka-brokers is empty: nothing to consume\n");
        return false;
    }
    return true;
}
