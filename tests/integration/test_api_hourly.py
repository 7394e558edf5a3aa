"""The api's hourly forecast and units against the real suite (persistence,
simulator, Kafka):

- `hourly` has at least 48 entries starting at the current hour in the
  place's time zone, east (Tokyo) and west (New York) of UTC and with a
  half-hour offset (Kolkata); `hours=` chooses how many;
- across a daylight-saving change the labels are the place's wall clock
  (a repeated hour when clocks go back), although the upstream labels the
  whole series with one offset (Open-Meteo's quirk, which the simulator
  copies). The change is put inside the window with a private simulator and
  api reading a zone file written here (TZDIR), so the test works on any
  date;
- `units=imperial` is the metric answer converted (°F, mph, inches), for
  the same stored record (same key, no second upstream fetch);
- wrong `hours` and `units` are 400s with a reason.
"""
import datetime
import os
import struct
import zoneinfo

from api_common import ApiStack, ApiTestCase
from nimbus_harness import http, procs, schema, testing
from nimbus_harness.sim import WeatherSim

HOUR = datetime.timedelta(hours=1)


def current_hour_label(tz, now=None):
    """The local label of the hour the place is in now ("YYYY-MM-DDTHH:00")."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.astimezone(zoneinfo.ZoneInfo(tz)).strftime("%Y-%m-%dT%H:00")


class HourlyAndUnits(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = ApiStack()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def assertStartsNow(self, doc, tz, count):
        hourly = doc["hourly"]
        self.assertGreaterEqual(len(hourly), count)
        # The hour may turn between the answer and this check: accept both.
        before = current_hour_label(tz, datetime.datetime.now(datetime.timezone.utc) - HOUR)
        self.assertIn(hourly[0]["time"], (current_hour_label(tz), before))
        return hourly

    def test_48_hours_from_the_current_hour_east_and_west_of_utc(self):
        for city, tz in (("Tokyo", "Asia/Tokyo"), ("New York", "America/New_York"),
                         ("Kolkata", "Asia/Kolkata")):
            with self.subTest(city=city):
                r = self.stack.weather(city=city)
                doc = self.assertWeather(r, r.headers.get("X-Cache"), r.headers.get("X-Source"))
                self.assertEqual(doc["location"]["timezone"], tz)
                hourly = self.assertStartsNow(doc, tz, 48)
                self.assertEqual(len(hourly), 48)  # the default
                for a, b in zip(hourly, hourly[1:]):  # consecutive local hours
                    ta = datetime.datetime.fromisoformat(a["time"])
                    tb = datetime.datetime.fromisoformat(b["time"])
                    self.assertEqual(tb - ta, HOUR, (a["time"], b["time"]))
                e = hourly[0]
                for k in ("temperature", "apparent_temperature", "precipitation_probability",
                          "precipitation", "weather_code", "condition", "wind_speed",
                          "wind_gusts", "is_day"):
                    self.assertIn(k, e)
                self.assertEqual(doc["units"]["system"], "metric")

    def test_hours_chooses_how_many(self):
        doc = self.stack.weather(city="Tokyo", hours=384).json()
        schema.validate(doc, "weather")
        # 16 days are stored from local midnight; the rest of them from now
        self.assertGreaterEqual(len(doc["hourly"]), 384 - 24)
        self.assertLessEqual(len(doc["hourly"]), 384)
        doc = self.stack.weather(city="Tokyo", hours=3).json()
        self.assertEqual(len(doc["hourly"]), 3)

    def test_imperial_is_the_metric_answer_converted(self):
        metric = self.stack.weather(lat="40.71", lon="-74.01", hours=24, days=3).json()
        before = self.stack.sim.counters()["forecast"]
        r = self.stack.weather(lat="40.71", lon="-74.01", hours=24, days=3, units="imperial")
        imperial = self.assertWeather(r, r.headers.get("X-Cache"), r.headers.get("X-Source"))
        self.assertEqual(self.stack.sim.counters()["forecast"], before)  # the same record
        self.assertEqual(imperial["location"]["key"], metric["location"]["key"])
        self.assertEqual(imperial["fetched_at"], metric["fetched_at"])
        self.assertEqual(imperial["units"], {
            "system": "imperial", "temperature": "°F", "wind_speed": "mph",
            "precipitation": "in", "relative_humidity": "%", "wind_direction": "°",
            "pressure": "hPa"})

        def f(c):
            return round(c * 9 / 5 + 32, 1)

        def mph(k):
            return round(k / 1.609344, 1)

        def inch(mm):
            return round(mm / 25.4, 3)

        def check(m, i, conv, keys):
            for k in keys:
                if m[k] is None:
                    self.assertIsNone(i[k], k)
                else:
                    self.assertAlmostEqual(i[k], conv(m[k]), delta=0.051 if conv is not inch
                                           else 0.0006, msg=k)

        temps = ("temperature", "apparent_temperature")
        winds = ("wind_speed", "wind_gusts")
        check(metric["current"], imperial["current"], f, temps)
        check(metric["current"], imperial["current"], mph, winds)
        check(metric["current"], imperial["current"], inch, ("precipitation",))
        for k in ("relative_humidity", "wind_direction", "pressure_msl", "weather_code"):
            self.assertEqual(imperial["current"][k], metric["current"][k])
        self.assertEqual(len(imperial["hourly"]), len(metric["hourly"]))
        for m, i in zip(metric["hourly"], imperial["hourly"]):
            self.assertEqual(i["time"], m["time"])
            self.assertEqual(i["precipitation_probability"], m["precipitation_probability"])
            check(m, i, f, temps)
            check(m, i, mph, winds)
            check(m, i, inch, ("precipitation",))
        for m, i in zip(metric["daily"], imperial["daily"]):
            check(m, i, f, ("temperature_max", "temperature_min"))
            check(m, i, inch, ("precipitation_sum",))
            check(m, i, mph, ("wind_speed_max",))
        # different representations, different validators
        self.assertNotEqual(r.headers.get("ETag"),
                            self.stack.weather(lat="40.71", lon="-74.01", hours=24,
                                               days=3).headers.get("ETag"))

    def test_wrong_hours_and_units_are_refused_with_a_reason(self):
        for params, reason in (({"hours": "0"}, "hours must be a whole number from 1 to 384"),
                               ({"hours": "385"}, "hours must be a whole number from 1 to 384"),
                               ({"units": "kelvin"}, "units must be metric or imperial")):
            r = self.stack.weather(city="Tokyo", **params)
            self.assertEqual(r.status, 400, r.text())
            self.assertEqual(r.json()["reason"], reason)
            schema.validate(r.json(), "error")


# ---- across a DST change -----------------------------------------------------

def tzif(rule, std_offset_s):
    """A TZif version 2 file with no transitions, one standard type and a
    POSIX TZ footer rule (RFC 8536)."""
    header = b"TZif2" + b"\0" * 15 + struct.pack(">6l", 0, 0, 0, 0, 1, 4)
    data = struct.pack(">lBB", std_offset_s, 0, 0) + b"STD\0"
    return header + data + header + data + b"\n" + rule.encode() + b"\n"


class AcrossADstChange(ApiTestCase):
    """Berlin's zone here has summer time (UTC+2) from New Year until a fall
    back a few hours from now, then winter time (UTC+1). The private
    simulator labels its whole answer with +2 like Open-Meteo; the api must
    show the wall clock: the hour of the change twice."""

    STD, DST = 3600, 7200

    @classmethod
    def setUpClass(cls):
        now = datetime.datetime.now(datetime.timezone.utc)
        # the change: the first whole hour at least 4 h from now whose summer
        # wall clock is between 03:00 and 20:00 (its date is the same in both)
        t = (now + 4 * HOUR).replace(minute=0, second=0, microsecond=0)
        while not 3 <= (t + datetime.timedelta(seconds=cls.DST)).hour <= 20:
            t += HOUR
        cls.change = t
        local = t + datetime.timedelta(seconds=cls.DST)
        day = local.timetuple().tm_yday - 1  # POSIX "n": zero-based, Feb 29 counted
        cls.rule_day, cls.rule_hour = day, local.hour
        rule = "XST-1XDT-2,0/0,%d/%d" % (day, local.hour)
        cls.tzdir = procs.scratch_dir("tzdir")
        os.makedirs(os.path.join(cls.tzdir, "Europe"))
        with open(os.path.join(cls.tzdir, "Europe", "Berlin"), "wb") as fh:
            fh.write(tzif(rule, cls.STD))
        env = {"TZDIR": cls.tzdir}
        cls.sim = WeatherSim.start(env=env, name="weather-sim-dst")
        cls.stack = ApiStack(sim=cls.sim, api_env=env)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.sim.stop()

    def offset(self, utc):
        """The rule's offset at a UTC instant: summer time from New Year (00:00
        standard time) to day rule_day at rule_hour (summer time)."""
        y = (utc + datetime.timedelta(seconds=self.STD)).year
        jan1 = datetime.datetime(y, 1, 1, tzinfo=datetime.timezone.utc)
        start = jan1 - datetime.timedelta(seconds=self.STD)
        end = jan1 + datetime.timedelta(days=self.rule_day, hours=self.rule_hour,
                                        seconds=-self.DST)
        return self.DST if start <= utc < end else self.STD

    def test_labels_are_the_wall_clock_on_both_sides(self):
        r = self.stack.weather(city="Berlin", hours=48)
        doc = self.assertWeather(r, "MISS", "upstream")
        # the upstream's one offset: the one valid when asked
        self.assertEqual(doc["location"]["utc_offset_seconds"], self.DST)
        hourly = doc["hourly"]
        self.assertEqual(len(hourly), 48)
        first = datetime.datetime.fromisoformat(doc["fetched_at"].replace("Z", "+00:00"))
        first = first.replace(minute=0, second=0, microsecond=0)
        expected = [(first + i * HOUR + datetime.timedelta(seconds=self.offset(first + i * HOUR)))
                    .strftime("%Y-%m-%dT%H:%M") for i in range(48)]
        self.assertEqual([h["time"] for h in hourly], expected)
        # the fall back: one wall-clock hour twice, at the change
        k = int((self.change - first) / HOUR)
        self.assertTrue(0 < k < 48, k)
        self.assertEqual(hourly[k - 1]["time"], hourly[k]["time"])
        self.assertEqual(len(set(h["time"] for h in hourly)), 47)
        # the simulator itself kept one offset: its labels run on evenly
        upstream = self.sim_hourly_times()
        self.assertEqual(len(set(upstream)), len(upstream))

    def sim_hourly_times(self):
        r = http.get(self.sim.forecast_url + "?latitude=52.52&longitude=13.41&hourly="
                     "temperature_2m&timezone=Europe/Berlin&forecast_days=3")
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual(r.json()["utc_offset_seconds"], self.DST)
        return r.json()["hourly"]["time"]


if __name__ == "__main__":
    testing.main()
