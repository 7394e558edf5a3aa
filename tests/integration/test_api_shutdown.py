"""SIGTERM during a burst of misses: 1000 requests for new places, each
waiting on an upstream fetch (2 running, the rest queued). The api exits 0
well inside a container's 10 s stop deadline, and every request gets a whole
answer: the weather, or a 503 — never a reset or a hang."""
import asyncio
import resource
import signal
import time

from nimbus_harness import procs, testing

from api_common import ApiStack, ApiTestCase

N = 1000


async def one(port, i):
    """One GET on its own connection; returns the status (0: no whole answer)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return -1
    try:
        writer.write(("GET /v1/weather?lat=%d.%02d&lon=%d.00 HTTP/1.1\r\nHost: api\r\n"
                      "Connection: close\r\n\r\n" % (10 + i // 100, i % 100, 10 + i // 100))
                     .encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        return status
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        return 0
    finally:
        writer.close()


class Shutdown(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
        cls.stack = ApiStack(api_args=["--renew-workers", "2", "--renew-queue", str(N),
                                       "--miss-deadline-ms", "30000",
                                       "--upstream-timeout-ms", "20000",
                                       "--flight-waiters", str(2 * N)])

    @classmethod
    def tearDownClass(cls):
        cls.stack.sim.reset()
        cls.stack.persistence.stop()

    def test_sigterm_with_1000_queued_fetches(self):
        s = self.stack
        s.sim.reset()
        s.sim.latency(8000, endpoint="forecast")  # the two running fetches outlast the grace

        async def burst():
            tasks = [asyncio.ensure_future(one(s.api_port, i)) for i in range(N)]
            loop = asyncio.get_running_loop()
            # Every request has reached the fetch queue (2 running + 998 queued).
            await loop.run_in_executor(None, lambda: procs.wait_until(
                lambda: s.metric("nimbus_fetch_queue_depth") >= N - 2, 60, interval=0.2,
                what="%d fetches queued or running" % (N - 2)))
            t0 = time.monotonic()
            s.api.send_signal(signal.SIGTERM)
            rc = await loop.run_in_executor(None, lambda: s.api.proc.popen.wait(30))
            took = time.monotonic() - t0
            return rc, took, await asyncio.gather(*tasks)
        rc, took, statuses = asyncio.run(burst())
        counts = {st: statuses.count(st) for st in set(statuses)}
        print("SIGTERM with %d fetches waiting: exit %d in %.2f s; answers %s"
              % (N, rc, took, counts))
        self.assertEqual(rc, 0, s.api.log_tail())
        self.assertLess(took, 8.0, "well inside a container's 10 s")
        self.assertEqual(set(statuses) - {200, 503}, set(), counts)
        self.assertGreater(counts.get(503, 0), N - 10)  # the queued ones, at once
        self.assertEqual(s.sim.counters()["forecast"], 2, "queued fetches never ran")
        log = s.api.log_text()
        self.assertIn("api service stopped in", log)


if __name__ == "__main__":
    testing.main()
