"""Upstream failures: stale data keeps being served (stale-if-error), nothing
bad is ever stored, no request waits past its deadline, and with no data at
all the answer is a JSON 502/503 with Retry-After."""
import time

from nimbus_harness import procs, schema, testing

from api_common import ApiStack, ApiTestCase, now_ms, record

UPSTREAM_TIMEOUT_MS = 800
MISS_DEADLINE_MS = 4000
REVALIDATE_WAIT_MS = 1500

# (name, how to break the simulator, statuses acceptable without stored data)
FAILURES = [
    ("http 500", lambda sim: sim.fail(500, 100), {502}),
    ("http 503", lambda sim: sim.fail(503, 100), {502}),
    ("http 429", lambda sim: sim.fail(429, 100), {503}),
    ("malformed body", lambda sim: sim.fault("malformed", 100), {502}),
    ("truncated body", lambda sim: sim.fault("truncated", 100), {502, 503}),
    ("oversized body", lambda sim: sim.fault("oversized", 100), {502}),
    ("empty body", lambda sim: sim.fault("empty", 100), {502}),
    ("timeout", lambda sim: sim.latency(3 * UPSTREAM_TIMEOUT_MS), {503}),
    ("hang", lambda sim: sim.fault("hang", 100), {503}),
    ("slow drip", lambda sim: sim.fault("drip", 100), {503}),
]


class UpstreamFailures(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = ApiStack(api_args=[
            "--upstream-timeout-ms", str(UPSTREAM_TIMEOUT_MS), "--upstream-retries", "1",
            "--miss-deadline-ms", str(MISS_DEADLINE_MS),
            "--revalidate-wait-ms", str(REVALIDATE_WAIT_MS),
            "--upstream-max-body", "262144"])

    @classmethod
    def tearDownClass(cls):
        cls.stack.sim.reset()
        cls.stack.stop()

    def timed(self, **kw):
        t0 = time.monotonic()
        r = self.stack.weather(**kw)
        return r, time.monotonic() - t0

    def test_failures(self):
        s = self.stack
        for i, (name, breakit, no_data_statuses) in enumerate(FAILURES):
            with self.subTest(failure=name):
                s.sim.reset()
                stale_key = "%.2f,-3.00" % (40 + i)
                missing = ("%.2f" % (40 + i), "-4.00")
                old = now_ms() - 3600_000
                s.put_record(record(stale_key, old))
                errors_before = s.metric("nimbus_upstream_errors_total")
                breakit(s.sim)

                # Stale data is served at once while the renewal fails behind it.
                r, took = self.timed(lat="%.2f" % (40 + i), lon="-3.00")
                doc = self.assertWeather(r, "STALE", "cache")
                self.assertEqual(doc["current"]["temperature"], 42.4)
                self.assertLess(took, 1.0, "a stale answer never waits for the upstream")
                # A revalidation waits, bounded, then still gets the stale copy.
                r, took = self.timed(lat="%.2f" % (40 + i), lon="-3.00",
                                     headers={"Cache-Control": "no-cache"})
                self.assertWeather(r, "STALE", "cache")
                self.assertLess(took, REVALIDATE_WAIT_MS / 1000 + 1.0)

                # Nothing stored at all: a JSON error with Retry-After, within the deadline.
                r, took = self.timed(lat=missing[0], lon=missing[1])
                self.assertIn(r.status, no_data_statuses, r.text())
                schema.validate(r.json(), "error")
                self.assertGreaterEqual(int(self.assertHeader(r, "Retry-After")), 1)
                self.assertLess(took, MISS_DEADLINE_MS / 1000 + 1.0)

                # The failed renewal left the stored record alone, in both stores.
                procs.wait_until(lambda: s.metric("nimbus_upstream_errors_total") > errors_before,
                                 10, what="the failed renewal counted")
                self.assertEqual(s.pg_fetched_at(stale_key), old)
                self.assertEqual(s.redis_record(stale_key)["current"]["temperature"], 42.4)
                self.assertIsNone(s.pg_record("%s,%s" % missing))
        s.sim.reset()


if __name__ == "__main__":
    testing.main()
