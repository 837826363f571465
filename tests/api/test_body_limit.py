"""One request body limit for every endpoint: counted as the bytes stream in, 413 beyond it."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.api.limits import BodyLimit
from tenure.apikeys.service import create_key
from tenure.config import Settings
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.serving import running_server

MIB = 1024 * 1024


class _Wire:
    """A client sending `chunks`, then (when `endless`) more 1-byte chunks for ever."""

    def __init__(self, chunks: list[bytes], endless: bool = False) -> None:
        self.chunks, self.endless = list(chunks), endless
        self.pulled = 0  # bytes the middleware took from the server

    async def receive(self) -> dict[str, Any]:
        if self.chunks:
            body = self.chunks.pop(0)
            more = bool(self.chunks) or self.endless
        else:
            body, more = (b"x", True) if self.endless else (b"", False)
        self.pulled += len(body)
        return {"type": "http.request", "body": body, "more_body": more}


class _ReadAll:
    """An app that reads its whole body, like `await request.body()`, then answers 200."""

    def __init__(self) -> None:
        self.called = False
        self.seen = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        while True:
            message = await receive()
            self.seen += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _call(limit: int, wire: _Wire, headers: list[tuple[bytes, bytes]]) -> tuple[_ReadAll, int, Any]:
    app = _ReadAll()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": headers}
    asyncio.run(BodyLimit(app, limit)(scope, wire.receive, send))
    status = sent[0]["status"]
    body = json.loads(sent[1]["body"]) if status == 413 else sent[1]["body"]
    return app, status, body


class TestTheMiddleware:
    def test_a_declared_length_over_the_limit_is_refused_unread(self) -> None:
        wire = _Wire([b"x" * 2000])
        app, status, body = _call(1000, wire, [(b"content-length", b"2000")])
        assert (status, body["code"], body["limit"]) == (413, "request_too_large", 1000)
        assert (app.called, wire.pulled) == (False, 0)

    def test_a_chunked_body_is_counted_and_cut_at_the_limit(self) -> None:
        wire = _Wire([b"x" * 300] * 10)  # no Content-Length: Transfer-Encoding chunked
        app, status, body = _call(1000, wire, [(b"transfer-encoding", b"chunked")])
        assert (status, body["code"]) == (413, "request_too_large")
        assert app.seen <= 1000 and wire.pulled == 1200  # the fourth chunk crossed it

    def test_a_content_length_that_lies_does_not_help(self) -> None:
        wire = _Wire([b"x" * 600] * 5)
        app, status, _ = _call(1000, wire, [(b"content-length", b"10")])
        assert status == 413 and app.seen <= 1000

    def test_an_endless_body_is_read_one_byte_past_the_limit_at_most(self) -> None:
        wire = _Wire([], endless=True)
        app, status, _ = _call(1000, wire, [])
        assert (status, wire.pulled) == (413, 1001)
        assert app.seen == 1000

    def test_a_body_at_the_limit_reaches_the_app(self) -> None:
        wire = _Wire([b"x" * 500, b"x" * 500])
        app, status, body = _call(1000, wire, [(b"content-length", b"1000")])
        assert (status, body, app.seen) == (200, b"ok", 1000)


@pytest.fixture
def served(tmp_path: Path) -> dict[str, Any]:
    def build(**overrides: Any) -> dict[str, Any]:
        settings = Settings(home=tmp_path, inbox_flush_seconds=0, **overrides)
        database = Database(settings.sqlalchemy_url)
        database.upgrade()
        Warehouse(settings).init()
        with database.session() as session:
            admin = create_key(session, "a", ["admin"]).secret
            write = create_key(session, "w", ["write"]).secret
        return {
            "client": TestClient(create_app(settings)),
            "admin": {"authorization": f"Bearer {admin}", "content-type": "application/json"},
            "write": {"authorization": f"Bearer {write}", "content-type": "application/json"},
        }

    return {"build": build}


def _batch(size: int) -> bytes:
    message = {"type": "track", "userId": "u", "event": "x", "properties": {"b": "x" * 20_000}}
    return json.dumps({"batch": [message] * (size // 20_050)}).encode()


class TestEveryEndpoint:
    def test_a_10_mb_segment_preview_is_413_problem_json(self, served: dict[str, Any]) -> None:
        app = served["build"]()
        body = b'{"rule": "' + b"x" * (10 * MIB) + b'"}'
        response = app["client"].post("/v1/segments/preview", content=body, headers=app["admin"])
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert (response.json()["code"], response.json()["limit"]) == ("request_too_large", MIB)

    def test_a_streamed_body_without_length_is_413_too(self, served: dict[str, Any]) -> None:
        app = served["build"]()

        def chunks() -> Iterator[bytes]:
            for _ in range(40):
                yield b"x" * 64_000

        response = app["client"].post(
            "/v1/segments/preview", content=chunks(), headers=app["admin"]
        )
        assert (response.status_code, response.json()["code"]) == (413, "request_too_large")

    def test_the_limit_is_configurable(
        self, served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TENURE_MAX_REQUEST_BYTES", "2048")
        assert Settings().max_request_bytes == 2048
        app = served["build"](max_request_bytes=2048)
        body = b'{"rule": "' + b"x" * 3000 + b'"}'
        response = app["client"].post("/v1/segments/preview", content=body, headers=app["admin"])
        assert (response.status_code, response.json()["limit"]) == (413, 2048)

    def test_tracking_keeps_the_segment_limits(self, served: dict[str, Any]) -> None:
        app = served["build"]()
        post = app["client"].post
        over_batch = post("/v1/batch", content=_batch(600_000), headers=app["write"])
        assert (over_batch.status_code, over_batch.json()["code"]) == (400, "batch_too_large")
        huge = post("/v1/batch", content=_batch(2 * MIB), headers=app["write"])
        assert (huge.status_code, huge.json()["code"]) == (413, "request_too_large")

    def test_a_lower_general_limit_leaves_tracking_at_its_own(self, served: dict[str, Any]) -> None:
        app = served["build"](max_request_bytes=100_000)
        post = app["client"].post
        batch = _batch(300_000)
        assert post("/v1/batch", content=batch, headers=app["write"]).status_code == 200
        zipped = {**app["write"], "content-encoding": "gzip"}
        assert post("/v1/batch", content=gzip.compress(batch), headers=zipped).status_code == 200
        preview = post("/v1/segments/preview", content=batch, headers=app["admin"])
        assert (preview.status_code, preview.json()["limit"]) == (413, 100_000)


def test_a_real_server_answers_413_to_large_and_chunked_bodies(home: Path) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(300):
            yield b"x" * 10_000

    headers = {"content-type": "application/json"}
    with running_server(home, TENURE_INBOX_FLUSH_SECONDS="0") as url:
        for body in (b"x" * (10 * MIB), chunks()):
            response = httpx.post(
                f"{url}/v1/segments/preview", content=body, headers=headers, timeout=60
            )
            assert (response.status_code, response.json()["code"]) == (413, "request_too_large")
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
