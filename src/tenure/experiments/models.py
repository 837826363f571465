"""Experiment tables: experiments (document, allocation, state) and carried-over assignments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenure.storage.database import Base
from tenure.storage.types import UtcDateTime


class ExperimentRow(Base):
    """An experiment: its document, its bucket allocation and its state."""

    __tablename__ = "experiments"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # draft / running / stopped
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, object]] = mapped_column(JSON)
    # Per variant, the bucket intervals it owns ([[start, end], …]); see allocation.py.
    allocation: Mapped[list[list[list[float]]]] = mapped_column(JSON)
    namespace: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # A change of weights, traffic or targeting while running starts a new phase: results read
    # the exposures of the current phase, whose split the SRM check expects.
    phase: Mapped[int] = mapped_column(Integer, default=1)
    phase_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class CarriedAssignment(Base):
    """A unit's first assignment. `from_unit` = `unit_id`: the unit was assigned by its own
    hash (which stays authoritative); another id: the variant was carried over from that
    anonymous id on sign-in, and is kept."""

    __tablename__ = "experiment_assignments"
    __table_args__ = (Index("ix_experiment_assignments_unit", "unit_id"),)

    experiment_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    variant: Mapped[str] = mapped_column(String(64))
    from_unit: Mapped[str] = mapped_column(String(200))  # the anonymous id it came from
    at: Mapped[datetime] = mapped_column(UtcDateTime())
