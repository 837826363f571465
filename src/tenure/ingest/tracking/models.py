"""The tracking inbox: accepted messages, durable in the operational database until flushed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenure.storage.database import Base
from tenure.storage.types import UtcDateTime


class InboxBatch(Base):
    """The valid messages of one tracking call, as newline-delimited JSON, waiting for a flush.

    One row per call, not per message: the request path does one insert whatever the batch size,
    and the flusher parses many rows at once with Arrow's JSON reader.
    """

    __tablename__ = "tracking_batches"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    count: Mapped[int] = mapped_column(Integer)
    messages: Mapped[str] = mapped_column(Text)
