"""The request lifecycle under pressure: a herd of 300 requests for one new
place while persistence is paused (SIGSTOP) is answered within its deadline
with one persistence read of the name and one of the key (not 300), and the
api's memory stays bounded: failed or refused fetches leave at once, made-up
names cannot grow the table past its cap."""
import concurrent.futures
import signal
import time

from nimbus_harness import http, procs, schema, testing

from api_common import ApiStack, ApiTestCase

PERSISTENCE_TIMEOUT_MS = 1000
MISS_DEADLINE_MS = 10000


class Herd(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = ApiStack(api_args=[
            "--persistence-timeout-ms", str(PERSISTENCE_TIMEOUT_MS),
            "--miss-deadline-ms", str(MISS_DEADLINE_MS)])

    @classmethod
    def tearDownClass(cls):
        cls.stack.sim.reset()
        cls.stack.stop()

    def reads(self, op):
        return self.stack.metric('nimbus_persistence_calls_total{op="%s"}' % op)

    def test_herd_for_a_new_place_with_persistence_paused(self):
        s = self.stack
        s.sim.reset()
        s.sim.latency(300)
        geo0, rec0 = self.reads("get_geo"), self.reads("get_record")

        def ask(_):
            t0 = time.monotonic()
            r = s.weather(city="Wrocław", timeout=30)
            return r, time.monotonic() - t0
        s.persistence.send_signal(signal.SIGSTOP)
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=300) as pool:
                answers = list(pool.map(ask, range(300)))
        finally:
            s.persistence.send_signal(signal.SIGCONT)
        statuses = sorted({r.status for r, _ in answers})
        self.assertEqual(statuses, [200], [r.body[:200] for r, _ in answers if r.status != 200][:3])
        for r, _ in answers[:5]:
            schema.validate(r.json(), "weather")
        took = sorted(t for _, t in answers)
        print("herd of 300 with persistence paused: median %.2f s, max %.2f s"
              % (took[len(took) // 2], took[-1]))
        # One read of the name and one of the key, each waiting one timeout;
        # then the geocoder and the forecast (300 ms each). Not 300 reads.
        self.assertLess(took[-1], MISS_DEADLINE_MS / 1000)
        self.assertLess(took[-1], 4 * PERSISTENCE_TIMEOUT_MS / 1000 + 3)
        self.assertLessEqual(self.reads("get_geo") - geo0, 2)
        self.assertLessEqual(self.reads("get_record") - rec0, 2)
        self.assertEqual(s.sim.counters(), {"forecast": 1, "search": 1})
        # The writes held back by the pause land once persistence runs again.
        key = answers[0][0].json()["location"]["key"]
        procs.wait_until(lambda: s.pg_record(key) is not None, 30,
                         what="the herd's record in PostgreSQL after SIGCONT")


class BoundedMemory(ApiTestCase):
    """Refused fetches leave the table at once; made-up names stay under the cap."""

    @classmethod
    def setUpClass(cls):
        cls.stack = ApiStack(api_args=["--upstream-pace-per-min", "1"])
        capped = list(cls.stack.api_argv)
        capped[capped.index("--port") + 1] = str(procs.free_port())
        cls.capped_port = int(capped[capped.index("--port") + 1])
        cls.capped = procs.Daemon("api-capped", capped + ["--upstream-pace-per-min", "600",
                                                          "--flight-entries", "32"],
                                  ready_url="http://127.0.0.1:%d/readyz" % cls.capped_port,
                                  tmpdir=cls.stack.tmpdir)
        cls.capped.start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.capped.stop(timeout=20)
        cls.stack.stop()
        assert rc == 0, "api-capped exited %s" % rc

    def done_entries(self):
        return self.stack.metric('nimbus_flight_entries{state="done"}')

    def test_refused_fetches_are_reclaimed_promptly(self):
        s = self.stack
        s.sim.reset()
        expired0 = s.metric("nimbus_flight_expired_total")
        statuses = [s.weather(lat="33.%02d" % i, lon="44.00").status for i in range(40)]
        self.assertEqual(statuses.count(200), 1, statuses)  # the one pace token
        self.assertEqual(statuses.count(503), 39, statuses)
        # Each refusal is held 1 s (no hammering), then gone — not at a 30 s sweep.
        t0 = time.monotonic()
        procs.wait_until(lambda: self.done_entries() == 0, 5,
                         what="refused and stored fetches gone from the flight table")
        print("39 refused fetches reclaimed within %.1f s" % (time.monotonic() - t0))
        self.assertGreaterEqual(s.metric("nimbus_flight_expired_total") - expired0, 39)

    def test_made_up_names_cannot_grow_the_table_past_its_cap(self):
        # "Not found" answers are kept (negative cache), but in a table of 32
        # entries, the oldest kept result makes room for the next.
        s = self.stack
        s.sim.reset()
        base = "http://127.0.0.1:%d" % self.capped_port

        def entries(state):
            body = http.request("GET", base + "/metrics").text()
            line = [x for x in body.splitlines()
                    if x.startswith('nimbus_flight_entries{state="%s"}' % state)]
            return float(line[0].rsplit(" ", 1)[1])
        for i in range(60):
            r = http.request("GET", base + "/v1/weather?city=Qzx+Made+Up+%d" % i)
            self.assertEqual(r.status, 404, r.text())
            self.assertLessEqual(entries("done") + entries("running"), 32)
        self.assertEqual(entries("done"), 32)


if __name__ == "__main__":
    testing.main()
