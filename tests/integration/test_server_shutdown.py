"""SIGTERM under keep-alive load, again and again, for each daemon.

Eight clients keep sending requests over keep-alive connections while the
daemon gets SIGTERM. Every round must end with exit code 0 (the old server
aborted in 10 of 16 rounds: "MHD_stop_daemon() called while we have suspended
connections", exit 134), inside the shutdown bound (the daemon's grace, 5 s by
default, 6 s for front, plus 2 s for a loaded machine; container runtimes
give 10 s), and every answer a client got is either complete and valid or a
503 with Connection: close. A connection that ends before any answer is
allowed (a client retries it); a truncated answer is not. Every log line
stays JSON.

One class per daemon; ctest runs each as its own test (server_shutdown_<name>).
"""
import json
import statistics

from nimbus_harness import http, testing
from server_common import KEY, Load, Stack, json_body, log_lines

ROUNDS = 8
RECORD_PATH = "/v1/records/" + KEY
WEATHER_PATH = "/v1/weather?lat=52.52&lon=13.41"


def record_doc():
    from test_persistence_common import now_ms, record
    return record(KEY, now_ms() - 60000)


class ShutdownRounds:
    """The rounds; mixed into one testing.TestCase per daemon."""

    daemon = None  # which one gets SIGTERM
    bound_s = 5.0 + 2.0
    keep = ()  # the daemons it needs, started once

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()
        for name in cls.keep:
            cls.stack.start(name)
        cls.prepare(cls.stack)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop_all()

    @classmethod
    def prepare(cls, stack):
        pass

    def requests(self):
        raise NotImplementedError

    def test_sigterm_under_keep_alive_load_always_exits_0_in_time(self):
        took, served = [], []
        for n in range(1, ROUNDS + 1):
            d = self.stack.start(self.daemon)
            load = Load(self.stack.ports[self.daemon], self.requests()).start()
            try:
                load.wait_answers(60)
                # keep-alive holds until the signal: one connection per client
                self.assertEqual(load.connects, load.n, "round %d: connections were not reused" % n)
            finally:
                rc, secs = self.stack.stop_timed(self.daemon)
                load.stop()
            self.assertEqual(rc, 0, "round %d: %s exited %s on SIGTERM:\n%s"
                             % (n, self.daemon, rc, d.log_tail()))
            lines = log_lines(d.logfile)
            self.assertEqual(load.bad, [], "round %d: bad answers" % n)
            self.assertLessEqual(secs, self.bound_s, "round %d: shutdown took %.2fs" % (n, secs))
            self.assertTrue(any(line.get("msg", "").startswith("server stopped in")
                                for line in lines), "round %d: no 'server stopped' line" % n)
            self.assertFalse([line for line in lines if "answered twice" in line.get("msg", "")])
            took.append(secs)
            served.append((load.ok, load.refused, load.dropped))
        print("%s: %d rounds, SIGTERM to exit: median %.3fs, max %.3fs; "
              "(complete, 503, dropped) per round: %s"
              % (self.daemon, ROUNDS, statistics.median(took), max(took), served))


class Persistence(ShutdownRounds, testing.TestCase):
    daemon = "persistence"

    @classmethod
    def prepare(cls, stack):
        cls.stack.start("persistence")
        r = http.request("PUT", stack.url("persistence") + RECORD_PATH, body=record_doc())
        assert r.status == 200, r.body
        stack.stop_timed("persistence")

    def requests(self):
        put = json.dumps(record_doc())
        hdrs = {"Content-Type": "application/json"}
        get = ("GET", RECORD_PATH, None, None, json_body(200, "current"))
        return [get, get, get, ("PUT", RECORD_PATH, hdrs, put, json_body(200)), get,
                ("GET", "/healthz", None, None, json_body(200))]


class Api(ShutdownRounds, testing.TestCase):
    daemon = "api"
    keep = ("persistence",)

    def requests(self):
        weather = ("GET", WEATHER_PATH, None, None, json_body(200, "current"))
        return [weather, weather, weather, ("GET", "/healthz", None, None, json_body(200))]


class Front(ShutdownRounds, testing.TestCase):
    daemon = "front"
    bound_s = 6.0 + 2.0  # front's grace is its api timeout + 1 s
    keep = ("persistence", "api")

    def requests(self):
        page = ("GET", "/" + KEY, {"Accept": "application/json"}, None,
                json_body(200, "current"))
        return [page, page, page, ("GET", "/healthz", None, None, json_body(200))]


if __name__ == "__main__":
    testing.main()
