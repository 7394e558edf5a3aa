#!/usr/bin/python3
"""test_harness.py — the test harness itself does what the other tests rely on.

- shared(): the fixture's Redis, PostgreSQL and Kafka answer;
- Redis: kill() loses the server, restart() brings it back on the same port;
  with appendonly the data survives a restart;
- Postgres: stop()/start() keep the data; psql() returns rows;
- Daemon: start() fails fast with the log tail when the program exits early,
  and fails at the deadline when it never gets ready; stop() returns the exit code;
- http: request() returns 4xx answers as answers; Conn reuses one connection;
- schema: validate() names the failing field;
- wait_until() names what it waited for.
"""
import http.server
import socketserver
import sys
import threading

from nimbus_harness import http as nhttp
from nimbus_harness import procs, schema, shared, testing
from nimbus_harness.procs import Daemon, Postgres, Redis, free_port, port_open, wait_until


class SharedServersTest(testing.TestCase):
    def test_shared_servers_answer(self):
        s = shared()
        key = "harness-test-%d" % free_port()
        s.redis.cli("SET", key, "v")
        self.assertEqual(s.redis.cli("GET", key).strip(), "v")
        db = s.postgres.fresh_db("harness")
        self.assertEqual(s.postgres.psql("SELECT 1, 'a b'", db=db), [["1", "a b"]])
        topic = "harness.test"
        s.kafka.produce("hello", key="k", topic=topic)
        msgs = s.kafka.consume(topic=topic, count=1)
        self.assertEqual((msgs[0]["key"], msgs[0]["value"]), ("k", "hello"))


class RedisTest(testing.TestCase):
    def test_kill_and_restart_same_port(self):
        r = Redis().start()
        port = r.port
        r.cli("SET", "a", "1")
        r.kill()
        self.assertFalse(port_open(port))
        r.restart()
        self.assertEqual(r.port, port)
        self.assertEqual(r.cli("GET", "a").strip(), "")  # no persistence by default
        r.stop()

    def test_appendonly_survives_restart(self):
        r = Redis(appendonly=True).start()
        r.cli("SET", "a", "1")
        r.restart()
        self.assertEqual(r.cli("GET", "a").strip(), "1")
        r.stop()


class PostgresTest(testing.TestCase):
    def test_stop_start_keeps_data(self):
        pg = Postgres().start()
        pg.createdb("nimbus")
        pg.psql("CREATE TABLE t (a int, b text); INSERT INTO t VALUES (1, 'x'), (2, 'y')")
        self.assertEqual(pg.stop(), 0)
        self.assertFalse(port_open(pg.port))
        pg.start()
        self.assertEqual(pg.psql("SELECT a, b FROM t ORDER BY a"), [["1", "x"], ["2", "y"]])
        self.assertEqual(pg.dsn("nimbus"),
                         "host=127.0.0.1 port=%d dbname=nimbus user=nimbus" % pg.port)
        pg.stop()


class DaemonTest(testing.TestCase):
    def test_early_exit_fails_fast_with_log_tail(self):
        d = Daemon("early-exit", [sys.executable, "-c", "print('boom here'); raise SystemExit(3)"],
                   ready_port=free_port(), ready_timeout=30)
        with self.assertRaises(AssertionError) as cm:
            d.start()
        self.assertIn("boom here", str(cm.exception))
        self.assertIn("code 3", str(cm.exception))

    def test_never_ready_fails_at_deadline(self):
        d = Daemon("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"],
                   ready_port=free_port(), ready_timeout=0.5)
        with self.assertRaises(AssertionError) as cm:
            d.start()
        self.assertIn("timed out", str(cm.exception))
        self.assertFalse(d.alive())

    def test_ready_url_and_stop_exit_code(self):
        port = free_port()
        code = ("import http.server, signal, sys\n"
                "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
                "class H(http.server.BaseHTTPRequestHandler):\n"
                "    def do_GET(self):\n"
                "        self.send_response(200); self.end_headers()\n"
                "    def log_message(self, *a): pass\n"
                "http.server.HTTPServer(('127.0.0.1', %d), H).serve_forever()\n" % port)
        d = Daemon("tiny", [sys.executable, "-c", code],
                   ready_url="http://127.0.0.1:%d/readyz" % port).start()
        self.assertEqual(nhttp.get("http://127.0.0.1:%d/x" % port).status, 200)
        self.assertEqual(d.stop(), 0)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b'{"ok":true}'
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Cache", "HIT")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class HttpTest(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        cls.server.daemon_threads = True
        cls.port = cls.server.server_address[1]
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def test_error_status_is_an_answer(self):
        r = nhttp.get("http://127.0.0.1:%d/missing" % self.port)
        self.assertEqual(r.status, 404)
        self.assertEqual(r.headers["x-cache"], "HIT")  # case-insensitive
        self.assertEqual(r.json(), {"ok": True})

    def test_conn_keeps_one_connection(self):
        with nhttp.Conn("127.0.0.1", self.port) as c:
            for _ in range(3):
                self.assertEqual(c.get("/").status, 200)
                self.assertFalse(c.server_closed)
            self.assertEqual(c.connects, 1)
            r = c.get("/", headers={"Connection": "close"})
            self.assertEqual(r.status, 200)


class SchemaAndWaitTest(testing.TestCase):
    def test_validate_names_failing_field(self):
        with self.assertRaises(AssertionError) as cm:
            schema.validate({"error": {"code": 5}}, "error")
        self.assertIn("$.error: {'code': 5} is not of type", str(cm.exception))
        self.assertIn("error.schema.json", str(cm.exception))

    def test_wait_until_names_what(self):
        with self.assertRaises(AssertionError) as cm:
            wait_until(lambda: False, 0.1, what="the moon")
        self.assertIn("the moon", str(cm.exception))


if __name__ == "__main__":
    testing.main()
