"""Experiment test data: exposures and orders written straight into the warehouse."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tenure.experiments.spec import EXPOSURE_EVENT
from tenure.storage.warehouse import Warehouse

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def experiment_doc(key: str = "gift", **extra: Any) -> dict[str, Any]:
    """A two-arm experiment document."""
    doc: dict[str, Any] = {
        "key": key, "name": "New-user gift",
        "variants": [{"key": "control", "weight": 0.5}, {"key": "gift", "weight": 0.5}],
        "metrics": ["conversion", "revenue", "orders", "aov"],
    }  # fmt: skip
    doc.update(extra)
    return doc


def exposure_rows(
    key: str, units: Sequence[str], variants: Sequence[str], at: Sequence[datetime]
) -> pd.DataFrame:
    """`Experiment Viewed` events, as a client-side SDK would send them."""
    return pd.DataFrame({
        "event_id": [f"x-{key}-{u}-{v}-{i}" for i, (u, v) in enumerate(zip(units, variants, strict=True))],
        "type": "track", "user_id": list(units), "anonymous_id": None, "name": EXPOSURE_EVENT,
        "ts": pd.to_datetime(list(at), utc=True),
        "properties": [json.dumps({"experiment_id": key, "variation_id": v}) for v in variants],
        "received_at": pd.to_datetime(list(at), utc=True),
    })  # fmt: skip


def order_rows(
    users: Sequence[str], at: Sequence[datetime], amounts: Sequence[float],
    status: Sequence[str] | None = None, currency: str = "USD",
) -> pd.DataFrame:  # fmt: skip
    """Orders (paid unless `status` says otherwise)."""
    n = len(users)
    return pd.DataFrame({
        "order_id": [f"o{i}-{u}" for i, u in enumerate(users)], "user_id": list(users),
        "ts": pd.to_datetime(list(at), utc=True),
        "status": list(status) if status is not None else ["paid"] * n,
        "amount": [round(float(a), 2) for a in amounts], "currency": currency, "channel": "web",
    })  # fmt: skip


def write(warehouse: Warehouse, events: pd.DataFrame | None = None,
          orders: pd.DataFrame | None = None) -> None:  # fmt: skip
    """Append rows to the warehouse."""
    with warehouse.writer() as writer:
        if events is not None and len(events):
            writer.upsert("events", pa.Table.from_pandas(events, preserve_index=False))
        if orders is not None and len(orders):
            writer.upsert("orders", pa.Table.from_pandas(orders, preserve_index=False))


def random_shop(
    warehouse: Warehouse, key: str, n: int, seed: int, lift: float = 0.0
) -> pd.DataFrame:
    """n users split 50/50, each exposed once in March 2026, with orders before and after.

    Treated users (`gift`) buy with a `lift` higher rate. Returns the per-user truth frame:
    unit, variant, exposed_at, and the orders and revenue in the 14 days after exposure."""
    rng = np.random.default_rng(seed)
    units = [f"u{i:05d}" for i in range(n)]
    variants = np.where(rng.random(n) < 0.5, "control", "gift")
    exposed = [START + timedelta(minutes=int(m)) for m in rng.integers(0, 60 * 24 * 10, n)]
    habit = rng.gamma(0.8, 0.6, n)  # each user's own purchase rate, the same before and after
    rate = habit * np.where(variants == "gift", 1 + lift, 1.0)
    rows: list[tuple[str, datetime, float]] = []
    for unit, at, pre_rate, post_rate in zip(units, exposed, habit, rate, strict=True):
        for _ in range(rng.poisson(pre_rate)):
            rows.append((unit, at - timedelta(days=float(rng.uniform(0.1, 13.9))), 0.0))
        for _ in range(rng.poisson(post_rate)):
            rows.append((unit, at + timedelta(days=float(rng.uniform(0.01, 13.9))), 1.0))
    amounts = rng.lognormal(3.5, 0.6, len(rows))
    orders = order_rows([r[0] for r in rows], [r[1] for r in rows], amounts)
    write(warehouse, exposure_rows(key, units, list(variants), exposed), orders)
    post = orders[[r[2] == 1.0 for r in rows]]
    truth = pd.DataFrame({"unit": units, "variant": variants, "exposed_at": exposed})
    per = post.groupby("user_id").agg(orders=("order_id", "count"), revenue=("amount", "sum"))
    truth = truth.join(per, on="unit").fillna({"orders": 0, "revenue": 0.0})
    return truth
