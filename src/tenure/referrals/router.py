"""Referrals over HTTP: the shop's backend (`server` scope) and operators (`admin` scope)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from tenure.apikeys.auth import require
from tenure.kit.bounds import ExternalId, Offset, PublicId, UserId
from tenure.kit.time import utc_now
from tenure.referrals import config, jobs, rewards, service
from tenure.referrals.config import Program
from tenure.referrals.models import ReferralCode
from tenure.referrals.router_groups import router as group_router
from tenure.referrals.schemas import (
    CodeIn,
    CodeOut,
    ConfigIn,
    ConfigOut,
    DecisionOut,
    OrderIn,
    OrderOut,
    ReferralDetail,
    ReferralOut,
    ReferralsDueOut,
    ReferrerProgressOut,
    RefundIn,
    ReviewIn,
    RewardOut,
    SignupIn,
)
from tenure.storage.database import Database

router = APIRouter(prefix="/v1/referrals", tags=["referrals"])
router.include_router(group_router)
SERVER = [Depends(require("server"))]
ADMIN = [Depends(require("admin"))]
T = TypeVar("T")


def _db(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _zone(request: Request) -> ZoneInfo:
    zone: ZoneInfo = request.app.state.settings.zone
    return zone


def _write(request: Request, work: Callable[[Session, Program], T]) -> T:
    return _db(request).write(lambda s: work(s, config.current_program(s)[1]))


def _read(request: Request, work: Callable[[Session, Program], T]) -> T:
    return _db(request).read(lambda s: work(s, config.current_program(s)[1]))


def _code_out(row: ReferralCode, program: Program) -> CodeOut:
    return CodeOut(
        code=row.code,
        user_id=row.user_id,
        link=program.link_template.replace("{code}", row.code),
        created_at=row.created_at,
        disabled=row.disabled_at is not None,
    )


@router.post("/codes", dependencies=SERVER, summary="A customer's invite code and link")
def code_for(request: Request, body: CodeIn) -> CodeOut:
    """The customer's invite code, created on first call (same code every time after)."""
    now = utc_now()
    return _write(
        request,
        lambda s, p: _code_out(service.code_for(s, body.user_id, now, body.device_id, body.ip), p),
    )


@router.get("/codes/{code}", dependencies=SERVER, summary="Look up an invite code")
def code_show(request: Request, code: PublicId) -> CodeOut:
    """Who owns a code and whether it still works."""
    return _read(request, lambda s, p: _code_out(service.get_code(s, code), p))


@router.post("/codes/{code}/disable", dependencies=ADMIN, summary="Disable a code")
def code_disable(request: Request, code: PublicId) -> CodeOut:
    """Stop new sign-ups through a leaked code; existing referrals keep it."""
    now = utc_now()
    return _write(request, lambda s, p: _code_out(service.set_code_disabled(s, code, True, now), p))


@router.post("/codes/{code}/enable", dependencies=ADMIN, summary="Enable a code again")
def code_enable(request: Request, code: PublicId) -> CodeOut:
    """Let a disabled code attribute sign-ups again."""
    now = utc_now()
    return _write(
        request, lambda s, p: _code_out(service.set_code_disabled(s, code, False, now), p)
    )


@router.post("/signups", dependencies=SERVER, status_code=201, summary="Attribute a sign-up")
def signup(request: Request, response: Response, body: SignupIn) -> ReferralOut:
    """Attribute a new customer to the code's owner once (201; a retried call answers 200)."""
    now = utc_now()
    outcome = _write(
        request,
        lambda s, p: service.attribute(
            s, p, body.code, body.invitee_id, now, body.device_id, body.ip
        ),
    )
    if not outcome.created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return ReferralOut.of(outcome.referral)


@router.post("/orders", dependencies=SERVER, summary="A referred customer paid an order")
def order(request: Request, body: OrderIn) -> OrderOut:
    """The first qualifying order starts the return window; the rewards follow when it closes."""
    now = utc_now()
    currency = request.app.state.settings.currency
    outcome = _write(
        request,
        lambda s, p: service.record_order(
            s, p, currency, body.order_id, body.user_id, body.paid_at or now,
            body.amount_minor, body.currency, now, body.payment_fingerprint,
        ),
    )  # fmt: skip
    referral = ReferralOut.of(outcome.referral) if outcome.referral else None
    return OrderOut(
        order_id=body.order_id,
        qualifies=outcome.qualifies,
        reason=outcome.reason,
        referral=referral,
    )


@router.post("/orders/{order_id}/refunds", dependencies=SERVER, summary="An order was refunded")
def order_refunded(
    request: Request, order_id: ExternalId, body: RefundIn | None = None
) -> ReferralOut:
    """The qualifying order was refunded or cancelled: inside the return window the referral
    waits for another first order; after it, pending rewards are cancelled and granted ones
    clawed back (see each reward's outcome in GET /v1/referrals/{id}). A partial refund
    (`refunded_total_minor`) that leaves the program's minimum keeps the order. Safe to repeat."""
    now, found = utc_now(), body or RefundIn()
    return ReferralOut.of(
        _write(
            request,
            lambda s, p: service.refund_order(
                s, p, order_id, now, found.reason, found.refunded_total_minor
            ),
        )
    )


@router.get("/referrers/{user_id}", dependencies=SERVER, summary="A referrer's invite progress")
def referrer_progress(request: Request, user_id: UserId) -> ReferrerProgressOut:
    """The customer's code and link, friends per status, and the rewards they have earned."""

    def work(s: Session, p: Program) -> ReferrerProgressOut:
        found = service.progress(s, user_id)
        link = p.link_template.replace("{code}", found.code) if found.code else None
        return ReferrerProgressOut.of(found, link)

    return _read(request, work)


@router.get("", dependencies=ADMIN, summary="Referrals (status=held is the review queue)")
def listing(
    request: Request,
    status: str | None = Query(
        None, pattern="^(pending|qualifying|held|rewarded|rejected|cancelled|reversed)$"
    ),
    referrer_id: UserId | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> list[ReferralOut]:
    """Referrals, newest first."""
    rows = _read(
        request, lambda s, p: service.list_referrals(s, status, referrer_id, limit, offset)
    )
    return [ReferralOut.of(r) for r in rows]


@router.get("/decisions", dependencies=ADMIN, summary="Abuse decisions, newest first")
def decisions(request: Request, limit: int = Query(200, ge=1, le=1000)) -> list[DecisionOut]:
    """Every rule that fired, with its reason and data."""
    return [
        DecisionOut.of(d) for d in _read(request, lambda s, p: service.decisions(s, None, limit))
    ]


@router.get("/config", dependencies=ADMIN, summary="The referral program")
def config_show(request: Request) -> ConfigOut:
    """The live program and its version."""
    version, program = _db(request).read(config.current_program)
    return ConfigOut(version=version, config=program)


@router.put("/config", dependencies=ADMIN, summary="Replace the referral program")
def config_save(request: Request, body: ConfigIn) -> ConfigOut:
    """Validate and save a new program (409 when `expected_version` is stale)."""
    now = utc_now()
    version, program = _db(request).write(
        lambda s: config.save_program(s, body.config, now, body.expected_version)
    )
    return ConfigOut(version=version, config=program)


@router.post("/jobs/run-due", dependencies=ADMIN, summary="Settle due referrals and groups")
def run_due(request: Request) -> ReferralsDueOut:
    """Reward or hold referrals past their return window; fail groups past their deadline."""
    return ReferralsDueOut.model_validate(jobs.run_due(_db(request), _zone(request), utc_now()))


@router.get("/{referral_id}", dependencies=SERVER, summary="One referral")
def show(request: Request, referral_id: PublicId) -> ReferralDetail:
    """A referral with the abuse decisions about it and its rewards."""
    found = _read(request, lambda s, p: service.detail(s, referral_id))
    return ReferralDetail(
        **ReferralOut.of(found.referral).model_dump(),
        decisions=[DecisionOut.of(d) for d in found.decisions],
        rewards=[RewardOut.of(r) for r in found.rewards],
    )


@router.post("/{referral_id}/approve", dependencies=ADMIN, summary="Approve a held referral")
def approve(request: Request, referral_id: PublicId, body: ReviewIn) -> ReferralOut:
    """Reward both sides of a held referral now."""
    now, zone = utc_now(), _zone(request)
    return ReferralOut.of(
        _write(
            request,
            lambda s, p: rewards.approve(s, p, referral_id, body.reviewer, body.note, zone, now),
        )
    )


@router.post("/{referral_id}/reject", dependencies=ADMIN, summary="Reject a held referral")
def reject(request: Request, referral_id: PublicId, body: ReviewIn) -> ReferralOut:
    """Close a held referral without rewards."""
    now = utc_now()
    return ReferralOut.of(
        _write(request, lambda s, p: rewards.reject(s, referral_id, body.reviewer, body.note, now))
    )
