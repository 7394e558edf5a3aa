"""http — a small HTTP/1.1 client for tests.

request() makes one request on a new connection and returns a Response whatever
the status (4xx/5xx are answers, not exceptions). Conn keeps one connection
open across requests, so a test can prove keep-alive: it counts the TCP
connections it had to open and records whether the server closed the last one.
"""
import http.client
import json
import urllib.parse


class Response:
    """status (int), reason, headers (case-insensitive: r.headers["cache-control"],
    r.headers.get_all("vary")), body (bytes), will_close (server ends the connection)."""

    def __init__(self, resp, body):
        self.status = resp.status
        self.reason = resp.reason
        self.headers = resp.msg
        self.body = body
        self.will_close = resp.will_close
        self.version = resp.version

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Response %d %s, %d bytes>" % (self.status, self.reason, len(self.body))


def _split(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https"):
        raise ValueError("not an http(s) URL: %r" % url)
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    return u.scheme, u.hostname, u.port or (443 if u.scheme == "https" else 80), path


def _encode(body, headers):
    headers = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
    if isinstance(body, str):
        body = body.encode("utf-8")
    return body, headers


def request(method, url, headers=None, body=None, timeout=10):
    """One request on a fresh connection. body: bytes, str, or a JSON-able object
    (sent as application/json)."""
    scheme, host, port, path = _split(url)
    cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = cls(host, port, timeout=timeout)
    try:
        body, headers = _encode(body, headers)
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp, data)
    finally:
        conn.close()


def get(url, headers=None, timeout=10):
    return request("GET", url, headers=headers, timeout=timeout)


class Conn:
    """A re-usable connection to host:port.

    connects        TCP connections opened so far (1 after any number of
                    keep-alive requests on one connection)
    server_closed   True when the last response ended the connection
                    (Connection: close, HTTP/1.0, or the peer hung up)
    """

    def __init__(self, host, port, timeout=10):
        self.host, self.port = host, port
        self._c = http.client.HTTPConnection(host, port, timeout=timeout)
        self.connects = 0
        self.server_closed = False

    def request(self, method, path, headers=None, body=None):
        body, headers = _encode(body, headers)
        if self._c.sock is None:
            self._c.connect()
            self.connects += 1
        self._c.request(method, path, body=body, headers=headers)
        resp = self._c.getresponse()
        data = resp.read()
        r = Response(resp, data)
        # http.client drops its socket when the response said it would close.
        self.server_closed = r.will_close or self._c.sock is None
        if self.server_closed:
            self._c.close()
        return r

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    @property
    def local_port(self):
        """Local port of the open connection (None when closed)."""
        return self._c.sock.getsockname()[1] if self._c.sock else None

    def close(self):
        self._c.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
