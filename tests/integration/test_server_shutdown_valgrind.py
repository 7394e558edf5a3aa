"""An upstream fetch that ends after shutdown began, under valgrind.

The api runs under valgrind (ASan cannot see inside libmicrohttpd, which is not
instrumented). A request for an unknown location waits for the upstream, which
the private simulator answers only after 5 s. SIGTERM arrives while it waits:
the server answers the client 503 (Connection: close) at 3/4 of the 1 s grace
and stops; at the end of the grace the api cancels the fetch (its bounded
shutdown), the fetch ends with an error and the request's owner — handed back
to a worker — answers the request it still owns. The old code read the freed
connection on such a late answer (an invalid read in
MHD_lookup_connection_value_n). That late answer must be dropped without any
invalid access: valgrind's error count is the exit code (--error-exitcode),
and its log must hold no invalid read or write. The api's log proves the order:
the server's forced 503 first, the cancel (and so the late answer) after it.
One focused round: valgrind is slow.
"""
import json
import os
import shutil
import threading
import unittest

from nimbus_harness import http, procs, testing
from nimbus_harness.sim import WeatherSim
from server_common import Stack, log_lines

LATENCY_MS = 5000


class UpstreamAnswerAfterShutdown(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("valgrind"):
            raise unittest.SkipTest("valgrind is not installed (./stack installs it)")
        testing.require_binary("weather-sim")
        cls.sim = WeatherSim.start(name="weather-sim-slow")
        cls.sim.latency(LATENCY_MS, endpoint="forecast")
        cls.stack = Stack(sim=cls.sim)
        cls.stack.start("persistence")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop_all()
        cls.sim.stop()

    def test_late_upstream_answer_touches_no_freed_connection(self):
        vglog = os.path.join(self.stack.tmpdir, "valgrind.log")
        api = self.stack.start(
            "api", wrap=["valgrind", "--error-exitcode=99", "--log-file=" + vglog],
            args=["--grace-ms", "1000", "--upstream-timeout-ms", "20000",
                  "--upstream-retries", "0", "--kafka-flush-ms", "1000"],
            ready_timeout=180)
        got = {}

        def ask():
            try:
                got["r"] = http.get(self.stack.url("api") + "/v1/weather?lat=48.85&lon=2.35",
                                    timeout=120)
            except Exception as e:  # noqa: BLE001 — reported below
                got["e"] = e
        client = threading.Thread(target=ask, daemon=True)
        client.start()
        procs.wait_until(lambda: self.sim.counters()["forecast"] >= 1, 60,
                         what="the api's forecast request at the simulator")
        rc, took = self.stack.stop_timed("api", timeout=120)
        client.join(30)

        with open(vglog, encoding="utf-8", errors="replace") as f:
            report = f.read()
        self.assertNotIn("Invalid read", report, report[-4000:])
        self.assertNotIn("Invalid write", report, report[-4000:])
        self.assertEqual(rc, 0, "api under valgrind exited %s (99: valgrind found errors):\n%s"
                         % (rc, report[-4000:]))
        self.assertIn("ERROR SUMMARY: 0 errors", report)

        self.assertNotIn("e", got, "the waiting client got no answer: %r" % got.get("e"))
        r = got["r"]
        self.assertStatus(r, 503)
        self.assertEqual(json.loads(r.body)["error"], "unavailable")
        self.assertTrue(r.will_close, "the 503 of a stop closes the connection")

        # The fetch ended after the server had answered the client: its owner's
        # answer came late.
        msgs = [x["msg"] for x in log_lines(api.logfile)]
        forced = [i for i, m in enumerate(msgs) if "still in flight at shutdown were answered" in m]
        cancel = [i for i, m in enumerate(msgs) if m.startswith("shutdown: cancelling the upstream")]
        self.assertTrue(forced and cancel, msgs[-20:])
        self.assertLess(forced[0], cancel[0])
        print("api under valgrind: SIGTERM to exit %.1fs; the fetch was cancelled after the "
              "server's 503, and its late answer dropped" % took)


if __name__ == "__main__":
    testing.main()
