"""Redis high availability with Sentinel, on real engines: a Redis primary, a
replica and three redis-sentinel processes (Debian's), PostgreSQL, and a
nimbus-persistence given the sentinels instead of a Redis URL.

The primary is SIGKILLed under read load: the sentinels promote the replica;
persistence reads from PostgreSQL meanwhile (its breaker) — not one read
fails — then finds the new primary through the sentinels by itself: writes
land in the new primary's cache again, and leases and the budget work there,
without a restart of persistence."""
import threading
import time

from nimbus_harness import http, procs, testing

from test_persistence_common import now_ms, record, require_built

MASTER = "mymaster"
KEYS = ["48.%02d,2.35" % i for i in range(20)]


class SentinelFailover(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        require_built()
        cls.primary = procs.Redis().start()
        cls.replica = procs.Redis(args=["--replicaof", "127.0.0.1", cls.primary.port]).start()
        procs.wait_until(lambda: "master_link_status:up" in cls.replica.cli("INFO", "replication"),
                         15, what="the replica linked to the primary")
        cls.sentinels = [procs.Sentinel(cls.primary.port, MASTER).start() for _ in range(3)]
        cls.pg = procs.Postgres().start()
        cls.db = cls.pg.fresh_db("sentinel")
        port = procs.free_port()
        cls.port = port
        cls.base = "http://127.0.0.1:%d" % port
        cls.persistence = procs.Daemon(
            "persistence",
            [procs.binary("nimbus-persistence"), "--port", port,
             "--redis-sentinels", ",".join(s.addr for s in cls.sentinels),
             "--redis-master-name", MASTER,
             "--postgres-dsn", cls.pg.dsn(cls.db), "--backend-timeout-ms", "500",
             "--access-log", "false"],
            ready_url=cls.base + "/readyz").start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.persistence.stop()
        assert rc == 0, "persistence exited %s" % rc

    def redis_status(self):
        return http.get(self.base + "/readyz").json()["redis"]

    def put(self, key, ms):
        r = http.request("PUT", self.base + "/v1/records/" + key, body=record(key, ms))
        self.assertEqual(r.status, 200, r.text())
        return r.json()

    def test_primary_killed_under_read_load(self):
        t0 = now_ms() - 60_000
        for k in KEYS:
            self.assertEqual(self.put(k, t0)["cache"], "written")
        self.primary.cli("WAIT", "1", "2000")  # the replica has them too

        failures, reads, stop = [], [0], threading.Event()

        def load():
            conn = http.Conn("127.0.0.1", self.port)
            i = 0
            while not stop.is_set():
                k = KEYS[i % len(KEYS)]
                i += 1
                try:
                    r = conn.request("GET", "/v1/records/" + k)
                    if r.status != 200:
                        failures.append((k, r.status, r.body[:200]))
                except OSError as e:
                    failures.append((k, "error", repr(e)))
                    conn = http.Conn("127.0.0.1", self.port)
                reads[0] += 1
        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            procs.wait_until(lambda: reads[0] > 200, 10, what="read load under way")
            killed_at = time.monotonic()
            self.primary.kill()  # SIGKILL
            new = ("127.0.0.1", self.replica.port)
            procs.wait_until(lambda: all(s.master() == new for s in self.sentinels), 30,
                             what="the sentinels to promote the replica")
            promoted_at = time.monotonic()
            # persistence follows by itself: Redis answers it again, no restart.
            procs.wait_until(lambda: self.redis_status() == "up", 20,
                             what="persistence back on Redis (the new primary)")
            back_at = time.monotonic()
            done = reads[0]
            procs.wait_until(lambda: reads[0] > done + 100, 10, what="reads after the failover")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(failures, [], "reads failed during the failover")
        print("failover: promoted %.1f s after the kill, persistence on the new primary %.1f s "
              "after the kill; %d reads, 0 failed"
              % (promoted_at - killed_at, back_at - killed_at, reads[0]))

        # Writes resume on the new primary.
        fresh = self.put(KEYS[0], now_ms())
        self.assertEqual(fresh["cache"], "written")
        self.assertEqual(int(self.replica.cli("HGET", "nimbus:rec:" + KEYS[0], "v").strip()),
                         self._fetched_ms(fresh["fetched_at"]))
        # Leases and the budget live there too.
        lease = http.request("POST", self.base + "/v1/leases/acquire",
                             body={"kind": "record", "key": KEYS[1], "ttl_ms": 5000,
                                   "seen_ms": now_ms()}).json()
        self.assertEqual(lease["state"], "granted")
        self.assertGreater(int(self.replica.cli("PTTL", "nimbus:lease:rec:" + KEYS[1]).strip()), 0)
        budget = http.request("POST", self.base + "/v1/budget/take",
                              body={"cost": 1, "windows": [{"seconds": 60, "limit": 600}]})
        self.assertEqual(budget.status, 200, budget.text())
        self.assertTrue(budget.json()["granted"])
        self.assertIn("redis master of '%s' is now 127.0.0.1:%d" % (MASTER, self.replica.port),
                      self.persistence.log_text())

    @staticmethod
    def _fetched_ms(text):
        import datetime
        dt = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc)
        return int(round(dt.timestamp() * 1000))


if __name__ == "__main__":
    testing.main()
