#!/usr/bin/python3
"""bench/record_size.py — how many bytes one place's weather record takes in
Redis and in PostgreSQL.

    bench/record_size.py [BUILD_DIR] [PLACES]     (defaults: build, 100)

Starts its own Redis, PostgreSQL, weather simulator, persistence and api on
free loopback ports (via the test harness; everything is stopped on exit),
asks the api for PLACES distinct grid points (a 10 x N lattice over Europe and
North America, so the simulator's answers differ), waits until persistence
has written every record to both stores, then prints:

  - the record's JSON size (bytes of the stored body, mean / min / max);
  - Redis: MEMORY USAGE of each record's hash (mean / min / max) and the
    server's used_memory growth divided by the number of places;
  - PostgreSQL: pg_column_size(body) (the stored, possibly compressed value)
    and pg_total_relation_size('records') (heap + TOAST + indexes) divided by
    the number of places.
"""
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
PLACES = int(sys.argv[2]) if len(sys.argv) > 2 else 100
os.environ["NIMBUS_BUILD_DIR"] = BUILD
os.environ["NIMBUS_SOURCE_DIR"] = ROOT
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))

from nimbus_harness import http, procs  # noqa: E402
from nimbus_harness.sim import WeatherSim  # noqa: E402


def grid(n):
    """n distinct (lat, lon) points, 10 per row, 1.37 degrees apart."""
    return [(round(35.0 + 1.37 * (i // 10), 2), round(-10.0 + 1.37 * (i % 10), 2))
            for i in range(n)]


def stats(values):
    return "%8.0f %8d %8d" % (statistics.mean(values), min(values), max(values))


def main():
    for b in ("nimbus-persistence", "nimbus-api", "weather-sim"):
        if not procs.have_binary(b):
            raise SystemExit("no %s in %s: build it first" % (b, BUILD))
    redis = procs.Redis()
    redis.start()
    pg = procs.Postgres()
    pg.start()
    pg.createdb("nimbus")
    sim_port = procs.free_port()
    procs.Daemon("weather-sim", [procs.binary("weather-sim"), "--port", str(sim_port)],
                 ready_url="http://127.0.0.1:%d/healthz" % sim_port).start()
    sim = WeatherSim.attach(sim_port)
    pport = procs.free_port()
    procs.Daemon("persistence", [procs.binary("nimbus-persistence"), "--port", str(pport),
                                 "--redis-url", redis.url, "--postgres-dsn", pg.dsn("nimbus")],
                 ready_url="http://127.0.0.1:%d/readyz" % pport).start()
    aport = procs.free_port()
    procs.Daemon("api", [procs.binary("nimbus-api"), "--port", str(aport),
                         "--persistence-url", "http://127.0.0.1:%d" % pport,
                         "--forecast-url", sim.forecast_url,
                         "--geocoding-url", sim.geocoding_url, "--kafka-brokers", "",
                         "--upstream-pace-per-min", "1000000"],
                 ready_url="http://127.0.0.1:%d/readyz" % aport).start()

    used_before = int(redis.cli("INFO", "memory").split("used_memory:")[1].split()[0])
    keys = []
    for lat, lon in grid(PLACES):
        r = http.request("GET", "http://127.0.0.1:%d/v1/weather?lat=%s&lon=%s" % (aport, lat, lon))
        assert r.status == 200, r.text()
        keys.append(r.json()["location"]["key"])

    def stored():
        n = int(pg.psql("SELECT count(*) FROM records")[0][0])
        return n == len(keys) and int(redis.cli("DBSIZE").strip()) >= len(keys)
    procs.wait_until(stored, 120, interval=0.2, what="every record in PostgreSQL and Redis")
    used_after = int(redis.cli("INFO", "memory").split("used_memory:")[1].split()[0])

    body_len, redis_usage = [], []
    for k in keys:
        body = redis.cli("HGET", "nimbus:rec:" + k, "d").rstrip("\n")
        json.loads(body)
        body_len.append(len(body.encode()))
        redis_usage.append(int(redis.cli("MEMORY", "USAGE", "nimbus:rec:" + k, "SAMPLES", "0")))
    col = [int(r[0]) for r in pg.psql("SELECT pg_column_size(body) FROM records")]
    text_len = [int(r[0]) for r in pg.psql("SELECT octet_length(body::text) FROM records")]
    total = int(pg.psql("SELECT pg_total_relation_size('records')")[0][0])

    print("\nnimbus record size: %d places (build %s)" % (len(keys), BUILD))
    print("%-46s %8s %8s %8s" % ("bytes per place", "mean", "min", "max"))
    print("%-46s %s" % ("record JSON (Redis value 'd')", stats(body_len)))
    print("%-46s %s" % ("Redis MEMORY USAGE nimbus:rec:<key>", stats(redis_usage)))
    print("%-46s %8.0f" % ("Redis used_memory growth / places", (used_after - used_before) / len(keys)))
    print("%-46s %s" % ("PostgreSQL octet_length(body::text)", stats(text_len)))
    print("%-46s %s" % ("PostgreSQL pg_column_size(body)", stats(col)))
    print("%-46s %8.0f" % ("PostgreSQL pg_total_relation_size / places", total / len(keys)))


if __name__ == "__main__":
    main()
