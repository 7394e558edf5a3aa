"""Every hop an HTTP cache: the api keeps persistence's record answers as
persistence's Cache-Control allows (RFC 9111), against real Redis, PostgreSQL,
the dev Kafka broker and the weather simulator.

persistence here says max-age=5 (--record-max-age-s 5), so what happens
within and after the max-age is visible without racing the clock. Requests
that reach persistence are counted from persistence's own metrics
(nimbus_http_requests_total of its "records" route)."""
import time

from nimbus_harness import http, procs, testing

from api_common import ApiStack, ApiTestCase, now_ms, record

MAX_AGE_S = 5


class NearCache(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = ApiStack(persistence_args=["--record-max-age-s", str(MAX_AGE_S)])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        self.stack.sim.reset()

    # --- helpers ------------------------------------------------------------
    def persistence_gets(self):
        """Record requests persistence has answered 2xx or 3xx (the tests make
        no PUT while they count)."""
        s = self.stack
        return (s.metric('nimbus_http_requests_total{route="records",code="2xx"}',
                         s.persistence_url)
                + s.metric('nimbus_http_requests_total{route="records",code="3xx"}',
                           s.persistence_url))

    def second_api(self, *args):
        """Another api process on the same persistence (a replica)."""
        s, port = self.stack, procs.free_port()
        argv = list(s.api_argv)
        argv[argv.index("--port") + 1] = str(port)
        api = procs.Daemon("api-%d" % port, argv + list(args),
                           ready_url="http://127.0.0.1:%d/readyz" % port, tmpdir=s.tmpdir)
        api.start()
        self.addCleanup(api.stop)
        return api, "http://127.0.0.1:%d" % port

    def weather_at(self, url, key, headers=None):
        lat, lon = key.split(",")
        return http.request("GET", "%s/v1/weather?lat=%s&lon=%s" % (url, lat, lon),
                            headers=headers, timeout=30)

    # --- persistence's side -------------------------------------------------
    def test_persistence_answers_say_how_long_to_keep_them(self):
        s, key = self.stack, "47.07,15.44"
        s.put_record(record(key, now_ms() - 60_000))
        url = s.persistence_url + "/v1/records/" + key
        r = http.request("GET", url)
        self.assertStatus(r, 200)
        self.assertHeader(r, "Cache-Control", "max-age=%d" % MAX_AGE_S)
        etag = self.assertHeader(r, "ETag")
        again = http.request("GET", url, headers={"If-None-Match": etag})
        self.assertStatus(again, 304)
        self.assertHeader(again, "Cache-Control", "max-age=%d" % MAX_AGE_S)
        self.assertHeader(again, "ETag", etag)
        # weak comparison (RFC 9110): W/"v" names the same version
        self.assertStatus(http.request("GET", url, headers={"If-None-Match": "W/" + etag}), 304)

    # --- the api's side -----------------------------------------------------
    def test_a_copy_is_reused_within_the_max_age(self):
        s, key = self.stack, "48.31,16.27"
        s.put_record(record(key, now_ms() - 60_000))
        first = self.weather_at(s.url, key)
        self.assertWeather(first, "HIT", "cache")
        before = self.persistence_gets()
        for _ in range(20):
            r = self.weather_at(s.url, key)
            doc = self.assertWeather(r, "HIT", "cache")
            self.assertEqual(doc["current"]["temperature"], 42.4)
            self.assertGreaterEqual(int(r.headers["Age"]), 60)  # the record's age, per answer
        self.assertEqual(self.persistence_gets(), before, "answered from the api's copy")

    def test_a_clients_no_cache_reaches_persistence(self):
        s, key = self.stack, "50.08,14.44"
        s.put_record(record(key, now_ms() - 60_000))
        self.assertWeather(self.weather_at(s.url, key), "HIT", "cache")
        reads = s.metric('nimbus_record_reads_total{via="not_modified"}')
        for headers in ({"Cache-Control": "no-cache"}, {"Cache-Control": "max-age=0"},
                        {"Pragma": "no-cache"}):
            before = self.persistence_gets()
            self.assertWeather(self.weather_at(s.url, key, headers), "HIT", "cache")
            self.assertEqual(self.persistence_gets(), before + 1, "%s reached persistence" % headers)
        # conditional GETs that persistence answered 304: the copy was still its version
        self.assertEqual(s.metric('nimbus_record_reads_total{via="not_modified"}'), reads + 3)

    def test_a_304_refreshes_the_copys_age(self):
        s, key = self.stack, "52.23,21.01"
        s.put_record(record(key, now_ms() - 60_000))
        self.assertWeather(self.weather_at(s.url, key), "HIT", "cache")
        confirmed = s.metric('nimbus_record_reads_total{via="not_modified"}')
        gets = self.persistence_gets()
        # Once the max-age has passed, the next request revalidates: a 304.
        procs.wait_until(
            lambda: self.weather_at(s.url, key).status == 200 and self.persistence_gets() > gets,
            MAX_AGE_S + 20, interval=0.1, what="a request revalidating the copy")
        self.assertEqual(s.metric('nimbus_record_reads_total{via="not_modified"}'), confirmed + 1)
        # ... which made the copy good for another max-age: no request now.
        gets = self.persistence_gets()
        for _ in range(5):
            self.assertWeather(self.weather_at(s.url, key), "HIT", "cache")
        self.assertEqual(self.persistence_gets(), gets)

    def test_renewed_through_one_replica_served_fresh_by_another_within_the_max_age(self):
        s, key = self.stack, "49.45,11.08"
        old = now_ms() - 120_000  # fresh for the stack's api (600 s), stale for a 60 s one
        s.put_record(record(key, old))
        b_url = s.url
        self.assertWeather(self.weather_at(b_url, key), "HIT", "cache")  # b keeps a copy
        _, a_url = self.second_api("--fresh-ttl-s", "60")
        self.assertWeather(self.weather_at(a_url, key), "STALE", "cache")  # a renews it
        procs.wait_until(lambda: (s.pg_fetched_at(key) or 0) > old and s.redis_record(key),
                         20, what="a's renewal stored")
        stored_at = time.monotonic()
        renewed = s.pg_record(key)
        reads_before = s.metric('nimbus_persistence_calls_total{op="get_record"}')
        answers = []

        def b_serves_the_renewal():
            r = self.weather_at(b_url, key)
            answers.append(r)
            return r.status == 200 and r.json()["fetched_at"] == renewed["fetched_at"]
        procs.wait_until(b_serves_the_renewal, MAX_AGE_S + 20, interval=0.05,
                         what="the other api serving the renewed record")
        took = time.monotonic() - stored_at
        doc = self.assertWeather(answers[-1], "HIT", "cache")
        self.assertEqual(doc["freshness"]["state"], "fresh")
        self.assertEqual(doc["current"]["temperature"], renewed["current"]["temperature"])
        # within the max-age (plus the time a loaded machine takes to answer)
        self.assertLess(took, MAX_AGE_S + 3, "b took %.1f s to see the renewal" % took)
        # b asked persistence once or twice meanwhile, not once per request
        reads = s.metric('nimbus_persistence_calls_total{op="get_record"}') - reads_before
        self.assertLessEqual(reads, 2, "%d reads for %d requests" % (reads, len(answers)))
        self.assertEqual(s.sim.counters()["forecast"], 1, "only a fetched it")

    def test_the_near_cache_memory_is_bounded(self):
        s = self.stack
        _, url = self.second_api("--near-cache-mb", "1")
        keys = ["%d.%02d,%d.25" % (10 + i // 100, i % 100, 20 + i % 7) for i in range(400)]
        for key in keys:
            s.put_record(record(key, now_ms() - 60_000))
        cap = 1 << 20
        for i, key in enumerate(keys):
            self.assertEqual(self.weather_at(url, key).status, 200)
            if i % 50 == 49:
                self.assertLessEqual(s.metric("nimbus_near_cache_bytes", url), cap)
        self.assertEqual(s.metric("nimbus_near_cache_max_bytes", url), cap)
        self.assertGreater(s.metric("nimbus_near_cache_evictions_total", url), 0)
        kept = s.metric("nimbus_near_cache_entries", url)
        self.assertTrue(10 < kept < 400, kept)


if __name__ == "__main__":
    testing.main()
