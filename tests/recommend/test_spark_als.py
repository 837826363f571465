"""The personal model through Spark MLlib's ALS: as good as implicit's on planted groups, and
trained end to end from a Spark warehouse into a served version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import ibis
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pytest
from scipy import sparse

from tenure.config import Settings
from tenure.errors import ConfigError
from tenure.recommend import service
from tenure.recommend.data import encode, read_raw
from tenure.recommend.models.factors import FactorParams, Factors, fit_factors, rank_factors
from tenure.recommend.models.spark_als import (
    CHECKPOINTS,
    _ratings_chunks,
    fit_spark_als,
    ratings_frame,
    reg_param,
    spark_fitter,
)
from tenure.recommend.train import TrainConfig
from tenure.storage.warehouse import Warehouse

pytestmark = pytest.mark.spark

# Small and few iterations: Spark's per-job overhead, not the data, is what a test waits for.
PARAMS = FactorParams(factors=8, iterations=8, seed=7)
GROUPS, ITEMS_PER_GROUP, USERS_PER_GROUP = 3, 20, 50
BOUGHT, HELD_OUT, STRAYS = 8, 2, 1


@dataclass(frozen=True)
class Planted:
    """Training signal, each user's held-out items, and an item no one touched (the last)."""

    signal: sparse.csr_matrix
    held_out: sparse.csr_matrix

    @property
    def untouched(self) -> int:
        return int(self.signal.shape[1]) - 1


def planted_groups(seed: int = 0) -> Planted:
    """Users in three groups, each buying mostly from its own group of items (a Zipf-like
    popularity inside the group, one stray item from another group), with two of the user's own
    group items held out. A model that finds the groups recalls the held-out items; popularity,
    blind to groups, recalls about a fifth of them."""
    rng = np.random.default_rng(seed)
    n_items = GROUPS * ITEMS_PER_GROUP + 1  # plus one item nobody interacted with
    weight = 1.0 / np.arange(1, ITEMS_PER_GROUP + 1) ** 0.7
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    held_rows: list[int] = []
    held_cols: list[int] = []
    user = 0
    for group in range(GROUPS):
        others = [i for i in range(GROUPS * ITEMS_PER_GROUP) if i // ITEMS_PER_GROUP != group]
        for _ in range(USERS_PER_GROUP):
            own = group * ITEMS_PER_GROUP + rng.choice(
                ITEMS_PER_GROUP, BOUGHT + HELD_OUT, replace=False, p=weight / weight.sum()
            )
            stray = rng.choice(others, STRAYS, replace=False)
            for item in [*own[:BOUGHT], *stray]:
                rows.append(user)
                cols.append(int(item))
                # One or two orders (6 each, data.ORDER_WEIGHT) and a few views.
                values.append(6.0 * rng.integers(1, 3) + rng.integers(0, 3))
            held_rows += [user] * HELD_OUT
            held_cols += [int(i) for i in own[BOUGHT:]]
            user += 1
    shape = (user, n_items)
    signal = sparse.csr_matrix((np.array(values, np.float32), (rows, cols)), shape=shape)
    held = sparse.csr_matrix((np.ones(len(held_rows), np.float32), (held_rows, held_cols)), shape)
    return Planted(signal, held)


def factor_top(factors: Factors, signal: sparse.csr_matrix, k: int) -> npt.NDArray[np.int32]:
    users = np.arange(signal.shape[0], dtype=np.int32)
    seen = signal.copy()
    seen.data[:] = 1.0
    ids, _ = rank_factors(factors, users, seen, np.array([], np.int32), k)
    return ids


def recall(top: npt.NDArray[np.int32], held: sparse.csr_matrix) -> float:
    """Share of the held-out items that made the users' lists."""
    hits = sum(np.isin(held[u].indices, top[u]).sum() for u in range(held.shape[0]))
    return float(hits) / held.nnz


def popularity_top(signal: sparse.csr_matrix, k: int) -> npt.NDArray[np.int32]:
    """The k most bought items each user has not bought: the baseline to beat."""
    counts = np.asarray((signal > 0).sum(axis=0)).ravel()
    order = np.argsort(-counts, kind="stable")
    top = np.empty((signal.shape[0], k), np.int32)
    for u in range(signal.shape[0]):
        top[u] = order[~np.isin(order, signal[u].indices)][:k]
    return top


@pytest.fixture(scope="module")
def planted() -> Planted:
    return planted_groups()


@pytest.fixture(scope="module")
def spark_factors(planted: Planted, spark_session: Any) -> Factors:
    return fit_spark_als(spark_session, planted.signal, PARAMS)


class TestPlantedGroups:
    def test_spark_recalls_held_out_items_about_as_well_as_implicit(
        self, planted: Planted, spark_factors: Factors
    ) -> None:
        popular = recall(popularity_top(planted.signal, 10), planted.held_out)
        implicit = recall(
            factor_top(fit_factors(planted.signal, "als", PARAMS), planted.signal, 10),
            planted.held_out,
        )
        spark = recall(factor_top(spark_factors, planted.signal, 10), planted.held_out)
        # Seen (seed 0): popularity 0.22, implicit 0.72, Spark 0.72.
        assert popular < 0.35
        assert implicit > popular + 0.25
        assert spark > popular + 0.25
        assert spark > implicit - 0.1

    def test_factors_are_float32_by_code_with_zeros_for_an_untouched_item(
        self, planted: Planted, spark_factors: Factors
    ) -> None:
        assert spark_factors.algorithm == "spark-als"
        assert spark_factors.users.shape == (planted.signal.shape[0], PARAMS.factors)
        assert spark_factors.items.shape == (planted.signal.shape[1], PARAMS.factors)
        assert spark_factors.users.dtype == spark_factors.items.dtype == np.float32
        assert not spark_factors.items[planted.untouched].any()
        assert np.abs(spark_factors.items[: planted.untouched]).sum(axis=1).min() > 0


class TestRatings:
    def test_ratings_are_log1p_of_the_signal_for_every_nonzero(self, spark_session: Any) -> None:
        signal = sparse.csr_matrix(
            np.array([[6.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 12.0, 3.0]], np.float32)
        )
        rows = ratings_frame(spark_session, signal, chunk=2).orderBy("user", "item").collect()
        got = [(r["user"], r["item"], round(r["rating"], 5)) for r in rows]
        expected = [(0, 0, 6.0), (0, 2, 1.0), (2, 1, 12.0), (2, 2, 3.0)]
        assert got == [(u, i, round(float(np.log1p(np.float32(v))), 5)) for u, i, v in expected]

    def test_chunks_keep_each_user_whole_and_cover_every_rating(self) -> None:
        signal = planted_groups().signal
        parts = list(_ratings_chunks(signal, chunk=100))
        assert len(parts) > 1
        users = [set(p["user"]) for p in parts]
        assert all(a.isdisjoint(b) for i, a in enumerate(users) for b in users[i + 1 :])
        assert sum(len(p) for p in parts) == signal.nnz
        assert all(p.dtypes.astype(str).tolist() == ["int32", "int32", "float32"] for p in parts)


class TestRegularisation:
    def test_a_user_with_the_mean_number_of_ratings_gets_implicits_penalty(self) -> None:
        # 2 users with ratings (4 and 2: mean 3), one without: regParam·3 = 0.06.
        signal = sparse.csr_matrix(np.array([[1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 0, 0]], np.float32))
        assert reg_param(signal, 0.06) == pytest.approx(0.02)


class TestSession:
    def test_a_duckdb_warehouse_cannot_train_spark_als(self) -> None:
        with pytest.raises(ConfigError):
            spark_fitter(ibis.duckdb.connect())

    def test_a_fit_past_the_checkpoint_interval_leaves_no_checkpoint_behind(
        self, spark_session: Any
    ) -> None:
        # 11 iterations: ALS checkpoints at the 10th (without it, long fits overflow the stack).
        fit_spark_als(
            spark_session, planted_groups().signal, FactorParams(factors=2, iterations=11)
        )
        managed = urlparse(str(spark_session.conf.get("spark.sql.warehouse.dir"))).path
        folder = Path(managed) / CHECKPOINTS
        assert folder.is_dir()
        assert [p.name for p in folder.rglob("*")] == []


# A small shop: three groups of customers buying from three categories.
START = datetime(2024, 3, 1, 10, tzinfo=UTC)
CATEGORIES = ("tea", "cups", "pots")
SKUS_PER_CATEGORY, CUSTOMERS_PER_CATEGORY, ORDERS_PER_CUSTOMER = 8, 8, 3


def shop_tables(seed: int = 0) -> dict[str, pa.Table]:
    """Orders of one or two lines from the customer's own category, with views of the same."""
    rng = np.random.default_rng(seed)
    orders: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for c, category in enumerate(CATEGORIES):
        skus = [f"{category}-{i}" for i in range(SKUS_PER_CATEGORY)]
        for n in range(CUSTOMERS_PER_CATEGORY):
            user = f"u{c * CUSTOMERS_PER_CATEGORY + n}"
            for o in range(ORDERS_PER_CUSTOMER):
                order_id = f"{user}-o{o}"
                ts = START + timedelta(days=int(rng.integers(0, 20)), minutes=o)
                orders.append(
                    {"order_id": order_id, "user_id": user, "ts": ts, "status": "paid",
                     "amount": 10.0, "currency": "EUR", "channel": "web"}
                )  # fmt: skip
                picked = rng.choice(skus, int(rng.integers(1, 3)), replace=False)
                for line_no, sku in enumerate(picked, 1):
                    lines.append(
                        {"order_id": order_id, "line_no": line_no, "sku": str(sku),
                         "quantity": 1, "unit_price": 5.0, "line_total": 5.0,
                         "category": category}
                    )  # fmt: skip
            viewed = str(rng.choice(skus))
            events.append(
                {"event_id": f"{user}-e", "type": "track", "user_id": user,
                 "name": "Product Viewed", "ts": START + timedelta(days=21),
                 "properties": f'{{"sku": "{viewed}"}}', "received_at": START}
            )  # fmt: skip
    items = [
        {"sku": f"{category}-{i}", "name": f"{category.title()} {i}", "category": category,
         "price": 5.0, "attributes": "{}"}
        for category in CATEGORIES
        for i in range(SKUS_PER_CATEGORY)
    ]  # fmt: skip
    users = [
        {"user_id": f"u{u}", "first_seen": START, "country": "DE", "attributes": "{}"}
        for u in range(len(CATEGORIES) * CUSTOMERS_PER_CATEGORY)
    ]
    frames = {"orders": orders, "order_lines": lines, "events": events, "items": items,
              "users": users}  # fmt: skip
    return {
        name: pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)
        for name, rows in frames.items()
    }


def shop(home: Path, warehouse: str | None = "spark") -> tuple[Settings, Warehouse]:
    """The shop in a Spark warehouse (or DuckDB's, with warehouse=None)."""
    settings = Settings(home=home, warehouse=warehouse, inbox_flush_seconds=0)
    warehouse = Warehouse(settings)
    warehouse.init()
    with warehouse.writer() as writer:
        for name, rows in shop_tables().items():
            writer.upsert(name, rows)
    return settings, warehouse


def bought_by(user: str) -> set[str]:
    tables = shop_tables()
    orders = tables["orders"].to_pandas()
    lines = tables["order_lines"].to_pandas()
    return set(lines[lines.order_id.isin(orders[orders.user_id == user].order_id)].sku)


@pytest.fixture(scope="module")
def spark_shop(
    tmp_path_factory: pytest.TempPathFactory, spark_session: Any
) -> tuple[Settings, Warehouse]:
    """One Spark warehouse for the module: building it is most of these tests' time."""
    return shop(tmp_path_factory.mktemp("spark-shop"))


class TestTrainOnSparkWarehouse:
    def test_spark_als_version_is_stored_and_answers_a_known_user(
        self, spark_shop: tuple[Settings, Warehouse]
    ) -> None:
        settings, warehouse = spark_shop
        config = TrainConfig(
            personal="spark-als", k=10, params=FactorParams(factors=4, iterations=5)
        )
        summary = service.train_and_store(settings, warehouse, config)
        assert summary["config"]["personal"] == "spark-als"
        assert summary["users"] == len(CATEGORIES) * CUSTOMERS_PER_CATEGORY

        answer = service.for_user(settings, "u0", n=5)
        assert answer["model_version"] == summary["version"]
        assert answer["known_user"] is True
        assert len(answer["items"]) == 5
        first = answer["items"][0]
        assert first["reason"]["code"] in ("for_you", "similar_to")
        assert first["reason"]["text"]
        # u0 buys tea only: its own list starts in tea, with what it has not bought yet.
        assert first["category"] == "tea"
        assert first["sku"] not in bought_by("u0")

    def test_spark_reads_the_same_interactions_as_duckdb(
        self, tmp_path: Path, spark_shop: tuple[Settings, Warehouse]
    ) -> None:
        read = {}
        for name, warehouse in (("duck", shop(tmp_path, None)[1]), ("spark", spark_shop[1])):
            with warehouse.reader() as con:
                read[name] = encode(read_raw(con))
        duck, spark = read["duck"], read["spark"]
        # User codes follow the order rows come back in, which differs between engines.
        d, s = np.argsort(duck.users), np.argsort(spark.users)
        assert duck.users[d].tolist() == spark.users[s].tolist()
        assert duck.catalogue.skus.tolist() == spark.catalogue.skus.tolist()
        # Views count too: the events' JSON properties were read on both.
        assert duck.signal.sum() > 6 * duck.bought.sum()
        assert (duck.signal[d] != spark.signal[s]).nnz == 0
        assert (duck.bought[d] != spark.bought[s]).nnz == 0
        assert duck.baskets.sum() == spark.baskets.sum()
