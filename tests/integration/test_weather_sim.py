"""weather-sim behaves like Open-Meteo (shape, field order, quirks) and its test
controls work, as seen by real HTTP clients: counters and reset, latency,
failures (429 variants, 400, 5xx), every fault kind (malformed, truncated,
oversized, hang, drip, invalid_timezone, empty), the clock shift moving
current.time by one 15-minute step, keep-alive, and SIGTERM with hanging and
dripping connections open."""
import datetime
import http.client
import json
import socket
import time

from nimbus_harness import http as nhttp
from nimbus_harness import procs, testing
from nimbus_harness.sim import WeatherSim, ordered

BERLIN = {"latitude": "52.52", "longitude": "13.41"}
CURRENT = ["temperature_2m", "relative_humidity_2m", "weather_code", "wind_speed_10m"]
DAILY = ["weather_code", "temperature_2m_max", "temperature_2m_min"]


def keys(pairs):
    return [k for k, _ in pairs]


class WeatherSimTest(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        testing.require_binary("weather-sim")
        cls.sim = WeatherSim.start()

    def setUp(self):
        self.sim.reset()

    # ------------------------------------------------------------ Open-Meteo shape

    def test_forecast_for_berlin_has_open_meteos_shape_and_field_order(self):
        r = self.sim.forecast(current=CURRENT, daily=DAILY, timezone="Europe/Berlin", **BERLIN)
        self.assertStatus(r, 200)
        self.assertHeader(r, "Content-Type", "application/json; charset=utf-8")
        text = r.text()
        self.assertTrue(text.startswith('{"latitude":52.52,"longitude":13.419998,'), text[:80])
        doc = ordered(r.body)
        self.assertEqual(keys(doc), ["latitude", "longitude", "generationtime_ms",
                                     "utc_offset_seconds", "timezone", "timezone_abbreviation",
                                     "elevation", "current_units", "current", "daily_units",
                                     "daily"])
        d = dict(doc)
        self.assertEqual(d["timezone"], "Europe/Berlin")
        self.assertIn(d["utc_offset_seconds"], (3600, 7200))
        self.assertEqual(d["timezone_abbreviation"], "GMT+%d" % (d["utc_offset_seconds"] // 3600))
        self.assertEqual(keys(d["current_units"]), ["time", "interval"] + CURRENT)
        self.assertEqual(dict(d["current_units"])["temperature_2m"], "°C")
        cur = dict(d["current"])
        self.assertEqual(keys(d["current"]), ["time", "interval"] + CURRENT)
        self.assertEqual(cur["interval"], 900)
        # current.time is the local start of the running 15-minute step
        now = datetime.datetime.now(datetime.timezone.utc).timestamp()
        step = int(now // 900 * 900) + d["utc_offset_seconds"]
        expected = {datetime.datetime.fromtimestamp(s, datetime.timezone.utc)
                    .strftime("%Y-%m-%dT%H:%M") for s in (step, step - 900)}
        self.assertIn(cur["time"], expected)
        for name in ("relative_humidity_2m", "weather_code"):
            self.assertTrue(cur[name] is None or isinstance(cur[name], int), (name, cur[name]))
        daily = dict(d["daily"])
        self.assertEqual(keys(d["daily"]), ["time"] + DAILY)
        self.assertEqual(len(daily["time"]), 7)
        for lo, hi in zip(daily["temperature_2m_min"], daily["temperature_2m_max"]):
            self.assertLessEqual(lo, hi)

    def test_several_locations_answer_with_an_array(self):
        r = self.sim.forecast(latitude="52.52,48.85", longitude="13.41,2.35",
                              current="temperature_2m")
        self.assertStatus(r, 200)
        body = r.json()
        self.assertIsInstance(body, list)
        self.assertEqual(len(body), 2)
        r = self.sim.forecast(latitude="52.52,48.85", longitude="13.41")
        self.assertStatus(r, 400)
        self.assertEqual(r.json(), {"error": True, "reason": "Parameter 'latitude' and "
                                    "'longitude' must have the same number of elements"})

    def test_bad_parameters_get_the_real_400_reasons(self):
        cases = [
            ({"latitude": "91", "longitude": "13"},
             "Latitude must be in range of -90 to 90°. Given: 91.0."),
            ({"latitude": "52", "longitude": "200"},
             "Longitude must be in range of -180 to 180°. Given: 200.0."),
            ({"latitude": "52", "longitude": "13", "forecast_days": "17"},
             "Forecast days is invalid. Allowed range 0 to 16. Given 17."),
            ({"latitude": "52", "longitude": "13", "timezone": "Nowhere/Atlantis"},
             "Invalid timezone"),
        ]
        for params, reason in cases:
            r = self.sim.forecast(**params)
            self.assertStatus(r, 400)
            self.assertEqual(r.json(), {"error": True, "reason": reason})
        r = self.sim.forecast(current="temperature_2m,bogus", **BERLIN)
        self.assertStatus(r, 400)
        self.assertIn("invalid String value bogus", r.json()["reason"])

    def test_timezone_auto_far_out_at_sea_is_invalid_and_gmt_works(self):
        sea = {"latitude": "-45", "longitude": "-130", "current": "temperature_2m"}
        r = self.sim.forecast(timezone="auto", **sea)
        self.assertStatus(r, 400)
        self.assertEqual(r.json(), {"error": True, "reason": "Invalid timezone"})
        r = self.sim.forecast(timezone="GMT", **sea)
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["timezone"], "GMT")
        r = self.sim.forecast(timezone="auto", latitude="35.68", longitude="139.69")
        self.assertEqual(r.json()["timezone"], "Asia/Tokyo")

    def test_some_locations_have_null_values(self):
        found = None
        for i in range(400):
            lat, lon = -50 + i * 0.23, -120 + i * 0.61
            r = self.sim.forecast(latitude="%.2f" % lat, longitude="%.2f" % lon,
                                  current=CURRENT)
            self.assertStatus(r, 200)
            if None in r.json()["current"].values():
                found = (lat, lon)
                break
        self.assertIsNotNone(found, "no location with a null value")

    def test_search_finds_accented_names_and_omits_results_when_nothing_matches(self):
        for query, name in [("Sao Paulo", "São Paulo"), ("Zurich", "Zürich"),
                            ("Krakow", "Kraków"), ("Reykjavik", "Reykjavík")]:
            r = self.sim.search(name=query, count=1)
            self.assertStatus(r, 200)
            self.assertEqual(r.json()["results"][0]["name"], name)
        r = self.sim.search(name="Berlin", count=1)
        place = ordered(r.body)[0][1][0]
        self.assertEqual(keys(place), ["id", "name", "latitude", "longitude", "elevation",
                                       "feature_code", "country_code", "admin1_id", "timezone",
                                       "population", "postcodes", "country_id", "country",
                                       "admin1"])
        self.assertEqual(dict(place)["latitude"], 52.52437)
        r = self.sim.search(name="Nowhereville")
        self.assertStatus(r, 200)
        self.assertEqual(list(r.json().keys()), ["generationtime_ms"])
        self.assertEqual(list(self.sim.search(name="Be").json().keys()), ["generationtime_ms"])
        r = self.sim.search(name="Berlin", count=101)
        self.assertStatus(r, 400)
        self.assertEqual(r.json()["reason"], "Parameter count must be between 1 and 100.")

    # ------------------------------------------------------------ controls

    def test_counters_count_every_request_and_reset_clears_them(self):
        self.sim.forecast(**BERLIN)
        self.sim.forecast(latitude="99", longitude="0")  # a 400 counts too
        self.sim.search(name="Berlin")
        self.assertEqual(self.sim.counters(), {"forecast": 2, "search": 1})
        self.sim.reset()
        self.assertEqual(self.sim.counters(), {"forecast": 0, "search": 0})

    def test_latency_delays_only_the_chosen_endpoint(self):
        self.sim.latency(400, endpoint="forecast")
        t0 = time.monotonic()
        self.assertStatus(self.sim.forecast(**BERLIN), 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        t0 = time.monotonic()
        self.assertStatus(self.sim.search(name="Berlin"), 200)
        self.assertLess(time.monotonic() - t0, 0.3)

    def test_fail_gives_real_looking_errors_then_recovers(self):
        self.sim.fail(429, count=2)
        for _ in range(2):
            r = self.sim.forecast(**BERLIN)
            self.assertStatus(r, 429)
            self.assertEqual(r.json(), {"error": True, "reason": "Minutely API request limit "
                                        "exceeded. Please try again in one minute."})
        self.assertStatus(self.sim.forecast(**BERLIN), 200)
        self.sim.fail(429, reason="hourly")
        self.assertIn("Hourly API request limit", self.sim.forecast(**BERLIN).json()["reason"])
        self.sim.fail(429, reason="daily")
        self.assertIn("Daily API request limit", self.sim.forecast(**BERLIN).json()["reason"])
        self.sim.fail(400, reason="Something is off")
        r = self.sim.forecast(**BERLIN)
        self.assertEqual((r.status, r.json()["reason"]), (400, "Something is off"))
        self.sim.fail(500)
        r = self.sim.forecast(**BERLIN)
        self.assertEqual((r.status, r.json()["error"]), (500, True))
        self.sim.fail(503, endpoint="search")
        self.assertStatus(self.sim.forecast(**BERLIN), 200)  # other endpoint untouched
        r = self.sim.search(name="Berlin")
        self.assertStatus(r, 503)
        self.assertTrue(r.header("Content-Type").startswith("text/html"))
        self.assertStatus(self.sim.search(name="Berlin"), 200)
        self.assertEqual(self.sim.counters(), {"forecast": 8, "search": 2})

    def test_fault_malformed_is_200_with_invalid_json(self):
        self.sim.fault("malformed")
        r = self.sim.forecast(current="temperature_2m", **BERLIN)
        self.assertStatus(r, 200)
        self.assertGreater(len(r.body), 0)
        with self.assertRaises(ValueError):
            json.loads(r.body)

    def test_fault_empty_is_200_without_body(self):
        self.sim.fault("empty", endpoint="search")
        r = self.sim.search(name="Berlin")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"")

    def test_fault_truncated_closes_before_content_length(self):
        self.sim.fault("truncated")
        conn = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=10)
        try:
            conn.request("GET", "/v1/forecast?latitude=52.52&longitude=13.41&current=temperature_2m")
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            promised = int(resp.getheader("Content-Length"))
            with self.assertRaises(http.client.IncompleteRead) as cm:
                resp.read()
            self.assertLess(len(cm.exception.partial), promised)
        finally:
            conn.close()
        self.assertStatus(self.sim.forecast(**BERLIN), 200)

    def test_fault_oversized_streams_a_huge_valid_body(self):
        self.sim.fault("oversized")
        r = self.sim.forecast(current="temperature_2m", timeout=30, **BERLIN)
        self.assertStatus(r, 200)
        self.assertGreaterEqual(len(r.body), 8 * 1024 * 1024)
        self.assertEqual(r.header("Transfer-Encoding"), "chunked")
        self.assertEqual(r.json()["latitude"], 52.52)

    def test_fault_hang_never_answers_and_the_sim_stays_usable(self):
        self.sim.fault("hang")
        t0 = time.monotonic()
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.sim.forecast(timeout=1, **BERLIN)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertStatus(self.sim.forecast(**BERLIN), 200)

    def test_fault_drip_sends_one_byte_every_200ms(self):
        self.sim.fault("drip")
        s = socket.create_connection(("127.0.0.1", self.sim.port), timeout=5)
        try:
            s.sendall(b"GET /v1/forecast?latitude=52.52&longitude=13.41 HTTP/1.1\r\n"
                      b"Host: sim\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(4096)
            head, body = data.split(b"\r\n\r\n", 1)
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
            t0 = time.monotonic()
            while time.monotonic() - t0 < 1.5:
                body += s.recv(4096)
            elapsed = time.monotonic() - t0
            # ~7 bytes in 1.5 s at one byte per 200 ms; generous bounds for a busy CI box
            self.assertGreaterEqual(len(body), 3, body)
            self.assertLessEqual(len(body), elapsed / 0.2 + 3, body)
            self.assertTrue(b'{"latitude":52.52'.startswith(body[:17]), body)
        finally:
            s.close()

    def test_fault_invalid_timezone_spares_gmt_requests(self):
        self.sim.fault("invalid_timezone", count=1)
        r = self.sim.forecast(timezone="GMT", **BERLIN)
        self.assertStatus(r, 200)  # GMT is spared and does not use the fault up
        r = self.sim.forecast(timezone="auto", **BERLIN)
        self.assertStatus(r, 400)
        self.assertEqual(r.json(), {"error": True, "reason": "Invalid timezone"})
        r = self.sim.forecast(timezone="auto", **BERLIN)
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["timezone"], "Europe/Berlin")

    def test_clock_shift_moves_current_time_by_one_step(self):
        def current_time():
            r = self.sim.forecast(current="temperature_2m", **BERLIN)
            self.assertStatus(r, 200)
            return datetime.datetime.strptime(r.json()["current"]["time"], "%Y-%m-%dT%H:%M")

        for _ in range(3):  # retry if the real clock crosses a step boundary meanwhile
            self.sim.clock(0)
            before = current_time()
            self.sim.clock(900)
            shifted = current_time()
            self.sim.clock(0)
            if current_time() == before:
                break
        self.assertEqual(shifted - before, datetime.timedelta(minutes=15))
        self.sim.clock(-86400)
        self.assertEqual(current_time() - before, datetime.timedelta(days=-1))

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        with nhttp.Conn("127.0.0.1", self.sim.port) as c:
            for _ in range(5):
                self.assertStatus(c.get("/v1/forecast?latitude=52.52&longitude=13.41"), 200)
            self.assertEqual(c.connects, 1)
            self.assertFalse(c.server_closed)

    def test_requests_are_logged_as_json_lines(self):
        self.sim.search(name="Berlin")
        lines = [l for l in self.sim.daemon.log_json()
                 if l.get("msg") == "request" and l.get("path") == "/v1/search"]
        self.assertTrue(lines)
        self.assertEqual(lines[-1]["status"], 200)
        self.assertEqual(lines[-1]["svc"], "weather-sim")

    def test_sigterm_stops_promptly_with_hanging_and_dripping_connections(self):
        sim = WeatherSim.start(name="weather-sim-stop")
        sim.fault("hang")
        sim.fault("drip")
        socks = []
        try:
            for _ in range(2):
                s = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
                s.sendall(b"GET /v1/forecast?latitude=1&longitude=1 HTTP/1.1\r\nHost: x\r\n\r\n")
                socks.append(s)
            procs.wait_until(lambda: sim.state()["rules"] == [], 5,
                             what="both faults taken by the open connections")
            t0 = time.monotonic()
            self.assertEqual(sim.stop(timeout=10), 0)
            self.assertLess(time.monotonic() - t0, 5)
        finally:
            for s in socks:
                s.close()


if __name__ == "__main__":
    testing.main()
