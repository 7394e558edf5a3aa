"""procs — real servers and daemons for integration tests, never left behind.

Every process started here runs in its own process group. Unless it is started
"detached" (the shared fixture servers, which must outlive the starting
process), it is registered for clean-up: at interpreter exit (also after a
failed test, SIGTERM or SIGINT) its whole group gets SIGTERM, then SIGKILL, and
the kernel kills it if the test process dies without running clean-up at all
(PR_SET_PDEATHSIG). Nothing here waits with a bare sleep: wait_until() polls a
condition up to a deadline and fails with a message saying what it waited for.

Binaries come from the build tree named by $NIMBUS_BUILD_DIR (see binary()).
"""
import atexit
import ctypes
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

PG_BIN = "/usr/lib/postgresql/15/bin"

_BINARIES = {
    "nimbus-persistence": "services/persistence/nimbus-persistence",
    "nimbus-api": "services/api/nimbus-api",
    "nimbus-front": "services/front/nimbus-front",
    "nimbus-notifier": "services/notifier/nimbus-notifier",
    "weather-sim": "tools/weather-sim/weather-sim",
    "kafka-dev-broker": "tools/kafka-dev-broker/kafka-dev-broker",
}

# ---------------------------------------------------------------- utilities

_handed_out = set()


def free_port():
    """A loopback TCP port that is free now (and not handed out before by this process)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port found")


def port_open(port, host="127.0.0.1"):
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class WaitTimeout(AssertionError):
    pass


class Fatal(AssertionError):
    """Raised by a wait_until() condition to stop waiting at once (e.g. the
    process being waited for has exited)."""


def wait_until(pred, timeout, interval=0.02, what="condition"):
    """Calls pred() until it returns a truthy value (returned) or timeout seconds
    pass (raises WaitTimeout naming `what` and the last exception, if any)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
            last_exc = None
        except Fatal:
            raise
        except Exception as e:  # the condition may raise while not yet true
            last_exc = e
        if time.monotonic() >= deadline:
            msg = "timed out after %.1fs waiting for %s" % (timeout, what)
            if last_exc is not None:
                msg += " (last error: %r)" % (last_exc,)
            raise WaitTimeout(msg)
        time.sleep(interval)


def build_dir():
    d = os.environ.get("NIMBUS_BUILD_DIR")
    if d:
        return d
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "..", "build")


def binary(name):
    """Path of a build-tree binary (e.g. "nimbus-api", "weather-sim"); it may not exist."""
    rel = _BINARIES.get(name, name)
    return os.path.normpath(os.path.join(build_dir(), rel))


def have_binary(name):
    p = binary(name)
    return os.path.isfile(p) and os.access(p, os.X_OK)


_tmp_root = None


def scratch_dir(name="t"):
    """A fresh directory for one server's files, under a per-process temp root that
    is removed at exit (kept when NIMBUS_KEEP_TMP=1). Short paths: PostgreSQL's
    unix socket path must fit in 107 bytes."""
    global _tmp_root
    if _tmp_root is None:
        _tmp_root = tempfile.mkdtemp(prefix="nimbus-")
    return tempfile.mkdtemp(prefix=name + "-", dir=_tmp_root)


def _tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "(no log: %s)" % e
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


# ---------------------------------------------------------------- processes

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)  # loaded before any fork


def _die_with_parent(sig=signal.SIGKILL):
    """A preexec_fn: the child gets sig when its parent (the thread that started
    it; start servers from the main thread) dies."""
    def preexec():
        _libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    return preexec


_live = []  # Proc objects to clean up at exit
_ended = []  # Proc objects stopped or killed (their logs stay until exit)


class Proc:
    """One started process (own process group) with its output in a log file."""

    def __init__(self, name, argv, logfile, env=None, cwd=None, detached=False, user=None,
                 base_env=None, death_signal=signal.SIGKILL):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.logfile = logfile
        self.detached = detached
        full_env = dict(os.environ if base_env is None else base_env)
        if env:
            full_env.update({k: str(v) for k, v in env.items()})
        with open(logfile, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=full_env, cwd=cwd, start_new_session=True,
                preexec_fn=None if detached else _die_with_parent(death_signal),
                **_as_user(user))
        self.pid = self.popen.pid
        if not detached:
            _live.append(self)

    def alive(self):
        return self.popen.poll() is None

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Sends sig, waits up to timeout; SIGKILLs the group after that and raises.
        Returns the exit code (negative: killed by that signal)."""
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                rc = self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("%s (pid %d) did not stop within %ss after signal %d:\n%s"
                                     % (self.name, self.pid, timeout, sig, _tail(self.logfile)))
        else:
            rc = self.popen.returncode
        _killpg(self.pid, signal.SIGKILL)  # leftovers of the group, if any
        self._forget()
        return rc

    def kill(self):
        """SIGKILL to the whole process group; returns once the process is reaped."""
        _killpg(self.pid, signal.SIGKILL)
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._forget()

    def _forget(self):
        if self in _live:
            _live.remove(self)
            _ended.append(self)

    def log_text(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=40):
        return _tail(self.logfile, lines)


def _as_user(user):
    """Popen arguments that run the child as user (a pwd entry), or none."""
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _cleanup():
    for p in list(_live):
        _killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    for p in list(_live):
        try:
            p.popen.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        _killpg(p.pid, signal.SIGKILL)
        try:
            p.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
    _live.clear()
    if _tmp_root and os.environ.get("NIMBUS_KEEP_TMP") != "1":
        shutil.rmtree(_tmp_root, ignore_errors=True)


atexit.register(_cleanup)


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through atexit


for _sig in (signal.SIGTERM, signal.SIGHUP):
    if signal.getsignal(_sig) == signal.SIG_DFL:
        signal.signal(_sig, _exit_on_signal)


def _http_status(url, timeout=1.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


class Daemon:
    """A nimbus daemon (or any program): output to <tmpdir>/<name>.log; start()
    waits until ready_url answers 200 (or ready_port accepts connections), failing
    early with the log tail if the process exits."""

    def __init__(self, name, argv, env=None, ready_url=None, ready_port=None, tmpdir=None,
                 ready_timeout=30, detached=False):
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.ready_url = ready_url
        self.ready_port = ready_port
        self.tmpdir = tmpdir or scratch_dir(name)
        self.ready_timeout = ready_timeout
        self.detached = detached
        self.logfile = os.path.join(self.tmpdir, name + ".log")
        self.proc = None

    def start(self):
        self.proc = Proc(self.name, self.argv, self.logfile, env=self.env,
                         detached=self.detached)
        self.wait_ready()
        return self

    def wait_ready(self, timeout=None):
        def ready():
            if not self.proc.alive():
                raise _Died()
            if self.ready_url:
                return _http_status(self.ready_url) == 200
            if self.ready_port:
                return port_open(self.ready_port)
            return True
        what = "%s to be ready (%s)" % (self.name, self.ready_url or self.ready_port or "running")
        try:
            wait_until(ready, timeout or self.ready_timeout, interval=0.05, what=what)
        except _Died:
            raise AssertionError("%s exited with code %s before it was ready; log tail:\n%s"
                                 % (self.name, self.proc.popen.returncode, self.log_tail()))
        except WaitTimeout as e:
            tail = self.log_tail()
            self.proc.kill()
            raise AssertionError("%s; log tail:\n%s" % (e, tail))

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return bool(self.proc) and self.proc.alive()

    def stop(self, timeout=15):
        """SIGTERM, wait (deadline); returns the exit code."""
        return self.proc.stop(signal.SIGTERM, timeout) if self.proc else None

    def kill(self):
        if self.proc:
            self.proc.kill()

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def log_text(self):
        return self.proc.log_text() if self.proc else ""

    def log_tail(self, lines=40):
        return _tail(self.logfile, lines)

    def log_json(self):
        """The log's JSON lines, parsed (other lines skipped)."""
        out = []
        for line in self.log_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out


class _Died(Fatal):
    pass


def _run(argv, timeout=60, check=True, input=None, env=None, user=None):
    r = subprocess.run([str(a) for a in argv], input=input, capture_output=True,
                       timeout=timeout, env=env, **_as_user(user))
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(map(str, argv)), r.returncode,
                                                   r.stderr.decode("utf-8", "replace").strip()))
    return r


# ---------------------------------------------------------------- Redis

class Redis:
    """A private redis-server on 127.0.0.1:port with its files in tmpdir.
    appendonly=True keeps data across restart(); otherwise a restart starts empty."""

    def __init__(self, tmpdir=None, port=None, appendonly=False, detached=False, args=()):
        self.tmpdir = tmpdir or scratch_dir("redis")
        os.makedirs(self.tmpdir, exist_ok=True)
        self.port = port or free_port()
        self.appendonly = appendonly
        self.detached = detached
        self.args = [str(a) for a in args]  # more redis-server options, e.g. --replicaof
        self.proc = None

    @classmethod
    def attach(cls, port):
        """A handle on a Redis someone else started (cli/url only)."""
        r = cls.__new__(cls)
        r.tmpdir, r.port, r.appendonly, r.detached, r.proc = None, port, False, True, None
        r.args = []
        return r

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=15):
        argv = ["redis-server", "--port", self.port, "--bind", "127.0.0.1",
                "--dir", self.tmpdir, "--save", "", "--daemonize", "no",
                "--appendonly", "yes" if self.appendonly else "no",
                "--protected-mode", "no"] + self.args
        self.proc = Proc("redis", argv, os.path.join(self.tmpdir, "redis.log"),
                         detached=self.detached)

        def ready():
            if not self.proc.alive():
                raise Fatal("redis-server exited (%s):\n%s"
                                     % (self.proc.popen.returncode, self.proc.log_tail()))
            return self.ping()
        try:
            wait_until(ready, timeout, what="redis on port %d" % self.port)
        except WaitTimeout as e:
            raise AssertionError("%s\n%s" % (e, self.proc.log_tail()))
        return self

    def ping(self):
        try:
            return self.cli("PING").strip() == "PONG"
        except Exception:
            return False

    def cli(self, *args, timeout=10):
        """redis-cli -p PORT args...; returns stdout text (raises on a non-zero exit)."""
        r = _run(["redis-cli", "-h", "127.0.0.1", "-p", self.port] + list(args), timeout=timeout)
        return r.stdout.decode("utf-8", "replace")

    def stop(self, timeout=15):
        if self.proc:
            rc = self.proc.stop(signal.SIGTERM, timeout)
            wait_until(lambda: not port_open(self.port), 10, what="redis port %d closed" % self.port)
            return rc
        return None

    def kill(self):
        if self.proc:
            self.proc.kill()

    def restart(self):
        """Stops (if running) and starts again on the same port."""
        if self.proc and self.proc.alive():
            self.stop()
        return self.start()


class Sentinel:
    """A redis-sentinel (Debian's redis-sentinel) on 127.0.0.1:port watching the
    master `name` at 127.0.0.1:master_port, with a quorum of `quorum` sentinels
    and a short down-after time, so failovers happen within seconds in tests.
    Its config file lives in tmpdir (sentinels rewrite it)."""

    def __init__(self, master_port, name="mymaster", quorum=2, down_after_ms=1000,
                 failover_timeout_ms=5000, tmpdir=None, port=None):
        self.tmpdir = tmpdir or scratch_dir("sentinel")
        os.makedirs(self.tmpdir, exist_ok=True)
        self.port = port or free_port()
        self.name = name
        self.conf = os.path.join(self.tmpdir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\n"
                    "sentinel monitor %s 127.0.0.1 %d %d\n"
                    "sentinel down-after-milliseconds %s %d\n"
                    "sentinel failover-timeout %s %d\n"
                    "sentinel parallel-syncs %s 1\n"
                    % (self.port, self.tmpdir, name, master_port, quorum, name, down_after_ms,
                       name, failover_timeout_ms, name))
        self.proc = None

    def start(self, timeout=15):
        self.proc = Proc("redis-sentinel", ["redis-sentinel", self.conf],
                         os.path.join(self.tmpdir, "sentinel.log"))

        def ready():
            if not self.proc.alive():
                raise Fatal("redis-sentinel exited (%s):\n%s"
                            % (self.proc.popen.returncode, self.proc.log_tail()))
            return self.master() is not None
        wait_until(ready, timeout, what="sentinel on port %d" % self.port)
        return self

    def cli(self, *args, timeout=10):
        r = _run(["redis-cli", "-h", "127.0.0.1", "-p", self.port] + list(args), timeout=timeout)
        return r.stdout.decode("utf-8", "replace")

    def master(self):
        """(host, port) this sentinel names as the master now, or None."""
        try:
            out = self.cli("SENTINEL", "get-master-addr-by-name", self.name).split()
        except Exception:
            return None
        return (out[0], int(out[1])) if len(out) == 2 else None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def stop(self, timeout=15):
        return self.proc.stop(signal.SIGTERM, timeout) if self.proc else None


# ---------------------------------------------------------------- PostgreSQL

def _server_user():
    """PostgreSQL refuses to run as root: when we are root, the pwd entry of the
    unprivileged account to run it as (postgres, else nobody); None otherwise."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    raise AssertionError("running as root and no postgres/nobody account to run PostgreSQL as")


def _give_dir(path, user):
    """Makes path owned by user and every parent traversable by it (o+x)."""
    os.makedirs(path, exist_ok=True)
    for root, dirs, files in os.walk(path):
        for n in [root] + [os.path.join(root, d) for d in dirs] + \
                [os.path.join(root, f) for f in files]:
            os.lchown(n, user.pw_uid, user.pw_gid)
    parent = os.path.dirname(os.path.abspath(path))
    while parent and parent != "/":
        st = os.stat(parent)
        if not st.st_mode & stat.S_IXOTH:
            os.chmod(parent, st.st_mode | stat.S_IXOTH)
        parent = os.path.dirname(parent)


class Postgres:
    """A private PostgreSQL 15 cluster in tmpdir (trust auth, superuser nimbus, UTF8),
    listening on 127.0.0.1:port with its unix socket in tmpdir. The postmaster is a
    direct child (so it dies with the test process); pg_ctl is used to stop it.
    As root, the server runs as the postgres account, which then owns tmpdir."""

    def __init__(self, tmpdir=None, port=None, detached=False):
        self.tmpdir = tmpdir or scratch_dir("pg")
        self.datadir = os.path.join(self.tmpdir, "data")
        self.port = port or free_port()
        self.detached = detached
        self.proc = None
        self.user = _server_user()
        if self.user:
            _give_dir(self.tmpdir, self.user)

    @classmethod
    def attach(cls, port, datadir=None):
        p = cls.__new__(cls)
        p.tmpdir, p.datadir, p.port, p.detached, p.proc = None, datadir, port, True, None
        p.user = _server_user()
        return p

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def dsn(self, db="nimbus"):
        return "host=127.0.0.1 port=%d dbname=%s user=nimbus" % (self.port, db)

    def _initdb(self):
        if os.path.exists(os.path.join(self.datadir, "PG_VERSION")):
            return
        _run([os.path.join(PG_BIN, "initdb"), "-D", self.datadir, "-U", "nimbus",
              "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], timeout=120,
             user=self.user)

    def start(self, timeout=30):
        self._initdb()
        argv = [os.path.join(PG_BIN, "postgres"), "-D", self.datadir,
                "-c", "listen_addresses=127.0.0.1", "-c", "port=%d" % self.port,
                "-c", "unix_socket_directories=%s" % self.tmpdir,
                "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "max_connections=200"]
        self.proc = Proc("postgres", argv, os.path.join(self.tmpdir, "postgres.log"),
                         detached=self.detached, user=self.user)

        def ready():
            if not self.proc.alive():
                raise _Died()
            r = _run([os.path.join(PG_BIN, "pg_isready"), "-h", "127.0.0.1", "-p", self.port,
                      "-U", "nimbus", "-d", "postgres", "-t", "1"], check=False)
            return r.returncode == 0
        try:
            wait_until(ready, timeout, interval=0.05, what="postgres on port %d" % self.port)
        except (_Died, WaitTimeout) as e:
            raise AssertionError("postgres did not start (%s):\n%s"
                                 % (e.__class__.__name__, self.proc.log_tail()))
        return self

    def stop(self, timeout=30):
        """Fast shutdown (pg_ctl stop -m fast); returns the postmaster's exit code."""
        if not self.proc or not self.proc.alive():
            return self.proc.popen.returncode if self.proc else None
        _run([os.path.join(PG_BIN, "pg_ctl"), "stop", "-D", self.datadir, "-m", "fast",
              "-w", "-t", str(timeout)], timeout=timeout + 5, check=False, user=self.user)
        return self.proc.stop(signal.SIGINT, timeout)  # already gone: just reaps

    def kill(self):
        if self.proc:
            self.proc.kill()

    def restart(self):
        if self.proc and self.proc.alive():
            self.stop()
        return self.start()

    def psql(self, sql, db="nimbus", timeout=30):
        """Runs sql; returns rows as lists of strings (psql -At -F TAB)."""
        r = _run([os.path.join(PG_BIN, "psql"), "-h", "127.0.0.1", "-p", self.port,
                  "-U", "nimbus", "-d", db, "-qAt", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                  "-c", sql], timeout=timeout)
        out = r.stdout.decode("utf-8", "replace")
        return [line.split("\t") for line in out.splitlines()]

    def createdb(self, name):
        _run([os.path.join(PG_BIN, "createdb"), "-h", "127.0.0.1", "-p", self.port,
              "-U", "nimbus", name])
        return name

    def fresh_db(self, prefix="t"):
        """Creates a database with a unique name and returns the name."""
        return self.createdb("%s_%d_%d" % (prefix, os.getpid(), free_port()))


# ---------------------------------------------------------------- Kafka

class KafkaBroker:
    """The build's kafka-dev-broker (librdkafka mock cluster) with `topic` created.
    down()/up() take all brokers down/up (SIGUSR1/SIGUSR2) and return once the
    broker has logged the change. consume()/produce() use kcat."""

    def __init__(self, tmpdir=None, topic="weather.notifications", partitions=1,
                 detached=False):
        self.tmpdir = tmpdir or scratch_dir("kafka")
        os.makedirs(self.tmpdir, exist_ok=True)
        self.topic = topic
        self.partitions = partitions
        self.detached = detached
        self.bootstrap = None
        self.proc = None

    @classmethod
    def attach(cls, bootstrap, topic="weather.notifications", pid=None):
        k = cls.__new__(cls)
        k.tmpdir, k.topic, k.partitions, k.detached = None, topic, 1, True
        k.bootstrap, k.proc, k._pid = bootstrap, None, pid
        return k

    @property
    def pid(self):
        return self.proc.pid if self.proc else getattr(self, "_pid", None)

    def start(self, timeout=20):
        exe = binary("kafka-dev-broker")
        if not os.path.exists(exe):
            raise AssertionError("kafka-dev-broker not built: %s" % exe)
        bfile = os.path.join(self.tmpdir, "bootstrap")
        if os.path.exists(bfile):
            os.unlink(bfile)
        self.proc = Proc("kafka-dev-broker",
                         [exe, "--topic", self.topic, "--partitions", self.partitions,
                          "--bootstrap-file", bfile],
                         os.path.join(self.tmpdir, "kafka-dev-broker.log"), detached=self.detached)

        def ready():
            if not self.proc.alive():
                raise Fatal("kafka-dev-broker exited (%s):\n%s"
                                     % (self.proc.popen.returncode, self.proc.log_tail()))
            return os.path.exists(bfile)
        wait_until(ready, timeout, what="kafka-dev-broker bootstrap file")
        with open(bfile) as f:
            self.bootstrap = f.read().strip()
        return self

    def _events(self, name):
        return self.proc.log_text().count('"event":"%s"' % name)

    def down(self, timeout=10):
        before = self._events("brokers_down")
        self.proc.send_signal(signal.SIGUSR1)
        wait_until(lambda: self._events("brokers_down") > before, timeout,
                   what="kafka-dev-broker to log brokers_down")

    def up(self, timeout=10):
        before = self._events("brokers_up")
        self.proc.send_signal(signal.SIGUSR2)
        wait_until(lambda: self._events("brokers_up") > before, timeout,
                   what="kafka-dev-broker to log brokers_up")

    def stop(self, timeout=15):
        return self.proc.stop(signal.SIGTERM, timeout) if self.proc else None

    def kill(self):
        if self.proc:
            self.proc.kill()

    def produce(self, value, key=None, topic=None, timeout=30):
        """Produces one message (value: str or bytes) and waits for its delivery."""
        topic = topic or self.topic
        if isinstance(value, str):
            value = value.encode("utf-8")
        fd, path = tempfile.mkstemp(prefix="kmsg-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(value)
            argv = ["kcat", "-P", "-q", "-b", self.bootstrap, "-t", topic]
            if key is not None:
                argv += ["-k", key]
            _run(argv + [path], timeout=timeout)
        finally:
            os.unlink(path)

    def read_all(self, topic=None, timeout=20):
        """Every message now in the topic, as a list of dicts
        {key, value, offset, partition} (key None when the message has none)."""
        topic = topic or self.topic
        r = _run(["kcat", "-C", "-q", "-b", self.bootstrap, "-t", topic, "-o", "beginning",
                  "-e", "-J", "-m", "5"], timeout=timeout)
        out = []
        for line in r.stdout.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            m = json.loads(line)
            out.append({"key": m.get("key"), "value": m.get("payload"),
                        "offset": m.get("offset"), "partition": m.get("partition")})
        out.sort(key=lambda m: (m["partition"], m["offset"]))
        return out

    def consume(self, topic=None, count=1, timeout=20):
        """Waits (deadline) until the topic holds at least count messages; returns all
        of them (read from the beginning)."""
        msgs = []

        def enough():
            msgs[:] = self.read_all(topic, timeout=max(5, timeout))
            return len(msgs) >= count
        wait_until(enough, timeout, interval=0.2,
                   what="%d message(s) in topic %s" % (count, topic or self.topic))
        return msgs
