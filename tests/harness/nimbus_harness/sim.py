"""sim — the weather simulator (tools/weather-sim) from a test's point of view.

    sim = WeatherSim.start()            # a private simulator on a free port
    sim = WeatherSim.attach(port)       # one somebody else started
    sim = WeatherSim.shared()           # the ctest fixture's shared simulator

    sim.forecast_url / sim.geocoding_url   base URLs to hand to the api
    sim.reset()                             faults, latency, counters, clock shift
    sim.counters()                          {"forecast": n, "search": n}
    sim.latency(500, endpoint="forecast")   added delay before answering
    sim.fail(503, count=2)                  next answers get that status
    sim.fail(429, reason="hourly")          ... with Open-Meteo's 429 reasons
    sim.fault("truncated", count=1)         malformed|truncated|oversized|hang|
                                            drip|invalid_timezone|empty
    sim.clock(900)                          simulated time = now + 900 s

Control calls raise AssertionError when the simulator refuses them. The shared
simulator is used by every test: reset() it in setUp and never stop it.
"""
import json
import urllib.parse

from . import http, procs


class WeatherSim:
    def __init__(self, port, host="127.0.0.1", daemon=None):
        self.host = host
        self.port = int(port)
        self.daemon = daemon

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def start(cls, args=(), env=None, port=None, name="weather-sim"):
        """Starts a private simulator (extra command-line args allowed) and waits
        until /healthz answers. Stopped by stop() or at interpreter exit."""
        exe = procs.binary("weather-sim")
        port = port or procs.free_port()
        argv = [exe, "--port", str(port)] + [str(a) for a in args]
        d = procs.Daemon(name, argv, env=env,
                         ready_url="http://127.0.0.1:%d/healthz" % port)
        d.start()
        return cls(port, daemon=d)

    @classmethod
    def attach(cls, port, host="127.0.0.1"):
        """A handle on a simulator started elsewhere (not stopped by this object)."""
        return cls(port, host=host)

    @classmethod
    def shared(cls):
        """The simulator of the ctest 'servers' fixture (AssertionError if absent)."""
        from .fixture import shared
        s = shared().sim
        if s is None:
            raise AssertionError("the shared fixture has no weather simulator (not built?)")
        return cls.attach(s.port)

    def stop(self, timeout=15):
        """SIGTERM (own simulator only); returns the exit code."""
        if self.daemon is None:
            raise AssertionError("this simulator was attached, not started here")
        return self.daemon.stop(timeout)

    # ------------------------------------------------------------ URLs

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    @property
    def forecast_url(self):
        return self.url + "/v1/forecast"

    @property
    def geocoding_url(self):
        return self.url + "/v1/search"

    # ------------------------------------------------------------ controls

    def _control(self, path, **params):
        q = {k: v for k, v in params.items() if v is not None}
        url = self.url + path + ("?" + urllib.parse.urlencode(q) if q else "")
        r = http.request("POST", url, timeout=10)
        if r.status != 200:
            raise AssertionError("weather-sim refused %s: %d %r" % (url, r.status, r.body))
        return r.json()

    def reset(self):
        return self._control("/_sim/reset")

    def counters(self):
        r = http.request("GET", self.url + "/_sim/counters", timeout=10)
        if r.status != 200:
            raise AssertionError("weather-sim counters: %d %r" % (r.status, r.body))
        return r.json()

    def state(self):
        """Counters, latency, clock shift and pending rules (for debugging)."""
        return http.request("GET", self.url + "/_sim/state", timeout=10).json()

    def latency(self, ms, endpoint=None):
        return self._control("/_sim/latency", ms=int(ms), endpoint=endpoint)

    def fail(self, status, count=1, endpoint=None, reason=None):
        return self._control("/_sim/fail", status=int(status), count=int(count),
                             endpoint=endpoint, reason=reason)

    def fault(self, kind, count=1, endpoint=None):
        return self._control("/_sim/fault", kind=kind, count=int(count), endpoint=endpoint)

    def clock(self, shift_s):
        return self._control("/_sim/clock", shift_s=int(shift_s))

    # ------------------------------------------------------------ requests

    def forecast(self, timeout=10, **params):
        """GET /v1/forecast?params (lists are joined with commas) -> http.Response."""
        return http.request("GET", self.forecast_url + "?" + _query(params), timeout=timeout)

    def search(self, timeout=10, **params):
        """GET /v1/search?params -> http.Response."""
        return http.request("GET", self.geocoding_url + "?" + _query(params), timeout=timeout)


def _query(params):
    flat = {}
    for k, v in params.items():
        if isinstance(v, (list, tuple)):
            v = ",".join(str(x) for x in v)
        flat[k] = v
    return urllib.parse.urlencode(flat)


def ordered(body):
    """Parses JSON keeping key order: objects become lists of (key, value)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return json.loads(body, object_pairs_hook=list)
