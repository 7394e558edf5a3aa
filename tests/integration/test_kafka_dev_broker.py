#!/usr/bin/python3
"""test_kafka_dev_broker.py — the dev Kafka broker behaves like a Kafka broker.

Proves with kcat (a real Kafka client, another process) that:
- a message produced to the topic can be consumed with its key;
- after SIGUSR1 the broker refuses clients, after SIGUSR2 it serves again, and
  messages produced before the outage are still there, followed by new ones;
- the bootstrap file appears only once the topic exists and holds the same
  bootstrap string the broker prints; several topics and partitions work;
- SIGTERM ends it with exit code 0;
- with --listen/--advertise (how it runs in a container) clients reach it
  through the relay only under the advertised name, and producing and consuming
  work through it; bad --listen/--advertise values fail with a reason.
Each test starts a private broker (they take it down).
"""
import json
import os
import signal
import subprocess
import unittest

from nimbus_harness import procs, testing
from nimbus_harness.procs import KafkaBroker, wait_until

TOPIC = "weather.notifications"


def kcat_metadata_ok(bootstrap, timeout_s=2):
    """True when kcat gets metadata from the broker within timeout_s."""
    r = subprocess.run(["kcat", "-L", "-b", bootstrap, "-m", str(timeout_s), "-q"],
                       capture_output=True, timeout=timeout_s + 10)
    return r.returncode == 0


class KafkaDevBrokerTest(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        testing.require_binary("kafka-dev-broker")

    def setUp(self):
        self.broker = KafkaBroker(topic=TOPIC).start()

    def tearDown(self):
        self.broker.kill()

    def test_produced_message_is_consumed_with_key(self):
        self.broker.produce('{"hello":"world"}', key="52.52,13.41")
        msgs = self.broker.consume(count=1, timeout=20)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(msgs[0]["key"], "52.52,13.41")
        self.assertEqual(msgs[0]["value"], '{"hello":"world"}')
        self.assertEqual(msgs[0]["offset"], 0)

    def test_messages_survive_down_up_cycle(self):
        self.broker.produce("before", key="k1")
        self.assertEqual([m["value"] for m in self.broker.consume(count=1)], ["before"])

        self.broker.down()
        self.assertFalse(kcat_metadata_ok(self.broker.bootstrap),
                         "broker still answers metadata requests while down")

        self.broker.up()
        wait_until(lambda: kcat_metadata_ok(self.broker.bootstrap), 20,
                   what="broker to answer metadata after up()")
        self.broker.produce("after", key="k2")
        msgs = self.broker.consume(count=2, timeout=20)
        self.assertEqual([(m["key"], m["value"], m["offset"]) for m in msgs],
                         [("k1", "before", 0), ("k2", "after", 1)])

        log = self.broker.proc.log_text()
        self.assertIn('"event":"brokers_down"', log)
        self.assertIn('"event":"brokers_up"', log)

    def test_sigterm_exits_zero(self):
        self.assertEqual(self.broker.stop(), 0, self.broker.proc.log_tail())


class KafkaDevBrokerOptionsTest(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        testing.require_binary("kafka-dev-broker")

    def test_bootstrap_printed_and_written_for_several_topics(self):
        tmp = procs.scratch_dir("kdb")
        bfile = os.path.join(tmp, "bootstrap")
        p = subprocess.Popen([procs.binary("kafka-dev-broker"), "--topic", "a,b", "--topic", "c",
                              "--partitions", "3", "--brokers", "2", "--bootstrap-file", bfile],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            line = p.stdout.readline().decode().strip()  # bounded by the ctest timeout
            self.assertTrue(line.startswith("bootstrap="), line)
            bootstrap = line[len("bootstrap="):]
            self.assertEqual(len(bootstrap.split(",")), 2, bootstrap)
            with open(bfile) as f:  # written before the line was printed
                self.assertEqual(f.read().strip(), bootstrap)
            r = subprocess.run(["kcat", "-L", "-J", "-b", bootstrap, "-m", "5", "-q"],
                               capture_output=True, timeout=30, check=True)
            md = json.loads(r.stdout)
            parts = {t["topic"]: len(t["partitions"]) for t in md["topics"]}
            for t in ("a", "b", "c"):
                self.assertEqual(parts.get(t), 3, "topic %s in %s" % (t, parts))
            self.assertEqual(len(md["brokers"]), 2)
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(15), 0)
            p.stdout.close()

    def test_relay_advertises_the_given_name(self):
        port = procs.free_port()
        p = subprocess.Popen([procs.binary("kafka-dev-broker"), "--partitions", "2",
                              "--listen", "127.0.0.1:%d" % port,
                              "--advertise", "localhost:%d" % port],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            line = p.stdout.readline().decode().strip()
            self.assertEqual(line, "bootstrap=localhost:%d" % port)
            r = subprocess.run(["kcat", "-L", "-J", "-b", "127.0.0.1:%d" % port, "-m", "5", "-q"],
                               capture_output=True, timeout=30, check=True)
            md = json.loads(r.stdout)
            # The mock broker's own loopback port is not what clients are told.
            self.assertEqual([b["name"] for b in md["brokers"]], ["localhost:%d" % port])
            # A client following that name produces and consumes through the relay.
            subprocess.run(["kcat", "-P", "-b", "localhost:%d" % port, "-t", TOPIC, "-k", "k1"],
                           input=b"through-the-relay", timeout=30, check=True)
            r = subprocess.run(["kcat", "-C", "-J", "-q", "-e", "-o", "beginning", "-b",
                                "localhost:%d" % port, "-t", TOPIC, "-m", "10"],
                               capture_output=True, timeout=60, check=True)
            msgs = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
            self.assertEqual([(m["key"], m["payload"]) for m in msgs], [("k1", "through-the-relay")])
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(15), 0)
            p.stdout.close()

    def test_bad_relay_settings_fail_with_a_reason(self):
        cases = [
            (["--listen", "0.0.0.0:0"], "--advertise"),
            (["--listen", "127.0.0.1:0,127.0.0.1:0"], "more addresses than brokers"),
            (["--listen", "127.0.0.1"], "not host:port"),
            (["--listen", "127.0.0.1:0", "--advertise", "kafka:99999"], "not host:port"),
        ]
        for args, reason in cases:
            with self.subTest(args=args):
                r = subprocess.run([procs.binary("kafka-dev-broker"), *args],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(reason, r.stderr)

    def test_unknown_flag_fails(self):
        r = subprocess.run([procs.binary("kafka-dev-broker"), "--no-such-flag"],
                           capture_output=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    testing.main()
