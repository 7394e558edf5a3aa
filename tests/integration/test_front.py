"""front against the real suite: persistence (shared Redis + a fresh PostgreSQL
database), api (shared simulator and Kafka) and front, all started here.

Proves what a user of the page sees: the curl text report, the JSON passed
through with the api's caching headers, the page without JavaScript, escaping
of hostile place names with a CSP, no control or bidi character from the
request or the api's data reaching a reader, the friendly 404, the static assets.
Stack is also used by test_front_browser.py.
"""
import html
import html.parser
import os
import re
import sys
import time
import unittest
import urllib.parse

from nimbus_harness import Daemon, binary, free_port, http, schema, shared, testing, wait_until

REDIS_DB = 7  # front's tests keep their cache entries apart from other suites'
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) nimbus-test",
           "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
CURL = {"User-Agent": "curl/7.88.1", "Accept": "*/*"}


class Stack:
    """persistence + api + front on free ports, against the shared servers."""

    def __init__(self, fresh_ttl_s=600, api_args=(), front_args=(), sim=None):
        """sim: a WeatherSim of the test's own (default: the shared one)."""
        testing.require_binary("nimbus-persistence", "nimbus-api", "nimbus-front")
        sh = shared()
        if sh.sim is None:
            raise unittest.SkipTest("weather-sim not built: no upstream to test against")
        self.shared = sh
        sim = sim or sh.sim
        sh.redis.cli("-n", str(REDIS_DB), "FLUSHDB")
        db = sh.postgres.fresh_db("front")
        redis_url = "redis://127.0.0.1:%d/%d" % (sh.redis.port, REDIS_DB)

        pport, aport, fport = free_port(), free_port(), free_port()
        self.persistence_url = "http://127.0.0.1:%d" % pport
        self.api_url = "http://127.0.0.1:%d" % aport
        self.url = "http://127.0.0.1:%d" % fport
        self.persistence = Daemon("persistence", [
            binary("nimbus-persistence"), "--port", pport, "--redis-url", redis_url,
            "--postgres-dsn", sh.postgres.dsn(db)],
            ready_url=self.persistence_url + "/readyz").start()
        self.api = Daemon("api", [
            binary("nimbus-api"), "--port", aport, "--persistence-url", self.persistence_url,
            "--forecast-url", sim.forecast_url, "--geocoding-url", sim.geocoding_url,
            "--kafka-brokers", sh.kafka.bootstrap, "--fresh-ttl-s", fresh_ttl_s] + list(api_args),
            ready_url=self.api_url + "/healthz").start()
        self.front = Daemon("front", [
            binary("nimbus-front"), "--port", fport, "--api-url", self.api_url,
            "--api-timeout-ms", 5000] + list(front_args), ready_url=self.url + "/readyz").start()

    def stop(self):
        """Stops everything; returns front's exit code (0 = clean shutdown; under
        ASan also no leak reports)."""
        rc = self.front.stop()
        for d in (self.api, self.persistence):
            try:
                d.stop()
            except AssertionError as e:
                # Killed after its deadline: their own suites judge their
                # shutdown; this one is about front.
                print("warning: %s did not stop cleanly: %s" % (d.name, str(e)[:300]),
                      file=sys.stderr)
        return rc


def get(url, headers=None, timeout=10):
    return http.get(url, headers=headers, timeout=timeout)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
SVG_VOID = {"path", "circle", "use", "rect", "line", "polyline"}  # <x/> or <x></x> in SVG


class PageParser(html.parser.HTMLParser):
    """Collects what a reader of the page without JavaScript sees: the text of
    every data-f field, the attributes of <main id=wx>, scripts, links, forms;
    and checks that every element is closed in order (nesting errors land in
    .errors), ids are unique and there is exactly one <html>, <head>, <body>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open, self.errors, self.ids, self.counts = [], [], set(), {}
        self.fields, self.main, self.scripts, self.links = {}, None, [], []
        self.forms, self.inputs, self.daily_items, self.text = [], [], 0, []
        self._stack = []  # data-f names being collected
        self._in_daily = False

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs, selfclosing=True)

    def handle_starttag(self, tag, attrs, selfclosing=False):
        a = dict(attrs)
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if "id" in a:
            if a["id"] in self.ids:
                self.errors.append("duplicate id %s" % a["id"])
            self.ids.add(a["id"])
        if tag not in VOID and not (selfclosing and tag in SVG_VOID):
            self.open.append(tag)
        if tag == "main" and a.get("id") == "wx":
            self.main = a
        if tag == "script":
            self.scripts.append(a)
        if tag == "link":
            self.links.append(a)
        if tag == "form":
            self.forms.append(a)
        if tag == "input":
            self.inputs.append(a)
        if a.get("data-f") == "daily":
            self._in_daily = True
        if tag == "li" and self._in_daily:
            self.daily_items += 1
        if "data-f" in a and tag not in ("svg", "ol"):
            self._stack.append((tag, a["data-f"]))
            self.fields.setdefault(a["data-f"], "")

    def handle_endtag(self, tag):
        if tag in VOID:
            self.errors.append("end tag for void element %s" % tag)
        elif not self.open or self.open[-1] != tag:
            self.errors.append("</%s> closes <%s>" % (tag, self.open[-1] if self.open else "-"))
        else:
            self.open.pop()
        if tag == "ol":
            self._in_daily = False
        if self._stack and self._stack[-1][0] == tag:
            self._stack.pop()

    def handle_data(self, data):
        self.text.append(data)
        for _, name in self._stack:
            self.fields[name] += data


def parse_page(body):
    p = PageParser()
    p.feed(body.decode("utf-8"))
    p.close()
    if p.open:
        p.errors.append("unclosed: %s" % p.open)
    for tag in ("html", "head", "body", "title"):
        if p.counts.get(tag) != 1:
            p.errors.append("%d <%s> elements" % (p.counts.get(tag, 0), tag))
    return p


def fmt(v, decimals):
    if v is None:
        return "\u2013"
    s = "%.*f" % (decimals, v)
    return s[1:] if re.fullmatch(r"-[0.]+", s) else s


class FrontTest(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()
        cls.url = cls.stack.url

    @classmethod
    def tearDownClass(cls):
        rc = cls.stack.stop()
        if rc != 0:
            raise AssertionError("front exited with %s:\n%s" % (rc, cls.stack.front.log_tail()))

    def assertSecurityHeaders(self, r):
        csp = self.assertHeader(r, "Content-Security-Policy")
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'",
                          "img-src 'self' data:"):
            self.assertIn(directive, csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertHeader(r, "X-Content-Type-Options", "nosniff")
        self.assertIn(self.assertHeader(r, "Referrer-Policy"),
                      ("no-referrer", "strict-origin-when-cross-origin"))

    # -- curl ---------------------------------------------------------------

    def test_curl_gets_a_text_report(self):
        r = get(self.url + "/Berlin", CURL)
        self.assertStatus(r, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/plain"))
        self.assertIn("User-Agent", r.header("Vary"))
        text = r.text()
        doc = get(self.url + "/Berlin?format=json").json()
        lines = text.splitlines()
        self.assertTrue(lines[0].startswith("Weather for Berlin"), lines[0])
        self.assertIn("(%s)" % doc["location"]["key"], lines[0])
        self.assertTrue(lines[1].startswith("Local time "), lines[1])
        cur = doc["current"]
        self.assertIn(cur["condition"], text)
        self.assertIn("%s °C (feels like %s °C)" % (fmt(cur["temperature"], 1),
                                                     fmt(cur.get("apparent_temperature"), 1)),
                      text)
        self.assertRegex(text, r"Wind \S+ km/h")
        self.assertIn("Humidity %s %%" % fmt(cur.get("relative_humidity"), 0), text)
        day_lines = [l for l in lines if re.match(r"  (Today|Tomorrow|\w{3} \d\d) ", l)]
        self.assertEqual(len(day_lines), 3, text)
        self.assertTrue(day_lines[0].startswith("  Today "), day_lines)
        self.assertRegex(text, r"\nUpdated (just now|\d+ minutes? ago)")
        self.assertTrue(text.endswith("Weather data by Open-Meteo.com (https://open-meteo.com/)\n"))
        self.assertNotIn("<", text)

    def test_plain_text_clients_and_format_text(self):
        for headers, path in (({"User-Agent": "Wget/1.21.3"}, "/Berlin"),
                              ({"User-Agent": "HTTPie/3.2.1"}, "/Berlin"),
                              ({"Accept": "text/plain"}, "/Berlin"),
                              (BROWSER, "/Berlin?format=text")):
            r = get(self.url + path, headers)
            self.assertStatus(r, 200)
            self.assertTrue(r.header("Content-Type").startswith("text/plain"), headers)
            self.assertTrue(r.text().startswith("Weather for Berlin"), headers)

    def test_curl_at_the_root_gets_usage(self):
        r = get(self.url + "/", CURL)
        self.assertStatus(r, 200)
        self.assertIn("curl HOST/Berlin", r.text())

    # -- JSON ---------------------------------------------------------------

    def test_format_json_is_the_api_document_with_its_caching_headers(self):
        r = get(self.url + "/Berlin?format=json", BROWSER)
        self.assertStatus(r, 200)
        self.assertTrue(r.header("Content-Type").startswith("application/json"))
        doc = schema.validate(r.json(), "weather")
        self.assertEqual(doc["location"]["name"], "Berlin")
        cc = self.assertHeader(r, "Cache-Control")
        self.assertRegex(cc, r"max-age=\d+")
        self.assertIn("stale-while-revalidate=", cc)
        etag = self.assertHeader(r, "ETag")
        for name in ("Age", "Last-Modified", "Cache-Status", "X-Cache", "X-Source"):
            self.assertHeader(r, name)
        # The same bytes the api gives.
        direct = get(self.stack.api_url + "/v1/weather?city=Berlin")
        self.assertEqual(direct.json()["location"], doc["location"])
        self.assertEqual(direct.header("ETag"), etag)
        # Conditional requests pass through: 304 with the validators.
        r304 = get(self.url + "/Berlin?format=json", {"If-None-Match": etag})
        self.assertStatus(r304, 304)
        self.assertEqual(r304.body, b"")
        self.assertEqual(r304.header("ETag"), etag)

    def test_accept_json_and_coordinates(self):
        r = get(self.url + "/52.52,13.41", {"Accept": "application/json",
                                             "User-Agent": "curl/7.88.1"})
        self.assertStatus(r, 200)
        doc = schema.validate(r.json(), "weather")
        self.assertEqual(doc["location"]["key"], "52.52,13.41")
        r = get(self.url + "/?lat=52.52&lon=13.41&format=json")
        self.assertStatus(r, 200)
        self.assertEqual(schema.validate(r.json(), "weather")["location"]["key"], "52.52,13.41")

    def test_request_id_is_passed_to_the_api(self):
        # A request front answers by asking the api (its own copy of Berlin
        # would answer a plain one): the client's revalidation goes through.
        rid = "front-test-%d" % free_port()
        r = get(self.url + "/Berlin?format=json", {"X-Request-Id": rid,
                                                    "Cache-Control": "no-cache"})
        self.assertStatus(r, 200)
        self.assertEqual(r.header("X-Request-Id"), rid)
        # The api may write its access log line just after the answer left.
        wait_until(lambda: [l for l in self.stack.api.log_json() if l.get("rid") == rid], 10,
                   what="an api log line with request id %s" % rid)

    # -- the page without JavaScript ------------------------------------------

    def test_page_without_javascript_shows_the_data(self):
        r = get(self.url + "/Berlin", BROWSER)
        self.assertStatus(r, 200)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertSecurityHeaders(r)
        body = r.body
        self.assertTrue(body.startswith(b"<!DOCTYPE html>"))
        page = parse_page(body)
        self.assertEqual(page.errors, [])
        doc = get(self.url + "/Berlin?format=json").json()
        cur, loc = doc["current"], doc["location"]
        f = page.fields
        self.assertEqual(f["name"], "Berlin")
        self.assertEqual(f["temperature"], fmt(cur["temperature"], 1))
        self.assertEqual(f["apparent_temperature"], fmt(cur.get("apparent_temperature"), 1))
        self.assertEqual(f["condition"], cur["condition"])
        self.assertEqual(f["relative_humidity"], fmt(cur.get("relative_humidity"), 0))
        self.assertEqual(f["wind_speed"], fmt(cur.get("wind_speed"), 0))
        self.assertEqual(f["timezone"], loc["timezone"])
        self.assertRegex(f["localtime"], r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d:\d\d$")
        self.assertRegex(f["ago"], r"^(just now|\d+ minutes? ago)$")
        self.assertEqual(page.daily_items, min(7, len(doc["daily"])))
        # What the script needs, in data-* attributes; no inline script.
        m = page.main
        self.assertEqual(m["data-state"], doc["freshness"]["state"])
        self.assertEqual(m["data-src"], "/Berlin")
        self.assertEqual(m["data-etag"], get(self.url + "/Berlin?format=json").header("ETag"))
        self.assertRegex(m["data-max-age"], r"^\d+$")
        self.assertRegex(m["data-swr"], r"^\d+$")
        self.assertTrue(all(s.get("src", "").startswith("/static/app.js?v=") for s in page.scripts))
        self.assertNotIn(b"<script>", body)
        # The search works as a plain GET form; attribution links to open-meteo.com.
        self.assertIn({"class": "search", "action": "/", "method": "get", "role": "search"},
                      page.forms)
        self.assertTrue(any(i.get("name") == "city" for i in page.inputs))
        self.assertIn(b'<a href="https://open-meteo.com/" rel="noreferrer">'
                      b'Weather data by Open-Meteo.com</a>', body)

    def test_query_forms_give_the_same_page(self):
        a = parse_page(get(self.url + "/Berlin", BROWSER).body).fields
        b = parse_page(get(self.url + "/?city=Berlin", BROWSER).body).fields
        self.assertEqual(a["name"], b["name"])
        self.assertEqual(a["temperature"], b["temperature"])

    def test_root_without_a_place_is_the_search_page(self):
        r = get(self.url + "/", BROWSER)
        self.assertStatus(r, 200)
        self.assertSecurityHeaders(r)
        page = parse_page(r.body)
        self.assertEqual(page.errors, [])
        self.assertIsNone(page.main)
        self.assertTrue(any(i.get("name") == "city" for i in page.inputs))

    # -- hostile input and errors ------------------------------------------------

    def test_script_in_the_place_name_is_escaped(self):
        evil = "<script>alert(1)</script>"
        for path in ("/" + urllib.parse.quote(evil, safe=""),
                     "/" + urllib.parse.quote(evil, safe="/"),
                     "/?city=" + urllib.parse.quote(evil)):
            r = get(self.url + path, BROWSER)
            self.assertIn(r.status, (400, 404), path)
            self.assertSecurityHeaders(r)
            self.assertNotIn(b"<script>alert", r.body, path)
            self.assertIn(b"&lt;script&gt;alert(1)&lt;/script&gt;", r.body, path)
            page = parse_page(r.body)
            self.assertEqual(page.errors, [], path)
            self.assertTrue(all("src" in s for s in page.scripts), "inline script on " + path)
            # The search box keeps what was typed, as an attribute value.
            self.assertTrue(any(i.get("name") == "city" and i.get("value") == evil
                                for i in page.inputs), path)

    # Characters a reader must never get from user or upstream text: C0/C1
    # controls (U+009B is CSI, a terminal escape), DEL, and the bidirectional
    # controls that reorder what a line seems to say (Trojan Source).
    UNSAFE = (set(range(0x20)) - {0x0A}) | set(range(0x7F, 0xA0)) | {0x061C, 0x200E, 0x200F} \
        | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))

    def assertReaderSafe(self, r, what):
        """The body is UTF-8 without a single unsafe character (for HTML, also
        after resolving character references)."""
        try:
            text = r.body.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail("%s: answer is not UTF-8: %s" % (what, e))
        texts = [text]
        if r.header("Content-Type", "").startswith("text/html"):
            texts.append(html.unescape(text))
        for t in texts:
            bad = sorted({"U+%04X" % ord(c) for c in t if ord(c) in self.UNSAFE})
            self.assertEqual(bad, [], "%s: unsafe characters reach the reader" % what)

    def test_no_control_or_bidi_character_from_the_request_reaches_a_reader(self):
        paths = [
            "/%C2%9BBerlin",                      # C1 CSI
            "/%C2%9B31mBerlin%C2%9B0m",
            "/Ber%E2%80%AElin",                   # U+202E right-to-left override
            "/%E2%81%A6Ber%E2%81%A9lin%E2%80%8F",  # isolates, RLM
            "/%D8%9CBer%E2%80%8Elin",             # ALM, LRM
            "/%1B%5B31mBerlin",                   # C0 ESC
            "/%9B31mBerlin",                      # a raw 8-bit CSI (not UTF-8)
            "/?city=%C2%9BBer%E2%80%AElin",
            "/Ber%E2%80%AElin?format=text",
            "/Ber%E2%80%AElin?format=html",
            "/%C2%9BBerlin?format=%C2%9B%E2%80%AE",
            "/?lat=%C2%9B1&lon=%E2%80%AE2",
            "/?city=" + "%E2%80%AE" * 80,         # too long: refused by front itself
        ]
        for path in paths:
            for who, headers in (("curl", CURL), ("browser", BROWSER)):
                r = get(self.url + path, headers)
                self.assertIn(r.status, (200, 400, 404), path)
                self.assertReaderSafe(r, "%s %s" % (who, path))
        # What the reader sees instead: the name with '?' where the controls were.
        t = get(self.url + "/%C2%9BBer%E2%80%AElin", CURL)
        self.assertStatus(t, 404)
        self.assertTrue(t.text().startswith("Place not found: ?Ber?lin\n"), t.text())
        h = get(self.url + "/%C2%9BBer%E2%80%AElin", BROWSER)
        self.assertIn(b"<q>?Ber?lin</q>", h.body)

    def test_no_control_or_bidi_character_from_the_api_reaches_a_reader(self):
        """A geocoding entry with hostile names, stored in persistence, comes back
        in the api's JSON for the place: front shows it without the controls."""
        now = time.time()
        stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        name, admin1, country = ("Ber\u202elin\u009b[31m", "\u2066Mitte\u2069\u200f",
                                 "\u061cGermany\u200e\u001b[0m")
        entry = {"query": "trojan source", "found": True, "resolved_at": stamp(now),
                 "expires_at": stamp(now + 86400),
                 "place": {"name": name, "latitude": 52.52, "longitude": 13.41,
                           "country": country, "country_code": "DE", "admin1": admin1,
                           "timezone": "Europe/Berlin"}}
        r = http.request("PUT", self.stack.persistence_url + "/v1/geocode/trojan%20source",
                         body=entry)
        self.assertStatus(r, 200)
        j = get(self.url + "/trojan%20source?format=json")
        self.assertStatus(j, 200)
        loc = j.json()["location"]  # the api passes the hostile names on as data
        self.assertEqual((loc["name"], loc["admin1"], loc["country"]), (name, admin1, country))
        for path in ("/trojan%20source", "/trojan%20source?format=text",
                     "/trojan%20source?format=html", "/?city=trojan+source"):
            for who, headers in (("curl", CURL), ("browser", BROWSER)):
                r = get(self.url + path, headers)
                self.assertStatus(r, 200)
                self.assertReaderSafe(r, "%s %s" % (who, path))
        text = get(self.url + "/trojan%20source", CURL).text()
        self.assertTrue(text.startswith("Weather for Ber?lin?[31m, ?Mitte??, ?Germany??[0m ("),
                        text.splitlines()[0])
        page = parse_page(get(self.url + "/trojan%20source", BROWSER).body)
        self.assertEqual(page.errors, [])
        self.assertEqual(page.fields["name"], "Ber?lin?[31m")

    def test_unknown_place_is_a_friendly_404(self):
        r = get(self.url + "/Xqzzyplatz%20Nowhere", BROWSER)
        self.assertStatus(r, 404)
        self.assertSecurityHeaders(r)
        self.assertIn(b"Place not found", r.body)
        self.assertIn(b"<q>Xqzzyplatz Nowhere</q>", r.body)
        self.assertIn(b'href="/"', r.body)
        t = get(self.url + "/Xqzzyplatz%20Nowhere", CURL)
        self.assertStatus(t, 404)
        self.assertTrue(t.text().startswith("Place not found: Xqzzyplatz Nowhere\n"))
        j = get(self.url + "/Xqzzyplatz%20Nowhere?format=json")
        self.assertStatus(j, 404)
        schema.validate(j.json(), "error")

    # -- assets and health ----------------------------------------------------------

    def test_static_assets_are_versioned_and_long_cached(self):
        page = parse_page(get(self.url + "/Berlin", BROWSER).body)
        js = page.scripts[0]["src"]
        css = [l["href"] for l in page.links if l.get("rel") == "stylesheet"][0]
        for path, ctype in ((js, "text/javascript"), (css, "text/css")):
            r = get(self.url + path)
            self.assertStatus(r, 200)
            self.assertTrue(r.header("Content-Type").startswith(ctype))
            self.assertEqual(r.header("Cache-Control"), "public, max-age=31536000, immutable")
            etag = self.assertHeader(r, "ETag")
            self.assertStatus(get(self.url + path, {"If-None-Match": etag}), 304)
        # The script served is the source file behind libcommon's WMO table.
        with open(os.path.join(os.environ.get("NIMBUS_SOURCE_DIR", "."),
                               "services/front/assets/app.js"), "rb") as f:
            served = get(self.url + js).body
            self.assertTrue(served.startswith(b"/* Generated from libcommon/src/wmo.c"))
            self.assertIn(b'"3":{"condition":"Overcast","icon":"cloud","night":"cloud"}', served)
            self.assertTrue(served.endswith(f.read()))
        self.assertStatus(get(self.url + "/static/nope.js"), 404)

    def test_readyz_and_metrics(self):
        r = get(self.url + "/readyz")
        self.assertStatus(r, 200)
        self.assertEqual(r.json().get("api"), "ok")
        m = get(self.url + "/metrics")
        self.assertStatus(m, 200)
        self.assertIn("nimbus_front_renders_total", m.text())


if __name__ == "__main__":
    testing.main()
