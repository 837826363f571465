"""Group buying over HTTP (`server` scope): open, join, look up and list groups."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from tenure.apikeys.auth import require
from tenure.kit.bounds import ExternalId, Instant, Offset, PublicId, UserId
from tenure.kit.time import utc_now
from tenure.referrals import groups
from tenure.referrals.groups import Joined
from tenure.referrals.schemas import GroupJoinIn, GroupOpenIn, GroupOut, JoinOut, MemberOut
from tenure.storage.database import Database

router = APIRouter(prefix="/group-buys", tags=["group buying"])
SERVER = [Depends(require("server"))]


def _db(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _joined(response: Response, joined: Joined) -> JoinOut:
    if not joined.created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return JoinOut(
        group=GroupOut.of(joined.group),
        member=MemberOut.of(joined.member),
        replayed=not joined.created,
    )


@router.post("", dependencies=SERVER, status_code=201, summary="Open a group buy")
def open_group(
    request: Request,
    response: Response,
    body: GroupOpenIn,
    key: str | None = Header(None, alias="Idempotency-Key", max_length=200),
) -> JoinOut:
    """Open a group with its leader as the first member (a repeated Idempotency-Key replays)."""
    now = utc_now()
    joined = _db(request).write(lambda s: groups.open_group(
            s, body.sku, body.group_price_minor, body.currency, body.size, body.hours,
            body.leader_id, now, body.hold_ref, key,
        ),
    )  # fmt: skip
    return _joined(response, joined)


@router.post("/{group_id}/members", dependencies=SERVER, status_code=201, summary="Join a group")
def join(request: Request, response: Response, group_id: PublicId, body: GroupJoinIn) -> JoinOut:
    """Join; the last place completes the group and captures every hold (409: full, closed…)."""
    now = utc_now()
    joined = _db(request).write(
        lambda s: groups.join(s, group_id, body.user_id, now, body.hold_ref)
    )
    return _joined(response, joined)


@router.delete("/{group_id}/members/{user_id}", dependencies=SERVER, summary="Leave an open group")
def leave(request: Request, group_id: PublicId, user_id: UserId) -> MemberOut:
    """Release the member's hold and free the place (409 once the group has closed)."""
    now = utc_now()
    member = _db(request).write(lambda s: groups.leave(s, group_id, user_id, now))
    return MemberOut.of(member)


@router.get("/{group_id}", dependencies=SERVER, summary="One group with its members")
def show(request: Request, group_id: PublicId) -> GroupOut:
    """A group's status and each member's hold status."""
    group, members = _db(request).read(lambda s: groups.get(s, group_id))
    return GroupOut.of(group, members)


@router.get("", dependencies=SERVER, summary="Groups (poll failed ones to refund)")
def listing(
    request: Request,
    status: str | None = Query(None, pattern="^(open|completed|failed)$"),
    closed_since: Instant | None = None,
    sku: ExternalId | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> list[GroupOut]:
    """Groups, newest first; `closed_since` gives what completed or failed since the last poll."""
    since: datetime | None = closed_since
    rows = _db(request).read(lambda s: groups.listing(s, status, since, sku, limit, offset))
    return [GroupOut.of(g) for g in rows]
