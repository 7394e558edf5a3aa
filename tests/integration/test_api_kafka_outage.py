"""Kafka down: the api keeps answering, events wait in persistence's outbox and
every one is delivered once the broker is back — also when the api is stopped
(SIGTERM) during the outage and another api takes over."""
import time

from nimbus_harness import http, procs, testing

from api_common import ApiStack, ApiTestCase

OUTAGE_S = 10


def ids_by_observation(events):
    """{(key, observation time): {event ids}}"""
    out = {}
    for ev in events:
        out.setdefault((ev["key"], ev["observation"]["time"]), set()).add(ev["id"])
    return out


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

    def new_keys(self, prefix, n):
        s = self.stack
        keys = ["%s.%02d,8.00" % (prefix, i) for i in range(n)]
        for k in keys:
            lat, lon = k.split(",")
            self.assertWeather(s.weather(lat=lat, lon=lon), "MISS", "upstream")
        return keys

    def test_1_events_survive_a_broker_outage(self):
        s = self.stack
        s.sim.reset()
        warm = s.weather(lat="47.37", lon="8.54")  # connects the producer before the outage
        self.assertWeather(warm, "MISS", "upstream")
        s.wait_events("47.37,8.54", 1)
        procs.wait_until(lambda: s.metric('nimbus_events_total{result="acked"}') == 1, 10,
                         what="the first event marked sent")

        self.broker.down()
        try:
            t0 = time.monotonic()
            keys = self.new_keys("47", 3)
            procs.wait_until(lambda: s.outbox_pending() == 3, 10,
                             what="3 events waiting in the outbox")
            # The whole outage long, the api keeps answering.
            while time.monotonic() - t0 < OUTAGE_S:
                self.assertWeather(s.weather(lat="47.37", lon="8.54"), "HIT", "cache")
                self.assertEqual(http.request("GET", s.url + "/healthz").status, 200)
            self.assertEqual(s.metric('nimbus_events_total{result="acked"}'), 1)
            self.assertEqual(s.outbox_pending(), 3)
            self.assertGreaterEqual(s.metric("nimbus_relay_outbox_pending"), 3)
        finally:
            self.broker.up()
        events = s.wait_keys_events(keys, timeout=60)
        procs.wait_until(lambda: s.outbox_pending() == 0, 30, what="every event marked sent")
        self.assertEqual(s.metric('nimbus_events_total{result="acked"}'), 4)
        for obs, ids in ids_by_observation(events).items():
            self.assertEqual(len(ids), 1, "one event per observation: %s" % (obs,))

    def test_2_sigterm_during_an_outage_loses_nothing(self):
        s = self.stack
        s.sim.reset()
        claimed0 = s.metric('nimbus_events_total{result="claimed"}')
        self.broker.down()
        try:
            keys = self.new_keys("48", 3)
            procs.wait_until(lambda: s.outbox_pending() == 3, 10,
                             what="3 events waiting in the outbox")
            # One batch at a time: the relay holds what it claimed first until
            # Kafka reports (or the stop); the others wait unclaimed.
            procs.wait_until(lambda: s.metric("nimbus_events_pending") >= 1, 10,
                             what="the relay holding events it cannot deliver")
            held = s.metric("nimbus_events_pending")
            self.assertGreaterEqual(s.metric('nimbus_events_total{result="claimed"}') - claimed0,
                                    held)
            t0 = time.monotonic()
            rc = s.api.stop(timeout=20)
            took = time.monotonic() - t0
            print("SIGTERM with 3 events undeliverable: exit %s in %.2f s" % (rc, took))
            self.assertEqual(rc, 0)
            self.assertLess(took, 8.0)
            self.assertIn("%d undelivered events released for the next relay" % held,
                          s.api.log_text())
            self.assertEqual(s.outbox_pending(), 3, "unsent events stay in the outbox")
            s.api.start()  # a new api, as after a redeploy
        finally:
            self.broker.up()
        # The stopped api released its claims: the new one relays them at once,
        # without waiting for the 30 s lease to end.
        t0 = time.monotonic()
        events = s.wait_keys_events(keys, timeout=25)
        print("relayed by the next api %.1f s after the broker came back"
              % (time.monotonic() - t0))
        procs.wait_until(lambda: s.outbox_pending() == 0, 30, what="every event marked sent")
        for obs, ids in ids_by_observation(events).items():
            self.assertEqual(len(ids), 1, "one event per observation: %s" % (obs,))


if __name__ == "__main__":
    testing.main()
