"""What the weekly review job sent: one row per (operator, week), the guard against resending."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenure.storage.database import Base
from tenure.storage.types import UtcDateTime


class WeeklyReviewSend(Base):
    """The review of one week for one operator: `sending` under a lease, then `sent`, `retry`
    (the server asked to try later) or `failed` (refused for good). The primary key is what
    keeps two workers, or a rerun, from sending it twice."""

    __tablename__ = "weekly_review_sends"

    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True
    )
    week: Mapped[date] = mapped_column(Date, primary_key=True)  # the Monday
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    address: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
