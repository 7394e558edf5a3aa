#!/usr/bin/python3
"""What a subscription request is refused for, what the caps allow, which
observations mail and which do not: real api, persistence (PostgreSQL),
Kafka (dev broker), notifier and SMTP server (python3-aiosmtpd).

New observations are made as the api makes them: the record stored in
persistence, whose event (stored in the same transaction) the api's outbox
relay publishes to the topic."""
import json

from nimbus_harness import http, procs, schema, testing

from api_common import now_ms
from notifier_common import NotifierStack, html_part, text_part

MIN = 60_000


class Rules(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = NotifierStack(api_args=["--confirm-cap-per-address", "2",
                                            "--confirm-cap-per-client", "3"])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def assertRefused(self, r, status, reason):
        self.assertStatus(r, status)
        err = r.json()
        schema.validate(err, "error")
        self.assertIn(reason, err["reason"])
        return err

    def test_bad_addresses_places_and_rules_get_400_with_a_reason(self):
        s, ok = self.stack, "fine@example.org"
        cases = [
            (dict(email="no-at-sign", lat=1, lon=2), "email: no @"),
            (dict(email="jo@localhost", lat=1, lon=2), "email: the part after @ needs a dot"),
            (dict(email="jo@example.org\r\nBcc: all@example.org", lat=1, lon=2), "email:"),
            (dict(email="jö@example.org", lat=1, lon=2), "only ASCII"),
            (dict(lat=1, lon=2), "email: missing"),
            (dict(email=ok), "missing city, or lat and lon"),
            (dict(email=ok, city="Berlin", lat=1, lon=2), "either city or lat and lon"),
            (dict(email=ok, lat=91, lon=2), "lat must be a number from -90 to 90"),
            (dict(email=ok, lat=1), "lat and lon must be given together"),
            (dict(email=ok, city="  "), "city:"),
            (dict(email=ok, lat=1, lon=2, rules=[{"kind": "hail"}]), "unknown kind 'hail'"),
            (dict(email=ok, lat=1, lon=2, rules=[{"kind": "temperature_above"}]),
             'temperature_above needs "value"'),
            (dict(email=ok, lat=1, lon=2, rules=[{"kind": "temperature_below", "value": 99}]),
             "rules[0].value: a number from -80 to 60"),
            (dict(email=ok, lat=1, lon=2, rules=[]), "from 1 to 10 rules"),
            (dict(email=ok, lat=1, lon=2, rules=[{"kind": "daily_digest", "hour": 6}],
                  quiet_hours={"start": 22, "end": 7}), "06:00 is inside the quiet hours"),
            (dict(email=ok, lat=1, lon=2, colour="red"), "unknown field 'colour'"),
        ]
        for body, reason in cases:
            with self.subTest(body=body):
                r = http.request("POST", s.api_url + "/v1/subscriptions", body=body)
                self.assertRefused(r, 400, reason)
        r = http.request("POST", s.api_url + "/v1/subscriptions", body="email=x",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertRefused(r, 415, "application/json")
        r = http.request("POST", s.api_url + "/v1/subscriptions", body="{not json",
                         headers={"Content-Type": "application/json"})
        self.assertRefused(r, 400, "JSON object")
        r = http.request("GET", s.api_url + "/v1/subscriptions?token=short")
        self.assertRefused(r, 400, "token")
        r = http.request("GET", s.api_url + "/v1/subscriptions?token=" + "A" * 43)
        self.assertRefused(r, 404, "unknown or expired")
        # Nothing was stored, so nothing is mailed.
        s.wait_queue_empty()
        self.assertEqual(s.mail.messages(to=ok), [])

    def test_unknown_place_is_404(self):
        r = self.stack.subscribe("lost@example.org", city="Xqzzyville Nowhere")
        self.assertRefused(r, 404, "unknown place 'Xqzzyville Nowhere'")

    def test_the_mail_cap_holds_per_address_and_per_client(self):
        s = self.stack
        for i in range(2):
            self.assertStatus(s.subscribe("capped@example.org", lat=10, lon=10), 202)
        r = s.subscribe("Capped@Example.ORG", lat=11, lon=11)
        self.assertRefused(r, 429, "2 confirmation mails were sent to this address")
        self.assertGreater(int(self.assertHeader(r, "Retry-After")), 0)
        for i in range(3):
            r = s.subscribe("client%d@example.org" % i, lat=10, lon=10, client="203.0.113.9")
            self.assertStatus(r, 202)
        r = s.subscribe("client9@example.org", lat=10, lon=10, client="203.0.113.9")
        self.assertRefused(r, 429, "requests came from your address")
        self.assertStatus(s.subscribe("client9@example.org", lat=10, lon=10,
                                      client="203.0.113.10"), 202)
        s.wait_queue_empty()
        self.assertEqual(len(s.mail.messages(to="capped@example.org")), 2)
        self.assertEqual(len(s.mail.messages(to="client9@example.org")), 1)

    def test_place_names_are_escaped_in_the_html_part(self):
        s = self.stack
        entry = {"query": "evil town", "found": True, "resolved_at": "2026-01-01T00:00:00.000Z",
                 "place": {"name": '<b>Evil</b> & "Co"', "latitude": 40.01, "longitude": 20.01,
                           "timezone": "Europe/Tirane", "country": "Albania"}}
        r = http.request("PUT", s.persistence_url + "/v1/geocode/evil%20town", body=entry)
        self.assertStatus(r, 200)
        self.assertStatus(s.subscribe("escape@example.org", city="Evil Town"), 202)
        m = s.mail.wait_messages(1, to="escape@example.org", kind="confirmation")[0]
        html = html_part(m)
        self.assertNotIn("<b>Evil</b>", html)
        self.assertIn("&lt;b&gt;Evil&lt;/b&gt; &amp; &quot;Co&quot;, Albania", html)
        self.assertIn('<b>Evil</b> & "Co", Albania', text_part(m))
        self.assertIn('<b>Evil</b> & "Co", Albania', m["Subject"])

    def test_rules_that_do_not_match_send_nothing_and_one_that_does_speaks_alone(self):
        s, key = self.stack, "48.86,2.35"
        s.active("quiet.reader@example.org", lat=48.86, lon=2.35, confirmed_hours_ago=1,
                 rules=[{"kind": "temperature_above", "value": 25},
                        {"kind": "temperature_below", "value": -10},
                        {"kind": "condition_change"}])
        t = now_ms()
        e1 = s.observe(key, t - 30 * MIN, 10, code=0)  # clear: remembered, no news
        e2 = s.observe(key, t - 20 * MIN, 11, code=1)  # mainly clear: the same sky
        e3 = s.observe(key, t - 10 * MIN, 25, code=2)  # cloudy is news; 25 is not above 25
        self.assertEqual(s.wait_handled(e1), (1, 0, 0))
        self.assertEqual(s.wait_handled(e2), (1, 0, 0))
        s.wait_handled(e3)
        s.wait_queue_empty()
        alerts = [m for m in s.mail.messages(to="quiet.reader@example.org")
                  if m["X-Nimbus-Kind"] != "confirmation"]
        # only the sky rule could speak (clear → cloudy); the thresholds never
        self.assertEqual(s.handled(e3), (1, 1, 1))
        self.assertEqual(len(alerts), 1)
        self.assertIn("The sky changed from clear to cloudy.", text_part(alerts[0]))
        self.assertNotIn("temperature", text_part(alerts[0]).split("Now:")[0].lower())

    def test_cooldown_holds_then_ends(self):
        s, key, who = self.stack, "41.93,12.53", "cooldown@example.org"
        # Confirmed three hours ago, so observations from two hours ago are news.
        s.active(who, lat=41.93, lon=12.53, confirmed_hours_ago=3,
                 rules=[{"kind": "temperature_above", "value": 20, "cooldown_hours": 1}])
        t = now_ms()
        e1 = s.observe(key, t - 120 * MIN, 25)
        self.assertEqual(s.wait_handled(e1), (1, 1, 1))
        e2 = s.observe(key, t - 100 * MIN, 26)  # 20 minutes later: still cooling down
        self.assertEqual(s.wait_handled(e2), (1, 0, 0))
        e3 = s.observe(key, t - 70 * MIN, 27)   # 50 minutes after the alert
        self.assertEqual(s.wait_handled(e3), (1, 0, 0))
        e4 = s.observe(key, t - 59 * MIN, 28)   # 61 minutes after it: a new alert
        self.assertEqual(s.wait_handled(e4), (1, 1, 1))
        alerts = s.mail.wait_messages(2, to=who, kind="alert")
        s.wait_queue_empty()
        self.assertEqual(len(s.mail.messages(to=who)), 3, "a confirmation and two alerts")
        self.assertIn("25.0 °C", alerts[0]["Subject"])
        self.assertIn("28.0 °C", alerts[1]["Subject"])


if __name__ == "__main__":
    testing.main()
