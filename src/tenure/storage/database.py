"""The operational database: SQLAlchemy 2 engine, sessions as units of work, Alembic upgrades."""

from __future__ import annotations

import fcntl
import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from tenure.errors import ConfigError, TenureError

T = TypeVar("T")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class SqliteWriteLock:
    """One writer at a time per SQLite file: a thread lock inside the process, then an flock on
    a sidecar file across processes (`tenure serve --workers N`, the worker, the CLI).

    SQLite serialises commits but not a unit of work's read-then-write (the driver opens its
    transaction at the first write): two processes could both read "2 sign-ups so far" and both
    admit a third. Holding this lock for the whole unit makes those checks exact everywhere.
    The file is opened per acquisition: an fd inherited across fork would share the lock.
    """

    def __init__(self, path: str | None) -> None:
        self._thread = threading.Lock()
        self._path = None if path is None else Path(f"{path}.writelock")
        self._fd: int | None = None

    def __enter__(self) -> SqliteWriteLock:
        self._thread.acquire()
        if self._path is not None:
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._close()
                self._thread.release()
                raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self._close()
        self._thread.release()

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only fd on the file releases the flock
            self._fd = None


_SQLITE_LOCKS: dict[str, SqliteWriteLock] = {}


def _sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL, or None for an in-memory database."""
    path = url.split("///", 1)[-1] if "///" in url else ""
    return None if path in ("", ":memory:") or path.startswith("file::memory:") else path


class DriverMissing(ConfigError):
    """The database URL names a driver that is not installed (PostgreSQL needs an extra)."""

    def __init__(self, url: str, module: str) -> None:
        code = (
            "postgres_driver_missing" if url.startswith("postgres") else "database_driver_missing"
        )
        super().__init__(code, module=module, scheme=url.split(":", 1)[0])


class Base(DeclarativeBase):
    """Declarative base of every operational table."""

    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers and one writer work at once; FULL sync makes a commit durable before a 2xx.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # 64 MiB of page cache (the default is 2 MiB): bulk writes into million-row indexes (a
    # campaign audience entering) otherwise re-read the same index pages from disk.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL and process."""
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)
    except ModuleNotFoundError as exc:  # the URL's driver is an optional extra
        raise DriverMissing(url, exc.name or str(exc)) from None


class Rejected(Exception):
    """Raised from a unit of work when a rule said no after recording why: what the work wrote
    (the refusal, an audit row) commits, then `error` is raised to the caller."""

    def __init__(self, error: TenureError) -> None:
        super().__init__(error.code)
        self.error = error


# PostgreSQL's "try again" answers: serialization_failure and deadlock_detected.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
WRITE_ATTEMPTS = 3


def _retryable(error: DBAPIError) -> bool:
    """A unique-key race (a parallel writer inserted the same row first) or a serialisation
    failure: running the whole unit again finds the other writer's row and answers from it."""
    if isinstance(error, IntegrityError):
        return True
    return getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


class Database:
    """The operational store: units of work and migrations.

    Application code reads and writes through `read(work)` and `write(work)`; `work` gets a
    session and never commits. `session()` is the raw session under both, for tests and tools.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = get_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer: queueing in-process beats its sleeping busy handler by far.
        self._write_lock: AbstractContextManager[Any] = (
            _SQLITE_LOCKS.setdefault(url, SqliteWriteLock(_sqlite_file(url)))
            if url.startswith("sqlite")
            else nullcontext()
        )

    def write(self, work: Callable[[Session], T], attempts: int = WRITE_ATTEMPTS) -> T:
        """Run `work` as one committed transaction and return what it returns.

        SQLite: the writer lock serialises units of work across threads and processes, so a
        unit's read-then-write checks are exact; PostgreSQL: the work locks the rows it changes.
        A unique-key race or a serialisation failure rolls back and runs the whole unit again
        (idempotency keys make the second run find the first result). `Rejected` commits what
        the work recorded and then raises its error.
        """
        for attempt in range(attempts):
            refusal: TenureError | None = None
            try:
                with self._write_lock, self.session() as session:
                    try:
                        result = work(session)
                    except Rejected as rejected:
                        refusal = rejected.error
            except DBAPIError as error:
                if attempt == attempts - 1 or not _retryable(error):
                    raise
                continue
            if refusal is not None:
                raise refusal
            return result
        raise AssertionError("unreachable")

    def read(self, work: Callable[[Session], T]) -> T:
        """Run read-only `work` in a session of its own: nothing it does is committed (closing
        hands the connection back to the pool, which rolls its transaction back). Unlike a
        rollback, closing keeps the loaded attributes of the objects `work` returns readable."""
        session = self._sessions()
        try:
            return work(session)
        finally:
            session.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A raw session that commits when the block ends and rolls back if it raises; without
        the writer lock or retries (application code uses `read` and `write`)."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def upgrade(self) -> None:
        """Apply every Alembic migration not applied yet (domains branch from 0001: "heads")."""
        if self._at_heads():
            return  # every CLI command calls this: skip Alembic's environment when up to date
        from alembic import command

        command.upgrade(alembic_config(self.url), "heads")

    def _at_heads(self) -> bool:
        try:
            with self.engine.connect() as con:
                applied = {row[0] for row in con.exec_driver_sql(_VERSIONS_SQL)}
        except SQLAlchemyError:
            return False  # a new database: no version table yet
        return applied == script_heads()


_VERSIONS_SQL = "SELECT version_num FROM alembic_version"


@functools.cache
def script_heads() -> frozenset[str]:
    """The head revisions of the packaged migrations."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def alembic_config(url: str) -> Any:
    """An Alembic config pointing at the packaged migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent.parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
