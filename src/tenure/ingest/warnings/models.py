"""The ingestion warnings table: counts per day, source and reason, with a few examples."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenure.storage.database import Base
from tenure.storage.types import UtcDateTime


class IngestionWarning(Base):
    """How often one kind of decision (`reason`) was taken for one `source` on one UTC day.

    One row per (day, source, reason), never one per message: a flood of bad events adds to a
    count. `examples` keeps the first few cases (JSON list) so an operator can find the sender.
    """

    __tablename__ = "ingestion_warnings"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    day: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(BigInteger)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_at: Mapped[datetime] = mapped_column(UtcDateTime())
    examples: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("day", "source", "reason"),)
