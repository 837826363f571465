"""Campaign administration over HTTP (`admin` scope): documents, states, previews, results.

Mounted under /v1/campaigns by router.py. The fixed paths (`/policy`, `/validate`, `/users/…`)
come before `/{key}`, so they are never read as a campaign key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response

from tenure.apikeys.auth import require
from tenure.campaigns.channels.config import senders_from
from tenure.campaigns.models import CampaignRow
from tenure.campaigns.policy import ShopDefaults
from tenure.campaigns.policy import current as current_policy
from tenure.campaigns.policy import save as save_policy
from tenure.campaigns.results import CampaignResults
from tenure.campaigns.schemas import (
    CampaignKey,
    CampaignOut,
    CampaignSummary,
    DecisionOut,
    EnrollmentOut,
    HistoryOut,
    PreviewOut,
    Status,
    ValidOut,
)
from tenure.campaigns.service import campaigns
from tenure.campaigns.spec import Campaign
from tenure.config import Settings
from tenure.kit.bounds import INT32_MAX, UserId
from tenure.kit.time import utc_now
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

router = APIRouter(tags=["campaigns"])
ADMIN = [Depends(require("admin"))]
Document = Body(..., description="The campaign document (docs/campaigns.md)")
IfMatch = Header(
    None,
    alias="If-Match",
    pattern=r'^\s*(W/)?"?[0-9]{1,9}"?\s*$',
    description='The version the change is based on, as the ETag shows it ("3" or 3)',
)


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _warehouse(request: Request) -> Warehouse:
    warehouse: Warehouse = request.app.state.warehouse
    return warehouse


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _out(response: Response, row: CampaignRow, campaign: Campaign) -> CampaignOut:
    """The campaign, with its version as the ETag that `If-Match` sends back."""
    response.headers["ETag"] = f'"{row.version}"'
    return CampaignOut.with_document(row, campaign)


def _version(if_match: str | None, expected_version: int | None) -> int | None:
    """The version a change expects: `If-Match` first, then `?expected_version=`."""
    if if_match is not None:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    return expected_version


# ---- fixed paths ---------------------------------------------------------------------------


@router.get("/policy", dependencies=ADMIN, summary="The shop-wide campaign policy")
def policy_show(request: Request) -> ShopDefaults:
    """Frequency caps, quiet hours and the global control share (the defaults until saved)."""
    return _database(request).read(current_policy)


@router.put("/policy", dependencies=ADMIN, summary="Replace the shop-wide campaign policy")
def policy_save(
    request: Request, document: dict[str, Any] = Body(..., description="The policy")
) -> ShopDefaults:
    """Validate and save the policy (400 `campaign_invalid` names the first bad field)."""
    now = utc_now()
    return _database(request).write(lambda s: save_policy(s, document, now))


@router.post("/validate", dependencies=ADMIN, summary="Check a campaign document")
def validate(request: Request, document: dict[str, Any] = Document) -> ValidOut:
    """`{"valid": true}` when saving it would succeed, or the 400 problem naming the path (and
    the template line); the segments, offers and holidays it names must exist. Saves nothing."""
    _database(request).read(lambda s: campaigns.check_references(s, campaigns.validate(document)))
    return ValidOut()


@router.get(
    "/users/{user_id}/history", dependencies=ADMIN, summary="A user's campaigns and decisions"
)
def history(request: Request, user_id: UserId) -> HistoryOut:
    """Every campaign the user entered and every decision about them, newest first."""
    enrollments, decisions = _database(request).read(lambda s: campaigns.history(s, user_id))
    return HistoryOut(
        user_id=user_id,
        enrollments=[EnrollmentOut.of(e) for e in enrollments],
        decisions=[DecisionOut.of(d) for d in decisions],
    )


# ---- campaigns -----------------------------------------------------------------------------


@router.post("", dependencies=ADMIN, status_code=201, summary="Create a campaign")
def create(
    request: Request, response: Response, document: dict[str, Any] = Document
) -> CampaignOut:
    """Save a new campaign as a draft at version 1 (409 `campaign_exists` for a used key)."""
    now = utc_now()
    row, campaign = _database(request).write(lambda s: campaigns.create(s, document, now))
    response.headers["Location"] = f"{request.url.path}/{row.key}"
    return _out(response, row, campaign)


@router.get("", dependencies=ADMIN, summary="Campaigns")
def listing(request: Request, status: Status | None = None) -> list[CampaignSummary]:
    """Every campaign, or those of one status, without their documents."""
    rows = _database(request).read(lambda s: campaigns.listing(s, status))
    return [CampaignSummary.of(r) for r in rows]


@router.get("/{key}", dependencies=ADMIN, summary="One campaign")
def show(request: Request, response: Response, key: CampaignKey) -> CampaignOut:
    """The campaign's state and its current document; the ETag is its version."""
    row, campaign = _database(request).read(lambda s: campaigns.get(s, key))
    return _out(response, row, campaign)


@router.put("/{key}", dependencies=ADMIN, summary="Save a new version of a campaign")
def update(
    request: Request,
    response: Response,
    key: CampaignKey,
    document: dict[str, Any] = Document,
    if_match: str | None = IfMatch,
    expected_version: int | None = Query(None, ge=1, le=INT32_MAX),
) -> CampaignOut:
    """Save the document as the next version; users already in the journey keep theirs.
    With `If-Match` (or `expected_version`), a stale version is a 409
    `campaign_version_conflict`."""
    now, expected = utc_now(), _version(if_match, expected_version)
    row, campaign = _database(request).write(
        lambda s: campaigns.update(s, key, document, now, expected)
    )
    return _out(response, row, campaign)


def _transition(request: Request, key: str, action: str) -> CampaignSummary:
    """Move the campaign; starting or resuming needs a provider for every channel it sends on."""
    channels: set[str] | None = None
    if action in ("start", "resume"):
        senders = senders_from(_settings(request))
        channels = set(senders)
        for sender in senders.values():
            sender.close()
    now = utc_now()
    row = _database(request).write(lambda s: campaigns.transition(s, key, action, now, channels))
    return CampaignSummary.of(row)


@router.post("/{key}/start", dependencies=ADMIN, summary="Start a draft campaign")
def start(request: Request, key: CampaignKey) -> CampaignSummary:
    """Run its audience or start watching its trigger (409 unless it is a draft, or when a
    channel it sends on has no provider configured)."""
    return _transition(request, key, "start")


@router.post("/{key}/pause", dependencies=ADMIN, summary="Pause an active campaign")
def pause(request: Request, key: CampaignKey) -> CampaignSummary:
    """Stop entering and sending until resumed (409 unless it is active)."""
    return _transition(request, key, "pause")


@router.post("/{key}/resume", dependencies=ADMIN, summary="Resume a paused campaign")
def resume(request: Request, key: CampaignKey) -> CampaignSummary:
    """Carry on where it paused (409 unless it is paused)."""
    return _transition(request, key, "resume")


@router.post("/{key}/finish", dependencies=ADMIN, summary="Finish a campaign for good")
def finish(request: Request, key: CampaignKey) -> CampaignSummary:
    """End the campaign; it cannot be changed or started again (409 once finished)."""
    return _transition(request, key, "finish")


@router.get("/{key}/preview", dependencies=ADMIN, summary="Render a campaign for one user")
def preview(request: Request, key: CampaignKey, user_id: UserId) -> list[PreviewOut]:
    """Every send step rendered for the user as it would go out now (404 for a user the
    warehouse does not know); nothing is sent or recorded."""
    # Imported when used: the engine's modules add half a second to every server start.
    from tenure.campaigns.engine import dispatcher as make_dispatcher

    dispatcher = make_dispatcher(
        _settings(request), _database(request), _warehouse(request), "preview"
    )
    try:
        rendered = dispatcher.preview(key, user_id, utc_now())
    finally:
        for sender in dispatcher.senders.values():
            sender.close()
    return [PreviewOut.of(step_id, envelope) for step_id, envelope in rendered]


@router.get("/{key}/results", dependencies=ADMIN, summary="What a campaign did")
def campaign_results(request: Request, key: CampaignKey) -> CampaignResults:
    """Reach, delivery and engagement per step, and the lift over the holdout and the
    global control group."""
    from tenure.campaigns.results import results

    return results(_database(request), _warehouse(request), key, utc_now())
