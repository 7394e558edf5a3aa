"""The page in a real headless Chromium: stale data at once, fresh data swapped
in by the script without a reload (the hourly chart drawn by the script as
the server draws it); the same data with JavaScript off; the hourly chart in
light and dark mode, the unit toggle, "use my location" and recent places.

Starts the suite (shared Redis/PostgreSQL/Kafka/simulator; persistence, api
and front here), stores a stale record with a distinctive temperature for
Berlin's grid key through persistence (PUT /v1/records/{key}), lets the api
geocode the name on the first page view, then runs
tests/browser/stale_page.test.mjs (playwright-core driving /usr/bin/chromium),
which saves screenshots under <build>/tests/artifacts/.
"""
import datetime
import json
import os
import shutil
import subprocess
import unittest
import urllib.parse

from nimbus_harness import http, procs, schema, testing
from test_front import Stack

STALE_TEMPERATURE = 42.4
FAILING_PLACE = (48.85, 2.35, "Europe/Paris", 3600)  # asked by coordinates: no geocoding
FAILING_TEMPERATURE = 38.6
CHROMIUM = os.environ.get("NIMBUS_CHROMIUM", "/usr/bin/chromium")


def browser_dir():
    return os.path.join(schema.source_dir(), "tests", "browser")


def ensure_playwright():
    """node_modules/playwright-core, installed from package.json when missing."""
    d = browser_dir()
    if os.path.isdir(os.path.join(d, "node_modules", "playwright-core")):
        return
    if not shutil.which("npm"):
        raise AssertionError("npm is needed to install playwright-core (tests/browser)")
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=d, timeout=300,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("npm ci in tests/browser failed:\n" + r.stdout + r.stderr)


def utc_rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def stale_record(key, lat, lon, timezone, offset_s, age_s, temperature=STALE_TEMPERATURE):
    """A record per proto/record.schema.json, fetched age_s ago."""
    fetched = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=age_s)
    local = fetched + datetime.timedelta(seconds=offset_s)
    day = local.date()
    daily = []
    for i, (code, hi, lo) in enumerate(((0, 44.0, 30.1), (1, 43.2, 29.5), (2, 41.0, 28.0))):
        d = (day + datetime.timedelta(days=i)).isoformat()
        daily.append({"date": d, "weather_code": code, "temperature_max": hi,
                      "temperature_min": lo, "precipitation_sum": 0.0,
                      "precipitation_probability_max": 0,
                      "sunrise": d + "T07:45", "sunset": d + "T15:59"})
    return {
        "key": key, "latitude": lat, "longitude": lon, "fetched_at": utc_rfc3339(fetched),
        "timezone": timezone, "utc_offset_seconds": offset_s,
        "current": {"time": local.strftime("%Y-%m-%dT%H:%M"), "temperature": temperature,
                    "apparent_temperature": 40.9, "relative_humidity": 12, "weather_code": 0,
                    "wind_speed": 5.0, "wind_direction": 90, "is_day": True},
        "daily": daily,
    }


class StalePageInChromium(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(CHROMIUM, os.X_OK) or not shutil.which("node"):
            raise unittest.SkipTest("needs %s and node" % CHROMIUM)
        ensure_playwright()
        cls.stack = Stack(fresh_ttl_s=600)

    @classmethod
    def tearDownClass(cls):
        rc = cls.stack.stop()
        if rc != 0:
            raise AssertionError("front exited with %s:\n%s" % (rc, cls.stack.front.log_tail()))

    def put_stale_berlin(self):
        sim = self.stack.shared.sim
        g = http.get(sim.geocoding_url + "?" + urllib.parse.urlencode(
            {"name": "Berlin", "count": 1, "language": "en", "format": "json"})).json()
        place = g["results"][0]
        lat, lon = round(place["latitude"], 2), round(place["longitude"], 2)
        key = "%.2f,%.2f" % (lat, lon)
        self.put_stale(key, lat, lon, place.get("timezone", "Europe/Berlin"), 3600,
                       STALE_TEMPERATURE)
        return key

    def put_stale(self, key, lat, lon, timezone, offset_s, temperature):
        rec = schema.validate(stale_record(key, lat, lon, timezone, offset_s, 2 * 3600,
                                           temperature), "record")
        r = http.request("PUT", "%s/v1/records/%s" % (self.stack.persistence_url, key), body=rec)
        self.assertIn(r.status, (200, 201, 204), r.body)

    def test_stale_page_revalidates_in_place(self):
        key = self.put_stale_berlin()
        lat, lon, tz, off = FAILING_PLACE
        fail_key = "%.2f,%.2f" % (lat, lon)
        self.put_stale(fail_key, lat, lon, tz, off, FAILING_TEMPERATURE)
        artifacts = os.path.join(procs.build_dir(), "tests", "artifacts")
        os.makedirs(artifacts, exist_ok=True)
        r = subprocess.run(
            ["node", os.path.join(browser_dir(), "stale_page.test.mjs"), self.stack.url,
             "/Berlin", "%.1f" % STALE_TEMPERATURE, artifacts,
             "/" + fail_key, "%.1f" % FAILING_TEMPERATURE],
            cwd=browser_dir(), timeout=180, capture_output=True, text=True)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, "browser scenario failed:\n%s\n%s"
                         % (r.stdout[-4000:], r.stderr[-4000:]))
        for name in ("front-stale-page.png", "front-fresh-page.png", "front-nojs-narrow.png",
                     "front-update-failed.png"):
            self.assertGreater(os.path.getsize(os.path.join(artifacts, name)), 10000, name)
        # The record the page showed last is the renewed one, now served fresh.
        doc = http.get(self.stack.api_url + "/v1/weather?city=Berlin").json()
        self.assertEqual(doc["location"]["key"], key)
        self.assertEqual(doc["freshness"]["state"], "fresh")
        self.assertNotEqual(doc["current"]["temperature"], STALE_TEMPERATURE)



class HourlyPageInChromium(testing.TestCase):
    """The chart in light and dark mode, the °C/°F toggle, "use my location"
    and recent places (tests/browser/hourly_page.test.mjs)."""

    @classmethod
    def setUpClass(cls):
        if not os.access(CHROMIUM, os.X_OK) or not shutil.which("node"):
            raise unittest.SkipTest("needs %s and node" % CHROMIUM)
        ensure_playwright()
        cls.stack = Stack(fresh_ttl_s=600)

    @classmethod
    def tearDownClass(cls):
        rc = cls.stack.stop()
        if rc != 0:
            raise AssertionError("front exited with %s:\n%s" % (rc, cls.stack.front.log_tail()))

    def test_chart_units_location_and_recent_places(self):
        artifacts = os.path.join(procs.build_dir(), "tests", "artifacts")
        os.makedirs(artifacts, exist_ok=True)
        # Stored fresh before the browser comes: the page has its hours at once.
        self.assertEqual(http.get(self.stack.api_url + "/v1/weather?city=Berlin").status, 200)
        r = subprocess.run(
            ["node", os.path.join(browser_dir(), "hourly_page.test.mjs"), self.stack.url,
             "/Berlin", "35.68,139.69", artifacts],
            cwd=browser_dir(), timeout=240, capture_output=True, text=True)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, "browser scenario failed:\n%s\n%s"
                         % (r.stdout[-4000:], r.stderr[-4000:]))
        for name in ("front-hourly-light.png", "front-hourly-dark.png",
                     "front-hourly-imperial.png", "front-recent-places.png"):
            self.assertGreater(os.path.getsize(os.path.join(artifacts, name)), 10000, name)


class FreshPageRenewsAtMaxAge(testing.TestCase):
    """With an 8 s freshness the page revalidates when max-age runs out."""

    @classmethod
    def setUpClass(cls):
        if not os.access(CHROMIUM, os.X_OK) or not shutil.which("node"):
            raise unittest.SkipTest("needs %s and node" % CHROMIUM)
        ensure_playwright()
        cls.stack = Stack(fresh_ttl_s=8)

    @classmethod
    def tearDownClass(cls):
        rc = cls.stack.stop()
        if rc != 0:
            raise AssertionError("front exited with %s:\n%s" % (rc, cls.stack.front.log_tail()))

    def test_fresh_page_revalidates_when_max_age_runs_out(self):
        artifacts = os.path.join(procs.build_dir(), "tests", "artifacts")
        os.makedirs(artifacts, exist_ok=True)
        # Fetched now: the page that follows is fresh with max-age <= 8.
        self.assertEqual(http.get(self.stack.api_url + "/v1/weather?city=Tokyo").status, 200)
        r = subprocess.run(
            ["node", os.path.join(browser_dir(), "fresh_page.test.mjs"), self.stack.url,
             "/Tokyo", artifacts],
            cwd=browser_dir(), timeout=120, capture_output=True, text=True)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, "browser scenario failed:\n%s\n%s"
                         % (r.stdout[-4000:], r.stderr[-4000:]))


if __name__ == "__main__":
    testing.main()
