"""A real HTTP receiver for tests: a ThreadingHTTPServer on 127.0.0.1 that records each call.

    with HttpSink() as sink:
        sink.reply(429, {"error": "slow down"}, headers={"Retry-After": "2"})
        ...post to sink.url("/sms")...
        sink.calls[0].headers["idempotency-key"]

Replies are served in the order queued; when the queue is empty every call gets `default`
(200 with `{"id": "msg-<n>"}`). `delay` makes every reply wait, to test timeouts.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None  # JSON-able, or bytes/str sent as they are
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        sink = self.server.sink
        reply = sink._record(
            Call(
                self.command,
                self.path,
                {key.lower(): value for key, value in self.headers.items()},
                body,
            )
        )
        if sink.delay:
            time.sleep(sink.delay)
        if isinstance(reply.body, bytes | str):
            raw = reply.body.encode() if isinstance(reply.body, str) else reply.body
            kind = "text/plain; charset=utf-8"
        else:
            raw = json.dumps(reply.body).encode() if reply.body is not None else b""
            kind = "application/json"
        self.send_response(reply.status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(raw)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sink: HttpSink


class HttpSink:
    """A local HTTP receiver (see the module docstring)."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.calls: list[Call] = []
        self.delay = delay
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sink = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        """Queue the reply to a coming call."""
        with self._lock:
            self._replies.append(Reply(status, body, headers or {}))

    def _record(self, call: Call) -> Reply:
        with self._lock:
            self.calls.append(call)
            if self._replies:
                return self._replies.popleft()
            return Reply(200, {"id": f"msg-{len(self.calls)}"})

    def __enter__(self) -> HttpSink:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
