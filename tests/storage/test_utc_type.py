"""`UtcDateTime` stores instants as UTC and reads them back aware, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError

from tenure.jobs.models import Job
from tenure.migrations.models import import_all_models
from tenure.storage.database import Base, Database
from tenure.storage.types import UtcDateTime

TOKYO = timezone(timedelta(hours=9))
AT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=TOKYO)  # 00:30:15.123456 UTC


def _table(database: Database) -> Table:
    table = Table(
        "utc_probe",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", UtcDateTime(), nullable=True),
    )
    table.create(database.engine)
    return table


def test_an_instant_comes_back_aware_in_utc(database: Database) -> None:
    table = _table(database)
    with database.engine.begin() as con:
        con.execute(insert(table), [{"id": 1, "at": AT}, {"id": 2, "at": None}])
    with database.engine.connect() as con:
        rows = {row.id: row.at for row in con.execute(select(table.c.id, table.c.at))}
    assert rows[1] == AT
    assert rows[1].tzinfo is UTC
    assert rows[1].isoformat() == "2026-03-01T00:30:15.123456+00:00"
    assert rows[2] is None


def test_sqlite_keeps_the_utc_wall_clock(database: Database) -> None:
    table = _table(database)
    with database.engine.begin() as con:
        con.execute(insert(table), [{"id": 1, "at": AT}])
    with database.engine.connect() as con:
        if database.engine.dialect.name == "sqlite":
            raw = con.execute(text("SELECT at FROM utc_probe")).scalar_one()
            assert raw == "2026-03-01 00:30:15.123456"
        # Comparisons bind through the type too: an instant in any offset finds the row.
        found = con.execute(select(table.c.id).where(table.c.at == AT.astimezone(UTC)))
        assert found.scalar_one() == 1


def test_an_orm_column_reads_back_aware_utc(database: Database) -> None:
    with database.session() as session:
        session.add(Job(name="probe", interval_seconds=60, enabled=True, next_run_at=AT, runs=0))
    with database.session() as session:
        job = session.get(Job, "probe")
        assert job is not None
        assert job.next_run_at == AT
        assert job.next_run_at.tzinfo is UTC
        assert job.locked_until is None


def test_a_naive_datetime_is_refused(database: Database) -> None:
    table = _table(database)
    with pytest.raises(StatementError) as err, database.engine.begin() as con:
        con.execute(insert(table), [{"id": 1, "at": datetime(2026, 3, 1, 0, 30)}])
    assert isinstance(err.value.orig, ValueError)
    with pytest.raises(StatementError), database.engine.connect() as con:
        con.execute(select(table.c.id).where(table.c.at <= datetime(2026, 3, 1)))


def test_a_naive_sqlite_value_is_read_as_utc() -> None:
    from sqlalchemy.dialects import sqlite

    naive = datetime(2026, 3, 1, 0, 30)
    read = UtcDateTime().process_result_value(naive, sqlite.dialect())
    assert read == naive.replace(tzinfo=UTC)
    assert read is not None and read.tzinfo is UTC


def test_the_migrated_schema_sees_no_type_change(database: Database) -> None:
    # The DDL type is still DateTime(timezone=True): autogenerate finds nothing to change.
    import_all_models()
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
