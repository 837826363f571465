"""Lifecycle stages: new, active, loyal, at-risk, churned, reactivated, with the day each began.

Per customer, as of a day, from their paid-order days (shop-local):

- churned: no order for more than `churn_days`; since the day after that window ended.
- at_risk: no order for more than `at_risk_days`; since the day after that window ended.
- reactivated: the latest order came after a churned spell; since that order's day.
- new: the first order is less than `new_days` old; since the first order.
- loyal: `loyal_orders` or more paid orders; else active.

The start of the current alive spell is the first order or the latest return after an at-risk
gap; a return from churn is "reactivated" until the next order. Thresholds are fixed, or per user
from the BG/NBD model (see `thresholds.py`): then a user is at risk once P(alive) would fall below
a level or the silence exceeds a multiple of their own inter-purchase time, whichever comes first.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend
from pydantic import BaseModel, Field

from tenure.analytics.base import AnalyticsQuery, InvalidQuery, Runner
from tenure.analytics.features import data_end, order_rows
from tenure.kit.localtime import day_number

STAGES = ("new", "active", "loyal", "at_risk", "churned", "reactivated")
_EPOCH = date(1970, 1, 1)


class LifecycleQuery(AnalyticsQuery):
    """How stages are decided."""

    as_of: date | None = None
    mode: Literal["fixed", "model"] = "fixed"
    new_days: int = Field(default=30, ge=1, le=3650)
    at_risk_days: int = Field(default=90, ge=1, le=3650)
    churn_days: int = Field(default=180, ge=2, le=7300)
    loyal_orders: int = Field(default=3, ge=2, le=1000)
    at_risk_p_alive: float = Field(default=0.5, gt=0, lt=1)
    churn_p_alive: float = Field(default=0.2, gt=0, lt=1)
    at_risk_gaps: float = Field(default=2.0, gt=0, description="Multiples of the user's own gap.")
    churn_gaps: float = Field(default=4.0, gt=0)


class StageCount(BaseModel):
    """Customers in one stage."""

    stage: str
    users: int
    share: float


class LifecycleResult(BaseModel):
    """Customers per stage as of a day."""

    as_of: date | None
    mode: str
    customers: int
    stages: list[StageCount]


def order_days(con: BaseBackend, zone: ZoneInfo, end: date) -> ir.Table:
    """Each paid-order day of a user: day number, gap since the previous one, the next one."""
    orders = order_rows(con, zone, end).filter(lambda o: o.status == "paid")
    days = orders.group_by(["user_id", "day"]).aggregate(n=orders.count())
    num = day_number(days.day)
    window = ibis.window(group_by=days.user_id, order_by=days.day)
    cumulative = ibis.window(group_by=days.user_id, order_by=days.day, preceding=None, following=0)
    return days.mutate(
        num=num,
        gap=(num - num.lag().over(window)).cast("int64"),
        next_num=num.lead().over(window),
        orders_so_far=days.n.sum().over(cumulative),
    )


def stage_table(
    con: BaseBackend,
    zone: ZoneInfo,
    end: date,
    q: LifecycleQuery,
    thresholds: ir.Table | None = None,
) -> ir.Table:
    """Per customer: stage, since (date), days_since_last, orders and the thresholds used.

    `thresholds` (user_id, at_risk_days, churn_days) overrides the query's fixed days per user.
    """
    days = order_days(con, zone, end)
    if thresholds is not None:
        days = days.left_join(thresholds, "user_id").select(~_right())
        at_risk = days.at_risk_days.fill_null(q.at_risk_days)
        churn = days.churn_days.fill_null(q.churn_days)
    else:
        at_risk, churn = ibis.literal(q.at_risk_days), ibis.literal(q.churn_days)
    days = days.mutate(t_risk=at_risk.cast("int64"), t_churn=churn.cast("int64"))
    returned = days.gap > days.t_risk
    per = days.group_by("user_id").aggregate(
        first=days.num.min(),
        last=days.num.max(),
        orders=days.n.sum(),
        last_gap=days.gap.argmax(days.num),
        spell=days.num.max(where=returned),
        spell_gap=days.gap.argmax(days.num, where=returned),
        spell_next=days.next_num.argmax(days.num, where=returned),
        loyal_at=days.num.min(where=days.orders_so_far >= q.loyal_orders),
        t_risk=days.t_risk.max(),
        t_churn=days.t_churn.max(),
        **({"p_alive": days.p_alive.max()} if thresholds is not None else {}),
    )
    end_num = (end - _EPOCH).days
    silent = end_num - per["last"]
    from_churn = per.spell_gap > per.t_churn
    # The day active/loyal began: the end of "new", the return from at-risk, or the order after
    # the return from churn.
    base = ibis.cases(
        (per.spell.isnull(), per["first"] + q.new_days),
        (from_churn, per.spell_next),
        else_=per.spell,
    )
    loyal_since = ibis.greatest(base, per.loyal_at)
    reactivated = per.last_gap.notnull() & (per.last_gap > per.t_churn)
    stage = ibis.cases(
        (silent > per.t_churn, "churned"),
        (silent > per.t_risk, "at_risk"),
        (reactivated, "reactivated"),
        (per.spell.isnull() & (end_num - per["first"] < q.new_days), "new"),
        (per.orders >= q.loyal_orders, "loyal"),
        else_="active",
    )
    since = ibis.cases(
        (stage == "churned", per["last"] + per.t_churn + 1),
        (stage == "at_risk", per["last"] + per.t_risk + 1),
        (stage == "reactivated", per["last"]),
        (stage == "new", per["first"]),
        (stage == "loyal", loyal_since),
        else_=base,
    )
    extra = {"p_alive": per.p_alive.cast("decimal(6, 4)")} if thresholds is not None else {}
    return per.select(
        "user_id",
        stage=stage,
        since=_date(since),
        days_since_last=silent.cast("int64"),
        orders=per.orders.cast("int64"),
        at_risk_days=per.t_risk,
        churn_days=per.t_churn,
        at_risk_since=_date(per["last"] + per.t_risk + 1),
        **extra,
    )


def _date(num: ir.IntegerValue) -> ir.DateValue:
    """The date of a day number, in the warehouse."""
    # From a timestamp: DuckDB's DATE + INTERVAL is a TIMESTAMP that Ibis would still call a date.
    midnight = ibis.literal(datetime(1970, 1, 1), type="timestamp")
    return (midnight + num.cast("int32").as_interval("D")).date()


def _right():  # type: ignore[no-untyped-def]
    import ibis.selectors as s

    return s.endswith("_right")


def _share(part: int, total: int) -> float:
    """A stage's share of the customers; 0 when there are none yet (an as-of before any order)."""
    return round(part / total, 4) if total else 0.0


def day_of(num: int) -> date:
    """The date of a day number (days since 1970-01-01)."""
    return _EPOCH + timedelta(days=int(num))


class LifecycleRunner(Runner[LifecycleQuery, LifecycleResult]):
    """Customers per lifecycle stage (fixed thresholds; model thresholds come from the service)."""

    query_type: ClassVar[type[LifecycleQuery]] = LifecycleQuery

    def __init__(
        self,
        query: LifecycleQuery,
        zone: ZoneInfo = ZoneInfo("UTC"),
        thresholds: ir.Table | None = None,
    ):
        super().__init__(query, zone)
        self.thresholds = thresholds

    def validate(self) -> None:
        """The windows must nest: at-risk before churned."""
        q = self.query
        if q.at_risk_days >= q.churn_days:
            raise InvalidQuery(field="at_risk_days", reason="must be shorter than churn_days")
        if q.churn_p_alive >= q.at_risk_p_alive:
            raise InvalidQuery(field="churn_p_alive", reason="must be below at_risk_p_alive")
        if q.churn_gaps <= q.at_risk_gaps:
            raise InvalidQuery(field="churn_gaps", reason="must be above at_risk_gaps")

    def end(self, con: BaseBackend) -> date | None:
        """The as-of day: asked for, or the last day with an order."""
        return self.query.as_of or data_end(con, self.zone)

    def table(self, con: BaseBackend) -> ir.Table | None:
        """The per-customer stage table, or None without orders."""
        end = self.end(con)
        return (
            None if end is None else stage_table(con, self.zone, end, self.query, self.thresholds)
        )

    def run(self, con: BaseBackend) -> LifecycleResult:
        """Answer the query."""
        end = self.end(con)
        if end is None:
            return LifecycleResult(as_of=None, mode=self.query.mode, customers=0, stages=[])
        table = stage_table(con, self.zone, end, self.query, self.thresholds)
        frame = table.group_by("stage").aggregate(users=table.count()).execute()
        counts = {str(r["stage"]): int(r["users"]) for r in frame.to_dict("records")}
        total = sum(counts.values())
        stages = [
            StageCount(stage=s, users=counts.get(s, 0), share=_share(counts.get(s, 0), total))
            for s in STAGES
        ]
        return LifecycleResult(as_of=end, mode=self.query.mode, customers=total, stages=stages)
