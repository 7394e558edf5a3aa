#!/usr/bin/python3
"""test_deploy.py — the container image builds and the compose stack runs (label deploy).

What it proves, with podman on this machine (no image registry needed):
- deploy/Dockerfile builds from the source tree as a user builds it
  (`podman build -f deploy/Dockerfile .` at the root), on Debian 12 base images
  made by deploy/local/base-images.sh (debootstrap, cached as a tarball);
- the image runs every daemon's --help as the non-root user nimbus, holds no
  compiler or build tool, and its size is printed (and bounded);
- docker-compose.yml with deploy/compose.local.yml (local Redis and PostgreSQL
  images from Debian packages, the dev Kafka broker) and deploy/offline.env (the
  bundled weather simulator) comes up with podman-compose: every long-running
  service's own healthcheck passes and every one-shot job exits 0;
- a weather page fetched through front on 127.0.0.1 is stored in PostgreSQL and
  announced on the Kafka topic (read with kcat), a subscription made with the page's
  alert form has its confirmation mail in the mail catcher, and after the api container is
  restarted — with the simulator stopped — the place is served from the stores;
- `down -v` leaves no container, volume or network of the project behind.

podman-compose 1.0.3 (Debian 12) neither honours depends_on conditions nor
runs healthchecks by itself (podman schedules them with systemd timers): the
test runs each service's healthcheck (`podman healthcheck run`) until it
passes, like the timer would, and the daemons retry their backends. It also
does not remove the project's network on `down`; the test removes it and says
so. Services, one-shot jobs, the topic and the published ports are read from
the compose files (`docker-compose config`), not listed here.

Skipped (exit 77) only when this machine cannot run containers at all: not
root (debootstrap and rootful podman), or the kernel refuses namespaces. A
missing tool is a failure: ./stack installs them (PACKAGES).

Phase timings, the image size and the total go to stdout and to
$NIMBUS_BUILD_DIR/test-reports/deploy.txt (printed by ./stack test's summary).
Cache: deploy/local/base-images.sh keeps the debootstrap tarball in
$NIMBUS_DEPLOY_CACHE (default ~/.cache/nimbus/deploy); podman's own store keeps
image layers between runs.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_compose import DAEMONS  # noqa: E402  (one list of the image's daemons)

from nimbus_harness import procs, testing  # noqa: E402

ROOT = os.environ.get("NIMBUS_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
COMPOSE_FILES = ["docker-compose.yml", "deploy/compose.local.yml"]
OFFLINE_ENV = os.path.join(ROOT, "deploy", "offline.env")
CONTAINERS_CONF = os.path.join(ROOT, "deploy", "local", "containers.conf")
# Tags of this run only: several trees on one machine share podman's store (and
# its layer cache), and none may run another's image. Removed at the end.
RUN_TAG = "deploy-%d" % os.getpid()
IMAGE = "localhost/nimbus:" + RUN_TAG
SERVICE_IMAGES = {  # the override's image variables
    "NIMBUS_KAFKA_DEV_IMAGE": "localhost/nimbus-kafka-dev:" + RUN_TAG,
    "NIMBUS_LOCAL_REDIS_IMAGE": "localhost/nimbus-local/redis:" + RUN_TAG,
    "NIMBUS_LOCAL_POSTGRES_IMAGE": "localhost/nimbus-local/postgres:" + RUN_TAG,
    "NIMBUS_LOCAL_HAPROXY_IMAGE": "localhost/nimbus-local/haproxy:" + RUN_TAG,
    "NIMBUS_LOCAL_MAILPIT_IMAGE": "localhost/nimbus-local/mailpit:" + RUN_TAG,
}
IMAGE_MAX_MB = 400  # today ~180 MB; a build tool slipping in shows up here
PLACE = "Berlin"
HEALTH_TIMEOUT_S = 240
BUILD_TIMEOUT_S = 1200

T0 = time.monotonic()
TIMINGS = []  # (phase, seconds)
FIGURES = {}


def log(msg):
    print("deploy: [%6.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


class Phase:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.t = time.monotonic()
        log(self.name + " ...")

    def __exit__(self, *exc):
        dt = time.monotonic() - self.t
        TIMINGS.append((self.name, dt))
        log("%s: %.1f s" % (self.name, dt))


def env():
    """The environment for podman and compose: the test's settings only."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("NIMBUS_", "POSTGRES_", "COMPOSE_", "CONTAINERS_"))}
    e["CONTAINERS_CONF"] = CONTAINERS_CONF
    return e


def run(cmd, timeout=300, check=True, log_to=None, **kw):
    """Runs cmd; on failure raises AssertionError with its output (or log file tail)."""
    if log_to:
        with open(log_to, "w") as f:
            r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, text=True,
                               timeout=timeout, **kw)
        with open(log_to, errors="replace") as f:
            out = f.read()
        r.stdout, r.stderr = out, ""
    else:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        text = (r.stdout or "") + (r.stderr or "")
        raise AssertionError("%s exited %d:\n%s" % (" ".join(cmd), r.returncode, text[-4000:]))
    return r


def podman(*args, **kw):
    kw.setdefault("env", env())
    return run(["podman", *args], **kw)


def read_env_file(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                out[k.strip()] = v.strip()
    return out


def http_get(url, timeout=10):
    """(status, headers, body text) of a GET; errors with a status are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


def write_report(status):
    total = time.monotonic() - T0
    lines = ["deploy (%s): %s" % (status, ", ".join(
        ["%s %s" % (k, v) for k, v in FIGURES.items()] +
        ["%s %.0f s" % (n, t) for n, t in TIMINGS] + ["total %.0f s" % total]))]
    for line in lines:
        log(line)
    build = os.environ.get("NIMBUS_BUILD_DIR")
    if build and os.path.isdir(build):
        d = os.path.join(build, "test-reports")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "deploy.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")


def machine_cannot_run_containers():
    """A reason when this machine cannot run containers at all, else None."""
    if os.geteuid() != 0:
        return ("needs root (debootstrap and rootful podman); run ./stack test as root")
    r = subprocess.run(["unshare", "--mount", "--uts", "--ipc", "--net", "--pid", "--fork",
                        "true"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return "the kernel refuses namespaces here (unshare: %s)" % r.stderr.strip()
    return None


class DeployTest(testing.TestCase):
    """One flow: base images → image → image checks → compose stack → down."""

    @classmethod
    def setUpClass(cls):
        why = machine_cannot_run_containers()
        if why:
            raise unittest.SkipTest("cannot run containers on this machine: " + why)
        missing = [t for t in ("podman", "podman-compose", "docker-compose", "debootstrap",
                               "kcat") if shutil.which(t) is None]
        if missing:
            raise AssertionError("missing tools %s: ./stack installs them (PACKAGES)"
                                 % ", ".join(missing))
        cls.tmp = procs.scratch_dir("deploy")
        with Phase("base images"):
            run([os.path.join(ROOT, "deploy", "local", "base-images.sh")], env=env(),
                timeout=BUILD_TIMEOUT_S, log_to=os.path.join(cls.tmp, "base-images.log"))
        # Namespaces work (checked above): from here on a container that does not
        # start is a failure of ours, not of the machine.
        podman("run", "--rm", "--network", "none", "debian:12", "true", timeout=120)
        with Phase("image build"):
            podman("build", "-f", "deploy/Dockerfile", "-t", IMAGE, ".", cwd=ROOT,
                   timeout=BUILD_TIMEOUT_S, log_to=os.path.join(cls.tmp, "build.log"))

    @classmethod
    def tearDownClass(cls):
        # The tags only: the layers stay in podman's store as the next run's cache.
        for tag in [IMAGE, *SERVICE_IMAGES.values()]:
            subprocess.run(["podman", "rmi", tag], env=env(), capture_output=True, timeout=120)

    def test_1_image(self):
        """Every daemon's --help runs as nimbus; no compiler; size is bounded."""
        with Phase("image checks"):
            user = podman("image", "inspect", "--format", "{{.Config.User}}", IMAGE).stdout.strip()
            self.assertEqual(user.split(":")[0], "nimbus")
            self.assertEqual(podman("run", "--rm", IMAGE, "id", "-u").stdout.strip(), "10001")
            for daemon in DAEMONS:
                with self.subTest(daemon=daemon):
                    r = podman("run", "--rm", "--read-only", IMAGE, daemon, "--help", check=False)
                    self.assertEqual(r.returncode, 0, "%s --help: %s" % (daemon, r.stderr))
                    self.assertIn("NIMBUS_", r.stdout + r.stderr)
            probe = ("for t in cc gcc g++ c++ cpp clang tcc as ld make cmake; do "
                     "command -v $t; done; dpkg-query -W -f '${Package}\\n' | "
                     "grep -E '^(gcc|g\\+\\+|cpp|clang|binutils|make|cmake|libc6-dev)(-[0-9.]+)?$' || true")
            found = podman("run", "--rm", IMAGE, "sh", "-c", probe).stdout.split()
            self.assertEqual(found, [], "the runtime image holds build tools")
            size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
            FIGURES["image size"] = "%.0f MB" % (size / 1e6)
            log("image %s: %.1f MB" % (IMAGE, size / 1e6))
            self.assertLess(size / 1e6, IMAGE_MAX_MB)

    def test_2_compose_stack(self):
        Stack(self).run()


class Stack:
    """The compose stack of one test run (project name unique to it)."""

    def __init__(self, t):
        self.t = t
        self.project = "nimbus" + RUN_TAG.replace("-", "")
        self.front_port = procs.free_port()
        self.api_port = procs.free_port()
        self.mail_web_port = procs.free_port()
        self.env = env()
        self.env.update(read_env_file(OFFLINE_ENV))
        self.env.update(SERVICE_IMAGES)
        self.env.update({"NIMBUS_IMAGE": IMAGE, "NIMBUS_FRONT_PORT": str(self.front_port),
                         "NIMBUS_API_PORT": str(self.api_port),
                         "NIMBUS_MAIL_WEB_PORT": str(self.mail_web_port),
                         "NIMBUS_PUBLIC_URL": "http://127.0.0.1:%d" % self.front_port})
        files = []
        for f in COMPOSE_FILES:
            files += ["-f", os.path.join(ROOT, f)]
        self.files = files

    # ------------------------------------------------------------ helpers

    def compose(self, *args, timeout=300, check=True):
        return run(["podman-compose", "-p", self.project, *self.files, *args], env=self.env,
                   cwd=ROOT, timeout=timeout, check=check,
                   log_to=os.path.join(self.t.tmp, "compose-%s.log" % args[0]))

    def config(self):
        """The merged compose configuration, as docker-compose resolves it."""
        r = run(["docker-compose", "--project-directory", ROOT, *self.files,
                 "--env-file", OFFLINE_ENV, "--profile", "offline", "config"],
                env=self.env, cwd=ROOT, timeout=120)
        import yaml  # python3-yaml, a dependency of docker-compose
        return yaml.safe_load(r.stdout)

    def containers(self, service=None):
        filters = ["--filter", "label=io.podman.compose.project=" + self.project]
        if service:
            filters += ["--filter", "label=com.docker.compose.service=" + service]
        out = podman("ps", "-a", *filters, "--format", "{{.Names}}").stdout
        return out.split()

    def container(self, service):
        names = self.containers(service)
        self.t.assertEqual(len(names), 1, "containers of %s: %s" % (service, names))
        return names[0]

    def healthy(self, service):
        r = podman("healthcheck", "run", self.container(service), check=False, timeout=60)
        return r.returncode == 0

    def exited(self, service):
        state = podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}",
                       self.container(service)).stdout.split()
        return state[0] == "exited", int(state[1]) if len(state) > 1 else -1

    def wait_ready(self, services, one_shot, timeout=HEALTH_TIMEOUT_S):
        """Runs each service's healthcheck until it passes; one-shot jobs must exit 0."""
        pending = set(services) | set(one_shot)
        deadline = time.monotonic() + timeout
        while pending:
            for s in sorted(pending):
                if s in one_shot:
                    done, code = self.exited(s)
                    if done:
                        self.t.assertEqual(code, 0, "one-shot job %s exited %d:\n%s"
                                           % (s, code, self.logs(s)))
                        pending.discard(s)
                        log("%s completed (exit 0)" % s)
                elif self.healthy(s):
                    pending.discard(s)
                    log("%s healthy" % s)
            if pending and time.monotonic() > deadline:
                raise AssertionError("not healthy after %d s: %s\n%s" % (
                    timeout, ", ".join(sorted(pending)),
                    "\n".join(self.logs(s) for s in sorted(pending))))
            if pending:
                time.sleep(1)

    def logs(self, service, lines=40):
        names = self.containers(service)
        if not names:
            return "(no container for %s)" % service
        r = podman("logs", "--tail", str(lines), names[0], check=False)
        return "---- %s ----\n%s%s" % (service, r.stdout, r.stderr)

    def psql(self, sql, **variables):
        args = ["exec", "-i", self.container("postgres"), "psql", "-U", "nimbus", "-d", "nimbus",
                "-tA", "-v", "ON_ERROR_STOP=1"]
        for k, v in variables.items():
            args += ["-v", "%s=%s" % (k, v)]
        return podman(*args, input=sql).stdout.strip()

    def events(self, broker, topic):
        """Every message on the topic, read with kcat inside the kafka container."""
        r = podman("exec", self.container("kafka"), "kcat", "-C", "-b", broker, "-t", topic,
                   "-o", "beginning", "-e", "-q", "-J", timeout=60)
        return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]

    def wait_for(self, what, fn, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            v = fn()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError("no %s after %d s" % (what, timeout))
            time.sleep(1)

    # ------------------------------------------------------------ the flow

    def build_service_images(self, cfg):
        """Builds each image the compose files build, except the nimbus image
        (built above): the same Dockerfile, target and tag compose would use."""
        done = {IMAGE}
        for name, svc in sorted(cfg["services"].items()):
            b = svc.get("build")
            if not b or svc["image"] in done:
                continue
            done.add(svc["image"])
            cmd = ["build", "-f", os.path.join(b["context"], b.get("dockerfile", "Dockerfile")),
                   "-t", svc["image"]]
            if b.get("target"):
                cmd += ["--target", b["target"]]
            podman(*cmd, b["context"], cwd=ROOT, timeout=BUILD_TIMEOUT_S,
                   log_to=os.path.join(self.t.tmp, "build-%s.log" % name))
            log("built %s (%s)" % (svc["image"], name))

    def run(self):
        t = self.t
        cfg = self.config()
        services = cfg["services"]
        one_shot = {n for n, s in services.items()
                    if str(s.get("restart", "no")) == "no" and "healthcheck" not in s}
        long_running = set(services) - one_shot
        api_env = services["api"]["environment"]
        topic = api_env["NIMBUS_KAFKA_TOPIC"]
        broker = api_env["NIMBUS_KAFKA_BROKERS"].split(",")[0]
        for name in ("front", "haproxy"):  # haproxy: the api replicas' entry
            hosts = {str(p).split(":")[0] for p in services[name].get("ports", [])}
            t.assertEqual(hosts, {"127.0.0.1"}, "%s must be published on 127.0.0.1 only" % name)
        try:
            with Phase("service images"):
                self.build_service_images(cfg)
            with Phase("compose up"):
                self.compose("up", "-d")
                self.wait_ready(long_running, one_shot)
            with Phase("flow"):
                self.check_flow(topic, broker)
        except BaseException:
            for s in sorted(services):
                print(self.logs(s), file=sys.stderr)
            raise
        finally:
            with Phase("compose down"):
                self.down()

    def check_flow(self, topic, broker):
        t = self.t
        front = "http://127.0.0.1:%d" % self.front_port
        api = "http://127.0.0.1:%d" % self.api_port

        status, _, page = http_get("%s/%s" % (front, PLACE), timeout=30)
        t.assertEqual(status, 200, page[:500])
        t.assertIn("<title>%s · nimbus weather</title>" % PLACE, page)  # the HTML page
        status, _, body = http_get("%s/%s?format=json" % (front, PLACE), timeout=30)
        t.assertEqual(status, 200, body[:500])
        doc = json.loads(body)
        key, obs_time = doc["location"]["key"], doc["current"]["time"]
        log("front served %s: key %s, observation %s" % (PLACE, key, obs_time))

        stored = self.wait_for("record %s in PostgreSQL" % key, lambda: self.psql(
            "SELECT body->'current'->>'time' FROM records WHERE key = :'key';", key=key))
        t.assertEqual(stored, obs_time)
        log("PostgreSQL holds %s at %s" % (key, stored))

        def event():
            for m in self.events(broker, topic):
                ev = json.loads(m["payload"])
                if m.get("key") == key and ev["observation"]["time"] == obs_time:
                    return ev
            return None
        ev = self.wait_for("event for %s on %s" % (key, topic), event)
        t.assertEqual(ev["location"]["name"], PLACE)
        log("event %s for %s on %s" % (ev["id"], key, topic))

        # Email alerts: the form on the place page → the notifier → the mail catcher
        # (the local stand-in of mailpit lists what it caught at /).
        form = urllib.parse.urlencode({"place": PLACE, "email": "deploy@example.org",
                                       "digest": "1", "digest_hour": "7"}).encode()
        req = urllib.request.Request("%s/subscribe" % front, data=form, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=30) as r:
            t.assertEqual(r.status, 202)
        mail_web = "http://127.0.0.1:%d/" % self.mail_web_port
        self.wait_for("the confirmation mail at %s" % mail_web, lambda: "Confirm your weather "
                      "alerts for %s" % PLACE in http_get(mail_web, timeout=10)[2])
        log("the confirmation mail reached the mail catcher (%s)" % mail_web)

        # No upstream from here on: what is served must come from the stores.
        podman("stop", "-t", "5", self.container("weather-sim"))
        api_ctr = self.container("api")
        started = podman("inspect", "--format", "{{.State.StartedAt}}", api_ctr).stdout
        self.compose("restart", "api")
        t.assertNotEqual(podman("inspect", "--format", "{{.State.StartedAt}}",
                                api_ctr).stdout, started, "the api container did not restart")
        self.wait_ready({"api", "front"}, set())
        status, headers, body = http_get(
            "%s/v1/weather?city=%s" % (api, PLACE), timeout=30)
        t.assertEqual(status, 200, body[:500])
        t.assertIn(headers.get("X-Source"), ("cache", "database"))
        t.assertEqual(json.loads(body)["current"]["time"], obs_time)
        status, _, page = http_get("%s/%s" % (front, PLACE), timeout=30)
        t.assertEqual(status, 200, page[:500])
        log("after the api restart, with the simulator stopped: %s served from %s"
            % (PLACE, headers.get("X-Source")))

    def down(self):
        t = self.t
        r = self.compose("down", "-v", check=False, timeout=300)
        label = "label=io.podman.compose.project=" + self.project
        left = {
            "containers": podman("ps", "-a", "--filter", label, "--format",
                                 "{{.Names}}").stdout.split(),
            "volumes": podman("volume", "ls", "--filter", label, "--format",
                              "{{.Name}}").stdout.split(),
        }
        networks = podman("network", "ls", "--filter", label, "--format",
                          "{{.Name}}").stdout.split()
        # podman-compose 1.0.3 does not remove the project's network on down.
        for n in networks:
            podman("network", "rm", n, check=False)
            log("removed network %s (podman-compose 1.0.3 leaves it on down)" % n)
        left["networks"] = podman("network", "ls", "--filter", label, "--format",
                                  "{{.Name}}").stdout.split()
        if any(left.values()):  # clean up for the next run, then fail
            for c in left["containers"]:
                podman("rm", "-f", c, check=False)
            for v in left["volumes"]:
                podman("volume", "rm", "-f", v, check=False)
        t.assertEqual(r.returncode, 0, r.stdout[-3000:])
        t.assertEqual({k: v for k, v in left.items() if v}, {},
                      "down -v left these behind")


def main():
    code = 1
    try:
        prog = unittest.main(module="__main__", argv=[sys.argv[0]], verbosity=2, exit=False)
        res = prog.result
        if res.wasSuccessful() and res.testsRun == 0 and res.skipped:
            code = testing.SKIP_CODE
        elif res.wasSuccessful() and res.skipped and len(res.skipped) == res.testsRun:
            code = testing.SKIP_CODE
        else:
            code = 0 if res.wasSuccessful() else 1
    finally:
        if code != testing.SKIP_CODE:
            write_report("passed" if code == 0 else "FAILED")
    sys.exit(code)


if __name__ == "__main__":
    main()
