/* relay.c — per-broker TCP relay rewriting advertised addresses (see relay.h).
 *
 * Each connection has two threads with blocking I/O: "up" reads request frames
 * from the client, remembers (correlation id, api key, version) and forwards
 * them; "down" reads response frames from the broker, matches them to the
 * remembered request (responses come in request order; requests without a
 * response, e.g. acks=0 produces, are skipped over), rewrites them (wire.h) and
 * forwards them. When either direction ends, both sockets are shut down so the
 * other thread ends too; the last of the two frees the connection. */
#define _GNU_SOURCE /* accept4, pipe2 */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nimbus/buf.h"
#include "nimbus/log.h"
#include "wire.h"

/* Largest frame passed on (librdkafka caps receive.message.max.bytes at 100 MB). */
#define KDR_MAX_FRAME (64 * 1024 * 1024)
#define KDR_BACKLOG 64

typedef struct kdr_pending {
    int32_t correlation_id;
    int16_t api_key;
    int16_t api_version;
} kdr_pending;

typedef struct kdr_conn {
    kdr_relay *relay;
    int route;
    int client_fd;
    int broker_fd;
    int threads_left;     /* guarded by relay->lock */
    pthread_mutex_t lock; /* guards pending */
    kdr_pending *pending;
    size_t npending, cap;
    struct kdr_conn *next; /* relay->conns, guarded by relay->lock */
} kdr_conn;

struct kdr_relay {
    int n;
    kdw_addr *addrs;              /* per route: node id, advertised host (owned), port */
    int *listen_fds;              /* per route */
    struct sockaddr_storage *dst; /* per route: the broker's address */
    socklen_t *dst_len;
    char *advertised;
    int wake[2]; /* written by kdr_stop to end the accept thread */
    pthread_t acceptor;
    pthread_mutex_t lock;
    pthread_cond_t idle; /* live_threads reached 0 */
    int live_threads;
    kdr_conn *conns;
};

static bool kdr_read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;

    while (n > 0) {
        ssize_t got = recv(fd, p, n, 0);

        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        p += got;
        n -= (size_t)got;
    }
    return true;
}

static bool kdr_write_full(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;

    while (n > 0) {
        ssize_t put = send(fd, p, n, MSG_NOSIGNAL);

        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return false;
        p += put;
        n -= (size_t)put;
    }
    return true;
}

/* Reads one size-prefixed frame; *body is malloc'd (caller frees). */
static bool kdr_read_frame(int fd, uint8_t **body, size_t *len, const char *from)
{
    uint8_t hdr[4];
    uint32_t size;

    *body = NULL;
    if (!kdr_read_full(fd, hdr, sizeof(hdr))) return false;
    size = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | ((uint32_t)hdr[2] << 8) | hdr[3];
    if (size > KDR_MAX_FRAME) {
        nb_warn("relay: %u-byte frame from the %s is over the %d-byte cap: closing", size, from,
                KDR_MAX_FRAME);
        return false;
    }
    *body = malloc(size ? size : 1);
    if (!*body) return false;
    *len = size;
    if (!kdr_read_full(fd, *body, size)) {
        free(*body);
        *body = NULL;
        return false;
    }
    return true;
}

static bool kdr_write_frame(int fd, const uint8_t *body, size_t len)
{
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};

    return kdr_write_full(fd, hdr, sizeof(hdr)) && kdr_write_full(fd, body, len);
}

static bool kdr_remember(kdr_conn *c, const kdr_pending *p)
{
    bool ok = true;

    pthread_mutex_lock(&c->lock);
    if (c->npending == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        kdr_pending *grown = realloc(c->pending, cap * sizeof(*grown));

        if (grown) {
            c->pending = grown;
            c->cap = cap;
        } else {
            ok = false;
        }
    }
    if (ok) c->pending[c->npending++] = *p;
    pthread_mutex_unlock(&c->lock);
    return ok;
}

/* Takes the request a response answers (and drops older ones that got none). */
static bool kdr_match(kdr_conn *c, int32_t correlation_id, kdr_pending *out)
{
    bool found = false;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->npending; i++) {
        if (c->pending[i].correlation_id != correlation_id) continue;
        *out = c->pending[i];
        memmove(c->pending, c->pending + i + 1, (c->npending - i - 1) * sizeof(*c->pending));
        c->npending -= i + 1;
        found = true;
        break;
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

/* Ends a connection thread: the first one out shuts both sockets down, the last
 * one frees the connection. */
static void kdr_conn_thread_done(kdr_conn *c)
{
    kdr_relay *r = c->relay;

    pthread_mutex_lock(&r->lock);
    shutdown(c->client_fd, SHUT_RDWR);
    shutdown(c->broker_fd, SHUT_RDWR);
    if (--c->threads_left == 0) {
        for (kdr_conn **pp = &r->conns; *pp; pp = &(*pp)->next)
            if (*pp == c) {
                *pp = c->next;
                break;
            }
        close(c->client_fd);
        close(c->broker_fd);
        pthread_mutex_destroy(&c->lock);
        free(c->pending);
        free(c);
    }
    if (--r->live_threads == 0) pthread_cond_broadcast(&r->idle);
    pthread_mutex_unlock(&r->lock);
}

static void *kdr_up(void *arg)
{
    kdr_conn *c = arg;
    uint8_t *body;
    size_t len;

    while (kdr_read_frame(c->client_fd, &body, &len, "client")) {
        kdr_pending p;
        bool ok =
            kdw_request_header(body, len, &p.api_key, &p.api_version, &p.correlation_id) == NB_OK &&
            kdr_remember(c, &p) && kdr_write_frame(c->broker_fd, body, len);

        free(body);
        if (!ok) break;
    }
    kdr_conn_thread_done(c);
    return NULL;
}

static void *kdr_down(void *arg)
{
    kdr_conn *c = arg;
    const kdr_relay *r = c->relay;
    nb_buf out;
    uint8_t *body;
    size_t len;

    nb_buf_init(&out, KDR_MAX_FRAME);
    while (kdr_read_frame(c->broker_fd, &body, &len, "broker")) {
        kdr_pending p = {0, 0, 0};
        int32_t corr;
        nb_err err = NB_ERR_NOT_FOUND;
        bool ok;

        if (kdw_response_correlation(body, len, &corr) == NB_OK && kdr_match(c, corr, &p))
            err = kdw_rewrite_response(p.api_key, p.api_version, body, len, r->addrs, r->n, &out);
        if (err == NB_ERR_INVALID)
            nb_warn("relay: response to api %d v%d does not parse: passed on unchanged", p.api_key,
                    p.api_version);
        if (err == NB_OK)
            ok = kdr_write_frame(c->client_fd, (const uint8_t *)out.data, out.len);
        else
            ok = kdr_write_frame(c->client_fd, body, len);
        free(body);
        if (!ok) break;
    }
    nb_buf_release(&out);
    kdr_conn_thread_done(c);
    return NULL;
}

static void kdr_nodelay(int fd)
{
    int on = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* Joins a new client connection to a new connection to the route's broker. */
static void kdr_accept(kdr_relay *r, int route)
{
    int cfd = accept4(r->listen_fds[route], NULL, NULL, SOCK_CLOEXEC), bfd = -1;
    kdr_conn *c = NULL;
    pthread_t up, down;
    pthread_attr_t attr;

    if (cfd < 0) return;
    bfd = socket(r->dst[route].ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bfd < 0 || connect(bfd, (struct sockaddr *)&r->dst[route], r->dst_len[route]) != 0) {
        nb_warn("relay: cannot reach mock broker %d: %s", r->addrs[route].node_id, strerror(errno));
        goto out_close;
    }
    kdr_nodelay(cfd);
    kdr_nodelay(bfd);
    c = calloc(1, sizeof(*c));
    if (!c) goto out_close;
    c->relay = r;
    c->route = route;
    c->client_fd = cfd;
    c->broker_fd = bfd;
    c->threads_left = 2;
    pthread_mutex_init(&c->lock, NULL);

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&r->lock);
    if (pthread_create(&up, &attr, kdr_up, c) != 0) {
        pthread_mutex_unlock(&r->lock);
        pthread_attr_destroy(&attr);
        pthread_mutex_destroy(&c->lock);
        free(c);
        goto out_close;
    }
    r->live_threads++;
    c->next = r->conns;
    r->conns = c;
    if (pthread_create(&down, &attr, kdr_down, c) != 0) {
        /* The up thread owns the connection alone: end it. */
        c->threads_left = 1;
        shutdown(cfd, SHUT_RDWR);
        shutdown(bfd, SHUT_RDWR);
    } else {
        r->live_threads++;
    }
    pthread_mutex_unlock(&r->lock);
    pthread_attr_destroy(&attr);
    nb_debug("relay: connection to broker %d", r->addrs[route].node_id);
    return;

out_close:
    if (bfd >= 0) close(bfd);
    close(cfd);
}

static void *kdr_acceptor(void *arg)
{
    kdr_relay *r = arg;
    struct pollfd *fds = calloc((size_t)r->n + 1, sizeof(*fds));

    if (!fds) {
        nb_error("relay: out of memory: not accepting connections");
        return NULL;
    }
    for (int i = 0; i < r->n; i++) {
        fds[i].fd = r->listen_fds[i];
        fds[i].events = POLLIN;
    }
    fds[r->n].fd = r->wake[0];
    fds[r->n].events = POLLIN;
    for (;;) {
        if (poll(fds, (nfds_t)r->n + 1, -1) < 0) {
            if (errno == EINTR) continue;
            nb_error("relay: poll: %s", strerror(errno));
            break;
        }
        if (fds[r->n].revents) break;
        for (int i = 0; i < r->n; i++)
            if (fds[i].revents & POLLIN) kdr_accept(r, i);
    }
    free(fds);
    return NULL;
}

/* Binds host:port (port 0: any); *bound_port gets the port bound. */
static int kdr_listen(const char *host, int port, int *bound_port)
{
    struct addrinfo hints, *res = NULL;
    struct sockaddr_storage sa;
    socklen_t salen = sizeof(sa);
    char service[16];
    int fd = -1, on = 1, rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%d", port);
    if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
        nb_error("relay: cannot resolve listen address %s: %s", host, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, KDR_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) != 0) {
        nb_error("relay: cannot listen on %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    *bound_port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                 : ((struct sockaddr_in *)&sa)->sin_port);
    return fd;
}

static bool kdr_resolve(const char *host, int port, struct sockaddr_storage *sa, socklen_t *len)
{
    struct addrinfo hints, *res = NULL;
    char service[16];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%d", port);
    if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
        nb_error("relay: cannot resolve broker address %s: %s", host, gai_strerror(rc));
        return false;
    }
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

static void kdr_free(kdr_relay *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        if (r->listen_fds && r->listen_fds[i] >= 0) close(r->listen_fds[i]);
        if (r->addrs) free((char *)r->addrs[i].host);
    }
    if (r->wake[0] >= 0) close(r->wake[0]);
    if (r->wake[1] >= 0) close(r->wake[1]);
    pthread_cond_destroy(&r->idle);
    pthread_mutex_destroy(&r->lock);
    free(r->listen_fds);
    free(r->addrs);
    free(r->dst);
    free(r->dst_len);
    free(r->advertised);
    free(r);
}

nb_err kdr_start(const kdr_route *routes, int n, kdr_relay **out)
{
    kdr_relay *r = calloc(1, sizeof(*r));
    nb_buf adv;

    if (!r) return NB_ERR_NOMEM;
    r->n = n;
    r->wake[0] = r->wake[1] = -1;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->idle, NULL);
    r->listen_fds = malloc((size_t)n * sizeof(*r->listen_fds));
    r->addrs = calloc((size_t)n, sizeof(*r->addrs));
    r->dst = calloc((size_t)n, sizeof(*r->dst));
    r->dst_len = calloc((size_t)n, sizeof(*r->dst_len));
    if (!r->listen_fds || !r->addrs || !r->dst || !r->dst_len || pipe2(r->wake, O_CLOEXEC) != 0)
        goto fail_nomem;
    for (int i = 0; i < n; i++)
        r->listen_fds[i] = -1;

    nb_buf_init(&adv, 64 * 1024);
    for (int i = 0; i < n; i++) {
        const kdr_route *rt = &routes[i];
        int bound = 0;

        if (!kdr_resolve(rt->target_host, rt->target_port, &r->dst[i], &r->dst_len[i]) ||
            (r->listen_fds[i] = kdr_listen(rt->listen_host, rt->listen_port, &bound)) < 0) {
            nb_buf_release(&adv);
            kdr_free(r);
            return NB_ERR_UNAVAILABLE;
        }
        r->addrs[i].node_id = rt->node_id;
        r->addrs[i].host = strdup(rt->adv_host);
        r->addrs[i].port = rt->adv_port ? rt->adv_port : bound;
        if (!r->addrs[i].host ||
            nb_buf_addf(&adv, "%s%s:%d", i ? "," : "", rt->adv_host, r->addrs[i].port) != NB_OK) {
            nb_buf_release(&adv);
            goto fail_nomem;
        }
        nb_info("relay: broker %d listens on %s:%d, advertised as %s:%d", rt->node_id,
                rt->listen_host, bound, rt->adv_host, r->addrs[i].port);
    }
    r->advertised = nb_buf_detach(&adv, NULL);
    if (!r->advertised) goto fail_nomem;
    if (pthread_create(&r->acceptor, NULL, kdr_acceptor, r) != 0) goto fail_nomem;
    *out = r;
    return NB_OK;

fail_nomem:
    kdr_free(r);
    return NB_ERR_NOMEM;
}

const char *kdr_advertised(const kdr_relay *r)
{
    return r->advertised;
}

void kdr_stop(kdr_relay *r)
{
    char b = 0;

    if (!r) return;
    while (write(r->wake[1], &b, 1) < 0 && errno == EINTR)
        ;
    pthread_join(r->acceptor, NULL);
    pthread_mutex_lock(&r->lock);
    for (kdr_conn *c = r->conns; c; c = c->next) {
        shutdown(c->client_fd, SHUT_RDWR);
        shutdown(c->broker_fd, SHUT_RDWR);
    }
    while (r->live_threads > 0)
        pthread_cond_wait(&r->idle, &r->lock);
    pthread_mutex_unlock(&r->lock);
    kdr_free(r);
}

/* Splits "host:port" in place ("[v6]:port" too); port 0..65535. */
static bool kdr_split_hostport(char *hp, const char **host, int *port)
{
    char *colon = strrchr(hp, ':'), *end = NULL;
    long v;

    if (!colon || colon == hp) return false;
    *colon = '\0';
    errno = 0;
    v = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || v < 0 || v > 65535) return false;
    if (hp[0] == '[' && colon[-1] == ']') {
        colon[-1] = '\0';
        hp++;
    }
    *host = hp;
    *port = (int)v;
    return **host != '\0';
}

/* Splits a comma list of host:port into routes[i].<field>; returns the count or -1. */
static int kdr_split_list(char *list, kdr_route *routes, int max, int which, const char *what)
{
    char *save = NULL;
    int n = 0;

    for (char *hp = strtok_r(list, ",", &save); hp; hp = strtok_r(NULL, ",", &save)) {
        const char *host;
        int port;

        if (n == max) {
            fprintf(stderr, "kafka-dev-broker: %s: more addresses than brokers (%d)\n", what, max);
            return -1;
        }
        if (!kdr_split_hostport(hp, &host, &port)) {
            fprintf(stderr, "kafka-dev-broker: %s: '%s' is not host:port\n", what, hp);
            return -1;
        }
        if (which == 0) {
            routes[n].listen_host = host;
            routes[n].listen_port = port;
        } else if (which == 1) {
            routes[n].adv_host = host;
            routes[n].adv_port = port;
        } else {
            routes[n].target_host = host;
            routes[n].target_port = port;
        }
        n++;
    }
    return n;
}

static bool kdr_wildcard(const char *host)
{
    return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

nb_err kdr_routes_parse(const char *listen, const char *advertise, const char *bootstraps,
                        kdr_route *routes, int n, char **arena)
{
    size_t ll = strlen(listen) + 1, al = strlen(advertise) + 1, bl = strlen(bootstraps) + 1;
    char *text = malloc(ll + al + bl);
    int got;

    *arena = NULL;
    if (!text) return NB_ERR_NOMEM;
    memcpy(text, listen, ll);
    memcpy(text + ll, advertise, al);
    memcpy(text + ll + al, bootstraps, bl);
    memset(routes, 0, (size_t)n * sizeof(*routes));
    for (int i = 0; i < n; i++)
        routes[i].node_id = i + 1;
    if ((got = kdr_split_list(text, routes, n, 0, "--listen")) != n) {
        if (got >= 0)
            fprintf(stderr, "kafka-dev-broker: --listen: %d address(es) for %d broker(s)\n", got,
                    n);
        goto fail;
    }
    if (advertise[0]) {
        if ((got = kdr_split_list(text + ll, routes, n, 1, "--advertise")) != n) {
            if (got >= 0)
                fprintf(stderr, "kafka-dev-broker: --advertise: %d address(es) for %d broker(s)\n",
                        got, n);
            goto fail;
        }
    } else {
        for (int i = 0; i < n; i++) {
            if (kdr_wildcard(routes[i].listen_host)) {
                fprintf(stderr,
                        "kafka-dev-broker: --listen %s binds every address: say which "
                        "name clients reach it by with --advertise\n",
                        routes[i].listen_host);
                goto fail;
            }
            routes[i].adv_host = routes[i].listen_host;
            routes[i].adv_port = routes[i].listen_port;
        }
    }
    if (kdr_split_list(text + ll + al, routes, n, 2, "mock bootstraps") != n) goto fail;
    *arena = text;
    return NB_OK;

fail:
    free(text);
    return NB_ERR_INVALID;
}
