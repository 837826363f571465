"""Shared fixtures: settings on a temp home, SQLite and PostgreSQL databases, one Spark session."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tenure.config import Settings
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get(
    "TENURE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The shared real datasets."""
    return Path(os.environ.get("TENURE_DATA_DIR", ROOT.parent / "shared" / "data")).resolve()


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere: CI must never silently skip an engine."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def real_data() -> Path:
    """The real datasets folder."""
    path = data_dir()
    if not (path / "online_retail").is_dir():
        unavailable(f"real datasets not found at {path} (set TENURE_DATA_DIR)")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty TENURE_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def _pg_available() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL unreachable at {PG_URL}: {exc}".splitlines()[0]


@contextmanager
def fresh_pg_schema(prefix: str = "t") -> Iterator[str]:
    """A PostgreSQL URL on a fresh schema, dropped afterwards (fails in CI, skips elsewhere)."""
    problem = _pg_available()
    if problem:
        unavailable(problem)
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    raw = PG_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(raw, autocommit=True) as con:
        con.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        from tenure.storage.database import get_engine

        get_engine(url).dispose()
        with psycopg.connect(raw, autocommit=True) as con:
            con.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL on a fresh schema, dropped afterwards."""
    with fresh_pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, home: Path) -> str:
    """Each operational test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{home / 'tenure.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def settings(home: Path, database_url: str) -> Settings:
    """Settings on a temp home with the parametrised database."""
    return Settings(home=home, database_url=database_url, inbox_flush_seconds=0)


@pytest.fixture
def duck_settings(home: Path) -> Settings:
    """Settings on a temp home with the embedded stores only."""
    return Settings(home=home, inbox_flush_seconds=0)


@pytest.fixture
def warehouse(duck_settings: Settings) -> Warehouse:
    """An initialised DuckDB warehouse."""
    wh = Warehouse(duck_settings)
    wh.init()
    return wh


@pytest.fixture
def database(settings: Settings) -> Database:
    """A migrated operational database."""
    db = Database(settings.sqlalchemy_url)
    db.upgrade()
    return db


@pytest.fixture(scope="session")
def spark_session():  # type: ignore[no-untyped-def]
    """One local Spark session for the whole run (starting one costs seconds)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        unavailable("pyspark is not installed")
    if shutil.which("java") is None:
        unavailable("java is not installed (Spark needs it)")
    try:
        subprocess.run(["java", "-version"], check=True, capture_output=True, timeout=30)
    except (subprocess.SubprocessError, OSError) as exc:
        unavailable(f"java does not run: {exc}")
    from tenure.storage.spark import get_spark

    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"tenure-spark-{uuid.uuid4().hex[:8]}"
    return get_spark("local[2]", tmp)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`), every Spark test runs in one worker: one JVM, not two."""
    for item in items:
        if "spark_session" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("spark"))
