"""A small hand-made shop whose pairs, exclusions and lists are worked out by hand.

Items: tea T1 T2, cups C1 C2, pot P1 (out of stock), kettle K1 (inactive), coffee beans B1
(consumable), postage POST (not a product), a free gift G1 (price 0 lines).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from tenure.config import Settings
from tenure.storage.warehouse import Warehouse

ITEMS = [
    ("T1", "Green tea", "tea", {}),
    ("T2", "Black tea", "tea", {}),
    ("C1", "Cup white", "cups", {}),
    ("C2", "Cup blue", "cups", {}),
    ("P1", "Tea pot", "pots", {"stock": 0}),
    ("K1", "Kettle", "pots", {"active": False}),
    ("B1", "Coffee beans", "coffee", {"consumable": True}),
    ("POST", "Postage", None, {}),
    ("G1", "Free sample", "gifts", {}),
    ("T1/L", "Green tea, large", "tea", {}),  # never sold; a slash in a SKU
]
PRICES = {
    "T1": 5,
    "T2": 6,
    "C1": 8,
    "C2": 9,
    "P1": 30,
    "K1": 40,
    "B1": 12,
    "POST": 4,
    "G1": 0,
    "T1/L": 9,
}

# (order_id, user_id, day, status, [(sku, quantity)])
ORDERS: list[tuple[str, str | None, str, str, list[tuple[str, int]]]] = [
    # T1 and C1 go together: in 4 of the 5 orders holding T1.
    ("o1", "u1", "2024-03-01", "paid", [("T1", 1), ("C1", 2), ("POST", 1), ("G1", 1)]),
    ("o2", "u2", "2024-03-02", "paid", [("T1", 1), ("C1", 1)]),
    ("o3", "u3", "2024-03-03", "paid", [("T1", 2), ("C1", 1), ("B1", 1)]),
    ("o4", None, "2024-03-04", "paid", [("T1", 1), ("C1", 1)]),  # a guest's basket counts
    ("o5", "u4", "2024-03-05", "paid", [("T1", 1), ("T2", 1)]),
    ("o6", "u4", "2024-03-06", "paid", [("C2", 1), ("B1", 1)]),
    ("o7", "u5", "2024-03-07", "paid", [("T2", 1), ("C2", 1)]),
    ("o8", "u5", "2024-03-08", "paid", [("P1", 1), ("K1", 1)]),
    ("o9", "u6", "2024-03-09", "paid", [("C2", 1)]),
    ("r9", "u6", "2024-03-12", "refunded", [("C2", -1)]),  # u6 gave C2 back
    ("o10", "u7", "2024-03-10", "cancelled", [("T2", 1)]),  # cancelled: ignored
    ("o11", "u8", "2024-03-11", "paid", [("B1", 1), ("T2", 1)]),
    ("o12", "u8", "2024-03-20", "paid", [("B1", 2)]),
]
# (event_id, user_id, day, name, properties)
EVENTS = [
    ("e1", "u9", "2024-03-15", "Product Viewed", {"sku": "T2"}),
    ("e2", "u9", "2024-03-15", "Product Added", {"product_id": "C2"}),
    ("e3", "u9", "2024-03-15", "Product Viewed", {"sku": "POST"}),  # not a product
    ("e4", "u1", "2024-03-16", "Order Completed", {"sku": "T2"}),  # not a product event
]
COUNTRIES = {"u1": "DE", "u2": "DE", "u3": "FR", "u4": "DE", "u5": "FR", "u6": "DE", "u8": "DE"}
EXCLUDE = "POST"


def _ts(day: str) -> pd.Timestamp:
    return pd.Timestamp(day + " 10:00", tz="UTC")


def shop_tables() -> dict[str, pa.Table]:
    orders = pd.DataFrame(
        {
            "order_id": [o[0] for o in ORDERS],
            "user_id": [o[1] for o in ORDERS],
            "ts": [_ts(o[2]) for o in ORDERS],
            "status": [o[3] for o in ORDERS],
            "amount": [float(sum(PRICES[s] * q for s, q in o[4])) for o in ORDERS],
            "currency": "EUR",
        }
    )
    lines: list[dict[str, Any]] = []
    category = {i[0]: i[2] for i in ITEMS}
    for order_id, _, _, _, basket in ORDERS:
        for n, (sku, quantity) in enumerate(basket, 1):
            lines.append(
                {
                    "order_id": order_id,
                    "line_no": n,
                    "sku": sku,
                    "quantity": quantity,
                    "unit_price": float(PRICES[sku]),
                    "line_total": float(PRICES[sku] * quantity),
                    "category": category[sku],
                }
            )
    items = pd.DataFrame(
        {
            "sku": [i[0] for i in ITEMS],
            "name": [i[1] for i in ITEMS],
            "category": [i[2] for i in ITEMS],
            "price": [float(PRICES[i[0]]) for i in ITEMS],
            "attributes": [json.dumps(i[3]) for i in ITEMS],
        }
    )
    events = pd.DataFrame(
        {
            "event_id": [e[0] for e in EVENTS],
            "type": "track",
            "user_id": [e[1] for e in EVENTS],
            "name": [e[3] for e in EVENTS],
            "ts": [_ts(e[2]) for e in EVENTS],
            "properties": [json.dumps(e[4]) for e in EVENTS],
            "received_at": [_ts(e[2]) for e in EVENTS],
        }
    )
    users = pd.DataFrame(
        {
            "user_id": list(COUNTRIES),
            "first_seen": _ts("2024-01-01"),
            "country": list(COUNTRIES.values()),
        }
    )
    return {
        "orders": pa.Table.from_pandas(orders, preserve_index=False),
        "order_lines": pa.Table.from_pandas(pd.DataFrame(lines), preserve_index=False),
        "items": pa.Table.from_pandas(items, preserve_index=False),
        "events": pa.Table.from_pandas(events, preserve_index=False),
        "users": pa.Table.from_pandas(users, preserve_index=False),
    }


def shop_settings(home: Path, **extra: Any) -> Settings:
    return Settings(home=home, inbox_flush_seconds=0, recommend_exclude_skus=EXCLUDE, **extra)


def build_shop(home: Path, warehouse: str | None = None) -> Warehouse:
    """A warehouse (DuckDB, or Spark with warehouse="spark") holding the shop."""
    wh = Warehouse(shop_settings(home, warehouse=warehouse))
    wh.init()
    with wh.writer() as writer:
        for name, rows in shop_tables().items():
            writer.upsert(name, rows)
    return wh
