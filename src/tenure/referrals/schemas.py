"""Referral and group-buy payloads over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenure.kit.bounds import (
    PUBLIC_ID_LENGTH,
    Currency,
    ExternalId,
    Instant,
    Int32,
    Line,
    Minor,
    Note,
    UserId,
)
from tenure.referrals.config import Program
from tenure.referrals.models import Decision, GroupBuy, GroupMember, Referral, Reward

if TYPE_CHECKING:
    from tenure.referrals.service import Progress

# Device ids, IP addresses and payment fingerprints are hashed before they are stored.
Hashed = Annotated[Line, Field(max_length=500)]


class CodeIn(BaseModel):
    """Ask for a customer's invite code; device and IP feed the fingerprint rules."""

    model_config = ConfigDict(extra="forbid")
    user_id: UserId
    device_id: Hashed | None = None
    ip: Annotated[Line, Field(max_length=100)] | None = None


class CodeOut(BaseModel):
    """An invite code and its share link."""

    code: str
    user_id: str
    link: str
    created_at: datetime
    disabled: bool


class SignupIn(BaseModel):
    """A new customer signed up with an invite code."""

    model_config = ConfigDict(extra="forbid")
    invitee_id: UserId
    code: Annotated[Line, Field(min_length=1, max_length=PUBLIC_ID_LENGTH)]
    device_id: Hashed | None = None
    ip: Annotated[Line, Field(max_length=100)] | None = None


class OrderIn(BaseModel):
    """A referred customer's paid order."""

    model_config = ConfigDict(extra="forbid")
    order_id: ExternalId
    user_id: UserId
    amount_minor: Minor
    currency: Currency
    paid_at: Instant | None = None
    payment_fingerprint: Hashed | None = None


class RefundIn(BaseModel):
    """How the qualifying order ended: refunded (the default) or cancelled; or, for a partial
    refund, the order's whole refunded amount so far."""

    model_config = ConfigDict(extra="forbid")
    reason: Literal["refunded", "cancelled"] = "refunded"
    refunded_total_minor: Annotated[Minor, Field(gt=0)] | None = Field(
        default=None,
        description="A partial refund: the order's refunded total so far (not this refund's "
        "amount, so a retry cannot count twice). Leave out for a full refund.",
    )


class ReviewIn(BaseModel):
    """A reviewer's decision on a held referral."""

    model_config = ConfigDict(extra="forbid")
    reviewer: Annotated[Line, Field(min_length=1, max_length=200)] = "operator"
    note: Note | None = None


class ConfigIn(BaseModel):
    """A new referral program document; `expected_version` guards against lost updates."""

    model_config = ConfigDict(extra="forbid")
    config: dict[str, Any]
    expected_version: Annotated[Int32, Field(ge=0)] | None = None


class ConfigOut(BaseModel):
    """The referral program and its version (0 = the defaults, never saved)."""

    version: int
    config: Program


class ReferrerProgressOut(BaseModel):
    """A referrer's invite page: their code and link, friends per status, what they earned."""

    user_id: str
    code: str | None
    by_status: dict[str, int] = Field(description="Referrals per status.")
    points_earned: int
    coupons_earned: list[str]
    capped: int = Field(description="Rewards withheld by the per-period cap.")
    link: str | None

    @classmethod
    def of(cls, progress: Progress, link: str | None) -> ReferrerProgressOut:
        """From the referrer's progress and their share link."""
        return cls(
            user_id=progress.user_id,
            code=progress.code,
            by_status=progress.by_status,
            points_earned=progress.points_earned,
            coupons_earned=progress.coupons_earned,
            capped=progress.capped,
            link=link,
        )


class ReferralsDueOut(BaseModel):
    """What one run of the due referral and group-buy work did."""

    rewarded: int
    held: int
    groups_failed: int
    members_refunded: int


class ReferralOut(BaseModel):
    """A referral as the shop sees it."""

    id: str
    code: str
    referrer_id: str
    invitee_id: str
    status: str
    attributed_at: datetime
    order_id: str | None
    order_amount_minor: int | None
    order_refunded_minor: int | None
    confirm_at: datetime | None
    hold_reasons: list[str]
    decided_at: datetime | None
    decided_by: str | None
    note: str | None

    @classmethod
    def of(cls, row: Referral) -> ReferralOut:
        """From a row."""
        return cls(
            id=row.id,
            code=row.code,
            referrer_id=row.referrer_id,
            invitee_id=row.invitee_id,
            status=row.status,
            attributed_at=row.attributed_at,
            order_id=row.order_id,
            order_amount_minor=row.order_amount_minor,
            order_refunded_minor=row.order_refunded_minor,
            confirm_at=row.confirm_at,
            hold_reasons=row.hold_reasons.split(),
            decided_at=row.decided_at,
            decided_by=row.decided_by,
            note=row.note,
        )


class DecisionOut(BaseModel):
    """An abuse rule that fired."""

    rule: str
    action: str
    referral_id: str | None
    referrer_id: str
    invitee_id: str
    data: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, row: Decision) -> DecisionOut:
        """From a row."""
        return cls(
            rule=row.rule,
            action=row.action,
            referral_id=row.referral_id,
            referrer_id=row.referrer_id,
            invitee_id=row.invitee_id,
            data=dict(row.data),
            created_at=row.created_at,
        )


class RewardOut(BaseModel):
    """One side's reward and, once cancelled or reversed, why and what was taken back."""

    side: str
    user_id: str
    status: str
    points: int
    offer_id: str | None
    coupon_code: str | None
    created_at: datetime
    reason: str | None = None
    closed_at: datetime | None = None
    points_reversed: int = 0
    points_shortfall: int = 0
    coupon_outcome: str | None = None

    @classmethod
    def of(cls, row: Reward) -> RewardOut:
        """From a row."""
        return cls(
            side=row.side,
            user_id=row.user_id,
            status=row.status,
            points=row.points,
            offer_id=row.offer_id,
            coupon_code=row.coupon_code,
            created_at=row.created_at,
            reason=row.reason,
            closed_at=row.closed_at,
            points_reversed=row.points_reversed or 0,
            points_shortfall=row.points_shortfall or 0,
            coupon_outcome=row.coupon_outcome,
        )


class ReferralDetail(ReferralOut):
    """A referral with the decisions about it and its rewards."""

    decisions: list[DecisionOut]
    rewards: list[RewardOut]


class OrderOut(BaseModel):
    """What an order did: `qualifies` and a reason code (not_referred, below_minimum, …)."""

    order_id: str
    qualifies: bool
    reason: str
    referral: ReferralOut | None


class GroupOpenIn(BaseModel):
    """Open a group buy: the leader joins first and holds a payment at the group price."""

    model_config = ConfigDict(extra="forbid")
    sku: ExternalId
    group_price_minor: Annotated[Int32, Field(gt=0)] = Field(
        description="Minor units; the column is a 32-bit integer."
    )
    currency: Currency
    size: int = Field(ge=2, le=1000)
    hours: int = Field(ge=1, le=24 * 30)
    leader_id: UserId
    hold_ref: Annotated[Line, Field(max_length=200)] | None = None


class GroupJoinIn(BaseModel):
    """Join a group with a payment hold reference from the shop."""

    model_config = ConfigDict(extra="forbid")
    user_id: UserId
    hold_ref: Annotated[Line, Field(max_length=200)] | None = None


class MemberOut(BaseModel):
    """A member: their hold is `held`, then `captured` (group completed) or `refunded` (failed)."""

    user_id: str
    hold_ref: str | None
    status: str
    joined_at: datetime
    settled_at: datetime | None

    @classmethod
    def of(cls, row: GroupMember) -> MemberOut:
        """From a row."""
        return cls.model_validate(row, from_attributes=True)


class GroupOut(BaseModel):
    """A group buy: `open`, `completed` or `failed`."""

    id: str
    sku: str
    group_price_minor: int
    currency: str
    size: int
    members: int
    status: str
    leader_id: str
    opened_at: datetime
    deadline: datetime
    closed_at: datetime | None
    member_list: list[MemberOut] | None = None

    @classmethod
    def of(cls, row: GroupBuy, members: list[GroupMember] | None = None) -> GroupOut:
        """From a row, with its members when given."""
        return cls(
            id=row.id,
            sku=row.sku,
            group_price_minor=row.group_price_minor,
            currency=row.currency,
            size=row.size,
            members=row.members,
            status=row.status,
            leader_id=row.leader_id,
            opened_at=row.opened_at,
            deadline=row.deadline,
            closed_at=row.closed_at,
            member_list=None if members is None else [MemberOut.of(m) for m in members],
        )


class JoinOut(BaseModel):
    """A join's answer: the group after it and the caller's membership."""

    group: GroupOut
    member: MemberOut
    replayed: bool
