"""What the recommenders learn from: refunds, free lines, non-products, flags, events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tenure.recommend.data import Interactions, encode, exclusion, read_raw
from tests.recommend.builders import EXCLUDE, build_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Interactions:
    wh = build_shop(tmp_path_factory.mktemp("data"))
    with wh.reader() as con:
        return encode(read_raw(con), exclusion(EXCLUDE))


def _pairs(matrix, x: Interactions) -> dict[tuple[str, str], float]:  # type: ignore[no-untyped-def]
    coo = matrix.tocoo()
    return {
        (str(x.users[u]), str(x.catalogue.skus[i])): float(v)
        for u, i, v in zip(coo.row, coo.col, coo.data, strict=True)
    }


def test_the_catalogue_leaves_out_non_products_and_reads_the_flags(shop: Interactions) -> None:
    skus = list(shop.catalogue.skus)
    assert "POST" not in skus
    assert skus == sorted(skus, key=str.encode)
    flags = dict(zip(skus, shop.catalogue.active, strict=True))
    assert not flags["P1"] and not flags["K1"]  # stock 0, inactive
    assert flags["T1"] and flags["B1"]
    repeat = dict(zip(skus, shop.catalogue.repeatable, strict=True))
    assert repeat["B1"] and not repeat["T1"]


def test_purchases_count_orders_and_drop_returned_cancelled_and_free_lines(
    shop: Interactions,
) -> None:
    bought = _pairs(shop.bought, shop)
    assert bought[("u8", "B1")] == 2  # two orders
    assert ("u6", "C2") not in bought  # given back in full
    assert ("u7", "T2") not in bought  # cancelled
    assert ("u1", "G1") not in bought  # price 0: a gift with purchase
    assert all(sku != "POST" for _, sku in bought)
    assert "u7" not in set(shop.users)  # nothing of theirs counts


def test_views_and_carts_add_to_the_signal_by_sku_or_product_id(shop: Interactions) -> None:
    signal = _pairs(shop.signal, shop)
    assert signal[("u9", "T2")] == pytest.approx(1.0)  # a view
    assert signal[("u9", "C2")] == pytest.approx(3.0)  # a cart, named by product_id
    assert ("u1", "T2") not in signal  # "Order Completed" is not a product event
    assert signal[("u8", "B1")] == pytest.approx(12.0)  # two orders at 6


def test_baskets_include_guests_and_first_orders_feed_the_starter_list(
    shop: Interactions,
) -> None:
    # Paid orders with a product line: o1-o9, o11, o12 and the guest's o4 (r9 and o10 are not).
    assert shop.baskets.shape[0] == 11
    t1 = list(shop.catalogue.skus).index("T1")
    assert shop.baskets[:, t1].sum() == 5
    starters = [str(shop.catalogue.skus[i]) for i in shop.first_items]
    assert starters.count("T1") == 4  # u1, u2, u3, u4 started with T1
    assert shop.country[list(shop.users).index("u3")] == "FR"
    assert np.all(shop.events["kind"].isin([0, 1, 2]))


def test_an_empty_warehouse_encodes_to_nothing(tmp_path: Path) -> None:
    from tenure.config import Settings
    from tenure.storage.warehouse import Warehouse

    wh = Warehouse(Settings(home=tmp_path))
    wh.init()
    with wh.reader() as con:
        x = encode(read_raw(con))
    assert x.empty and x.users.size == 0
