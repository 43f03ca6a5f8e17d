"""Publishing events to ingest: ``ArenaClient`` (threads) and ``AsyncArenaClient`` (asyncio).

Both queue events and send them as JSON arrays to ``POST /v1/events``:

- a batch is sent once it holds ``max_batch_events`` events or ``max_batch_bytes`` bytes
  (both below ingest's limits of 1000 events and 1 MiB), and at the latest
  ``flush_interval`` seconds after its first event was queued; ``flush()`` and ``close()``
  send everything queued;
- batches go out one at a time, in the order their events were published;
- 429 and 503 (and connection errors) are retried as :class:`RetryPolicy` says, waiting
  ``Retry-After``; every event has an ``event_id``, so a re-sent batch is never stored twice;
- a refusal raises :class:`ArenaError` with ingest's status, title, detail and ``errors``
  mapped back onto the events of the batch.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as _dt
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Deque, Dict, Generator, Iterable, List, Mapping, Optional, Tuple, Union

from ._http import (
    Connection,
    Endpoint,
    Response,
    RetryPolicy,
    auth_headers,
    is_connection_error,
    parse_retry_after,
    problem_error,
)
from .errors import ArenaError, EventError, EventValidationError
from .validate import SchemaSet, validate_event

__all__ = ["ArenaClient", "AsyncArenaClient", "format_ts", "DEFAULT_INGEST_URL"]

DEFAULT_INGEST_URL = "http://127.0.0.1:8081"

#: Ingest's default limits (``Ingest__MaxEvents``, ``Ingest__MaxBodyBytes``, ``Ingest__MaxEventBytes``).
INGEST_MAX_EVENTS = 1000
INGEST_MAX_BODY_BYTES = 1024 * 1024
INGEST_MAX_EVENT_BYTES = 64 * 1024

_FIRST_FIELDS = ("event_id", "run_id", "seq", "type", "schema_version", "ts", "payload")


def format_ts(when: Optional[_dt.datetime] = None) -> str:
    """RFC 3339 in UTC with milliseconds and ``Z``: ``2026-11-23T10:00:00.123Z``. ``when`` must be timezone-aware."""
    if when is None:
        when = _dt.datetime.now(_dt.timezone.utc)
    elif when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("ts: a naive datetime has no time zone; use an aware one (e.g. datetime.now(timezone.utc))")
    when = when.astimezone(_dt.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class _Queue:
    """What both clients share, without I/O: filling in events, checking them, cutting batches."""

    def __init__(
        self,
        run_id: Optional[str],
        max_batch_events: int,
        max_batch_bytes: int,
        max_event_bytes: int,
        validate: Union[bool, SchemaSet],
    ):
        if not 1 <= max_batch_events:
            raise ValueError("max_batch_events must be at least 1")
        if max_batch_bytes < 2 + max_event_bytes:
            raise ValueError("max_batch_bytes must hold at least one event of max_event_bytes")
        self.run_id = run_id
        self.max_batch_events = max_batch_events
        self.max_batch_bytes = max_batch_bytes
        self.max_event_bytes = max_event_bytes
        self.schemas: Optional[SchemaSet] = None
        if isinstance(validate, SchemaSet):
            self.schemas = validate
        elif validate:
            from .validate import default_schemas

            self.schemas = default_schemas()
        self._next_seq: Dict[str, int] = {}
        # (envelope, its JSON, when it was queued)
        self.pending: Deque[Tuple[Dict[str, Any], bytes, float]] = collections.deque()
        self.pending_bytes = 0

    # -- filling in and checking ----------------------------------------------------------

    def prepare(self, events: Iterable[Mapping[str, Any]]) -> List[Tuple[Dict[str, Any], bytes]]:
        """The envelopes as they will be sent, each with its JSON; nothing is queued and no seq is used up if any fails."""
        saved = dict(self._next_seq)
        prepared: List[Tuple[Dict[str, Any], bytes]] = []
        problems: List[EventError] = []
        for index, event in enumerate(events):
            envelope, problem = self._fill(event, index)
            if problem is not None:
                problems.append(problem)
                continue
            found, data = self._check(envelope, index)
            if found:
                problems.extend(found)
            else:
                prepared.append((envelope, data))
        if problems:
            self._next_seq = saved
            first = problems[0]
            where = f"{first.field} " if first.field else ""
            raise EventValidationError(
                f"event {first.index}: {where}{first.message}"
                + (f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""),
                title="Invalid events", detail="Nothing was queued.", errors=problems,
                events=[p.event for p in problems if p.event is not None],
            )
        return prepared

    def _fill(self, event: Mapping[str, Any], index: int) -> Tuple[Dict[str, Any], Optional[EventError]]:
        if not isinstance(event, Mapping):
            return {}, EventError(index, "", f"must be a dict (got {type(event).__name__})", None)
        run_id = event.get("run_id", self.run_id)
        if run_id is None:
            return {}, EventError(index, "run_id", "is required: give it in the event or as the client's run_id", dict(event))
        filled: Dict[str, Any] = dict(event)
        filled["run_id"] = run_id
        seq = filled.get("seq")
        if seq is None:
            seq = self._next_seq.get(run_id, 1) if isinstance(run_id, str) else 1
            filled["seq"] = seq
        if isinstance(run_id, str) and isinstance(seq, int) and not isinstance(seq, bool):
            self._next_seq[run_id] = max(self._next_seq.get(run_id, 1), seq + 1)
        if filled.get("event_id") is None:
            filled["event_id"] = f"{run_id}:{seq}"
        ts = filled.get("ts")
        if ts is None:
            filled["ts"] = format_ts()
        elif isinstance(ts, _dt.datetime):
            try:
                filled["ts"] = format_ts(ts)
            except ValueError as e:
                return filled, EventError(index, "ts", str(e), filled)
        if filled.get("schema_version") is None:
            filled["schema_version"] = 1
        ordered = {k: filled[k] for k in _FIRST_FIELDS if k in filled}
        ordered.update((k, v) for k, v in filled.items() if k not in ordered)
        return ordered, None

    def _check(self, envelope: Dict[str, Any], index: int) -> Tuple[List[EventError], bytes]:
        if self.schemas is not None:
            found = validate_event(envelope, self.schemas)
            if found:
                return [EventError(index, f.field, f.message, envelope) for f in found], b""
        try:
            data = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as e:
            return [EventError(index, "", f"cannot be written as JSON: {e}", envelope)], b""
        if len(data) > self.max_event_bytes:
            return [EventError(index, "", f"is {len(data)} bytes of JSON, over the limit of {self.max_event_bytes}", envelope)], b""
        return [], data

    # -- the queue --------------------------------------------------------------------------

    @property
    def first_queued_at(self) -> Optional[float]:
        return self.pending[0][2] if self.pending else None

    def add(self, prepared: List[Tuple[Dict[str, Any], bytes]], now: float) -> None:
        for envelope, data in prepared:
            self.pending.append((envelope, data, now))
            self.pending_bytes += len(data)

    def _body_size(self, count: int, data_bytes: int) -> int:
        return 2 + data_bytes + max(0, count - 1)  # [a,b,c]

    def full(self) -> bool:
        """A whole batch is waiting: send it now rather than at the flush interval."""
        return len(self.pending) >= self.max_batch_events or self._body_size(len(self.pending), self.pending_bytes) >= self.max_batch_bytes

    def due(self, now: float, interval: float) -> bool:
        return bool(self.pending) and now - self.pending[0][2] >= interval

    def take(self) -> Tuple[List[Tuple[Dict[str, Any], bytes, float]], bytes]:
        """The oldest events that fit one request and the request's body; nothing when nothing is queued."""
        taken: List[Tuple[Dict[str, Any], bytes, float]] = []
        size = 0
        while self.pending and len(taken) < self.max_batch_events:
            item = self.pending[0]
            if taken and self._body_size(len(taken) + 1, size + len(item[1])) > self.max_batch_bytes:
                break
            self.pending.popleft()
            self.pending_bytes -= len(item[1])
            taken.append(item)
            size += len(item[1])
        return taken, b"[" + b",".join(item[1] for item in taken) + b"]"

    def put_back(self, taken: List[Tuple[Dict[str, Any], bytes, float]]) -> None:
        """Returns a batch whose sending was cancelled to the head of the queue (re-sending it is safe)."""
        for item in reversed(taken):
            self.pending.appendleft(item)
            self.pending_bytes += len(item[1])


def _exchange(policy: RetryPolicy, events: List[Dict[str, Any]], clock=time.monotonic) -> Generator[Tuple[str, float], Any, List[Dict[str, Any]]]:
    """The retry rule, without I/O: yields ``("send", 0)`` and receives ``(response, error)``,
    yields ``("sleep", seconds)``; returns ingest's results or raises :class:`ArenaError`."""
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        response, error = yield ("send", 0.0)
        if response is not None and response.status == 202:
            try:
                results = json.loads(response.body.decode("utf-8")).get("results", [])
            except (ValueError, AttributeError):
                results = []
            return results
        if response is not None and response.status not in policy.statuses:
            raise problem_error(response, events, attempt)
        retry_after = parse_retry_after(response.headers.get("retry-after")) if response is not None else None
        wait = policy.delay(attempt, started, clock(), retry_after)
        if wait is None:
            raise problem_error(response, events, attempt, cause=error)
        yield ("sleep", wait)


class _Stats:
    def __init__(self) -> None:
        self.events_sent = 0
        self.duplicates = 0
        self.batches_sent = 0
        self.retries = 0

    def __repr__(self) -> str:
        return f"Stats(events_sent={self.events_sent}, duplicates={self.duplicates}, batches_sent={self.batches_sent}, retries={self.retries})"


class _Base:
    def __init__(
        self,
        url: Optional[str],
        run_id: Optional[str],
        api_key: Optional[str],
        flush_interval: Optional[float],
        max_batch_events: int,
        max_batch_bytes: int,
        max_event_bytes: int,
        validate: Union[bool, SchemaSet],
        retry: Optional[RetryPolicy],
        timeout: float,
    ):
        self.url = url or os.environ.get("ARENA_INGEST_URL") or DEFAULT_INGEST_URL
        self._endpoint = Endpoint(self.url)
        api_key = api_key if api_key is not None else os.environ.get("ARENA_API_KEY") or None
        self._headers = {"Content-Type": "application/json", "Accept": "application/json", **auth_headers(api_key)}
        self._queue = _Queue(run_id, max_batch_events, max_batch_bytes, max_event_bytes, validate)
        self.flush_interval = flush_interval
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.stats = _Stats()
        self._conn = Connection(self._endpoint, timeout)

    @property
    def run_id(self) -> Optional[str]:
        return self._queue.run_id

    @property
    def pending(self) -> int:
        """Events queued and not yet sent."""
        return len(self._queue.pending)

    def _request(self, body: bytes) -> Tuple[Optional[Response], Optional[BaseException]]:
        try:
            return self._conn.request("POST", "/v1/events", body, self._headers), None
        except Exception as e:  # noqa: BLE001 - sorted below
            if is_connection_error(e):
                return None, e
            raise

    def _count(self, results: List[Dict[str, Any]], attempts: int) -> None:
        self.stats.batches_sent += 1
        self.stats.events_sent += len(results)
        self.stats.duplicates += sum(1 for r in results if isinstance(r, dict) and r.get("duplicate"))
        self.stats.retries += attempts - 1


class ArenaClient(_Base):
    """Publishes events to ingest from ordinary (threaded) code.

    ``publish`` queues an event and returns at once unless a batch is full, in which case it
    sends that batch first (so a producer faster than ingest is slowed down, not buffered
    without bound). A background thread sends what is queued ``flush_interval`` seconds after
    the first event of a batch was queued (``None``: only when full and on ``flush``). An
    error of a background send is raised by the next ``publish``, ``flush`` or ``close``.

    Arguments (all optional):

    - ``url``: ingest's base URL; default ``$ARENA_INGEST_URL`` or ``http://127.0.0.1:8081``;
    - ``run_id``: the run of events that name none;
    - ``api_key``: sent as ``Authorization: Bearer``; default ``$ARENA_API_KEY``;
    - ``flush_interval`` (0.25 s), ``max_batch_events`` (500), ``max_batch_bytes`` (512 KiB),
      ``max_event_bytes`` (64 KiB, ingest's limit per event);
    - ``validate``: check each event against the bundled schemas in ``publish`` (default
      ``True``; or a :class:`SchemaSet`);
    - ``retry``: a :class:`RetryPolicy`; ``timeout``: seconds per request (30).

    Thread-safe: several threads may publish through one client.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        *,
        run_id: Optional[str] = None,
        api_key: Optional[str] = None,
        flush_interval: Optional[float] = 0.25,
        max_batch_events: int = 500,
        max_batch_bytes: int = 512 * 1024,
        max_event_bytes: int = INGEST_MAX_EVENT_BYTES,
        validate: Union[bool, SchemaSet] = True,
        retry: Optional[RetryPolicy] = None,
        timeout: float = 30.0,
    ):
        super().__init__(url, run_id, api_key, flush_interval, max_batch_events, max_batch_bytes, max_event_bytes, validate, retry, timeout)
        self._lock = threading.Condition()
        self._send_lock = threading.Lock()
        self._error: Optional[ArenaError] = None
        self._closed = False
        self._timer: Optional[threading.Thread] = None

    def __enter__(self) -> "ArenaClient":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            try:
                self.close()
            except ArenaError:
                pass  # the exception already on its way out says more

    def publish(self, event: Mapping[str, Any]) -> Dict[str, Any]:
        """Queues one event; returns it as it will be sent (``event_id``, ``seq``, ``ts`` filled in)."""
        return self.publish_many([event])[0]

    def publish_many(self, events: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        """Queues events in order; all or none (a local validation error queues nothing)."""
        with self._lock:
            self._raise_if_failed()
            if self._closed:
                raise RuntimeError("the client is closed")
            prepared = self._queue.prepare(list(events))
            self._queue.add(prepared, time.monotonic())
            full = self._queue.full()
            self._start_timer()
            self._lock.notify_all()
        if full:
            self._send(only_full=True)
        return [envelope for envelope, _ in prepared]

    def flush(self) -> List[Dict[str, Any]]:
        """Sends everything queued; returns ingest's results (``event_id``, ``stream_id``, ``duplicate``) of what it sent."""
        with self._lock:
            self._raise_if_failed()
        return self._send(only_full=False)

    def close(self) -> None:
        """Sends what is queued and stops the background thread. Idempotent."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
            timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.join()
        try:
            with self._lock:
                self._raise_if_failed()
            self._send(only_full=False)
        finally:
            self._conn.close()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _start_timer(self) -> None:
        if self._timer is None and self.flush_interval is not None and not self._closed:
            self._timer = threading.Thread(target=self._run_timer, name="arena-client-flush", daemon=True)
            self._timer.start()

    def _run_timer(self) -> None:
        interval = self.flush_interval or 0.0
        while True:
            with self._lock:
                while not self._closed:
                    first = self._queue.first_queued_at
                    if first is None:
                        self._lock.wait()
                        continue
                    wait = first + interval - time.monotonic()
                    if wait <= 0:
                        break
                    self._lock.wait(wait)
                if self._closed:
                    return
            try:
                self._send(only_full=False, due_only=True)
            except ArenaError as e:
                with self._lock:
                    self._error = self._error or e

    def _send(self, only_full: bool, due_only: bool = False) -> List[Dict[str, Any]]:
        results: List[Dict[str, Any]] = []
        with self._send_lock:
            while True:
                with self._lock:
                    now = time.monotonic()
                    if only_full and not self._queue.full():
                        break
                    if due_only and not self._queue.due(now, self.flush_interval or 0.0):
                        break
                    taken, body = self._queue.take()
                if not taken:
                    break
                results.extend(self._post([item[0] for item in taken], body))
        return results

    def _post(self, events: List[Dict[str, Any]], body: bytes) -> List[Dict[str, Any]]:
        steps = _exchange(self.retry, events)
        step = next(steps)
        attempts = 0
        try:
            while True:
                if step[0] == "send":
                    attempts += 1
                    step = steps.send(self._request(body))
                else:
                    time.sleep(step[1])
                    step = next(steps)
        except StopIteration as done:
            self._count(done.value, attempts)
            return done.value


class AsyncArenaClient(_Base):
    """:class:`ArenaClient` for asyncio: the same arguments, with ``await`` on
    ``publish``, ``publish_many``, ``flush`` and ``close`` and ``async with``.

    How it runs: queueing, batching, the flush timer (a task) and the waits between retries
    are asyncio; each HTTP request is the same blocking ``http.client`` call as the
    threaded client's, run in a single worker thread of the client's own
    (``loop.run_in_executor``), so requests never block the event loop and go out one at a
    time, in order. Use one client from one event loop.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        *,
        run_id: Optional[str] = None,
        api_key: Optional[str] = None,
        flush_interval: Optional[float] = 0.25,
        max_batch_events: int = 500,
        max_batch_bytes: int = 512 * 1024,
        max_event_bytes: int = INGEST_MAX_EVENT_BYTES,
        validate: Union[bool, SchemaSet] = True,
        retry: Optional[RetryPolicy] = None,
        timeout: float = 30.0,
    ):
        # ArenaClient's keyword arguments, spelled out again so help() and editors show them.
        super().__init__(url, run_id, api_key, flush_interval, max_batch_events, max_batch_bytes, max_event_bytes, validate, retry, timeout)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arena-client-http")
        self._send_lock: Optional[asyncio.Lock] = None
        self._wake: Optional[asyncio.Event] = None
        self._timer: Optional["asyncio.Task[None]"] = None
        self._error: Optional[ArenaError] = None
        self._closed = False
        self._shut = False

    async def __aenter__(self) -> "AsyncArenaClient":
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            await self.close()
        else:
            try:
                await self.close()
            except ArenaError:
                pass

    async def publish(self, event: Mapping[str, Any]) -> Dict[str, Any]:
        return (await self.publish_many([event]))[0]

    async def publish_many(self, events: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        self._raise_if_failed()
        if self._closed:
            raise RuntimeError("the client is closed")
        prepared = self._queue.prepare(list(events))
        self._queue.add(prepared, time.monotonic())
        self._start_timer()
        if self._queue.full():
            await self._send(only_full=True)
        return [envelope for envelope, _ in prepared]

    async def flush(self) -> List[Dict[str, Any]]:
        self._raise_if_failed()
        return await self._send(only_full=False)

    async def close(self) -> None:
        self._closed = True
        timer, self._timer = self._timer, None
        if timer is not None:
            # Woken, the timer finishes a send under way and ends; cancelling it could cut one short.
            assert self._wake is not None
            self._wake.set()
            await timer
        try:
            self._raise_if_failed()
            await self._send(only_full=False)
        finally:
            if not self._shut:
                self._shut = True
                await asyncio.get_running_loop().run_in_executor(self._executor, self._conn.close)
                self._executor.shutdown(wait=False)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _start_timer(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
            self._send_lock = asyncio.Lock()
        self._wake.set()
        if self._timer is None and self.flush_interval is not None and not self._closed:
            self._timer = asyncio.get_running_loop().create_task(self._run_timer())

    async def _run_timer(self) -> None:
        assert self._wake is not None
        interval = self.flush_interval or 0.0
        while not self._closed:
            first = self._queue.first_queued_at
            if first is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = first + interval - time.monotonic()
            if wait > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except asyncio.TimeoutError:
                    pass
                continue
            try:
                await self._send(only_full=False, due_only=True)
            except ArenaError as e:
                self._error = self._error or e

    async def _send(self, only_full: bool, due_only: bool = False) -> List[Dict[str, Any]]:
        if self._send_lock is None:
            self._send_lock = asyncio.Lock()
        results: List[Dict[str, Any]] = []
        async with self._send_lock:
            while True:
                now = time.monotonic()
                if only_full and not self._queue.full():
                    break
                if due_only and not self._queue.due(now, self.flush_interval or 0.0):
                    break
                taken, body = self._queue.take()
                if not taken:
                    break
                try:
                    results.extend(await self._post([item[0] for item in taken], body))
                except asyncio.CancelledError:
                    self._queue.put_back(taken)
                    raise
        return results

    async def _post(self, events: List[Dict[str, Any]], body: bytes) -> List[Dict[str, Any]]:
        loop = asyncio.get_running_loop()
        steps = _exchange(self.retry, events)
        step = next(steps)
        attempts = 0
        try:
            while True:
                if step[0] == "send":
                    attempts += 1
                    outcome = await loop.run_in_executor(self._executor, self._request, body)
                    step = steps.send(outcome)
                else:
                    await asyncio.sleep(step[1])
                    step = next(steps)
        except StopIteration as done:
            self._count(done.value, attempts)
            return done.value
