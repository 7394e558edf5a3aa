"""front when the api is not there: a 502/503 page that says so, never a raw
error and never a hang.

Two ways the api can fail: nothing listens on its port (connection refused:
502 at once), and an api that accepts connections but never answers (a
listening socket that is never served: 503 after --api-timeout-ms). Needs
only the front binary.
"""
import socket
import time

from nimbus_harness import Daemon, binary, free_port, http, schema, testing

BROWSER = {"User-Agent": "Mozilla/5.0 nimbus-test", "Accept": "text/html"}
CURL = {"User-Agent": "curl/7.88.1"}
API_TIMEOUT_MS = 1500


def start_front(api_port):
    testing.require_binary("nimbus-front")
    port = free_port()
    d = Daemon("front", [binary("nimbus-front"), "--port", port,
                         "--api-url", "http://127.0.0.1:%d" % api_port,
                         "--api-timeout-ms", API_TIMEOUT_MS, "--api-connect-timeout-ms", 500],
               ready_url="http://127.0.0.1:%d/healthz" % port).start()
    return d, "http://127.0.0.1:%d" % port


class ApiNotRunning(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.front, cls.url = start_front(free_port())  # nothing listens there

    @classmethod
    def tearDownClass(cls):
        rc = cls.front.stop()
        if rc != 0:
            raise AssertionError("front exited with %s:\n%s" % (rc, cls.front.log_tail()))

    def test_page_says_the_service_is_unreachable(self):
        t0 = time.monotonic()
        r = http.get(self.url + "/Berlin", BROWSER, timeout=10)
        took = time.monotonic() - t0
        self.assertIn(r.status, (502, 503))
        self.assertLess(took, 2.0, "answer took %.2fs" % took)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertIn("script-src 'self'", r.header("Content-Security-Policy"))
        body = r.text()
        self.assertTrue(body.startswith("<!DOCTYPE html>"))
        self.assertIn("can&#39;t reach the weather service", body.replace("&#x27;", "&#39;"))
        self.assertIn("Weather data by Open-Meteo.com", body)

    def test_text_and_json_clients_get_their_form_of_the_error(self):
        r = http.get(self.url + "/Berlin", CURL)
        self.assertIn(r.status, (502, 503))
        self.assertTrue(r.header("Content-Type").startswith("text/plain"))
        self.assertTrue(r.text().startswith("Weather service unreachable: Berlin\n"), r.text())
        j = http.get(self.url + "/Berlin?format=json")
        self.assertIn(j.status, (502, 503))
        schema.validate(j.json(), "error")

    def test_not_ready_while_the_api_is_down(self):
        r = http.get(self.url + "/readyz")
        self.assertStatus(r, 503)
        self.assertEqual(r.json(), {"api": "unreachable"})
        self.assertStatus(http.get(self.url + "/healthz"), 200)

    def test_search_page_and_assets_need_no_api(self):
        self.assertStatus(http.get(self.url + "/", BROWSER), 200)
        self.assertStatus(http.get(self.url + "/static/style.css"), 200)


class ApiHangs(testing.TestCase):
    """The api's port accepts connections (kernel backlog) but nobody answers."""

    @classmethod
    def setUpClass(cls):
        cls.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        cls.sock.bind(("127.0.0.1", 0))
        cls.sock.listen(64)
        cls.front, cls.url = start_front(cls.sock.getsockname()[1])

    @classmethod
    def tearDownClass(cls):
        rc = cls.front.stop()
        if rc != 0:
            raise AssertionError("front exited with %s:\n%s" % (rc, cls.front.log_tail()))
        cls.sock.close()

    def test_page_answers_within_the_api_timeout(self):
        t0 = time.monotonic()
        r = http.get(self.url + "/Berlin", BROWSER, timeout=10)
        took = time.monotonic() - t0
        self.assertStatus(r, 503)
        self.assertGreaterEqual(took, API_TIMEOUT_MS / 1000 - 0.1)
        self.assertLess(took, API_TIMEOUT_MS / 1000 + 1.5, "answer took %.2fs" % took)
        self.assertIn("did not answer in time", r.text())
        self.assertEqual(r.header("Retry-After"), "10")

    def test_other_requests_are_served_meanwhile(self):
        # A hung api blocks a worker, not the server: assets come at once.
        import threading
        slow = threading.Thread(target=http.get, args=(self.url + "/Paris", BROWSER),
                                kwargs={"timeout": 10})
        slow.start()
        t0 = time.monotonic()
        r = http.get(self.url + "/static/app.js")
        self.assertStatus(r, 200)
        self.assertLess(time.monotonic() - t0, 0.5)
        slow.join()


if __name__ == "__main__":
    testing.main()
