"""mail — a real SMTP server for tests: tools/mail-catcher (aiosmtpd) in its
own process, so a test can stop it and start it again on the same port.

    mc = MailCatcher().start()                  # free port, messages in a scratch dir
    mc.url                                      # smtp://127.0.0.1:PORT for the notifier
    mc.messages()                               # [email.message.EmailMessage], in arrival order
    mc.wait_messages(2, timeout=30, to="jo@example.org")
    mc.stop(); mc.start()                       # the server down, then up (same port)

Options: tls=True offers STARTTLS with a fresh self-signed certificate for
127.0.0.1 (mc.ca_file is what the client must trust; require_tls refuses
plain mail), auth="user:password" requires AUTH, reject_domains answer 550 to
those recipients.
"""
import email
import email.policy
import os
import subprocess

from . import procs

CATCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tools",
                       "mail-catcher", "mail-catcher")


def self_signed(directory, host="127.0.0.1"):
    """(cert, key) PEM files for host, made with openssl."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=%s" % host, "-addext", "subjectAltName=IP:%s" % host,
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


class MailCatcher:
    def __init__(self, tmpdir=None, port=None, tls=False, require_tls=False, auth=None,
                 reject_domains=()):
        self.tmpdir = tmpdir or procs.scratch_dir("mail")
        self.dir = os.path.join(self.tmpdir, "mail")
        self.port = port or procs.free_port()
        self.argv = ["/usr/bin/python3", os.path.normpath(CATCHER), "--dir", self.dir,
                     "--port", str(self.port)]
        self.ca_file = None
        if tls:
            cert, key = self_signed(self.tmpdir)
            self.ca_file = cert
            self.argv += ["--tls-cert", cert, "--tls-key", key]
            if require_tls:
                self.argv.append("--require-starttls")
        if auth:
            self.argv += ["--auth", auth]
        for d in reject_domains:
            self.argv += ["--reject-domain", d]
        self.daemon = None

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def start(self):
        self.daemon = procs.Daemon("mail-catcher", self.argv, ready_port=self.port,
                                   tmpdir=self.tmpdir).start()
        return self

    def stop(self):
        rc = self.daemon.stop() if self.daemon else None
        procs.wait_until(lambda: not procs.port_open(self.port), 10,
                         what="mail-catcher port %d closed" % self.port)
        return rc

    def files(self):
        d = os.path.join(self.dir, "eml")
        if not os.path.isdir(d):
            return []
        return [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith(".eml")]

    def messages(self, to=None):
        """Every message kept so far (oldest first), parsed; raw bytes in .raw."""
        out = []
        for path in self.files():
            with open(path, "rb") as f:
                raw = f.read()
            m = email.message_from_bytes(raw, policy=email.policy.default)
            m.raw, m.path = raw, path
            if to is None or to.lower() in str(m.get("To", "")).lower():
                out.append(m)
        return out

    def wait_messages(self, count, timeout=30, to=None, kind=None):
        """Waits (deadline) until at least count messages (to that address, of
        that X-Nimbus-Kind) were kept; returns them all."""
        got = []

        def enough():
            got[:] = [m for m in self.messages(to)
                      if kind is None or m.get("X-Nimbus-Kind") == kind]
            return len(got) >= count
        procs.wait_until(enough, timeout, interval=0.1,
                         what="%d %s mail(s)%s" % (count, kind or "", " to " + to if to else ""))
        return got

    def log_text(self):
        return self.daemon.log_text() if self.daemon else ""
