"""nimbus_harness — what the nimbus integration tests share.

procs    start/stop real servers (Redis, PostgreSQL, dev Kafka broker, daemons)
http     small HTTP client (status, case-insensitive headers, body, keep-alive)
schema   validate JSON bodies against proto/*.schema.json
mail     a real SMTP server (tools/mail-catcher, aiosmtpd) and the messages it kept
fixture  CLI starting the suite's shared servers (ctest fixture), and shared()
testing  run a test file as a plain unittest module

Only the standard library and jsonschema are used.
"""
from .procs import (Daemon, KafkaBroker, Postgres, Redis, Sentinel, binary,  # noqa: F401
                    free_port,
                    wait_until)


def shared():
    """The suite's shared servers (see fixture.shared)."""
    from .fixture import shared as _shared  # lazy: `python -m nimbus_harness.fixture`
    return _shared()
