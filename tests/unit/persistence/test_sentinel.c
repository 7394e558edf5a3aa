/* test_sentinel.c — kv_redis finding its master through Redis Sentinel and
 * following a failover, against small fake servers that speak RESP (the
 * protocol hiredis speaks) on loopback ports: sentinels that name a master,
 * and "Redis" servers whose role and READONLY answers the test switches.
 * The real sentinels and a real failover: tests/integration/
 * test_persistence_sentinel.py. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "kv_redis.h"
#include "nimbus/log.h"

#define MAX_CLIENTS 16

/* One fake server: a sentinel (names master_port) or a Redis (role, readonly). */
typedef struct fake {
    int port, lfd;
    pthread_t thread;
    atomic_bool stop;
    bool sentinel;
    atomic_int master_port; /* sentinel: the master it names (0: none) */
    atomic_bool replica;    /* Redis: ROLE says slave */
    atomic_bool readonly;   /* Redis: writes answer -READONLY */
    atomic_int commands, writes;
} fake;

typedef struct conn {
    int fd;
    char buf[8192];
    size_t len;
} conn;

static void say(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

/* Parses one RESP array of bulk strings from c->buf; argv/argc point into it
 * (NUL-terminated in place). Returns the bytes used, 0 when incomplete. */
static size_t parse(conn *c, char **argv, int *argc)
{
    char *p = c->buf, *end = c->buf + c->len;
    if (c->len < 4 || *p != '*') return 0;
    char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return 0;
    int n = atoi(p + 1);
    p = nl + 1;
    for (int i = 0; i < n; i++) {
        if (p >= end || *p != '$') return 0;
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return 0;
        long len = atol(p + 1);
        p = nl + 1;
        if (end - p < len + 2) return 0;
        argv[i] = p;
        p[len] = '\0';
        p += len + 2;
    }
    *argc = n;
    return (size_t)(p - c->buf);
}

static void answer(fake *f, int fd, char **argv, int argc)
{
    char out[256];
    atomic_fetch_add(&f->commands, 1);
    const char *cmd = argc > 0 ? argv[0] : "";
    if (strcasecmp(cmd, "PING") == 0) {
        say(fd, "+PONG\r\n");
    } else if (f->sentinel && strcasecmp(cmd, "SENTINEL") == 0) {
        int port = atomic_load(&f->master_port);
        if (port == 0) {
            say(fd, "*-1\r\n");
            return;
        }
        char p[16];
        snprintf(p, sizeof(p), "%d", port);
        snprintf(out, sizeof(out), "*2\r\n$9\r\n127.0.0.1\r\n$%zu\r\n%s\r\n", strlen(p), p);
        say(fd, out);
    } else if (strcasecmp(cmd, "ROLE") == 0) {
        say(fd, atomic_load(&f->replica) ? "*1\r\n$5\r\nslave\r\n" : "*1\r\n$6\r\nmaster\r\n");
    } else if (strcasecmp(cmd, "EVAL") == 0) { /* the monotonic put: {applied, version} */
        atomic_fetch_add(&f->writes, 1);
        if (atomic_load(&f->readonly)) {
            say(fd, "-READONLY You can't write against a read only replica.\r\n");
            return;
        }
        snprintf(out, sizeof(out), "*2\r\n:1\r\n:%s\r\n", argc > 4 ? argv[4] : "0");
        say(fd, out);
    } else {
        say(fd, "-ERR unknown command\r\n");
    }
}

static void *serve(void *arg)
{
    fake *f = arg;
    conn c[MAX_CLIENTS];
    int n = 0;
    while (!atomic_load(&f->stop)) {
        struct pollfd pf[MAX_CLIENTS + 1];
        pf[0] = (struct pollfd){.fd = f->lfd, .events = POLLIN};
        for (int i = 0; i < n; i++)
            pf[i + 1] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
        if (poll(pf, (nfds_t)n + 1, 20) <= 0) continue;
        if ((pf[0].revents & POLLIN) && n < MAX_CLIENTS) {
            int fd = accept(f->lfd, NULL, NULL);
            if (fd >= 0) c[n++] = (conn){.fd = fd};
        }
        for (int i = 0; i < n; i++) {
            if (!(pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t r = read(c[i].fd, c[i].buf + c[i].len, sizeof(c[i].buf) - c[i].len - 1);
            if (r <= 0) {
                close(c[i].fd);
                c[i--] = c[--n];
                pf[i + 2] = pf[n + 1]; /* keep pf in step with c */
                continue;
            }
            c[i].len += (size_t)r;
            for (;;) {
                char *argv[16];
                int argc = 0;
                size_t used = parse(&c[i], argv, &argc);
                if (!used) break;
                answer(f, c[i].fd, argv, argc);
                memmove(c[i].buf, c[i].buf + used, c[i].len - used);
                c[i].len -= used;
            }
        }
    }
    for (int i = 0; i < n; i++)
        close(c[i].fd);
    return NULL;
}

static fake *fake_start(bool sentinel)
{
    fake *f = calloc(1, sizeof(*f));
    f->sentinel = sentinel;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->lfd, 16), 0);
    getsockname(f->lfd, (struct sockaddr *)&a, &len);
    f->port = ntohs(a.sin_port);
    pthread_create(&f->thread, NULL, serve, f);
    return f;
}

/* Stops serving: every connection closed, the port refuses. */
static void fake_stop(fake *f)
{
    if (atomic_exchange(&f->stop, true)) return;
    pthread_join(f->thread, NULL);
    close(f->lfd);
}

static void fake_free(fake *f)
{
    fake_stop(f);
    free(f);
}

/* A port nothing listens on. */
static int dead_port(void)
{
    fake *f = fake_start(false);
    int port = f->port;
    fake_free(f);
    return port;
}

static kv *sentinel_kv(const char *sentinels)
{
    const char *why = NULL;
    kv_redis_opts o = {.url = "redis://ignored:1/0",
                       .sentinels = sentinels,
                       .master_name = "mymaster",
                       .timeout_ms = 500,
                       .ttl_ms = 60000};
    kv *k = ps_kv_redis_new(&o, &why);
    assert_non_null(k);
    return k;
}

static nb_err put(kv *k)
{
    kv_put_result r;
    return ps_kv_put_if_newer(k, KV_NS_RECORD, "52.52,13.41", 1234, 0, "{}", 2, &r);
}

static void the_first_sentinel_that_answers_names_the_master(void **state)
{
    fake *s = fake_start(true), *a = fake_start(false);
    atomic_store(&s->master_port, a->port);
    char list[64];
    snprintf(list, sizeof(list), "127.0.0.1:%d,127.0.0.1:%d", dead_port(), s->port);
    kv *k = sentinel_kv(list);
    assert_int_equal(ps_kv_ping(k), NB_OK);
    assert_int_equal(put(k), NB_OK);
    assert_int_equal(atomic_load(&a->writes), 1);
    ps_kv_free(k);
    fake_free(s);
    fake_free(a);
}

static void a_readonly_answer_is_followed_to_the_new_master(void **state)
{
    fake *s = fake_start(true), *a = fake_start(false), *b = fake_start(false);
    atomic_store(&s->master_port, a->port);
    char list[32];
    snprintf(list, sizeof(list), "127.0.0.1:%d", s->port);
    kv *k = sentinel_kv(list);
    assert_int_equal(put(k), NB_OK);
    /* A failover: B is promoted, A is demoted (its writes answer READONLY). */
    atomic_store(&s->master_port, b->port);
    atomic_store(&a->readonly, true);
    atomic_store(&a->replica, true);
    assert_int_equal(put(k), NB_OK); /* the same call: READONLY, ask again, B */
    assert_int_equal(atomic_load(&a->writes), 2);
    assert_int_equal(atomic_load(&b->writes), 1);
    assert_int_equal(put(k), NB_OK);
    assert_int_equal(atomic_load(&b->writes), 2);
    ps_kv_free(k);
    fake_free(s);
    fake_free(a);
    fake_free(b);
}

static void a_dead_master_is_replaced_by_the_one_the_sentinels_name(void **state)
{
    fake *s = fake_start(true), *a = fake_start(false), *b = fake_start(false);
    atomic_store(&s->master_port, a->port);
    char list[32];
    snprintf(list, sizeof(list), "127.0.0.1:%d", s->port);
    kv *k = sentinel_kv(list);
    assert_int_equal(ps_kv_ping(k), NB_OK);
    fake_stop(a); /* the master dies; the sentinels have not decided yet */
    assert_int_not_equal(ps_kv_ping(k), NB_OK);
    atomic_store(&s->master_port, b->port); /* now they have */
    assert_int_equal(ps_kv_ping(k), NB_OK);
    assert_int_equal(put(k), NB_OK);
    assert_int_equal(atomic_load(&b->writes), 1);
    ps_kv_free(k);
    fake_free(s);
    fake_free(a);
    fake_free(b);
}

static void a_server_that_is_not_the_master_is_not_used(void **state)
{
    fake *s = fake_start(true), *r = fake_start(false), *m = fake_start(false);
    atomic_store(&r->replica, true);
    atomic_store(&s->master_port, r->port); /* out of date: names a replica */
    char list[32];
    snprintf(list, sizeof(list), "127.0.0.1:%d", s->port);
    kv *k = sentinel_kv(list);
    assert_int_equal(ps_kv_ping(k), NB_ERR_UNAVAILABLE);
    assert_int_equal(put(k), NB_ERR_UNAVAILABLE);
    assert_int_equal(atomic_load(&r->writes), 0);
    atomic_store(&s->master_port, m->port);
    assert_int_equal(put(k), NB_OK);
    assert_int_equal(atomic_load(&m->writes), 1);
    ps_kv_free(k);
    fake_free(s);
    fake_free(r);
    fake_free(m);
}

static void without_a_sentinel_that_answers_redis_is_down(void **state)
{
    fake *s = fake_start(true);
    char list[64];
    snprintf(list, sizeof(list), "127.0.0.1:%d,127.0.0.1:%d", dead_port(), s->port);
    kv *k = sentinel_kv(list); /* s knows no master of that name */
    assert_int_equal(ps_kv_ping(k), NB_ERR_UNAVAILABLE);
    ps_kv_free(k);
    fake_free(s);
}

static void bad_sentinel_lists_are_refused_with_a_reason(void **state)
{
    const char *why = NULL;
    const char *bad[] = {"host:0", "host:99999", ":26379", "a,,b", "host:12x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        kv_redis_opts o = {.url = "redis://x:1/0", .sentinels = bad[i], .master_name = "m"};
        why = NULL;
        assert_null(ps_kv_redis_new(&o, &why));
        assert_non_null(why);
    }
    kv_redis_opts no_name = {.url = "redis://x:1/0", .sentinels = "a:1", .master_name = ""};
    assert_null(ps_kv_redis_new(&no_name, &why));
    assert_string_equal(why, "sentinels need a master name (1 to 127 bytes)");
    kv_redis_opts ok = {.url = "redis://x:1/0", .sentinels = "a,b:26380", .master_name = "m"};
    kv *k = ps_kv_redis_new(&ok, &why);
    assert_non_null(k);
    ps_kv_free(k);
}

int main(void)
{
    nb_log_init("sentinel-test", NB_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_first_sentinel_that_answers_names_the_master),
        cmocka_unit_test(a_readonly_answer_is_followed_to_the_new_master),
        cmocka_unit_test(a_dead_master_is_replaced_by_the_one_the_sentinels_name),
        cmocka_unit_test(a_server_that_is_not_the_master_is_not_used),
        cmocka_unit_test(without_a_sentinel_that_answers_redis_is_down),
        cmocka_unit_test(bad_sentinel_lists_are_refused_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
