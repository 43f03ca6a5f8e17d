"""Following the SSE gateway: a WHATWG event-stream parser and resuming followers.

``follow()`` (threads) and ``afollow()`` (asyncio) connect to the gateway, yield each event
with its id, and when the connection drops — the gateway restarts, a proxy cuts it, the
read times out (the gateway sends a heartbeat comment every 15 s when idle) — they
reconnect after the gateway's ``retry:`` hint and send ``Last-Event-ID``, so a run's
stream continues after the last event received: nothing skipped, nothing repeated.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, Tuple
from urllib.parse import quote, urlencode

from ._http import USER_AGENT, Endpoint, Response, auth_headers, is_connection_error, parse_retry_after, problem_error
from .errors import ArenaError

__all__ = ["SseEvent", "SseParser", "Follower", "AsyncFollower", "follow", "afollow", "DEFAULT_GATEWAY_URL"]

DEFAULT_GATEWAY_URL = "http://127.0.0.1:8084"

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ASCII_DIGITS = re.compile(r"[0-9]+\Z")


@dataclass(frozen=True)
class SseEvent:
    """One dispatched event.

    ``id`` is the stream's last event ID when it was dispatched (the frame's ``id:``, or the
    one before it when the frame had none, as EventSource's ``lastEventId``); ``event`` is the
    ``event:`` name (``message`` when absent); ``data`` the ``data:`` lines joined by ``\\n``.
    The gateway names an arena event by its type (an ``error`` event as ``arena.error``) and
    sends the envelope, with its ``stream_id``, as data: ``json()`` parses it.
    """

    id: str
    event: str
    data: str
    _parsed: List[Any] = field(default_factory=list, repr=False, compare=False)

    def json(self) -> Any:
        if not self._parsed:
            self._parsed.append(json.loads(self.data))
        return self._parsed[0]


class SseParser:
    """The event-stream interpretation of the WHATWG HTML standard (9.2.6), fed bytes as they come.

    UTF-8 with a leading BOM ignored; lines end in CRLF, LF or CR (also when a CRLF is split
    between two reads); ``:`` starts a comment; ``field: value`` loses one space after the
    colon; ``event``, ``data`` (lines joined by LF), ``id`` (ignored if it contains NUL) and
    ``retry`` (ASCII digits only) are understood, other fields ignored; a blank line
    dispatches, an event without data is not dispatched but its ``id`` still counts; an
    event not ended by a blank line when the stream ends is discarded.
    """

    def __init__(self, last_event_id: str = ""):
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._text = ""
        self._started = False
        self._skip_lf = False
        self._id_buffer = last_event_id
        self._data: List[str] = []
        self._event = ""
        #: The last event ID string: updated when an event is dispatched (or a blank line ends a frame).
        self.last_event_id = last_event_id
        #: The reconnection time the server asked for, in milliseconds, if it did.
        self.retry: Optional[int] = None
        #: Comment lines seen (heartbeats and notes such as ``: not ready, retry``), the last one kept.
        self.comments = 0
        self.last_comment: Optional[str] = None

    def feed(self, data: bytes) -> List[SseEvent]:
        text = self._decoder.decode(data)
        if not text:
            return []
        if not self._started:
            self._started = True
            if text.startswith("\ufeff"):
                text = text[1:]
        if self._skip_lf and text.startswith("\n"):
            text = text[1:]
        text = self._text + text
        events: List[SseEvent] = []
        position = 0
        for match in _LINE_BREAK.finditer(text):
            event = self._line(text[position:match.start()])
            position = match.end()
            if event is not None:
                events.append(event)
        self._skip_lf = text.endswith("\r")
        self._text = text[position:]
        return events

    def _line(self, line: str) -> Optional[SseEvent]:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            self.last_comment = line[1:].lstrip(" ")
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._id_buffer = value
        elif name == "retry":
            if _ASCII_DIGITS.match(value):
                self.retry = int(value)
        return None

    def _dispatch(self) -> Optional[SseEvent]:
        self.last_event_id = self._id_buffer
        if not self._data:
            self._event = ""
            return None
        event = SseEvent(self.last_event_id, self._event or "message", "\n".join(self._data))
        self._data = []
        self._event = ""
        return event


class _Plan:
    """What both followers share: the request, the answer's judgement, the waits between connections."""

    def __init__(
        self,
        url: Optional[str],
        run_id: Optional[str],
        last_event_id: Optional[str],
        from_live: bool,
        read_token: Optional[str],
        timeout: float,
        retry: float,
        max_retry_delay: float,
        give_up_after: Optional[float],
    ):
        import os

        self.endpoint = Endpoint(url or os.environ.get("ARENA_GATEWAY_URL") or DEFAULT_GATEWAY_URL)
        self.run_id = run_id
        self.last_event_id = last_event_id or ""
        self.from_live = from_live
        token = read_token if read_token is not None else os.environ.get("ARENA_READ_TOKEN") or None
        self.headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", "User-Agent": USER_AGENT, **auth_headers(token)}
        self.timeout = timeout
        self.retry = retry
        self.max_retry_delay = max_retry_delay
        self.give_up_after = give_up_after
        self.connections = 0
        self.failures = 0
        self.last_alive = time.monotonic()

    def request(self) -> Tuple[str, Dict[str, str]]:
        if self.run_id is None:
            path = "/v1/stream"  # every run, live; the gateway does not resume it
        else:
            path = f"/v1/runs/{quote(self.run_id, safe='')}/stream"
            if self.from_live and not self.last_event_id:
                path += "?" + urlencode({"from": "live"})
        headers = dict(self.headers)
        if self.last_event_id and self.run_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        self.connections += 1
        return self.endpoint.path(path), headers

    def answered(self, response: Response) -> Optional[float]:
        """``None`` when a 200 event stream began; else the wait before retrying, or raises :class:`ArenaError`."""
        if response.status == 200:
            content_type = response.headers.get("content-type", "")
            if not content_type.lower().startswith("text/event-stream"):
                raise ArenaError(f"the gateway answered 200 with {content_type or 'no content type'}, not an event stream", status=200)
            self.alive()
            return None
        if response.status in (429, 502, 503, 504):
            return self.failed(parse_retry_after(response.headers.get("retry-after")), response)
        raise problem_error(response, [], self.connections, what="the gateway")

    def alive(self) -> None:
        self.failures = 0
        self.last_alive = time.monotonic()

    def failed(self, hint: Optional[float] = None, response: Optional[Response] = None, error: Optional[BaseException] = None) -> float:
        """The wait before the next connection: the server's ``retry:`` (or ``Retry-After``), doubled for each connection in a row that failed."""
        if self.give_up_after is not None and time.monotonic() - self.last_alive > self.give_up_after:
            if response is not None:
                raise problem_error(response, [], self.connections, what="the gateway")
            raise ArenaError(f"the gateway could not be reached for {self.give_up_after:g} s: {error!r}", attempts=self.connections)
        wait = self.retry * (2 ** self.failures)
        self.failures += 1
        wait = min(wait, max(self.retry, self.max_retry_delay))
        return max(wait, hint or 0.0)

    def ended(self, parser: SseParser) -> float:
        """The stream ended (the gateway closed it, e.g. an empty 200 while it is not ready)."""
        if parser.retry is not None:
            self.retry = parser.retry / 1000.0
        return self.failed()


class _Following:
    """What both followers say about where they are."""

    def __init__(self, plan: _Plan):
        self._plan = plan

    @property
    def last_event_id(self) -> str:
        """The id a reconnection resumes after."""
        return self._plan.last_event_id

    @property
    def connections(self) -> int:
        """Connection attempts so far."""
        return self._plan.connections


class Follower(_Following):
    """The iterator ``follow()`` returns: yields :class:`SseEvent`; ``last_event_id`` (where a
    reconnection resumes) and ``connections`` (attempts so far) say where it is; ``close()``
    (from any thread) stops it."""

    def __init__(self, plan: _Plan):
        super().__init__(plan)
        self._closed = False
        self._sock: Optional[socket.socket] = None
        self._events = self._run()

    def __iter__(self) -> "Follower":
        return self

    def __next__(self) -> SseEvent:
        return next(self._events)

    def __enter__(self) -> "Follower":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._sock is None:
            try:
                self._events.close()
            except ValueError:
                pass  # running in another thread: it sees _closed

    def _run(self) -> Iterator[SseEvent]:
        plan = self._plan
        while not self._closed:
            path, headers = plan.request()
            parser = SseParser(plan.last_event_id)
            conn = plan.endpoint.connect(plan.timeout)
            wait: Optional[float] = None
            try:
                conn.request("GET", path, headers=headers)
                self._sock = conn.sock
                raw = conn.getresponse()
                if raw.status != 200:
                    wait = plan.answered(Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, raw.read()))
                else:
                    plan.answered(Response(200, {k.lower(): v for k, v in raw.getheaders()}, b""))
                    while not self._closed:
                        chunk = raw.read1(65536)
                        if not chunk:
                            break
                        plan.alive()
                        for event in parser.feed(chunk):
                            plan.last_event_id = event.id
                            yield event
                        plan.last_event_id = parser.last_event_id
                        if parser.retry is not None:
                            plan.retry = parser.retry / 1000.0
                    wait = plan.ended(parser)
            except ArenaError:
                raise
            except Exception as e:  # noqa: BLE001 - connection errors retried, others raised
                if self._closed:
                    return
                if not is_connection_error(e):
                    raise
                if parser.retry is not None:
                    plan.retry = parser.retry / 1000.0
                wait = plan.failed(error=e)
            finally:
                self._sock = None
                conn.close()
            if self._closed:
                return
            if wait:
                time.sleep(wait)


def follow(
    run_id: Optional[str] = None,
    last_event_id: Optional[str] = None,
    *,
    url: Optional[str] = None,
    from_live: bool = False,
    read_token: Optional[str] = None,
    timeout: float = 45.0,
    retry: float = 1.0,
    max_retry_delay: float = 10.0,
    give_up_after: Optional[float] = None,
) -> Follower:
    """Follows a run (``/v1/runs/{run_id}/stream``) or, with ``run_id=None``, every run live (``/v1/stream``).

    - ``last_event_id``: resume after this stream ID (an event's ``id``); without it the run
      is sent from its first event, or from now on with ``from_live=True``;
    - ``url``: the gateway; default ``$ARENA_GATEWAY_URL`` or ``http://127.0.0.1:8084``;
    - ``read_token``: sent as ``Authorization: Bearer``; default ``$ARENA_READ_TOKEN``;
    - ``timeout``: seconds without a byte (the gateway's heartbeat comes every 15 s) before
      the connection counts as dropped;
    - ``retry``: the wait before reconnecting until the gateway sends its ``retry:`` hint;
      waits double for each failed connection in a row, up to ``max_retry_delay`` (a longer
      hint from the gateway is honoured);
    - ``give_up_after``: raise :class:`ArenaError` once no connection has worked for this
      many seconds; default never (as EventSource).

    A 4xx answer (a bad ``Last-Event-ID``, a missing token) raises :class:`ArenaError` at once.
    The all-runs stream is live only: after a reconnection it continues from then.
    """
    return Follower(_Plan(url, run_id, last_event_id, from_live, read_token, timeout, retry, max_retry_delay, give_up_after))


class AsyncFollower(_Following):
    """The async iterator ``afollow()`` returns; ``await aclose()`` stops it."""

    def __init__(self, plan: _Plan):
        super().__init__(plan)
        self._events = self._run()

    def __aiter__(self) -> "AsyncFollower":
        return self

    async def __anext__(self) -> SseEvent:
        return await self._events.__anext__()

    async def __aenter__(self) -> "AsyncFollower":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._events.aclose()

    async def _run(self) -> AsyncIterator[SseEvent]:
        plan = self._plan
        while True:
            path, headers = plan.request()
            parser = SseParser(plan.last_event_id)
            writer: Optional[asyncio.StreamWriter] = None
            wait: Optional[float] = None
            try:
                reader, writer = await asyncio.wait_for(self._open(), plan.timeout)
                status, response_headers = await self._send(reader, writer, path, headers)
                body = self._body(reader, response_headers)
                if status != 200:
                    data = b"".join([chunk async for chunk in body])
                    wait = plan.answered(Response(status, response_headers, data))
                else:
                    plan.answered(Response(200, response_headers, b""))
                    async for chunk in body:
                        plan.alive()
                        for event in parser.feed(chunk):
                            plan.last_event_id = event.id
                            yield event
                        plan.last_event_id = parser.last_event_id
                        if parser.retry is not None:
                            plan.retry = parser.retry / 1000.0
                    wait = plan.ended(parser)
            except ArenaError:
                raise
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
                wait = plan.failed(error=e)
            except Exception as e:  # noqa: BLE001
                if not is_connection_error(e):
                    raise
                wait = plan.failed(error=e)
            finally:
                if writer is not None:
                    writer.close()
            if wait:
                await asyncio.sleep(wait)

    async def _open(self) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        endpoint = self._plan.endpoint
        context = ssl.create_default_context() if endpoint.https else None
        return await asyncio.open_connection(endpoint.host, endpoint.port, ssl=context, limit=1 << 20)

    async def _send(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, headers: Dict[str, str]) -> Tuple[int, Dict[str, str]]:
        endpoint = self._plan.endpoint
        host = endpoint.host if ":" not in endpoint.host else f"[{endpoint.host}]"
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{endpoint.port}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        status_line = await self._line(reader)
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ValueError(f"not an HTTP status line: {status_line!r}")
        response_headers: Dict[str, str] = {}
        while True:
            line = await self._line(reader)
            if line == "":
                break
            name, _, value = line.partition(":")
            response_headers[name.strip().lower()] = value.strip()
        return int(parts[1]), response_headers

    async def _line(self, reader: asyncio.StreamReader) -> str:
        line = await asyncio.wait_for(reader.readuntil(b"\n"), self._plan.timeout)
        return line.decode("latin-1").rstrip("\r\n")

    async def _body(self, reader: asyncio.StreamReader, headers: Dict[str, str]) -> AsyncIterator[bytes]:
        timeout = self._plan.timeout
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size_line = await self._line(reader)
                size = int(size_line.split(";", 1)[0].strip(), 16)
                if size == 0:
                    while await self._line(reader) != "":
                        pass  # trailers
                    return
                data = await asyncio.wait_for(reader.readexactly(size), timeout)
                await asyncio.wait_for(reader.readexactly(2), timeout)
                yield data
        elif "content-length" in headers:
            remaining = int(headers["content-length"])
            while remaining > 0:
                data = await asyncio.wait_for(reader.read(min(remaining, 65536)), timeout)
                if not data:
                    raise asyncio.IncompleteReadError(b"", remaining)
                remaining -= len(data)
                yield data
        else:
            while True:
                data = await asyncio.wait_for(reader.read(65536), timeout)
                if not data:
                    return
                yield data


def afollow(
    run_id: Optional[str] = None,
    last_event_id: Optional[str] = None,
    *,
    url: Optional[str] = None,
    from_live: bool = False,
    read_token: Optional[str] = None,
    timeout: float = 45.0,
    retry: float = 1.0,
    max_retry_delay: float = 10.0,
    give_up_after: Optional[float] = None,
) -> AsyncFollower:
    """:func:`follow` for asyncio (``async for event in afollow(...)``), on asyncio streams:
    a plain HTTP/1.1 GET read with ``asyncio.open_connection``, cancelled cleanly with its task."""
    return AsyncFollower(_Plan(url, run_id, last_event_id, from_live, read_token, timeout, retry, max_retry_delay, give_up_after))
