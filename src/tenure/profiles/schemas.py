"""Profile I/O: what `tenure profile` prints and `GET /v1/users/{id}` returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class Amount(BaseModel):
    """Money in minor units with its currency."""

    minor: int
    currency: str


class Features(BaseModel):
    """Computed from the user's orders as of `as_of` (a shop-local day)."""

    as_of: date | None
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    orders: int = 0
    revenue: Amount | None = None
    aov: Amount | None = None
    recency_days: int | None = None
    tenure_days: int | None = None
    favourite_category: str | None = None
    channel: str | None = None


class Score(BaseModel):
    """The latest values of one model for the user."""

    model: str
    version: str
    computed_at: datetime
    values: dict[str, Any]


class Lifecycle(BaseModel):
    """The stage recorded in the operational database (what campaigns see)."""

    stage: str
    since: date


class TimelineItem(BaseModel):
    """An event or an order, newest first."""

    ts: datetime
    kind: Literal["order", "event"]
    name: str | None = None
    order_id: str | None = None
    status: str | None = None
    amount: Amount | None = None
    properties: dict[str, Any] | None = None


class Profile(BaseModel):
    """Everything Tenure knows about one user."""

    user_id: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    features: Features
    scores: dict[str, Score] = Field(default_factory=dict)
    rfm: dict[str, Any] | None = None
    lifecycle: Lifecycle | None = None
    segments: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    timeline: list[TimelineItem] = Field(default_factory=list)


class CustomerHit(BaseModel):
    """One user found by a search: the id and what identifies them to an operator."""

    user_id: str
    email: str | None = None
    name: str | None = None
    country: str | None = None
    channel: str | None = None
    signup_at: datetime | None = None
