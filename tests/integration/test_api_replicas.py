"""Many replicas, one service: three api replicas and two persistence replicas
on one Redis and one PostgreSQL behave as one api towards the upstream.

- A burst of 200 requests for a place never fetched, spread over the three apis,
  makes exactly one geocoding and one forecast call (one per process before:
  three of each).
- A stale key asked 100 times over every replica is renewed once; a
  revalidation on another replica than the renewing one gets the new record.
- A replica SIGKILLed while it holds a key's renewal lease (its upstream call
  in flight) blocks that key on the other replicas no longer than the lease's
  TTL: they then fetch it themselves.
- The upstream budget holds for the replicas together: with
  --upstream-pace-per-min 60 two replicas asked for 20 new places make the
  calls one budget allows — what one replica alone makes (twice that before,
  one budget per process) — and the rest get 503 with an honest Retry-After.
The simulator counts the upstream calls; every wait has a deadline."""
import concurrent.futures
import threading
import time

from nimbus_harness import procs, schema, testing

from api_common import ApiTestCase, Replicas, now_ms, record

LEASE_MS = 3000


class Coalescing(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Replicas(n_api=3, n_persistence=2, api_args=["--lease-ms", str(LEASE_MS)])

    @classmethod
    def tearDownClass(cls):
        cls.stack.sim.reset()
        cls.stack.stop()

    def setUp(self):
        self.stack.sim.reset()

    def test_burst_of_200_over_three_replicas_makes_one_call_of_each_kind(self):
        s = self.stack
        s.sim.latency(300)  # the first fetch is still in flight while the burst arrives

        def ask(i):
            return s.weather(i % 3, city="Wrocław")
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
            answers = list(pool.map(ask, range(200)))
        took = time.monotonic() - t0
        bad = [a.body[:200] for a in answers if a.status != 200]
        self.assertEqual(bad, [])
        for a in answers[:3]:
            schema.validate(a.json(), "weather")
        self.assertEqual(len({a.json()["location"]["key"] for a in answers}), 1)
        self.assertEqual(s.sim.counters(), {"forecast": 1, "search": 1})
        print("burst of 200 over 3 replicas: %.2f s, upstream %s" % (took, s.sim.counters()))

    def test_a_stale_key_asked_everywhere_is_renewed_once(self):
        s, key = self.stack, "53.55,10.00"
        s.put_record(record(key, now_ms() - 3600_000))
        s.sim.latency(500, endpoint="forecast")

        def ask(i):
            return s.weather(i % 3, lat="53.55", lon="10.00")
        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(ask, range(100)))
        self.assertEqual(sorted({a.status for a in answers}), [200])
        self.assertIn("STALE", {a.headers["X-Cache"] for a in answers})
        # A revalidation on a replica that may not be the renewing one joins the renewal.
        again = s.weather(2, headers={"Cache-Control": "no-cache"}, lat="53.55", lon="10.00")
        self.assertEqual(again.status, 200, again.text())
        self.assertEqual(again.json()["freshness"]["state"], "fresh")
        self.assertNotEqual(again.json()["current"]["temperature"], 42.4)
        procs.wait_until(lambda: (s.pg_fetched_at(key) or 0) > now_ms() - 60_000, 30,
                         what="the renewed record in PostgreSQL")
        self.assertEqual(s.sim.counters()["forecast"], 1)
        print("100 stale hits over 3 replicas: %d renewal" % s.sim.counters()["forecast"])

    def test_a_replica_killed_holding_a_lease_blocks_the_key_only_until_its_ttl(self):
        s, key = self.stack, "52.37,4.90"
        s.sim.latency(30_000, endpoint="forecast")  # api-1's call never comes back
        def ask_the_doomed_replica():
            try:
                s.weather(0, lat="52.37", lon="4.90", timeout=60)
            except OSError:
                pass  # it is killed before it answers
        first = threading.Thread(target=ask_the_doomed_replica, daemon=True)
        first.start()
        procs.wait_until(lambda: s.lease_ttl_ms("rec", key) > 0, 15,
                         what="api-1 holding the renewal lease of %s" % key)
        s.api[0].kill()  # SIGKILL: no release
        killed_at = time.monotonic()
        left_ms = max(0, s.lease_ttl_ms("rec", key))
        s.sim.latency(0)
        r = s.weather(1, lat="52.37", lon="4.90")
        waited = time.monotonic() - killed_at
        self.assertWeather(r, "MISS", "upstream")
        # It waited for the dead holder's lease to end, not for any longer.
        self.assertLess(waited, LEASE_MS / 1000 + 3.0)
        self.assertGreater(waited, left_ms / 1000 - 0.5)
        print("lease of a SIGKILLed replica: the key answered %.2f s after the kill "
              "(lease TTL %d ms, %d ms left at the kill)" % (waited, LEASE_MS, left_ms))
        s.restart_api(0)


# What a forecast costs in Open-Meteo's counting: today's request asks 28
# variables for 16 days, max(1, 28/10) x max(1, 16/14) = 3.2 calls.
FORECAST_COST = 2.8 * 16 / 14
PACE = 60  # --upstream-pace-per-min: a burst of 6 calls' worth, then 54 a minute


def most_calls(seconds, budgets):
    """Forecasts `budgets` budgets of PACE a minute allow in `seconds`."""
    burst, rate = PACE / 10, (PACE - PACE / 10) / 60.0
    return int(budgets * (burst + rate * seconds) / FORECAST_COST)


class Budget(ApiTestCase):
    """--upstream-pace-per-min 60 on each replica: one budget for all of them."""

    def burst_of_new_places(self, n_api):
        s = Replicas(n_api=n_api, n_persistence=2,
                     budget=["--upstream-pace-per-min", str(PACE),
                             "--upstream-budget-per-hour", "0", "--upstream-budget-per-day", "0"])
        try:
            s.sim.reset()

            def ask(i):
                return s.weather(i % n_api, lat="4%d.%02d" % (i % 2, i), lon="5.00")
            t0 = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
                answers = list(pool.map(ask, range(20)))
            took = time.monotonic() - t0
            calls = s.sim.counters()["forecast"]
        finally:
            s.sim.reset()
            s.stop()
        ok = [a for a in answers if a.status == 200]
        refused = [a for a in answers if a.status == 503]
        self.assertEqual(len(ok) + len(refused), 20, [a.status for a in answers])
        self.assertEqual(calls, len(ok))
        for a in refused:
            schema.validate(a.json(), "error")
            self.assertEqual(a.json()["error"], "rate_limited")
            self.assertIn("for every replica", a.json()["reason"])
            self.assertGreaterEqual(int(a.headers["Retry-After"]), 1)
            self.assertLessEqual(int(a.headers["Retry-After"]), 60)
        return calls, took

    def test_replicas_together_spend_what_one_would(self):
        alone, t1 = self.burst_of_new_places(1)
        together, t2 = self.burst_of_new_places(2)
        print("20 new places at %d/min: one replica %d upstream calls (%.2f s), two replicas "
              "%d (%.2f s); one budget allows %d, two would allow %d"
              % (PACE, alone, t1, together, t2, most_calls(t2, 1), most_calls(t2, 2)))
        self.assertGreaterEqual(together, 1)
        self.assertLessEqual(alone, most_calls(t1, 1))
        # Two replicas stay within ONE budget (each with its own, they made twice as many).
        self.assertLessEqual(together, most_calls(t2, 1))
        self.assertLess(together, most_calls(t2, 2))


if __name__ == "__main__":
    testing.main()
