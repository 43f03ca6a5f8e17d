"""A client for the arena event pipeline: publish events to ingest, follow them over SSE.

Standard library only. See README.md beside this package for examples.
"""

from ._http import RetryPolicy
from .client import DEFAULT_INGEST_URL, ArenaClient, AsyncArenaClient, format_ts
from .errors import ArenaError, EventError, EventValidationError
from .sse import DEFAULT_GATEWAY_URL, AsyncFollower, Follower, SseEvent, SseParser, afollow, follow
from .validate import FieldError, SchemaSet, validate_event

__version__ = "0.1.0"

__all__ = [
    "ArenaClient",
    "AsyncArenaClient",
    "ArenaError",
    "AsyncFollower",
    "DEFAULT_GATEWAY_URL",
    "DEFAULT_INGEST_URL",
    "EventError",
    "EventValidationError",
    "FieldError",
    "Follower",
    "RetryPolicy",
    "SchemaSet",
    "SseEvent",
    "SseParser",
    "afollow",
    "follow",
    "format_ts",
    "validate_event",
]
