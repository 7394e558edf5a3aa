"""nimbus-persistence in normal operation, on a real Redis and PostgreSQL:
the read path (cache hit, database hit with write-back, full miss), monotonic
writes under concurrency, geocoding entries and their expiry, every kind of
bad input, keep-alive, /readyz, /metrics and idempotent schema migration."""
import concurrent.futures
import json
import random
import time
import urllib.parse

from nimbus_harness import http, procs, schema, testing
from test_persistence_common import (Stack, geo_found, geo_not_found, iso, now_ms, record,
                                     require_built)


class PersistenceTest(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        require_built()
        cls.s = Stack()

    @classmethod
    def tearDownClass(cls):
        problems = cls.s.stop_daemon()
        if problems:
            raise AssertionError("clean shutdown: " + "\n".join(problems[:20]))

    def put(self, key, doc, ns="records"):
        return http.request("PUT", self.s.url("/v1/%s/%s" % (ns, key)), body=doc)

    def get(self, key, ns="records"):
        return http.get(self.s.url("/v1/%s/%s" % (ns, key)))

    def assertError(self, resp, status, code=None):
        self.assertStatus(resp, status)
        self.assertEqual(resp.header("Content-Type"), "application/json")
        body = schema.validate(resp.json(), "error")
        if code:
            self.assertEqual(body["error"], code)
        return body

    # ---- read path -------------------------------------------------------

    def test_fresh_cache_hit(self):
        rec = record("48.85,2.35")
        r = self.put("48.85,2.35", rec)
        self.assertStatus(r, 200)
        res = schema.validate(r.json(), "put-result")
        self.assertRegex(res.pop("event"), "^[0-9a-f-]{36}$")  # a new observation
        self.assertEqual(res, {"key": "48.85,2.35", "applied": True,
                               "fetched_at": rec["fetched_at"], "cache": "written"})
        r = self.get("48.85,2.35")
        self.assertStatus(r, 200)
        self.assertHeader(r, "X-Store", "cache")
        self.assertEqual(r.header("Content-Type"), "application/json")
        body = schema.validate(r.json(), "record")
        self.assertEqual(body["fetched_at"], rec["fetched_at"])
        self.assertEqual(body["current"], rec["current"])

    def test_conditional_get_with_the_stored_version(self):
        key, fetched = "41.39,2.17", now_ms()
        self.assertStatus(self.put(key, record(key, fetched_at_ms=fetched)), 200)
        etag = self.assertHeader(self.get(key), "ETag")
        self.assertEqual(etag, '"%d"' % fetched)
        url = self.s.url("/v1/records/" + key)
        same = http.request("GET", url, headers={"If-None-Match": etag})
        self.assertStatus(same, 304)
        self.assertEqual(same.body, b"")
        self.assertHeader(same, "X-Store", "cache")
        newer = record(key, fetched_at_ms=fetched + 1000)
        self.assertStatus(self.put(key, newer), 200)
        changed = http.request("GET", url, headers={"If-None-Match": etag})
        self.assertStatus(changed, 200)
        self.assertEqual(changed.json()["fetched_at"], newer["fetched_at"])

    def test_cache_miss_database_hit_fills_cache(self):
        key = "40.71,-74.01"
        rec = record(key)
        self.assertStatus(self.put(key, rec), 200)
        self.s.redis.cli("DEL", "nimbus:rec:" + key)  # only PostgreSQL has it now
        self.assertIsNone(self.s.redis_version(key))
        fills = self.s.metric("nimbus_store_cache_fills_total")
        r = self.get(key)
        self.assertStatus(r, 200)
        self.assertHeader(r, "X-Store", "database")
        schema.validate(r.json(), "record")
        ms = procs.wait_until(lambda: self.s.redis_version(key), 5,
                              what="the record to be written back to Redis")
        self.assertEqual(iso(ms), rec["fetched_at"])
        self.assertEqual(json.loads(self.s.redis.cli("HGET", "nimbus:rec:" + key, "d")),
                         r.json())
        ttl = int(self.s.redis.cli("TTL", "nimbus:rec:" + key))
        self.assertTrue(0 < ttl <= 86400, ttl)
        self.assertGreater(self.s.metric("nimbus_store_cache_fills_total"), fills)
        r2 = self.get(key)
        self.assertHeader(r2, "X-Store", "cache")
        self.assertEqual(r2.body, r.body)

    def test_full_miss_is_404(self):
        r = self.get("-33.87,151.21")
        self.assertError(r, 404, "not_found")

    # ---- writes ----------------------------------------------------------

    def test_older_record_never_replaces_newer(self):
        key = "35.68,139.69"
        t = now_ms()
        r = self.put(key, record(key, t, temperature=10))
        self.assertTrue(r.json()["applied"])
        r = self.put(key, record(key, t - 60000, temperature=-5))
        self.assertStatus(r, 200)
        res = schema.validate(r.json(), "put-result")
        self.assertFalse(res["applied"])
        self.assertEqual(res["fetched_at"], iso(t))
        r = self.put(key, record(key, t, temperature=99))  # same fetched_at: not newer
        self.assertFalse(r.json()["applied"])
        self.assertEqual(self.get(key).json()["current"]["temperature"], 10)
        self.assertEqual(self.s.pg_version(key), t)
        self.assertEqual(self.s.redis_version(key), t)

    def test_concurrent_puts_keep_the_newest_everywhere(self):
        key = "55.75,37.62"
        base = now_ms() - 100000  # all in the past: the future is refused (max clock skew)
        versions = [base + random.randrange(0, 100000) for _ in range(160)]
        newest = max(versions)

        def put(v):
            return self.put(key, record(key, v, temperature=(v % 1000) / 10.0))
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            results = list(ex.map(put, versions))
        for v, r in zip(versions, results):
            self.assertStatus(r, 200)
            res = schema.validate(r.json(), "put-result")
            # whatever won, it is at least as new as this write
            self.assertGreaterEqual(res["fetched_at"], iso(v))
        self.assertEqual(self.s.pg_version(key), newest)
        self.assertEqual(self.s.redis_version(key), newest)
        r = self.get(key)
        self.assertEqual(r.json()["fetched_at"], iso(newest))
        self.assertEqual(r.json()["current"]["temperature"], (newest % 1000) / 10.0)
        stored = self.s.pg.psql("SELECT body::text FROM records WHERE key = '%s'" % key,
                                db=self.s.db)
        self.assertEqual(json.loads(stored[0][0])["fetched_at"], iso(newest))

    # ---- geocoding -------------------------------------------------------

    def test_geocode_found_entry_round_trip(self):
        entry = geo_found("são paulo")
        path = urllib.parse.quote("  São   Paulo ")  # normalised by the server
        r = self.put(path, entry, ns="geocode")
        self.assertStatus(r, 200)
        res = schema.validate(r.json(), "put-result")
        self.assertEqual(res["key"], "são paulo")
        self.assertTrue(res["applied"])
        self.assertEqual(res["cache"], "written")
        r = self.get(urllib.parse.quote("SÃO paulo"), ns="geocode")  # only ASCII is folded
        self.assertError(r, 404)
        r = self.get(urllib.parse.quote("são PAULO"), ns="geocode")
        self.assertStatus(r, 200)
        self.assertHeader(r, "X-Store", "cache")
        body = schema.validate(r.json(), "geocode")
        self.assertEqual(body["place"]["name"], "Berlin")
        # an older resolution does not replace it
        old = geo_found("são paulo", now_ms() - 3600 * 1000)
        self.assertFalse(self.put(path, old, ns="geocode").json()["applied"])

    def test_geocode_not_found_entry_expires(self):
        t = now_ms()
        entry = geo_not_found("atlantis", t, t + 1500)
        r = self.put("atlantis", entry, ns="geocode")
        self.assertStatus(r, 200)
        self.assertTrue(r.json()["applied"])
        r = self.get("atlantis", ns="geocode")
        self.assertStatus(r, 200)
        body = schema.validate(r.json(), "geocode")
        self.assertFalse(body["found"])
        pttl = int(self.s.redis.cli("PTTL", "nimbus:geo:atlantis"))
        self.assertTrue(0 < pttl <= 1500, pttl)  # min(cache ttl, time left)
        procs.wait_until(lambda: self.get("atlantis", ns="geocode").status == 404, 10,
                         what="the not-found entry to expire")
        # expired in PostgreSQL too: gone from Redis, and the database does not serve it
        self.assertEqual(self.s.redis.cli("EXISTS", "nimbus:geo:atlantis").strip(), "0")
        rows = self.s.pg.psql("SELECT count(*) FROM geocode WHERE query = 'atlantis'",
                              db=self.s.db)
        self.assertEqual(rows, [["1"]])
        r = self.get("atlantis", ns="geocode")
        self.assertError(r, 404, "not_found")
        # a newer resolution replaces the expired entry
        self.assertTrue(self.put("atlantis", geo_found("atlantis"), ns="geocode").json()["applied"])
        self.assertStatus(self.get("atlantis", ns="geocode"), 200)

    # ---- bad input ---------------------------------------------------------

    def test_bad_keys(self):
        for key in ["52.5,13.41", "52.520,13.41", "91.00,0.00", "0.00,181.00", "-0.00,1.00",
                    "abc", "52.52;13.41", "52.52,13.41,1", "%2052.52,13.41"]:
            with self.subTest(key=key):
                self.assertError(self.get(key), 400, "bad_request")
                self.assertError(self.put(key, record("52.52,13.41")), 400, "bad_request")
        self.assertError(http.get(self.s.url("/v1/records/")), 400)

    def test_bad_bodies(self):
        key = "1.00,1.00"
        url = self.s.url("/v1/records/" + key)
        good = json.dumps(record(key))
        cases = {
            "not json": b"{not json",
            "truncated": good[:-5].encode(),
            "array": b"[]",
            "empty": b"",
            "duplicate key": b'{"key":"1.00,1.00","key":"1.00,1.00"}',
            "invalid utf-8": good.replace("Europe/Berlin", "Europe/B\udcffrlin").encode(
                "utf-8", "surrogateescape"),
        }
        for name, body in cases.items():
            with self.subTest(name):
                r = http.request("PUT", url, body=body,
                                 headers={"Content-Type": "application/json"})
                self.assertError(r, 400, "bad_request")
        rec = record(key)
        bad_records = {
            "key mismatch": dict(rec, key="2.00,2.00"),
            "latitude out of range": dict(rec, latitude=200),
            "missing current": {k: v for k, v in rec.items() if k != "current"},
            "bad fetched_at": dict(rec, fetched_at="yesterday"),
            "weather code": dict(rec, current=dict(rec["current"], weather_code=150)),
            "too many days": dict(rec, daily=rec["daily"] * 3),
        }
        for name, doc in bad_records.items():
            with self.subTest(name):
                body = self.assertError(self.put(key, doc), 400, "bad_request")
                self.assertTrue(body["reason"])
        self.assertError(self.get(key), 404)  # nothing of that was stored

    def test_future_dated_writes_are_refused(self):
        """A record fetched (or a resolution made) more than --max-clock-skew-ms
        (default 60 s) ahead of persistence's clock is a 400 with a reason and is
        stored nowhere: it would otherwise win every later write."""
        key = "1.00,4.00"
        r = self.put(key, record(key, now_ms() + 5 * 60000))
        body = self.assertError(r, 400, "bad_request")
        self.assertIn("fetched_at", body["reason"])
        self.assertIn("in the future", body["reason"])
        self.assertIn("--max-clock-skew-ms", body["reason"])
        self.assertError(self.get(key), 404)
        self.assertIsNone(self.s.pg_version(key))
        self.assertIsNone(self.s.redis_version(key))
        self.assertEqual(self.s.pg.psql("SELECT count(*) FROM outbox WHERE key = '%s'" % key,
                                        db=self.s.db), [["0"]])
        r = self.put("berlin", geo_found("berlin", now_ms() + 5 * 60000), ns="geocode")
        self.assertIn("resolved_at", self.assertError(r, 400, "bad_request")["reason"])
        # within the skew: a writer whose clock is a little ahead is fine
        ahead = now_ms() + 30000
        r = self.put(key, record(key, ahead))
        self.assertStatus(r, 200)
        self.assertEqual(self.s.pg_version(key), ahead)
        self.assertStatus(self.put("lisbon", geo_found("lisbon", now_ms() + 30000),
                                   ns="geocode"), 200)
        # expires_at is not a version: a far expiry is no reason to refuse
        t = now_ms()
        self.assertStatus(self.put("eldorado", geo_not_found("eldorado", t, t + 3600000),
                                   ns="geocode"), 200)

    def test_wrong_content_type_is_415(self):
        key = "1.00,2.00"
        body = json.dumps(record(key))
        for ct in [None, "text/plain", "application/jsonx", "application/x-www-form-urlencoded"]:
            with self.subTest(ct=ct):
                headers = {"Content-Type": ct} if ct else {}
                r = http.request("PUT", self.s.url("/v1/records/" + key), body=body.encode(),
                                 headers=headers)
                self.assertError(r, 415, "unsupported_media_type")
        r = http.request("PUT", self.s.url("/v1/records/" + key), body=body.encode(),
                         headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertStatus(r, 200)

    def test_oversized_body_is_413(self):
        key = "1.00,3.00"
        big = json.dumps(dict(record(key), timezone="x" * 70000))
        r = http.request("PUT", self.s.url("/v1/records/" + key), body=big.encode(),
                         headers={"Content-Type": "application/json"})
        self.assertError(r, 413, "payload_too_large")

    def test_bad_geocode_queries(self):
        for q in ["%20%20%20", "a%01b", "x" * 201, "%FF%FE", "caf%C3"]:
            with self.subTest(q=q[:20]):
                self.assertError(self.get(q, ns="geocode"), 400, "bad_request")
        entry = geo_found("berlin")
        self.assertError(self.put("paris", entry, ns="geocode"), 400, "bad_request")
        self.assertError(self.put("berlin", dict(entry, found="yes"), ns="geocode"), 400)
        self.assertError(self.put("berlin", {"query": "berlin", "found": True,
                                             "resolved_at": iso(now_ms())}, ns="geocode"), 400)

    def test_unknown_method_and_route(self):
        self.assertError(http.request("DELETE", self.s.url("/v1/records/1.00,1.00")), 405)
        self.assertError(http.get(self.s.url("/v1/nothing")), 404)

    # ---- HTTP behaviour -----------------------------------------------------

    def test_keep_alive(self):
        key = "51.51,-0.13"
        self.assertStatus(self.put(key, record(key)), 200)
        with http.Conn("127.0.0.1", self.s.port) as c:
            r1 = c.get("/v1/records/" + key)
            self.assertStatus(r1, 200)
            self.assertFalse(c.server_closed)
            self.assertNotEqual((r1.header("Connection") or "").lower(), "close")
            r2 = c.get("/v1/records/" + key)
            self.assertStatus(r2, 200)
            r3 = c.request("PUT", "/v1/records/" + key, body=record(key))
            self.assertStatus(r3, 200)
            self.assertEqual(c.connects, 1)
            self.assertFalse(c.server_closed)

    def test_readyz_reports_each_backend(self):
        r = http.get(self.s.url("/readyz"))
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {"status": "ok", "redis": "up", "postgres": "up"})
        self.assertStatus(http.get(self.s.url("/healthz")), 200)

    def test_metrics_count_hits_and_misses(self):
        key = "41.90,12.50"
        before = {s: self.s.metric("nimbus_store_hits_total", 'store="%s"' % s)
                  for s in ("cache", "database")}
        miss = self.s.metric("nimbus_store_misses_total", 'store="database"')
        self.assertStatus(self.get(key), 404)
        self.assertEqual(self.s.metric("nimbus_store_misses_total", 'store="database"'), miss + 1)
        self.assertStatus(self.put(key, record(key)), 200)
        self.assertStatus(self.get(key), 200)
        self.assertEqual(self.s.metric("nimbus_store_hits_total", 'store="cache"'),
                         before["cache"] + 1)
        self.assertEqual(self.s.metric("nimbus_store_hits_total", 'store="database"'),
                         before["database"])
        for name in ("nimbus_backend_errors_total", "nimbus_backend_reconnects_total"):
            for b in ("redis", "postgres"):
                self.assertIn("%s{backend=\"%s\"}" % (name, b),
                              http.get(self.s.url("/metrics")).text())


class SchemaMigrationTest(testing.TestCase):
    """The schema is created at start-up and migrating again changes nothing."""

    @classmethod
    def setUpClass(cls):
        require_built()
        cls.s = Stack()

    def test_restart_on_same_database_is_idempotent(self):
        s = self.s
        rows = s.pg.psql("SELECT version FROM schema_version ORDER BY version", db=s.db)
        self.assertEqual(rows, [["1"], ["2"], ["3"]])
        key = "59.33,18.07"
        self.assertStatus(http.request("PUT", s.url("/v1/records/" + key), body=record(key)), 200)
        self.assertEqual(s.stop_daemon(), [])
        s.start_daemon()
        self.assertEqual(s.pg.psql("SELECT version FROM schema_version ORDER BY version",
                                   db=s.db), [["1"], ["2"], ["3"]])
        r = http.get(s.url("/v1/records/" + key))
        self.assertStatus(r, 200)
        schema.validate(r.json(), "record")
        tables = s.pg.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                           " ORDER BY tablename", db=s.db)
        self.assertEqual(tables, [["geocode"], ["mails"], ["outbox"], ["records"],
                                  ["schema_version"], ["subscription_tokens"], ["subscriptions"]])
        self.assertEqual(s.stop_daemon(), [])

    def test_daemons_starting_together_migrate_once(self):
        s = self.s
        db = s.pg.fresh_db("together")
        daemons = []
        for _ in range(3):
            port = procs.free_port()
            daemons.append(procs.Daemon(
                "persistence-%d" % port,
                [procs.binary("nimbus-persistence"), "--port", port, "--redis-url", s.redis.url,
                 "--postgres-dsn", s.pg.dsn(db), "--access-log", "false"],
                ready_url="http://127.0.0.1:%d/readyz" % port))
        # spawn all three before waiting for any, so they race for the migration
        # (from this thread: the harness ties children to the thread that forks them)
        for d in daemons:
            d.proc = procs.Proc(d.name, d.argv, d.logfile)
        for d in daemons:
            d.wait_ready()
        self.assertEqual(s.pg.psql("SELECT version FROM schema_version ORDER BY version", db=db),
                         [["1"], ["2"], ["3"]])
        for d in daemons:
            self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    testing.main()
