"""Pydantic I/O of the promotion endpoints and CLI (money in integer minor units)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tenure.kit.bounds import (
    MONEY_MAX,
    PUBLIC_ID_LENGTH,
    CouponCode,
    Currency,
    ExternalId,
    IdempotencyKey,
    Instant,
    Int32,
    Line,
    Minor,
    Name,
    UserId,
)

Positive = Annotated[Int32, Field(ge=1)]  # counts and limits in Integer columns


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MinSpendIn(_In):
    type: Literal["min_spend"]
    amount_minor: Minor


class MinQuantityIn(_In):
    type: Literal["min_quantity"]
    quantity: Positive


class FirstOrderIn(_In):
    type: Literal["first_order"]


class NewUserIn(_In):
    type: Literal["new_user"]


class TierIn(_In):
    type: Literal["tier"]
    tiers: Annotated[list[Name], Field(min_length=1)]


class SegmentIn(_In):
    type: Literal["segment"]
    segments: Annotated[list[Name], Field(min_length=1)]


ConditionIn = Annotated[
    MinSpendIn | MinQuantityIn | FirstOrderIn | NewUserIn | TierIn | SegmentIn,
    Field(discriminator="type"),
]


class AmountOffIn(_In):
    type: Literal["amount_off"]
    amount_minor: Annotated[Minor, Field(ge=1)]


class PercentOffIn(_In):
    type: Literal["percent_off"]
    bps: Annotated[int, Field(ge=1, le=10_000)]
    cap_minor: Minor | None = None


class StepIn(_In):
    threshold_minor: Minor
    amount_off_minor: Annotated[Minor, Field(ge=1)]


class LadderIn(_In):
    type: Literal["ladder"]
    steps: Annotated[list[StepIn], Field(min_length=1, max_length=20)]

    @field_validator("steps")
    @classmethod
    def _ascending(cls, steps: list[StepIn]) -> list[StepIn]:
        ordered = sorted(steps, key=lambda s: s.threshold_minor)
        thresholds = [s.threshold_minor for s in ordered]
        if len(set(thresholds)) != len(thresholds):
            raise ValueError("two steps share a threshold")
        offs = [s.amount_off_minor for s in ordered]
        if offs != sorted(offs):
            raise ValueError("a higher threshold must not save less")
        return ordered


class FreeShippingIn(_In):
    type: Literal["free_shipping"]
    cap_minor: Minor | None = None


class GiftIn(_In):
    type: Literal["gift"]
    sku: Name
    quantity: Annotated[int, Field(ge=1, le=100)] = 1
    value_minor: Minor


class SalePriceIn(_In):
    type: Literal["sale_price"]
    price_minor: Minor
    max_units_per_order: Positive | None = None


class PointsIn(_In):
    type: Literal["points"]
    points: Annotated[int, Field(ge=1, le=10**9)]


BenefitIn = Annotated[
    AmountOffIn | PercentOffIn | LadderIn | FreeShippingIn | GiftIn | SalePriceIn | PointsIn,
    Field(discriminator="type"),
]


class RangeIn(_In):
    categories: list[Name] = []
    skus: list[Name] = []
    exclude_categories: list[Name] = []
    exclude_skus: list[Name] = []


class OfferIn(_In):
    """A coupon template (kind coupon: applies with a code) or an automatic promotion."""

    name: Name
    kind: Literal["coupon", "automatic"]
    benefit: BenefitIn
    conditions: Annotated[list[ConditionIn], Field(max_length=20)] = []
    items: RangeIn = RangeIn()
    priority: Annotated[int, Field(ge=-1000, le=1000)] | None = None
    exclusive: bool = False
    group: Annotated[Line, Field(min_length=1, max_length=64)] | None = None
    currency: Currency | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    per_user_limit: Positive | None = None
    total_limit: Positive | None = None
    budget_minor: Annotated[Minor, Field(ge=1)] | None = None
    stock: Positive | None = None
    returns_on_refund: bool = True

    @model_validator(mode="after")
    def _coherent(self) -> OfferIn:
        for when in (self.starts_at, self.ends_at):
            if when is not None and when.tzinfo is None:
                raise ValueError("starts_at and ends_at need a time zone (e.g. Z)")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.stock is not None and self.benefit.type not in ("sale_price", "gift"):
            raise ValueError("stock applies to sale_price and gift offers")
        return self


class OfferOut(BaseModel):
    id: str
    name: str
    kind: str
    status: str
    priority: int
    exclusive: bool
    group: str | None
    currency: str
    starts_at: datetime | None
    ends_at: datetime | None
    conditions: list[dict[str, Any]]
    benefit: dict[str, Any]
    items: dict[str, Any]
    per_user_limit: int | None
    total_limit: int | None
    used_count: int
    budget_minor: int | None
    spent_minor: int
    stock: int | None
    stock_used: int
    returns_on_refund: bool
    created_at: datetime


class StatusIn(_In):
    status: Literal["active", "paused", "archived"]


class CodeStatusIn(_In):
    status: Literal["active", "disabled"]


class CodesIn(_In):
    """Bulk single-use codes (`count`), or one shared code (`code`, optional `max_uses`)."""

    count: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{0,16}$")] = ""
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{3,64}$")] | None = None
    max_uses: Positive | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> CodesIn:
        if (self.count is None) == (self.code is None):
            raise ValueError("send either count (unique codes) or code (a shared code)")
        return self


class CodesOut(BaseModel):
    offer_id: str
    batch: str
    codes: list[str]


class IssueIn(_In):
    user_ids: Annotated[list[UserId], Field(min_length=1, max_length=100_000)]


class CodeOut(BaseModel):
    """One coupon code and how much of it is used."""

    code: str
    offer_id: str
    user_id: str | None
    max_uses: int | None
    used_count: int
    status: str
    batch: str | None
    created_at: datetime


class WalletCoupon(BaseModel):
    code: str
    offer_id: str
    name: str
    description: str
    uses_left: int | None
    ends_at: datetime | None


class LineIn(_In):
    sku: Name
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    unit_price_minor: Minor
    category: Name | None = None


class CustomerIn(_In):
    """Facts the shop knows; Tenure's own records and loyalty/segments take precedence."""

    is_new_customer: bool | None = None
    previous_orders: Annotated[Int32, Field(ge=0)] | None = None
    tier: Name | None = None
    segments: list[Name] = []


class CheckoutIn(_In):
    """A cart at checkout."""

    user_id: UserId | None = None
    currency: Currency | None = None
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=500)]
    shipping_minor: Minor = 0
    codes: Annotated[list[CouponCode], Field(max_length=10)] = []
    use_wallet: bool = True
    customer: CustomerIn = CustomerIn()

    @field_validator("lines")
    @classmethod
    def _subtotal_fits(cls, lines: list[LineIn]) -> list[LineIn]:
        # Every total of a reservation (subtotal, discounts, what it holds of a budget) is a
        # BigInteger: a cart must not add up past what one amount of money may be.
        subtotal = sum(line.quantity * line.unit_price_minor for line in lines)
        if subtotal > MONEY_MAX:
            raise ValueError(f"the cart's subtotal must be at most {MONEY_MAX} minor units")
        return lines


class ReserveIn(CheckoutIn):
    """A cart to hold offers for; the Idempotency-Key header (or this field) makes it retry-safe.
    Typed codes must apply (`require_codes`), and so must the offers the customer was shown
    (`expect_offers`, e.g. a flash sale): else 409 with the reason, never a silent price rise."""

    idempotency_key: IdempotencyKey | None = None
    hold_seconds: Annotated[int, Field(ge=30, le=7 * 86400)] = 900
    require_codes: bool = True
    expect_offers: Annotated[
        list[Annotated[Line, Field(max_length=PUBLIC_ID_LENGTH)]], Field(max_length=50)
    ] = []


class ValidateIn(CheckoutIn):
    """Check one code against a cart."""

    code: CouponCode


class ConfirmIn(_In):
    order_id: ExternalId


class RefundIn(_In):
    """A refund of the confirmed order: without `amount_minor`, all that is left (the order in
    full); `refund_id` makes a partial refund safe to retry."""

    refund_id: ExternalId | None = None
    amount_minor: Annotated[Minor, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _partial_needs_an_id(self) -> RefundIn:
        # Without an id a retried partial refund could not be told from a second one.
        if self.amount_minor is not None and self.refund_id is None:
            raise ValueError("refund_id is required with amount_minor")
        return self


class Reason(BaseModel):
    code: str
    message: str
    data: dict[str, Any]


class GiftOut(BaseModel):
    sku: str
    quantity: int
    value_minor: int


class AppliedOut(BaseModel):
    offer_id: str
    name: str
    kind: str
    code: str | None
    description: str
    discount_minor: int
    shipping_discount_minor: int
    value_minor: int
    gifts: list[GiftOut]
    points: int
    units: int
    line_discounts_minor: list[int]


class RejectedOut(BaseModel):
    offer_id: str
    name: str
    code: str | None
    reason: Reason


class UnknownCodeOut(BaseModel):
    code: str
    reason: Reason


class UpsellOut(BaseModel):
    offer_id: str
    name: str
    missing_minor: int
    message: str


class SuggestionOut(BaseModel):
    """An item to suggest beside the cart (from the recommendation model), and why: the reason's
    code and text, and the cart item it was bought with (`anchor_sku`)."""

    sku: str
    name: str
    category: str | None
    reason_code: str
    reason_text: str
    anchor_sku: str | None


class LineOut(BaseModel):
    sku: str
    quantity: int
    unit_price_minor: int
    discount_minor: int
    total_minor: int


class QuoteOut(BaseModel):
    """Every applicable offer, the best combination, why the others do not apply, upsell hints."""

    currency: str
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    shipping_discount_minor: int
    total_minor: int
    points: int
    lines: list[LineOut]
    applied: list[AppliedOut]
    applicable: list[AppliedOut]
    rejected: list[RejectedOut]
    unknown_codes: list[UnknownCodeOut]
    upsells: list[UpsellOut]
    # Items bought with what is in the cart; empty before a recommendation model is trained.
    suggestions: list[SuggestionOut] = []


class RefundOut(BaseModel):
    """One refund and the bonus points it took back (`points_shortfall`: already spent)."""

    refund_id: str
    amount_minor: int
    points_reversed: int
    points_shortfall: int
    created_at: datetime


class ReservationOut(BaseModel):
    id: str
    idempotency_key: str
    status: str
    user_id: str | None
    order_id: str | None
    expires_at: datetime
    quote: QuoteOut
    refunded_minor: int = 0
    refunds: list[RefundOut] = []


class ReleasedOut(BaseModel):
    released: int
