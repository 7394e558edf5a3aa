"""nimbus-persistence when a backend dies, freezes or comes back: reads and
writes go on through PostgreSQL while Redis is down and Redis is used again
after it returns (without serving anything older than PostgreSQL holds);
with PostgreSQL down reads come from Redis and nothing is acknowledged that is
not in PostgreSQL; no request waits longer than its deadline on a hung one."""
import os
import signal
import threading
import time

from nimbus_harness import http, procs, schema, testing
from test_persistence_common import Stack, iso, now_ms, record, require_built

TIMEOUT_MS = 300
MARGIN_S = 0.7  # scheduling slack on a loaded 2-core machine


def pg_processes(postmaster):
    """The postmaster and its children (PostgreSQL backends call setsid(), so
    signalling the process group does not reach them)."""
    pids = [postmaster]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == postmaster:
                pids.append(int(d))
    return pids


class Degraded(testing.TestCase):
    def setUp(self):
        require_built()

    def stack(self, **kw):
        s = Stack(**kw)
        self.addCleanup(lambda: self.assertEqual(s.stop_daemon(), [], "clean shutdown"))
        return s

    def put(self, s, key, doc):
        return http.request("PUT", s.url("/v1/records/" + key), body=doc)

    def get(self, s, key):
        return http.get(s.url("/v1/records/" + key))

    def timed(self, fn, *args):
        t0 = time.monotonic()
        r = fn(*args)
        return r, time.monotonic() - t0

    def ready(self, s):
        r = http.get(s.url("/readyz"))
        return r.status, r.json()

    def assertUnavailable(self, r):
        self.assertStatus(r, 503)
        self.assertEqual(r.header("Retry-After"), "1")
        self.assertEqual(schema.validate(r.json(), "error")["error"], "unavailable")

    # ---- Redis -------------------------------------------------------------

    def test_redis_killed_then_back(self):
        s = self.stack()
        key, other = "52.52,13.41", "48.14,11.58"
        self.assertEqual(self.put(s, key, record(key)).json()["cache"], "written")
        errors = s.metric("nimbus_backend_errors_total", 'backend="redis"')
        reconnects = s.metric("nimbus_backend_reconnects_total", 'backend="redis"')

        s.redis.kill()
        r = self.get(s, key)
        self.assertStatus(r, 200)
        self.assertHeader(r, "X-Store", "database")
        schema.validate(r.json(), "record")
        r = self.put(s, other, record(other))
        self.assertStatus(r, 200)
        res = schema.validate(r.json(), "put-result")
        self.assertTrue(res["applied"])
        self.assertEqual(res["cache"], "skipped")
        self.assertHeader(self.get(s, other), "X-Store", "database")
        self.assertGreater(s.metric("nimbus_backend_errors_total", 'backend="redis"'), errors)
        status, body = self.ready(s)
        self.assertEqual(status, 200)  # degraded but serving
        self.assertEqual(body, {"status": "degraded", "redis": "down", "postgres": "up"})

        s.redis.start()  # same port, empty
        procs.wait_until(lambda: self.ready(s)[1]["redis"] == "up", 10,
                         what="persistence to see Redis back")
        procs.wait_until(lambda: self.get(s, key).header("X-Store") == "cache", 10,
                         what="reads served from Redis again")
        self.assertGreater(s.metric("nimbus_backend_reconnects_total", 'backend="redis"'),
                           reconnects)
        self.assertEqual(self.put(s, other, record(other)).json()["cache"], "written")
        self.assertIsNotNone(s.redis_version(other))

    def test_connections_dropped_by_the_servers_are_replaced_without_errors(self):
        s = self.stack()
        key = "53.55,9.99"
        self.assertStatus(self.put(s, key, record(key)), 200)
        for _ in range(20):  # let every worker open its connections
            self.assertStatus(self.get(s, key), 200)
        counters = lambda: [s.metric(m, 'backend="%s"' % b)  # noqa: E731
                            for m in ("nimbus_backend_errors_total",
                                      "nimbus_backend_reconnects_total")
                            for b in ("redis", "postgres")]
        before = counters()
        s.redis.cli("CLIENT", "KILL", "TYPE", "normal")
        s.pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                  " WHERE application_name = 'nimbus-persistence'", db=s.db)
        for i in range(20):
            r = self.put(s, key, record(key, now_ms() + i))
            self.assertStatus(r, 200)
            self.assertEqual(r.json()["cache"], "written")
            r = self.get(s, key)
            self.assertStatus(r, 200)
            self.assertHeader(r, "X-Store", "cache")
        self.assertEqual(counters(), before, "no backend was seen failing")
        self.assertEqual(self.ready(s)[1]["status"], "ok")

    def test_redis_back_with_older_data_never_serves_it(self):
        s = self.stack(redis_appendonly=True)
        key = "50.11,8.68"
        t1 = now_ms() - 10000
        r = self.put(s, key, record(key, t1))
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["cache"], "written")
        s.redis.stop()  # graceful: the append-only file keeps the t1 record
        t2 = t1 + 5000
        r = self.put(s, key, record(key, t2))
        self.assertEqual(r.json(), {"key": key, "applied": True, "fetched_at": iso(t2),
                                    "cache": "skipped"})
        s.redis.start()  # reloads the t1 record (persistence may delete it at once)
        self.assertIn("DB loaded from append only file", s.redis.proc.log_text())

        def newest_from_cache():
            r = self.get(s, key)
            self.assertStatus(r, 200)
            self.assertEqual(r.json()["fetched_at"], iso(t2), "served the older record")
            return r.header("X-Store") == "cache"
        procs.wait_until(newest_from_cache, 10, what="the newest record served from Redis")
        self.assertEqual(s.redis_version(key), t2)
        self.assertGreaterEqual(s.metric("nimbus_store_cache_invalidations_total"), 1)

    def test_redis_frozen_requests_keep_their_deadline(self):
        s = self.stack(args=["--backend-timeout-ms", TIMEOUT_MS])
        key = "45.46,9.19"
        t1 = now_ms() - 10000
        self.assertStatus(self.put(s, key, record(key, t1)), 200)
        os.kill(s.redis.pid, signal.SIGSTOP)
        try:
            limit = TIMEOUT_MS / 1000.0 + MARGIN_S
            r, took = self.timed(self.get, s, key)
            self.assertStatus(r, 200)
            self.assertHeader(r, "X-Store", "database")
            self.assertLess(took, limit)
            for _ in range(5):  # the breaker is open: no more waiting on Redis
                r, took = self.timed(self.get, s, key)
                self.assertStatus(r, 200)
                self.assertLess(took, limit)
            t2 = t1 + 1000
            r, took = self.timed(self.put, s, key, record(key, t2))
            self.assertLess(took, limit)
            self.assertEqual(r.json()["cache"], "skipped")
            (status, body), took = self.timed(self.ready, s)
            self.assertLess(took, limit)
            self.assertEqual((status, body["redis"]), (200, "down"))
        finally:
            os.kill(s.redis.pid, signal.SIGCONT)
        procs.wait_until(lambda: self.get(s, key).header("X-Store") == "cache", 10,
                         what="reads served from Redis after it thawed")
        self.assertEqual(self.get(s, key).json()["fetched_at"], iso(t2))

    def test_dirty_key_read_while_redis_is_paused_never_stalls_the_polling_thread(self):
        """A key persistence still has to delete from Redis (its cache write failed)
        is read while Redis is frozen. The polling thread (one here, so a stall would
        hold up every request) never waits on Redis: requests that need no backend
        are answered at once, and GETs of other keys and of the dirty key within the
        backend deadline, with the newest data."""
        timeout_ms = 3000
        s = self.stack(args=["--backend-timeout-ms", timeout_ms, "--threads", 1])
        dirty, others = "46.95,7.45", ["47.37,8.54", "46.20,6.15", "46.52,6.63"]
        t1 = now_ms() - 10000
        for k in [dirty] + others:
            self.assertEqual(self.put(s, k, record(k, t1)).json()["cache"], "written")
        # Redis now answers persistence's writes and deletes with an error (not an
        # outage: the cache stays "up" for reads). The newer record's cache write
        # fails, so the key is dirty, and it stays dirty: the fill thread's DEL fails.
        s.redis.cli("ACL", "SETUSER", "default", "-eval", "-del")
        t2 = t1 + 1000
        r = self.put(s, dirty, record(dirty, t2))
        self.assertEqual(r.json(), {"key": dirty, "applied": True, "fetched_at": iso(t2),
                                    "cache": "skipped"})
        self.assertEqual(s.redis_version(dirty), t1)  # Redis still holds the older copy
        r = self.get(s, dirty)
        self.assertEqual(r.json()["fetched_at"], iso(t2))  # never the older copy
        self.assertHeader(r, "X-Store", "database")
        self.assertEqual(self.ready(s)[1]["redis"], "up")
        self.assertHeader(self.get(s, others[0]), "X-Store", "cache")

        limit = timeout_ms / 1000.0 + MARGIN_S
        answers = {}

        def timed_get(key):
            answers[key] = self.timed(self.get, s, key)
        os.kill(s.redis.pid, signal.SIGSTOP)
        try:
            readers = [threading.Thread(target=timed_get, args=(k,)) for k in [dirty] + others]
            for t in readers:
                t.start()
            # For as long as one backend deadline, the polling thread answers
            # requests that need no backend at once.
            inline = []
            end = time.monotonic() + timeout_ms / 1000.0
            while time.monotonic() < end:
                (r, took) = self.timed(http.get, s.url("/healthz"))
                self.assertStatus(r, 200)
                inline.append(took)
                (r, took) = self.timed(self.get, s, "not-a-key")
                self.assertStatus(r, 400)
                inline.append(took)
            for t in readers:
                t.join(limit + 10)
        finally:
            os.kill(s.redis.pid, signal.SIGCONT)
        self.assertLess(max(inline), 1.0, "an inline answer waited %.2fs (of %d)"
                        % (max(inline), len(inline)))
        for k, t in [(dirty, t2)] + [(o, t1) for o in others]:
            r, took = answers[k]
            self.assertStatus(r, 200)
            self.assertEqual(r.json()["fetched_at"], iso(t), k)
            self.assertLess(took, limit, "GET %s took %.2fs" % (k, took))

    # ---- PostgreSQL --------------------------------------------------------

    def test_postgres_stopped_reads_from_redis_and_acknowledges_nothing_lost(self):
        s = self.stack()
        cached = "40.42,-3.70"
        self.assertStatus(self.put(s, cached, record(cached)), 200)

        acked, stop = [], threading.Event()

        def writer():
            i = 0
            while not stop.is_set():
                key = "%d.%02d,1.00" % (10 + i // 100, i % 100)
                try:
                    r = self.put(s, key, record(key))
                    if r.status == 200:
                        acked.append(key)
                    else:
                        self.assertEqual(r.status, 503)
                except OSError:
                    pass
                i += 1
        t = threading.Thread(target=writer)
        t.start()
        try:
            procs.wait_until(lambda: len(acked) >= 5, 10, what="some acknowledged writes")
            s.pg.stop()
            r = self.get(s, cached)
            self.assertStatus(r, 200)
            self.assertHeader(r, "X-Store", "cache")
            self.assertUnavailable(self.get(s, "1.00,2.00"))  # a cache miss
            self.assertUnavailable(self.put(s, "1.00,3.00", record("1.00,3.00")))
            status, body = self.ready(s)
            self.assertEqual(status, 503)
            self.assertEqual(body["postgres"], "down")
            s.pg.start()
            procs.wait_until(lambda: self.ready(s)[0] == 200, 15, what="postgres back")
            n = len(acked)
            procs.wait_until(lambda: len(acked) > n, 10, what="writes acknowledged again")
        finally:
            stop.set()
            t.join(30)
        rows = s.pg.psql("SELECT key FROM records", db=s.db)
        stored = {row[0] for row in rows}
        missing = [k for k in acked if k not in stored]
        self.assertEqual(missing, [], "acknowledged but not in PostgreSQL")
        self.assertStatus(self.put(s, "1.00,3.00", record("1.00,3.00")), 200)

    def test_postgres_absent_at_start_up_then_ready(self):
        s = self.stack()
        self.assertEqual(s.stop_daemon(), [])
        s.pg.stop()
        port = procs.free_port()
        s.port, s.base = port, "http://127.0.0.1:%d" % port
        s.daemon = procs.Daemon(
            "persistence-late-db",
            [procs.binary("nimbus-persistence"), "--port", port, "--redis-url", s.redis.url,
             "--postgres-dsn", s.pg.dsn(s.db), "--access-log", "false"],
            ready_url=s.base + "/healthz").start()  # alive, but not ready
        status, body = self.ready(s)
        self.assertEqual((status, body["postgres"]), (503, "down"))
        self.assertUnavailable(self.put(s, "3.00,3.00", record("3.00,3.00")))
        s.pg.start()
        procs.wait_until(lambda: self.ready(s)[0] == 200, 15, what="ready once PostgreSQL is up")
        self.assertStatus(self.put(s, "3.00,3.00", record("3.00,3.00")), 200)
        self.assertEqual(s.pg.psql("SELECT version FROM schema_version ORDER BY version",
                                   db=s.db), [["1"], ["2"], ["3"]])

    def test_postgres_frozen_requests_keep_their_deadline(self):
        s = self.stack(args=["--backend-timeout-ms", TIMEOUT_MS])
        cached = "37.98,23.73"
        self.assertStatus(self.put(s, cached, record(cached)), 200)
        pids = pg_processes(s.pg.pid)
        for pid in pids:  # postmaster and every backend (each in its own session)
            os.kill(pid, signal.SIGSTOP)
        try:
            limit = TIMEOUT_MS / 1000.0 + MARGIN_S
            r, took = self.timed(self.put, s, "2.00,2.00", record("2.00,2.00"))
            self.assertUnavailable(r)
            self.assertLess(took, limit)
            r, took = self.timed(self.get, s, "2.00,2.00")
            self.assertUnavailable(r)
            self.assertLess(took, limit)
            r, took = self.timed(self.get, s, cached)
            self.assertStatus(r, 200)
            self.assertLess(took, limit)
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        procs.wait_until(lambda: self.put(s, "2.00,2.00", record("2.00,2.00")).status == 200,
                         15, what="writes accepted after PostgreSQL thawed")
        self.assertEqual(s.pg.psql("SELECT count(*) FROM records WHERE key = '2.00,2.00'",
                                   db=s.db), [["1"]])


if __name__ == "__main__":
    testing.main()
