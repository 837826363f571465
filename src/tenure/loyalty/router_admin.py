"""Loyalty administration over HTTP (`admin` scope): program, adjustments, tiers, jobs."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from tenure.kit.bounds import ProgramKey, UserId
from tenure.kit.time import utc_now
from tenure.loyalty import (
    jobs,
    liability,
    points,
    rewards,
)
from tenure.loyalty.deps import (
    ADMIN,
    KeyHeader,
    database_of,
    idempotency_key,
    read,
    tx_out,
    write,
    zone_of,
)
from tenure.loyalty.program import Program, current_program, program_history, save_program
from tenure.loyalty.schemas import (
    Adjust,
    CatalogueRewardOut,
    LiabilityOut,
    LoyaltyDueOut,
    MemberTierOut,
    ProgramIn,
    ProgramOut,
    ProgramVersionOut,
    RewardIn,
    TierIn,
    TransactionOut,
)
from tenure.loyalty.tiers import service as tiers

router = APIRouter(tags=["loyalty admin"])  # mounted under /v1/loyalty by router.py


@router.post("/accounts/{user_id}/adjustments", dependencies=ADMIN, summary="Adjust points")
def adjust(
    request: Request, response: Response, user_id: UserId, body: Adjust, key: str | None = KeyHeader
) -> TransactionOut:
    """An operator's correction: positive adds a lot, negative deducts oldest points first."""
    idem = idempotency_key(key, body.idempotency_key)
    outcome = write(
        request,
        lambda s, p: points.adjust(s, p, user_id, body.points, body.reason, idem, utc_now()),
    )
    return tx_out(response, outcome)


@router.put("/accounts/{user_id}/tier", dependencies=ADMIN, summary="Set a tier by hand")
def set_tier(request: Request, user_id: UserId, body: TierIn) -> MemberTierOut:
    """Assign a tier; the next review applies the normal rules again."""

    def work(session: Session, program: Program) -> str | None:
        account = points.open_account(session, user_id, utc_now())
        return tiers.set_tier(session, program, account, body.tier, utc_now())

    return MemberTierOut(user_id=user_id, tier=write(request, work))


@router.put("/rewards/{code}", dependencies=ADMIN, summary="Create or update a reward")
def put_reward(request: Request, code: ProgramKey, body: RewardIn) -> CatalogueRewardOut:
    """Create or update a catalogue reward."""
    row = write(
        request,
        lambda s, p: rewards.upsert(
            s, code, body.name, body.kind, body.points_cost, utc_now(), body.coupon_template,
            body.stock, body.active,
        ),
    )  # fmt: skip
    return CatalogueRewardOut.of(row)


@router.get("/program", dependencies=ADMIN, summary="The live program")
def get_program(request: Request) -> ProgramOut:
    """The live configuration and its version (0 = built-in defaults)."""
    version, program = read(request, lambda s, p: current_program(s))
    return ProgramOut(version=version, config=program)


@router.put("/program", dependencies=ADMIN, summary="Save a new program version")
def put_program(request: Request, body: ProgramIn) -> ProgramOut:
    """Validate and save a new version (409 if `expected_version` is stale)."""
    version, program = write(
        request,
        lambda s, p: save_program(s, body.config, utc_now(), body.note, body.expected_version),
    )
    return ProgramOut(version=version, config=program)


@router.get("/program/versions", dependencies=ADMIN, summary="Program history")
def program_versions(request: Request) -> list[ProgramVersionOut]:
    """Saved versions, newest first."""
    rows = read(request, lambda s, p: program_history(s))
    return [ProgramVersionOut.of(r) for r in rows]


@router.get("/liability", dependencies=ADMIN, summary="Points liability")
def get_liability(request: Request) -> LiabilityOut:
    """Outstanding points, their value and expected breakage."""
    return LiabilityOut.of(read(request, lambda s, p: liability.liability(s, p, utc_now())))


@router.post("/jobs/run-due", dependencies=ADMIN, summary="Run due loyalty jobs now")
def run_due(request: Request) -> LoyaltyDueOut:
    """Confirm, expire, remind, release stale holds and review tiers."""
    return LoyaltyDueOut.of(jobs.run_due(database_of(request), zone_of(request), utc_now()))
