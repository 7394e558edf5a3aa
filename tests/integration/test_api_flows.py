"""The five flows of ARCHITECTURE.md, one test each, against real Redis,
PostgreSQL, the dev Kafka broker and the weather simulator."""
import json
import urllib.parse

from nimbus_harness import http, procs, schema, testing

from api_common import ApiStack, ApiTestCase, now_ms, record

FRESH_TTL_S = 600


class Flows(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = ApiStack(fresh_ttl_s=FRESH_TTL_S)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        self.stack.sim.reset()

    def wait_stored_writes(self, n):
        procs.wait_until(lambda: self.stack.metric('nimbus_store_writes_total{result="stored"}') >= n,
                         20, what="%d write(s) acknowledged by persistence" % n)

    def test_1_cache_hit_fresh(self):
        s, key = self.stack, "48.14,11.58"
        fetched = now_ms() - 60_000
        s.put_record(record(key, fetched))
        r = s.weather(lat="48.14", lon="11.58")
        doc = self.assertWeather(r, "HIT", "cache")
        self.assertEqual(doc["current"]["temperature"], 42.4)
        self.assertEqual(doc["freshness"]["state"], "fresh")
        self.assertNotIn("name", doc["location"])
        cc = r.headers["Cache-Control"]
        self.assertRegex(cc, r"^public, max-age=(\d+), stale-while-revalidate=\d+$")
        max_age = int(cc.split("max-age=")[1].split(",")[0])
        self.assertTrue(FRESH_TTL_S - 62 <= max_age <= FRESH_TTL_S - 59, cc)
        self.assertRegex(r.headers["Cache-Status"], r"^nimbus; hit; ttl=\d+$")
        self.assertTrue(59 <= int(r.headers["Age"]) <= 62)
        self.assertEqual(s.sim.counters(), {"forecast": 0, "search": 0})
        self.assertEqual(s.metric("nimbus_renewals_total"), 0)
        self.assertEqual(s.events_for(key), [])

    def test_2_cache_hit_stale(self):
        s, key = self.stack, "50.94,6.96"
        old = now_ms() - 3600_000
        s.put_record(record(key, old))
        r = s.weather(lat="50.94", lon="6.96")
        doc = self.assertWeather(r, "STALE", "cache")
        self.assertEqual(doc["current"]["temperature"], 42.4, "the stored data goes out at once")
        self.assertEqual(doc["freshness"]["state"], "stale")
        self.assertRegex(r.headers["Cache-Control"],
                         r"^public, max-age=0, stale-while-revalidate=\d+$")
        self.assertRegex(r.headers["Cache-Status"], r"^nimbus; hit; ttl=-\d+; fwd=stale$")
        # Renewed off the request path: upstream once, stored in both stores, one event.
        procs.wait_until(lambda: (s.pg_fetched_at(key) or 0) > old, 20,
                         what="the renewed record in PostgreSQL")
        procs.wait_until(lambda: (s.redis_record(key) or {}).get("current", {})
                         .get("temperature") != 42.4, 20, what="the renewed record in Redis")
        self.assertEqual(s.sim.counters()["forecast"], 1)
        stored = s.pg_record(key)
        schema.validate(stored, "record")
        events = s.wait_events(key, 1)
        # One event for the one new observation (the seed's own is left out; the
        # topic is shared with the other tests: keys are unique per test).
        self.assertEqual(len(events), 1, json.dumps(events)[:3000])
        self.assertEqual(events[0]["observation"]["time"], stored["current"]["time"])
        self.assertEqual(events[0]["key"], key)
        self.wait_stored_writes(1)
        r2 = s.weather(lat="50.94", lon="6.96")
        doc2 = self.assertWeather(r2, "HIT", "cache")
        self.assertEqual(doc2["current"]["temperature"], stored["current"]["temperature"])
        self.assertEqual(doc2["fetched_at"], stored["fetched_at"])
        self.assertEqual(s.sim.counters()["forecast"], 1, "a fresh hit asks no upstream")

    def test_3_cache_miss_database_hit_fresh(self):
        s, key = self.stack, "53.55,9.99"
        s.put_record(record(key, now_ms() - 30_000))
        s.redis_del(key)
        self.assertIsNone(s.redis_record(key))
        r = s.weather(lat="53.55", lon="9.99")
        doc = self.assertWeather(r, "HIT", "database")
        self.assertEqual(doc["current"]["temperature"], 42.4)
        procs.wait_until(lambda: s.redis_record(key) is not None, 10,
                         what="persistence filling Redis after the database hit")
        self.assertEqual(s.redis_record(key)["fetched_at"], doc["fetched_at"])
        r2 = s.weather(lat="53.55", lon="9.99")
        self.assertWeather(r2, "HIT", "cache")
        self.assertEqual(s.sim.counters(), {"forecast": 0, "search": 0})
        self.assertEqual(s.events_for(key), [])

    def test_4_cache_miss_database_hit_stale(self):
        s, key = self.stack, "51.34,12.37"
        old = now_ms() - 7200_000
        s.put_record(record(key, old))
        s.redis_del(key)
        r = s.weather(lat="51.34", lon="12.37")
        doc = self.assertWeather(r, "STALE", "database")
        self.assertEqual(doc["current"]["temperature"], 42.4)
        procs.wait_until(lambda: (s.pg_fetched_at(key) or 0) > old, 20,
                         what="the renewed record in PostgreSQL")
        procs.wait_until(lambda: (s.redis_record(key) or {}).get("fetched_at")
                         == s.pg_record(key)["fetched_at"], 20,
                         what="Redis holding the renewed record")
        self.assertEqual(s.sim.counters()["forecast"], 1)
        self.assertEqual(len(s.wait_events(key, 1)), 1)
        self.wait_stored_writes(2)
        self.assertWeather(s.weather(lat="51.34", lon="12.37"), "HIT", "cache")

    def test_5_cache_miss_database_miss(self):
        s = self.stack
        r = s.weather(city="Zürich")
        doc = self.assertWeather(r, "MISS", "upstream")
        self.assertEqual(doc["location"]["name"], "Zürich")
        self.assertEqual(doc["freshness"]["state"], "fresh")
        self.assertRegex(r.headers["Cache-Status"], r"^nimbus; fwd=uri-miss")
        key = doc["location"]["key"]
        self.assertEqual(s.sim.counters(), {"forecast": 1, "search": 1})
        # Stored asynchronously: the record in both stores, the name resolution too.
        procs.wait_until(lambda: s.pg_record(key) is not None, 20,
                         what="the record in PostgreSQL")
        procs.wait_until(lambda: s.redis_record(key) is not None, 20,
                         what="the record in Redis")
        self.assertEqual(s.pg_record(key)["fetched_at"], doc["fetched_at"])
        geo = http.request("GET", s.persistence_url + "/v1/geocode/"
                           + urllib.parse.quote("zürich"))
        self.assertEqual(geo.status, 200, geo.text())
        schema.validate(geo.json(), "geocode")
        self.assertTrue(geo.json()["found"])
        events = s.wait_events(key, 1)
        self.assertEqual(events[0]["location"].get("name"), "Zürich")
        self.wait_stored_writes(2)
        again = s.weather(city="zurich")  # without diacritics: the simulator folds them
        self.assertEqual(again.status, 200)
        self.assertEqual(s.sim.counters()["forecast"], 1, "stored data is not fetched again")


if __name__ == "__main__":
    testing.main()
