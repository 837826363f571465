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
# The names exposure events use for the experiment and the variation: Segment's A/B testing
# spec (snake case, as Tenure records them), GrowthBook's documented Segment callback
# (`experimentId`, `variationId`) and Customer.io's spec (`variant_id`).
EXPERIMENT_FIELDS = ("experiment_id", "experimentId")
VARIATION_FIELDS = ("variation_id", "variationId", "variant_id")


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


def _first_of(properties: ir.StringValue, names: tuple[str, ...], backend: str) -> ir.StringValue:
    """The first of the named JSON fields present (later names are read only where it is not)."""
    return ibis.coalesce(*(json_value(properties, f"$.{name}", backend) for name in names))


def exposures(
    con: BaseBackend,
    key: str,
    since: datetime | None,
    until: datetime | None,
    variants: list[str] | None = None,
    server_only: bool = False,
) -> ir.Table:
    """(unit, variant, last_variant, first_us) per exposed unit; a unit whose `variant` and
    `last_variant` differ was seen in more than one."""
    backend = con.name
    events = person_events(con, [EXPOSURE_EVENT])
    events = events.filter(_first_of(events.properties, EXPERIMENT_FIELDS, backend) == key)
    if server_only:
        events = events.filter(json_value(events.properties, "$.source", backend) == "tenure")
    if since is not None:
        events = events.filter(events.ts >= since)
    if until is not None:
        events = events.filter(events.ts < until)
    # No `variant IS NOT NULL` filter: DuckDB would parse the JSON once more for it. min and
    # max skip nulls, and a unit with no variant at all is dropped as unknown later.
    variant = _first_of(events.properties, VARIATION_FIELDS, backend)
    if variants:
        # GrowthBook SDKs send the variation's index ("0", "1" …) unless it has a key: an
        # index that is not itself a variant key names the variant at that position.
        indexes = {str(i): k for i, k in enumerate(variants) if str(i) not in variants}
        if indexes:
            variant = variant.substitute(indexes)
    events = events.select(unit=events.person, variant=variant, us=events.us)
    # min ≠ max tells a unit seen in two variants, far cheaper than counting distinct ones.
    return events.group_by("unit").aggregate(
        variant=events.variant.min(),
        last_variant=events.variant.max(),
        first_us=events.us.min(),
    )


def _orders(con: BaseBackend, currency: str | None) -> ir.Table:
    """Paid and refunded orders. Counts take every currency; revenue (and the paid orders an
    average order value divides by) only the scope's, since amounts in two currencies never add."""
    orders = con.table("orders")
    orders = orders.filter(orders.status.isin(("paid", "refunded")) & orders.user_id.notnull())
    paid = orders.status == "paid"
    priced = paid if currency is None else paid & (orders.currency == currency)
    return orders.select(
        unit=orders.user_id,
        us=micros(orders.ts, con.name),
        paid=paid.cast("int64"),
        refunded=(~paid).cast("int64"),
        placed=ibis.literal(1, "int64"),
        priced=priced.cast("int64"),
        revenue=ibis.ifelse(priced, orders.amount.cast("float64"), 0.0),
    )


def _events(con: BaseBackend, name: str | None) -> ir.Table:
    # Without a name: every track, page and screen call (what `person_events` keeps).
    events = person_events(con, [name] if name is not None else None)
    return events.select(unit=events.person, us=events.us, one=ibis.literal(1, "int64"))


def _activity(con: BaseBackend, currency: str | None) -> ir.Table:
    """Anything the unit did: an event or an order."""
    orders = _orders(con, currency).select("unit", "us", one=ibis.literal(1, "int64"))
    return _events(con, None).union(orders)


def _source_key(metric: Metric) -> str:
    """Metrics with one source share one join: orders, one event name, or all activity."""
    if metric.kind == "retention":
        return "activity"
    if metric.kind in ("conversion", "count") and metric.event is not None:
        return "event:" + metric.event
    return "orders"


def _rows(con: BaseBackend, source: str, currency: str | None) -> ir.Table:
    """The rows of a source (`_source_key`)."""
    if source == "activity":
        return _activity(con, currency)
    if source.startswith("event:"):
        return _events(con, source.removeprefix("event:"))
    return _orders(con, currency)


def _columns(metric: Metric) -> dict[str, str]:
    """Which column of its source a metric sums as its value (and as its denominator)."""
    if _source_key(metric) != "orders":  # events or activity: a row is one
        return {"value": "one"}
    if metric.kind == "revenue":
        return {"value": "revenue"}
    if metric.kind == "aov":
        return {"value": "revenue", "denominator": "priced"}
    if metric.kind == "refund_rate":
        return {"value": "refunded", "denominator": "placed"}
    return {"value": "paid"}


def _window(metric: Metric) -> tuple[int, int]:
    """[start, end) of the metric's window after exposure, in microseconds."""
    if metric.kind == "retention":
        assert metric.day is not None
        return metric.day * DAY_US, (metric.day + metric.window_days) * DAY_US
    return 0, metric.window_days * DAY_US


def _unit_sums(
    units: ir.Table,
    rows: ir.Table,
    wanted: dict[str, tuple[str, int, int]],
    span: tuple[int, int] | None,
) -> ir.Table:
    """Per unit, for each name in `wanted`, the sum of its column over [first_us + lo, + hi).

    `span` (the first and last exposure) bounds the rows read before the join, so years of
    orders outside every window are not joined at all."""
    lowest = min(lo for _, lo, _ in wanted.values())
    highest = max(hi for _, _, hi in wanted.values())
    if span is not None:
        rows = rows.filter((rows.us >= span[0] + lowest) & (rows.us < span[1] + highest))
    joined = units.select("unit", "first_us").join(rows, "unit")
    rel = joined.us - joined.first_us
    joined = joined.mutate(rel=rel).filter(lambda t: (t.rel >= lowest) & (t.rel < highest))
    sums = {
        name: ibis.ifelse((joined.rel >= lo) & (joined.rel < hi), joined[column], 0)
        .sum()
        .cast("float64")
        for name, (column, lo, hi) in wanted.items()
    }
    return joined.group_by("unit").aggregate(**sums)


def _fields(metric: Metric, index: int, cuped_days: int) -> dict[str, tuple[str, int, int]]:
    """The per-unit sums a metric needs, named by its position: x (value), d (denominator of
    a ratio) or c (the value before exposure, CUPED's covariate; ratios have none)."""
    columns = _columns(metric)
    lo, hi = _window(metric)
    wanted = {f"x{index}": (columns["value"], lo, hi)}
    if "denominator" in columns:
        wanted[f"d{index}"] = (columns["denominator"], lo, hi)
    elif cuped_days > 0:
        wanted[f"c{index}"] = (columns["value"], -cuped_days * DAY_US, 0)
    return wanted


def _aggregates(table: ir.Table, index: int, metric: Metric) -> dict[str, ir.Value]:
    """The per-variant sums of one metric, named `m<index>_<Sums field>`."""

    def unit_value(name: str) -> ir.FloatingValue:
        value = table[f"{name}{index}"].fill_null(0.0)
        return (value > 0).cast("float64") if metric.binary and name != "d" else value

    x = unit_value("x")
    out: dict[str, ir.Value] = {"main_sum": x.sum(), "main_sum_squares": (x * x).sum()}
    if f"d{index}" in table.columns:
        d = unit_value("d")
        out |= {
            "denominator_sum": d.sum(),
            "denominator_sum_squares": (d * d).sum(),
            "main_denominator_sum_product": (x * d).sum(),
        }
    if f"c{index}" in table.columns:
        c = unit_value("c")
        out |= {
            "covariate_sum": c.sum(),
            "covariate_sum_squares": (c * c).sum(),
            "main_covariate_sum_product": (x * c).sum(),
        }
    return {f"m{index}_{name}": value for name, value in out.items()}


def statistics(
    con: BaseBackend,
    units: ir.Table,
    metrics: list[Metric],
    currency: str | None,
    cuped_days: int,
    span: tuple[int, int] | None = None,
) -> list[list[Sums]]:
    """Each metric's sums per variant over the (single-variant) exposed `units`, whose first
    exposures lie in `span` (µs, inclusive) when given.

    Metrics with one source (orders, an event, activity) are computed together: one join of
    the units with that source, one pass of conditional sums per unit, one aggregate per
    variant, whatever their windows."""
    out: dict[int, list[Sums]] = {}
    groups: dict[str, list[int]] = {}
    for index, metric in enumerate(metrics):
        groups.setdefault(_source_key(metric), []).append(index)
    for source, members in groups.items():
        wanted: dict[str, tuple[str, int, int]] = {}
        for index in members:
            wanted |= _fields(metrics[index], index, cuped_days)
        per_unit = _unit_sums(units, _rows(con, source, currency), wanted, span)
        table = units.select("unit", "variant").left_join(per_unit, "unit").drop("unit_right")
        aggregates: dict[str, ir.Value] = {"users": table.count()}
        for index in members:
            aggregates |= _aggregates(table, index, metrics[index])
        frame = table.group_by("variant").aggregate(**aggregates).to_pandas()
        for index in members:
            out[index] = [_sums(record, index) for record in frame.to_dict("records")]
    return [out[index] for index in range(len(metrics))]


def _sums(record: dict[str, Any], index: int) -> Sums:
    prefix = f"m{index}_"
    values = {
        name.removeprefix(prefix): float(value)
        for name, value in record.items()
        if name.startswith(prefix) and value is not None
    }
    return Sums(variant=str(record["variant"]), users=int(record["users"]), **values)


def event_names(con: BaseBackend, names: list[str]) -> set[str]:
    """Which of `names` the warehouse has at least one event of."""
    if not names:
        return set()
    events = con.table("events")
    found = events.filter(events.name.isin(names)).select("name").distinct().to_pandas()
    return set(found["name"].astype(str))
