"""A tiny catalogue and its paid baskets in the warehouse, and a recommendation model on them.

Two families that are bought together (tea things; office things), so a model trained on them
has clear partners: `MUG` goes with `TEA` and `POT`, `PEN` with `INK`. Used by the campaign,
checkout and console tests of the recommendation integrations.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from tenure.config import Settings
from tenure.recommend.service import train_and_store
from tenure.storage.warehouse import Warehouse

ITEMS = {
    "MUG": ("Tea mug", "kitchen"),
    "TEA": ("Green tea", "pantry"),
    "POT": ("Teapot", "kitchen"),
    "BAG": ("Tote bag", "bags"),
    "PEN": ("Fountain pen", "office"),
    "INK": ("Ink bottle", "office"),
}
BASKETS = [
    ("b1", ["MUG", "TEA", "POT"]),
    ("b2", ["MUG", "TEA"]),
    ("b3", ["TEA", "POT"]),
    ("b4", ["PEN", "INK"]),
    ("b5", ["PEN", "INK", "BAG"]),
    ("b6", ["MUG", "POT"]),
    ("b7", ["MUG", "TEA", "POT"]),
    ("b8", ["PEN", "BAG"]),
]
START = pd.Timestamp("2026-05-01", tz="UTC")


def add_baskets(
    warehouse: Warehouse,
    baskets: list[tuple[str, list[str]]] = BASKETS,
    items: dict[str, tuple[str, str]] = ITEMS,
) -> None:
    """The items, and one paid order a day from START per (user_id, SKUs) basket."""
    catalogue = pd.DataFrame(
        [
            {"sku": sku, "name": name, "category": category, "price": 5.0, "attributes": "{}"}
            for sku, (name, category) in items.items()
        ]
    )
    orders = pd.DataFrame({
        "order_id": [f"rec-{i}" for i in range(len(baskets))],
        "user_id": [user for user, _ in baskets],
        "ts": [START + pd.Timedelta(days=i) for i in range(len(baskets))],
        "status": "paid", "amount": 10.0, "currency": "CNY", "channel": "web",
    })  # fmt: skip
    lines: list[dict[str, Any]] = [
        {"order_id": f"rec-{i}", "line_no": j + 1, "sku": sku, "quantity": 1,
         "unit_price": 5.0, "line_total": 5.0, "category": items[sku][1]}
        for i, (_, skus) in enumerate(baskets)
        for j, sku in enumerate(skus)
    ]  # fmt: skip
    with warehouse.writer() as writer:
        writer.upsert("items", pa.Table.from_pandas(catalogue, preserve_index=False))
        writer.upsert("orders", pa.Table.from_pandas(orders, preserve_index=False))
        writer.upsert(
            "order_lines", pa.Table.from_pandas(pd.DataFrame(lines), preserve_index=False)
        )


def trained(settings: Settings, warehouse: Warehouse) -> str:
    """Train a recommendation model on the warehouse under `settings.home`; its version."""
    return str(train_and_store(settings, warehouse)["version"])
