"""The exceptions of the client."""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional, Sequence

__all__ = ["ArenaError", "EventError", "EventValidationError"]


class EventError(NamedTuple):
    """One rejected field of one event.

    ``index`` is the event's position in the batch sent (or in the list given to
    ``publish_many`` for local validation); ``event`` is that event as it was sent, with
    the ``event_id``, ``seq`` and ``ts`` the client filled in.
    """

    index: int
    field: str
    message: str
    event: Optional[Dict[str, Any]]


class ArenaError(Exception):
    """Ingest (or the gateway) refused a request, or could not be reached in the retry budget.

    - ``status``: the HTTP status, or ``None`` when no answer came (connection errors);
    - ``title``, ``detail``, ``type``: from the problem document (RFC 9457), when there was one;
    - ``errors``: ``[EventError(index, field, message, event)]`` from the problem's ``errors``,
      each mapped back to the event it names;
    - ``events``: every event of the batch that was not written (a 400, 413 or 415 writes
      nothing; after retries run out, the batch may or may not have been written —
      re-sending it is safe, as every event has an ``event_id``);
    - ``retry_after``: the last ``Retry-After`` in seconds, if any; ``attempts``: requests made.
    """

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        title: Optional[str] = None,
        detail: Optional[str] = None,
        type: Optional[str] = None,
        errors: Sequence[EventError] = (),
        events: Sequence[Dict[str, Any]] = (),
        retry_after: Optional[float] = None,
        attempts: int = 0,
        body: Optional[str] = None,
    ):
        super().__init__(message)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.errors: List[EventError] = list(errors)
        self.events: List[Dict[str, Any]] = list(events)
        self.retry_after = retry_after
        self.attempts = attempts
        self.body = body

    @property
    def rejected_events(self) -> List[Dict[str, Any]]:
        """The events named in ``errors``, once each, in batch order."""
        seen = sorted({e.index for e in self.errors if e.event is not None})
        return [self.events[i] for i in seen if i < len(self.events)]


class EventValidationError(ArenaError, ValueError):
    """An event failed local checks (the bundled schemas, size, JSON) before anything was sent."""
