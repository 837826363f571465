"""The peer for bench_ingest: a hand-rolled /v1/batch on FastAPI + sqlite3, commit per request."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool

DDL = """CREATE TABLE IF NOT EXISTS tracking_inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, message_id VARCHAR(200) NOT NULL UNIQUE,
    type VARCHAR(16) NOT NULL, user_id VARCHAR(200), anonymous_id VARCHAR(200),
    previous_id VARCHAR(200), name VARCHAR(500), ts DATETIME NOT NULL,
    received_at DATETIME NOT NULL, payload TEXT NOT NULL)"""
INSERT = """INSERT OR IGNORE INTO tracking_inbox
    (message_id, type, user_id, anonymous_id, previous_id, name, ts, received_at, payload)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def rows(messages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The inbox rows a minimal endpoint keeps: ids, name, times and the JSON payload."""
    received = datetime.now(UTC).isoformat()
    out = []
    for m in messages:
        payload = json.dumps({"properties": m.get("properties"), "context": m.get("context")})
        out.append(
            (
                m["messageId"],
                m.get("type", "track"),
                m.get("userId"),
                m.get("anonymousId"),
                None,
                m.get("event"),
                m.get("timestamp") or received,
                received,
                payload,
            )
        )
    return out


def connect(path: str) -> sqlite3.Connection:
    """One connection with the same durability as Tenure's inbox (WAL, synchronous=FULL)."""
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute(DDL)
    return con


def create_app() -> FastAPI:
    """The app; the database file comes from PEER_DB."""
    con = connect(os.environ.get("PEER_DB", "peer.db"))
    lock = threading.Lock()
    app = FastAPI()

    def store(messages: list[dict[str, Any]]) -> int:
        batch = rows(messages)
        with lock:
            con.execute("BEGIN")
            con.executemany(INSERT, batch)
            con.execute("COMMIT")
        return len(batch)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    @app.post("/v1/batch")
    async def batch(request: Request) -> dict[str, Any]:
        """Parse, insert, commit, answer."""
        body = json.loads(await request.body())
        accepted = await run_in_threadpool(store, body["batch"])
        return {"success": True, "accepted": accepted}

    @app.post("/v1/track")
    async def track(request: Request) -> dict[str, Any]:
        """One message."""
        body = json.loads(await request.body())
        accepted = await run_in_threadpool(store, [{**body, "type": "track"}])
        return {"success": True, "accepted": accepted}

    return app
