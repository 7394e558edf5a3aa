"""Helpers shared by the api integration tests (not a test itself).

ApiStack wires a nimbus-persistence (fresh PostgreSQL database, Redis db 1
flushed) and a nimbus-api to the suite's shared servers: the weather simulator
as upstream and the dev Kafka broker (or a private broker when asked). Records
are built here in the proto/record.schema.json shape.
"""
import datetime
import json
import time
import urllib.parse

from nimbus_harness import http, procs, schema, shared, testing
from nimbus_harness.sim import WeatherSim

REDIS_DB = 1  # api tests own this Redis database of the shared server
# The simulator has no limits: tests not about the upstream budget lift
# Open-Meteo's (a test's own api_args come later and win).
SIM_BUDGET = ["--upstream-pace-per-min", "1000000", "--upstream-budget-per-hour", "0",
              "--upstream-budget-per-day", "0"]


def iso(ms):
    dt = datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def now_ms():
    return int(time.time() * 1000)


def record(key, fetched_at_ms, temperature=42.4, observation="2026-11-24T01:00"):
    """A stored record with a distinctive temperature, so a test can tell it
    from what the simulator would answer."""
    lat, lon = (float(x) for x in key.split(","))
    return {
        "key": key, "latitude": lat, "longitude": lon, "fetched_at": iso(fetched_at_ms),
        "timezone": "Europe/Berlin", "timezone_abbreviation": "CET", "utc_offset_seconds": 3600,
        "elevation": 38.0,
        "current": {"time": observation, "temperature": temperature,
                    "apparent_temperature": 40.0, "relative_humidity": 50, "weather_code": 0,
                    "wind_speed": 5.0, "wind_direction": 180, "wind_gusts": 9.0,
                    "precipitation": 0.0, "cloud_cover": 0, "pressure_msl": 1015.0,
                    "is_day": True},
        "daily": [{"date": "2026-11-%02d" % (24 + i), "weather_code": 0,
                   "temperature_max": 45.0, "temperature_min": 30.0, "precipitation_sum": 0.0,
                   "precipitation_probability_max": 0, "wind_speed_max": 10.0,
                   "uv_index_max": 1.0, "sunrise": "2026-11-%02dT07:50" % (24 + i),
                   "sunset": "2026-11-%02dT16:00" % (24 + i)} for i in range(7)],
    }


class ApiStack:
    """persistence + api on free ports, wired to the shared servers."""

    def __init__(self, fresh_ttl_s=600, kafka=None, api_args=(), tmpdir=None, sim=None,
                 api_env=None, persistence_args=()):
        """sim: a private WeatherSim instead of the shared one; api_env: extra
        environment of the api (e.g. TZDIR); persistence_args: extra flags of
        persistence."""
        testing.require_binary("nimbus-persistence", "nimbus-api", "weather-sim")
        self.servers = shared()
        if self.servers.sim is None:
            raise AssertionError("the shared weather simulator is not running")
        self.sim = sim or WeatherSim.attach(self.servers.sim.port)
        self.kafka = kafka or self.servers.kafka
        self.fresh_ttl_s = fresh_ttl_s
        self.redis = self.servers.redis
        self.redis.cli("-n", str(REDIS_DB), "FLUSHDB")
        self.pg = self.servers.postgres
        self.db = self.pg.fresh_db("api")
        self.seeded = set()  # ids of the events the tests' own seed writes made
        self.tmpdir = tmpdir or procs.scratch_dir("api")
        pport = procs.free_port()
        self.persistence_url = "http://127.0.0.1:%d" % pport
        self.persistence = procs.Daemon(
            "persistence",
            [procs.binary("nimbus-persistence"), "--port", str(pport),
             "--redis-url", "redis://127.0.0.1:%d/%d" % (self.redis.port, REDIS_DB),
             "--postgres-dsn", self.pg.dsn(self.db)] + list(persistence_args),
            ready_url=self.persistence_url + "/readyz", tmpdir=self.tmpdir)
        self.persistence.start()
        self.api_port = procs.free_port()
        self.url = "http://127.0.0.1:%d" % self.api_port
        self.api_argv = [procs.binary("nimbus-api"), "--port", str(self.api_port),
                         "--persistence-url", self.persistence_url,
                         "--forecast-url", self.sim.forecast_url,
                         "--geocoding-url", self.sim.geocoding_url,
                         "--kafka-brokers", self.kafka.bootstrap,
                         "--fresh-ttl-s", str(fresh_ttl_s)] + SIM_BUDGET + list(api_args)
        self.api = procs.Daemon("api", self.api_argv, env=api_env, ready_url=self.url + "/readyz",
                                tmpdir=self.tmpdir)
        self.api.start()

    def stop(self):
        """Stops both daemons; each must finish its work and exit 0 on SIGTERM
        (under the sanitizers too: a report makes the exit code non-zero)."""
        rc_api = self.api.stop(timeout=20)
        rc_persistence = self.persistence.stop(timeout=20)
        assert rc_api == 0, "api exited %s on SIGTERM:\n%s" % (rc_api, self.api.log_tail())
        assert rc_persistence == 0, "persistence exited %s on SIGTERM" % rc_persistence

    # --- asking -----------------------------------------------------------
    def weather(self, headers=None, timeout=30, **params):
        return http.request("GET", self.url + "/v1/weather?" + urllib.parse.urlencode(params),
                            headers=headers, timeout=timeout)

    def metric(self, name, url=None):
        """Sum of a metric's samples whose name+labels start with name (the
        api's, or those of the daemon at url)."""
        body = http.request("GET", (url or self.url) + "/metrics").text()
        total = 0.0
        for line in body.splitlines():
            if line.startswith(name):
                total += float(line.rsplit(" ", 1)[1])
        return total

    # --- the stores behind persistence --------------------------------------
    def put_record(self, rec):
        """Seeds persistence with rec. Its outbox event (persistence makes one for a
        new observation, also for a seed) is the test's, not the api's: events_for()
        leaves it out."""
        r = http.request("PUT", self.persistence_url + "/v1/records/" + rec["key"], body=rec)
        assert r.status == 200, r.text()
        if r.json().get("event"):
            self.seeded.add(r.json()["event"])
        return r.json()

    def pg_fetched_at(self, key):
        rows = self.pg.psql("SELECT fetched_at_ms FROM records WHERE key = '%s'"
                            % key.replace("'", ""), db=self.db)
        return int(rows[0][0]) if rows else None

    def pg_record(self, key):
        rows = self.pg.psql("SELECT body FROM records WHERE key = '%s'"
                            % key.replace("'", ""), db=self.db)
        return json.loads(rows[0][0]) if rows else None

    def redis_record(self, key):
        v = self.redis.cli("-n", str(REDIS_DB), "HGET", "nimbus:rec:" + key, "d").strip()
        return json.loads(v) if v else None

    def redis_del(self, key):
        self.redis.cli("-n", str(REDIS_DB), "DEL", "nimbus:rec:" + key)

    def events_for(self, key):
        """Events in the topic for key (message key = location key), parsed; the
        events of the tests' own seed writes (put_record) left out."""
        return [ev for ev in (json.loads(m["value"]) for m in self.kafka.read_all()
                              if m["key"] == key) if ev.get("id") not in self.seeded]

    def outbox_pending(self):
        """Events persistence holds that no relay has marked sent (its stats)."""
        r = http.request("GET", self.persistence_url + "/v1/outbox/stats")
        assert r.status == 200, r.text()
        return r.json()["pending"]

    def wait_keys_events(self, keys, timeout=30):
        """Waits until every key in keys has an event in the topic (one read of
        the topic per try); returns all those events, parsed and validated."""
        want, out = set(keys), []

        def all_there():
            out[:] = [json.loads(m["value"]) for m in self.kafka.read_all()
                      if m["key"] in want]
            out[:] = [ev for ev in out if ev.get("id") not in self.seeded]
            return want <= {ev["key"] for ev in out}
        procs.wait_until(all_there, timeout, interval=0.2,
                         what="an event for each of %d keys in the topic" % len(want))
        for ev in out:
            schema.validate(ev, "event")
        return out

    def wait_events(self, key, count, timeout=30):
        out = []

        def enough():
            out[:] = self.events_for(key)
            return len(out) >= count
        procs.wait_until(enough, timeout, interval=0.2,
                         what="%d event(s) for %s in the topic" % (count, key))
        for ev in out:
            schema.validate(ev, "event")
        return out


class ApiTestCase(testing.TestCase):
    def assertWeather(self, resp, x_cache, source):
        """A 200 weather answer: valid document, the cache state and source shown
        in X-Cache, X-Source, Cache-Status and the body, and validators present."""
        self.assertEqual(resp.status, 200, resp.body[:300])
        doc = resp.json()
        schema.validate(doc, "weather")
        self.assertHeader(resp, "X-Cache", x_cache)
        self.assertHeader(resp, "X-Source", source)
        self.assertEqual(doc["freshness"]["source"], source)
        self.assertTrue(self.assertHeader(resp, "ETag").startswith('W/"'))
        self.assertHeader(resp, "Last-Modified")
        self.assertGreaterEqual(int(self.assertHeader(resp, "Age")), 0)
        self.assertIsNone(resp.headers.get("Warning"))
        status = self.assertHeader(resp, "Cache-Status")
        self.assertTrue(status.startswith("nimbus; "), status)
        return doc


class Replicas:
    """Several api and persistence processes of one service: n_persistence
    persistence replicas on one Redis (db 1, flushed) and one fresh PostgreSQL
    database, and n_api api replicas on the shared simulator and Kafka; api i
    talks to persistence i % n_persistence, so replicas meet only through
    Redis and PostgreSQL. budget: the api's upstream budget flags (default: the
    simulator's, unlimited)."""

    def __init__(self, n_api=3, n_persistence=2, api_args=(), budget=None, tmpdir=None):
        testing.require_binary("nimbus-persistence", "nimbus-api", "weather-sim")
        self.servers = shared()
        if self.servers.sim is None:
            raise AssertionError("the shared weather simulator is not running")
        self.sim = WeatherSim.attach(self.servers.sim.port)
        self.redis = self.servers.redis
        self.redis.cli("-n", str(REDIS_DB), "FLUSHDB")
        self.pg = self.servers.postgres
        self.db = self.pg.fresh_db("replicas")
        self.tmpdir = tmpdir or procs.scratch_dir("replicas")
        self.persistence, self.persistence_urls = [], []
        for i in range(n_persistence):
            port = procs.free_port()
            url = "http://127.0.0.1:%d" % port
            d = procs.Daemon(
                "persistence-%d" % (i + 1),
                [procs.binary("nimbus-persistence"), "--port", str(port),
                 "--redis-url", "redis://127.0.0.1:%d/%d" % (self.redis.port, REDIS_DB),
                 "--postgres-dsn", self.pg.dsn(self.db), "--backend-timeout-ms", "2000",
                 "--access-log", "false"],
                ready_url=url + "/readyz", tmpdir=self.tmpdir)
            d.start()
            self.persistence.append(d)
            self.persistence_urls.append(url)
        self.api, self.urls, self.argvs = [], [], []
        for i in range(n_api):
            port = procs.free_port()
            url = "http://127.0.0.1:%d" % port
            argv = [procs.binary("nimbus-api"), "--port", str(port),
                    "--persistence-url", self.persistence_urls[i % n_persistence],
                    "--forecast-url", self.sim.forecast_url,
                    "--geocoding-url", self.sim.geocoding_url,
                    "--kafka-brokers", self.servers.kafka.bootstrap,
                    "--access-log", "false"] + (SIM_BUDGET if budget is None else list(budget)) \
                + list(api_args)
            d = procs.Daemon("api-%d" % (i + 1), argv, ready_url=url + "/readyz",
                             tmpdir=self.tmpdir)
            d.start()
            self.api.append(d)
            self.urls.append(url)
            self.argvs.append(argv)

    def weather(self, i, headers=None, timeout=30, **params):
        """GET /v1/weather on api replica i."""
        return http.request("GET", self.urls[i] + "/v1/weather?" + urllib.parse.urlencode(params),
                            headers=headers, timeout=timeout)

    def metric(self, i, name):
        body = http.request("GET", self.urls[i] + "/metrics").text()
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                   if line.startswith(name))

    def persistence_metric(self, i, name):
        body = http.request("GET", self.persistence_urls[i] + "/metrics").text()
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                   if line.startswith(name))

    def lease_ttl_ms(self, kind, key):
        """PTTL of a renewal lease in Redis (-2: none)."""
        return int(self.redis.cli("-n", str(REDIS_DB), "PTTL",
                                  "nimbus:lease:%s:%s" % (kind, key)).strip())

    def pg_fetched_at(self, key):
        rows = self.pg.psql("SELECT fetched_at_ms FROM records WHERE key = '%s'"
                            % key.replace("'", ""), db=self.db)
        return int(rows[0][0]) if rows else None

    def put_record(self, rec):
        r = http.request("PUT", self.persistence_urls[0] + "/v1/records/" + rec["key"], body=rec)
        assert r.status == 200, r.text()

    def restart_api(self, i):
        """A new api process for replica i (same flags), after a kill."""
        port = int(self.argvs[i][self.argvs[i].index("--port") + 1])
        self.api[i] = procs.Daemon("api-%d" % (i + 1), self.argvs[i],
                                   ready_url="http://127.0.0.1:%d/readyz" % port,
                                   tmpdir=self.tmpdir)
        self.api[i].start()

    def stop(self):
        """SIGTERM to every process; each must exit 0 (a killed one is skipped)."""
        problems = []
        for d in self.api + self.persistence:
            if d.alive():
                rc = d.stop(timeout=20)
                if rc != 0:
                    problems.append("%s exited %s:\n%s" % (d.name, rc, d.log_tail()))
        assert not problems, "\n".join(problems)
