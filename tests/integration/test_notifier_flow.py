#!/usr/bin/python3
"""Email alerts end to end, as a person meets them: the form on a place page,
exactly one confirmation mail, a confirm page whose GET confirms nothing and
whose POST does, a new observation (a real renewal of the api from the
weather simulator, its event through Kafka) that matches, exactly one alert
with the RFC 8058 headers, a one-click unsubscribe, and silence after it.

Real servers: PostgreSQL, Redis, the dev Kafka broker, the weather
simulator, an SMTP server (python3-aiosmtpd). The confirmation and the alert
are kept as .eml files under build/tests/artifacts/."""
import json
import os
import re
import shutil
import urllib.parse

from nimbus_harness import http, procs, schema, testing

from notifier_common import NotifierStack, artifacts_dir, html_part, text_part

EMAIL = "flow.reader@example.org"


class Flow(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        # fresh_ttl_s=1: every revalidating request renews from the simulator.
        cls.stack = NotifierStack(fresh_ttl_s=1)

    @classmethod
    def tearDownClass(cls):
        cls.stack.sim.reset()
        cls.stack.stop()

    def weather(self):
        r = http.request("GET", self.stack.api_url + "/v1/weather?city=Bremen",
                         headers={"Cache-Control": "no-cache"}, timeout=30)
        self.assertStatus(r, 200)
        return r.json()

    def renew(self, shift_s):
        """A new observation: the simulator's clock moves on, and revalidating
        requests make the api fetch it (and publish its event) once the stored
        record is stale (after --fresh-ttl-s 1)."""
        before = self.weather()["current"]["time"]
        self.stack.sim.clock(shift_s)
        docs = []

        def renewed():
            docs[:] = [self.weather()]
            return docs[0]["current"]["time"] != before
        procs.wait_until(renewed, 30, interval=0.2, what="the api to renew Bremen")
        return docs[0]

    def events_for(self, key):
        return [m for m in self.stack.kafka.read_all() if m["key"] == key]

    def test_subscribe_confirm_alert_unsubscribe(self):
        s = self.stack
        s.sim.reset()
        # The place page offers the form, and it needs no script.
        page = http.request("GET", s.front_url + "/Bremen", headers={"Accept": "text/html"},
                            timeout=30)
        self.assertStatus(page, 200)
        html = page.text()
        self.assertIn("Get alerts by email", html)
        self.assertIn('<form method="post" action="/subscribe">', html)

        form = urllib.parse.urlencode({"place": "Bremen", "email": EMAIL, "above": "1",
                                       "above_c": "-79"})
        r = http.request("POST", s.front_url + "/subscribe", body=form, timeout=30,
                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                  "Accept": "text/html"})
        self.assertStatus(r, 202)
        self.assertIn("Check your inbox", r.text())

        # Exactly one confirmation mail, with a link to front's confirm page.
        confirmation = s.mail.wait_messages(1, to=EMAIL, kind="confirmation")[0]
        link = re.search(r"(http://\S+/subscriptions/confirm\?token=[A-Za-z0-9_-]+)",
                         text_part(confirmation)).group(1)
        self.assertTrue(link.startswith(s.front_url + "/subscriptions/confirm?token="), link)
        token = link.split("token=")[1]
        self.assertIsNone(confirmation.get("List-Unsubscribe"))
        self.assertIn("Weather data by Open-Meteo.com", text_part(confirmation))
        sub = s.lookup(token).json()
        schema.validate(sub, "subscription")
        self.assertEqual(sub["status"], "pending")
        key = sub["place"]["key"]

        # A GET (what a mail scanner does) shows a button and confirms nothing.
        r = http.request("GET", link, headers={"Accept": "text/html"})
        self.assertStatus(r, 200)
        self.assertIn('action="/subscriptions/confirm?token=%s"' % token, r.text())
        self.assertEqual(r.headers["Cache-Control"], "no-store")
        self.assertEqual(s.lookup(token).json()["status"], "pending")
        # The button's POST to that very URL does.
        r = http.request("POST", link, body="", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"})
        self.assertStatus(r, 200)
        self.assertIn("Alerts are on", r.text())
        self.assertEqual(s.lookup(token).json()["status"], "active")

        # A new observation that matches (any temperature is above -79 °C).
        doc = self.renew(900)
        alert = s.mail.wait_messages(1, to=EMAIL, kind="alert", timeout=45)[0]
        unsubscribe = alert["List-Unsubscribe"]
        self.assertRegex(unsubscribe, r"^<%s/subscriptions/unsubscribe\?token=[A-Za-z0-9_-]+>$"
                         % re.escape(s.front_url))
        self.assertEqual(alert["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        text = text_part(alert)
        self.assertIn("above your limit of -79 °C", text)
        self.assertIn("Weather data by Open-Meteo.com", text)
        self.assertIn(s.front_url + "/subscriptions/manage?token=", text)
        self.assertIn("local time", text)
        self.assertIn("Weather data by Open-Meteo.com", html_part(alert))
        self.assertIn(doc["location"]["name"], alert["Subject"])
        # Its event is the one persistence stored with the record, relayed once
        # by the api (the outbox), named for the place the api was asked for.
        events = [json.loads(m["value"]) for m in self.events_for(key)]
        mine = [e for e in events if e["observation"]["time"] == doc["current"]["time"]]
        self.assertEqual(len(mine), 1, events)
        self.assertEqual(mine[0]["location"].get("name"), doc["location"]["name"])

        # Keep both mails as people see them.
        for name, m in (("notifier-confirmation.eml", confirmation), ("notifier-alert.eml", alert)):
            shutil.copyfile(m.path, os.path.join(artifacts_dir(), name))

        # One-click unsubscribe (RFC 8058): a POST of that body to that URL.
        r = http.request("POST", unsubscribe[1:-1], body="List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertStatus(r, 200)
        self.assertIn("You are unsubscribed", r.text())
        self.assertEqual(s.lookup(token).json()["status"], "unsubscribed")

        # Newer observations send nothing: the notifier reads the next event
        # of the place and finds nobody to mail.
        before = len(self.events_for(key))
        self.renew(1800)
        procs.wait_until(lambda: len(self.events_for(key)) > before, 30,
                         what="the renewal's event on the topic")
        last = json.loads(self.events_for(key)[-1]["value"])
        self.assertEqual(s.wait_handled(last["id"]), (0, 0, 0))
        s.wait_queue_empty()
        self.assertEqual(len(s.mail.messages(to=EMAIL)), 2, "one confirmation and one alert")
        self.assertEqual(s.metric('nimbus_notifier_mails_total{kind="alert",result="sent"}'), 1)
        self.assertGreaterEqual(s.metric("nimbus_notifier_events_total{result=\"consumed\"}"), 2)


if __name__ == "__main__":
    testing.main()
