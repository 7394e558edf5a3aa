"""Helpers shared by the persistence integration tests (not a test itself).

start_stack() starts a private Redis, a private PostgreSQL and
nimbus-persistence wired to them, on free loopback ports in temp dirs; the
harness removes them at exit. Records and geocoding entries are built here so
every test speaks the proto/ shapes.
"""
import datetime
import os
import sys
import time

from nimbus_harness import procs, testing

BIN = "nimbus-persistence"


def iso(ms):
    """RFC 3339 UTC with milliseconds, as the daemons write it."""
    dt = datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def now_ms():
    return int(time.time() * 1000)


def record(key="52.52,13.41", fetched_at_ms=None, temperature=3.5,
           observed="2026-11-24T01:00"):
    """A record; `observed` is current.time, what makes an observation new."""
    lat, lon = (float(x) for x in key.split(","))
    fetched_at_ms = fetched_at_ms if fetched_at_ms is not None else now_ms()
    return {
        "key": key, "latitude": lat, "longitude": lon, "fetched_at": iso(fetched_at_ms),
        "timezone": "Europe/Berlin", "timezone_abbreviation": "CET", "utc_offset_seconds": 3600,
        "elevation": 38.0,
        "current": {"time": observed, "temperature": temperature,
                    "apparent_temperature": 1.2, "relative_humidity": 80, "weather_code": 3,
                    "wind_speed": 11.5, "wind_direction": 250, "wind_gusts": 25.0,
                    "precipitation": 0.0, "cloud_cover": 100, "pressure_msl": 1012.3,
                    "is_day": False},
        "daily": [{"date": "2026-11-%02d" % (24 + i), "weather_code": 3,
                   "temperature_max": 5.0 + i, "temperature_min": 1.0,
                   "precipitation_sum": 0.2, "precipitation_probability_max": 30,
                   "wind_speed_max": 20.0, "uv_index_max": 0.5,
                   "sunrise": "2026-11-%02dT07:50" % (24 + i),
                   "sunset": "2026-11-%02dT16:00" % (24 + i)} for i in range(7)],
    }


def geo_found(query, resolved_at_ms=None):
    return {"query": query, "found": True,
            "resolved_at": iso(resolved_at_ms if resolved_at_ms is not None else now_ms()),
            "place": {"id": 2950159, "name": "Berlin", "latitude": 52.52437,
                      "longitude": 13.41053, "elevation": 74.0, "country": "Germany",
                      "country_code": "DE", "admin1": "Land Berlin",
                      "timezone": "Europe/Berlin", "population": 3426354}}


def geo_not_found(query, resolved_at_ms, expires_at_ms):
    return {"query": query, "found": False, "resolved_at": iso(resolved_at_ms),
            "expires_at": iso(expires_at_ms)}


class Stack:
    """Redis + PostgreSQL + nimbus-persistence. Servers are private to the test
    (or to the test class: pass the redis and pg of an earlier Stack to start
    only a daemon, on a fresh database)."""

    def __init__(self, redis_appendonly=False, args=(), redis=None, pg=None):
        self.redis = redis or procs.Redis(appendonly=redis_appendonly).start()
        self.pg = pg or procs.Postgres().start()
        self.db = self.pg.fresh_db("persist")
        # a generous deadline unless the test is about deadlines: the suite runs on
        # loaded machines and a slow first statement must not read as an outage
        self.args = list(args)
        if "--backend-timeout-ms" not in self.args:
            self.args += ["--backend-timeout-ms", 2000]
        self.daemon = None
        self.start_daemon()

    def start_daemon(self, db=None, args=None):
        self.port = procs.free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        argv = [procs.binary(BIN), "--port", self.port, "--redis-url", self.redis.url,
                "--postgres-dsn", self.pg.dsn(db or self.db), "--workers", 8,
                "--access-log", "false"] + (self.args if args is None else list(args))
        self.daemon = procs.Daemon("persistence", argv,
                                   ready_url=self.base + "/readyz").start()
        return self.daemon

    def stop_daemon(self):
        """Stops the daemon (SIGTERM) and returns a list of problems: a non-zero
        exit (sanitizer builds exit non-zero on leaks) or sanitizer reports."""
        problems = []
        rc = self.daemon.stop()
        if rc != 0:
            problems.append("persistence exited with %s" % rc)
        for line in self.daemon.log_text().splitlines():
            if "Sanitizer" in line or "runtime error:" in line:
                problems.append(line)
        return problems

    def url(self, path):
        return self.base + path

    def metric(self, name, labels=""):
        """Value of one metric line (0 if absent)."""
        from nimbus_harness import http
        text = http.get(self.url("/metrics")).text()
        want = name + ("{%s}" % labels if labels else "")
        for line in text.splitlines():
            if line.startswith(want + " "):
                return float(line.split()[-1])
        return 0.0

    def redis_version(self, key, ns="rec"):
        """fetched_at/resolved_at (ms) Redis holds for key, or None."""
        out = self.redis.cli("HGET", "nimbus:%s:%s" % (ns, key), "v").strip()
        return int(out) if out else None

    def post(self, path, doc):
        from nimbus_harness import http
        return http.request("POST", self.url(path), body=doc)

    def outbox_rows(self, where="true"):
        """Outbox rows as dicts: id, key, event (parsed), sent (bool), seq."""
        import json
        rows = self.pg.psql("SELECT id, key, event::text, sent_at IS NOT NULL, seq FROM outbox"
                            " WHERE %s ORDER BY seq" % where, db=self.db)
        return [{"id": r[0], "key": r[1], "event": json.loads(r[2]), "sent": r[3] == "t",
                 "seq": int(r[4])} for r in rows]

    def pg_version(self, key):
        rows = self.pg.psql("SELECT fetched_at_ms FROM records WHERE key = '%s'" % key,
                            db=self.db)
        return int(rows[0][0]) if rows else None


def require_built():
    testing.require_binary(BIN)


def main():
    testing.main()


if __name__ == "__main__":
    print("helpers only; run test_persistence.py or test_persistence_degraded.py",
          file=sys.stderr)
    sys.exit(os.EX_USAGE)
