"""Per-variant sufficient statistics of an experiment's metrics, computed in the warehouse.

One Ibis expression per step, so DuckDB and Spark run the same query:

1. `exposures`: each unit's first `Experiment Viewed` of this experiment, and its variant. A
   unit is the identity-merged user id, or the anonymous id of a visitor who never signed in.
   Units seen in more than one variant are left out and counted (GrowthBook's `__multiple__`).
2. `statistics`: per unit, the metric over [first exposure, + window) and, for CUPED, over the
   `cuped_days` before it; then per variant: n, Σx, Σx², and the cross products a ratio or a
   CUPED adjustment needs. Only these few numbers per variant leave the warehouse.

Times are compared as integer microseconds (`analytics.funnels.source.micros`), which is
exact on both engines and many times faster than zone-aware timestamp arithmetic on DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from tenure.analytics.funnels.source import json_value, micros, person_events
from tenure.experiments.spec import EXPOSURE_EVENT, Metric

DAY_US = 86_400_000_000


@dataclass(frozen=True)
class Sums:
    """One variant's sums for one metric (GrowthBook's column names)."""

    variant: str
    users: int
    main_sum: float
    main_sum_squares: float
    denominator_sum: float | None = None
    denominator_sum_squares: float | None = None
    main_denominator_sum_product: float | None = None
    covariate_sum: float | None = None
    covariate_sum_squares: float | None = None
    main_covariate_sum_product: float | None = None


def exposures(
    con: BaseBackend, key: str, since: datetime | None, until: datetime | None
) -> ir.Table:
    """(unit, variant, first_us, variants) per exposed unit; `variants` > 1 means mixed."""
    backend = con.name
    events = person_events(con, [EXPOSURE_EVENT])
    events = events.filter(json_value(events.properties, "$.experiment_id", backend) == key)
    if since is not None:
        events = events.filter(events.ts >= since)
    if until is not None:
        events = events.filter(events.ts < until)
    events = events.select(
        unit=events.person,
        variant=json_value(events.properties, "$.variation_id", backend),
        us=events.us,
    ).filter(lambda t: t.variant.notnull())
    return events.group_by("unit").aggregate(
        variant=events.variant.min(),
        first_us=events.us.min(),
        variants=events.variant.nunique(),
    )


def _orders(con: BaseBackend, currency: str | None) -> ir.Table:
    orders = con.table("orders")
    keep = orders.status.isin(("paid", "refunded")) & orders.user_id.notnull()
    if currency is not None:
        keep &= orders.currency == currency
    orders = orders.filter(keep)
    paid = orders.status == "paid"
    return orders.select(
        unit=orders.user_id,
        us=micros(orders.ts, con.name),
        paid=paid.cast("int64"),
        refunded=(~paid).cast("int64"),
        revenue=ibis.ifelse(paid, orders.amount.cast("float64"), 0.0),
    )


def _events(con: BaseBackend, name: str | None) -> ir.Table:
    # Without a name: every track, page and screen call (what `person_events` keeps).
    events = person_events(con, [name] if name is not None else None)
    return events.select(unit=events.person, us=events.us, one=ibis.literal(1, "int64"))


def _activity(con: BaseBackend, currency: str | None) -> ir.Table:
    """Anything the unit did: an event or an order."""
    orders = _orders(con, currency).select("unit", "us", one=ibis.literal(1, "int64"))
    return _events(con, None).union(orders)


def _source(
    con: BaseBackend, metric: Metric, currency: str | None
) -> tuple[ir.Table, dict[str, str]]:
    """The rows a metric sums, and which column is its value (and denominator)."""
    if metric.kind == "retention":
        return _activity(con, currency), {"value": "one"}
    if metric.kind in ("conversion", "count") and metric.event is not None:
        return _events(con, metric.event), {"value": "one"}
    orders = _orders(con, currency)
    if metric.kind == "revenue":
        return orders, {"value": "revenue"}
    if metric.kind == "aov":
        return orders, {"value": "revenue", "denominator": "paid"}
    if metric.kind == "refund_rate":
        return orders.mutate(orders_=orders.paid + orders.refunded), {
            "value": "refunded",
            "denominator": "orders_",
        }
    return orders, {"value": "paid"}


def _window(metric: Metric) -> tuple[int, int]:
    """[start, end) of the metric's window after exposure, in microseconds."""
    if metric.kind == "retention":
        assert metric.day is not None
        return metric.day * DAY_US, (metric.day + metric.window_days) * DAY_US
    return 0, metric.window_days * DAY_US


def _per_unit(
    units: ir.Table, rows: ir.Table, columns: dict[str, str], lo: int, hi: int, prefix: str
) -> ir.Table:
    """Per unit, the sums of the source's columns in [first_us + lo, first_us + hi)."""
    joined = units.select("unit", "first_us").join(rows, "unit")
    joined = joined.filter((joined.us >= joined.first_us + lo) & (joined.us < joined.first_us + hi))
    sums = {f"{prefix}{name}": joined[col].sum().cast("float64") for name, col in columns.items()}
    return joined.group_by("unit").aggregate(**sums)


def _binary(metric: Metric) -> bool:
    return metric.kind in ("conversion", "retention")


def statistics(
    con: BaseBackend, units: ir.Table, metric: Metric, currency: str | None, cuped_days: int
) -> list[Sums]:
    """The metric's sums per variant over the (single-variant) exposed `units`."""
    rows, columns = _source(con, metric, currency)
    lo, hi = _window(metric)
    post = _per_unit(units, rows, columns, lo, hi, "m_")
    table = units.select("unit", "variant").left_join(post, "unit").drop("unit_right")
    value = table["m_value"].fill_null(0.0)
    if _binary(metric):
        value = (value > 0).cast("float64")
    fields: dict[str, ir.Value] = {"x": value}
    if "denominator" in columns:
        fields["d"] = table["m_denominator"].fill_null(0.0)
    adjusted = cuped_days > 0 and "denominator" not in columns
    if adjusted:
        pre_columns = {"value": columns["value"]}
        pre = _per_unit(units, rows, pre_columns, -cuped_days * DAY_US, 0, "p_")
        table = table.left_join(pre, "unit").drop("unit_right")
        covariate = table["p_value"].fill_null(0.0)
        if metric.kind == "retention" or _binary(metric):
            covariate = (covariate > 0).cast("float64")
        fields["c"] = covariate
    per_unit = table.select("variant", **fields)
    aggregates: dict[str, ir.Value] = {
        "users": per_unit.count(),
        "main_sum": per_unit.x.sum(),
        "main_sum_squares": (per_unit.x * per_unit.x).sum(),
    }
    if "d" in fields:
        aggregates |= {
            "denominator_sum": per_unit.d.sum(),
            "denominator_sum_squares": (per_unit.d * per_unit.d).sum(),
            "main_denominator_sum_product": (per_unit.x * per_unit.d).sum(),
        }
    if adjusted:
        aggregates |= {
            "covariate_sum": per_unit.c.sum(),
            "covariate_sum_squares": (per_unit.c * per_unit.c).sum(),
            "main_covariate_sum_product": (per_unit.x * per_unit.c).sum(),
        }
    frame = per_unit.group_by("variant").aggregate(**aggregates).to_pandas()
    return [_sums(record) for record in frame.to_dict("records")]


def _sums(record: dict[str, Any]) -> Sums:
    values = {
        name: float(value)
        for name, value in record.items()
        if name not in ("variant", "users") and value is not None
    }
    return Sums(variant=str(record["variant"]), users=int(record["users"]), **values)


def event_names(con: BaseBackend, names: list[str]) -> set[str]:
    """Which of `names` the warehouse has at least one event of."""
    if not names:
        return set()
    events = con.table("events")
    found = events.filter(events.name.isin(names)).select("name").distinct().to_pandas()
    return set(found["name"].astype(str))
