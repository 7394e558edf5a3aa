"""Writes to persistence don't block each other: a write persistence refuses
(4xx) is dropped and counted, never retried; a key whose writes keep failing
(5xx) is retried on its own backoff while other keys' writes land at once.
persistence is real; a small proxy in front of it answers for one chosen key
(fault injection), everything else goes through."""
import http.client
import http.server
import threading
import time
import urllib.parse

from nimbus_harness import procs, testing

from api_common import ApiStack, ApiTestCase

class FaultProxy:
    """HTTP proxy to persistence that answers PUT /v1/records/<self.key> with
    self.status (None: pass it through) and counts those PUTs."""

    def __init__(self, target_port):
        proxy = self
        self.key = None
        self.status = 400
        self.bad_puts = 0
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path = urllib.parse.urlsplit(self.path).path
                if self.command == "PUT" and path == "/v1/records/%s" % proxy.key:
                    with proxy.lock:
                        proxy.bad_puts += 1
                        status = proxy.status
                    if status:
                        msg = b'{"error":"bad_request","reason":"injected","request_id":"-"}'
                        self.send_response(status)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(msg)))
                        self.end_headers()
                        self.wfile.write(msg)
                        return
                conn = http.client.HTTPConnection("127.0.0.1", target_port, timeout=10)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("connection", "host")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = _relay

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Writes(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = ApiStack()
        pport = int(cls.stack.persistence_url.rsplit(":", 1)[1])
        cls.proxy = FaultProxy(pport)
        argv = list(cls.stack.api_argv)
        cls.port = procs.free_port()
        argv[argv.index("--port") + 1] = str(cls.port)
        argv[argv.index("--persistence-url") + 1] = "http://127.0.0.1:%d" % cls.proxy.port
        cls.api = procs.Daemon("api-proxied", argv,
                               ready_url="http://127.0.0.1:%d/readyz" % cls.port,
                               tmpdir=cls.stack.tmpdir)
        cls.api.start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.api.stop(timeout=20)
        cls.proxy.close()
        cls.stack.stop()
        assert rc == 0, "api-proxied exited %s" % rc

    def ask(self, key):
        from nimbus_harness import http
        lat, lon = key.split(",")
        return http.request("GET", "http://127.0.0.1:%d/v1/weather?lat=%s&lon=%s"
                            % (self.port, lat, lon), timeout=30)

    def metric(self, name):
        from nimbus_harness import http
        body = http.request("GET", "http://127.0.0.1:%d/metrics" % self.port).text()
        return sum(float(x.rsplit(" ", 1)[1]) for x in body.splitlines() if x.startswith(name))

    def test_1_a_refused_write_is_dropped_and_blocks_nobody(self):
        s = self.stack
        s.sim.reset()
        bad = self.proxy.key = "61.00,-61.00"
        self.proxy.status = 400
        refused0 = self.metric('nimbus_store_writes_total{result="refused"}')
        retries0 = self.metric("nimbus_store_write_retries_total")
        self.assertEqual(self.ask(bad).status, 200)
        good = ["62.%02d,-62.00" % i for i in range(5)]
        for k in good:
            self.assertEqual(self.ask(k).status, 200)
        for k in good:
            procs.wait_until(lambda k=k: s.pg_record(k) is not None, 10,
                             what="the write of %s behind a refused one" % k)
        procs.wait_until(lambda: self.metric('nimbus_store_writes_total{result="refused"}')
                         == refused0 + 1, 10, what="the refusal counted")
        self.assertIsNone(s.pg_record(bad))
        self.assertEqual(self.proxy.bad_puts, 1, "a 4xx is never retried")
        self.assertEqual(self.metric("nimbus_store_write_retries_total"), retries0)

    def test_2_a_failing_key_retries_alone_and_lands_later(self):
        s = self.stack
        s.sim.reset()
        key = "63.00,-61.00"
        self.proxy.status = 503
        self.proxy.bad_puts = 0
        self.proxy.key = key
        try:
            self.assertEqual(self.ask(key).status, 200)
            procs.wait_until(lambda: self.proxy.bad_puts >= 2, 10,
                             what="the failing write being retried")
            t0 = time.monotonic()
            good = ["64.%02d,-64.00" % i for i in range(5)]
            for k in good:
                self.assertEqual(self.ask(k).status, 200)
            for k in good:
                procs.wait_until(lambda k=k: s.pg_record(k) is not None, 10,
                                 what="the write of %s beside a failing key" % k)
            took = time.monotonic() - t0
            print("5 writes landed in %.2f s while another key kept failing" % took)
            self.assertLess(took, 5)
            self.assertIsNone(s.pg_record(key))
            self.proxy.status = None  # persistence takes it again
            procs.wait_until(lambda: s.pg_record(key) is not None, 20,
                             what="the retried write landing")
        finally:
            self.proxy.status = None


if __name__ == "__main__":
    testing.main()
