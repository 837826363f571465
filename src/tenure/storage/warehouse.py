"""The analytics warehouse: Ibis over DuckDB (embedded default) or Spark, with locked access."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
from ibis.backends import BaseBackend

from tenure.config import Settings
from tenure.errors import ConfigError, TenureError
from tenure.kit.time import utc_now
from tenure.storage.locking import file_lock
from tenure.storage.plausible import TimeWindow, install_duckdb_views, register
from tenure.storage.writers import DuckDBWriter, WarehouseWriter

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOCK_WAIT_SECONDS = 600.0
WRITER_MEMORY = "6GB"


class WarehouseMissing(TenureError):
    """The warehouse has not been created yet."""

    code = "warehouse_missing"
    status = 503


class Warehouse:
    """Opens the warehouse for one operation at a time: `reader()` or `writer()`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.warehouse_url
        self.is_spark = settings.is_spark

    @property
    def path(self) -> Path:
        """The DuckDB file (embedded warehouse only)."""
        return Path(self.url)

    @property
    def lock_path(self) -> Path:
        """The lock file beside the DuckDB file."""
        return self.path.with_name(self.path.name + ".lock")

    @property
    def spark_dir(self) -> Path:
        """Where the Spark warehouse keeps its Parquet tables."""
        return (self.settings.home / "spark-warehouse").resolve()

    def init(self) -> None:
        """Create every missing table; safe to run again."""
        with self.writer() as writer:
            writer.create_missing_tables()

    @property
    def window(self) -> TimeWindow:
        """The plausible times (storage/plausible.py) readers restrict the data to."""
        return TimeWindow.from_settings(self.settings)

    def generation(self) -> tuple[int, ...]:
        """A token that changes whenever a writer commits (the database file and its write-ahead
        log, or the Spark tables' folders): what the console's page cache is keyed on."""
        if self.is_spark:
            root = self.spark_dir
            paths = [root, *root.iterdir()] if root.exists() else []
        else:
            paths = [self.path, self.path.with_name(self.path.name + ".wal")]
        token: list[int] = []
        for path in paths:
            try:
                found = path.stat()
            except FileNotFoundError:
                token += [0, 0]
                continue
            token += [found.st_mtime_ns, found.st_size]
        return tuple(token)

    @contextmanager
    def reader(self, raw: bool = False) -> Iterator[BaseBackend]:
        """An Ibis connection for reading, held only for the `with` block.

        Events, orders, spend and users are seen inside the window of plausible times;
        `raw=True` shows the stored rows as they are (for `tenure status`).
        """
        window = None if raw else self.window
        if self.is_spark:
            from tenure.storage.spark import spark_reader

            with spark_reader(self.spark_session(), self.spark_dir, window) as con:
                yield con
            return
        if not self.path.exists():
            raise WarehouseMissing(path=str(self.path))
        with file_lock(self.lock_path, exclusive=False, timeout=LOCK_WAIT_SECONDS):
            con = ibis.duckdb.connect(str(self.path), read_only=True)
            try:
                if window is not None:
                    install_duckdb_views(con.con, con.current_catalog, window, utc_now())
                    register(con, window)
                yield con
            finally:
                con.disconnect()

    @contextmanager
    def writer(self) -> Iterator[WarehouseWriter]:
        """A writer whose changes all commit at the end of the block, or none of them do."""
        if self.is_spark:
            from tenure.storage.spark import SparkWriter

            yield SparkWriter(self.spark_session(), self.spark_dir)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(self.lock_path, exclusive=True, timeout=LOCK_WAIT_SECONDS):
            con = ibis.duckdb.connect(str(self.path))
            # Large imports spill to disk instead of taking the machine's memory.
            spill = self.settings.home / "tmp"
            spill.mkdir(parents=True, exist_ok=True)
            con.con.execute(f"SET memory_limit = '{WRITER_MEMORY}'")
            con.con.execute(f"SET temp_directory = '{spill}'")
            con.con.execute("SET preserve_insertion_order = false")
            writer = DuckDBWriter(con.con, self.settings.zone, self.window)
            try:
                writer.begin()
                yield writer
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                con.disconnect()

    def spark_session(self) -> SparkSession:
        """The process's Spark session for this warehouse."""
        try:
            from tenure.storage.spark import get_spark
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigError(detail="install tenure[spark] to use a Spark warehouse") from exc
        master = "local[2]" if self.url == "spark" else self.url
        return get_spark(master, self.spark_dir)
