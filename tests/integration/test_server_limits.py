"""What hostile or merely slow clients can do to a daemon's server.

- Hostile request methods and paths (quotes, backslashes, ESC sequences, C0
  and C1 controls, bytes that are not UTF-8) and a hostile X-Request-Id: every
  log line stays JSON in printable ASCII (no raw ESC ever reaches the terminal
  of `./stack up`), and the access log still says what was sent.
- 1 100 slow clients (connected, sending nothing or half a header) against a
  daemon started with the common 1 024 open-file soft limit: the daemon raises
  its limit to the hard one at start and keeps serving everybody else.

Run against nimbus-persistence (the server and the log are libcommon's, the
same in every daemon).
"""
import json
import socket
import time
import unittest

from nimbus_harness import http, procs, testing
from server_common import KEY, Stack, log_lines

SLOW_CLIENTS = 1100
SOFT_LIMIT = 1024


def raw_request(port, data, timeout=10):
    """Sends raw bytes, returns the raw answer (until the server closes or answers once)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
            head, sep, body = out.partition(b"\r\n\r\n")
            if sep:
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:") and \
                            len(body) >= int(line.split(b":")[1]):
                        return out
        return out


class HostileInput(testing.TestCase):
    METHODS = [b'GE"T', b"G\\ET", b"\x1b[31mRED\x1b[0m", b"X\x9bY", b"\xc2\x9b2J", b"\xff\xfe",
               b"DEL\x7f", b"A\x01B", b"P\xc3\xa9T", b"\x1b]0;pwned\x07"]
    PATHS = [b"/v1/records/%1b%5b2J", b"/%9b%ff%22%5c%0a", b"/x\"y\\z", b"/\xc3\xa9\xff"]

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()
        cls.d = cls.stack.start("persistence")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop_all()

    def test_hostile_methods_and_paths_keep_every_log_line_json(self):
        port = self.stack.ports["persistence"]
        sent = 0
        statuses = []
        for method in self.METHODS:
            for path in [b"/healthz"] + self.PATHS:
                req = (method + b" " + path + b" HTTP/1.1\r\nHost: x\r\n"
                       b"X-Request-Id: \x1b]0;x\x07\"\r\nConnection: close\r\n\r\n")
                answer = raw_request(port, req)
                statuses.append(answer.split(b"\r\n", 1)[0])
                sent += 1
        # a valid request goes last: once it is logged, every earlier one is too
        self.assertStatus(http.get(self.stack.url("persistence") + "/healthz"), 200)
        procs.wait_until(lambda: any(x.get("msg") == "access" and x.get("path") == "/healthz"
                                     and x.get("method") == "GET"
                                     for x in log_lines(self.d.logfile)),
                         10, what="the access line of the last request")
        lines = log_lines(self.d.logfile)  # fails on any line that is not ASCII JSON
        access = [x for x in lines if x.get("msg") == "access"]
        methods = {x["method"] for x in access}
        self.assertIn('GE"T', methods)
        self.assertIn("\x1b[31mRED\x1b[0m", methods)
        self.assertIn("X\ufffdY", methods)  # a byte that is not UTF-8
        self.assertIn("\x9b2J", methods)  # C1 CSI, escaped in the line
        self.assertTrue(any(x["path"] == "/v1/records/\x1b[2J" for x in access))
        self.assertTrue(all(x.get("rid") and "\x1b" not in x["rid"] for x in access))
        print("%d hostile requests, %d access lines, all JSON; answers: %s"
              % (sent, len(access), sorted(set(s.decode("ascii", "replace") for s in statuses))))


class SlowClients(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < SLOW_CLIENTS * 2 + 512:
            raise unittest.SkipTest("hard open-file limit %d is too low for this test" % hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # our client sockets
        cls.hard = hard
        cls.stack = Stack()
        cls.d = cls.stack.start("persistence", wrap=[
            "prlimit", "--nofile=%d:%d" % (SOFT_LIMIT, hard), "--"])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop_all()

    def test_a_thousand_slow_clients_do_not_stop_others_being_served(self):
        limits = next(x for x in log_lines(self.d.logfile) if "connection_limit" in x)
        self.assertEqual(limits["nofile_before"], SOFT_LIMIT)
        self.assertEqual(limits["nofile"], self.hard)
        self.assertGreaterEqual(limits["connection_limit"], SLOW_CLIENTS + 100)

        port = self.stack.ports["persistence"]
        url = self.stack.url("persistence")
        slow = []
        try:
            for i in range(SLOW_CLIENTS):
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                if i % 2:
                    s.sendall(b"GET /v1/records/" + KEY.encode() + b" HTTP/1.1\r\nHost: x\r\n")
                slow.append(s)
            # everybody else is still served, promptly
            t0 = time.monotonic()
            worst = 0.0
            for i in range(40):
                t = time.monotonic()
                path = "/healthz" if i % 2 else "/v1/records/" + KEY
                r = http.get(url + path, timeout=5)
                self.assertIn(r.status, (200, 404) if i % 2 == 0 else (200,), r.body)
                if r.status == 404:
                    self.assertEqual(json.loads(r.body)["error"], "not_found")
                worst = max(worst, time.monotonic() - t)
            total = time.monotonic() - t0
            self.assertTrue(self.d.alive(), "persistence died:\n" + self.d.log_tail())
        finally:
            for s in slow:
                s.close()
        warnings = [x["msg"] for x in log_lines(self.d.logfile) if x.get("level") != "info"]
        self.assertFalse([w for w in warnings if "accept" in w or "refused" in w], warnings)
        rc, took = self.stack.stop_timed("persistence")
        self.assertEqual(rc, 0, self.d.log_tail())
        print("%d slow clients open (soft limit %d raised to %d, connection limit %d): "
              "40 requests in %.2fs, slowest %.3fs; SIGTERM to exit %.2fs"
              % (SLOW_CLIENTS, SOFT_LIMIT, limits["nofile"], limits["connection_limit"],
                 total, worst, took))


if __name__ == "__main__":
    testing.main()
