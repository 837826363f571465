"""Bought-together recovers the partners the simulator planted (truth/item_partners.parquet).

The simulator gives every item three partners (two of its own category, one of a complementary
category) and makes half of a basket's later lines a partner of its first product. A shop of
4,000 users and 250 items is simulated, its users, items and orders are imported into a DuckDB
warehouse, and `fit_together` runs on what `read_raw` + `encode` make of it.

A pair counts as true when either item is a planted partner of the other: co-purchase is
symmetric, so B's list rightly holds A when A's planted partner is B.

The personal model is checked against the other planted taste: each user's favourite category
(truth/users.parquet `favourite_category`), which most of their browsing and baskets come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import Mapping
from tenure.recommend.data import Interactions, encode, read_raw
from tenure.recommend.models.together import Together, fit_together
from tenure.recommend.models.topk import NONE
from tenure.simulate import SimulationConfig, simulate_shop
from tenure.simulate.arrow import item_partners_table
from tenure.simulate.catalog import build_catalog
from tenure.storage.warehouse import Warehouse

SHOP = SimulationConfig(users=4000, items=250, seed=5)
# Bought-together learns from orders only: events (most of an import's time) are left out.
IMPORTS = (
    ("users", "users.parquet"),
    ("items", "items.parquet"),
    ("orders", "order_lines.parquet"),
)
TOP = 3
MIN_BASKETS = 20
# Observed over seeds 1-8 of this shop (seed 5 is the one tested): top-3 precision 0.83-0.90
# against 0.06-0.18 for the bestsellers, 0.13-0.19 for random items of the same category and
# 0.02-0.04 for random items; learned partners from another category are planted ones in
# 0.80-0.88; items in 40+ baskets find 0.78-0.88 of their planted partners among all K.
PRECISION_FLOOR = 0.7
CROSS_CATEGORY_FLOOR = 0.6
RECALL_FLOOR = 0.65


@dataclass(frozen=True)
class Learned:
    """The simulated shop's truth as a matrix and what bought-together made of its orders."""

    out: Path
    x: Interactions
    together: Together
    true_pair: npt.NDArray[np.bool_]  # items × items, planted in either direction
    planted: npt.NDArray[np.bool_]  # items × items, item -> its planted partner
    baskets: npt.NDArray[np.float64]  # baskets holding each item

    @property
    def frequent(self) -> npt.NDArray[np.int64]:
        """Items in enough baskets for their pairs to be counted."""
        return np.flatnonzero(self.baskets >= MIN_BASKETS)

    def top(self, item: int) -> npt.NDArray[np.int32]:
        """An item's best learned partners."""
        row = self.together.partners[item, :TOP]
        return row[row != NONE]

    def precision(self, picks: dict[int, npt.NDArray[np.int64]]) -> float:
        """Mean share of true partners among each item's picks (an item without picks: 0)."""
        return float(
            np.mean([self.true_pair[i, p].mean() if p.size else 0.0 for i, p in picks.items()])
        )


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> Learned:
    root = tmp_path_factory.mktemp("simulated_truth")
    out = root / "sim"
    simulate_shop(SHOP, out)
    home = root / "home"
    home.mkdir()
    settings = Settings(home=home, inbox_flush_seconds=0)
    warehouse = Warehouse(settings)
    warehouse.init()
    for kind, name in IMPORTS:
        import_files(
            kind, [str(out / name)], settings=settings, warehouse=warehouse, mapping=Mapping()
        )
    with warehouse.reader() as con:
        x = encode(read_raw(con))
    truth = pd.read_parquet(out / "truth" / "item_partners.parquet")
    codes = pd.Index(x.catalogue.skus)
    n = x.catalogue.size
    planted = np.zeros((n, n), dtype=bool)
    item = codes.get_indexer(pd.Index(truth["sku"]))
    partner = codes.get_indexer(pd.Index(truth["partner_sku"]))
    planted[item, partner] = True
    return Learned(
        out=out,
        x=x,
        together=fit_together(x),
        true_pair=planted | planted.T,
        planted=planted,
        baskets=np.asarray(x.baskets.sum(axis=0), dtype=np.float64).ravel(),
    )


class TestPartnerTruthFile:
    def test_every_item_lists_its_catalogue_partners_once_with_kind_and_rank(self) -> None:
        catalog = build_catalog(SHOP)
        truth = item_partners_table(catalog).to_pandas()
        assert set(truth["sku"]) == set(catalog.skus)
        assert not truth.duplicated(["sku", "partner_sku"]).any()
        assert (truth["sku"] != truth["partner_sku"]).all()
        code = {s: i for i, s in enumerate(catalog.skus)}
        for row in truth.itertuples():
            item, partner = code[row.sku], code[row.partner_sku]
            assert catalog.partners[item, row.rank - 1] == partner
            assert row.rank - 1 == list(catalog.partners[item]).index(partner)
            same = catalog.category[item] == catalog.category[partner]
            assert row.kind == ("same_category" if same else "complement")
        assert set(truth.loc[truth["kind"] == "complement", "rank"]) == {3}
        assert (truth.groupby("sku").size() >= 2).all()

    def test_written_by_the_simulator_with_a_fixed_schema(self, learned: Learned) -> None:
        path = learned.out / "truth" / "item_partners.parquet"
        schema = pq.read_schema(path)
        assert [(f.name, f.type) for f in schema] == [
            ("sku", pa.string()),
            ("partner_sku", pa.string()),
            ("kind", pa.string()),
            ("rank", pa.int64()),
        ]
        assert pq.read_table(path).equals(item_partners_table(build_catalog(SHOP)))

    def test_same_seed_and_items_give_the_same_partners(self) -> None:
        again = item_partners_table(build_catalog(SimulationConfig(users=10, items=250, seed=5)))
        other = item_partners_table(build_catalog(SimulationConfig(users=10, items=250, seed=6)))
        assert item_partners_table(build_catalog(SHOP)).equals(again)
        assert not again.equals(other)


class TestTogetherRecoversPlantedPartners:
    def test_enough_items_have_enough_baskets_to_judge(self, learned: Learned) -> None:
        assert learned.frequent.size >= 80
        assert learned.together.baskets > 4000

    def test_top_partners_are_mostly_planted_ones(self, learned: Learned) -> None:
        picks = {int(i): learned.top(i).astype(np.int64) for i in learned.frequent}
        assert learned.precision(picks) >= PRECISION_FLOOR

    def test_top_partners_beat_random_popular_and_same_category_picks(
        self, learned: Learned
    ) -> None:
        rng = np.random.default_rng(0)
        n = learned.x.catalogue.size
        categories = learned.x.catalogue.categories
        bestsellers = np.argsort(-learned.baskets, kind="stable")
        learned_picks, random_picks, popular_picks, category_picks = {}, {}, {}, {}
        for item in (int(i) for i in learned.frequent):
            learned_picks[item] = learned.top(item).astype(np.int64)
            others = np.delete(np.arange(n), item)
            random_picks[item] = rng.choice(others, TOP, replace=False)
            popular_picks[item] = bestsellers[bestsellers != item][:TOP]
            same = others[categories[others] == categories[item]]
            category_picks[item] = rng.choice(same, min(TOP, same.size), replace=False)
        got = learned.precision(learned_picks)
        assert got >= 10 * learned.precision(random_picks)
        assert got >= 3 * learned.precision(popular_picks)
        assert got >= 3 * learned.precision(category_picks)

    def test_partners_from_another_category_are_planted_complements(self, learned: Learned) -> None:
        categories = learned.x.catalogue.categories
        hits = []
        for item in learned.frequent:
            top = learned.top(item)
            other = top[categories[top] != categories[item]]
            hits.extend(learned.true_pair[item, other].tolist())
        assert len(hits) >= 50
        assert np.mean(hits) >= CROSS_CATEGORY_FLOOR

    def test_most_planted_partners_of_busy_items_are_found(self, learned: Learned) -> None:
        busy = np.flatnonzero(learned.baskets >= 2 * MIN_BASKETS)
        partners = learned.together.partners
        found = [
            learned.planted[i, partners[i][partners[i] != NONE]].sum() / learned.planted[i].sum()
            for i in busy
        ]
        assert busy.size >= 30
        assert np.mean(found) >= RECALL_FLOOR


def test_personal_lists_lean_to_each_users_favourite_category(learned: Learned) -> None:
    """Among users with 3+ purchases, the ALS list's share of items in their favourite category
    is far above what the popularity list gives the same users (the category's base rate)."""
    from tenure.recommend.models.factors import FactorParams, fit_factors, rank_factors

    truth = pd.read_parquet(learned.out / "truth" / "users.parquet")
    favourite = truth.set_index("user_id")["favourite_category"]
    x = learned.x
    purchases = np.asarray(x.bought.sum(axis=1)).ravel()
    users = np.flatnonzero(purchases >= 3).astype(np.int32)
    assert users.size > 200
    factors = fit_factors(x.signal, "als", FactorParams(factors=32))
    inactive = np.flatnonzero(~x.catalogue.active).astype(np.int32)
    ids, _ = rank_factors(factors, users, x.excluded, inactive, 10)
    categories = x.catalogue.categories
    liked = np.array([favourite[str(x.users[u])] for u in users], dtype=object)
    personal = np.mean(
        [np.mean(categories[row[row != NONE]] == f) for row, f in zip(ids, liked, strict=True)]
    )
    popular = np.argsort(-np.asarray((x.bought > 0).sum(axis=0)).ravel())[:10]
    base = np.mean([np.mean(categories[popular] == f) for f in liked])
    # Seen for seed 5: 0.38 against 0.12 (users' own baskets: about FAVOURITE_SHARE of the
    # candidates come from the favourite category, and lines also follow partners and price).
    assert personal > 2.5 * base and personal > 0.3
