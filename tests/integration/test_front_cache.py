"""front's cache of the api's answers against the real suite (persistence, api,
a simulator of this test's own, front; see test_front.Stack).

Counts what front asks the api from the api's own access log (one line per
request to /v1/weather, with its status), and proves:

- a stale page is shown at once and revalidated in the background exactly
  once, however many views arrive meanwhile; the renewed record then reaches
  the page;
- a fresh copy is served without asking the api within its max-age; when
  max-age runs out the copy goes stale, is shown so and revalidated once;
- the rendered copy is kept per variant (format, units, layout) and per ETag;
- what a page says about time ("updated … ago", data-max-age, Age, the JSON's
  freshness) changes while the copy is kept;
- a client's Cache-Control: no-cache (or max-age=0, Pragma: no-cache) reaches
  the api, with front's ETag;
- error answers are not kept;
- the cache is bounded by --cache-mb, with metrics saying so.
"""
import re
import threading
import time
import uuid

from nimbus_harness import http, schema, testing, wait_until
from nimbus_harness.sim import WeatherSim
from test_front import BROWSER, CURL, Stack, get, parse_page
from test_front_browser import stale_record

PARIS = ("48.85,2.35", 48.85, 2.35, "Europe/Paris", 3600)
MADRID = ("40.42,-3.70", 40.42, -3.70, "Europe/Madrid", 3600)
OSLO = ("59.91,10.75", 59.91, 10.75, "Europe/Oslo", 3600)
ROME = ("41.90,12.50", 41.90, 12.50, "Europe/Rome", 3600)
VIENNA = ("48.21,16.37", 48.21, 16.37, "Europe/Vienna", 3600)
LISBON = ("38.72,-9.14", 38.72, -9.14, "Europe/Lisbon", 0)
FRESH_TTL_S = 600
RENEWAL_MS = 2500  # the simulator's latency while a renewal is under way


def metric(text, name, labels=""):
    m = re.search(r"^%s%s (\d+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return int(m.group(1)) if m else 0


class FrontCacheTest(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = WeatherSim.start(name="weather-sim-front-cache")
        # The api waits for its renewal as long as a background revalidation
        # may take on a loaded machine.
        cls.stack = Stack(fresh_ttl_s=FRESH_TTL_S, sim=cls.sim,
                          api_args=["--revalidate-wait-ms", 20000])
        cls.url = cls.stack.url

    @classmethod
    def tearDownClass(cls):
        rc = cls.stack.stop()
        if rc != 0:
            raise AssertionError("front exited with %s:\n%s" % (rc, cls.stack.front.log_tail()))

    def setUp(self):
        self.sim.reset()

    # -- helpers ----------------------------------------------------------------

    def api_weather(self):
        """Every /v1/weather request the api has answered, in order, after a
        marker request of our own is in the log (so each one before it is)."""
        marker = "front-cache-%s" % uuid.uuid4().hex[:12]
        self.assertStatus(get(self.stack.api_url + "/healthz", {"X-Request-Id": marker}), 200)
        lines = wait_until(lambda: (lambda ls: ls if any(l.get("rid") == marker for l in ls)
                                    else None)(self.stack.api.log_json()),
                           15, what="the api's log line of request %s" % marker)
        return [l for l in lines if l.get("msg") == "access" and l.get("path") == "/v1/weather"]

    def metrics(self):
        return get(self.url + "/metrics").text()

    def put_record(self, place, age_s, temperature):
        key, lat, lon, tz, off = place
        rec = schema.validate(stale_record(key, lat, lon, tz, off, age_s, temperature), "record")
        r = http.request("PUT", "%s/v1/records/%s" % (self.stack.persistence_url, key), body=rec)
        self.assertIn(r.status, (200, 201, 204), r.body)

    def page(self, path, headers=None):
        h = dict(BROWSER)
        h.update(headers or {})
        t0 = time.monotonic()
        r = get(self.url + path, h)
        took = time.monotonic() - t0
        self.assertStatus(r, 200)
        p = parse_page(r.body)
        self.assertEqual(p.errors, [])
        return r, p, took

    # -- stale-while-revalidate ------------------------------------------------------

    def test_stale_page_is_revalidated_once_in_the_background(self):
        self.put_record(PARIS, 2 * 3600, 42.4)
        self.sim.latency(RENEWAL_MS, endpoint="forecast")
        before = len(self.api_weather())
        revalidations = metric(self.metrics(), "nimbus_front_cache_revalidations_total",
                               '{result="modified"}')
        path = "/" + PARIS[0]
        r, p, took = self.page(path)
        self.assertEqual(p.main["data-state"], "stale")
        self.assertEqual(p.fields["temperature"], "42.4")
        self.assertIn("updating", p.fields["state"])
        self.assertIn("fwd=uri-miss", r.header("Cache-Status"))
        # Forty views while the api renews the record: each answered at once,
        # from the stale copy, none waiting for the renewal.
        views, errors = [], []

        def viewer():
            try:
                for _ in range(5):
                    views.append(self.page(path))
            except Exception as e:  # noqa: BLE001 — reported below
                errors.append(e)
        threads = [threading.Thread(target=viewer) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        stale = [v for v in views if v[1].main["data-state"] == "stale"]
        self.assertGreater(len(stale), 20, "the renewal (%d ms) came before the views" % RENEWAL_MS)
        for r, p, took in stale:
            self.assertEqual(p.fields["temperature"], "42.4")
            self.assertRegex(r.header("Cache-Status"), r"^nimbus-front; hit; ttl=-?\d+; fwd=stale$")
            self.assertLess(took, RENEWAL_MS / 1000 / 2, "a stale view waited for the renewal")
        # The renewed record reaches the page after the revalidation.
        fresh = wait_until(lambda: (lambda v: v if v[1].main["data-state"] == "fresh" else None)(
            self.page(path)), 30, interval=0.2, what="the renewed record on the page")
        self.assertNotEqual(fresh[1].fields["temperature"], "42.4")
        self.assertEqual(fresh[1].fields["ago"], "just now")
        self.assertTrue(fresh[1].fields["state"] == "" and "hit; ttl=" in fresh[0].header(
            "Cache-Status"))
        # The api was asked twice: the first view (nothing kept), then one
        # conditional revalidation — not once per view.
        asked = self.api_weather()[before:]
        self.assertEqual(len(asked), 2, asked)
        self.assertEqual([a["status"] for a in asked], [200, 200])
        self.assertEqual(metric(self.metrics(), "nimbus_front_cache_revalidations_total",
                                '{result="modified"}'), revalidations + 1)

    def test_fresh_copy_is_served_without_asking_the_api(self):
        self.put_record(MADRID, 30, 21.5)
        path = "/" + MADRID[0]
        before = len(self.api_weather())
        r, p, _ = self.page(path)
        self.assertEqual(p.main["data-state"], "fresh")
        for _ in range(10):
            r, p, _ = self.page(path)
            self.assertEqual(p.fields["temperature"], "21.5")
            self.assertRegex(r.header("Cache-Status"), r"^nimbus-front; hit; ttl=\d+$")
            j = get(self.url + path + "?format=json")
            self.assertStatus(j, 200)
            self.assertRegex(j.header("Cache-Status"), r"^nimbus; .*, nimbus-front; hit; ttl=\d+$")
            t = get(self.url + path, CURL)
            self.assertTrue(t.text().startswith("Weather for "), t.text())
        self.assertEqual(len(self.api_weather()[before:]), 1)

    def test_copy_goes_stale_at_max_age_and_is_revalidated_once(self):
        max_age = 4
        # 39.5 °C: a value the simulator never gives Oslo, so the renewed page differs
        self.put_record(OSLO, FRESH_TTL_S - max_age, 39.5)
        path = "/" + OSLO[0]
        before = len(self.api_weather())
        _, p, _ = self.page(path)
        self.assertEqual(p.main["data-state"], "fresh")
        self.assertLessEqual(int(p.main["data-max-age"]), max_age)
        # After max-age: shown stale at once (the api is not waited for)...
        _, p, _ = wait_until(lambda: (lambda v: v if v[1].main["data-state"] == "stale" else None)(
            self.page(path)), max_age + 10, interval=0.2, what="the copy past its max-age")
        self.assertEqual(p.fields["temperature"], "39.5")
        self.assertEqual(p.main["data-max-age"], "0")
        # ...and renewed through one revalidation.
        _, p, _ = wait_until(lambda: (lambda v: v if v[1].main["data-state"] == "fresh" else None)(
            self.page(path)), 30, interval=0.2, what="the renewed record on the page")
        self.assertNotEqual(p.fields["temperature"], "39.5")
        asked = self.api_weather()[before:]
        self.assertEqual(len(asked), 2, asked)

    # -- what is kept -----------------------------------------------------------------

    def test_rendered_copy_is_per_variant_and_etag(self):
        self.put_record(ROME, 30, 17.5)
        path = "/" + ROME[0]

        def renders():
            m = self.metrics()
            return {f: metric(m, "nimbus_front_renders_total", '{format="%s"}' % f)
                    for f in ("html", "text", "line")}

        def after(fn, **expected):
            r0 = renders()
            fn()
            r1 = renders()
            self.assertEqual({f: r1[f] - r0[f] for f in r0},
                             {f: expected.get(f, 0) for f in r0})

        after(lambda: self.page(path), html=1)
        after(lambda: self.page(path))
        after(lambda: self.page(path + "?units=imperial"), html=1)
        after(lambda: self.page(path + "?units=imperial"))
        after(lambda: get(self.url + path, CURL), text=1)
        after(lambda: get(self.url + path, CURL))
        after(lambda: get(self.url + path + "?n", CURL), text=1)
        after(lambda: get(self.url + path + "?format=3", CURL), line=1)
        after(lambda: get(self.url + path + "?format=3", BROWSER))
        after(lambda: get(self.url + path + "?format=%25t+%25C", CURL), line=1)
        after(lambda: get(self.url + path + "?format=json", CURL))
        imperial = self.page(path + "?units=imperial")[1].fields["temperature"]
        self.assertEqual(imperial, "63.5")
        # A new record: a new ETag, so every variant is rendered anew.
        etag = get(self.url + path + "?format=json").header("ETag")
        self.put_record(ROME, 10, 18.5)
        r, p, _ = self.page(path, {"Cache-Control": "no-cache"})
        self.assertEqual(p.fields["temperature"], "18.5")
        self.assertNotEqual(p.main["data-etag"], etag)
        self.assertRegex(r.header("Cache-Status"), r"fwd=request; fwd-status=200; stored")
        after(lambda: self.page(path))
        after(lambda: get(self.url + path, CURL), text=1)
        after(lambda: get(self.url + path, CURL))

    def test_freshness_wording_changes_while_the_copy_is_kept(self):
        self.put_record(VIENNA, 55, 9.5)
        path = "/" + VIENNA[0]
        before = len(self.api_weather())
        _, p, _ = self.page(path)
        self.assertEqual(p.fields["ago"], "just now")
        max_age = int(p.main["data-max-age"])
        j0 = get(self.url + path + "?format=json")
        age0 = int(j0.header("Age"))
        html = metric(self.metrics(), "nimbus_front_renders_total", '{format="html"}')
        _, later, _ = wait_until(
            lambda: (lambda v: v if v[1].fields["ago"] == "1 minute ago" else None)(
                self.page(path)), 30, interval=0.5, what='"1 minute ago" on the kept page')
        self.assertLess(int(later.main["data-max-age"]), max_age)
        self.assertEqual(later.main["data-state"], "fresh")
        text = get(self.url + path, CURL).text()
        self.assertIn("\nUpdated 1 minute ago\n", text)
        j1 = get(self.url + path + "?format=json")
        self.assertGreater(int(j1.header("Age")), age0)
        self.assertGreater(j1.json()["freshness"]["age_s"], j0.json()["freshness"]["age_s"])
        self.assertGreaterEqual(j1.json()["freshness"]["age_s"], 60)
        self.assertLess(int(re.search(r"max-age=(\d+)", j1.header("Cache-Control")).group(1)),
                        int(re.search(r"max-age=(\d+)", j0.header("Cache-Control")).group(1)))
        self.assertEqual(j1.header("ETag"), j0.header("ETag"))
        # The same kept page and answer throughout.
        self.assertEqual(metric(self.metrics(), "nimbus_front_renders_total", '{format="html"}'),
                         html)
        self.assertEqual(len(self.api_weather()[before:]), 1)

    def test_client_no_cache_reaches_the_api(self):
        self.put_record(LISBON, 30, 15.5)
        path = "/" + LISBON[0]
        self.page(path)
        before = len(self.api_weather())
        for headers in ({"Cache-Control": "no-cache"}, {"Cache-Control": "max-age=0"},
                        {"Pragma": "no-cache"}):
            r, _, _ = self.page(path, headers)
            self.assertRegex(r.header("Cache-Status"), r"nimbus-front; fwd=request; fwd-status=304")
        self.page(path)  # a plain view: from the copy
        etag = get(self.url + path + "?format=json").header("ETag")
        j = get(self.url + path + "?format=json", {"Cache-Control": "no-cache",
                                                    "If-None-Match": etag})
        self.assertStatus(j, 304)
        self.assertEqual(j.header("ETag"), etag)
        asked = self.api_weather()[before:]
        # Each revalidation reached the api, conditional on front's ETag.
        self.assertEqual([a["status"] for a in asked], [304, 304, 304, 304])

    def test_error_answers_are_not_kept(self):
        before = len(self.api_weather())
        for _ in range(2):
            self.assertStatus(get(self.url + "/Xqzzyplatz%20Cachetown", BROWSER), 404)
            self.assertStatus(get(self.url + "/Xqzzyplatz%20Cachetown?format=json"), 404)
        self.assertEqual([a["status"] for a in self.api_weather()[before:]], [404] * 4)


class FrontCacheBound(testing.TestCase):
    """A front with --cache-mb 1: a place's answer, document and page take
    about 150 KB, so a dozen places cannot all stay."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(front_args=["--cache-mb", 1])
        cls.url = cls.stack.url

    @classmethod
    def tearDownClass(cls):
        rc = cls.stack.stop()
        if rc != 0:
            raise AssertionError("front exited with %s:\n%s" % (rc, cls.stack.front.log_tail()))

    def test_the_cache_is_bounded(self):
        places = ["/%d.5,%d.5" % (40 + i, i) for i in range(12)]
        for path in places:
            r = get(self.url + path, BROWSER)
            self.assertStatus(r, 200)
            self.assertIn("fwd=uri-miss", r.header("Cache-Status"))
        m = get(self.url + "/metrics").text()
        self.assertEqual(metric(m, "nimbus_front_cache_max_bytes"), 1024 * 1024)
        self.assertLessEqual(metric(m, "nimbus_front_cache_bytes"), 1024 * 1024)
        self.assertGreater(metric(m, "nimbus_front_cache_bytes"), 512 * 1024)
        entries = metric(m, "nimbus_front_cache_entries")
        self.assertTrue(3 <= entries < len(places), entries)
        self.assertEqual(metric(m, "nimbus_front_cache_evictions_total"), len(places) - entries)
        # The latest places are answered from the cache, the first one was let go.
        self.assertIn("hit;", get(self.url + places[-1], BROWSER).header("Cache-Status"))
        self.assertIn("fwd=uri-miss", get(self.url + places[0], BROWSER).header("Cache-Status"))


if __name__ == "__main__":
    testing.main()
