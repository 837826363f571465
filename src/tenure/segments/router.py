"""HTTP: RFM, lifecycle, saved segments and tags (admin scope; membership checks: server)."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from tenure.analytics.features import data_end
from tenure.apikeys.auth import require
from tenure.apikeys.service import Principal
from tenure.kit.bounds import Line, Offset, RowId, SegmentKey, UserId
from tenure.segments import runs, service, tags
from tenure.segments.lifecycle import LifecycleQuery
from tenure.segments.rfm import RfmQuery
from tenure.segments.schemas import (
    LifecycleRequest,
    LifecycleResponse,
    Members,
    Membership,
    PreviewRequest,
    PreviewResult,
    RefreshOut,
    RfmRequest,
    RfmResponse,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
    SnapshotOut,
    Tagged,
    TagIn,
    TagOut,
    TagUsers,
    TransitionOut,
)
from tenure.storage.database import Database

router = APIRouter(prefix="/v1", tags=["segments"])
ADMIN = Depends(require("admin"))


def _db(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


@router.post("/rfm", response_model=RfmResponse, summary="RFM scores and segments")
def rfm(body: RfmRequest, request: Request, _who: Principal = ADMIN) -> RfmResponse:
    """Distribution over named RFM segments, R×F grid, transitions; `save` stores scores."""
    query = RfmQuery.model_validate(body.model_dump(exclude={"save"}))
    settings = request.app.state.settings
    result, written = runs.run_rfm(request.app.state.warehouse, settings.zone, query, body.save)
    return RfmResponse(**result.model_dump(), scored=written)


@router.post("/lifecycle", response_model=LifecycleResponse, summary="Lifecycle stages")
def lifecycle(
    body: LifecycleRequest, request: Request, _who: Principal = ADMIN
) -> LifecycleResponse:
    """Customers per stage; `save` stores stages and records dated transitions."""
    query = LifecycleQuery.model_validate(body.model_dump(exclude={"save"}))
    state = request.app.state
    run = runs.run_lifecycle(state.warehouse, state.database, state.settings.zone, query, body.save)
    return LifecycleResponse(result=run.result, scored=run.scored, transitions=run.transitions)


@router.get(
    "/lifecycle/transitions", response_model=list[TransitionOut], summary="Stage transitions"
)
def lifecycle_transitions(
    request: Request,
    to_stage: Annotated[Line | None, Query(max_length=20)] = None,
    since: date | None = None,
    user_id: UserId | None = None,
    after_id: Annotated[RowId, Query(description="Resume after this transition id.")] = 0,
    limit: int = Query(1000, ge=1, le=10_000),
    _who: Principal = Depends(require("server")),
) -> list[TransitionOut]:
    """Who entered a stage since a day (`to_stage=at_risk&since=…`); page on with `after_id`."""
    return _db(request).read(
        lambda s: [
            TransitionOut.model_validate(r)
            for r in service.transitions(s, to_stage, since, user_id, limit, after_id)
        ]
    )


@router.post("/segments/preview", response_model=PreviewResult, summary="Count a rule's users")
def preview(body: PreviewRequest, request: Request, _who: Principal = ADMIN) -> PreviewResult:
    """How many users a rule matches now, with a sample of ids."""
    state = request.app.state
    zone = state.settings.zone
    with state.warehouse.reader() as con:
        end = body.as_of or data_end(con, zone) or date.today()
        count, sample = _db(request).read(
            lambda s: service.preview(s, con, body.rule, zone, end, body.sample)
        )
    return PreviewResult(count=count, sample=sample, as_of=end)


@router.get("/segments", response_model=list[SegmentOut], summary="Saved segments")
def list_segments(request: Request, _who: Principal = ADMIN) -> list[SegmentOut]:
    """Every saved segment."""
    return _db(request).read(
        lambda s: [SegmentOut.model_validate(row) for row in service.list_segments(s)]
    )


@router.post("/segments", response_model=SegmentOut, status_code=201, summary="Save a segment")
def create_segment(body: SegmentIn, request: Request, _who: Principal = ADMIN) -> SegmentOut:
    """Save a rule as a segment; the next `segments refresh --due` computes its members."""

    def work(session: Session) -> SegmentOut:
        segment = service.create_segment(
            session,
            body.key,
            body.rule,
            name=body.name,
            description=body.description,
            refresh_minutes=body.refresh_minutes,
        )
        return SegmentOut.model_validate(segment)

    return _db(request).write(work)


@router.post("/segments/refresh", response_model=list[RefreshOut], summary="Refresh due segments")
def refresh_due(request: Request, _who: Principal = ADMIN) -> list[RefreshOut]:
    """Refresh every segment whose interval has passed."""
    state = request.app.state
    done = runs.refresh_segments(state.database, state.warehouse, state.settings.zone, None, None)
    return [RefreshOut.model_validate(r) for r in done]


@router.get("/segments/{key}", response_model=SegmentOut, summary="A saved segment")
def get_segment(key: SegmentKey, request: Request, _who: Principal = ADMIN) -> SegmentOut:
    """One saved segment."""
    return _db(request).read(lambda s: SegmentOut.model_validate(service.get_segment(s, key)))


@router.patch("/segments/{key}", response_model=SegmentOut, summary="Change a segment")
def update_segment(
    key: SegmentKey, body: SegmentPatch, request: Request, _who: Principal = ADMIN
) -> SegmentOut:
    """Change name, description, rule or interval; a new rule is due for refresh at once."""
    changes = body.model_dump(exclude_none=True)
    return _db(request).write(
        lambda s: SegmentOut.model_validate(service.update_segment(s, key, **changes))
    )


@router.delete("/segments/{key}", status_code=204, summary="Delete a segment")
def delete_segment(key: SegmentKey, request: Request, _who: Principal = ADMIN) -> Response:
    """Delete a segment, its members and snapshots."""
    _db(request).write(lambda s: service.delete_segment(s, key))
    return Response(status_code=204)


@router.post("/segments/{key}/refresh", response_model=RefreshOut, summary="Refresh a segment")
def refresh(key: SegmentKey, request: Request, _who: Principal = ADMIN) -> RefreshOut:
    """Recompute a segment's members now and store a snapshot."""
    state = request.app.state
    done = runs.refresh_segments(state.database, state.warehouse, state.settings.zone, [key], None)
    return RefreshOut.model_validate(done[0])


@router.get("/segments/{key}/members", response_model=Members, summary="Segment members")
def members(
    key: SegmentKey,
    request: Request,
    offset: Offset = 0,
    limit: int = Query(1000, ge=1, le=100_000),
    _who: Principal = ADMIN,
) -> Members:
    """A page of current member ids."""
    ids, total = _db(request).read(
        lambda s: (service.members(s, key, offset, limit), service.member_count(s, key))
    )
    return Members(key=key, total=total, offset=offset, user_ids=ids)


@router.get("/segments/{key}/members/{user_id}", response_model=Membership, summary="Is member")
def is_member(
    key: SegmentKey, user_id: UserId, request: Request, _who: Principal = Depends(require("server"))
) -> Membership:
    """Whether a user is in a segment (checkout-time; answered from the operational database)."""

    def work(session: Session) -> bool:
        service.get_segment(session, key)  # 404 for an unknown segment
        return service.is_member(session, key, user_id)

    return Membership(key=key, user_id=user_id, member=_db(request).read(work))


@router.get("/segments/{key}/export.csv", summary="Export members as CSV")
def export(key: SegmentKey, request: Request, _who: Principal = ADMIN) -> Response:
    """Members with attributes and computed features, as CSV."""
    state = request.app.state
    frame = runs.export_members(state.database, state.warehouse, state.settings.zone, key)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="{key}.csv"'},
    )


@router.get("/segments/{key}/snapshots", response_model=list[SnapshotOut], summary="Snapshots")
def snapshots(key: SegmentKey, request: Request, _who: Principal = ADMIN) -> list[SnapshotOut]:
    """A segment's refreshes, newest first."""
    return _db(request).read(
        lambda s: [SnapshotOut.model_validate(row) for row in service.snapshots(s, key)]
    )


@router.get("/segments/{key}/snapshots/{snapshot_id}/members", response_model=Members)
def snapshot_members(
    key: SegmentKey, snapshot_id: RowId, request: Request, _who: Principal = ADMIN
) -> Members:
    """The members a segment had right after one refresh."""
    ids = _db(request).read(lambda s: service.members_at(s, key, snapshot_id))
    return Members(key=key, total=len(ids), offset=0, user_ids=ids)


@router.get("/tags", response_model=list[TagOut], summary="Tags")
def list_tags(request: Request, _who: Principal = ADMIN) -> list[TagOut]:
    """Every tag with its user count."""
    return _db(request).read(
        lambda s: [
            TagOut(key=t.key, rule=None if t.rule is None else _loads(t.rule), users=n)
            for t, n in tags.list_tags(s)
        ]
    )


@router.post("/tags", response_model=TagOut, status_code=201, summary="Create a tag")
def create_tag(body: TagIn, request: Request, _who: Principal = ADMIN) -> TagOut:
    """A manual tag, or a rule-based one (`rule`), refreshed by `POST /v1/tags/refresh`."""
    tag = _db(request).write(lambda s: tags.create_tag(s, body.key, body.rule))
    return TagOut(key=tag.key, rule=body.rule, users=0)


@router.post("/tags/refresh", response_model=list[RefreshOut], summary="Refresh rule tags")
def refresh_tags(request: Request, _who: Principal = ADMIN) -> list[RefreshOut]:
    """Re-evaluate every rule-based tag."""
    state = request.app.state
    done = runs.refresh_tags(state.database, state.warehouse, state.settings.zone, None)
    return [RefreshOut.model_validate(r) for r in done]


@router.post("/tags/{key}/users", response_model=Tagged, summary="Tag users")
def tag_users(key: SegmentKey, body: TagUsers, request: Request, _who: Principal = ADMIN) -> Tagged:
    """Put a manual tag on users (the tag is created on first use); idempotent."""
    added = _db(request).write(lambda s: tags.tag_users(s, key, body.user_ids))
    return Tagged(key=key, added=added)


@router.delete("/tags/{key}/users/{user_id}", status_code=204, summary="Untag a user")
def untag_user(
    key: SegmentKey, user_id: UserId, request: Request, _who: Principal = ADMIN
) -> Response:
    """Take a manual tag off a user."""
    _db(request).write(lambda s: tags.untag_users(s, key, [user_id]))
    return Response(status_code=204)


@router.delete("/tags/{key}", status_code=204, summary="Delete a tag")
def delete_tag(key: SegmentKey, request: Request, _who: Principal = ADMIN) -> Response:
    """Delete a tag from everyone."""
    _db(request).write(lambda s: tags.delete_tag(s, key))
    return Response(status_code=204)


def _loads(text: str) -> dict[str, object]:
    import json

    data: dict[str, object] = json.loads(text)
    return data
