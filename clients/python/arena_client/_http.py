"""Blocking HTTP for the clients: one keep-alive connection, the retry rule, problem documents."""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import socket
import ssl
import time
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from .errors import ArenaError, EventError

USER_AGENT = "arena-client-python/0.1"

# What a connection error looks like from http.client and the socket layer.
CONNECTION_ERRORS: Tuple[type, ...] = (
    ConnectionError,  # refused, reset, aborted, broken pipe
    http.client.HTTPException,  # RemoteDisconnected, IncompleteRead, BadStatusLine
    socket.timeout,
    TimeoutError,
    OSError,
)


class Response(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes


class Endpoint:
    """``scheme://host:port`` plus an optional path prefix (a proxy may mount the API under one)."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")

    def path(self, path: str) -> str:
        return self.prefix + path

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=ssl.create_default_context())
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)


def auth_headers(api_key: Optional[str]) -> Dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


class Connection:
    """One persistent HTTP/1.1 connection, reopened after any failure. Not thread-safe: callers serialise."""

    def __init__(self, endpoint: Endpoint, timeout: float):
        self._endpoint = endpoint
        self._timeout = timeout
        self._conn: Optional[http.client.HTTPConnection] = None

    def request(self, method: str, path: str, body: Optional[bytes], headers: Mapping[str, str]) -> Response:
        if self._conn is None:
            self._conn = self._endpoint.connect(self._timeout)
        try:
            all_headers = {"User-Agent": USER_AGENT, **headers}
            self._conn.request(method, self._endpoint.path(path), body=body, headers=all_headers)
            response = self._conn.getresponse()
            data = response.read()
            result = Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
            if response.will_close:
                self.close()
            return result
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date; ``None`` if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryPolicy:
    """When to re-send a batch, and after how long.

    Retried: the statuses in ``statuses`` (429 and 503 from ingest; 502 and 504 from a proxy
    in front of it) and connection errors. The wait is ``Retry-After`` when the answer has
    one, otherwise exponential backoff with jitter from ``backoff`` up to ``max_backoff``.
    At most ``max_attempts`` requests per batch and ``max_time`` seconds from the first;
    a ``Retry-After`` that would end beyond ``max_time`` gives up at once.
    """

    def __init__(
        self,
        max_attempts: int = 8,
        max_time: float = 60.0,
        backoff: float = 0.1,
        max_backoff: float = 5.0,
        statuses: Sequence[int] = (429, 502, 503, 504),
    ):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.max_time = max_time
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.statuses = frozenset(statuses)

    def delay(self, attempt: int, started: float, now: float, retry_after: Optional[float]) -> Optional[float]:
        """Seconds to wait before request ``attempt + 1``, or ``None`` to give up."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None:
            wait = retry_after
        else:
            wait = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
            wait = wait * (0.5 + random.random() / 2)
        if now + wait - started > self.max_time:
            return None
        return wait


def problem_error(
    response: Optional[Response],
    events: Sequence[Dict[str, Any]],
    attempts: int,
    cause: Optional[BaseException] = None,
    what: str = "ingest",
) -> ArenaError:
    """An :class:`ArenaError` from an answer (its problem document mapped onto ``events``) or from a connection failure."""
    if response is None:
        return ArenaError(
            f"{what} could not be reached after {attempts} attempt(s): {cause!r}",
            status=None, events=events, attempts=attempts,
        )
    text = response.body.decode("utf-8", errors="replace")
    title = detail = kind = None
    errors: List[EventError] = []
    try:
        document = json.loads(text) if text else None
    except ValueError:
        document = None
    if isinstance(document, dict):
        title = document.get("title") if isinstance(document.get("title"), str) else None
        detail = document.get("detail") if isinstance(document.get("detail"), str) else None
        kind = document.get("type") if isinstance(document.get("type"), str) else None
        for item in document.get("errors") or []:
            if not isinstance(item, dict):
                continue
            index = item.get("index")
            index = index if isinstance(index, int) and not isinstance(index, bool) else -1
            event = events[index] if 0 <= index < len(events) else None
            errors.append(EventError(index, str(item.get("field", "")), str(item.get("message", "")), event))
    summary = detail or title or text[:200] or "no body"
    return ArenaError(
        f"{what} answered {response.status}: {summary}",
        status=response.status, title=title, detail=detail, type=kind, errors=errors, events=events,
        retry_after=parse_retry_after(response.headers.get("retry-after")), attempts=attempts, body=text,
    )


def is_connection_error(error: BaseException) -> bool:
    return isinstance(error, CONNECTION_ERRORS) and not isinstance(error, ssl.SSLCertVerificationError)
