/* smtp.c — one message over SMTP with libcurl (see smtp.h). */
#include "smtp.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nt_smtp {
    const nt_smtp_opts *o;
    CURL *h;
    char url[1024];
};

typedef struct upload {
    const char *p;
    size_t left;
} upload;

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
    upload *u = arg;
    size_t room = size * n, k = u->left < room ? u->left : room;
    memcpy(buf, u->p, k);
    u->p += k;
    u->left -= k;
    return k;
}

int nt_smtp_tls_parse(const char *s)
{
    if (strcmp(s, "none") == 0) return NT_TLS_NONE;
    if (strcmp(s, "try") == 0) return NT_TLS_TRY;
    if (strcmp(s, "required") == 0) return NT_TLS_REQUIRED;
    return -1;
}

nt_smtp *nt_smtp_new(const nt_smtp_opts *opts)
{
    nt_smtp *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->o = opts;
    /* libcurl takes the EHLO name from the URL's path. */
    const char *helo = opts->helo && *opts->helo ? opts->helo : NULL;
    size_t n = strlen(opts->url);
    while (n > 0 && opts->url[n - 1] == '/')
        n--;
    snprintf(s->url, sizeof(s->url), "%.*s%s%s", (int)n, opts->url, helo ? "/" : "",
             helo ? helo : "");
    s->h = curl_easy_init();
    if (!s->h) {
        free(s);
        return NULL;
    }
    return s;
}

void nt_smtp_free(nt_smtp *s)
{
    if (!s) return;
    curl_easy_cleanup(s->h);
    free(s);
}

nt_send_result nt_smtp_send(nt_smtp *s, const char *from_addr, const char *to, const char *msg,
                            size_t len, char *err, size_t errlen)
{
    const nt_smtp_opts *o = s->o;
    CURL *h = s->h;
    char errbuf[CURL_ERROR_SIZE] = "";
    char mail_from[300];
    upload u = {.p = msg, .left = len};
    struct curl_slist *rcpt = NULL;

    snprintf(mail_from, sizeof(mail_from), "<%s>", from_addr);
    char rcpt_to[300];
    snprintf(rcpt_to, sizeof(rcpt_to), "<%s>", to);
    rcpt = curl_slist_append(NULL, rcpt_to);
    if (!rcpt) {
        snprintf(err, errlen, "out of memory");
        return NT_RETRY;
    }
    curl_easy_reset(h); /* keeps the connection cache: the next mail reuses it */
    curl_easy_setopt(h, CURLOPT_URL, s->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &u);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     o->tls == NT_TLS_REQUIRED ? (long)CURLUSESSL_ALL
                     : o->tls == NT_TLS_TRY    ? (long)CURLUSESSL_TRY
                                               : (long)CURLUSESSL_NONE);
    if (o->ca_file && *o->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    if (o->user && *o->user) {
        curl_easy_setopt(h, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, o->password ? o->password : "");
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(rcpt);
    if (rc == CURLE_OK) return NT_SENT;

    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    snprintf(err, errlen, "%s%s%s (SMTP %ld)", curl_easy_strerror(rc), errbuf[0] ? ": " : "",
             errbuf, code);
    /* A 5xx that names this recipient or this message will not change on a
     * retry; a 5xx to MAIL FROM or AUTH is our configuration: retry, loudly. */
    bool about_this_mail = strstr(errbuf, "RCPT") || strstr(errbuf, "DATA") ||
                           rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
                           rc == CURLE_WEIRD_SERVER_REPLY;
    if (code >= 500 && code <= 599 && about_this_mail && !strstr(errbuf, "MAIL"))
        return NT_REJECTED;
    return NT_RETRY;
}
