"""Loyalty HTTP payloads: integers for points and minor units, ISO-8601 UTC datetimes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tenure.loyalty.models import Redemption, Transaction

_ID = Field(min_length=1, max_length=200)
_KEY = Field(default=None, min_length=1, max_length=200)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EarnAction(_In):
    """Points for an action such as sign-up, review or birthday."""

    action: str = Field(min_length=1, max_length=60)
    reference: str | None = Field(default=None, max_length=200)
    idempotency_key: str | None = _KEY


class Spend(_In):
    """Spend points outside checkout."""

    points: int = Field(gt=0)
    reason: str = Field(default="spend", min_length=1, max_length=80)
    idempotency_key: str | None = _KEY


class Adjust(_In):
    """An operator's correction (positive or negative)."""

    points: int
    reason: str = Field(min_length=1, max_length=80)
    idempotency_key: str | None = _KEY


class OrderPaid(_In):
    """An order the shop was paid for."""

    order_id: str = _ID
    user_id: str = _ID
    amount_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    paid_at: AwareDatetime | None = Field(default=None, description="With a UTC offset.")


class OrderRefunded(_In):
    """A refund (full or partial) of an order; `refund_id` makes it idempotent."""

    refund_id: str = _ID
    amount_minor: int = Field(gt=0)


class QuoteIn(_In):
    """What points could do for an order."""

    user_id: str = _ID
    order_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    points: int | None = Field(default=None, gt=0)


class RedeemIn(QuoteIn):
    """Reserve points at checkout."""

    points: int = Field(gt=0)
    order_id: str | None = Field(default=None, max_length=200)
    idempotency_key: str | None = _KEY


class SettleIn(_In):
    """Confirming a redemption can name the order it paid for."""

    order_id: str | None = Field(default=None, max_length=200)


class MembershipIn(_In):
    """A paid membership period; `payment_ref` (the shop's payment id) makes it idempotent."""

    plan: str = Field(min_length=1, max_length=60)
    payment_ref: str = _ID
    price_minor: int | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, min_length=3, max_length=3)


class RewardIn(_In):
    """A catalogue reward."""

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["gift", "coupon"] = "gift"
    points_cost: int = Field(gt=0)
    coupon_template: str | None = Field(
        default=None, max_length=200, description="A promotions coupon offer id (kind coupon)."
    )
    stock: int | None = Field(default=None, ge=0)
    active: bool = True


class ClaimIn(_In):
    """Buy a reward with points."""

    user_id: str = _ID
    idempotency_key: str | None = _KEY


class TierIn(_In):
    """Set a member's tier by hand (null removes it)."""

    tier: str | None


class ProgramIn(_In):
    """A new program version; `expected_version` refuses to overwrite someone else's edit."""

    config: dict[str, Any]
    note: str = Field(default="", max_length=500)
    expected_version: int | None = None


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
