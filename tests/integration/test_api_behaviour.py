"""api behaviour beyond the five flows: revalidation, coalescing, unknown
places, validators, pacing, the timezone fallback, events only for new
observations, and bad input."""
import concurrent.futures
import time

from nimbus_harness import http, procs, schema, testing

from api_common import ApiStack, ApiTestCase, now_ms, record


class Behaviour(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = ApiStack(fresh_ttl_s=600, api_args=["--negative-ttl-s", "120"])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        self.stack.sim.reset()

    def test_revalidation_after_a_stale_answer_gets_the_fresh_record(self):
        s, key = self.stack, "45.46,9.19"
        s.put_record(record(key, now_ms() - 3600_000))
        s.sim.latency(500, endpoint="forecast")  # the renewal is still in flight below
        first = s.weather(lat="45.46", lon="9.19")
        self.assertWeather(first, "STALE", "cache")
        etag = first.headers["ETag"]
        # The browser revalidates at once: it waits for the renewal in flight.
        again = s.weather(lat="45.46", lon="9.19",
                          headers={"Cache-Control": "no-cache", "If-None-Match": etag})
        doc = self.assertWeather(again, "MISS", "upstream")
        self.assertEqual(doc["freshness"]["state"], "fresh")
        self.assertNotEqual(doc["current"]["temperature"], 42.4)
        self.assertNotEqual(again.headers["ETag"], etag)
        self.assertRegex(again.headers["Cache-Status"], r"fwd=stale; fwd-status=200")
        self.assertEqual(s.sim.counters()["forecast"], 1,
                         "the revalidation joined the renewal: one upstream call")
        # A conditional request with the new validator: 304, still no upstream call.
        nm = s.weather(lat="45.46", lon="9.19", headers={"If-None-Match": again.headers["ETag"]})
        self.assertEqual(nm.status, 304)
        self.assertEqual(nm.body, b"")
        self.assertEqual(nm.headers["ETag"], again.headers["ETag"])
        self.assertEqual(s.sim.counters()["forecast"], 1)

    def test_burst_of_200_for_a_new_place_makes_one_call_of_each_kind(self):
        s = self.stack
        s.sim.latency(300)  # keep the first fetch in flight while the burst arrives

        def ask(_):
            return s.weather(city="Kraków", timeout=30)
        with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
            answers = list(pool.map(ask, range(200)))
        statuses = sorted({a.status for a in answers})
        self.assertEqual(statuses, [200], [a.body[:200] for a in answers if a.status != 200][:3])
        for a in answers[:5]:
            schema.validate(a.json(), "weather")
        self.assertEqual({a.json()["location"]["key"] for a in answers}, {"50.06,19.94"})
        self.assertEqual(s.sim.counters(), {"forecast": 1, "search": 1})

    def test_unknown_place_is_404_and_remembered(self):
        s = self.stack
        r = s.weather(city="Qwxzyv Nowhere")
        self.assertEqual(r.status, 404, r.text())
        schema.validate(r.json(), "error")
        self.assertIn("qwxzyv nowhere", r.json()["reason"])
        self.assertEqual(s.sim.counters()["search"], 1)
        again = s.weather(city="qwxzyv   NOWHERE")
        self.assertEqual(again.status, 404)
        self.assertEqual(s.sim.counters()["search"], 1, "a repeat does not call the geocoder")
        # ... also after a restart of the api: the "not found" entry is in persistence.
        s.api.stop()
        s.api.start()
        self.assertEqual(s.weather(city="Qwxzyv Nowhere").status, 404)
        self.assertEqual(s.sim.counters()["search"], 1)

    def test_renewal_with_the_same_observation_publishes_nothing(self):
        # A private api with a 2 s freshness, and the simulator's clock in the
        # middle of a 15-minute step, so no step boundary falls inside the test.
        s = self.stack
        s.sim.clock(450 - int(time.time()) % 900)
        port = procs.free_port()
        argv = list(s.api_argv)
        argv[argv.index("--port") + 1] = str(port)
        argv[argv.index("--fresh-ttl-s") + 1] = "2"
        quick = procs.Daemon("api-quick", argv, ready_url="http://127.0.0.1:%d/readyz" % port,
                             tmpdir=s.tmpdir)
        quick.start()
        try:
            url = "http://127.0.0.1:%d/v1/weather?lat=41.39&lon=2.17" % port
            key = "41.39,2.17"
            self.assertEqual(http.request("GET", url).status, 200)
            s.wait_events(key, 1)
            procs.wait_until(lambda: (s.pg_fetched_at(key) or 0) > 0, 20, what="first write")
            first = s.pg_fetched_at(key)
            procs.wait_until(lambda: http.request("GET", url).headers.get("X-Cache") == "STALE",
                             10, interval=0.2, what="the record going stale")
            procs.wait_until(lambda: (s.pg_fetched_at(key) or 0) > first, 20,
                             what="the renewal stored")
            self.assertEqual(s.sim.counters()["forecast"], 2)
            self.assertEqual(len(s.events_for(key)), 1, "same observation time: no event")
            # The next 15-minute step is a new observation: one more event.
            s.sim.clock(450 - int(time.time()) % 900 + 900)
            second = s.pg_fetched_at(key)
            procs.wait_until(lambda: http.request("GET", url).headers.get("X-Cache") == "STALE",
                             10, interval=0.2, what="the record going stale again")
            procs.wait_until(lambda: (s.pg_fetched_at(key) or 0) > second, 20,
                             what="the second renewal stored")
            events = s.wait_events(key, 2)
            self.assertEqual(len(events), 2)
            self.assertNotEqual(events[0]["observation"]["time"], events[1]["observation"]["time"])
            self.assertEqual(len({e["id"] for e in events}), 2)
        finally:
            self.assertEqual(quick.stop(timeout=20), 0, "the api exits 0 on SIGTERM")
            s.sim.clock(0)

    def test_invalid_timezone_falls_back_to_gmt(self):
        s = self.stack
        s.sim.fault("invalid_timezone", 1, endpoint="forecast")
        r = s.weather(lat="-40.00", lon="-120.00")
        doc = self.assertWeather(r, "MISS", "upstream")
        self.assertEqual(doc["location"]["timezone"], "GMT")
        self.assertEqual(s.sim.counters()["forecast"], 2, "asked once with auto, once with GMT")

    def test_bad_input_is_400_with_a_reason(self):
        s = self.stack
        cases = [
            ("city=", "empty"),
            ("city=%20%20", "empty"),
            ("city=" + "a" * 201, "200"),
            ("city=Ber%FFlin", "UTF-8"),
            ("city=Berlin&lat=1&lon=2", "not both"),
            ("", "missing"),
            ("lat=52.5", "together"),
            ("lat=abc&lon=13", "lat"),
            ("lat=52&lon=13x", "lon"),
            ("lat=91&lon=13", "lat"),
            ("lat=52&lon=-181", "lon"),
            ("lat=nan&lon=13", "lat"),
            ("city=Berlin&days=0", "days"),
            ("city=Berlin&days=17", "days"),
            ("city=Berlin&days=two", "days"),
        ]
        for query, reason in cases:
            r = http.request("GET", s.url + "/v1/weather?" + query)
            self.assertEqual(r.status, 400, "%s -> %s" % (query, r.text()))
            body = r.json()
            schema.validate(body, "error")
            self.assertIn(reason, body["reason"], query)
        self.assertEqual(s.sim.counters(), {"forecast": 0, "search": 0})

    def test_writes_wait_for_persistence_to_come_back(self):
        # persistence down: the api still answers from the upstream, keeps the
        # write and retries it until persistence is back; nothing is lost.
        s = self.stack
        retries = s.metric("nimbus_store_write_retries_total")
        s.persistence.stop()
        try:
            r = s.weather(lat="37.98", lon="23.73")
            self.assertWeather(r, "MISS", "upstream")
            ready = http.request("GET", s.url + "/readyz")
            self.assertEqual(ready.status, 503)
            self.assertEqual(ready.json()["persistence"], "down")
            procs.wait_until(lambda: s.metric("nimbus_store_write_retries_total") > retries, 10,
                             what="the api retrying the write")
            self.assertGreaterEqual(s.metric("nimbus_store_write_queue_depth"), 1)
        finally:
            s.persistence.start()
        procs.wait_until(lambda: s.pg_record("37.98,23.73") is not None, 30,
                         what="the retried write in PostgreSQL")
        self.assertEqual(s.pg_record("37.98,23.73")["fetched_at"], r.json()["fetched_at"])
        self.assertEqual(s.metric('nimbus_store_writes_total{result="lost"}'), 0)

    def test_metrics_and_readiness(self):
        s = self.stack
        ready = http.request("GET", s.url + "/readyz")
        self.assertEqual(ready.status, 200)
        self.assertEqual(ready.json()["persistence"], "up")
        body = http.request("GET", s.url + "/metrics").text()
        for name in ("nimbus_api_answers_total", "nimbus_upstream_calls_total",
                     "nimbus_upstream_errors_total", "nimbus_upstream_pace_rejections_total",
                     "nimbus_fetch_queue_depth", "nimbus_events_total",
                     "nimbus_http_request_duration_seconds_bucket"):
            self.assertIn(name, body)


class Pacing(ApiTestCase):
    """Past the pace limit, stale data is still served and misses get 503."""

    @classmethod
    def setUpClass(cls):
        cls.stack = ApiStack(api_args=["--upstream-pace-per-min", "1"])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_pace_limit(self):
        s = self.stack
        s.sim.reset()
        s.put_record(record("59.33,18.07", now_ms() - 3600_000))
        first = s.weather(lat="59.91", lon="10.75")  # spends the only token
        self.assertWeather(first, "MISS", "upstream")
        miss = s.weather(lat="60.17", lon="24.94")
        self.assertEqual(miss.status, 503, miss.text())
        schema.validate(miss.json(), "error")
        self.assertEqual(miss.json()["error"], "rate_limited")
        self.assertGreaterEqual(int(self.assertHeader(miss, "Retry-After")), 1)
        stale = s.weather(lat="59.33", lon="18.07")
        self.assertWeather(stale, "STALE", "cache")
        self.assertEqual(s.sim.counters()["forecast"], 1)
        self.assertGreaterEqual(s.metric("nimbus_upstream_pace_rejections_total"), 1)


if __name__ == "__main__":
    testing.main()
