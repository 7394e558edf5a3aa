#!/usr/bin/python3
"""bench/api.py — every figure of the request path beside nginx, in one run.

    bench/api.py [BUILD_DIR]        (default: build; use a Release build)

Installs what it needs when missing (wrk, nginx, redis-tools: apt-get as root,
otherwise it prints the exact command), then starts its own Redis,
PostgreSQL, dev Kafka broker, weather simulator and, on free loopback ports
(through the test harness; everything is stopped on exit):

  persistence      --record-max-age-s 1 (the default): the api's near-cache on
  persistence-off  --record-max-age-s 0: the api asks persistence every time
  api, api-off     one on each; api-stale (--fresh-ttl-s 1) on the first
  front, front-off one on each api; front-nocache (--cache-mb 0: every view
                   asks the api, parses and renders) on the first
  nginx            proxy_cache in front of api: every answer a cache HIT

stores Berlin once, then measures with `wrk -t2 -c32 -d10s --latency`:

  nginx proxy_cache        GET /v1/weather?city=Berlin through nginx (reference)
  api fresh hit            GET /v1/weather?city=Berlin, near-cache on and off
  front page               GET /Berlin as a browser (HTML), near-cache on and off,
                           and with front's own cache off (then the api's own
                           request again, paced at the rate those pages reached on
                           16 connections: the api's cost per request at that rate)
  api stale hit            api-stale while the simulator answers in 500 ms:
                           records go stale every second and are renewed in
                           the background (the share of STALE answers printed)
  persistence GET          GET /v1/records/52.52,13.41 (X-Store: cache), beside
  redis GET                redis-benchmark -t get -d <same size> -c 32 -P 1

and prints req/s, p50, p99, the ratio to nginx (to redis-benchmark for
persistence), the CPU each daemon spent per request (from /proc/<pid>/stat)
and the load average, with the targets: api fresh hit >= 0.5 x nginx (aim
1.0); stale-hit p99 <= fresh-hit p99; persistence >= 0.4 x redis-benchmark; front page >= 0.3 x nginx.
Env: WRK_DURATION (10s), WRK_CONNS (32), REDIS_REQUESTS (500000), and extra
daemon flags in PERSISTENCE_ARGS, API_ARGS, FRONT_ARGS (for A/B runs).
"""
import os
import re
import subprocess
import sys
import textwrap

import common

common.need("wrk", "nginx", "redis-server", "redis-benchmark", "redis-cli", "postgres")
BUILD = common.use_build(sys.argv)

from nimbus_harness import http, procs  # noqa: E402
from nimbus_harness.sim import WeatherSim  # noqa: E402

DURATION = os.environ.get("WRK_DURATION", "10s")
CONNS = int(os.environ.get("WRK_CONNS", "32"))
REDIS_REQUESTS = os.environ.get("REDIS_REQUESTS", "500000")
EXTRA = {d: os.environ.get(d.upper() + "_ARGS", "").split()
         for d in ("persistence", "api", "front")}
KEY = "52.52,13.41"  # Berlin
FRONT_WORKERS = 16  # nimbus-front's --workers default: its connections to the api


def nginx_conf(tmp, port, api_port):
    return textwrap.dedent("""\
        {user}
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
        """).format(tmp=tmp, port=port, api_port=api_port,
                    user="user root;" if os.geteuid() == 0 else "")


def start_nginx(tmp, api_port):
    port = procs.free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(tmp, port, api_port))
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "cache"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    procs.Daemon("nginx", [common.tool("nginx"), "-c", conf, "-p", tmp],
                 ready_port=port).start()
    return "http://127.0.0.1:%d" % port


def weather_answers(api_url):
    """The api's GET /v1/weather answers so far (from its /metrics)."""
    text = http.request("GET", api_url + "/metrics").text()
    return sum(int(n) for n in
               re.findall(r'nimbus_http_requests_total\{route="weather",code="\w+"\} (\d+)', text))


def redis_benchmark(redis, size):
    """redis-benchmark GET of a value of size bytes on the same Redis."""
    cli = common.tool("redis-cli")
    subprocess.run([cli, "-p", str(redis.port), "-x", "SET", "key:__rand_int__"],
                   input=b"x" * size, check=True, capture_output=True)
    before = common.cpu_seconds(redis.pid)
    out = subprocess.run([common.tool("redis-benchmark"), "-p", str(redis.port), "-t", "get",
                          "-d", str(size), "-c", str(CONNS), "-n", REDIS_REQUESTS, "-P", "1",
                          "--csv"], capture_output=True, text=True, check=True).stdout
    cpu = common.cpu_seconds(redis.pid) - before
    row = next(line for line in out.splitlines() if line.startswith('"GET'))
    f = [x.strip('"') for x in row.split('","')]
    return {"rps": float(f[1]), "p50": float(f[4]), "p99": float(f[6]),
            "cpu_us": {"redis": cpu * 1e6 / int(REDIS_REQUESTS)}}


def main():
    for b in ("nimbus-persistence", "nimbus-api", "nimbus-front", "weather-sim",
              "kafka-dev-broker"):
        if not procs.have_binary(b):
            raise SystemExit("no %s in %s: build it first (Release)" % (b, BUILD))
    load_before = common.loadavg()
    tmp = procs.scratch_dir("bench")
    redis = procs.Redis()
    redis.start()
    pg = procs.Postgres()
    pg.start()
    pg.createdb("nimbus")
    kafka = procs.KafkaBroker()
    kafka.start()
    sim = WeatherSim.start()

    p_on, p_on_url = common.persistence(procs, redis, pg.dsn("nimbus"),
                                        args=EXTRA["persistence"])
    p_off, p_off_url = common.persistence(procs, redis, pg.dsn("nimbus"), "persistence-off",
                                          ["--record-max-age-s", "0"] + EXTRA["persistence"])
    a_on, a_on_url = common.api(procs, p_on_url, sim, kafka.bootstrap, args=EXTRA["api"])
    a_off, a_off_url = common.api(procs, p_off_url, sim, kafka.bootstrap, "api-off",
                                  EXTRA["api"])
    # Records older than a second are stale here: renewal never stops.
    a_stale, a_stale_url = common.api(procs, p_on_url, sim, kafka.bootstrap, "api-stale",
                                      ["--fresh-ttl-s", "1"] + EXTRA["api"])
    fronts = {}
    for name, api_url, args in (("front", a_on_url, []), ("front-off", a_off_url, []),
                                ("front-nocache", a_on_url, ["--cache-mb", "0"])):
        port = procs.free_port()
        fronts[name] = (common.daemon(procs, name, [procs.binary("nimbus-front"), "--port",
                                                    str(port), "--api-url", api_url,
                                                    "--access-log", "false"] + args + EXTRA["front"],
                                      port), "http://127.0.0.1:%d/Berlin" % port)
    nginx_url = start_nginx(tmp, int(a_on_url.rsplit(":", 1)[1]))

    path = "/v1/weather?city=Berlin"
    first = http.request("GET", a_on_url + path)  # fetch and store Berlin once
    assert first.status == 200, first.text()
    for url in (a_on_url, a_off_url):
        procs.wait_until(lambda: http.request("GET", url + path).headers.get("X-Source")
                         == "cache", 20, what="Berlin stored and served from the cache")
    procs.wait_until(lambda: http.request("GET", a_stale_url + path).headers.get("X-Cache")
                     == "STALE", 10, what="the stale api serving Berlin stale")
    http.request("GET", nginx_url + path)
    assert http.request("GET", nginx_url + path).headers.get("X-Proxy-Cache") == "HIT"
    for _, url in fronts.values():
        page = http.request("GET", url, headers={"Accept": "text/html"})
        assert page.status == 200 and b"Berlin" in page.body, page.status
    rec = http.request("GET", p_on_url + "/v1/records/" + KEY)
    assert rec.headers.get("X-Store") == "cache", rec.headers
    size = len(rec.body)

    def run(url, pids, headers=()):
        return common.wrk(url, DURATION, CONNS, headers=headers,
                          pids={k: v.pid for k, v in pids.items()})
    store = {"persistence": p_on, "redis": redis}
    store_off = {"persistence": p_off, "redis": redis}
    html = ["Accept: text/html"]
    r = {}
    r["nginx proxy_cache"] = run(nginx_url + path, {"api": a_on})
    r["api fresh hit, near-cache on"] = run(a_on_url + path, dict(api=a_on, **store))
    r["api fresh hit, near-cache off"] = run(a_off_url + path, dict(api=a_off, **store_off))
    asked = {}  # the api's GET /v1/weather answers per front page, during the run
    n0 = weather_answers(a_on_url)
    r["front page, near-cache on"] = run(fronts["front"][1], dict(front=fronts["front"][0],
                                                                  api=a_on, **store), html)
    asked["front's cache on"] = (weather_answers(a_on_url) - n0) / r["front page, near-cache on"][
        "requests"]
    r["front page, near-cache off"] = run(fronts["front-off"][1],
                                          dict(front=fronts["front-off"][0], api=a_off,
                                               **store_off), html)
    n0 = weather_answers(a_on_url)
    r["front page, front's cache off"] = run(fronts["front-nocache"][1],
                                             dict(front=fronts["front-nocache"][0], api=a_on,
                                                  **store), html)
    asked["front's cache off"] = (weather_answers(a_on_url) - n0) / r[
        "front page, front's cache off"]["requests"]
    # The api's own request again, offered at the rate the cache-off pages reached,
    # on as many connections as front keeps to the api (one per worker): what the
    # same request costs the api at that rate (issue 10 item 3, docs/benchmarks.md).
    paced = os.path.join(tmp, "paced.lua")
    with open(paced, "w") as f:
        f.write("delay = function() return %d end\n"
                % max(1, round(FRONT_WORKERS * 1000.0 / r["front page, front's cache off"]["rps"])))
    r["api fresh hit, at that page rate"] = common.wrk(
        a_on_url + path, DURATION, FRONT_WORKERS, script=paced,
        pids={k: v.pid for k, v in dict(api=a_on, **store).items()})
    r["persistence GET (X-Store: cache)"] = run(p_on_url + "/v1/records/" + KEY, store)
    r["redis GET (redis-benchmark)"] = redis_benchmark(redis, size)
    stale_name = "api stale hit (upstream 500 ms)"
    sim.latency(500)
    before = http.request("GET", a_stale_url + "/metrics").text()
    r[stale_name] = run(a_stale_url + path, dict(api=a_stale, **store))
    after = http.request("GET", a_stale_url + "/metrics").text()
    sim.reset()
    load_after = common.loadavg()

    print("\nnimbus bench: wrk -t2 -c%d -d%s --latency, loopback, %d cores, access logs off, "
          "%s; load average %s before, %s after%s"
          % (CONNS, DURATION, os.cpu_count(), os.path.basename(BUILD), load_before, load_after,
             "".join(" %s_ARGS=%r" % (d.upper(), " ".join(a)) for d, a in EXTRA.items() if a)))
    ngx = r["nginx proxy_cache"]["rps"]
    redis_rps = r["redis GET (redis-benchmark)"]["rps"]
    print("%-36s %9s %8s %8s %8s   %s" % ("", "req/s", "p50 ms", "p99 ms", "ratio",
                                        "CPU µs per request"))
    for name, x in r.items():
        ratio = x["rps"] / (redis_rps if name.startswith("persistence") else ngx)
        if name.startswith("redis"):
            ratio = 1.0
        print("%-36s %9.0f %8.2f %8.2f %8.2f   %s"
              % (name, x["rps"], x["p50"], x["p99"], ratio, common.cpu_text(x)))
    print("(ratio: to nginx; persistence to redis-benchmark; nginx's own CPU not counted)")

    def counters(text, name, label):
        return {k: float(v) for k, v in
                re.findall(r'%s\{%s="(\w+)"\} (\d+)' % (name, label), text)}
    ans_b, ans_a = (counters(t, "nimbus_api_answers_total", "cache") for t in (before, after))
    answers = {k: ans_a.get(k, 0) - ans_b.get(k, 0) for k in ans_a}
    fetches = [float(m) for t in (before, after) for m in
               re.findall(r'nimbus_upstream_calls_total\{endpoint="forecast"\} (\d+)', t)]
    fresh, stale = r["api fresh hit, near-cache on"], r[stale_name]
    front = r["front page, near-cache on"]
    ratio = fresh["rps"] / ngx
    p99x = stale["p99"] / fresh["p99"]
    pr = r["persistence GET (X-Store: cache)"]["rps"] / redis_rps
    print("\napi fresh hit / nginx:          %.2f (target >= 0.5, aim 1.0) %s"
          % (ratio, "OK" if ratio >= 0.5 else "MISSED"))
    print("stale-hit p99 / fresh-hit p99:  %.2f (target <= 1.0)          %s"
          % (p99x, "OK" if p99x <= 1.0 else "MISSED"))
    print("persistence / redis-benchmark:  %.2f (target >= 0.4)          %s"
          % (pr, "OK" if pr >= 0.4 else "MISSED"))
    fr = front["rps"] / ngx
    print("front page / nginx:             %.2f (target >= 0.3)          %s"
          % (fr, "OK" if fr >= 0.3 else "MISSED"))
    print("api requests per front page: %s"
          % ", ".join("%.3f with %s" % (v, k) for k, v in asked.items()))
    print("stale api during its run: %.0f%% of %d answers STALE; %s background renewals"
          % (100.0 * answers.get("stale", 0) / max(1.0, sum(answers.values())),
             sum(answers.values()), "%d" % (fetches[1] - fetches[0]) if len(fetches) == 2
             else "?"))


if __name__ == "__main__":
    main()
