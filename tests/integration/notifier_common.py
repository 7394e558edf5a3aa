"""Helpers shared by the notifier integration tests (not a test itself).

NotifierStack runs, on free ports and wired to the suite's shared servers
(Redis db 2, a fresh PostgreSQL database, the dev Kafka broker, the weather
simulator): persistence, api, front, a mail catcher (tools/mail-catcher: a
real SMTP server) and the notifier in a consumer group of its own. Helpers
subscribe and confirm through the api, make new observations (a record PUT
to persistence, which stores the event with it; the api's outbox relay
publishes it to Kafka), and wait for the notifier to have handled an event
(its log line).
"""
import datetime
import json
import os
import re
import uuid

from nimbus_harness import http, procs, shared, testing
from nimbus_harness.mail import MailCatcher
from nimbus_harness.sim import WeatherSim

from api_common import record

REDIS_DB = 2  # the notifier tests own this Redis database of the shared server
CONFIRM_LINK = re.compile(r"https?://\S+/subscriptions/confirm\?token=([A-Za-z0-9_-]+)")
HANDLED = re.compile(r"event (\S+) for (\S+): (\d+) subscription\(s\), (\d+) matched, "
                     r"(\d+) mail\(s\) queued")


def artifacts_dir():
    d = os.path.join(procs.build_dir(), "tests", "artifacts")
    os.makedirs(d, exist_ok=True)
    return d


def text_part(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def html_part(msg):
    return msg.get_body(preferencelist=("html",)).get_content()


class NotifierStack:
    def __init__(self, api_args=(), notifier_args=(), mail=None, fresh_ttl_s=600, tmpdir=None):
        testing.require_binary("nimbus-persistence", "nimbus-api", "nimbus-front",
                               "nimbus-notifier", "weather-sim")
        self.servers = shared()
        self.sim = WeatherSim.attach(self.servers.sim.port)
        self.kafka = self.servers.kafka
        self.tmpdir = tmpdir or procs.scratch_dir("notifier")
        self.servers.redis.cli("-n", str(REDIS_DB), "FLUSHDB")
        self.pg = self.servers.postgres
        self.db = self.pg.fresh_db("notifier")
        self.mail = mail or MailCatcher(tmpdir=procs.scratch_dir("mail"))
        if not self.mail.daemon:
            self.mail.start()

        pport = procs.free_port()
        self.persistence_url = "http://127.0.0.1:%d" % pport
        self.persistence = procs.Daemon(
            "persistence",
            [procs.binary("nimbus-persistence"), "--port", pport,
             "--redis-url", "redis://127.0.0.1:%d/%d" % (self.servers.redis.port, REDIS_DB),
             "--postgres-dsn", self.pg.dsn(self.db)],
            ready_url=self.persistence_url + "/readyz", tmpdir=self.tmpdir).start()

        aport = procs.free_port()
        self.api_url = "http://127.0.0.1:%d" % aport
        self.api = procs.Daemon(
            "api",
            [procs.binary("nimbus-api"), "--port", aport,
             "--persistence-url", self.persistence_url,
             "--forecast-url", self.sim.forecast_url, "--geocoding-url", self.sim.geocoding_url,
             "--kafka-brokers", self.kafka.bootstrap, "--fresh-ttl-s", fresh_ttl_s]
            + list(api_args),
            ready_url=self.api_url + "/readyz", tmpdir=self.tmpdir).start()

        fport = procs.free_port()
        self.front_url = "http://127.0.0.1:%d" % fport
        self.front = procs.Daemon(
            "front",
            [procs.binary("nimbus-front"), "--port", fport, "--api-url", self.api_url,
             "--public-url", self.front_url],
            ready_url=self.front_url + "/readyz", tmpdir=self.tmpdir).start()

        self.group = "notifier-test-%s" % uuid.uuid4().hex[:8]
        self.notifier_args = list(notifier_args)
        self.notifier = None
        self.start_notifier()

    # --- the notifier --------------------------------------------------------

    def notifier_argv(self, group=None, extra=()):
        self.notifier_port = procs.free_port()
        return [procs.binary("nimbus-notifier"), "--port", self.notifier_port,
                "--persistence-url", self.persistence_url,
                "--kafka-brokers", self.kafka.bootstrap, "--kafka-group", group or self.group,
                "--kafka-session-timeout-ms", "6000",
                "--public-url", self.front_url, "--smtp-url", self.mail.url,
                "--mail-from", "nimbus weather <weather@nimbus.example>",
                "--mail-poll-ms", "200", "--mail-retry-base-ms", "300",
                "--mail-retry-max-ms", "2000"] + self.notifier_args + list(extra)

    def start_notifier(self, group=None, extra=(), name="notifier"):
        """Starts a notifier and waits until the group gave it the partition."""
        self.notifier = procs.Daemon(name, self.notifier_argv(group, extra),
                                     ready_url="http://127.0.0.1:%d/readyz" % self.notifier_port,
                                     tmpdir=self.tmpdir, ready_timeout=45).start()
        self.notifier_url = "http://127.0.0.1:%d" % self.notifier_port
        return self.notifier

    def stop(self):
        codes = {}
        for name in ("notifier", "front", "api", "persistence"):
            d = getattr(self, name)
            if d and d.alive():
                codes[name] = d.stop(timeout=20)
        self.mail.stop()
        bad = {k: v for k, v in codes.items() if v != 0}
        assert not bad, "daemons exited badly on SIGTERM: %s" % bad

    def metric(self, name, url=None):
        body = http.request("GET", (url or self.notifier_url) + "/metrics").text()
        total = 0.0
        for line in body.splitlines():
            if line.startswith(name):
                total += float(line.rsplit(" ", 1)[1])
        return total

    # --- subscribing ----------------------------------------------------------

    _clients = iter(range(1, 1 << 16))

    def subscribe(self, email, rules=None, quiet=None, client=None, **place):
        """POST /v1/subscriptions; each call speaks for its own client address
        (X-Forwarded-For, trusted from loopback) unless client is given, so the
        per-client cap bites only where a test means it to."""
        if client is None:
            n = next(self._clients)
            client = "198.51.%d.%d" % (n >> 8, n & 255)
        headers = {"X-Forwarded-For": client}
        body = {"email": email}
        body.update(place)
        if rules is not None:
            body["rules"] = rules
        if quiet is not None:
            body["quiet_hours"] = quiet
        return http.request("POST", self.api_url + "/v1/subscriptions", body=body,
                            headers=headers, timeout=30)

    def confirmation_token(self, email, nth=1, timeout=30):
        """The token of the nth confirmation mail to email (waits for it)."""
        mails = self.mail.wait_messages(nth, timeout, to=email, kind="confirmation")
        m = CONFIRM_LINK.search(text_part(mails[nth - 1]))
        assert m, "no confirm link in:\n%s" % text_part(mails[nth - 1])
        return m.group(1)

    def confirm(self, token):
        r = http.request("POST", self.api_url + "/v1/subscriptions/confirm",
                         body={"token": token}, timeout=30)
        assert r.status == 200, r.text()
        return r.json()

    def active(self, email, rules, lat=52.52, lon=13.41, quiet=None, confirmed_hours_ago=0):
        """Subscribes and confirms; returns (subscription, confirm token).
        confirmed_hours_ago backdates the confirmation in the database, as if
        the person had confirmed that long ago (observations fetched before a
        confirmation are not news to that subscriber)."""
        r = self.subscribe(email, rules=rules, quiet=quiet, lat=lat, lon=lon)
        assert r.status == 202, r.text()
        token = self.confirmation_token(email)
        sub = self.confirm(token)
        if confirmed_hours_ago:
            self.pg.psql("UPDATE subscriptions SET confirmed_at = now() - interval '%d hours'"
                         " WHERE id = '%s'" % (confirmed_hours_ago, sub["id"]), db=self.db)
        return sub, token

    def lookup(self, token):
        return http.request("GET", self.api_url + "/v1/subscriptions?token=" + token)

    # --- observations ---------------------------------------------------------

    @staticmethod
    def observation_at(ms):
        """The observation time (local, UTC+1, to the minute) of a record
        fetched at ms: two records fetched within a minute are one
        observation, and persistence makes an event for the first only."""
        dt = datetime.datetime.fromtimestamp(ms / 1000 + 3600, tz=datetime.timezone.utc)
        return dt.strftime("%Y-%m-%dT%H:%M")

    def observe(self, key, fetched_ms, temperature, code=0, observation=None):
        """A new observation as the api makes one: the record PUT to
        persistence, which stores its event in the same transaction (the
        outbox); the api's relay publishes that event to the topic. Returns
        the event id persistence gave it."""
        if observation is None:
            observation = self.observation_at(fetched_ms)
        rec = record(key, fetched_ms, temperature=temperature, observation=observation)
        rec["current"]["weather_code"] = code
        r = http.request("PUT", self.persistence_url + "/v1/records/" + key, body=rec)
        assert r.status == 200, r.text()
        event = r.json().get("event")
        assert event, "persistence made no event for a new observation: %s" % r.text()
        return event

    def events_on_topic(self, event_id):
        """How many messages on the topic carry event_id."""
        n = 0
        for m in self.kafka.read_all():
            try:
                n += json.loads(m["value"] or "null").get("id") == event_id
            except (ValueError, AttributeError):
                pass  # another test's message that is no event
        return n

    def handled(self, event_id, daemon=None):
        """The notifier's line for event_id: (subscriptions, matched, queued) or None."""
        for line in (daemon or self.notifier).log_json():
            m = HANDLED.search(line.get("msg", ""))
            if m and m.group(1) == event_id:
                return int(m.group(3)), int(m.group(4)), int(m.group(5))
        return None

    def wait_handled(self, event_id, timeout=30, daemon=None):
        return procs.wait_until(lambda: self.handled(event_id, daemon), timeout,
                                what="the notifier to handle event %s" % event_id)

    def mail_stats(self):
        return http.request("GET", self.persistence_url + "/v1/mails/stats").json()

    def wait_queue_empty(self, timeout=30):
        """Waits until persistence holds no mail waiting to be sent."""
        procs.wait_until(lambda: self.mail_stats()["pending"] == 0, timeout,
                         what="the mail queue to be empty")
