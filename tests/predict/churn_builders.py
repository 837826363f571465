"""A hand-made shop for the churn tests, written straight into a DuckDB or Spark warehouse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tenure.config import Settings
from tenure.storage.warehouse import Warehouse

ZONE = "Asia/Shanghai"  # UTC+8 all year: the cut-off 2024-03-31 ends at 2024-03-31T16:00Z
COUPON = '{"coupon": "SPRING10"}'

# order_id, user_id, ts (UTC), status, amount, properties
ORDERS: list[tuple[Any, ...]] = [
    ("o1", "a", "2024-01-05T02:00:00", "paid", 100, COUPON),
    ("o2", "a", "2024-01-25T02:00:00", "paid", 50, None),
    ("o3", "a", "2024-02-24T02:00:00", "paid", 60, '{"coupon": null}'),
    ("r3", "a", "2024-02-26T02:00:00", "refunded", -20, None),
    ("o4", "b", "2024-02-10T02:00:00", "paid", 40, None),
    ("o7", "c", "2024-03-31T15:00:00", "paid", 25, None),  # local 23:00 on the cut-off day
    ("g1", None, "2024-03-01T02:00:00", "paid", 99, None),  # a guest: never a customer
    ("x1", "d", "2024-03-02T02:00:00", "cancelled", 10, None),  # never paid: not a customer
    # After the cut-off: labels only.
    ("o5", "b", "2024-03-31T17:00:00", "paid", 70, None),  # local 01:00 on April 1
    ("o6", "a", "2024-04-20T02:00:00", "paid", 30, None),
    ("o8", "c", "2024-09-01T02:00:00", "paid", 30, None),  # after the 90-day window
]
# event_id, user_id, name, ts (UTC)
EVENTS: list[tuple[Any, ...]] = [
    ("e1", "a", "Product Viewed", "2024-03-20T02:00:00"),
    ("e2", "a", "Product Added", "2024-03-21T02:00:00"),
    ("e3", "a", "Checkout Started", "2024-02-15T02:00:00"),
    ("e4", "c", "Checkout Started", "2024-04-02T02:00:00"),  # after the cut-off
]


def _ts(values: list[str]) -> pa.Array:
    stamps = [datetime.fromisoformat(v + "+00:00") for v in values]
    return pa.array(stamps, pa.timestamp("us", tz="UTC"))


def orders_table(rows: list[tuple[Any, ...]]) -> pa.Table:
    """Orders in the warehouse's columns."""
    order_id, user_id, ts, status, amount, properties = (list(c) for c in zip(*rows, strict=True))
    return pa.table(
        {
            "order_id": order_id,
            "user_id": user_id,
            "ts": _ts(ts),
            "status": status,
            "amount": pa.array([float(a) for a in amount], pa.float64()),
            "currency": ["USD"] * len(rows),
            "properties": properties,
        }
    )


def events_table(rows: list[tuple[Any, ...]]) -> pa.Table:
    """Events in the warehouse's columns."""
    event_id, user_id, name, ts = (list(c) for c in zip(*rows, strict=True))
    return pa.table(
        {
            "event_id": event_id,
            "type": ["track"] * len(rows),
            "user_id": user_id,
            "name": name,
            "ts": _ts(ts),
        }
    )


def shop(
    home: Path,
    orders: list[tuple[Any, ...]] | None = None,
    events: list[tuple[Any, ...]] | None = None,
    **settings: Any,
) -> Warehouse:
    """A warehouse holding the hand-made shop (or the given rows)."""
    warehouse = Warehouse(Settings(home=home, timezone=ZONE, **settings))
    with warehouse.writer() as writer:
        writer.create_missing_tables()
        writer.upsert("orders", orders_table(orders or ORDERS))
        writer.upsert("events", events_table(events or EVENTS))
    return warehouse


def bgnbd_orders(
    customers: int,
    seed: int,
    *,
    days: int = 400,
    arrivals_days: int = 150,
    r: float = 0.8,
    alpha: float = 20.0,
    a: float = 1.0,
    b: float = 4.0,
) -> list[tuple[Any, ...]]:
    """Paid orders of a pure BG/NBD shop (Fader, Hardie & Lee 2005, section 2), in days.

    Customers arrive uniformly in the first `arrivals_days` days with a first order; then they
    buy at Poisson rate λ ~ Gamma(r, α) a day and drop out after each repeat order with
    probability p ~ Beta(a, b). Nothing but recency and frequency carries information, which
    is where BG/NBD is the right model and a classifier has nothing to add.
    """
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1, 4, tzinfo=UTC)
    rows: list[tuple[Any, ...]] = []
    for customer in range(customers):
        day = float(rng.integers(0, arrivals_days))
        rate = rng.gamma(r, 1.0 / alpha)
        dropout = rng.beta(a, b)
        bought = [day]
        while True:
            day += rng.exponential(1.0 / rate)
            if day >= days:
                break
            bought.append(day)
            if rng.random() < dropout:
                break
        for k, when in enumerate(bought):
            ts = start + timedelta(days=int(when))
            amount = round(float(rng.gamma(2.0, 15.0)) + 1.0, 2)
            stamp = ts.strftime("%Y-%m-%dT%H:%M:%S")
            rows.append((f"u{customer}-{k}", f"u{customer}", stamp, "paid", amount, None))
    return rows


# One anonymous page view: the BG/NBD shop has no events of customers.
NO_EVENTS: list[tuple[Any, ...]] = [("e0", None, "Product Viewed", "2024-01-01T00:00:00")]


def bgnbd_shop(
    home: Path, customers: int, seed: int, *, reverse: bool = False, **settings: Any
) -> Warehouse:
    """A warehouse of `bgnbd_orders`, written in order or in reverse order."""
    orders = bgnbd_orders(customers, seed)
    return shop(home, orders[::-1] if reverse else orders, NO_EVENTS, **settings)
