"""bench/common.py — what the Python benchmarks share: the tools they need
(installed when missing), the build tree, wrk runs, CPU per request from
/proc, and the nimbus daemons started through the test harness (everything
is stopped at exit).

Not a benchmark itself: bench/api.py and bench/scale.py import it.
"""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# tool -> (where it may live, the Debian package that has it)
TOOLS = {
    "wrk": (["/usr/bin/wrk"], "wrk"),
    "nginx": (["/usr/sbin/nginx"], "nginx"),
    "redis-server": (["/usr/bin/redis-server"], "redis-server"),
    "redis-benchmark": (["/usr/bin/redis-benchmark"], "redis-tools"),
    "redis-cli": (["/usr/bin/redis-cli"], "redis-tools"),
    "postgres": (["/usr/lib/postgresql/15/bin/postgres"], "postgresql"),
}


def tool(name):
    """The path of a tool, or None."""
    for p in TOOLS[name][0]:
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


def need(*names):
    """Makes sure the tools are there: installs their Debian packages when run
    as root (apt-get), otherwise prints the exact command and exits."""
    missing = sorted({TOOLS[n][1] for n in names if not tool(n)})
    if not missing:
        return
    line = "apt-get -o DPkg::Lock::Timeout=600 install -y " + " ".join(missing)
    if os.geteuid() != 0:
        raise SystemExit("%s: missing %s; install with:\n  sudo apt-get update && sudo %s"
                         % (os.path.basename(sys.argv[0]), ", ".join(missing), line))
    print("installing %s" % " ".join(missing), flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "update"], check=True, env=env)
    subprocess.run(line.split(), check=True, env=env)
    still = [n for n in names if not tool(n)]
    if still:
        raise SystemExit("still missing after apt-get: %s" % ", ".join(still))


def use_build(argv):
    """Points the harness at the build tree named on the command line (default
    build/) and returns its path."""
    build = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(ROOT, "build"))
    os.environ["NIMBUS_BUILD_DIR"] = build
    os.environ["NIMBUS_SOURCE_DIR"] = ROOT
    sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
    cache = os.path.join(build, "CMakeCache.txt")
    btype = ""
    if os.path.exists(cache):
        m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(\w*)$", open(cache).read(), re.M)
        btype = m.group(1) if m else ""
    if btype != "Release":
        print("note: %s is a '%s' build, not Release" % (build, btype or "unknown"),
              file=sys.stderr)
    return build


def loadavg():
    return open("/proc/loadavg").read().split()[0]


def cpu_seconds(pid):
    """utime + stime of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url, duration="10s", conns=32, threads=2, headers=(), script=None, pids=None,
        script_args=()):
    """One wrk run: req/s, p50, p99 (ms), requests and, for each named pid in
    pids ({name: pid}), its CPU microseconds per request over the run."""
    argv = [tool("wrk"), "-t%d" % threads, "-c%d" % conns, "-d" + duration, "--latency"]
    for h in headers:
        argv += ["-H", h]
    if script:
        argv += ["-s", script]
    before = {k: cpu_seconds(p) for k, p in (pids or {}).items() if p}
    tail = ["--"] + [str(a) for a in script_args] if script_args else []
    out = subprocess.run(argv + [url] + tail, capture_output=True, text=True, check=True).stdout
    after = {k: cpu_seconds(p) for k, p in (pids or {}).items() if p}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    if not m or not n:
        raise SystemExit("wrk gave no figures for %s:\n%s" % (url, out))

    def pct(p):
        v, unit = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, out, re.M).groups()
        return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise SystemExit("wrk saw %s error answers from %s:\n%s" % (bad.group(1), url, out))
    requests = int(n.group(1))
    cpu = {k: (after[k] - before[k]) * 1e6 / max(1, requests) for k in after}
    return {"rps": float(m.group(1)), "p50": pct(50), "p99": pct(99), "requests": requests,
            "cpu_us": cpu}


def cpu_text(r):
    return " ".join("%s %.0f" % (k, v) for k, v in r["cpu_us"].items())


def daemon(procs, name, argv, port, tmpdir=None):
    """A nimbus daemon started and ready (its /readyz answers 200)."""
    d = procs.Daemon(name, argv, ready_url="http://127.0.0.1:%d/readyz" % port, tmpdir=tmpdir)
    d.start()
    return d


def persistence(procs, redis, pg_dsn, name="persistence", args=()):
    """(daemon, base url) of a nimbus-persistence on a free port, access log off."""
    port = procs.free_port()
    d = daemon(procs, name, [procs.binary("nimbus-persistence"), "--port", str(port),
                             "--redis-url", redis.url, "--postgres-dsn", pg_dsn,
                             "--access-log", "false", "--log-level", "warn"] + list(args), port)
    return d, "http://127.0.0.1:%d" % port


def api(procs, persistence_url, sim, kafka_bootstrap, name="api", args=()):
    """(daemon, base url) of a nimbus-api on a free port, access log off, no
    upstream pacing (the benchmark is not about the budget)."""
    port = procs.free_port()
    d = daemon(procs, name, [procs.binary("nimbus-api"), "--port", str(port),
                             "--persistence-url", persistence_url,
                             "--forecast-url", sim.forecast_url,
                             "--geocoding-url", sim.geocoding_url,
                             "--kafka-brokers", kafka_bootstrap, "--access-log", "false",
                             "--log-level", "warn", "--upstream-pace-per-min", "1000000",
                             "--upstream-budget-per-hour", "0", "--upstream-budget-per-day", "0"]
               + list(args), port)
    return d, "http://127.0.0.1:%d" % port
