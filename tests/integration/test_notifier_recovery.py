#!/usr/bin/python3
"""At least once, never twice: the notifier killed (SIGKILL) after sending
and started again sends no duplicate, even when it reads every event again;
the mail server down and back: the alert arrives once; a recipient the
server refuses (550) is given up, not retried; STARTTLS with AUTH.

Real servers: PostgreSQL, Redis, the dev Kafka broker, SMTP servers
(python3-aiosmtpd), the notifier as a process that is killed."""
import signal

from nimbus_harness import procs, testing
from nimbus_harness.mail import MailCatcher

from api_common import now_ms
from notifier_common import NotifierStack, text_part

ALWAYS = [{"kind": "temperature_above", "value": -79}]  # any observed temperature matches


class Recovery(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = NotifierStack()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def alerts(self, who):
        return [m for m in self.stack.mail.messages(to=who) if m["X-Nimbus-Kind"] == "alert"]

    def test_sigkill_after_sending_resends_nothing(self):
        s, key, who = self.stack, "59.38,18.02", "killed@example.org"
        s.active(who, ALWAYS, lat=59.38, lon=18.02)
        e1 = s.observe(key, now_ms(), 3.5)
        self.assertEqual(s.wait_handled(e1), (1, 1, 1))
        s.mail.wait_messages(1, to=who, kind="alert")
        # Sent, and persistence told: the metric moves after the report.
        procs.wait_until(lambda: s.metric('nimbus_notifier_mails_total{kind="alert",'
                                          'result="sent"}') >= 1, 20, what="the send recorded")
        s.notifier.send_signal(signal.SIGKILL)
        procs.wait_until(lambda: not s.notifier.alive(), 10, what="the notifier to die")

        # The same group again: it resumes from the committed offset (maybe
        # before e1). A later observation proves it caught up.
        first = s.notifier
        s.start_notifier(name="notifier-restarted")
        # A new observation (the next quarter hour's): matches, but the rule
        # cools down for 12 h.
        e2 = s.observe(key, now_ms(), 4.5, observation=s.observation_at(now_ms() + 15 * 60_000))
        self.assertEqual(s.wait_handled(e2), (1, 0, 0))
        replayed = s.handled(e1)
        self.assertIn(replayed, (None, (1, 0, 0)), "e1 read again must mail nobody")

        # A brand-new group reads the whole topic again, e1 included.
        s.notifier.stop()
        s.start_notifier(group=s.group + "-replay", name="notifier-replay")
        self.assertEqual(s.wait_handled(e1), (1, 0, 0))
        self.assertEqual(s.wait_handled(e2), (1, 0, 0))
        s.wait_queue_empty()
        self.assertEqual(len(self.alerts(who)), 1)
        self.assertIsNotNone(first.log_text())
        # Each observation's event reached the topic once, through the relay.
        self.assertEqual((s.events_on_topic(e1), s.events_on_topic(e2)), (1, 1))

    def test_smtp_down_then_up_the_alert_arrives_once(self):
        s, key, who = self.stack, "60.17,24.94", "patient@example.org"
        s.active(who, ALWAYS, lat=60.17, lon=24.94)
        retried = s.metric('nimbus_notifier_mails_total{kind="alert",result="retried"}')
        s.mail.stop()
        e = s.observe(key, now_ms(), -1.5)
        self.assertEqual(s.wait_handled(e), (1, 1, 1))
        procs.wait_until(lambda: s.metric('nimbus_notifier_mails_total{kind="alert",'
                                          'result="retried"}') > retried + 1, 30,
                         what="the notifier to try the server twice")
        s.mail.start()
        alert = s.mail.wait_messages(1, to=who, kind="alert", timeout=30)[0]
        s.wait_queue_empty()
        self.assertEqual(len(self.alerts(who)), 1)
        self.assertEqual(s.events_on_topic(e), 1)
        self.assertIn("-1.5 °C", alert["Subject"])

    def test_a_refused_recipient_is_given_up_not_retried(self):
        s = self.stack
        s.mail.stop()
        refusing = MailCatcher(tmpdir=s.mail.tmpdir, port=s.mail.port,
                               reject_domains=["refused.example"])
        s.mail = refusing.start()
        failed = s.metric('nimbus_notifier_mails_total{kind="confirmation",result="failed"}')
        self.assertStatus(s.subscribe("nobody@refused.example", lat=1, lon=1), 202)
        procs.wait_until(lambda: s.metric('nimbus_notifier_mails_total{kind="confirmation",'
                                          'result="failed"}') == failed + 1, 30,
                         what="the refused confirmation given up")
        s.wait_queue_empty()
        self.assertEqual(s.metric('nimbus_notifier_mails_total{kind="confirmation",'
                                  'result="retried"}'), 0)
        self.assertIn('"rejected"', s.mail.log_text())


class Tls(testing.TestCase):
    """A mail server that takes mail only over STARTTLS and after AUTH."""

    @classmethod
    def setUpClass(cls):
        mail = MailCatcher(tls=True, require_tls=True, auth="nimbus:s3cret pass")
        cls.stack = NotifierStack(mail=mail, notifier_args=[
            "--smtp-tls", "required", "--smtp-ca-file", mail.ca_file,
            "--smtp-user", "nimbus", "--smtp-password", "s3cret pass"])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_starttls_and_auth(self):
        s = self.stack
        self.assertStatus(s.subscribe("secure@example.org", lat=35.68, lon=139.69), 202)
        m = s.mail.wait_messages(1, to="secure@example.org", kind="confirmation")[0]
        self.assertIn("/subscriptions/confirm?token=", text_part(m))
        # The catcher keeps the message, then logs it: wait for the line.
        log = procs.wait_until(lambda: '"event": "message"' in s.mail.log_text()
                               and s.mail.log_text(), 10, what="the catcher's message log line")
        self.assertIn('"tls": true', log)
        self.assertIn('"auth": true', log)
        self.assertNotIn("s3cret", s.notifier.log_text(), "the password is never logged")


if __name__ == "__main__":
    testing.main()
