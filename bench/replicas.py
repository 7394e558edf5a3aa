#!/usr/bin/python3
"""bench/replicas.py — api replicas through haproxy, and what the renewal lease
costs on a miss, in one run on this machine.

    bench/replicas.py [BUILD_DIR]        (default: build; use a Release build)

Installs what it needs when missing (wrk, haproxy: apt-get, as root), then starts
its own Redis, PostgreSQL, dev Kafka broker, weather simulator, one persistence,
three apis and haproxy on free loopback ports (through the test harness;
everything is stopped on exit), and measures:

  1. fresh hits of GET /v1/weather?city=Berlin with `wrk -t2 -c32 -d10s --latency`:
     one api directly, then 1, 2 and 3 api replicas behind haproxy (round robin,
     keep-alive to the apis);
  2. the cost of the lease on a miss: sequential misses (a new location each, the
     simulator answering at once) on an api that asks persistence for the
     renewal lease and the shared budget before each upstream call, and on one
     started with --coordinate=false (no lease, its own budget), in alternation;
     p50 and p99 of each, and the persistence calls one miss makes;
  3. what a replica that loses the lease costs: two apis asked for the same new
     place at once (upstream 300 ms): the persistence requests the loser made
     while it waited for the winner's record, and the long polls persistence held.

Env: WRK_DURATION (10s), WRK_CONNS (32), MISSES (200 per round), ROUNDS (2).
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import textwrap
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
os.environ["NIMBUS_BUILD_DIR"] = BUILD
os.environ["NIMBUS_SOURCE_DIR"] = ROOT
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))

from nimbus_harness import http, procs  # noqa: E402
from nimbus_harness.sim import WeatherSim  # noqa: E402

DURATION = os.environ.get("WRK_DURATION", "10s")
CONNS = os.environ.get("WRK_CONNS", "32")
MISSES = int(os.environ.get("MISSES", "200"))
ROUNDS = int(os.environ.get("ROUNDS", "2"))
NO_LIMITS = ["--upstream-pace-per-min", "1000000", "--upstream-budget-per-hour", "0",
             "--upstream-budget-per-day", "0"]


def ensure_tools():
    missing = [t for t in ("wrk", "haproxy") if shutil.which(t) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit("missing %s: sudo apt-get install -y %s" % (missing, " ".join(missing)))
    print("installing %s" % " ".join(missing), flush=True)
    subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y"] + missing,
                   check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def wrk(url):
    out = subprocess.run(["wrk", "-t2", "-c" + CONNS, "-d" + DURATION, "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        v, unit = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, out, re.M).groups()
        return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit("wrk saw %s error answers from %s:\n%s" % (non2xx.group(1), url, out))
    return {"rps": rps, "p50": pct(50), "p99": pct(99)}


def daemon(name, argv, port):
    d = procs.Daemon(name, argv, ready_url="http://127.0.0.1:%d/readyz" % port)
    d.start()
    return d


def haproxy_conf(port, api_ports):
    servers = "\n".join("    server api-%d 127.0.0.1:%d check" % (i + 1, p)
                        for i, p in enumerate(api_ports))
    return textwrap.dedent("""\
        global
            maxconn 4096
        defaults
            mode http
            timeout connect 2s
            timeout client 60s
            timeout server 60s
            timeout http-keep-alive 30s
            retries 3
            option redispatch 1
            default-server inter 1s fall 2 rise 1
        frontend api
            bind 127.0.0.1:{port}
            default_backend api
        backend api
            balance roundrobin
            option httpchk GET /readyz
            http-check expect status 200
            retry-on conn-failure empty-response response-timeout
        """).format(port=port) + servers + "\n"


def metric(url, name):
    body = http.request("GET", url + "/metrics").text()
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith(name))


def misses(url, first, n):
    """n sequential misses (new locations) on url; their latencies in ms."""
    out = []
    for i in range(first, first + n):
        lat, lon = 50 + (i // 100) / 10.0, 8 + (i % 100) / 100.0  # near Frankfurt
        t0 = time.monotonic()
        r = http.request("GET", "%s/v1/weather?lat=%.2f&lon=%.2f" % (url, lat, lon), timeout=30)
        out.append((time.monotonic() - t0) * 1000.0)
        if r.status != 200 or r.headers.get("X-Cache") != "MISS":
            raise SystemExit("miss %d: %d %s %r" % (i, r.status, r.headers.get("X-Cache"),
                                                   r.body[:200]))
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def loadavg():
    return open("/proc/loadavg").read().split()[0]


def main():
    ensure_tools()
    for b in ("nimbus-persistence", "nimbus-api", "weather-sim", "kafka-dev-broker"):
        if not procs.have_binary(b):
            raise SystemExit("no %s in %s: build it first (Release)" % (b, BUILD))
    load_before = loadavg()
    tmp = procs.scratch_dir("bench-replicas")
    redis = procs.Redis().start()
    pg = procs.Postgres().start()
    pg.createdb("nimbus")
    kafka = procs.KafkaBroker().start()
    sim = WeatherSim.start()

    pport = procs.free_port()
    purl = "http://127.0.0.1:%d" % pport
    daemon("persistence", [procs.binary("nimbus-persistence"), "--port", str(pport),
                           "--redis-url", redis.url, "--postgres-dsn", pg.dsn("nimbus"),
                           "--access-log", "false"], pport)
    common = ["--persistence-url", purl, "--forecast-url", sim.forecast_url,
              "--geocoding-url", sim.geocoding_url, "--kafka-brokers", kafka.bootstrap,
              "--access-log", "false"] + NO_LIMITS
    apis = []
    for i in range(3):
        port = procs.free_port()
        daemon("api-%d" % (i + 1), [procs.binary("nimbus-api"), "--port", str(port)] + common,
               port)
        apis.append(port)
    path = "/v1/weather?city=Berlin"
    first = http.request("GET", "http://127.0.0.1:%d%s" % (apis[0], path), timeout=30)
    assert first.status == 200, first.text()
    for p in apis:
        procs.wait_until(lambda: http.request("GET", "http://127.0.0.1:%d%s" % (p, path))
                         .headers.get("X-Cache") == "HIT", 20, what="Berlin fresh on every api")

    # 1. throughput through haproxy
    results = [("1 api, direct", wrk("http://127.0.0.1:%d%s" % (apis[0], path)))]
    for n in (1, 2, 3):
        hport = procs.free_port()
        conf = os.path.join(tmp, "haproxy-%d.cfg" % n)
        with open(conf, "w") as f:
            f.write(haproxy_conf(hport, apis[:n]))
        h = procs.Daemon("haproxy-%d" % n, ["haproxy", "-W", "-db", "-f", conf],
                         ready_url="http://127.0.0.1:%d/readyz" % hport)
        h.start()
        results.append(("%d api%s behind haproxy" % (n, "s" if n > 1 else ""),
                        wrk("http://127.0.0.1:%d%s" % (hport, path))))
        h.stop()

    # 2. the lease on a miss: coordinated vs alone, in alternation
    aport = procs.free_port()
    daemon("api-alone", [procs.binary("nimbus-api"), "--port", str(aport), "--coordinate=false"]
           + common, aport)
    coordinated, alone = "http://127.0.0.1:%d" % apis[1], "http://127.0.0.1:%d" % aport
    lat = {"coordinated": [], "alone": []}
    calls0 = {op: metric(coordinated, 'nimbus_persistence_calls_total{op="%s"}' % op)
              for op in ("lease", "budget", "get_record", "put")}
    nxt = 0
    for _ in range(ROUNDS):
        for name, url in (("coordinated", coordinated), ("alone", alone)):
            lat[name] += misses(url, nxt, MISSES)
            nxt += MISSES
    calls = {op: (metric(coordinated, 'nimbus_persistence_calls_total{op="%s"}' % op) - v)
             / (MISSES * ROUNDS) for op, v in calls0.items()}

    # 3. a loser's wait
    sim.latency(300)
    loser = "http://127.0.0.1:%d" % apis[2]
    waits0 = metric(loser, 'nimbus_persistence_calls_total{op="wait"}')
    leases0 = metric(loser, 'nimbus_persistence_calls_total{op="lease"}')
    held0 = metric(purl, "nimbus_watch_total")
    forecasts0 = sim.counters()["forecast"]
    answers = []

    def ask(url):
        answers.append(http.request("GET", url + "/v1/weather?lat=33.33&lon=44.44",
                                    timeout=30).status)
    winner = threading.Thread(target=ask, args=("http://127.0.0.1:%d" % apis[0],))
    winner.start()
    procs.wait_until(lambda: redis.cli("EXISTS", "nimbus:lease:rec:33.33,44.44").strip() == "1",
                     10, what="the winner holding the lease")
    t0 = time.monotonic()
    ask(loser)
    loser_ms = (time.monotonic() - t0) * 1000.0
    winner.join()
    forecasts = sim.counters()["forecast"] - forecasts0
    sim.reset()
    loser_waits = metric(loser, 'nimbus_persistence_calls_total{op="wait"}') - waits0
    loser_leases = metric(loser, 'nimbus_persistence_calls_total{op="lease"}') - leases0
    held = metric(purl, "nimbus_watch_total") - held0

    print("\nnimbus replicas bench: wrk -t2 -c%s -d%s --latency, loopback, %d cores, "
          "one persistence, access logs off; load average %s before, %s after"
          % (CONNS, DURATION, os.cpu_count(), load_before, loadavg()))
    print("%-30s %12s %10s %10s" % ("fresh hits", "req/s", "p50 ms", "p99 ms"))
    for name, r in results:
        print("%-30s %12.0f %10.2f %10.2f" % (name, r["rps"], r["p50"], r["p99"]))
    print("\nmisses (new location, upstream at once), %d x %d each, sequential:"
          % (ROUNDS, MISSES))
    print("%-30s %10s %10s %10s" % ("", "p50 ms", "p99 ms", "mean ms"))
    for name in ("coordinated", "alone"):
        xs = lat[name]
        print("%-30s %10.2f %10.2f %10.2f" % (name, pct(xs, 50), pct(xs, 99),
                                               statistics.mean(xs)))
    print("lease cost on a miss: p50 +%.2f ms, p99 +%.2f ms"
          % (pct(lat["coordinated"], 50) - pct(lat["alone"], 50),
             pct(lat["coordinated"], 99) - pct(lat["alone"], 99)))
    print("persistence calls per coordinated miss: %s"
          % ", ".join("%s %.2f" % kv for kv in sorted(calls.items())))
    print("\nloser of a lease (upstream 300 ms): answered in %.0f ms with %d of %d answers 200; "
          "it made %d lease request(s) and %d long poll(s); persistence let %d long poll(s) "
          "go; upstream forecast calls: %d"
          % (loser_ms, answers.count(200), len(answers), loser_leases, loser_waits, held,
             forecasts))


if __name__ == "__main__":
    main()
