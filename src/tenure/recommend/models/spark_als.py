"""The personal model through Spark MLlib's ALS, so a shop that outgrows one machine trains on its
cluster: the same implicit-feedback factorisation as `factors.fit_factors` (Hu, Koren & Volinsky
2008, "Collaborative Filtering for Implicit Feedback Datasets", eq. 3), solved by
`pyspark.ml.recommendation.ALS` on the warehouse's Spark session.

Two differences from implicit's ALS, and how they are matched:

- Confidence. implicit takes the matrix values as the confidence itself, c = alpha·log(1 + s)
  (`factors.confidence`). MLlib takes ratings r and forms c = 1 + alpha·|r| (HKV eq. 2), so the
  ratings sent are r = log(1 + s) with MLlib's alpha = params.alpha: c = 1 + alpha·log(1 + s),
  the same up to the 1 that HKV's paper adds.
- Regularisation. implicit penalises every user and item vector by the same λ. MLlib follows
  ALS-WR (Zhou et al. 2008, "Large-scale Parallel Collaborative Filtering for the Netflix
  Prize", eq. 5): a user's penalty is regParam·n_u, n_u the items that user has a rating for
  (and likewise n_i per item). Passing λ through unchanged would penalise a typical user n_u
  times harder than implicit does, and heavy users and popular items far more. `reg_param`
  divides λ by the mean number of ratings per user, so a typical user gets implicit's penalty;
  heavier users and popular items are shrunk more, lighter ones less, which is ALS-WR's intent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from tenure.errors import ConfigError
from tenure.recommend.models.factors import FactorParams, Factors

if TYPE_CHECKING:
    from ibis.backends import BaseBackend
    from pyspark.sql import DataFrame, SparkSession

    from tenure.recommend.train import FactorFitter

log = logging.getLogger(__name__)

ALGORITHM = "spark-als"
# Ratings per Spark DataFrame built on the driver: bounds the pandas and Arrow copies held in
# Python at once (12 bytes a rating in pandas, about as much again in Arrow) to some 100 MB.
CHUNK_RATINGS = 4_000_000
_ARROW = "spark.sql.execution.arrow.pyspark.enabled"
# Inside spark.sql.warehouse.dir; Spark's catalog ignores folders that are not tables.
CHECKPOINTS = "_checkpoints"


def session_of(con: BaseBackend) -> SparkSession:
    """The SparkSession behind an Ibis PySpark connection (the warehouse's reader).

    Ibis keeps it as `_session`; there is no public accessor in Ibis 10–12."""
    from pyspark.sql import SparkSession

    session = getattr(con, "_session", None)
    if not isinstance(session, SparkSession):
        raise ConfigError(
            detail=f"personal model spark-als needs a Spark warehouse, not {con.name}"
        )
    return session


def reg_param(signal: sparse.csr_matrix, regularization: float) -> float:
    """MLlib's regParam that gives a user with the mean number of ratings implicit's penalty
    `regularization` (MLlib multiplies regParam by each user's and item's number of ratings)."""
    users = int(np.count_nonzero(np.diff(signal.indptr)))
    per_user = signal.nnz / users if users else 1.0
    return regularization / max(per_user, 1.0)


def _ratings_chunks(signal: sparse.csr_matrix, chunk: int) -> Iterator[pd.DataFrame]:
    """(user, item, rating = log(1 + signal)) for whole runs of users, about `chunk` at a time."""
    csr = signal.tocsr()
    csr.sum_duplicates()
    indptr = csr.indptr
    n_users = csr.shape[0]
    start = 0
    while start < n_users:
        # The last user whose ratings still fit the chunk; at least one user per chunk.
        stop = int(np.searchsorted(indptr, indptr[start] + chunk, side="right")) - 1
        stop = min(max(stop, start + 1), n_users)
        lo, hi = int(indptr[start]), int(indptr[stop])
        if hi > lo:
            counts = np.diff(indptr[start : stop + 1])
            yield pd.DataFrame(
                {
                    "user": np.repeat(np.arange(start, stop, dtype=np.int32), counts),
                    "item": csr.indices[lo:hi].astype(np.int32, copy=False),
                    "rating": np.log1p(csr.data[lo:hi]).astype(np.float32),
                }
            )
        start = stop


def ratings_frame(
    session: SparkSession, signal: sparse.csr_matrix, chunk: int = CHUNK_RATINGS
) -> DataFrame:
    """The signal's nonzeros as a Spark DataFrame, sent through Arrow (never as Python rows)."""
    from pyspark.sql import types as T

    # Without Arrow, createDataFrame(pandas) walks every row in Python. The warehouse's session
    # (storage/spark.get_spark) has it on; a session built elsewhere may not.
    if session.conf.get(_ARROW, "false") != "true":
        session.conf.set(_ARROW, "true")
    schema = T.StructType(
        [
            T.StructField("user", T.IntegerType(), nullable=False),
            T.StructField("item", T.IntegerType(), nullable=False),
            T.StructField("rating", T.FloatType(), nullable=False),
        ]
    )
    frames = [
        session.createDataFrame(part, schema=schema) for part in _ratings_chunks(signal, chunk)
    ]
    if not frames:
        return session.createDataFrame([], schema=schema)
    out = frames[0]
    for frame in frames[1:]:
        out = out.union(frame)
    return out


def dense_factors(frame: DataFrame, rows: int, rank: int) -> npt.NDArray[np.float32]:
    """MLlib's (id, features) factors as a rows × rank array by id; ids it has none for (an
    item nobody interacted with) keep a zero vector, which scores 0 for everyone."""
    from pyspark.sql import functions as F

    out = np.zeros((rows, rank), dtype=np.float32)
    # One column per dimension: Arrow then brings back plain float columns, where an array
    # column would come back as one Python object per row.
    wide = frame.select(
        F.col("id").alias("id"),
        *(F.col("features")[i].cast("float").alias(f"f{i}") for i in range(rank)),
    ).toPandas()
    if len(wide):
        ids = wide["id"].to_numpy(dtype=np.int64)
        out[ids] = wide[[f"f{i}" for i in range(rank)]].to_numpy(dtype=np.float32)
    return out


@contextmanager
def checkpoints(session: SparkSession) -> Iterator[None]:
    """A checkpoint directory for one fit, beside the managed tables, removed afterwards.

    ALS cuts its lineage every `checkpointInterval` (10) iterations only when the SparkContext
    has a checkpoint directory; without one every iteration lengthens the task graph, and
    deserialising a task overflowed the executor's stack at 15 iterations on Online Retail
    (1.9k users × 2.9k items, local[2]). ALS leaves its last checkpoint behind, one per fit,
    hence the removal. The warehouse directory is where Spark's executors already write, so on
    a cluster it is shared storage, as a checkpoint directory must be. A directory someone set
    on the context themselves is used as it is and left alone."""
    context = session.sparkContext
    current = context.getCheckpointDir()
    if current is not None and not _ours(current):
        yield
        return
    root = str(session.conf.get("spark.sql.warehouse.dir", "spark-warehouse")).rstrip("/")
    context.setCheckpointDir(f"{root}/{CHECKPOINTS}")  # Spark adds a random folder below
    try:
        yield
    finally:
        made = context.getCheckpointDir()
        if made is not None:
            _delete(session, made)


def _ours(directory: str) -> bool:
    """Whether a checkpoint directory is one `checkpoints` set (…/_checkpoints/<random>)."""
    parts = directory.rstrip("/").split("/")
    return len(parts) >= 2 and parts[-2] == CHECKPOINTS


def _delete(session: SparkSession, directory: str) -> None:
    """Remove a directory through Hadoop's FileSystem (a local path, HDFS or object storage);
    Spark creates it again when it next checkpoints."""
    context = session.sparkContext
    jvm = context._jvm
    if jvm is None:  # pragma: no cover - only under Spark Connect, which has no ALS checkpoints
        return
    path = jvm.org.apache.hadoop.fs.Path(directory)
    path.getFileSystem(context._jsc.hadoopConfiguration()).delete(path, True)


def fit_spark_als(
    session: SparkSession, signal: sparse.csr_matrix, params: FactorParams
) -> Factors:
    """Fit MLlib's implicit ALS on a users × items signal matrix (see the module docstring)."""
    from pyspark.ml.recommendation import ALS

    n_users, n_items = signal.shape
    if signal.nnz == 0:
        return Factors(
            ALGORITHM,
            np.zeros((n_users, params.factors), np.float32),
            np.zeros((n_items, params.factors), np.float32),
        )
    ratings = ratings_frame(session, signal)
    blocks = max(int(session.sparkContext.defaultParallelism), 1)
    settings: dict[str, Any] = {
        "implicitPrefs": True,
        "rank": params.factors,
        "maxIter": params.iterations,
        "regParam": reg_param(signal, params.regularization),
        "alpha": params.alpha,
        "seed": params.seed,
        "coldStartStrategy": "drop",
        "nonnegative": False,
        # One block of users and one of items per core, where MLlib's default is 10 whatever
        # the cluster: on a small one the extra blocks are only task overhead (half the time
        # on local[2]), on a large one 10 would leave cores idle.
        "numUserBlocks": blocks,
        "numItemBlocks": blocks,
        "userCol": "user",
        "itemCol": "item",
        "ratingCol": "rating",
    }
    log.info("spark-als: %d ratings, %s", signal.nnz, settings)
    with checkpoints(session):
        model = ALS(**settings).fit(ratings)
        # The factors stay cached on the executors until the model is garbage-collected
        # (Spark's ContextCleaner unpersists them then); collecting them is all we need.
        users = dense_factors(model.userFactors, n_users, params.factors)
        items = dense_factors(model.itemFactors, n_items, params.factors)
    return Factors(ALGORITHM, users, items)


def spark_fitter(con: BaseBackend) -> FactorFitter:
    """A FactorFitter (train.py) that fits on the Spark session behind `con`."""
    session = session_of(con)

    def fit(signal: sparse.csr_matrix, params: FactorParams) -> Factors:
        return fit_spark_als(session, signal, params)

    return fit
