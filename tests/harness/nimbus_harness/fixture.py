"""fixture — the integration suite's shared servers (a ctest fixture).

    python3 -m nimbus_harness.fixture start <statedir>
    python3 -m nimbus_harness.fixture stop <statedir>

start launches Redis, PostgreSQL (database "nimbus"), the dev Kafka broker (topic
weather.notifications) and, if it is built, the weather simulator, as detached
processes (they outlive this command), waits until each is ready and writes
<statedir>/servers.json. A leftover set from an interrupted run is stopped
first. If any server fails to start, the ones already started are stopped.
stop stops every server listed there (and removes nothing else).

Tests read the file through shared() (path in $NIMBUS_SERVERS_JSON). Tests that
kill or stop servers start private ones with the classes in procs instead.
"""
import json
import os
import signal
import sys
import time
import types

from . import procs

TOPIC = "weather.notifications"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purpose.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _stop_pid(name, pid, sig=signal.SIGTERM, timeout=15):
    """Signals pid's process group (detached servers lead their own group), waits
    for it to go, SIGKILLs after timeout. Returns True if it had to kill."""
    if not pid or not _pid_alive(pid):
        return False
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return False
        time.sleep(0.05)
    print("fixture: %s (pid %d) ignored signal %d for %ds, killing" % (name, pid, sig, timeout),
          file=sys.stderr)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


def _state_file(statedir):
    return os.path.join(statedir, "servers.json")


def stop(statedir):
    path = _state_file(statedir)
    if not os.path.exists(path):
        print("fixture: no %s, nothing to stop" % path)
        return 0
    with open(path) as f:
        state = json.load(f)
    # Reverse order of start; PostgreSQL's fast shutdown is SIGINT.
    order = [("sim", signal.SIGTERM), ("kafka", signal.SIGTERM),
             ("postgres", signal.SIGINT), ("redis", signal.SIGTERM)]
    killed = []
    for name, sig in order:
        s = state.get(name)
        if s and s.get("pid"):
            if _stop_pid(name, s["pid"], sig):
                killed.append(name)
    os.rename(path, path + ".stopped")
    print("fixture: stopped %s" % ", ".join(n for n, _ in order if state.get(n)))
    return 1 if killed else 0


def start(statedir):
    statedir = os.path.abspath(statedir)
    os.makedirs(statedir, exist_ok=True)
    if os.path.exists(_state_file(statedir)):
        print("fixture: stopping servers left over from an earlier run")
        stop(statedir)
    started = []
    try:
        state = {}
        redis = procs.Redis(os.path.join(statedir, "redis"), detached=True)
        # Remove old data so each run starts from empty servers.
        _clean_dir(redis.tmpdir)
        redis.start()
        started.append(("redis", redis.pid, signal.SIGTERM))
        state["redis"] = {"port": redis.port, "url": redis.url, "pid": redis.pid,
                          "log": redis.proc.logfile}

        pgdir = os.path.join(statedir, "pg")
        _clean_dir(pgdir)
        pg = procs.Postgres(pgdir, detached=True)
        pg.start()
        started.append(("postgres", pg.pid, signal.SIGINT))
        pg.createdb("nimbus")
        state["postgres"] = {"port": pg.port, "dsn": pg.dsn("nimbus"), "db": "nimbus",
                             "datadir": pg.datadir, "pid": pg.pid, "log": pg.proc.logfile}

        kdir = os.path.join(statedir, "kafka")
        _clean_dir(kdir)
        kafka = procs.KafkaBroker(kdir, TOPIC, detached=True)
        kafka.start()
        started.append(("kafka", kafka.pid, signal.SIGTERM))
        state["kafka"] = {"bootstrap": kafka.bootstrap, "topic": TOPIC, "pid": kafka.pid,
                          "log": kafka.proc.logfile}

        state["sim"] = None
        if procs.have_binary("weather-sim"):
            port = procs.free_port()
            sdir = os.path.join(statedir, "sim")
            _clean_dir(sdir)
            sim = procs.Daemon("weather-sim", [procs.binary("weather-sim"), "--port", port],
                               ready_url="http://127.0.0.1:%d/healthz" % port, tmpdir=sdir,
                               detached=True)
            sim.start()
            started.append(("sim", sim.pid, signal.SIGTERM))
            base = "http://127.0.0.1:%d" % port
            state["sim"] = {"port": port, "url": base, "forecast_url": base + "/v1/forecast",
                            "geocoding_url": base + "/v1/search", "pid": sim.pid,
                            "log": sim.logfile}
        else:
            print("fixture: weather-sim not built (%s); shared simulator not started"
                  % procs.binary("weather-sim"))

        tmp = _state_file(statedir) + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f, indent=2)
        os.rename(tmp, _state_file(statedir))
        print("fixture: servers ready:\n" + json.dumps(state, indent=2))
        return 0
    except BaseException:
        for name, pid, sig in reversed(started):
            _stop_pid(name, pid, sig)
        raise


def _clean_dir(d):
    import shutil
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d, exist_ok=True)


def _ns(d):
    if isinstance(d, dict):
        return types.SimpleNamespace(**{k: _ns(v) for k, v in d.items()})
    return d


class Shared:
    """The shared servers: redis (procs.Redis handle: url, port, cli()), postgres
    (procs.Postgres handle: dsn(db), psql(), createdb(), fresh_db()), kafka
    (procs.KafkaBroker handle: bootstrap, topic, consume(), produce()) and sim
    (namespace with port, url, forecast_url, geocoding_url; None if not built).
    Don't stop, kill or down() shared servers: other tests use them."""

    def __init__(self, state):
        self.state = state
        r, p, k = state["redis"], state["postgres"], state["kafka"]
        self.redis = procs.Redis.attach(r["port"])
        self.postgres = procs.Postgres.attach(p["port"], p.get("datadir"))
        self.kafka = procs.KafkaBroker.attach(k["bootstrap"], k["topic"], k.get("pid"))
        self.sim = _ns(state.get("sim"))


def shared():
    """The shared servers of the running ctest fixture; raises AssertionError (with
    the reason) when the test was started without them."""
    path = os.environ.get("NIMBUS_SERVERS_JSON")
    if not path:
        raise AssertionError("NIMBUS_SERVERS_JSON is not set: run through ctest "
                             "(FIXTURES_REQUIRED servers) or start the fixture yourself")
    if not os.path.exists(path):
        raise AssertionError("%s does not exist: the servers_start fixture did not run" % path)
    with open(path) as f:
        return Shared(json.load(f))


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print("usage: python3 -m nimbus_harness.fixture start|stop <statedir>", file=sys.stderr)
        return 2
    return start(argv[2]) if argv[1] == "start" else stop(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
