"""front's hourly forecast, units and one-line formats against the real suite
(persistence, api, simulator; see test_front.Stack):

- /Berlin?format=3 is exactly one line, for curl and for a browser alike;
  the presets 1..4 and a %-format string with every code are filled, no
  code left, with the figures of the JSON document;
- ?u / ?m / units= switch the text report's units, ?n makes it 40 columns;
- the page shows the hourly chart without JavaScript (an SVG with role=img
  and its table, matching the document's hours), a °C/°F toggle made of
  links, and remembers units=imperial in a cookie that later pages honour;
- ?format=json passes the api's document on with hourly, hours= and units=.
"""
import html.parser
import re

from nimbus_harness import testing
from test_front import BROWSER, CURL, Stack, get

CODES = "lcCxtfhwpPouSsZmMR"


def signed(v):
    t = int(v + 0.5) if v >= 0 else -int(-v + 0.5)  # half away from zero, like lround
    return ("+" if t >= 0 else "") + str(t)


class Svg(html.parser.HTMLParser):
    """The chart and the hour table of a page."""

    def __init__(self):
        super().__init__()
        self.svg = None
        self.polylines, self.dots, self.bars, self.rows = [], 0, 0, []
        self.in_row_header = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and "hourly" in a.get("class", ""):
            self.svg = a
        elif tag == "polyline" and a.get("class") == "temp":
            self.polylines.append(a["points"])
        elif tag == "circle" and a.get("class") == "temp-dot":
            self.dots += 1
        elif tag == "rect" and a.get("class", "").startswith("pop"):
            self.bars += 1
        elif tag == "th" and a.get("scope") == "row":
            self.in_row_header = True
            self.rows.append("")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "th":
            self.in_row_header = False

    def handle_data(self, data):
        if self.in_row_header:
            self.rows[-1] += data


class FrontHourlyTest(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()
        cls.url = cls.stack.url

    @classmethod
    def tearDownClass(cls):
        rc = cls.stack.stop()
        if rc != 0:
            raise AssertionError("front exited with %s:\n%s" % (rc, cls.stack.front.log_tail()))

    def doc(self, path="/Berlin", **params):
        q = "&".join("%s=%s" % kv for kv in params.items())
        r = get(self.url + path + "?format=json" + ("&" + q if q else ""))
        self.assertStatus(r, 200)
        return r.json()

    # -- one-line formats -----------------------------------------------------

    def test_format_3_is_exactly_one_line(self):
        doc = self.doc()
        for headers in (CURL, BROWSER):
            r = get(self.url + "/Berlin?format=3", headers)
            self.assertStatus(r, 200)
            self.assertTrue(r.header("Content-Type").startswith("text/plain"))
            text = r.text()
            self.assertEqual(text.count("\n"), 1, repr(text))
            self.assertTrue(text.endswith("\n"))
            self.assertTrue(text.startswith("Berlin: "), text)
            self.assertTrue(text.endswith(signed(doc["current"]["temperature"]) + "°C\n"), text)

    def test_presets(self):
        doc = self.doc()
        cur = doc["current"]
        t = signed(cur["temperature"]) + "°C"
        one = get(self.url + "/Berlin?format=1", CURL).text()
        self.assertTrue(one.endswith(" " + t + "\n"), one)
        two = get(self.url + "/Berlin?format=2", CURL).text()
        self.assertIn("🌡️" + t + " 🌬️", two)
        self.assertTrue(two.endswith("%dkm/h\n" % int(cur["wind_speed"] + 0.5)), two)
        four = get(self.url + "/Berlin?format=4", CURL).text()
        self.assertTrue(four.startswith("Berlin: "))
        self.assertEqual(four, "Berlin: " + two)

    def test_every_code_is_filled(self):
        fmt = "+|".join("%" + c for c in CODES)  # '+' is a space in a query
        r = get(self.url + "/Berlin?format=" + fmt.replace("%", "%25"), CURL)
        self.assertStatus(r, 200)
        text = r.text()
        self.assertIsNone(re.search(r"%[a-zA-Z]", text), text)
        parts = dict(zip(CODES, text.split(" |")))
        doc = self.doc()
        cur = doc["current"]
        self.assertEqual(parts["l"], "Berlin")
        self.assertEqual(parts["C"], cur["condition"])
        self.assertEqual(parts["t"], signed(cur["temperature"]) + "°C")
        self.assertEqual(parts["h"], "%d%%" % round(cur["relative_humidity"]))
        self.assertRegex(parts["w"], r"^[↓↙←↖↑↗→↘]?\d+km/h$")
        self.assertRegex(parts["S"], r"^\d\d:\d\d:00$")
        self.assertEqual(parts["Z"], doc["location"]["timezone"])
        rain = max((h["precipitation_probability"] for h in doc["hourly"][:6]
                    if h["precipitation_probability"] is not None), default=None)
        self.assertTrue(parts["R"].startswith("%d%%" % rain), (parts["R"], rain))
        # unencoded codes work too when no hex digit follows them
        r = get(self.url + "/Berlin?format=%l:+%t+%h", CURL)
        self.assertEqual(r.text(), "Berlin: %s°C %d%%" % (signed(cur["temperature"]),
                                                         round(cur["relative_humidity"])))

    def test_a_format_too_long_is_refused(self):
        r = get(self.url + "/Berlin?format=%25t" + "x" * 1100, CURL)
        self.assertStatus(r, 400)
        self.assertIn("at most 1024 bytes", r.text())

    def test_rain_looks_as_far_as_hours(self):
        doc = self.doc(hours=24)
        best = max(h["precipitation_probability"] or 0 for h in doc["hourly"][:24])
        text = get(self.url + "/Berlin?format=%25R&hours=24", CURL).text()
        self.assertTrue(text.startswith("%d%%" % best), (text, best))

    # -- units and layout ------------------------------------------------------

    def test_units_in_the_text_report(self):
        imperial = get(self.url + "/Berlin?u", CURL).text()
        self.assertIn("°F (feels like", imperial)
        self.assertRegex(imperial, r"Wind \S+ mph")
        self.assertEqual(get(self.url + "/Berlin?units=imperial", CURL).text(), imperial)
        metric = get(self.url + "/Berlin?m", CURL).text()
        self.assertIn("°C (feels like", metric)
        self.assertEqual(metric, get(self.url + "/Berlin", CURL).text())
        t = self.doc(units="imperial")["current"]["temperature"]
        self.assertIn("%.1f °F" % t, imperial)
        # the next hours at a glance
        self.assertRegex(metric, r"\n  Hour( +\d\d){12}\n  °C ")

    def test_narrow_report(self):
        text = get(self.url + "/Berlin?n", CURL).text()
        for line in text.splitlines():
            self.assertLessEqual(len(line), 40, line)
        self.assertRegex(text, r"\n  Hour( +\d\d){6}\n")
        self.assertEqual(get(self.url + "/Berlin?narrow", CURL).text(), text)

    # -- the page --------------------------------------------------------------

    def test_the_chart_is_there_without_javascript(self):
        r = get(self.url + "/Berlin", BROWSER)
        self.assertStatus(r, 200)
        doc = self.doc()
        p = Svg()
        p.feed(r.text())
        self.assertIsNotNone(p.svg)
        self.assertEqual(p.svg["role"], "img")
        self.assertTrue(p.svg["aria-label"].startswith("Hourly forecast for the next 48 hours"),
                        p.svg["aria-label"])
        hours = doc["hourly"][:48]
        with_t = sum(1 for h in hours if h["temperature"] is not None)
        points = sum(len(pl.split()) for pl in p.polylines) + p.dots
        self.assertEqual(points, with_t)
        self.assertGreater(p.bars, 0)
        # the table says the same hours
        self.assertEqual(len(p.rows), len(hours))
        for row, h in zip(p.rows, hours):
            self.assertTrue(row.endswith(h["time"][11:]), (row, h["time"]))
        self.assertIn('<a href="/Berlin?units=imperial" data-units="imperial">°F</a>', r.text())

    def test_units_are_remembered_in_a_cookie(self):
        r = get(self.url + "/Berlin?units=imperial", BROWSER)
        self.assertStatus(r, 200)
        cookie = r.header("Set-Cookie")
        self.assertTrue(cookie.startswith("units=imperial;"), cookie)
        for attr in ("Path=/", "Max-Age=31536000", "SameSite=Lax"):
            self.assertIn(attr, cookie)
        self.assertIn('data-units="imperial"', r.text())
        self.assertIn("Cookie", r.header("Vary"))
        later = get(self.url + "/Tokyo", dict(BROWSER, Cookie="units=imperial"))
        self.assertIn('data-units="imperial"', later.text())
        self.assertIsNone(later.headers.get("Set-Cookie"))
        self.assertIn('data-f="u-temp">°F<', later.text())
        # scripts and terminals get what they ask, whatever the cookie
        self.assertIn("°C (feels like",
                      get(self.url + "/Tokyo", dict(CURL, Cookie="units=imperial")).text())
        back = get(self.url + "/Berlin?units=metric", dict(BROWSER, Cookie="units=imperial"))
        self.assertTrue(back.header("Set-Cookie").startswith("units=metric;"))
        self.assertIn('data-units="metric"', back.text())

    def test_json_passes_hourly_hours_and_units_on(self):
        doc = self.doc(hours=6, units="imperial")
        self.assertEqual(len(doc["hourly"]), 6)
        self.assertEqual(doc["units"]["temperature"], "°F")
        r = get(self.url + "/Berlin?format=json&units=kelvin")
        self.assertStatus(r, 400)
        self.assertEqual(r.json()["reason"], "units must be metric or imperial")


if __name__ == "__main__":
    testing.main()
