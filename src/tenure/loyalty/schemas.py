"""Loyalty HTTP payloads: integers for points and minor units, ISO-8601 UTC datetimes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenure.kit.bounds import (
    EXTERNAL_ID_LENGTH,
    Currency,
    ExternalId,
    IdempotencyKey,
    Instant,
    Int32,
    Line,
    Minor,
    Name,
    Note,
    Points,
    PointsDelta,
    ProgramKey,
    TierCode,
    UserId,
)
from tenure.loyalty.models import (
    Checkin,
    ExpiryNotice,
    Membership,
    ProgramVersion,
    Redemption,
    Reward,
    TaskCompletion,
    TierEvent,
    Transaction,
)
from tenure.loyalty.program import Program

if TYPE_CHECKING:
    from tenure.loyalty.checkin.service import Calendar
    from tenure.loyalty.checkout import Quote
    from tenure.loyalty.jobs import DueResult
    from tenure.loyalty.liability import Liability
    from tenure.loyalty.membership import Status
    from tenure.loyalty.orders import PaidResult
    from tenure.loyalty.points import Summary
    from tenure.loyalty.rewards import ClaimResult
    from tenure.loyalty.service import Benefits
    from tenure.loyalty.tasks import TaskState

Day = date  # for fields called `date`
Reason = Annotated[Line, Field(min_length=1, max_length=80)]  # "adjust:" + reason fits String(100)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EarnAction(_In):
    """Points for an action such as sign-up, review or birthday."""

    action: ProgramKey
    reference: Annotated[Line, Field(max_length=EXTERNAL_ID_LENGTH)] | None = None
    idempotency_key: IdempotencyKey | None = None


class Spend(_In):
    """Spend points outside checkout."""

    points: Points
    reason: Reason = "spend"
    idempotency_key: IdempotencyKey | None = None


class Adjust(_In):
    """An operator's correction (positive or negative), at most 10^12 points either way."""

    points: PointsDelta
    reason: Reason
    idempotency_key: IdempotencyKey | None = None


class OrderPaid(_In):
    """An order the shop was paid for."""

    order_id: ExternalId
    user_id: UserId
    amount_minor: Minor
    currency: Currency
    paid_at: Instant | None = Field(default=None, description="With a UTC offset.")


class OrderRefunded(_In):
    """A refund (full or partial) of an order; `refund_id` makes it idempotent."""

    refund_id: ExternalId
    amount_minor: Annotated[Minor, Field(gt=0)]


class QuoteIn(_In):
    """What points could do for an order."""

    user_id: UserId
    order_minor: Minor
    currency: Currency
    points: Points | None = None


class RedeemIn(QuoteIn):
    """Reserve points at checkout."""

    points: Points
    order_id: ExternalId | None = None
    idempotency_key: IdempotencyKey | None = None


class SettleIn(_In):
    """Confirming a redemption can name the order it paid for."""

    order_id: ExternalId | None = None


class MembershipIn(_In):
    """A paid membership period; `payment_ref` (the shop's payment id) makes it idempotent."""

    plan: ProgramKey
    payment_ref: ExternalId
    price_minor: Minor | None = None
    currency: Currency | None = None


class RewardIn(_In):
    """A catalogue reward."""

    name: Name
    kind: Literal["gift", "coupon"] = "gift"
    points_cost: Points
    coupon_template: Annotated[Line, Field(max_length=200)] | None = Field(
        default=None, description="A promotions coupon offer id (kind coupon)."
    )
    stock: Annotated[Int32, Field(ge=0)] | None = None
    active: bool = True


class ClaimIn(_In):
    """Buy a reward with points."""

    user_id: UserId
    idempotency_key: IdempotencyKey | None = None


class TierIn(_In):
    """Set a member's tier by hand (null removes it)."""

    tier: TierCode | None


class ProgramIn(_In):
    """A new program version; `expected_version` refuses to overwrite someone else's edit."""

    config: dict[str, Any]
    note: Note = ""
    expected_version: Annotated[Int32, Field(ge=0)] | None = None


class TransactionOut(BaseModel):
    """One ledger transaction."""

    id: str
    user_id: str
    kind: str
    reason: str
    points: int = Field(description="Change of the spendable balance.")
    pending_delta: int
    reserved_delta: int
    shortfall: int
    balance: int = Field(description="Spendable balance right after this transaction.")
    pending: int
    reserved: int
    order_id: str | None
    reference: str | None
    created_at: datetime
    replayed: bool = False

    @classmethod
    def of(cls, tx: Transaction, replayed: bool = False) -> TransactionOut:
        """From a row."""
        return cls(
            id=tx.id,
            user_id=tx.user_id,
            kind=tx.kind,
            reason=tx.reason,
            points=tx.available_delta,
            pending_delta=tx.pending_delta,
            reserved_delta=tx.reserved_delta,
            shortfall=tx.shortfall,
            balance=tx.available_after,
            pending=tx.pending_after,
            reserved=tx.reserved_after,
            order_id=tx.order_id,
            reference=tx.reference,
            created_at=tx.created_at,
            replayed=replayed,
        )


class RedemptionOut(BaseModel):
    """A checkout reservation of points."""

    id: str
    user_id: str
    status: str
    points: int
    discount_minor: int
    currency: str
    order_minor: int
    order_id: str | None
    created_at: datetime
    expires_at: datetime
    settled_at: datetime | None
    replayed: bool = False

    @classmethod
    def of(cls, row: Redemption, replayed: bool = False) -> RedemptionOut:
        """From a row."""
        return cls(
            id=row.id,
            user_id=row.user_id,
            status=row.status,
            points=row.points,
            discount_minor=row.discount_minor,
            currency=row.currency,
            order_minor=row.order_minor,
            order_id=row.order_id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            settled_at=row.settled_at,
            replayed=replayed,
        )


class BalancesOut(BaseModel):
    """Points per bucket: spendable, waiting for the return window, held by a checkout."""

    available: int
    pending: int
    reserved: int


class MembershipStatusOut(BaseModel):
    """A member's subscription: plan, whether it is active, until when it is paid, cancelled."""

    plan: str | None
    active: bool
    expires_at: datetime | None
    cancelled: bool

    @classmethod
    def of(cls, status: Status) -> MembershipStatusOut:
        """From the membership status."""
        return cls.model_validate(asdict(status))


class AccountOut(BaseModel):
    """A member's balances, tier progress, membership and points expiring soon."""

    user_id: str
    exists: bool
    balances: BalancesOut
    tier: str | None
    tier_name: str | None
    tier_grace_until: datetime | None
    qualifying_value: int
    next_tier: str | None
    to_next_tier: int | None
    membership: MembershipStatusOut
    expiring_points: int
    expiring_before: datetime

    @classmethod
    def of(cls, summary: Summary) -> AccountOut:
        """From the member's summary."""
        return cls.model_validate(asdict(summary))


class BenefitsOut(BaseModel):
    """Tier and paid-membership benefits in force now."""

    user_id: str
    tier: str | None
    tier_name: str | None
    multiplier_bps: int
    free_shipping: bool
    exclusive_coupons: list[str]
    birthday_gift_points: int
    early_access_hours: int
    membership_plan: str | None
    membership_expires_at: datetime | None

    @classmethod
    def of(cls, benefits: Benefits) -> BenefitsOut:
        """From the member's benefits."""
        return cls.model_validate(asdict(benefits))


class TierChangeOut(BaseModel):
    """An upgrade, grace period, downgrade or manual change of a member's tier."""

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    kind: str
    from_tier: str | None = Field(alias="from")
    to_tier: str | None = Field(alias="to")
    value: int = Field(description="The qualifying value at the change.")
    at: datetime

    @classmethod
    def of(cls, row: TierEvent) -> TierChangeOut:
        """From a row."""
        return cls(
            kind=row.kind,
            from_tier=row.from_tier,
            to_tier=row.to_tier,
            value=row.qualifying_value,
            at=row.at,
        )


class CheckinOut(BaseModel):
    """A day's check-in (`date` in the shop's time zone) and the points it earned."""

    user_id: str
    date: Day
    streak: int
    points: int
    transaction_id: str | None

    @classmethod
    def of(cls, row: Checkin) -> CheckinOut:
        """From a row."""
        return cls(
            user_id=row.user_id,
            date=row.local_date,
            streak=row.streak,
            points=row.points,
            transaction_id=row.transaction_id,
        )


class CalendarDayOut(BaseModel):
    """One day of the check-in calendar."""

    date: str = Field(description="ISO date in the shop's time zone.")
    checked_in: bool
    points: int


class CalendarOut(BaseModel):
    """A month of check-ins in the shop's zone, the live streak and the next day's reward."""

    year: int
    month: int
    days: list[CalendarDayOut]
    today: Day
    checked_in_today: bool
    streak: int
    next_points: int

    @classmethod
    def of(cls, calendar: Calendar) -> CalendarOut:
        """From the month's calendar."""
        return cls.model_validate(asdict(calendar))


class TaskOut(BaseModel):
    """A task and when the member completed it (null: not yet)."""

    code: str
    title: str
    points: int
    completed_at: datetime | None

    @classmethod
    def of(cls, task: TaskState) -> TaskOut:
        """From the task's state."""
        return cls.model_validate(asdict(task))


class TaskCompletionOut(BaseModel):
    """A completed task and the points it awarded."""

    user_id: str
    task: str
    points: int
    completed_at: datetime
    transaction_id: str | None

    @classmethod
    def of(cls, row: TaskCompletion) -> TaskCompletionOut:
        """From a row."""
        return cls.model_validate(row, from_attributes=True)


class MembershipOut(BaseModel):
    """A paid membership period and the member's subscription status after it."""

    id: str
    plan: str
    starts_at: datetime
    expires_at: datetime
    status: MembershipStatusOut

    @classmethod
    def of(cls, row: Membership, status: Status) -> MembershipOut:
        """From a row and the member's status."""
        return cls(
            id=row.id,
            plan=row.plan,
            starts_at=row.starts_at,
            expires_at=row.expires_at,
            status=MembershipStatusOut.of(status),
        )


class OrderPaidOut(BaseModel):
    """Points a paid order earned (pending until `confirm_at`) and the member's tier after it."""

    order_id: str
    user_id: str
    points: int
    bonus_points: int
    multiplier_bps: int
    pending: bool
    confirm_at: datetime | None
    tier: str | None
    replayed: bool

    @classmethod
    def of(cls, result: PaidResult) -> OrderPaidOut:
        """From what the order did."""
        return cls(
            order_id=result.order.order_id,
            user_id=result.order.user_id,
            points=result.points,
            bonus_points=result.bonus_points,
            multiplier_bps=result.order.multiplier_bps,
            pending=result.pending,
            confirm_at=result.confirm_at,
            tier=result.tier,
            replayed=result.replayed,
        )


class PointsQuoteOut(BaseModel):
    """What points can do for an order; `points` is what redeeming would charge."""

    user_id: str
    currency: str
    order_minor: int
    balance: int
    requested: int | None
    points: int
    discount_minor: int
    max_points: int
    limited_by: str | None
    usable: bool
    min_points: int

    @classmethod
    def of(cls, quote: Quote) -> PointsQuoteOut:
        """From a quote."""
        return cls.model_validate(asdict(quote))


class CatalogueRewardOut(BaseModel):
    """A reward of the catalogue."""

    code: str
    name: str
    kind: str
    points_cost: int
    coupon_template: str | None
    stock: int | None
    active: bool

    @classmethod
    def of(cls, row: Reward) -> CatalogueRewardOut:
        """From a row."""
        return cls.model_validate(row, from_attributes=True)


class ClaimOut(BaseModel):
    """A reward bought with points (the shop fulfils it; a coupon reward names its code)."""

    id: str
    reward: CatalogueRewardOut
    user_id: str
    points: int
    transaction_id: str
    coupon_code: str | None
    created_at: datetime
    replayed: bool

    @classmethod
    def of(cls, result: ClaimResult) -> ClaimOut:
        """From a claim."""
        return cls(
            id=result.claim.id,
            reward=CatalogueRewardOut.of(result.reward),
            user_id=result.claim.user_id,
            points=result.claim.points,
            transaction_id=result.claim.transaction_id,
            coupon_code=result.claim.coupon_code,
            created_at=result.claim.created_at,
            replayed=result.replayed,
        )


class ExpiryNoticeOut(BaseModel):
    """A reminder that a lot of points is about to expire."""

    lot_id: str
    user_id: str
    points: int
    expires_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, row: ExpiryNotice) -> ExpiryNoticeOut:
        """From a row."""
        return cls.model_validate(row, from_attributes=True)


class MemberTierOut(BaseModel):
    """A member's tier after setting it by hand (null: none)."""

    user_id: str
    tier: str | None


class ProgramOut(BaseModel):
    """The program configuration and its version (0 = built-in defaults)."""

    version: int
    config: Program


class ProgramVersionOut(BaseModel):
    """A saved program version."""

    version: int
    note: str
    created_at: datetime

    @classmethod
    def of(cls, row: ProgramVersion) -> ProgramVersionOut:
        """From a row."""
        return cls.model_validate(row, from_attributes=True)


class LiabilityOut(BaseModel):
    """Outstanding points and their value (minor units of `currency`), net of expected breakage.

    Breakage rate = points expired / (expired + spent + redeemed) over the history window; null
    when nothing has left the program yet (no history to learn from).
    """

    currency: str
    available: int
    pending: int
    reserved: int
    outstanding: int
    value_minor: int
    expiring_30d: int
    expired_window: int
    used_window: int
    breakage_bps: int | None
    expected_breakage_points: int
    expected_cost_minor: int

    @classmethod
    def of(cls, liability: Liability) -> LiabilityOut:
        """From the program-wide liability."""
        return cls.model_validate(asdict(liability))


class LoyaltyDueOut(BaseModel):
    """What one run of the due loyalty jobs did, counted by step."""

    confirmed: int
    expired: int
    reminded: int
    released: int
    tiers_changed: int

    @classmethod
    def of(cls, result: DueResult) -> LoyaltyDueOut:
        """From the run's result."""
        return cls.model_validate(asdict(result))
