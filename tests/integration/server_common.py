"""Helpers shared by the HTTP server life-cycle tests (not a test itself).

Stack starts nimbus-persistence, nimbus-api and nimbus-front (as many as a
test needs) on free ports against the suite's shared Redis, PostgreSQL and
Kafka, each optionally wrapped (valgrind, prlimit) and restartable, so a test
can SIGTERM one daemon again and again while the others keep running.

Load keeps n HTTP/1.1 keep-alive connections busy and sorts every outcome:
a complete answer the test's check accepts, a 503 refusal, a connection that
ended before any answer (allowed: a client retries those), or anything else
("bad": a truncated body, an unexpected status, a body that fails the check).

log_lines() reads a daemon's log and fails on any line that is not JSON or
holds a byte outside printable ASCII.
"""
import http.client
import json
import signal
import threading
import time

from nimbus_harness import procs, shared, testing

REDIS_DB = 9  # these tests keep their cache entries apart from other suites'
KEY = "52.52,13.41"


class Stack:
    """Daemons on free ports; start(name) (re)starts one, stop_timed(name) SIGTERMs it."""

    def __init__(self, sim=None):
        testing.require_binary("nimbus-persistence", "nimbus-api", "nimbus-front")
        self.sh = shared()
        self.sim = sim or self.sh.sim
        self.sh.redis.cli("-n", str(REDIS_DB), "FLUSHDB")
        self.db = self.sh.postgres.fresh_db("server")
        self.tmpdir = procs.scratch_dir("server")
        self.ports = {n: procs.free_port() for n in ("persistence", "api", "front")}
        self.daemons = {}
        self.runs = {n: 0 for n in self.ports}

    def url(self, name):
        return "http://127.0.0.1:%d" % self.ports[name]

    def argv(self, name):
        port = str(self.ports[name])
        if name == "persistence":
            return [procs.binary("nimbus-persistence"), "--port", port,
                    "--redis-url", "redis://127.0.0.1:%d/%d" % (self.sh.redis.port, REDIS_DB),
                    "--postgres-dsn", self.sh.postgres.dsn(self.db)]
        if name == "api":
            return [procs.binary("nimbus-api"), "--port", port,
                    "--persistence-url", self.url("persistence"),
                    "--forecast-url", self.sim.forecast_url,
                    "--geocoding-url", self.sim.geocoding_url,
                    "--kafka-brokers", self.sh.kafka.bootstrap]
        return [procs.binary("nimbus-front"), "--port", port, "--api-url", self.url("api"),
                "--api-timeout-ms", "5000"]

    def start(self, name, args=(), wrap=(), ready_timeout=30):
        """Starts name (argv prefixed by wrap, e.g. valgrind) and waits for /readyz."""
        self.runs[name] += 1
        d = procs.Daemon("%s-%d" % (name, self.runs[name]),
                         list(wrap) + self.argv(name) + list(args),
                         ready_url=self.url(name) + "/readyz", tmpdir=self.tmpdir,
                         ready_timeout=ready_timeout)
        self.daemons[name] = d.start()
        return d

    def stop_timed(self, name, timeout=20):
        """SIGTERM; returns (exit code, seconds from the signal to the exit)."""
        d = self.daemons.pop(name)
        t0 = time.monotonic()
        d.send_signal(signal.SIGTERM)
        try:
            rc = d.proc.popen.wait(timeout)
        except Exception:
            d.kill()
            raise AssertionError("%s did not exit within %ds of SIGTERM:\n%s"
                                 % (d.name, timeout, d.log_tail()))
        took = time.monotonic() - t0
        d.proc.stop()  # reaps, forgets
        return rc, took

    def stop_all(self):
        for name in ("front", "api", "persistence"):
            if name in self.daemons:
                self.daemons.pop(name).stop(timeout=20)


def log_lines(path):
    """Every line of a daemon's log, parsed; fails on a line that is not JSON or
    holds a byte outside printable ASCII (ESC, C0, C1, raw UTF-8)."""
    with open(path, "rb") as f:
        data = f.read()
    out = []
    for n, raw in enumerate(data.split(b"\n"), 1):
        if not raw:
            continue
        if raw.startswith(b"==") and b"==" in raw[2:12]:
            continue  # a valgrind line (valgrind writes to its own log: not expected here)
        bad = [b for b in raw if b < 0x20 or b > 0x7e]
        assert not bad, "%s:%d: raw byte 0x%02x in a log line: %r" % (path, n, bad[0], raw[:300])
        try:
            out.append(json.loads(raw.decode("ascii")))
        except ValueError as e:
            raise AssertionError("%s:%d: not JSON (%s): %r" % (path, n, e, raw[:300]))
    return out


def json_body(status=200, has=None):
    """A Load check: the given status and a JSON object body (with key `has`)."""
    def check(resp, body):
        if resp.status != status:
            return "status %d (expected %d): %r" % (resp.status, status, body[:200])
        try:
            doc = json.loads(body)
        except ValueError as e:
            return "body is not JSON (%s): %r" % (e, body[:200])
        if has and has not in doc:
            return "body has no %r: %r" % (has, body[:200])
        return None
    return check


class Load:
    """n threads, each on one keep-alive connection (a new one after the server
    closes it), cycling through requests [(method, path, headers, body,
    check)] until stop() or until the server refuses new connections."""

    def __init__(self, port, requests, n=8):
        self.port = port
        self.requests = requests
        self.n = n
        self.lock = threading.Lock()
        self.ok = 0
        self.refused = 0  # 503 + Connection: close
        self.dropped = 0  # connection ended before any answer
        self.connects = 0
        self.bad = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(n)]

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def answered(self):
        with self.lock:
            return self.ok

    def connected(self):
        with self.lock:
            return self.connects

    def wait_answers(self, k, timeout=30):
        """Waits for k answers in all, and for every client to have connected
        (on a loaded machine the last thread may start after k answers)."""
        procs.wait_until(lambda: (self.answered() >= k and self.connected() >= self.n)
                         or self.bad, timeout,
                         what="%d answers under load from %d clients" % (k, self.n))
        assert not self.bad, self.bad[:5]

    def stop(self, timeout=15):
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self._threads), "load threads did not stop"

    def _note(self, field, detail=None):
        with self.lock:
            if field == "bad":
                self.bad.append(detail)
            else:
                setattr(self, field, getattr(self, field) + 1)

    def _run(self, i):
        conn = None
        k = i
        while not self._stop.is_set():
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                try:
                    conn.connect()
                except ConnectionRefusedError:
                    return  # the server stopped listening
                except OSError as e:
                    self._note("bad", "connect: %r" % e)
                    return
                self._note("connects")
            method, path, headers, body, check = self.requests[k % len(self.requests)]
            k += 1
            try:
                conn.request(method, path, body=body, headers=headers or {})
                resp = conn.getresponse()
                data = resp.read()
            except http.client.IncompleteRead as e:
                self._note("bad", "%s %s: truncated answer: %r" % (method, path, e))
                conn.close()
                conn = None
                continue
            except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError,
                    http.client.RemoteDisconnected):
                self._note("dropped")  # closed before any answer: retried by clients
                conn.close()
                conn = None
                continue
            except Exception as e:  # timeout, garbage status line, ...
                self._note("bad", "%s %s: %r" % (method, path, e))
                conn.close()
                conn = None
                continue
            if resp.status == 503:
                why = None
                try:
                    err = json.loads(data).get("error")
                except ValueError:
                    err = None
                if err != "unavailable":
                    why = "503 without the error body: %r" % data[:200]
                elif not resp.will_close:
                    why = "503 without Connection: close"
                outcome = "refused"
            else:
                why = check(resp, data)
                outcome = "ok"
            if why:
                self._note("bad", "%s %s: %s" % (method, path, why))
            else:
                self._note(outcome)
            if resp.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()
