"""Segment-compatible tracking endpoints (/v1/identify, /v1/track, …, /v1/batch)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from tenure.apikeys.auth import principal
from tenure.config import Settings
from tenure.ingest.tracking import service
from tenure.storage.database import Database

router = APIRouter(prefix="/v1", tags=["tracking"])


def _store(request: Request, kind: str | None, sent: bytes) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    database: Database = request.app.state.database
    limit = settings.max_batch_bytes if kind is None else settings.max_message_bytes
    # The limits apply to what the body inflates to, not to what crossed the wire.
    raw = service.decode_body(sent, request.headers.get("content-encoding"), limit)
    body = service.parse_body(raw, limit, batch=kind is None)
    write_key = body.get("writeKey") if isinstance(body, dict) else None
    principal(request, write_key).require("write")
    if kind is None:
        result = service.validate_batch(settings, body, len(raw))
    else:
        result = service.validate_one(settings, kind, body)
    # The inbox commit happens before we answer: a 2xx means the data is on disk. Validation
    # runs outside the lock, so only the insert and the commit are serialised on SQLite.
    hook: service.IdentityHook | None = getattr(request.app.state, "identity_hook", None)
    links = service.identity_links(result) if hook is not None else []

    def work(session: Session) -> None:
        service.store(session, result)
        if hook is not None and links:
            hook(session, links, result.received_at)

    if result.lines or result.decisions:
        database.write(work)
    service.raise_for_rejects(result)
    return {"success": True, "accepted": result.accepted}


async def _accept(request: Request, kind: str | None) -> dict[str, Any]:
    raw = await request.body()
    return await run_in_threadpool(_store, request, kind, raw)


@router.post("/batch", summary="Send many messages (Segment batch)")
async def batch(request: Request) -> dict[str, Any]:
    """Accept a Segment batch."""
    return await _accept(request, None)


def _single(kind: str) -> None:
    async def endpoint(request: Request) -> dict[str, Any]:
        return await _accept(request, kind)

    endpoint.__name__ = kind
    endpoint.__doc__ = f"Accept a Segment {kind} call."
    router.add_api_route(f"/{kind}", endpoint, methods=["POST"], summary=f"Segment {kind} call")


# identify, track, page, screen, group and alias share one handler; only the type differs.
for _kind in ("identify", "track", "page", "screen", "group", "alias"):
    _single(_kind)
