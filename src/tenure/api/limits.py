"""One request body limit for every endpoint, enforced on the bytes that actually arrive."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenure.api.errors import problem
from tenure.i18n import translate

CODE = "request_too_large"


class _Exceeded(Exception):
    """Raised into the app when the body passes the limit; the middleware answers 413."""


class BodyLimit:
    """A pure ASGI middleware that holds every request body to `limit` bytes (`per_path` sets
    other limits for exact paths) and answers a 413 problem+json beyond it.

    A declared `Content-Length` over the limit is refused before anything is read. Otherwise the
    bytes are counted as they stream in, since `Content-Length` may be absent (chunked uploads) or
    wrong: the app never receives more than `limit` bytes; the chunk that crosses it is dropped,
    the app's own answer is discarded and the 413 is sent instead. The rest of the body is never
    read; the server closes the connection after the answer.
    """

    def __init__(self, app: ASGIApp, limit: int, per_path: Mapping[str, int] | None = None):
        self.app = app
        self.limit = limit
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        received = 0
        exceeded = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _Exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _Exceeded
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to a cut-off body (often a 400); ours follows
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await _refuse(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


async def _refuse(send: Send, limit: int) -> None:
    response = problem(413, CODE, translate(f"error.{CODE}", limit=limit), limit=limit)
    response.headers["connection"] = "close"
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.body})
