"""RFM: recency, frequency and monetary quantile scores and the standard named RFM segments.

Scores are computed in the warehouse. A user's score on a measure is the quantile of their first
position among all customers ordered by that measure (`1 + bins * rank / n` with `rank` the
0-based rank of the lowest tied value), so equal values always share a score and the result does
not depend on row order or engine. Recency scores high for recent buyers; frequency (paid orders)
and monetary (net revenue, refunds deducted) score high for large values.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tenure.analytics.base import AnalyticsQuery, InvalidQuery, Runner
from tenure.analytics.currency import CurrencyFields, CurrencyScope, currency_scope
from tenure.analytics.features import data_end, order_features

OTHER = "Other"
NOT_A_CUSTOMER = "(not a customer)"


class RfmRule(BaseModel):
    """A named segment: inclusive score ranges; the first rule that matches a user names them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    r: tuple[int, int] = (1, 5)
    f: tuple[int, int] = (1, 5)
    m: tuple[int, int] = (1, 5)

    @model_validator(mode="after")
    def _ordered(self) -> RfmRule:
        for part in ("r", "f", "m"):
            low, high = getattr(self, part)
            if low > high:
                raise ValueError(f"{self.name}: {part} range {low}..{high} is reversed")
        return self


def _rule(name: str, r: tuple[int, int], f: tuple[int, int]) -> RfmRule:
    return RfmRule(name=name, r=r, f=f)


# The classic R×F grid (5 bins): every one of the 25 cells has exactly one name.
STANDARD_SEGMENTS: tuple[RfmRule, ...] = (
    _rule("Champions", (5, 5), (4, 5)),
    _rule("Loyal", (3, 4), (4, 5)),
    _rule("Can't Lose", (1, 2), (5, 5)),
    _rule("At Risk", (1, 2), (3, 4)),
    _rule("Potential Loyalist", (4, 5), (2, 3)),
    _rule("New", (5, 5), (1, 1)),
    _rule("Promising", (4, 4), (1, 1)),
    _rule("Need Attention", (3, 3), (3, 3)),
    _rule("About to Sleep", (3, 3), (1, 2)),
    _rule("Hibernating", (2, 2), (1, 2)),
    _rule("Lost", (1, 1), (1, 2)),
)


class RfmQuery(AnalyticsQuery):
    """RFM as of a day (default: the last day with an order), optionally against an earlier day."""

    as_of: date | None = None
    compare_to: date | None = Field(
        default=None, description="An earlier day: adds the segment transition matrix."
    )
    bins: int = Field(default=5, ge=2, le=10)
    segments: tuple[RfmRule, ...] = STANDARD_SEGMENTS


class SegmentRow(BaseModel):
    """One named segment's size and averages."""

    segment: str
    users: int
    share: float
    recency_days: float
    frequency: float
    monetary: float
    revenue: float


class GridCell(BaseModel):
    """Users with one (R, F) score pair."""

    r: int
    f: int
    users: int


class Transition(BaseModel):
    """Users who were in `source` at `compare_to` and are in `target` at `as_of`."""

    source: str
    target: str
    users: int


class RfmResult(CurrencyFields):
    """The distribution over named segments, the R×F grid, and the movement between two days.

    Monetary is in `currency`: when the orders are in several, only the customers' orders in the
    currency of most orders are scored (`left_out_orders` counts the others).
    """

    as_of: date | None
    compare_to: date | None
    customers: int
    segments: list[SegmentRow]
    grid: list[GridCell]
    transitions: list[Transition] = Field(default_factory=list)


def _quantile(value: ir.Column, bins: int, *, descending: bool, n: ir.Value) -> ir.IntegerValue:
    order = ibis.desc(value) if descending else value
    rank = ibis.rank().over(order_by=order)
    return (1 + (rank * bins) // n).cast("int64")


def segment_expr(rules: tuple[RfmRule, ...], r: ir.Column, f: ir.Column, m: ir.Column) -> Any:
    """The name of the first rule whose ranges hold the user's scores."""
    branches = [
        (
            r.between(rule.r[0], rule.r[1])
            & f.between(rule.f[0], rule.f[1])
            & m.between(rule.m[0], rule.m[1]),
            rule.name,
        )
        for rule in rules
    ]
    return ibis.cases(*branches, else_=OTHER) if branches else ibis.literal(OTHER)


def rfm_table(
    con: BaseBackend,
    zone: ZoneInfo,
    end: date,
    bins: int = 5,
    rules: tuple[RfmRule, ...] = STANDARD_SEGMENTS,
    scope: CurrencyScope | None = None,
) -> ir.Table:
    """Per customer as of `end`: recency_days, frequency, monetary, r, f, m, score and segment."""
    feats = order_features(con, zone, end, scope)
    base = feats.select(
        "user_id",
        recency_days=feats.recency_days,
        frequency=feats.orders,
        monetary=feats.revenue,
    )
    n = base.user_id.count().over(ibis.window())
    scored = base.mutate(
        r=_quantile(base.recency_days, bins, descending=True, n=n),
        f=_quantile(base.frequency, bins, descending=False, n=n),
        m=_quantile(base.monetary, bins, descending=False, n=n),
    )
    return scored.mutate(
        score=scored.r.cast("string") + scored.f.cast("string") + scored.m.cast("string"),
        segment=segment_expr(rules, scored.r, scored.f, scored.m),
    )


class RfmRunner(Runner[RfmQuery, RfmResult]):
    """Distribution over named segments, R×F grid and the transition matrix."""

    query_type: ClassVar[type[RfmQuery]] = RfmQuery

    def validate(self) -> None:
        """The comparison day must come before the as-of day; rules must fit the bins."""
        q = self.query
        if q.compare_to and q.as_of and q.compare_to >= q.as_of:
            raise InvalidQuery(field="compare_to", reason="must be before as_of")
        for rule in q.segments:
            ranges = (rule.r, rule.f, rule.m)
            if max(hi for _, hi in ranges) > q.bins or min(lo for lo, _ in ranges) < 1:
                raise InvalidQuery(field="segments", reason=f"{rule.name}: scores run 1..{q.bins}")

    def run(self, con: BaseBackend) -> RfmResult:
        """Answer the query."""
        q = self.query
        end = q.as_of or data_end(con, self.zone)
        scope = currency_scope(con)
        if end is None:
            return RfmResult(
                **scope.fields(),
                as_of=None,
                compare_to=q.compare_to,
                customers=0,
                segments=[],
                grid=[],
            )
        if q.compare_to and q.compare_to >= end:
            raise InvalidQuery(field="compare_to", reason="must be before as_of")
        table = rfm_table(con, self.zone, end, q.bins, q.segments, scope)
        per = table.group_by("segment").aggregate(
            users=table.count(),
            recency_days=table.recency_days.mean(),
            frequency=table.frequency.mean(),
            monetary=table.monetary.cast("float64").mean(),
            revenue=table.monetary.cast("float64").sum(),
        )
        frame = per.execute()
        total = int(frame.users.sum()) if len(frame) else 0
        order = {rule.name: i for i, rule in enumerate(q.segments)}
        rows = [
            SegmentRow(
                segment=str(rec["segment"]),
                users=int(rec["users"]),
                share=round(int(rec["users"]) / total, 4),
                recency_days=round(float(rec["recency_days"]), 2),
                frequency=round(float(rec["frequency"]), 2),
                monetary=round(float(rec["monetary"]), 2),
                revenue=round(float(rec["revenue"]), 2),
            )
            for rec in frame.to_dict("records")
        ]
        rows.sort(key=lambda row: order.get(row.segment, len(order)))
        grid_frame = table.group_by(["r", "f"]).aggregate(users=table.count()).execute()
        grid = sorted(
            (
                GridCell(r=int(g["r"]), f=int(g["f"]), users=int(g["users"]))
                for g in grid_frame.to_dict("records")
            ),
            key=lambda c: (-c.r, -c.f),
        )
        transitions: list[Transition] = []
        if q.compare_to:
            before = rfm_table(con, self.zone, q.compare_to, q.bins, q.segments, scope)
            transitions = self._transitions(before, table)
        return RfmResult(
            **scope.fields(),
            as_of=end,
            compare_to=q.compare_to,
            customers=total,
            segments=rows,
            grid=grid,
            transitions=transitions,
        )

    def _transitions(self, before: ir.Table, after: ir.Table) -> list[Transition]:
        old = before.select("user_id", source=before.segment)
        new = after.select("user_id", target=after.segment)
        # Everyone present at the later day was either a customer earlier or was not yet one.
        joined = new.left_join(old, "user_id")
        moved = joined.mutate(source=joined.source.fill_null(NOT_A_CUSTOMER))
        counts = moved.group_by(["source", "target"]).aggregate(users=moved.count()).execute()
        order = {rule.name: i for i, rule in enumerate(self.query.segments)}
        order[NOT_A_CUSTOMER] = -1
        out = [
            Transition(source=str(c["source"]), target=str(c["target"]), users=int(c["users"]))
            for c in counts.to_dict("records")
        ]
        return sorted(out, key=lambda t: (order.get(t.source, 99), order.get(t.target, 99)))
