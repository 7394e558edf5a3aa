"""nimbus-persistence's transactional outbox on a real PostgreSQL: a record write
that advances the observation stores exactly one event with it (decided by the
database, also under concurrent writers and across a SIGKILL), relays claim
events with leases (disjoint between owners, claimable again when a lease runs
out, released at once on request, never again once acked), stats and metrics
show the backlog, sent events are deleted after the retention, and the routes
refuse bad input with a reason."""
import concurrent.futures
import datetime
import random
import threading
import time
import urllib.parse

from nimbus_harness import http, procs, schema, testing
from test_persistence_common import Stack, iso, now_ms, record, require_built

UUID_RE = "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"


def observed(i):
    """The i-th distinct observation time (current.time), 15 minutes apart."""
    t = datetime.datetime(2026, 11, 24) + datetime.timedelta(minutes=15 * i)
    return t.strftime("%Y-%m-%dT%H:%M")


class OutboxTest(testing.TestCase):
    """One Redis and PostgreSQL for the class; each test gets its own database
    and daemon, so the outbox holds only that test's events."""

    @classmethod
    def setUpClass(cls):
        require_built()
        cls.servers = Stack()
        cls.servers.stop_daemon()

    def setUp(self):
        self.s = self.stack()

    def stack(self, args=()):
        s = Stack(args=args, redis=self.servers.redis, pg=self.servers.pg)
        s.redis.cli("FLUSHALL")
        self.addCleanup(self.stopped_cleanly, s)
        return s

    def stopped_cleanly(self, s):
        if s.daemon.alive():
            self.assertEqual(s.stop_daemon(), [], "clean shutdown")

    # ---- helpers -----------------------------------------------------------

    def put(self, key, doc, name=None, s=None):
        path = "/v1/records/" + key
        if name is not None:
            path += "?name=" + urllib.parse.quote(name, safe="")
        return http.request("PUT", (s or self.s).url(path), body=doc)

    def put_ok(self, key, doc, **kw):
        r = self.put(key, doc, **kw)
        self.assertStatus(r, 200)
        return schema.validate(r.json(), "put-result")

    def claim(self, owner, limit=100, lease_ms=60000, s=None):
        r = (s or self.s).post("/v1/outbox/claim",
                               {"owner": owner, "limit": limit, "lease_ms": lease_ms})
        self.assertStatus(r, 200)
        body = schema.validate(r.json(), "outbox-claim-result")
        for e in body["events"]:
            schema.validate(e["event"], "event")
            self.assertEqual(e["event"]["id"], e["id"])
            self.assertEqual(e["event"]["key"], e["key"])
        return body["events"]

    def ack(self, ids):
        r = self.s.post("/v1/outbox/ack", {"ids": list(ids)})
        self.assertStatus(r, 200)
        return schema.validate(r.json(), "outbox-ack-result")["acked"]

    def release(self, owner, ids):
        r = self.s.post("/v1/outbox/release", {"owner": owner, "ids": list(ids)})
        self.assertStatus(r, 200)
        return schema.validate(r.json(), "outbox-release-result")["released"]

    def stats(self):
        r = http.get(self.s.url("/v1/outbox/stats"))
        self.assertStatus(r, 200)
        return schema.validate(r.json(), "outbox-stats")

    def make_events(self, n, first=0):
        """n events: one new record each for keys first.00,1.00 ... (in parallel)."""
        keys = ["%d.%02d,1.00" % (10 + (first + i) // 100, (first + i) % 100) for i in range(n)]
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            results = list(ex.map(lambda k: self.put_ok(k, record(k, now_ms() - 1000)), keys))
        ids = [res["event"] for res in results]
        self.assertEqual(len(set(ids)), n)
        return ids

    # ---- one event per new observation ---------------------------------------

    def test_a_new_observation_stores_exactly_one_schema_valid_event(self):
        key, t = "-23.55,-46.63", now_ms() - 60000
        rec = record(key, t, observed=observed(0))
        before = time.time()
        res = self.put_ok(key, rec, name="São Paulo")
        self.assertRegex(res["event"], UUID_RE)
        rows = self.s.outbox_rows()
        self.assertEqual(len(rows), 1)
        ev = schema.validate(rows[0]["event"], "event")
        self.assertEqual(rows[0]["id"], res["event"])
        self.assertEqual(ev["id"], res["event"])
        self.assertEqual(ev["type"], "weather.observation")
        self.assertEqual(ev["key"], key)
        self.assertEqual(ev["location"], {"latitude": -23.55, "longitude": -46.63,
                                          "timezone": "Europe/Berlin", "name": "São Paulo"})
        self.assertEqual(ev["observation"], {
            "time": observed(0), "temperature": 3.5, "apparent_temperature": 1.2,
            "relative_humidity": 80, "wind_speed": 11.5, "weather_code": 3,
            "condition": "Overcast"})
        self.assertEqual(ev["fetched_at"], rec["fetched_at"])
        made = datetime.datetime.fromisoformat(ev["time"].replace("Z", "+00:00")).timestamp()
        self.assertTrue(before - 5 <= made <= time.time() + 5, ev["time"])

        # the same observation fetched again, newer: stored, no event
        res = self.put_ok(key, record(key, t + 1000, temperature=4.0, observed=observed(0)))
        self.assertTrue(res["applied"])
        self.assertNotIn("event", res)
        # an older write, even of another observation: not stored, no event
        res = self.put_ok(key, record(key, t - 1000, observed=observed(1)))
        self.assertFalse(res["applied"])
        self.assertNotIn("event", res)
        self.assertEqual(len(self.s.outbox_rows()), 1)
        # newer, and a new observation: one more event (no name given: none in it)
        res = self.put_ok(key, record(key, t + 2000, observed=observed(1)))
        self.assertIn("event", res)
        rows = self.s.outbox_rows()
        self.assertEqual([r["event"]["observation"]["time"] for r in rows],
                         [observed(0), observed(1)])
        self.assertNotIn("name", rows[1]["event"]["location"])
        self.assertEqual(rows[1]["event"]["fetched_at"], iso(t + 2000))

    def test_a_bad_name_is_refused_and_nothing_is_stored(self):
        key = "48.21,16.37"
        for name in ["Wi\x01en", "x" * 201]:
            with self.subTest(name=name[:10]):
                r = self.put(key, record(key), name=name)
                self.assertStatus(r, 400)
                self.assertIn("name", schema.validate(r.json(), "error")["reason"])
        r = http.request("PUT", self.s.url("/v1/records/%s?name=%%FF" % key), body=record(key))
        self.assertStatus(r, 400)
        self.assertEqual(self.s.outbox_rows(), [])
        self.assertStatus(http.get(self.s.url("/v1/records/" + key)), 404)
        self.assertIn("event", self.put_ok(key, record(key), name=""))  # empty: no name

    def test_concurrent_puts_make_one_event_per_new_observation(self):
        key, base = "59.91,10.75", now_ms() - 600000
        # observation i is fetched at versions base + 1000 i + j: later
        # observations are newer; every version is written once, in random order
        writes = [(i, base + 1000 * i + j) for i in range(10) for j in range(8)]
        random.shuffle(writes)

        def put(w):
            i, v = w
            return w, self.put_ok(key, record(key, v, temperature=float(i), observed=observed(i)))
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            results = list(ex.map(put, writes))
        rows = self.s.outbox_rows()
        events = [r["event"] for r in rows]
        for e in events:
            schema.validate(e, "event")
        by_obs = {}
        for e in events:
            by_obs.setdefault(e["observation"]["time"], []).append(e["id"])
        self.assertEqual([k for k, ids in by_obs.items() if len(ids) > 1], [],
                         "an observation with more than one event")
        # the events are exactly those the PUT answers announced...
        announced = {res["event"]: w for w, res in results if "event" in res}
        self.assertEqual(set(announced), {e["id"] for e in events})
        # ...each for the write that carried it...
        for e in events:
            i, v = announced[e["id"]]
            self.assertEqual((e["observation"]["time"], e["fetched_at"]), (observed(i), iso(v)))
        # ...one wherever the stored observation changed, in the order the
        # writes were applied (applied writes only ever go up in fetched_at)
        applied = sorted(w for w, res in results if res["applied"])
        changes, last = [], None
        for i, v in sorted(applied, key=lambda w: w[1]):
            if i != last:
                changes.append(i)
            last = i
        self.assertEqual(sorted(by_obs), sorted(observed(i) for i in changes))
        self.assertIn(observed(9), by_obs)  # the newest observation always has its event
        self.assertEqual(self.s.pg_version(key), base + 1000 * 9 + 7)

    def test_the_record_and_its_event_commit_together_when_persistence_is_killed(self):
        """Writers advance one key each, observation after observation, while
        persistence is SIGKILLed three times (and restarted; a writer then
        retries the write it got no answer for, as the api does). Whatever was
        committed: the events of each key are exactly those of its observations
        1..m, once each, where m is the record stored now; every acknowledged
        write is there."""
        keys = ["%d.00,20.00" % (30 + n) for n in range(8)]
        base = now_ms() - 3600000
        state = {k: {"next": 1, "acked": 0} for k in keys}

        def writer(key, stop):
            st = state[key]
            while not stop.is_set():
                i = st["next"]
                doc = record(key, base + 1000 * i, temperature=float(i), observed=observed(i))
                try:
                    r = self.put(key, doc)
                except OSError:
                    return
                if r.status != 200:
                    return
                st["acked"], st["next"] = i, i + 1
        for kill in range(3):
            if kill:
                self.s.start_daemon()
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(k, stop)) for k in keys]
            for t in threads:
                t.start()
            target = sum(st["acked"] for st in state.values()) + 60
            try:
                procs.wait_until(lambda: sum(st["acked"] for st in state.values()) >= target,
                                 30, what="writes acknowledged before kill %d" % (kill + 1))
                self.s.daemon.kill()
            finally:
                stop.set()
                for t in threads:
                    t.join(30)
        stored = {row[0]: int(float(row[1])) for row in self.s.pg.psql(
            "SELECT key, body->'current'->>'temperature' FROM records", db=self.s.db)}
        events = {}
        for row in self.s.outbox_rows():
            e = row["event"]
            events.setdefault(e["key"], []).append(int(e["observation"]["temperature"]))
            self.assertEqual(e["fetched_at"],
                             iso(base + 1000 * int(e["observation"]["temperature"])))
        for k in keys:
            m = stored.get(k, 0)
            self.assertGreaterEqual(m, state[k]["acked"], "%s: an acknowledged write was lost" % k)
            self.assertEqual(sorted(events.get(k, [])), list(range(1, m + 1)),
                             "%s: stored observation %d, events %s" % (k, m, events.get(k)))
        # for the record: how many transactions the kills cut (not asserted: timing)
        cut = self.servers.pg.proc.log_text().count("unexpected EOF on client connection with"
                                                    " an open transaction")
        print("transactions interrupted by the kills so far: %d" % cut)

    # ---- claims ------------------------------------------------------------------

    def test_two_owners_claiming_at_once_get_disjoint_events(self):
        ids = self.make_events(60)
        order = [r["id"] for r in self.s.outbox_rows()]  # oldest first
        got = {"a": [], "b": []}
        start = threading.Barrier(2)

        def relay(owner):
            start.wait(10)
            while True:
                batch = self.claim(owner, limit=7)
                if not batch:
                    return
                # oldest first within a claim
                pos = [order.index(e["id"]) for e in batch]
                self.assertEqual(pos, sorted(pos))
                got[owner] += [e["id"] for e in batch]
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            list(ex.map(relay, ["a", "b"]))
        self.assertEqual(set(got["a"]) & set(got["b"]), set(), "an event claimed twice")
        self.assertEqual(sorted(got["a"] + got["b"]), sorted(ids))
        self.assertGreater(len(got["a"]), 0)
        self.assertGreater(len(got["b"]), 0)
        self.assertEqual(self.claim("c"), [])  # all under a live lease
        claimed = self.s.pg.psql("SELECT claimed_by, count(*) FROM outbox GROUP BY claimed_by"
                                 " ORDER BY claimed_by", db=self.s.db)
        self.assertEqual(claimed, [["a", str(len(got["a"]))], ["b", str(len(got["b"]))]])

    def test_an_unacked_claim_is_claimable_again_after_its_lease(self):
        ids = self.make_events(3)
        first = self.claim("crashed-relay", lease_ms=1000)
        self.assertEqual(sorted(e["id"] for e in first), sorted(ids))
        self.assertEqual(self.claim("other"), [])
        t0 = time.monotonic()
        again = procs.wait_until(lambda: self.claim("other", lease_ms=1000), 15,
                                 what="the expired claims to be claimable again")
        self.assertGreater(time.monotonic() - t0, 0.5)  # not before the lease ran out
        self.assertEqual([e["id"] for e in again],
                         [r["id"] for r in self.s.outbox_rows()])  # oldest first

    def test_acked_events_are_never_returned_again(self):
        ids = self.make_events(4)
        batch = self.claim("relay", lease_ms=1000)
        self.assertEqual(len(batch), 4)
        self.assertEqual(self.ack(ids[:3]), 3)
        self.assertEqual(self.ack(ids[:3]), 0)  # idempotent
        self.assertEqual(self.ack(["00000000-0000-4000-8000-000000000000"]), 0)  # unknown
        self.assertEqual(self.ack([ids[3].upper()]), 1)  # any case
        # ack clears the lease: only "sent" keeps them from being claimed, now and later
        self.assertEqual(self.claim("relay"), [])
        self.assertEqual([r["sent"] for r in self.s.outbox_rows()], [True] * 4)
        self.assertEqual(self.stats(), {"pending": 0, "oldest_pending_age_s": 0})

    def test_released_events_are_claimable_at_once(self):
        ids = self.make_events(3)
        self.assertEqual(len(self.claim("stopping", lease_ms=600000)), 3)
        self.assertEqual(self.release("someone-else", ids), 0)
        self.assertEqual(self.claim("next"), [])
        self.assertEqual(self.ack(ids[:1]), 1)
        self.assertEqual(self.release("stopping", ids), 2)  # the acked one stays sent
        self.assertEqual(sorted(e["id"] for e in self.claim("next")), sorted(ids[1:]))

    # ---- stats, metrics, retention ------------------------------------------------

    def test_stats_and_metrics_show_depth_and_oldest_age(self):
        self.assertEqual(self.stats(), {"pending": 0, "oldest_pending_age_s": 0})
        ids = self.make_events(3)
        st = self.stats()
        self.assertEqual(st["pending"], 3)
        self.assertLess(st["oldest_pending_age_s"], 30)
        procs.wait_until(lambda: self.stats()["oldest_pending_age_s"] >= 1.0, 15,
                         what="the oldest event to be a second old")
        procs.wait_until(lambda: self.s.metric("nimbus_outbox_pending") == 3
                         and self.s.metric("nimbus_outbox_oldest_pending_age_seconds") >= 1, 15,
                         what="the outbox gauges to show 3 events at least 1 s old")
        self.ack(ids[:1])
        self.assertEqual(self.stats()["pending"], 2)
        self.ack(ids[1:])
        self.assertEqual(self.stats(), {"pending": 0, "oldest_pending_age_s": 0})
        procs.wait_until(lambda: self.s.metric("nimbus_outbox_pending") == 0
                         and self.s.metric("nimbus_outbox_oldest_pending_age_seconds") == 0, 15,
                         what="the outbox gauges to show an empty outbox")
        self.assertEqual(self.s.metric("nimbus_outbox_events_created_total"), 3)

    def test_sent_events_are_deleted_after_the_retention(self):
        self.s.stop_daemon()
        self.s = self.stack(args=["--outbox-retention-s", 1])
        ids = self.make_events(3)
        self.assertEqual(self.ack(ids[:2]), 2)
        procs.wait_until(lambda: len(self.s.outbox_rows()) == 1, 20,
                         what="sent events deleted after 1 s")
        rows = self.s.outbox_rows()
        self.assertEqual((rows[0]["id"], rows[0]["sent"]), (ids[2], False))  # unsent: kept
        self.assertEqual(self.s.metric("nimbus_outbox_events_purged_total"), 2)

    # ---- bad input -------------------------------------------------------------------

    def test_bad_outbox_requests_are_refused_with_a_reason(self):
        uuid = "3ac073fe-f32e-4dbc-8fb6-d850933b3b41"
        cases = {
            "/v1/outbox/claim": [
                {}, {"owner": "a", "limit": 1}, {"owner": "", "limit": 1, "lease_ms": 1000},
                {"owner": "x" * 65, "limit": 1, "lease_ms": 1000},
                {"owner": "a\nb", "limit": 1, "lease_ms": 1000},
                {"owner": 7, "limit": 1, "lease_ms": 1000},
                {"owner": "a", "limit": 0, "lease_ms": 1000},
                {"owner": "a", "limit": 1001, "lease_ms": 1000},
                {"owner": "a", "limit": "10", "lease_ms": 1000},
                {"owner": "a", "limit": 1.5, "lease_ms": 1000},
                {"owner": "a", "limit": 1, "lease_ms": 999},
                {"owner": "a", "limit": 1, "lease_ms": 600001},
                {"owner": "a", "limit": 1, "lease_ms": 1000, "extra": 1},
                [], "not json"],
            "/v1/outbox/ack": [
                {}, {"ids": []}, {"ids": uuid}, {"ids": ["nope"]}, {"ids": [uuid, 3]},
                {"ids": [uuid + "0"]}, {"ids": [uuid] * 1001}, {"ids": [uuid], "owner": "a"}],
            "/v1/outbox/release": [
                {"ids": [uuid]}, {"owner": "a"}, {"owner": "a", "ids": ["nope"]},
                {"owner": "", "ids": [uuid]}],
        }
        for path, bodies in cases.items():
            for body in bodies:
                with self.subTest(path=path, body=str(body)[:60]):
                    if isinstance(body, str):
                        r = http.request("POST", self.s.url(path), body=body.encode(),
                                         headers={"Content-Type": "application/json"})
                    else:
                        r = self.s.post(path, body)
                    self.assertStatus(r, 400)
                    err = schema.validate(r.json(), "error")
                    self.assertEqual(err["error"], "bad_request")
                    self.assertTrue(err["reason"])
        r = http.request("POST", self.s.url("/v1/outbox/ack"),
                         body=b'{"ids":["%s"]}' % uuid.encode(),
                         headers={"Content-Type": "text/plain"})
        self.assertStatus(r, 415)
        self.assertStatus(http.get(self.s.url("/v1/outbox/claim")), 405)
        self.assertStatus(http.request("POST", self.s.url("/v1/outbox/stats")), 405)
        # a 64-character owner (not bytes: "é" is two) is fine
        self.assertEqual(self.claim("é" * 64), [])

    def test_the_clock_skew_is_a_setting(self):
        self.s.stop_daemon()
        self.s = self.stack(args=["--max-clock-skew-ms", 1000])
        key = "60.17,24.94"
        r = self.put(key, record(key, now_ms() + 10000))
        self.assertStatus(r, 400)
        self.assertIn("1000 ms", r.json()["reason"])
        self.assertIn("event", self.put_ok(key, record(key, now_ms())))
        self.assertEqual(len(self.s.outbox_rows()), 1)

    def test_outbox_routes_answer_503_while_postgresql_is_down(self):
        ids = self.make_events(1)
        self.servers.pg.stop()
        try:
            procs.wait_until(lambda: http.get(self.s.url("/readyz")).status == 503, 15,
                             what="persistence to see PostgreSQL down")
            for path, body in [("/v1/outbox/claim", {"owner": "a", "limit": 1, "lease_ms": 1000}),
                               ("/v1/outbox/ack", {"ids": ids}),
                               ("/v1/outbox/release", {"owner": "a", "ids": ids})]:
                r = self.s.post(path, body)
                self.assertStatus(r, 503)
                self.assertEqual(r.header("Retry-After"), "1")
                self.assertEqual(schema.validate(r.json(), "error")["error"], "unavailable")
            self.assertStatus(http.get(self.s.url("/v1/outbox/stats")), 503)
        finally:
            self.servers.pg.start()
        procs.wait_until(lambda: http.get(self.s.url("/readyz")).status == 200, 20,
                         what="PostgreSQL back")
        self.assertEqual([e["id"] for e in self.claim("a")], ids)  # nothing was lost


if __name__ == "__main__":
    testing.main()
