"""testing — run an integration test file as a plain unittest module.

    from nimbus_harness import testing
    class T(testing.TestCase): ...
    if __name__ == "__main__":
        testing.main()

main() runs the module's tests verbosely, prints unittest's summary and exits
0 when everything passed, 1 on any failure or error, and SKIP_CODE (77, which
CMake registers as SKIP_RETURN_CODE) when every test was skipped, so ctest shows
"Skipped" for a component that is not built yet. On failure it prints the log
tail of every daemon the tests started.
"""
import os
import sys
import unittest

from . import procs

SKIP_CODE = 77


def require_binary(*names):
    """Skips the calling test (or setUpClass) when a build binary is missing."""
    missing = [procs.binary(n) for n in names if not procs.have_binary(n)]
    if missing:
        raise unittest.SkipTest("not built yet: " + ", ".join(missing))


class TestCase(unittest.TestCase):
    """unittest.TestCase with a few assertions the suite keeps needing."""

    def assertHeader(self, resp, name, expected=None):
        v = resp.headers.get(name)
        self.assertIsNotNone(v, "response has no %s header; headers: %s"
                             % (name, dict(resp.headers)))
        if expected is not None:
            self.assertEqual(v, expected, "header %s" % name)
        return v

    def assertStatus(self, resp, status):
        self.assertEqual(resp.status, status, "status %d (expected %d), body: %r"
                         % (resp.status, status, resp.body[:500]))


def main(module="__main__"):
    argv = [sys.argv[0]] + [a for a in sys.argv[1:]]
    prog = unittest.main(module=module, argv=argv, verbosity=2, exit=False)
    result = prog.result
    ok = result.wasSuccessful()
    if not ok:
        _print_daemon_logs()
    if ok and result.testsRun > 0 and len(result.skipped) == result.testsRun:
        print("all %d test(s) skipped" % result.testsRun)
        code = SKIP_CODE
    elif ok and result.testsRun == 0 and result.skipped:
        code = SKIP_CODE  # setUpClass skipped the whole class
    else:
        code = 0 if ok else 1
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


def _print_daemon_logs():
    seen = set()
    for p in list(procs._live) + list(procs._ended):
        if p.logfile in seen or not os.path.exists(p.logfile):
            continue
        seen.add(p.logfile)
        print("---- log tail of %s (pid %d, %s) ----" % (p.name, p.pid, p.logfile),
              file=sys.stderr)
        print(p.log_tail(60), file=sys.stderr)
