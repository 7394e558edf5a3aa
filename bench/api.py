#!/usr/bin/python3
"""bench/api.py — how fast the api and front answer, next to nginx serving the
same body from proxy_cache, in one run on this machine.

    bench/api.py [BUILD_DIR]        (default: build; use a Release build)

Starts its own Redis, PostgreSQL, dev Kafka broker, weather simulator,
persistence, api, front and nginx on free loopback ports (via the test
harness; everything is stopped on exit), then measures with
`wrk -t2 -c32 -d10s --latency`:

  1. api fresh hit      GET /v1/weather?city=Berlin          (X-Cache: HIT)
  2. nginx proxy_cache  the same URL through nginx, every answer a cache HIT
  3. api stale hit      a second api with --fresh-ttl-s 1 while the simulator
                        answers in 500 ms: records go stale every second and
                        are renewed in the background; the share of STALE
                        answers in the run is printed beside the figures
  4. front page         GET /Berlin as a browser (HTML), fresh place, with
                        front's cache on (the default) and off (--cache-mb 0:
                        every view asks the api, parses and renders)

and prints req/s, p50 and p99 of each with the targets: api fresh-hit
throughput >= 25% of nginx's; stale-hit p99 <= 1.5 x fresh-hit p99; front
page (cache on) >= 0.3 x nginx.
Env: WRK_DURATION (10s), WRK_CONNS (32), ACCESS_LOG (false), and extra daemon
flags in PERSISTENCE_ARGS, API_ARGS, FRONT_ARGS (for A/B runs).
"""
import os
import re
import subprocess
import sys
import textwrap

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
ACCESS_LOG = os.environ.get("ACCESS_LOG", "false")
EXTRA = {d: os.environ.get(d.upper() + "_ARGS", "").split()
         for d in ("persistence", "api", "front")}


def wrk(url, headers=()):
    argv = ["wrk", "-t2", "-c" + CONNS, "-d" + DURATION, "--latency"]
    for h in headers:
        argv += ["-H", h]
    out = subprocess.run(argv + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        v, unit = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, out, re.M).groups()
        return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit("wrk saw %s error answers from %s:\n%s" % (non2xx.group(1), url, out))
    return {"rps": rps, "p50": pct(50), "p99": pct(99)}


def daemon(name, argv, port, env=None):
    d = procs.Daemon(name, argv, env=env, ready_url="http://127.0.0.1:%d/readyz" % port)
    d.start()
    return d


def nginx_conf(tmp, port, api_port):
    return textwrap.dedent("""\
        user root;
        worker_processes 2;
        daemon off;
        pid {tmp}/nginx.pid;
        error_log {tmp}/nginx-error.log warn;
        events {{ worker_connections 4096; }}
        http {{
          access_log off;
          client_body_temp_path {tmp}/body;
          proxy_temp_path {tmp}/proxy;
          fastcgi_temp_path {tmp}/fastcgi;
          uwsgi_temp_path {tmp}/uwsgi;
          scgi_temp_path {tmp}/scgi;
          proxy_cache_path {tmp}/cache levels=1:2 keys_zone=api:10m max_size=100m
                           inactive=60m use_temp_path=off;
          upstream api {{ server 127.0.0.1:{api_port}; keepalive 32; }}
          server {{
            listen 127.0.0.1:{port};
            location / {{
              proxy_pass http://api;
              proxy_http_version 1.1;
              proxy_set_header Connection "";
              proxy_cache api;
              proxy_cache_valid 200 1h;
              proxy_ignore_headers Cache-Control Expires;
              proxy_cache_lock on;
              add_header X-Proxy-Cache $upstream_cache_status;
            }}
          }}
        }}
        """).format(tmp=tmp, port=port, api_port=api_port)


def main():
    for b in ("nimbus-persistence", "nimbus-api", "nimbus-front", "weather-sim",
              "kafka-dev-broker"):
        if not procs.have_binary(b):
            raise SystemExit("no %s in %s: build it first (Release)" % (b, BUILD))
    tmp = procs.scratch_dir("bench")
    redis = procs.Redis()
    redis.start()
    pg = procs.Postgres()
    pg.start()
    pg.createdb("nimbus")
    kafka = procs.KafkaBroker()
    kafka.start()
    sim_port = procs.free_port()
    procs.Daemon("weather-sim", [procs.binary("weather-sim"), "--port", str(sim_port)],
                 ready_url="http://127.0.0.1:%d/healthz" % sim_port).start()
    sim = WeatherSim.attach(sim_port)

    pport = procs.free_port()
    daemon("persistence", [procs.binary("nimbus-persistence"), "--port", str(pport),
                           "--redis-url", redis.url, "--postgres-dsn", pg.dsn("nimbus"),
                           "--access-log", ACCESS_LOG] + EXTRA["persistence"], pport)
    api_common = ["--persistence-url", "http://127.0.0.1:%d" % pport,
                  "--forecast-url", sim.forecast_url, "--geocoding-url", sim.geocoding_url,
                  "--kafka-brokers", kafka.bootstrap, "--access-log", ACCESS_LOG,
                  "--upstream-pace-per-min", "1000000", "--upstream-budget-per-hour", "0",
                  "--upstream-budget-per-day", "0"] + EXTRA["api"]
    aport = procs.free_port()
    daemon("api", [procs.binary("nimbus-api"), "--port", str(aport)] + api_common, aport)
    # Records older than a second are stale here: renewal never stops.
    sport = procs.free_port()
    daemon("api-stale", [procs.binary("nimbus-api"), "--port", str(sport), "--fresh-ttl-s", "1"]
           + api_common, sport)
    fport, foff = procs.free_port(), procs.free_port()
    for name, port, args in (("front", fport, []), ("front-nocache", foff, ["--cache-mb", "0"])):
        daemon(name, [procs.binary("nimbus-front"), "--port", str(port),
                      "--api-url", "http://127.0.0.1:%d" % aport, "--access-log", ACCESS_LOG]
               + args + EXTRA["front"], port)
    nport = procs.free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(tmp, nport, aport))
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "cache"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    procs.Daemon("nginx", ["nginx", "-c", conf, "-p", tmp], ready_port=nport).start()

    path = "/v1/weather?city=Berlin"
    api_url, stale_url = "http://127.0.0.1:%d%s" % (aport, path), "http://127.0.0.1:%d%s" % (sport, path)
    first = http.request("GET", api_url)  # fetch and store Berlin once
    assert first.status == 200, first.text()
    procs.wait_until(lambda: http.request("GET", api_url).headers.get("X-Source") == "cache",
                     20, what="Berlin stored and served from the cache")
    procs.wait_until(lambda: http.request("GET", stale_url).headers.get("X-Cache") == "STALE",
                     10, what="the stale api serving Berlin stale")
    nginx_url = "http://127.0.0.1:%d%s" % (nport, path)
    http.request("GET", nginx_url)
    assert http.request("GET", nginx_url).headers.get("X-Proxy-Cache") == "HIT"
    front_url = "http://127.0.0.1:%d/Berlin" % fport
    front_off_url = "http://127.0.0.1:%d/Berlin" % foff
    for url in (front_url, front_off_url):
        page = http.request("GET", url, headers={"Accept": "text/html"})
        assert page.status == 200 and b"Berlin" in page.body, page.status

    results = {}
    results["api fresh hit"] = wrk(api_url)
    results["nginx proxy_cache"] = wrk(nginx_url)
    sim.latency(500)
    results["api stale hit (upstream 500 ms)"] = wrk(stale_url)
    renewals = http.request("GET", "http://127.0.0.1:%d/metrics" % sport).text()
    sim.reset()
    results["front page (cache on)"] = wrk(front_url, headers=["Accept: text/html"])
    results["front page (cache off)"] = wrk(front_off_url, headers=["Accept: text/html"])

    print("\nnimbus bench: wrk -t2 -c%s -d%s --latency, loopback, %d cores, access log %s%s"
          % (CONNS, DURATION, os.cpu_count(), ACCESS_LOG,
             "".join(" %s_ARGS=%r" % (d.upper(), " ".join(a)) for d, a in EXTRA.items() if a)))
    print("%-34s %12s %10s %10s" % ("", "req/s", "p50 ms", "p99 ms"))
    for name, r in results.items():
        print("%-34s %12.0f %10.2f %10.2f" % (name, r["rps"], r["p50"], r["p99"]))
    fresh, ngx = results["api fresh hit"], results["nginx proxy_cache"]
    stale = results["api stale hit (upstream 500 ms)"]
    ratio = fresh["rps"] / ngx["rps"]
    p99x = stale["p99"] / fresh["p99"]
    m = re.search(r'nimbus_upstream_calls_total\{endpoint="forecast"\} (\d+)', renewals)
    answers = {k: float(v) for k, v in
               re.findall(r'nimbus_api_answers_total\{cache="(\w+)"\} (\d+)', renewals)}
    print("\napi fresh-hit / nginx throughput: %.2f (target >= 0.25) %s"
          % (ratio, "OK" if ratio >= 0.25 else "MISSED"))
    print("stale-hit p99 / fresh-hit p99:    %.2f (target <= 1.5)  %s"
          % (p99x, "OK" if p99x <= 1.5 else "MISSED"))
    fr = results["front page (cache on)"]["rps"] / ngx["rps"]
    print("front page (cache on) / nginx:    %.2f (target >= 0.3)  %s; cache off: %.2f"
          % (fr, "OK" if fr >= 0.3 else "MISSED",
             results["front page (cache off)"]["rps"] / ngx["rps"]))
    print("stale api: %.0f%% of its answers were STALE; %s background renewals (forecast calls)"
          % (100.0 * answers.get("stale", 0) / max(1.0, sum(answers.values())),
             m.group(1) if m else "?"))


if __name__ == "__main__":
    main()
