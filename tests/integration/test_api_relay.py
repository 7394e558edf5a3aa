"""The outbox relay across api processes: events claimed by an api that is
killed (SIGKILL) during a Kafka outage are delivered by the next api once the
claims' lease ends and the broker is back; two api replicas relaying from one
persistence deliver every event (at least once, in practice once). Events are
counted by id and by (key, observation time)."""
import collections

from nimbus_harness import http, procs, testing

from api_common import ApiStack, ApiTestCase

LEASE_MS = 3000


def count(events):
    """(messages per id, ids per (key, observation time))"""
    by_id = collections.Counter(ev["id"] for ev in events)
    by_obs = collections.defaultdict(set)
    for ev in events:
        by_obs[(ev["key"], ev["observation"]["time"])].add(ev["id"])
    return by_id, by_obs


class Relay(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        testing.require_binary("kafka-dev-broker")
        cls.broker = procs.KafkaBroker()  # private: taken down below
        cls.broker.start()
        cls.stack = ApiStack(kafka=cls.broker, api_args=["--relay-lease-ms", str(LEASE_MS)])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.broker.stop()

    def test_sigkill_during_an_outage_loses_nothing(self):
        s = self.stack
        s.sim.reset()
        self.broker.down()
        try:
            keys = ["55.%02d,9.00" % i for i in range(3)]
            for k in keys:
                lat, lon = k.split(",")
                self.assertWeather(s.weather(lat=lat, lon=lon), "MISS", "upstream")
            procs.wait_until(lambda: s.outbox_pending() == 3, 10,
                             what="3 new observations stored with their events")
            procs.wait_until(lambda: s.metric("nimbus_events_pending") >= 1, 10,
                             what="the api holding claimed events")
            s.api.kill()  # SIGKILL: no release, no flush
            s.api.start()  # a new api
        finally:
            self.broker.up()
        events = s.wait_keys_events(keys)
        procs.wait_until(lambda: s.outbox_pending() == 0, 30, what="every event marked sent")
        by_id, by_obs = count(events)
        print("after SIGKILL: %d events, %d messages" % (len(by_id), sum(by_id.values())))
        self.assertEqual(len(by_obs), 3)
        for obs, ids in by_obs.items():
            self.assertEqual(len(ids), 1, "one event per observation: %s" % (obs,))

    def test_two_replicas_deliver_every_event(self):
        s = self.stack
        s.sim.reset()
        argv = list(s.api_argv)
        port = procs.free_port()
        argv[argv.index("--port") + 1] = str(port)
        other = procs.Daemon("api-replica", argv, ready_url="http://127.0.0.1:%d/readyz" % port,
                             tmpdir=s.tmpdir)
        other.start()
        try:
            keys = ["56.%02d,9.00" % i for i in range(30)]
            for i, k in enumerate(keys):
                lat, lon = k.split(",")
                base = s.url if i % 2 == 0 else "http://127.0.0.1:%d" % port
                r = http.request("GET", base + "/v1/weather?lat=%s&lon=%s" % (lat, lon),
                                 timeout=30)
                self.assertEqual(r.status, 200, r.text())
            s.wait_keys_events(keys)
            procs.wait_until(lambda: s.outbox_pending() == 0, 30, what="every event marked sent")
            body = http.request("GET", "http://127.0.0.1:%d/metrics" % port).text()
            acked_other = sum(float(x.rsplit(" ", 1)[1]) for x in body.splitlines()
                              if x.startswith('nimbus_events_total{result="acked"}'))
        finally:
            self.assertEqual(other.stop(timeout=20), 0)
        by_id, by_obs = count(s.wait_keys_events(keys))
        dups = sum(by_id.values()) - len(by_id)
        print("two replicas: %d events, %d duplicate messages; the replica acked %d"
              % (len(by_id), dups, acked_other))
        self.assertEqual(len(by_obs), 30)
        for obs, ids in by_obs.items():
            self.assertEqual(len(ids), 1, "one event per observation: %s" % (obs,))
        self.assertLessEqual(dups, 2, "at least once, in practice once")


if __name__ == "__main__":
    testing.main()
