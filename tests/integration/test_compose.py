#!/usr/bin/python3
"""test_compose.py — validates docker-compose.yml and deploy/Dockerfile without a Docker engine.

What it proves (each test names one property):
- Debian's `docker-compose config` accepts the file, with and without the
  `offline` profile, and the offline env file points the api at the simulator;
- every long-running service has a healthcheck and every depends_on waits on
  `service_healthy` (one-shot jobs: `service_completed_successfully`);
- each nimbus daemon's environment names only settings its `--help` lists, and its
  healthcheck probes the port it is told to listen on (needs binaries in
  NIMBUS_BUILD_DIR; skipped with a message otherwise);
- front and haproxy (the api replicas' entry) are published on 127.0.0.1 only
  (unless NIMBUS_PUBLISH_ADDR says otherwise), nothing else is published;
- many replicas, one service: haproxy balances every api and every persistence
  service (deploy/haproxy/haproxy.cfg, health checks on /readyz) and the apis
  and front go through it; Redis has a replica and three sentinels that
  persistence is given; Kafka has three brokers with replication factor 3 and
  min.insync.replicas 2;
- the Dockerfile builds without test dependencies (-DBUILD_TESTING=OFF), its
  default (last) stage is the runtime one, which runs as a non-root user, holds
  every binary compose runs, and installs a package for every shared library
  they link;
- deploy/compose.local.yml (images for machines without a registry) changes only
  images and builds (and the command of services that had none): every registry
  image is replaced by one built locally, every Kafka broker service runs the dev
  broker relayed under its service name, with the topic kafka-init asks for;
- deploy/healthcheck.sh (the image's curl-less probe) really reports a live
  nimbus daemon healthy and a closed port unhealthy.

Run directly:  NIMBUS_BUILD_DIR=build /usr/bin/python3 tests/integration/test_compose.py
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COMPOSE_FILE = os.path.join(ROOT, "docker-compose.yml")
LOCAL_OVERRIDE = os.path.join(ROOT, "deploy", "compose.local.yml")
DOCKERFILE = os.path.join(ROOT, "deploy", "Dockerfile")
OFFLINE_ENV = os.path.join(ROOT, "deploy", "offline.env")
HEALTHCHECK = os.path.join(ROOT, "deploy", "healthcheck.sh")
DAEMONS = ("nimbus-persistence", "nimbus-api", "nimbus-front", "nimbus-notifier", "weather-sim",
           "kafka-dev-broker")
HAPROXY_CFG = os.path.join(ROOT, "deploy", "haproxy", "haproxy.cfg")
KAFKA_BROKERS = ("kafka", "kafka-2", "kafka-3")
SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")
# Which services each daemon must wait for (it connects to them).
REQUIRED_DEPS = {
    "persistence": {"redis", "postgres", *SENTINELS},
    "persistence-2": {"redis", "postgres", *SENTINELS},
    "haproxy": {"persistence", "persistence-2"},
    "api": {"haproxy", *KAFKA_BROKERS},
    "api-2": {"haproxy", *KAFKA_BROKERS},
    "front": {"haproxy"},
    "notifier": {"haproxy", *KAFKA_BROKERS, "mailpit"},
}
# Libraries present in every debian:12-slim image (essential packages).
BASE_PACKAGES = {"libc6", "libgcc-s1", "zlib1g"}

try:
    import yaml  # python3-yaml: a dependency of Debian's docker-compose
except ImportError:  # pragma: no cover - reported by the tests that need it
    yaml = None


def compose_bin():
    return shutil.which("docker-compose")


def run_compose(*args, env_extra=None, files=(COMPOSE_FILE,)):
    """Runs docker-compose with a clean NIMBUS_/POSTGRES_ environment; returns CompletedProcess."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NIMBUS_", "POSTGRES_", "COMPOSE_"))}
    env.update(env_extra or {})
    cmd = [compose_bin(), "--project-directory", ROOT]
    for f in files:
        cmd += ["-f", f]
    cmd += list(args)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def port_binding(p):
    """(host address, published port, container port) of a ports entry."""
    if isinstance(p, dict):
        return (p.get("host_ip", ""), int(p["published"]), int(p["target"]))
    parts = str(p).split("/")[0].split(":")
    host = parts[0] if len(parts) == 3 else ""
    return (host, int(parts[-2]), int(parts[-1]))


def find_binary(name):
    build = os.environ.get("NIMBUS_BUILD_DIR")
    if not build or not os.path.isdir(build):
        return None
    for dirpath, _dirs, files in os.walk(build):
        if name in files:
            path = os.path.join(dirpath, name)
            if os.access(path, os.X_OK) and os.path.isfile(path):
                return path
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout_s, step_s=0.05):
    """Polls cond() until it is true or timeout_s passes; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        if cond():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step_s)


def dockerfile_stages():
    """Returns [(stage_name, [instruction lines])] with continuation lines joined."""
    stages = []
    logical = ""
    with open(DOCKERFILE, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not logical and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.rstrip().endswith("\\"):
                logical += line.rstrip()[:-1] + " "
                continue
            logical += line
            words = logical.split()
            if words and words[0].upper() == "FROM":
                name = words[3] if len(words) >= 4 and words[2].upper() == "AS" else words[1]
                stages.append((name, []))
            if stages:
                stages[-1][1].append(logical.strip())
            logical = ""
    return stages


class ComposeTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if compose_bin() is None:
            raise unittest.SkipTest("docker-compose is not installed (apt-get install docker-compose)")
        if yaml is None:
            raise unittest.SkipTest("python3-yaml is not installed")
        res = run_compose("config")
        cls.config_result = res
        cls.config = yaml.safe_load(res.stdout) if res.returncode == 0 else None

    def services(self):
        self.assertIsNotNone(self.config, "docker-compose config failed:\n" + self.config_result.stderr)
        return self.config["services"]

    def nimbus_services(self):
        """{service: daemon binary} for services that run one of our binaries."""
        out = {}
        for name, svc in self.services().items():
            cmd = svc.get("command") or []
            if isinstance(cmd, str):
                cmd = cmd.split()
            if cmd and cmd[0] in DAEMONS:
                out[name] = cmd[0]
        return out

    @staticmethod
    def one_shot(svc):
        return str(svc.get("restart", "no")) == "no" and "healthcheck" not in svc


class TestComposeConfig(ComposeTestCase):
    def test_config_is_valid(self):
        self.assertEqual(self.config_result.returncode, 0, self.config_result.stderr)
        self.assertTrue({"redis", "redis-replica", *SENTINELS, "postgres", *KAFKA_BROKERS,
                         "persistence", "persistence-2", "haproxy", "api", "api-2", "front",
                         "notifier", "mailpit", "weather-sim"} <= set(self.services()))

    def test_backing_services_use_real_images(self):
        svcs = self.services()
        self.assertRegex(svcs["redis"]["image"], r"^redis:7")
        self.assertRegex(svcs["postgres"]["image"], r"^postgres:15")
        self.assertRegex(svcs["kafka"]["image"], r"^(apache|bitnami)/kafka:")
        self.assertRegex(svcs["haproxy"]["image"], r"^haproxy:2")
        for name in ("redis-replica", *SENTINELS):
            self.assertRegex(svcs[name]["image"], r"^redis:7")
        env = svcs["kafka"]["environment"]
        self.assertIn("broker", env.get("KAFKA_PROCESS_ROLES", env.get("KAFKA_CFG_PROCESS_ROLES", "")))
        self.assertIn("controller", env.get("KAFKA_PROCESS_ROLES", env.get("KAFKA_CFG_PROCESS_ROLES", "")))

    def test_every_long_running_service_has_a_healthcheck(self):
        for name, svc in self.services().items():
            if self.one_shot(svc):
                continue
            with self.subTest(service=name):
                hc = svc.get("healthcheck")
                self.assertIsNotNone(hc, f"{name} has no healthcheck")
                self.assertFalse(hc.get("disable", False), f"{name} disables its healthcheck")
                self.assertTrue(hc.get("test"), f"{name} healthcheck has no test")

    def test_depends_on_waits_for_health(self):
        svcs = self.services()
        for name, svc in svcs.items():
            deps = svc.get("depends_on", {})
            self.assertIsInstance(deps, dict, f"{name}: depends_on must use conditions")
            for dep, spec in deps.items():
                with self.subTest(service=name, dependency=dep):
                    want = ("service_completed_successfully" if self.one_shot(svcs[dep])
                            else "service_healthy")
                    self.assertEqual(spec.get("condition"), want)
        for name, needed in REQUIRED_DEPS.items():
            with self.subTest(service=name):
                self.assertLessEqual(needed, set(svcs[name].get("depends_on", {})))

    def test_daemon_wiring(self):
        svcs = self.services()
        for name in self.nimbus_services():
            with self.subTest(service=name):
                self.assertEqual(svcs[name]["environment"].get("NIMBUS_BIND"), "0.0.0.0")
        for name in ("api", "api-2"):
            api = svcs[name]["environment"]
            self.assertEqual(api["NIMBUS_PERSISTENCE_URL"], "http://haproxy:8081")
            self.assertEqual(api["NIMBUS_KAFKA_BROKERS"].split(","),
                             ["%s:9092" % b for b in KAFKA_BROKERS])
            self.assertEqual(api["NIMBUS_FORECAST_URL"], "https://api.open-meteo.com/v1/forecast")
        self.assertEqual(svcs["front"]["environment"]["NIMBUS_API_URL"], "http://haproxy:8080")
        notifier = svcs["notifier"]["environment"]
        self.assertEqual(notifier["NIMBUS_SMTP_URL"], "smtp://mailpit:1025")
        self.assertEqual(notifier["NIMBUS_PUBLIC_URL"], svcs["front"]["environment"]["NIMBUS_PUBLIC_URL"])
        self.assertEqual(notifier["NIMBUS_KAFKA_TOPIC"], svcs["api"]["environment"]["NIMBUS_KAFKA_TOPIC"])
        self.assertEqual(notifier["NIMBUS_PERSISTENCE_URL"], "http://haproxy:8081")
        self.assertEqual(notifier["NIMBUS_KAFKA_BROKERS"], svcs["api"]["environment"]["NIMBUS_KAFKA_BROKERS"])
        published = {name: [port_binding(p) for p in svc.get("ports", [])]
                     for name, svc in svcs.items()}
        self.assertEqual(published["front"], [("127.0.0.1", 8000, 8000)])
        self.assertEqual(published["haproxy"], [("127.0.0.1", 8080, 8080)])
        # The mail catcher's web view (not its SMTP port): how people read the mail.
        self.assertEqual(published["mailpit"], [("127.0.0.1", 8025, 8025)])
        for name, ports in published.items():
            if name not in ("front", "haproxy", "mailpit"):
                self.assertFalse(ports, f"{name} must not be published on the host")
        res = run_compose("config", env_extra={"NIMBUS_PUBLISH_ADDR": "0.0.0.0",
                                               "NIMBUS_FRONT_PORT": "18000"})
        self.assertEqual(res.returncode, 0, res.stderr)
        front = yaml.safe_load(res.stdout)["services"]["front"]
        self.assertEqual([port_binding(p) for p in front["ports"]], [("0.0.0.0", 18000, 8000)])

    def test_healthchecks_probe_the_configured_port(self):
        svcs = self.services()
        for name in self.nimbus_services():
            with self.subTest(service=name):
                test = svcs[name]["healthcheck"]["test"]
                self.assertEqual(test[:2], ["CMD", "nimbus-healthcheck"])
                self.assertEqual(test[2], str(svcs[name]["environment"]["NIMBUS_PORT"]))

    def test_postgres_password_comes_from_the_environment(self):
        res = run_compose("config", env_extra={"POSTGRES_PASSWORD": "s3cret-from-env"})
        self.assertEqual(res.returncode, 0, res.stderr)
        svcs = yaml.safe_load(res.stdout)["services"]
        self.assertEqual(svcs["postgres"]["environment"]["POSTGRES_PASSWORD"], "s3cret-from-env")
        dsn = svcs["persistence"]["environment"]["NIMBUS_POSTGRES_DSN"]
        self.assertIn("password=s3cret-from-env", dsn.split())
        self.assertIn("host=postgres", dsn.split())

    def test_kafka_topic_is_created(self):
        svcs = self.services()
        init = [n for n, s in svcs.items()
                if "kafka-topics" in " ".join(map(str, (s.get("entrypoint") or []) + (s.get("command") or [])))]
        auto = str(svcs["kafka"]["environment"].get("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "true")).lower()
        self.assertTrue(init or auto == "true", "no topic creation: neither an init job nor auto-create")
        topic = svcs["api"]["environment"]["NIMBUS_KAFKA_TOPIC"]
        for n in init:
            self.assertIn(topic, svcs[n]["command"])
            self.assertIn(n, svcs["api"]["depends_on"])


def haproxy_backends():
    """{backend: {server name: "host:port"}} and the health-check lines of each,
    from deploy/haproxy/haproxy.cfg."""
    servers, checks, current = {}, {}, None
    with open(HAPROXY_CFG, encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if not line[0].isspace():
                current = words[1] if words[0] == "backend" and len(words) > 1 else None
                if current:
                    servers[current], checks[current] = {}, []
            elif current and words[0] == "server":
                servers[current][words[1]] = words[2]
            elif current and words[0] in ("option", "http-check"):
                checks[current].append(" ".join(words))
    return servers, checks


class TestManyReplicas(ComposeTestCase):
    """Many replicas, one service, on real engines."""

    def test_haproxy_balances_every_replica_with_health_checks(self):
        svcs = self.services()
        servers, checks = haproxy_backends()
        for backend, daemon, port in (("api", "nimbus-api", 8080),
                                      ("persistence", "nimbus-persistence", 8081)):
            with self.subTest(backend=backend):
                replicas = sorted(n for n, d in self.nimbus_services().items() if d == daemon)
                self.assertGreaterEqual(len(replicas), 2, f"only {replicas} run {daemon}")
                self.assertEqual(sorted(servers[backend].values()),
                                 sorted(f"{r}:{port}" for r in replicas))
                self.assertIn("option httpchk GET /readyz", checks[backend])
                self.assertIn("http-check expect status 200", checks[backend])
        def mounts_the_config(v):
            if isinstance(v, dict):
                return (str(v.get("source", "")).endswith("deploy/haproxy/haproxy.cfg")
                        and v.get("target") == "/usr/local/etc/haproxy/haproxy.cfg")
            src, _, rest = str(v).partition(":")
            return (src.endswith("deploy/haproxy/haproxy.cfg")
                    and rest.startswith("/usr/local/etc/haproxy/haproxy.cfg"))
        mount = [v for v in svcs["haproxy"].get("volumes", []) if mounts_the_config(v)]
        self.assertTrue(mount, "haproxy does not get deploy/haproxy/haproxy.cfg")
        if shutil.which("haproxy"):
            r = subprocess.run(["haproxy", "-c", "-q", "-f", HAPROXY_CFG], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_redis_has_a_replica_and_three_sentinels_persistence_follows(self):
        svcs = self.services()
        self.assertEqual(svcs["redis-replica"]["command"][1:4], ["--replicaof", "redis", "6379"])
        for name in SENTINELS:
            with self.subTest(sentinel=name):
                script = " ".join(map(str, svcs[name].get("command") or []))
                self.assertIn("sentinel monitor mymaster redis 6379 2", script)
                self.assertIn("redis-sentinel", script)
        for name in ("persistence", "persistence-2"):
            env = svcs[name]["environment"]
            self.assertEqual(env["NIMBUS_REDIS_SENTINELS"].split(","),
                             ["%s:26379" % s for s in SENTINELS])
            self.assertEqual(env["NIMBUS_REDIS_MASTER_NAME"], "mymaster")

    def test_kafka_has_three_brokers_replicating_every_event_three_times(self):
        svcs = self.services()
        ids, voters = set(), set()
        for name in KAFKA_BROKERS:
            env = svcs[name]["environment"]
            with self.subTest(broker=name):
                ids.add(str(env["KAFKA_NODE_ID"]))
                voters.add(env["KAFKA_CONTROLLER_QUORUM_VOTERS"])
                self.assertEqual(env["KAFKA_ADVERTISED_LISTENERS"], f"PLAINTEXT://{name}:9092")
                self.assertEqual(str(env["KAFKA_DEFAULT_REPLICATION_FACTOR"]), "3")
                self.assertEqual(str(env["KAFKA_MIN_INSYNC_REPLICAS"]), "2")
                self.assertEqual(str(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]), "3")
        self.assertEqual(ids, {"1", "2", "3"})
        self.assertEqual(voters, {"1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"})
        init = svcs["kafka-init"]["command"]
        self.assertEqual(init[init.index("--replication-factor") + 1], "3")


class TestOfflineProfile(ComposeTestCase):
    def test_offline_profile_points_the_api_at_the_simulator(self):
        res = run_compose("--env-file", OFFLINE_ENV, "--profile", "offline", "config")
        self.assertEqual(res.returncode, 0, res.stderr)
        svcs = yaml.safe_load(res.stdout)["services"]
        self.assertIn("offline", svcs["weather-sim"].get("profiles", []))
        sim_port = svcs["weather-sim"]["environment"]["NIMBUS_PORT"]
        api = svcs["api"]["environment"]
        self.assertEqual(api["NIMBUS_FORECAST_URL"], f"http://weather-sim:{sim_port}/v1/forecast")
        self.assertEqual(api["NIMBUS_GEOCODING_URL"], f"http://weather-sim:{sim_port}/v1/search")

    def test_simulator_is_not_started_without_the_profile(self):
        svcs = self.services()
        self.assertEqual(svcs["weather-sim"].get("profiles"), ["offline"])
        for name, svc in svcs.items():
            self.assertNotIn("weather-sim", svc.get("depends_on", {}),
                             f"{name} would need the offline profile to start")


class TestLocalOverride(ComposeTestCase):
    """deploy/compose.local.yml swaps images, and nothing of the stack itself."""
    # Keys the override may set: the image and how to build it, and a command
    # for a service whose image had it built in (the Kafka image's entrypoint).
    SWAPPABLE = {"image", "build"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        args = ("--env-file", OFFLINE_ENV, "--profile", "offline", "config")
        base = run_compose(*args)
        merged = run_compose(*args, files=(COMPOSE_FILE, LOCAL_OVERRIDE))
        cls.merged_result = merged
        cls.base = yaml.safe_load(base.stdout)["services"] if base.returncode == 0 else None
        cls.merged = yaml.safe_load(merged.stdout)["services"] if merged.returncode == 0 else None

    def setUp(self):
        self.assertIsNotNone(self.merged, "config with the override failed:\n"
                             + self.merged_result.stderr)
        self.assertIsNotNone(self.base)

    @staticmethod
    def kafka_brokers(services):
        return sorted(n for n, s in services.items()
                      if re.match(r"^(apache|bitnami|confluentinc)/(kafka|cp-kafka)",
                                  str(s.get("image", "")))
                      and not ComposeTestCase.one_shot(s))

    def test_only_images_change(self):
        self.assertEqual(set(self.merged), set(self.base))
        for name, svc in self.merged.items():
            with self.subTest(service=name):
                base = self.base[name]
                allowed = set(self.SWAPPABLE)
                if "command" not in base:
                    allowed.add("command")
                changed = {k for k in set(svc) | set(base)
                           if self.same(svc.get(k), k) != self.same(base.get(k), k)}
                self.assertLessEqual(changed, allowed)

    @staticmethod
    def same(value, key):
        """value as compared: mounts in any order (docker-compose merges them reordered)."""
        return sorted(map(str, value)) if key == "volumes" and value else value

    def test_no_registry_image_is_left(self):
        built = {s["image"] for s in self.merged.values() if "build" in s}
        for name, svc in self.merged.items():
            with self.subTest(service=name):
                self.assertIn(svc["image"], built, f"{name} would pull {svc['image']}")
                if name in self.base and "build" not in self.base[name]:
                    self.assertIn("target", svc["build"], f"{name}: which stand-in?")

    def test_every_kafka_broker_runs_the_relayed_dev_broker(self):
        brokers = self.kafka_brokers(self.base)
        self.assertTrue(brokers, "no Kafka broker service found in docker-compose.yml")
        api_brokers = self.merged["api"]["environment"]["NIMBUS_KAFKA_BROKERS"].split(",")
        for name in brokers:
            with self.subTest(service=name):
                cmd = self.merged[name].get("command") or []
                self.assertEqual(cmd[:1], ["kafka-dev-broker"])
                opts = dict(zip(cmd[1::2], cmd[2::2]))
                adv = opts.get("--advertise", "")
                self.assertTrue(adv.startswith(name + ":"), f"{name} advertises {adv!r}")
                self.assertEqual(opts.get("--listen"), "0.0.0.0:" + adv.split(":")[1])
                self.assertIn(adv, api_brokers)

    def dev_brokers(self):
        """{broker service: its options}, split into the one running the brokers
        and the ones forwarding to it."""
        out = {}
        for broker in self.kafka_brokers(self.base):
            cmd = self.merged[broker]["command"]
            out[broker] = dict(zip(cmd[1::2], cmd[2::2]))
        return out

    def test_further_brokers_forward_to_the_first(self):
        brokers = self.dev_brokers()
        runs = [b for b, o in brokers.items() if "--forward" not in o]
        self.assertEqual(len(runs), 1, f"one dev broker runs the brokers, not {runs}")
        for name, opts in brokers.items():
            if "--forward" in opts:
                with self.subTest(service=name):
                    self.assertEqual(opts["--forward"], brokers[runs[0]]["--advertise"])

    def test_dev_broker_has_the_topic_kafka_init_asks_for(self):
        topic = self.merged["api"]["environment"]["NIMBUS_KAFKA_TOPIC"]
        brokers = self.dev_brokers()
        for name, svc in self.merged.items():
            cmd = svc.get("command") or []
            if (svc.get("entrypoint") or [""])[0].endswith("kafka-topics.sh"):
                asked = dict(zip(cmd[::2], cmd[1::2]))
                for broker, have in brokers.items():
                    if "--forward" in have:
                        continue  # its topics are the first broker's
                    with self.subTest(job=name, broker=broker):
                        self.assertEqual(asked["--topic"], topic)
                        self.assertEqual(have.get("--topic"), topic)
                        self.assertEqual(have.get("--partitions"), asked["--partitions"])


class TestSettingsAgainstHelp(ComposeTestCase):
    def test_environment_names_only_known_settings(self):
        checked = 0
        for name, binary in sorted(self.nimbus_services().items()):
            path = find_binary(binary)
            if path is None:
                print(f"\n  skip {name}: {binary} not found in NIMBUS_BUILD_DIR="
                      f"{os.environ.get('NIMBUS_BUILD_DIR', '(unset)')}", flush=True)
                continue
            res = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
            self.assertEqual(res.returncode, 0, f"{binary} --help: {res.stderr}")
            listed = set(re.findall(r"\bNIMBUS_[A-Z0-9_]+\b", res.stdout + res.stderr))
            self.assertTrue(listed, f"{binary} --help lists no NIMBUS_* variables")
            env = self.services()[name].get("environment", {})
            for var in env:
                if var.startswith("NIMBUS_"):
                    with self.subTest(service=name, variable=var):
                        self.assertIn(var, listed, f"{binary} --help does not list {var}")
            checked += 1
        if checked == 0:
            self.skipTest("no nimbus binaries in NIMBUS_BUILD_DIR: settings not checked against --help")


class TestDockerfile(unittest.TestCase):
    def setUp(self):
        self.stages = dockerfile_stages()
        self.assertGreaterEqual(len(self.stages), 2, "Dockerfile must be multi-stage")
        self.by_name = dict(self.stages)
        # The default target is the last stage: the runtime image, with the lines
        # of the stages it is built FROM before its own.
        self.runtime_name = self.stages[-1][0]
        self.runtime = self.chain(self.runtime_name)

    def chain(self, name):
        lines = self.by_name[name]
        base = lines[0].split()[1]
        return (self.chain(base) if base in self.by_name else []) + lines

    def runtime_packages(self):
        pkgs = set()
        for line in self.runtime:
            m = re.search(r"apt-get install ([^&;]*)", line)
            if m:
                pkgs |= {w for w in m.group(1).split() if not w.startswith("-")}
        return pkgs

    def test_build_and_runtime_bases(self):
        self.assertEqual(self.stages[0][1][0].split()[1], "debian:12")
        self.assertEqual(self.runtime_name, "runtime", "the default (last) stage must be runtime")
        self.assertEqual(self.runtime[0].split()[1], "debian:12-slim")

    def test_build_needs_no_test_dependencies(self):
        build = " ".join(self.stages[0][1])
        self.assertIn("-DBUILD_TESTING=OFF", build)
        for pkg in ("libcmocka-dev", "python3"):
            self.assertNotRegex(build, rf"apt-get install[^&]*\b{re.escape(pkg)}\b")

    def test_runtime_runs_as_non_root(self):
        users = [line.split()[1] for line in self.by_name[self.runtime_name]
                 if line.split()[0].upper() == "USER"]
        self.assertTrue(users, "runtime stage has no USER")
        user = users[-1].split(":")[0]
        self.assertNotIn(user, ("root", "0"))
        self.assertTrue(any("useradd" in l and "--uid 10001" in l and user in l for l in self.runtime),
                        "runtime stage does not create the nimbus user with uid 10001")

    def test_runtime_has_no_build_tools(self):
        pkgs = self.runtime_packages()
        self.assertTrue(pkgs, "runtime stage installs nothing")
        bad = {p for p in pkgs if p.endswith("-dev") or p in ("cmake", "build-essential", "gcc", "curl")}
        self.assertFalse(bad, f"runtime stage installs build tools: {bad}")

    def test_every_daemon_is_built_and_shipped(self):
        build = " ".join(self.stages[0][1])
        for daemon in DAEMONS:
            self.assertRegex(build, rf"--target[^&]*\b{re.escape(daemon)}\b")
        self.assertTrue(any(l.startswith("COPY --from=") for l in self.runtime))
        self.assertTrue(any("deploy/healthcheck.sh" in l for l in self.runtime))
        self.assertTrue(os.access(HEALTHCHECK, os.X_OK), "deploy/healthcheck.sh is not executable")

    def test_runtime_packages_cover_linked_libraries(self):
        if shutil.which("objdump") is None or shutil.which("dpkg") is None:
            self.skipTest("objdump/dpkg not available")
        pkgs = self.runtime_packages() | BASE_PACKAGES
        needs = []  # (daemon, soname, resolved path)
        checked = 0
        for daemon in DAEMONS:
            path = find_binary(daemon)
            if path is None:
                continue
            dump = subprocess.run(["objdump", "-p", path], capture_output=True, text=True).stdout
            needed = re.findall(r"^\s*NEEDED\s+(\S+)", dump, re.M)
            if any(n.startswith(("libasan", "libubsan")) for n in needed):
                self.skipTest(f"{path} is a sanitizer build; library check needs a plain build")
            ldd = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
            resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
            for soname in needed:
                lib = resolved.get(soname)
                self.assertTrue(lib and lib != "not", f"{daemon}: {soname} does not resolve")
                needs.append((daemon, soname, lib))
            checked += 1
        # One dpkg -S for every library (it is slow per call). dpkg knows the
        # paths packages installed, which may differ from ldd's by the /usr merge.
        def variants(lib):
            out = {lib, os.path.realpath(lib)}
            for v in list(out):
                out.add(v[4:] if v.startswith("/usr/") else "/usr" + v)
            return out

        queries = sorted({q for _d, _s, lib in needs for q in variants(lib)})
        owners = {}
        if queries:
            res = subprocess.run(["dpkg", "-S", *queries], capture_output=True, text=True)
            for line in res.stdout.splitlines():
                pkg, _, path = line.partition(": ")
                owners[path.strip()] = pkg.split(":")[0]
        for daemon, soname, lib in needs:
            with self.subTest(daemon=daemon, library=soname):
                pkg = next((owners[v] for v in sorted(variants(lib)) if v in owners), None)
                self.assertIsNotNone(pkg, f"no package owns {lib}")
                self.assertIn(pkg, pkgs, f"{daemon} needs {soname} from {pkg}, "
                                         "which the runtime stage does not install")
        if checked == 0:
            self.skipTest("no nimbus binaries in NIMBUS_BUILD_DIR: linked libraries not checked")


class TestHealthcheckProbe(unittest.TestCase):
    """deploy/healthcheck.sh against a real nimbus daemon (the simulator: no backends)."""

    def test_probe_reports_live_daemon_healthy_and_closed_port_unhealthy(self):
        sim = find_binary("weather-sim")
        if sim is None:
            self.skipTest("weather-sim not found in NIMBUS_BUILD_DIR")
        port = free_port()
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen([sim, "--bind", "127.0.0.1", "--port", str(port)],
                                    stdout=log, stderr=log)
            try:
                def probe_ok():
                    r = subprocess.run([HEALTHCHECK, str(port), "/healthz"],
                                       capture_output=True, text=True, timeout=10)
                    return r.returncode == 0
                ok = wait_for(lambda: proc.poll() is not None or probe_ok(), 15) and proc.poll() is None
                log.seek(0)
                self.assertTrue(ok, "probe never saw /healthz 200; daemon log:\n"
                                + log.read().decode(errors="replace")[-2000:])
                r = subprocess.run([HEALTHCHECK, str(port), "/no-such-route"],
                                   capture_output=True, text=True, timeout=10)
                self.assertNotEqual(r.returncode, 0, "a 404 must count as unhealthy")
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        r = subprocess.run([HEALTHCHECK, str(port), "/healthz"], capture_output=True, text=True,
                           timeout=10)
        self.assertNotEqual(r.returncode, 0, "a closed port must count as unhealthy")


if __name__ == "__main__":
    unittest.main(verbosity=2)
