"""Every query on the experiment tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tenure.experiments.models import CarriedAssignment, ExperimentRow


def experiment(session: Session, key: str, *, lock: bool = False) -> ExperimentRow | None:
    """One experiment by key; `lock` holds its row until the unit of work ends."""
    query = select(ExperimentRow).where(ExperimentRow.key == key)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def experiments(session: Session, status: str | None = None) -> Sequence[ExperimentRow]:
    """Every experiment (or those in one status), newest first."""
    query = select(ExperimentRow).order_by(ExperimentRow.created_at.desc(), ExperimentRow.key)
    if status is not None:
        query = query.where(ExperimentRow.status == status)
    return session.scalars(query).all()


def experiments_page(
    session: Session, status: str | None, offset: int, limit: int
) -> tuple[Sequence[ExperimentRow], int]:
    """One page of experiments (newest first, as `experiments`) and how many there are."""
    query = select(ExperimentRow).order_by(ExperimentRow.created_at.desc(), ExperimentRow.key)
    count = select(func.count()).select_from(ExperimentRow)
    if status is not None:
        query = query.where(ExperimentRow.status == status)
        count = count.where(ExperimentRow.status == status)
    rows = session.scalars(query.offset(offset).limit(limit)).all()
    return rows, int(session.scalar(count) or 0)


def in_namespace(
    session: Session, namespace: str, *, lock: bool = False
) -> Sequence[ExperimentRow]:
    """The experiments of one namespace, in key order; `lock` holds their rows."""
    query = (
        select(ExperimentRow)
        .where(ExperimentRow.namespace == namespace)
        .order_by(ExperimentRow.key)
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query).all()


def add(session: Session, row: ExperimentRow) -> None:
    """Stage a new experiment."""
    session.add(row)
    session.flush()


def remembered(session: Session, key: str, unit_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """unit id → (variant, from unit) remembered in the experiment for those of `unit_ids`."""
    query = select(
        CarriedAssignment.unit_id, CarriedAssignment.variant, CarriedAssignment.from_unit
    ).where(CarriedAssignment.experiment_key == key, CarriedAssignment.unit_id.in_(unit_ids))
    return {unit: (variant, source) for unit, variant, source in session.execute(query)}


def assignments_of(session: Session, unit_ids: Sequence[str]) -> list[tuple[str, str, str]]:
    """(unit, experiment key, variant) of every assignment remembered for these units."""
    query = select(
        CarriedAssignment.unit_id, CarriedAssignment.experiment_key, CarriedAssignment.variant
    ).where(CarriedAssignment.unit_id.in_(unit_ids))
    return [(unit, key, variant) for unit, key, variant in session.execute(query)]


def carry(
    session: Session, key: str, unit_id: str, variant: str, from_unit: str, at: datetime
) -> None:
    """Record that the user keeps `variant`; a concurrent first record wins, this one is void."""
    values = {
        "experiment_key": key, "unit_id": unit_id, "variant": variant,
        "from_unit": from_unit, "at": at,
    }  # fmt: skip
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = make(CarriedAssignment).values(**values).on_conflict_do_nothing()
    session.execute(statement)
