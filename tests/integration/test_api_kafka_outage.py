"""Kafka down for 10 s then up: the api keeps answering, and every event
produced during the outage is delivered once the broker is back."""
import time

from nimbus_harness import http, procs, testing

from api_common import ApiStack, ApiTestCase

OUTAGE_S = 10


class KafkaOutage(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        testing.require_binary("kafka-dev-broker")
        cls.broker = procs.KafkaBroker()  # private: this test takes it down
        cls.broker.start()
        cls.stack = ApiStack(kafka=cls.broker)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.broker.stop()

    def test_events_survive_a_broker_outage(self):
        s = self.stack
        s.sim.reset()
        warm = s.weather(lat="47.37", lon="8.54")  # connects the producer before the outage
        self.assertWeather(warm, "MISS", "upstream")
        s.wait_events("47.37,8.54", 1)

        self.broker.down()
        t0 = time.monotonic()
        keys = ["47.%02d,8.00" % i for i in range(3)]
        for k in keys:
            lat, lon = k.split(",")
            self.assertWeather(s.weather(lat=lat, lon=lon), "MISS", "upstream")
        # The whole outage long, the api keeps answering.
        while time.monotonic() - t0 < OUTAGE_S:
            self.assertWeather(s.weather(lat="47.37", lon="8.54"), "HIT", "cache")
            self.assertEqual(http.request("GET", s.url + "/healthz").status, 200)
        self.assertEqual(s.metric('nimbus_events_total{result="produced"}'), 4)
        self.assertEqual(s.metric('nimbus_events_total{result="delivered"}'), 1)
        self.assertGreaterEqual(s.metric("nimbus_events_pending"), 3)

        self.broker.up()
        for k in keys:
            events = s.wait_events(k, 1, timeout=60)
            self.assertEqual(events[0]["key"], k)
        procs.wait_until(lambda: s.metric('nimbus_events_total{result="delivered"}') == 4, 30,
                         what="every delivery report")
        self.assertEqual(s.metric('nimbus_events_total{result="failed"}'), 0)
        self.assertEqual(s.metric("nimbus_events_pending"), 0)


if __name__ == "__main__":
    testing.main()
