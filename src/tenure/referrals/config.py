"""The referral program document: rewards, return window and abuse limits (in the database)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.orm import Session

from tenure.errors import NotFound
from tenure.kit.bounds import INT32_MAX, MONEY_MAX, PUBLIC_ID_LENGTH
from tenure.referrals.errors import ReferralConfigInvalid, ReferralConfigVersionConflict
from tenure.referrals.models import ReferralConfig

_ROW = "current"
DAYS_MAX = 36_500  # a window a century long keeps date arithmetic inside years 1-9999


class SideReward(BaseModel):
    """What one side gets: points, a wallet coupon from a coupon template, or both."""

    model_config = ConfigDict(extra="forbid")

    points: int = Field(default=0, ge=0)
    coupon_offer_id: str | None = None


class Program(BaseModel):
    """The referral rules. Fingerprint matches hold a reward for review unless set to reject."""

    model_config = ConfigDict(extra="forbid")

    referrer: SideReward = SideReward(points=500)
    invitee: SideReward = SideReward(points=200)
    return_window_days: int = Field(default=14, ge=0)
    min_order_minor: int = Field(default=0, ge=0)
    link_template: str = "https://shop.example/?ref={code}"
    fingerprint_action: Literal["hold", "reject"] = "hold"
    # Velocity: at most this many sign-ups per referrer within the rolling window.
    velocity_max: int = Field(default=10, ge=1)
    velocity_window_hours: int = Field(default=24, ge=1)
    # Cap: at most this many rewarded referrals per referrer per calendar period (shop zone).
    cap_per_period: int | None = Field(default=50, ge=1)
    cap_period: Literal["day", "week", "month"] = "month"

    @model_validator(mode="after")
    def _link_has_code(self) -> Program:
        if "{code}" not in self.link_template:
            raise ValueError("link_template must contain {code}")
        return self


def current_program(session: Session) -> tuple[int, Program]:
    """The live program and its version (version 0: the defaults, never saved)."""
    row = session.get(ReferralConfig, _ROW)
    if row is None:
        return 0, Program()
    return row.version, Program.model_validate(row.document)


def parse(document: dict[str, Any]) -> Program:
    """A program from a document, or ReferralConfigInvalid naming the first bad field."""
    try:
        return Program.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "document"
        raise ReferralConfigInvalid(field=field, reason=first.get("msg", "")) from None


def save_program(
    session: Session, document: dict[str, Any], now: datetime, expected: int | None = None
) -> tuple[int, Program]:
    """Replace the program; with `expected`, only if it is still at that version."""
    program = parse(document)
    _check_storable(program)
    for side in ("referrer", "invitee"):
        offer_id = getattr(program, side).coupon_offer_id
        if offer_id is not None:
            _check_coupon(session, side, offer_id)
    row = session.get(ReferralConfig, _ROW, with_for_update=True)
    version = row.version if row else 0
    if expected is not None and expected != version:
        raise ReferralConfigVersionConflict(current=version, expected=expected)
    if row is None:
        row = ReferralConfig(id=_ROW, version=0, document={}, updated_at=now)
        session.add(row)
    row.version = version + 1
    row.document = program.model_dump(mode="json")
    row.updated_at = now
    session.flush()
    return row.version, program


def _check_storable(program: Program) -> None:
    """What a saved program may hold (checked on saving, so a stored program always loads):
    reward points land in an Integer column, offer ids in a String(40) one, and the windows are
    added to dates."""
    limits = [
        ("referrer.points", program.referrer.points, INT32_MAX),
        ("invitee.points", program.invitee.points, INT32_MAX),
        ("return_window_days", program.return_window_days, DAYS_MAX),
        ("velocity_window_hours", program.velocity_window_hours, DAYS_MAX * 24),
        ("min_order_minor", program.min_order_minor, MONEY_MAX),
    ]
    for field, value, limit in limits:
        if value > limit:
            raise ReferralConfigInvalid(field=field, reason=f"must be at most {limit}")
    for side in ("referrer", "invitee"):
        offer_id = getattr(program, side).coupon_offer_id
        if offer_id is not None and not (
            1 <= len(offer_id) <= PUBLIC_ID_LENGTH and offer_id.isprintable()
        ):
            raise ReferralConfigInvalid(
                field=f"{side}.coupon_offer_id", reason=f"no offer {offer_id!r}"
            )


def _check_coupon(session: Session, side: str, offer_id: str) -> None:
    """A coupon reward must name an existing coupon template (else every grant would fail)."""
    from tenure.promotions.service.offers import get_offer

    try:
        offer = get_offer(session, offer_id)
    except NotFound:
        raise ReferralConfigInvalid(
            field=f"{side}.coupon_offer_id", reason=f"no offer {offer_id}"
        ) from None
    if offer.kind != "coupon":
        raise ReferralConfigInvalid(
            field=f"{side}.coupon_offer_id", reason=f"offer {offer_id} is not a coupon template"
        )
