#!/usr/bin/python3
"""bench/scale.py — fresh hits over random keys with 1 000 and with 100 000
stored places, and what a place costs Redis and PostgreSQL.

    bench/scale.py [BUILD_DIR] [SMALL] [LARGE]   (defaults: build, 1000, 100000)

Installs wrk and redis-tools when missing (apt-get as root, otherwise it
prints the command). Starts its own Redis, PostgreSQL, weather simulator and,
on free loopback ports (through the test harness; all stopped on exit):

  persistence       --record-max-age-s 1 (default)  +  api        near-cache on
  persistence-off   --record-max-age-s 0            +  api-off    near-cache off

both apis with --fresh-ttl-s 86400 (every stored record is a fresh hit
whenever the run happens), --near-cache-mb NEAR_CACHE_MB (4096: room for
every place, about 28 KB each — what is measured is the stores, not
evictions) and no Kafka (the outbox keeps the events); one api runs at a
time (started for its runs, stopped after them) to keep the memory down.
One place's record is the simulator's answer for Berlin as the api stores it
(current, 16 days and the 384-hour hourly series: the real size), copied to
every key with its own coordinates; records are stored through
persistence's PUT (PostgreSQL + outbox + Redis), 16 at a time.

For SMALL places, then (after storing the rest) LARGE places, it runs a
warm-up (every place asked once, then WARMUP of random ones: the near-cache
holds a copy of each place, as it does in a steady state) and then
`wrk -t2 -c32 -d10s --latency` with a Lua script asking
GET /v1/weather?lat=..&lon=.. for uniformly random stored places, against
both apis, and prints req/s, p50, p99, CPU per request of each daemon, the
share of answers the api took from its near-cache, and per place: Redis
used_memory growth, PostgreSQL's records table (pg_total_relation_size) and
outbox table. Target: p99 with LARGE <= 1.2 x p99 with SMALL.
Each is measured twice: saturated (every connection asks again as soon as it
has its answer: p99 is mostly queueing, i.e. throughput) and paced (each
connection waits so that all together offer PACED_RPS: p99 is the time one
request takes at that load). The first warm-up run is shown too: places read,
parsed and rendered for the first time (with SMALL places only its first
moments are: the rest of the run finds them in the near-cache).
Env: WRK_DURATION (10s), WARMUP (5s), WRK_CONNS (32), PACED_RPS (2000),
NEAR_CACHE_MB (4096).
"""
import json
import os
import queue
import sys
import threading
import time

import common

common.need("wrk", "redis-server", "redis-cli", "postgres")
BUILD = common.use_build(sys.argv[:2])
SMALL = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
LARGE = int(sys.argv[3]) if len(sys.argv) > 3 else 100000

from nimbus_harness import http, procs  # noqa: E402
from nimbus_harness.sim import WeatherSim  # noqa: E402

DURATION = os.environ.get("WRK_DURATION", "10s")
WARMUP = os.environ.get("WARMUP", "5s")
CONNS = int(os.environ.get("WRK_CONNS", "32"))
PACED_RPS = int(os.environ.get("PACED_RPS", "2000"))
NEAR_CACHE_MB = os.environ.get("NEAR_CACHE_MB", "4096")
PUT_THREADS = 16


def key_of(i):
    """The i-th place: 10.00..10.99 x 0.00..9.99 and on, 2-decimal grid keys."""
    row, col = i // 1000, i % 1000
    return "%d.%02d,%d.%02d" % (10 + row // 100, row % 100, col // 100, col % 100)


def lua_script(tmp, n, delay_ms=0, walk=False):
    """wrk script: GETs of random stored places (walk: every place in turn
    from the offset given as the script's argument, the two wrk threads
    taking every other one); delay_ms before each request of a connection
    (0: as fast as answers come)."""
    path = os.path.join(tmp, "%s-%d-%d.lua" % ("walk" if walk else "random", n, delay_ms))
    with open(path, "w") as f:
        f.write("""
local n = %d
local pause = %d
local walk = %s
local paths = {}
for i = 0, n - 1 do
  local row, col = math.floor(i / 1000), i %% 1000
  paths[i] = string.format("/v1/weather?lat=%%d.%%02d&lon=%%d.%%02d",
    10 + math.floor(row / 100), row %% 100, math.floor(col / 100), col %% 100)
end
local seeded = false
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
init = function(args)
  counter = (id or 0) + (tonumber(args[1]) or 0)
end
request = function()
  if walk then
    local i = counter %% n
    counter = counter + 2
    return wrk.format("GET", paths[i])
  end
  if not seeded then
    math.randomseed(os.time() + math.floor(os.clock() * 1000000))
    seeded = true
  end
  return wrk.format("GET", paths[math.random(0, n - 1)])
end
if pause > 0 then
  delay = function() return pause end
end
""" % (n, delay_ms, "true" if walk else "false"))
    return path


def store_places(persistence_url, template, start, end):
    """PUTs records for places start..end-1 through persistence, PUT_THREADS at a time."""
    jobs = queue.Queue()
    for i in range(start, end):
        jobs.put(i)
    errors = []
    host, port = persistence_url.split("//")[1].split(":")
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())

    def worker():
        conn = http.Conn(host, int(port), timeout=30)
        while True:
            try:
                i = jobs.get_nowait()
            except queue.Empty:
                break
            key = key_of(i)
            lat, lon = (float(x) for x in key.split(","))
            rec = dict(template, key=key, latitude=lat, longitude=lon, fetched_at=now)
            deadline = time.monotonic() + 60
            while True:  # a loaded machine may make PostgreSQL miss its deadline: retry 503s
                r = conn.request("PUT", "/v1/records/" + key, body=rec)
                if r.status != 503 or time.monotonic() > deadline:
                    break
                time.sleep(float(r.header("Retry-After", "1")))
            if r.status != 200:
                errors.append((key, r.status, r.text()[:200]))
                break
        conn.close()
    threads = [threading.Thread(target=worker) for _ in range(PUT_THREADS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("storing places failed: %r" % errors[:3])
    return time.monotonic() - t0


def metric(url, name):
    """A metric's value (the first sample of that name), 0 if absent."""
    for line in http.request("GET", url + "/metrics").text().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    return 0.0


def copies(metrics_text):
    """Answers the api took from its near-cache so far."""
    for line in metrics_text.splitlines():
        if line.startswith('nimbus_record_reads_total{via="near_cache"}'):
            return float(line.split()[-1])
    return 0.0


def redis_used(redis):
    info = redis.cli("INFO", "memory")
    return int(next(line.split(":")[1] for line in info.splitlines()
                    if line.startswith("used_memory:")))


def pg_size(pg, relation):
    return int(pg.psql("SELECT pg_total_relation_size('%s')" % relation)[0][0])


def main():
    for b in ("nimbus-persistence", "nimbus-api", "weather-sim"):
        if not procs.have_binary(b):
            raise SystemExit("no %s in %s: build it first (Release)" % (b, BUILD))
    load_before = common.loadavg()
    tmp = procs.scratch_dir("scale")
    redis = procs.Redis()
    redis.start()
    pg = procs.Postgres()
    pg.start()
    pg.createdb("nimbus")
    sim = WeatherSim.start()
    p_on, p_on_url = common.persistence(procs, redis, pg.dsn("nimbus"))
    p_off, p_off_url = common.persistence(procs, redis, pg.dsn("nimbus"), "persistence-off",
                                          ["--record-max-age-s", "0"])
    api_args = ["--fresh-ttl-s", "86400", "--near-cache-mb", NEAR_CACHE_MB]

    # The template: a real record (the simulator's Berlin, as the api stores it).
    a0, a0_url = common.api(procs, p_on_url, sim, "", "api-template", api_args)
    first = http.request("GET", a0_url + "/v1/weather?lat=52.52&lon=13.41", timeout=30)
    assert first.status == 200, first.text()
    procs.wait_until(lambda: http.request("GET", p_on_url + "/v1/records/52.52,13.41").status
                     == 200, 20, what="the Berlin record stored")
    body = http.request("GET", p_on_url + "/v1/records/52.52,13.41").body
    template = json.loads(body)
    a0.stop()
    redis_base, records_base = redis_used(redis), pg_size(pg, "records")
    outbox_base = pg_size(pg, "outbox")

    results, memory = [], []
    stored = 0
    for n in (SMALL, LARGE):
        secs = store_places(p_on_url, template, stored, n)
        print("stored places %d..%d in %.0f s" % (stored, n - 1, secs), flush=True)
        stored = n
        procs.wait_until(lambda: int(redis.cli("DBSIZE")) >= n, 60,
                         what="%d records in Redis" % n)
        memory.append((n, (redis_used(redis) - redis_base) / n,
                       (pg_size(pg, "records") - records_base) / n,
                       (pg_size(pg, "outbox") - outbox_base) / n))
        saturated = lua_script(tmp, n)
        paced = lua_script(tmp, n, max(1, CONNS * 1000 // PACED_RPS))
        walk = lua_script(tmp, n, walk=True)
        for name, per_url, per in (("near-cache on", p_on_url, p_on),
                                   ("near-cache off", p_off_url, p_off)):
            api, url = common.api(procs, per_url, sim, "", "api-%s-%d" % (name[-3:].strip(), n),
                                  api_args)
            pids = {"api": api.pid, "persistence": per.pid, "redis": redis.pid}
            # warm-up: every place asked once (the copies made: the first run's
            # figures are those of a cold near-cache), then more at random
            offset, cold = 0, None
            while True:
                r = common.wrk(url + "/", "%ds" % max(2, min(10, n // 1000)), CONNS,
                               script=walk, pids=pids, script_args=[offset])
                cold = cold or r
                offset += r["requests"]
                if metric(url, "nimbus_near_cache_entries") >= n:
                    break
                if offset > 3 * n:
                    raise SystemExit("the near-cache does not hold %d places (%d)"
                                     % (n, metric(url, "nimbus_near_cache_entries")))
            cold["copy_share"] = 0.0
            results.append((n, name, "warm-up", cold))
            common.wrk(url + "/", WARMUP, CONNS, script=saturated)
            for how, script in (("saturated", saturated), ("paced", paced)):
                before = http.request("GET", url + "/metrics").text()
                r = common.wrk(url + "/", DURATION, CONNS, script=script, pids=pids)
                after = http.request("GET", url + "/metrics").text()
                r["copy_share"] = (copies(after) - copies(before)) / max(1, r["requests"])
                results.append((n, name, how, r))
                print("  %6d places, %-15s %-9s %8.0f req/s p50 %6.2f ms p99 %6.2f ms" %
                      (n, name, how, r["rps"], r["p50"], r["p99"]), flush=True)
            api.stop(timeout=30)

    print("\nnimbus scale bench: wrk -t2 -c%d -d%s --latency (after a %s warm-up), random "
          "stored places, %d cores, %s; load average %s before, %s after"
          % (CONNS, DURATION, WARMUP, os.cpu_count(), os.path.basename(BUILD), load_before,
             common.loadavg()))
    hours = len(template.get("hourly", {}).get("temperature", []))
    print("record: %d bytes of JSON (current, %d days, %d hourly entries)"
          % (len(body), len(template.get("daily", [])), hours))
    print("paced: each connection waits %d ms before a request (%d connections: at most "
          "%d req/s offered)" % (max(1, CONNS * 1000 // PACED_RPS), CONNS, PACED_RPS))
    print("%8s %-15s %-9s %9s %8s %8s %12s   %s" % ("places", "", "load", "req/s", "p50 ms",
                                                   "p99 ms", "from copies",
                                                   "CPU µs per request"))
    for n, name, how, r in sorted(results, key=lambda x: (x[0], x[1] != "near-cache on",
                                                         ("warm-up", "saturated", "paced")
                                                         .index(x[2]))):
        print("%8d %-15s %-9s %9.0f %8.2f %8.2f %11.0f%%   %s"
              % (n, name, how, r["rps"], r["p50"], r["p99"], 100 * r["copy_share"],
                 common.cpu_text(r)))
    print("\nper place: %8s %14s %14s %14s" % ("places", "Redis", "PG records", "PG outbox"))
    for n, rb, pb, ob in memory:
        print("           %8d %12.0f B %12.0f B %12.0f B" % (n, rb, pb, ob))
    by = {(n, name, how): r for n, name, how, r in results}
    for name in ("near-cache on", "near-cache off"):
        for how in ("saturated", "paced"):
            x = by[(LARGE, name, how)]["p99"] / by[(SMALL, name, how)]["p99"]
            print("p99 %d / p99 %d places, %s, %s: %.2f (target <= 1.2) %s"
                  % (LARGE, SMALL, name, how, x, "OK" if x <= 1.2 else "MISSED"))


if __name__ == "__main__":
    main()
