"""A small hand-made shop whose RFM scores, stages and rule matches are worked out by hand."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa

from tenure.config import Settings
from tenure.storage.warehouse import Warehouse

AS_OF = date(2024, 3, 31)

# (order_id, user_id, local time, status, amount, category)
ORDERS = [
    ("o1", "u1", "2024-01-10 10:00", "paid", 100, "tea"),
    ("o2", "u1", "2024-02-10 10:00", "paid", 50, "cups"),
    ("o3", "u1", "2024-03-30 12:00", "paid", 70, "tea"),
    ("o4", "u2", "2024-03-25 10:00", "paid", 40, "cups"),
    ("o5", "u3", "2023-06-01 10:00", "paid", 30, "tea"),
    ("o6", "u3", "2024-03-20 10:00", "paid", 30, "tea"),
    ("o7", "u4", "2023-12-01 10:00", "paid", 200, "pots"),
    ("o8", "u4", "2023-12-15 10:00", "paid", 10, "cups"),
    ("o9", "u5", "2023-08-01 10:00", "paid", 15, "tea"),
    ("o10", "u6", "2024-01-05 10:00", "paid", 60, "pots"),
    ("o11", "u6", "2024-01-06 10:00", "paid", 60, "pots"),
    ("r11", "u6", "2024-01-20 10:00", "refunded", -60, "pots"),
    ("o12", "u7", "2023-10-01 10:00", "paid", 20, "cups"),
    ("o13", "u7", "2023-11-01 10:00", "paid", 20, "cups"),
    ("o14", "u7", "2023-12-01 10:00", "paid", 20, "cups"),
    ("o15", "u7", "2024-01-01 10:00", "paid", 20, "cups"),
    ("o16", "u7", "2024-02-01 10:00", "paid", 20, "cups"),
    ("o17", "u8", "2024-03-31 10:00", "paid", 5, "tea"),
    ("o18", None, "2024-03-31 11:00", "paid", 999, "tea"),  # a guest: never a customer
    ("o19", "u2", "2024-03-29 10:00", "cancelled", 80, "pots"),  # cancelled: ignored
]
# (event_id, user_id, local time, name)
EVENTS = [
    ("e1", "u1", "2024-03-30 09:00", "Product Added"),
    ("e2", "u1", "2024-03-10 09:00", "Product Viewed"),
    ("e3", "u1", "2024-03-20 09:00", "Product Viewed"),
    ("e4", "u1", "2024-03-29 09:00", "Product Viewed"),
    ("e5", "u2", "2024-03-28 10:00", "Product Added"),
    ("e6", "u8", "2024-03-31 09:00", "Product Viewed"),
    ("e7", "u3", "2024-02-01 09:00", "Product Viewed"),  # more than 30 days before AS_OF
    ("e8", "u3", "2024-03-31 20:00", "Product Added"),  # its 24 hours have not passed yet
]
USERS = [
    ("u1", "DE", "ads", {"plan": "gold"}),
    ("u2", "DE", "email", {"plan": "free"}),
    ("u3", "FR", "ads", {}),
    ("u4", "FR", None, {"plan": "gold"}),
    ("u5", "GB", "social", {}),
    ("u6", "GB", "ads", {}),
    ("u7", "DE", "email", {"plan": "gold"}),
    ("u8", "FR", "ads", {"beta": True}),
    ("p1", "DE", "ads", {"plan": "free"}),  # signed up, never ordered
]


def _utc(local: str, zone: str) -> pd.Timestamp:
    return pd.Timestamp(local).tz_localize(zone).tz_convert("UTC")


def shop_tables(zone: str = "UTC") -> dict[str, pa.Table]:
    """The shop's rows per warehouse table (times are shop-local in `zone`)."""
    orders = pd.DataFrame(
        {
            "order_id": [o[0] for o in ORDERS],
            "user_id": [o[1] for o in ORDERS],
            "ts": [_utc(o[2], zone) for o in ORDERS],
            "status": [o[3] for o in ORDERS],
            "amount": [float(o[4]) for o in ORDERS],
            "currency": "EUR",
            "channel": "web",
        }
    )
    lines = pd.DataFrame(
        {
            "order_id": [o[0] for o in ORDERS],
            "line_no": 1,
            "sku": [f"sku-{o[5]}" for o in ORDERS],
            "quantity": [1 if o[4] >= 0 else -1 for o in ORDERS],
            "unit_price": [float(abs(o[4])) for o in ORDERS],
            "line_total": [float(o[4]) for o in ORDERS],
            "category": [o[5] for o in ORDERS],
        }
    )
    events = pd.DataFrame(
        {
            "event_id": [e[0] for e in EVENTS],
            "type": "track",
            "user_id": [e[1] for e in EVENTS],
            "name": [e[3] for e in EVENTS],
            "ts": [_utc(e[2], zone) for e in EVENTS],
            "properties": "{}",
            "received_at": [_utc(e[2], zone) for e in EVENTS],
        }
    )
    users = pd.DataFrame(
        {
            "user_id": [u[0] for u in USERS],
            "first_seen": _utc("2023-01-01 00:00", zone),
            "signup_at": _utc("2023-01-01 00:00", zone),
            "channel": [u[2] for u in USERS],
            "country": [u[1] for u in USERS],
            "attributes": [json.dumps(u[3]) for u in USERS],
        }
    )
    return {
        "orders": pa.Table.from_pandas(orders, preserve_index=False),
        "order_lines": pa.Table.from_pandas(lines, preserve_index=False),
        "events": pa.Table.from_pandas(events, preserve_index=False),
        "users": pa.Table.from_pandas(users, preserve_index=False),
    }


def build_shop(home: Path, zone: str = "UTC", warehouse: str | None = None) -> Warehouse:
    """A warehouse (DuckDB, or Spark with warehouse="spark") holding the shop."""
    settings = Settings(home=home, timezone=zone, warehouse=warehouse, inbox_flush_seconds=0)
    wh = Warehouse(settings)
    wh.init()
    with wh.writer() as writer:
        for name, rows in shop_tables(zone).items():
            writer.upsert(name, rows)
    return wh
