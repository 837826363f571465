"""The Spark warehouse: Parquet tables in a directory, read through Ibis' PySpark backend."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from tenure.kit.time import utc_now
from tenure.storage.plausible import ROW_TIMES, VALUE_TIMES, TimeWindow, register
from tenure.storage.schemas import KEYS, TABLES
from tenure.storage.writers import Rows, conform


def _whole(data: Rows) -> pa.Table:
    return data.read_all() if isinstance(data, pa.RecordBatchReader) else data


@lru_cache(maxsize=4)
def get_spark(master: str, warehouse_dir: Path) -> SparkSession:
    """One Spark session per process and master, in UTC, quiet, with Arrow transfers."""
    spark = (
        SparkSession.builder.master(master)
        .appName("tenure")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.warehouse.dir", str(warehouse_dir / "_managed"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse_dir}")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_schema(table: str) -> T.StructType:
    """The Spark schema of a warehouse table."""
    fields = []
    for name, dtype in TABLES[table].items():
        if dtype.is_string():
            spark_type: T.DataType = T.StringType()
        elif dtype.is_timestamp():
            spark_type = T.TimestampType()
        elif dtype.is_decimal():
            spark_type = T.DecimalType(dtype.precision, dtype.scale)
        elif dtype.is_date():
            spark_type = T.DateType()
        elif dtype.is_int32():
            spark_type = T.IntegerType()
        elif dtype.is_int64():
            spark_type = T.LongType()
        else:
            raise TypeError(f"no Spark type for {dtype}")
        fields.append(T.StructField(name, spark_type, nullable=True))
    return T.StructType(fields)


def _table_path(root: Path, table: str) -> Path:
    return root / table


def _load(spark: SparkSession, root: Path, table: str) -> DataFrame | None:
    path = _table_path(root, table)
    if not path.exists():
        return None
    return spark.read.parquet(str(path))


def _plausible(table: str, frame: DataFrame, window: TimeWindow, now: datetime) -> DataFrame:
    """The rows (and values) of a table inside the window, as storage/plausible.py defines it."""
    lo, hi = window.bounds(now)
    if table in ROW_TIMES:
        column = F.col(ROW_TIMES[table])
        day_lo, day_hi = window.days(now)
        inside = (
            column.between(day_lo, day_hi) if ROW_TIMES[table] == "day" else column.between(lo, hi)
        )
        return frame.where(column.isNull() | inside)
    for name in VALUE_TIMES.get(table, ()):
        frame = frame.withColumn(name, F.when(F.col(name).between(lo, hi), F.col(name)))
    return frame


@contextmanager
def spark_reader(
    spark: SparkSession, root: Path, window: TimeWindow | None = None
) -> Iterator[BaseBackend]:
    """An Ibis PySpark connection whose tables are the warehouse's Parquet tables, restricted to
    the plausible times of `window` when one is given."""
    now = utc_now()
    for table in TABLES:
        frame = _load(spark, root, table)
        if frame is not None:
            if window is not None:
                frame = _plausible(table, frame, window, now)
            frame.createOrReplaceTempView(table)
    con = ibis.pyspark.connect(spark)
    if window is not None:
        register(con, window)
    yield con


class SparkWriter:
    """Rewrites whole Parquet tables; each table swap is atomic, a multi-table write is not."""

    def __init__(self, spark: SparkSession, root: Path) -> None:
        self.spark = spark
        self.root = root

    def _frame(self, table: str, data: Rows) -> DataFrame:
        if isinstance(data, pa.RecordBatchReader):
            data = data.read_all()
        return self.spark.createDataFrame(
            conform(table, data).to_pandas(), schema=spark_schema(table)
        )

    def _replace(self, table: str, frame: DataFrame) -> None:
        # Spark cannot overwrite a path it is reading from: write aside, then swap directories.
        path = _table_path(self.root, table)
        staging = path.with_name(f".{table}.{uuid.uuid4().hex}")
        frame.write.parquet(str(staging))
        old = path.with_name(f".{table}.old.{uuid.uuid4().hex}")
        if path.exists():
            path.rename(old)
        staging.rename(path)
        shutil.rmtree(old, ignore_errors=True)

    def _existing(self, table: str) -> DataFrame:
        frame = _load(self.spark, self.root, table)
        return frame if frame is not None else self._frame(table, pa.table({}))

    def create_missing_tables(self) -> None:
        """Create the tables of schemas.TABLES that do not exist."""
        self.root.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            if not _table_path(self.root, table).exists():
                self._replace(table, self._frame(table, pa.table({})))

    def upsert(self, table: str, data: Rows, key: tuple[str, ...] | None = None) -> int:
        """Replace rows whose key appears in `data`, then insert `data`."""
        data = _whole(data)
        if data.num_rows == 0:
            return 0
        key = key or KEYS[table]
        new = self._frame(table, data)
        kept = self._existing(table).join(new.select(*key).distinct(), list(key), "left_anti")
        self._replace(table, kept.unionByName(new).localCheckpoint())
        return data.num_rows

    def insert_missing(self, table: str, data: Rows) -> int:
        """Insert only the rows whose key is not present yet; returns how many."""
        data = _whole(data)
        if data.num_rows == 0:
            return 0
        key = list(KEYS[table])
        existing = self._existing(table)
        new = (
            self._frame(table, data)
            .dropDuplicates(key)
            .join(existing.select(*key), key, "left_anti")
        )
        new = new.localCheckpoint()
        added = new.count()
        self._replace(table, existing.unionByName(new).localCheckpoint())
        return added

    def merge(self, table: str, data: Rows) -> int:
        """Merge rows by key: earliest first_seen, newer non-null fields (JSON replaced whole)."""
        data = _whole(data)
        if data.num_rows == 0:
            return 0
        key = list(KEYS[table])
        new = self._frame(table, data).dropDuplicates(key).alias("s")
        old = self._existing(table).alias("u")
        cols = []
        for col in TABLES[table].names:
            if col == "first_seen":
                cols.append(F.least(F.col("s.first_seen"), F.col("u.first_seen")).alias(col))
            else:
                cols.append(F.coalesce(F.col(f"s.{col}"), F.col(f"u.{col}")).alias(col))
        cond = [F.col(f"u.{k}") == F.col(f"s.{k}") for k in key]
        merged = old.join(new, cond, "full_outer").select(*cols)
        self._replace(table, merged.localCheckpoint())
        return data.num_rows

    def set_order_status(self, order_ids: list[str], status: str) -> int:
        """Set the status of existing orders."""
        orders = self._existing("orders")
        hit = F.col("order_id").isin(order_ids)
        updated = orders.withColumn("status", F.when(hit, F.lit(status)).otherwise(F.col("status")))
        self._replace("orders", updated.localCheckpoint())
        return len(order_ids)

    def resolve_identities(self) -> None:
        """Rewrite events and orders to the merged user id of every known alias."""
        ids = self._existing("identities").select(
            F.col("alias_id").alias("_alias"), F.col("user_id").alias("_merged")
        )
        for table in ("events", "orders"):
            frame = self._existing(table)
            joined = frame.join(ids, frame.user_id == ids._alias, "left")
            cols = [
                F.coalesce(F.col("_merged"), F.col("user_id")).alias(c) if c == "user_id" else c
                for c in TABLES[table].names
            ]
            frame = joined.select(*cols)
            if table == "events":
                joined = frame.join(ids, frame.anonymous_id == ids._alias, "left")
                cols = [
                    F.coalesce(F.col("user_id"), F.col("_merged")).alias(c) if c == "user_id" else c
                    for c in TABLES[table].names
                ]
                frame = joined.select(*cols)
            self._replace(table, frame.localCheckpoint())

    def order_amounts(self, order_ids: list[str]) -> dict[str, Decimal]:
        """The amounts of existing orders."""
        rows = self._existing("orders").where(F.col("order_id").isin(order_ids)).collect()
        return {r.order_id: Decimal(r.amount) for r in rows if r.amount is not None}

    def count(self, table: str) -> int:
        """Rows in a table."""
        return int(self._existing(table).count())

    def currencies(self, table: str) -> dict[str, int]:
        """Rows per currency of `orders` (paid and refunded) or `spend`."""
        frame = self._existing(table).where(F.col("currency").isNotNull())
        if table == "orders":
            frame = frame.where(F.col("status").isin("paid", "refunded"))
        rows = frame.groupBy("currency").count().collect()
        return {str(r["currency"]): int(r["count"]) for r in rows}
