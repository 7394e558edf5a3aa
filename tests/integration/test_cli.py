"""Every nimbus program answers the command line the same way (the one service
skeleton, libcommon/service.h): --help prints every setting and exits 0; an
unknown flag, a value out of range or a bad log level exits 2 with a reason on
stderr naming the setting, and starts nothing (no port is opened)."""
import subprocess

from nimbus_harness import procs, testing

PROGRAMS = ["nimbus-front", "nimbus-api", "nimbus-persistence", "nimbus-notifier",
            "weather-sim", "kafka-dev-broker"]


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


if __name__ == "__main__":
    testing.main()
