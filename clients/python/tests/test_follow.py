import asyncio
import json
import threading
import time
import unittest

from support import Stub, reply, wait_until
from arena_client import ArenaError, afollow, follow

EVENTS = [(f"{i}-0", "turn_start" if i % 2 else "arena.error", {"seq": i, "note": f"line one\nline {i}"}) for i in range(1, 11)]


def frame(stream_id, name, envelope):
    data = json.dumps(envelope, indent=1)  # several data: lines per event
    return (f"id: {stream_id}\nevent: {name}\n" + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n").encode()


class Gateway:
    """A stand-in for the SSE gateway: a run's events after Last-Event-ID, the connection cut after
    ``per_connection`` of them; once everything is sent, heartbeats until the client goes away."""

    def __init__(self, per_connection=3, chunked=True, retry_ms=20):
        self.per_connection = per_connection
        self.chunked = chunked
        self.retry_ms = retry_ms
        self.stub = Stub(self.respond)
        self.url = self.stub.url

    def respond(self, request, handler):
        after = request.headers.get("last-event-id")
        start = 0 if after is None else next(i + 1 for i, e in enumerate(EVENTS) if e[0] == after)
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
        if self.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Connection", "close")
        handler.end_headers()

        def write(data):
            if self.chunked:
                data = b"%x\r\n%s\r\n" % (len(data), data)
            handler.wfile.write(data)
            handler.wfile.flush()

        write(f"retry: {self.retry_ms}\n\n".encode())
        sent = 0
        for stream_id, name, envelope in EVENTS[start:]:
            if sent == self.per_connection:
                handler.close_connection = True  # dropped mid-stream, no end of the chunked body
                return
            write(frame(stream_id, name, envelope))
            sent += 1
        try:
            for _ in range(200):
                write(b": heartbeat\n\n")
                time.sleep(0.02)
        except OSError:
            pass
        handler.close_connection = True

    def resumed_from(self):
        return [r.headers.get("last-event-id") for r in self.stub.requests]

    def close(self):
        self.stub.close()


class FollowTests(unittest.TestCase):
    def take(self, follower, count):
        got = []
        for event in follower:
            got.append(event)
            if len(got) == count:
                break
        return got

    def test_resumes_with_last_event_id_after_dropped_connections_and_misses_nothing(self):
        gateway = Gateway(per_connection=3)
        try:
            follower = follow("run-s", url=gateway.url, timeout=5)
            got = self.take(follower, 10)
            follower.close()
        finally:
            gateway.close()
        self.assertEqual([e[0] for e in EVENTS], [e.id for e in got])
        self.assertEqual([e[1] for e in EVENTS], [e.event for e in got])
        self.assertEqual([e[2] for e in EVENTS], [e.json() for e in got])
        self.assertEqual([None, "3-0", "6-0", "9-0"], gateway.resumed_from())
        self.assertEqual(("10-0", 4), (follower.last_event_id, follower.connections))
        self.assertEqual(["/v1/runs/run-s/stream"] * 4, [r.path for r in gateway.stub.requests])

    def test_starts_after_the_last_event_id_given_and_from_live_only_without_one(self):
        gateway = Gateway(per_connection=100)
        try:
            got = self.take(follow("run-s", "8-0", url=gateway.url, from_live=True), 2)
            live = follow("run-s", url=gateway.url, from_live=True)
            self.take(live, 1)
            live.close()
        finally:
            gateway.close()
        self.assertEqual(["9-0", "10-0"], [e.id for e in got])
        self.assertEqual("8-0", gateway.stub.requests[0].headers.get("last-event-id"))
        self.assertEqual(["/v1/runs/run-s/stream", "/v1/runs/run-s/stream?from=live"], [r.path for r in gateway.stub.requests])

    def test_a_read_token_is_sent_as_bearer(self):
        gateway = Gateway(per_connection=100)
        try:
            self.take(follow("run-s", url=gateway.url, read_token="t0"), 1)
        finally:
            gateway.close()
        self.assertEqual("Bearer t0", gateway.stub.requests[0].headers.get("authorization"))

    def test_a_400_is_raised_with_the_problem_fields(self):
        problem = {"title": "Bad request", "status": 400, "detail": "'x' is not a stream ID",
                   "errors": [{"index": 0, "field": "Last-Event-ID", "message": "'x' is not a stream ID"}]}
        with Stub(lambda r, h: reply(h, 400, problem, content_type="application/problem+json")) as stub:
            with self.assertRaises(ArenaError) as caught:
                next(follow("run-s", "x", url=stub.url))
        self.assertEqual((400, "Last-Event-ID"), (caught.exception.status, caught.exception.errors[0].field))

    def test_an_empty_answer_with_a_retry_hint_and_a_503_are_retried(self):
        answers = ["empty", "503"]
        gateway = Gateway(per_connection=100)

        def respond(request, handler):
            if not answers:
                return gateway.respond(request, handler)
            kind = answers.pop(0)
            if kind == "empty":  # the gateway while its reader has not joined the stream
                reply(handler, 200, b"retry: 30\n\n: not ready, retry\n\n", content_type="text/event-stream")
            else:
                reply(handler, 503, {"title": "unavailable"}, {"Retry-After": "0"})

        with Stub(respond) as stub:
            started = time.monotonic()
            got = self.take(follow("run-s", url=stub.url, retry=5), 1)
            self.assertGreaterEqual(time.monotonic() - started, 0.03, "the retry: hint was not honoured")
        gateway.close()
        self.assertEqual("1-0", got[0].id)
        self.assertEqual(3, len(stub.requests))

    def test_close_from_another_thread_stops_a_blocked_follower(self):
        gateway = Gateway(per_connection=100)
        follower = follow("run-s", url=gateway.url)
        got = []
        thread = threading.Thread(target=lambda: got.extend(follower))
        thread.start()
        wait_until(lambda: len(got) == 10, "every event")
        follower.close()
        thread.join(5)
        gateway.close()
        self.assertFalse(thread.is_alive())

    def test_gives_up_when_asked_to(self):
        with Stub(lambda r, h: None) as stub:
            url = stub.url
        with self.assertRaises(ArenaError) as caught:
            next(follow("run-s", url=url, retry=0.01, give_up_after=0.2))
        self.assertIsNone(caught.exception.status)


class AsyncFollowTests(unittest.TestCase):
    def collect(self, gateway, count, **kwargs):
        async def main():
            got = []
            follower = afollow("run-s", url=gateway.url, timeout=5, **kwargs)
            async for event in follower:
                got.append(event)
                if len(got) == count:
                    break
            await follower.aclose()
            return got, follower

        return asyncio.run(asyncio.wait_for(main(), 20))

    def test_resumes_after_dropped_chunked_connections(self):
        gateway = Gateway(per_connection=4, chunked=True)
        try:
            got, follower = self.collect(gateway, 10)
        finally:
            gateway.close()
        self.assertEqual([e[0] for e in EVENTS], [e.id for e in got])
        self.assertEqual([e[2] for e in EVENTS], [e.json() for e in got])
        self.assertEqual([None, "4-0", "8-0"], gateway.resumed_from())
        self.assertEqual(3, follower.connections)

    def test_resumes_after_dropped_close_delimited_connections(self):
        gateway = Gateway(per_connection=5, chunked=False)
        try:
            got, _ = self.collect(gateway, 10, last_event_id="")
        finally:
            gateway.close()
        self.assertEqual([e[0] for e in EVENTS], [e.id for e in got])

    def test_a_400_is_raised(self):
        async def main(url):
            async for _ in afollow("run-s", "99-0", url=url):
                pass

        with Stub(lambda r, h: reply(h, 400, {"title": "Bad request", "status": 400})) as stub:
            with self.assertRaises(ArenaError) as caught:
                asyncio.run(main(stub.url))
        self.assertEqual(400, caught.exception.status)


if __name__ == "__main__":
    unittest.main()
