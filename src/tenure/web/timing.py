"""`Server-Timing: app;dur=<ms>` on every console answer: the figure the page benchmark reads and
a browser's network panel shows. Plain ASGI, so the API's own requests pay nothing."""

from __future__ import annotations

import time
from typing import Any

Scope = dict[str, Any]
Receive = Any
Send = Any

_SKIPPED = ("/v1/", "/static/", "/healthz", "/docs", "/openapi.json")


class ServerTiming:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_SKIPPED):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                headers = [
                    *message.get("headers", []),
                    (b"server-timing", f"app;dur={elapsed:.1f}".encode()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed)
