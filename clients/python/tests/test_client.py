import asyncio
import re
import threading
import time
import unittest

from support import Stub, accept, drop, reply, turn, wait_until
from arena_client import ArenaClient, ArenaError, AsyncArenaClient, EventValidationError, RetryPolicy, format_ts

TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")
FAST = RetryPolicy(max_attempts=5, max_time=10, backoff=0.01, max_backoff=0.05)


class DefaultsTests(unittest.TestCase):
    def test_event_id_seq_ts_and_schema_version_are_filled_in(self):
        with Stub(accept) as stub, ArenaClient(stub.url, run_id="run-1", flush_interval=None) as client:
            first = client.publish(turn(1))
            second = client.publish({"run_id": "run-2", **turn(1)})
            third = client.publish(turn(2))
            explicit = client.publish({"seq": 10, **turn(3)})
            after = client.publish(turn(4))
        self.assertEqual(("run-1:1", 1), (first["event_id"], first["seq"]))
        self.assertEqual(("run-2:1", 1), (second["event_id"], second["seq"]))
        self.assertEqual(("run-1:2", 2), (third["event_id"], third["seq"]))
        self.assertEqual(("run-1:10", "run-1:11"), (explicit["event_id"], after["event_id"]))
        self.assertRegex(first["ts"], TS)
        self.assertEqual(1, first["schema_version"])
        sent = [e for batch in stub.posted() for e in batch]
        self.assertEqual([first, second, third, explicit, after], sent)
        self.assertEqual(["event_id", "run_id", "seq", "type", "schema_version", "ts", "payload"], list(sent[0]))

    def test_ts_formats(self):
        import datetime as dt
        when = dt.datetime(2026, 11, 23, 11, 0, 0, 123999, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        self.assertEqual("2026-11-23T10:00:00.123Z", format_ts(when))
        self.assertRegex(format_ts(), TS)
        with self.assertRaises(ValueError):
            format_ts(dt.datetime(2026, 1, 1))

    def test_an_invalid_event_is_refused_locally_and_nothing_is_queued(self):
        with Stub(accept) as stub, ArenaClient(stub.url, run_id="run-1", flush_interval=None) as client:
            client.publish(turn(1))
            with self.assertRaises(EventValidationError) as caught:
                client.publish_many([turn(2), {"type": "game_end", "payload": {"results": [{"player_id": "p1", "model": "m", "rank": 0}]}}])
            self.assertEqual([(1, "payload.results")], [(e.index, e.field) for e in caught.exception.errors][:1])
            self.assertIsNone(caught.exception.status)
            self.assertEqual(1, client.pending)
            self.assertEqual("run-1:2", client.publish(turn(2))["event_id"])  # no seq used up
        self.assertEqual(["run-1:1", "run-1:2"], [e["event_id"] for b in stub.posted() for e in b])

    def test_events_over_the_size_limit_or_not_json_are_refused(self):
        with ArenaClient("http://127.0.0.1:9", run_id="r", flush_interval=None, validate=False) as client:
            with self.assertRaises(EventValidationError) as caught:
                client.publish({"type": "observation", "payload": {"turn": 1, "player_id": "p", "observation": "x" * 70000}})
            self.assertIn("over the limit", str(caught.exception))
            with self.assertRaises(EventValidationError):
                client.publish({"type": "observation", "payload": {"observation": float("nan")}})
            with self.assertRaises(EventValidationError):
                client.publish({"run_id": None, "type": "x", "payload": {}})
            self.assertEqual(0, client.pending)

    def test_the_environment_names_ingest_and_the_key(self):
        import os
        seen = []
        with Stub(lambda r, h: (seen.append(r.headers.get("authorization")), accept(r, h))) as stub:
            os.environ["ARENA_INGEST_URL"], os.environ["ARENA_API_KEY"] = stub.url, "k1"
            try:
                with ArenaClient(run_id="r") as client:
                    client.publish(turn(1))
            finally:
                del os.environ["ARENA_INGEST_URL"], os.environ["ARENA_API_KEY"]
        self.assertEqual(["Bearer k1"], seen)


class BatchingTests(unittest.TestCase):
    def test_a_batch_goes_out_when_it_holds_max_batch_events(self):
        with Stub(accept) as stub, ArenaClient(stub.url, run_id="r", flush_interval=None, max_batch_events=3) as client:
            client.publish_many([turn(i) for i in range(7)])
            self.assertEqual([3, 3], [len(b) for b in stub.posted()])
            self.assertEqual(1, client.pending)
            results = client.flush()
            self.assertEqual(["r:7"], [r["event_id"] for r in results])
        self.assertEqual(list(range(1, 8)), [e["seq"] for b in stub.posted() for e in b])

    def test_a_batch_never_exceeds_max_batch_bytes(self):
        limit = 70 * 1024
        big = {"type": "observation", "payload": {"turn": 1, "player_id": "p1", "observation": "x" * 30000}}
        with Stub(accept) as stub, ArenaClient(stub.url, run_id="r", flush_interval=None, max_batch_bytes=limit) as client:
            for _ in range(5):
                client.publish(big)
        sizes = [len(r.body) for r in stub.requests]
        self.assertEqual([2, 2, 1], [len(b) for b in stub.posted()])
        self.assertTrue(all(s <= limit for s in sizes), sizes)

    def test_a_batch_goes_out_after_the_flush_interval(self):
        with Stub(accept) as stub, ArenaClient(stub.url, run_id="r", flush_interval=0.05) as client:
            client.publish(turn(1))
            client.publish(turn(2))
            wait_until(lambda: len(stub.posted()) == 1, "the timed flush")
            self.assertEqual(0, client.pending)
            client.publish(turn(3))
            wait_until(lambda: len(stub.posted()) == 2, "the second timed flush")
        self.assertEqual([[1, 2], [3]], [[e["seq"] for e in b] for b in stub.posted()])

    def test_threads_publishing_at_once_lose_nothing_and_keep_each_runs_order(self):
        with Stub(accept) as stub, ArenaClient(stub.url, flush_interval=0.01, max_batch_events=7) as client:
            def run(name):
                for i in range(200):
                    client.publish({"run_id": name, **turn(i)})
            threads = [threading.Thread(target=run, args=(f"run-{t}",)) for t in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        sent = [e for b in stub.posted() for e in b]
        self.assertEqual(800, len(sent))
        for t in range(4):
            self.assertEqual(list(range(1, 201)), [e["seq"] for e in sent if e["run_id"] == f"run-{t}"])
        self.assertEqual(800, client.stats.events_sent)


class RetryTests(unittest.TestCase):
    def test_429_and_503_are_retried_after_retry_after_with_the_same_body(self):
        answers = [(429, "1"), (503, "0")]

        def respond(request, handler):
            if answers:
                status, after = answers.pop(0)
                reply(handler, status, {"type": "https://arena.dev/problems/x", "title": "busy", "status": status, "detail": "later"},
                      {"Retry-After": after}, "application/problem+json")
            else:
                accept(request, handler)

        with Stub(respond) as stub, ArenaClient(stub.url, run_id="r", flush_interval=None, retry=FAST) as client:
            client.publish_many([turn(1), turn(2)])
            started = time.monotonic()
            results = client.flush()
            elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 0.95, "Retry-After: 1 was not honoured")
        self.assertEqual(["r:1", "r:2"], [r["event_id"] for r in results])
        self.assertEqual(3, len(stub.requests))
        self.assertEqual(1, len({r.body for r in stub.requests}), "a re-send must carry the same events")
        self.assertEqual(2, client.stats.retries)

    def test_connection_errors_are_retried(self):
        drops = [1, 1]

        def respond(request, handler):
            if drops:
                drops.pop()
                drop(handler)
            else:
                accept(request, handler)

        with Stub(respond) as stub, ArenaClient(stub.url, run_id="r", flush_interval=None, retry=FAST) as client:
            client.publish(turn(1))
            self.assertEqual(1, len(client.flush()))
        self.assertEqual(3, len(stub.requests))

    def test_an_unreachable_ingest_gives_up_after_max_attempts(self):
        with Stub(accept) as stub:
            url = stub.url
        client = ArenaClient(url, run_id="r", flush_interval=None, retry=RetryPolicy(max_attempts=3, backoff=0.01))
        client.publish(turn(1))
        with self.assertRaises(ArenaError) as caught:
            client.flush()
        client.close()
        self.assertIsNone(caught.exception.status)
        self.assertEqual(3, caught.exception.attempts)
        self.assertEqual(["r:1"], [e["event_id"] for e in caught.exception.events])

    def test_a_retry_after_beyond_the_time_budget_gives_up_at_once(self):
        def respond(request, handler):
            reply(handler, 503, {"title": "Event log unavailable", "status": 503}, {"Retry-After": "120"})

        with Stub(respond) as stub:
            client = ArenaClient(stub.url, run_id="r", flush_interval=None, retry=RetryPolicy(max_time=5))
            client.publish(turn(1))
            started = time.monotonic()
            with self.assertRaises(ArenaError) as caught:
                client.flush()
            self.assertLess(time.monotonic() - started, 2)
            client.close()
            self.assertEqual((503, 120.0, 1), (caught.exception.status, caught.exception.retry_after, caught.exception.attempts))

    def test_a_400_maps_ingests_errors_onto_the_events_sent(self):
        problem = {"type": "https://arena.dev/problems/invalid-events", "title": "Invalid events", "status": 400,
                   "detail": "Nothing was written: event 1, payload.turn must be at least 0 (got -1)",
                   "errors": [{"index": 1, "field": "payload.turn", "message": "must be at least 0 (got -1)"}]}
        with Stub(lambda r, h: reply(h, 400, problem, content_type="application/problem+json")) as stub:
            client = ArenaClient(stub.url, run_id="r", flush_interval=None, validate=False)
            client.publish_many([turn(1), turn(-1), turn(2)])
            with self.assertRaises(ArenaError) as caught:
                client.flush()
            client.close()
        error = caught.exception
        self.assertEqual((400, "Invalid events"), (error.status, error.title))
        self.assertIn("Nothing was written", error.detail)
        self.assertEqual([(1, "payload.turn", "r:2")], [(e.index, e.field, e.event["event_id"]) for e in error.errors])
        self.assertEqual(["r:2"], [e["event_id"] for e in error.rejected_events])
        self.assertEqual(3, len(error.events))
        self.assertEqual(1, len(stub.requests), "a 400 is not retried")

    def test_a_background_failure_is_raised_by_the_next_call(self):
        with Stub(lambda r, h: reply(h, 413, {"title": "Request too large", "status": 413})) as stub:
            client = ArenaClient(stub.url, run_id="r", flush_interval=0.01)
            client.publish(turn(1))
            wait_until(lambda: len(stub.requests) == 1 and client.pending == 0, "the timed flush")
            wait_until(lambda: client._error is not None, "the failure to be recorded")
            with self.assertRaises(ArenaError) as caught:
                client.publish(turn(2))
            self.assertEqual(413, caught.exception.status)
            client.close()


class AsyncClientTests(unittest.TestCase):
    def test_publishes_in_batches_by_count_and_time_and_retries(self):
        answers = [503]

        def respond(request, handler):
            if answers:
                reply(handler, answers.pop(), {"title": "busy"}, {"Retry-After": "0"})
            else:
                accept(request, handler)

        async def main(url):
            async with AsyncArenaClient(url, run_id="a", flush_interval=0.05, max_batch_events=4, retry=FAST) as client:
                await client.publish_many([turn(i) for i in range(5)])
                await client.publish(turn(5))
                deadline = time.monotonic() + 10
                while client.pending and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                self.assertEqual(0, client.pending)
                await client.publish(turn(6))
            return client.stats

        with Stub(respond) as stub:
            stats = asyncio.run(main(stub.url))
        batches = [[e["seq"] for e in b] for b in stub.posted()]
        self.assertEqual([[1, 2, 3, 4], [1, 2, 3, 4], [5, 6], [7]], batches)  # the 503'd batch re-sent as is
        self.assertEqual((7, 1), (stats.events_sent, stats.retries))

    def test_errors_come_back_as_arena_errors(self):
        async def main(url):
            client = AsyncArenaClient(url, run_id="a", flush_interval=None)
            await client.publish(turn(1))
            try:
                await client.flush()
            finally:
                await client.close()

        with Stub(lambda r, h: reply(h, 415, {"title": "Unsupported media type", "status": 415})) as stub:
            with self.assertRaises(ArenaError) as caught:
                asyncio.run(main(stub.url))
        self.assertEqual(415, caught.exception.status)


if __name__ == "__main__":
    unittest.main()
