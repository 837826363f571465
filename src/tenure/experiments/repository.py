"""Every query on the experiment tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
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


def running_in_namespace(session: Session, namespace: str) -> Sequence[ExperimentRow]:
    """The running experiments of one namespace."""
    query = select(ExperimentRow).where(
        ExperimentRow.namespace == namespace, ExperimentRow.status == "running"
    )
    return session.scalars(query).all()


def add(session: Session, row: ExperimentRow) -> None:
    """Stage a new experiment."""
    session.add(row)
    session.flush()


def carried(session: Session, key: str, unit_ids: Sequence[str]) -> dict[str, str]:
    """unit id → the variant it carries in the experiment, for those of `unit_ids` that do."""
    query = select(CarriedAssignment.unit_id, CarriedAssignment.variant).where(
        CarriedAssignment.experiment_key == key, CarriedAssignment.unit_id.in_(unit_ids)
    )
    return dict(session.execute(query).tuples().all())


def assignments_of(session: Session, unit_id: str) -> dict[str, str]:
    """experiment key → the variant remembered for the unit."""
    query = select(CarriedAssignment.experiment_key, CarriedAssignment.variant).where(
        CarriedAssignment.unit_id == unit_id
    )
    return dict(session.execute(query).tuples().all())


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
