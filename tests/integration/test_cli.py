"""Every nimbus program answers the command line the same way (the one service
skeleton, libcommon/service.h): --help prints every setting and exits 0; an
unknown flag, a value out of range or a bad log level exits 2 with a reason on
stderr naming the setting, and starts nothing (no port is opened). The HTTP
daemons also exit 2 for a --bind that is not an address, 1 when a part cannot
start (their port is taken), and 0 after SIGTERM once started."""
import signal
import socket
import subprocess

from nimbus_harness import procs, testing

PROGRAMS = ["nimbus-front", "nimbus-api", "nimbus-persistence", "nimbus-notifier",
            "weather-sim", "kafka-dev-broker"]



def nothing_there():
    """An address where nothing listens (connections are refused at once)."""
    return "127.0.0.1:%d" % procs.free_port()


def http_daemons():
    """The programs serving HTTP on nb_server, with flags that point every
    client at a port where nothing listens (each starts without the others and
    touches no one's Redis, PostgreSQL, Kafka or mail server)."""
    return {
        "nimbus-front": ["--api-url", "http://" + nothing_there()],
        "nimbus-api": ["--kafka-brokers=", "--persistence-url", "http://" + nothing_there(),
                       "--forecast-url", "http://%s/v1/forecast" % nothing_there(),
                       "--geocoding-url", "http://%s/v1/search" % nothing_there()],
        "nimbus-persistence": ["--redis-url", "redis://%s/0" % nothing_there(),
                               "--postgres-dsn",
                               "host=127.0.0.1 port=%d dbname=nimbus user=nimbus "
                               "connect_timeout=1" % procs.free_port()],
        "nimbus-notifier": ["--kafka-brokers", nothing_there(),
                            "--persistence-url", "http://" + nothing_there(),
                            "--smtp-url", "smtp://" + nothing_there()],
    }


class CommandLineTest(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        testing.require_binary(*PROGRAMS)

    def run_prog(self, name, *args):
        return subprocess.run([procs.binary(name), *args], capture_output=True, text=True,
                              timeout=30)

    def test_help_lists_the_settings_and_exits_0(self):
        for name in PROGRAMS:
            with self.subTest(name):
                r = self.run_prog(name, "--help")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("--log-level", r.stdout)
                self.assertIn("NIMBUS_LOG_LEVEL", r.stdout)

    def test_bad_flags_and_values_exit_2_with_the_reason(self):
        for name in PROGRAMS:
            with self.subTest(name):
                r = self.run_prog(name, "--no-such-flag")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("no-such-flag", r.stderr)
                r = self.run_prog(name, "--log-level", "loud")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("loud", r.stderr)

    def test_a_server_setting_out_of_range_exits_2(self):
        for name in PROGRAMS[:-1]:  # the dev broker has no HTTP port
            with self.subTest(name):
                r = self.run_prog(name, "--port", "70000")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("port", r.stderr)

    def test_front_takes_its_body_limits_as_settings(self):
        r = self.run_prog("nimbus-front", "--help")
        self.assertIn("--body-cap", r.stdout)
        self.assertIn("--api-body-cap", r.stdout)
        r = self.run_prog("nimbus-front", "--body-cap", "10")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("body-cap", r.stderr)

    def test_the_dev_brokers_own_rules_exit_2_with_the_reason(self):
        for args, reason in [(["--topic", ","], "no topic"),
                             (["--forward", nothing_there()], "--forward needs"),
                             (["--forward", nothing_there(), "--listen", nothing_there(),
                               "--brokers", "2"], "--forward needs")]:
            with self.subTest(args=args):
                r = self.run_prog("kafka-dev-broker", *args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(reason, r.stderr)

    def test_notifier_takes_its_body_limit_as_a_setting(self):
        r = self.run_prog("nimbus-notifier", "--help")
        self.assertIn("--body-cap", r.stdout)
        self.assertIn("NIMBUS_BODY_CAP", r.stdout)
        r = self.run_prog("nimbus-notifier", "--body-cap", "-1")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("body-cap", r.stderr)

    def test_a_bind_that_is_not_an_address_exits_2(self):
        for name, args in http_daemons().items():
            with self.subTest(name):
                r = self.run_prog(name, *args, "--port", "0", "--bind", "not-an-address")
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn("not-an-address", r.stdout + r.stderr)

    def test_a_port_in_use_exits_1_with_the_reason(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            for name, args in http_daemons().items():
                with self.subTest(name):
                    r = self.run_prog(name, *args, "--port", str(port))
                    out = r.stdout + r.stderr
                    self.assertEqual(r.returncode, 1, out)
                    self.assertIn("%d" % port, out)
                    self.assertIn("in use", out)

    def test_sigterm_after_a_start_exits_0(self):
        for name, args in http_daemons().items():
            with self.subTest(name):
                port = procs.free_port()
                d = procs.Daemon(name, [procs.binary(name), *args, "--port", str(port)],
                                 ready_port=port, tmpdir=procs.scratch_dir(name)).start()
                self.assertEqual(d.proc.stop(signal.SIGTERM, timeout=30), 0, d.log_tail())
                self.assertTrue(any(line.get("msg") == "stopped" for line in d.log_json()),
                                d.log_tail())


if __name__ == "__main__":
    testing.main()
