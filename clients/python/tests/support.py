"""Shared by the tests: the package on sys.path, a scripted HTTP server on 127.0.0.1, waiting with deadlines."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_ROOT.parents[1]
if str(PACKAGE_ROOT) not in sys.path:
    sys.path.insert(0, str(PACKAGE_ROOT))


class Request(NamedTuple):
    method: str
    path: str
    headers: Dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Stub:
    """An HTTP/1.1 server whose answers come from ``respond(request, handler)``; every request is recorded."""

    def __init__(self, respond: Callable[["Request", BaseHTTPRequestHandler], None]):
        self.requests: List[Request] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with stub._lock:
                    stub.requests.append(request)
                respond(request, self)

            do_GET = _handle
            do_POST = _handle

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)  # a client that left is no error here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def posted(self) -> List[List[dict]]:
        with self._lock:
            return [r.json() for r in self.requests if r.method == "POST"]


def reply(handler: BaseHTTPRequestHandler, status: int, body: object = None, headers: Optional[Dict[str, str]] = None,
          content_type: str = "application/json") -> None:
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)
    handler.wfile.flush()


def accept(request: Request, handler: BaseHTTPRequestHandler) -> None:
    """Ingest's 202 for a posted JSON array."""
    events = request.json()
    reply(handler, 202, {"results": [{"event_id": e["event_id"], "stream_id": f"1-{i}", "duplicate": False} for i, e in enumerate(events)]})


def drop(handler: BaseHTTPRequestHandler) -> None:
    """Closes the connection without an answer."""
    handler.close_connection = True


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.005
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def turn(turn_no: int, player: str = "p1") -> dict:
    return {"type": "turn_start", "payload": {"turn": turn_no, "player_id": player}}
