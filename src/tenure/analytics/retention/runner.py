"""Retention as Ibis expressions over the activity rollup; one code path for DuckDB and Spark."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from tenure.analytics.activity import daily, is_stored, user_days, user_first, user_weeks
from tenure.analytics.base import InvalidQuery, Runner
from tenure.analytics.currency import CurrencyScope, currency_scope, money_days
from tenure.analytics.retention.query import CohortRow, DayNRow, RetentionQuery, RetentionResult
from tenure.kit.localtime import day_number, period_index, period_start
from tenure.storage.rollups import MASK_BITS

NONE = "(none)"
# Activity kinds the per-user rollups answer: the first-day column, and the weekly count.
_FIRST = {"order": "first_order", "any_event": "first_event", "any": "first_any"}
_WEEKLY: dict[str, Callable[[ir.Table], ir.IntegerValue]] = {
    "order": lambda w: w.orders,
    "any_event": lambda w: w.events,
    "any": lambda w: w.orders + w.events,
}


def _segments(con: BaseBackend, breakdown: str | None, zone: ZoneInfo) -> ir.Table | None:
    """user_id → segment label for a breakdown, or None."""
    if breakdown is None:
        return None
    if breakdown in ("channel", "country"):
        users = con.table("users")
        return users.select(user_id=users.user_id, segment=users[breakdown].fill_null(NONE))
    orders = con.table("orders").filter(lambda o: o.user_id.notnull() & (o.status == "paid"))
    first = orders.group_by("user_id").aggregate(
        order_id=orders.order_id.argmin(orders.ts), channel=orders.channel.argmin(orders.ts)
    )
    if breakdown == "first_order_channel":
        return first.select("user_id", segment=first.channel.fill_null(NONE))
    lines = con.table("order_lines")
    first_lines = lines.group_by("order_id").aggregate(
        category=lines.category.argmin(lines.line_no)
    )
    joined = first.left_join(first_lines, "order_id")
    return joined.select(user_id=joined.user_id, segment=joined.category.fill_null(NONE))


class RetentionRunner(Runner[RetentionQuery, RetentionResult]):
    """Cohort matrix, value retention and the day-N table."""

    query_type: ClassVar[type[RetentionQuery]] = RetentionQuery

    def validate(self) -> None:
        """Day-N columns must be positive and the window must be ordered."""
        q = self.query
        if any(n < 1 for n in q.days):
            raise InvalidQuery(field="days", reason="day numbers start at 1")
        if q.since and q.until and q.since > q.until:
            raise InvalidQuery(field="since", reason="since is after until")

    def _observed_until(self, days: ir.Table) -> date | None:
        if self.query.until:
            return self.query.until
        value = days.day.max().execute()
        return None if value is None or pd.isna(value) else pd.Timestamp(value).date()

    def _starts(self, con: BaseBackend, end: date) -> tuple[ir.Table, bool]:
        """(user_id, start_day) of every membership, and whether user_first gave them."""
        q = self.query
        if q.start_mode == "first" and q.start.kind in _FIRST:
            first = user_first(con, self.zone)
            kind = _FIRST[q.start.kind].removeprefix("first_")
            starts = first.select(
                first.user_id,
                start_day=first[f"first_{kind}"],
                # Same-kind activity after the start, carried for the one-scan path (_fused).
                nxt=first[f"next_{kind}"],
                lst=first[f"last_{kind}"],
                dmask=first[f"days_{kind}"],
                wmask=first[f"weeks_{kind}"],
            )
            return starts.filter(starts.start_day.notnull() & (starts.start_day <= end)), True
        days = daily(q.start, con, self.zone)
        days = days.filter(days.day <= end)
        if q.start_mode == "first":
            return days.group_by("user_id").aggregate(start_day=days.day.min()), False
        days = days.mutate(cohort=period_start(days.day, q.period))
        members = days.group_by(["user_id", "cohort"]).aggregate(start_day=days.day.min())
        return members.drop("cohort"), False

    def _memberships(self, starts: ir.Table, segments: ir.Table | None) -> ir.Table:
        q = self.query
        members = starts
        if q.since:
            members = members.filter(members.start_day >= q.since)
        members = members.mutate(
            cohort=period_start(members.start_day, q.period),
            cidx=period_index(members.start_day, q.period),
        )
        if segments is None:
            return members.mutate(segment=ibis.literal(NONE))
        joined = members.left_join(segments, "user_id")
        return joined.select(
            *[joined[c] for c in members.columns], segment=joined.segment.fill_null(NONE)
        )

    def run(self, con: BaseBackend) -> RetentionResult:
        """Answer the query."""
        q = self.query
        scope = currency_scope(con, q.currency)
        money = user_days(con, self.zone)
        end = self._observed_until(money)
        if end is None:
            return RetentionResult(
                **scope.fields(),
                period=q.period,
                start=q.start.label(),
                returning=q.returning.label(),
                observed_until=None,
                cohorts=[],
                day_n=[],
            )
        starts, from_first = self._starts(con, end)
        members = self._memberships(starts, _segments(con, q.breakdown, self.zone))
        if not (from_first and is_stored(con, self.zone)):
            members = members.cache()  # four queries below reuse it: compute it once
        same_kind = q.start == q.returning and q.start.kind in _FIRST and q.min_occurrences <= 1
        if from_first and same_kind and q.until is None and self._masks_answer():
            return self._fused(con, money, members, end, scope)
        returns = daily(q.returning, con, self.zone)
        # A stored weekly rollup answers whole weeks: usable when no week is cut by `until`.
        weekly = q.period == "week" and q.until is None and q.returning.kind in _WEEKLY
        week_rows = self._weekly_returns(con) if weekly else None
        counts = self._matrix(returns, members, end, week_rows).execute()
        sizes = members.group_by(["cohort", "segment"]).aggregate(size=members.count()).execute()
        value = self._money_value(con, money, members, end, week_rows, scope)
        if from_first and same_kind and q.until is None:
            day_n = self._day_n_from_first(con, returns, members, end).execute()
        else:
            day_n = self._day_n(returns, members, end).execute()
        end_index = _index(end, q.period)
        return RetentionResult(
            **scope.fields(),
            period=q.period,
            start=q.start.label(),
            returning=q.returning.label(),
            observed_until=end,
            cohorts=self._cohort_rows(sizes, counts, value, end_index),
            day_n=self._day_n_rows(day_n),
        )

    def _masks_answer(self) -> bool:
        """Whether user_first's 63-day and 63-week activity masks hold every cell asked for."""
        q = self.query
        return (
            q.period in ("day", "week")
            and q.periods < MASK_BITS
            and max(q.days, default=0) < MASK_BITS
        )

    def _fused(
        self, con: BaseBackend, money: ir.Table, members: ir.Table, end: date, scope: CurrencyScope
    ) -> RetentionResult:
        """Sizes, the cohort matrix and the day-N table in one scan of the members.

        Start and return are the same kind and the user's first activity is the start, so bit k
        of user_first's masks says whether the member came back k days (weeks) after it; the
        next and last active days answer "within N" and "on or after N". Only value retention
        still joins activity rows.
        """
        q = self.query
        start = day_number(members.start_day)
        # Day offsets once per member, not once per aggregate that reads them.
        rows = members.select(
            "cohort",
            "segment",
            "dmask",
            mask=members.wmask if q.period == "week" else members.dmask,
            age=day_number(ibis.literal(end)) - start,
            nxt=(day_number(members.nxt) - start).fill_null(10**9),
            lst=(day_number(members.lst) - start).fill_null(0),
        )
        one = ibis.literal(1, "int64")
        aggs: dict[str, Any] = {"size": rows.count()}
        for k in range(q.periods + 1):
            aggs[f"p_{k}"] = ((rows.mask >> k) & one).sum()
        for n in q.days:
            eligible = rows.age >= n
            aggs[f"eligible_{n}"] = eligible.cast("int64").sum()
            aggs[f"within_{n}"] = (eligible & (rows.nxt <= n)).cast("int64").sum()
            aggs[f"after_{n}"] = (eligible & (rows.lst >= n)).cast("int64").sum()
            aggs[f"on_{n}"] = ((rows.dmask >> n) & one).sum(where=eligible)
        cells = rows.group_by(["cohort", "segment"]).aggregate(**aggs).execute()
        week_rows = self._weekly_returns(con) if q.period == "week" else None
        value = self._money_value(con, money, members, end, week_rows, scope)
        sizes = cells[["cohort", "segment", "size"]]
        counts = cells.melt(
            id_vars=["cohort", "segment"],
            value_vars=[f"p_{k}" for k in range(q.periods + 1)],
            var_name="offset",
            value_name="users",
        )
        counts["offset"] = counts["offset"].str.removeprefix("p_").astype(int)
        totals = [f"{k}_{n}" for n in q.days for k in ("eligible", "within", "after", "on")]
        day_n = cells.groupby("segment", as_index=False)[totals].sum()
        return RetentionResult(
            **scope.fields(),
            period=q.period,
            start=q.start.label(),
            returning=q.returning.label(),
            observed_until=end,
            cohorts=self._cohort_rows(sizes, counts, value, _index(end, q.period)),
            day_n=self._day_n_rows(day_n),
        )

    def _money_value(
        self,
        con: BaseBackend,
        days: ir.Table,
        members: ir.Table,
        end: date,
        weekly: ir.Table | None,
        scope: CurrencyScope,
    ) -> pd.DataFrame:
        """Revenue per cohort and offset: from the rollups for a one-currency warehouse, else
        from the orders in the scope's currency (the rollups sum every currency)."""
        if scope.mixed:
            days, weekly = money_days(con, self.zone, scope), None
        return self._value(days, members, end, weekly).execute()

    def _weekly_returns(self, con: BaseBackend) -> ir.Table:
        """(user_id, pidx, n, revenue) per user and week, from the stored user_weeks rollup."""
        weeks = user_weeks(con, self.zone)
        n = _WEEKLY[self.query.returning.kind](weeks)
        return weeks.select(
            weeks.user_id, pidx=period_index(weeks.week, "week"), n=n, revenue=weeks.revenue
        )

    def _matrix(
        self, returns: ir.Table, members: ir.Table, end: date, weekly: ir.Table | None
    ) -> ir.Table:
        q = self.query
        if weekly is not None:
            ret = weekly.filter((weekly.n > 0) & (weekly.n >= q.min_occurrences))
            ret = ret.select("user_id", "pidx", "n")
        else:
            ret = returns.filter(returns.day <= end)
            ret = ret.mutate(pidx=period_index(ret.day, q.period))
            ret = ret.group_by(["user_id", "pidx"]).aggregate(n=ret.n.sum())
            ret = ret.filter(ret.n >= q.min_occurrences)
        joined = members.join(ret, "user_id")
        joined = joined.mutate(offset=joined.pidx - joined.cidx)
        joined = joined.filter((joined.offset >= 0) & (joined.offset <= q.periods))
        # (member, period) rows are unique after the group-by, so a count is a distinct count.
        return joined.group_by(["cohort", "segment", "offset"]).aggregate(users=joined.count())

    def _value(
        self, days: ir.Table, members: ir.Table, end: date, weekly: ir.Table | None
    ) -> ir.Table:
        q = self.query
        if weekly is not None:
            money = weekly.filter(weekly.revenue.notnull()).select("user_id", "pidx", "revenue")
        else:
            money = days.filter(days.revenue.notnull() & (days.day <= end))
            money = money.mutate(pidx=period_index(money.day, q.period))
        joined = members.join(money, "user_id")
        joined = joined.mutate(offset=joined.pidx - joined.cidx)
        joined = joined.filter((joined.offset >= 0) & (joined.offset <= q.periods))
        return joined.group_by(["cohort", "segment", "offset"]).aggregate(
            revenue=joined.revenue.sum()
        )

    def _day_n(self, returns: ir.Table, members: ir.Table, end: date) -> ir.Table:
        q = self.query
        # daily() rows are unique per (user, day), so each membership meets a day at most once.
        ret = returns.filter((returns.day <= end) & (returns.n >= q.min_occurrences))
        keys = members.select("user_id", "start_day")
        joined = keys.join(ret, "user_id")
        joined = joined.mutate(d=day_number(joined.day) - day_number(joined.start_day))
        joined = joined.filter(joined.d >= 1)
        summary: dict[str, Any] = {"first": joined.d.min(), "last": joined.d.max()}
        for n in q.days:
            summary[f"on_{n}"] = (joined.d == n).cast("int64").sum()
        per_member = joined.group_by(["user_id", "start_day"]).aggregate(**summary)
        end_num = day_number(ibis.literal(end))
        aged = members.mutate(age=end_num - day_number(members.start_day))
        both = aged.left_join(per_member, ["user_id", "start_day"])
        totals: dict[str, Any] = {}
        for n in q.days:
            eligible = both.age >= n
            totals[f"eligible_{n}"] = eligible.cast("int64").sum()
            totals[f"on_{n}"] = (eligible & (both[f"on_{n}"].fill_null(0) > 0)).cast("int64").sum()
            totals[f"after_{n}"] = (eligible & (both["last"].fill_null(0) >= n)).cast("int64").sum()
            within = both["first"].fill_null(n + 1) <= n
            totals[f"within_{n}"] = (eligible & within).cast("int64").sum()
        return both.group_by("segment").aggregate(**totals)

    def _day_n_from_first(
        self, con: BaseBackend, returns: ir.Table, members: ir.Table, end: date
    ) -> ir.Table:
        """The day-N table when start and return are the same kind and no `until` cuts the data.

        user_first holds each user's next and last active day, so "within N" and "on or after N"
        need no activity rows; only "on day N" looks up the days exactly N after the start.
        """
        q = self.query
        kind = _FIRST[q.start.kind].removeprefix("first_")
        first = user_first(con, self.zone)
        days = first.select(first.user_id, nxt=first[f"next_{kind}"], lst=first[f"last_{kind}"])
        both = members.join(days, "user_id")
        start = day_number(both.start_day)
        age = day_number(ibis.literal(end)) - start
        nxt = (day_number(both.nxt) - start).fill_null(10**9)
        lst = (day_number(both.lst) - start).fill_null(0)
        totals: dict[str, Any] = {}
        for n in q.days:
            eligible = age >= n
            totals[f"eligible_{n}"] = eligible.cast("int64").sum()
            totals[f"within_{n}"] = (eligible & (nxt <= n)).cast("int64").sum()
            totals[f"after_{n}"] = (eligible & (lst >= n)).cast("int64").sum()
        per_segment = both.group_by("segment").aggregate(**totals)
        # daily() rows are unique per (user, day): a hit on day N is one member retained.
        hits = members.select("user_id", "start_day", "segment").join(returns, "user_id")
        hits = hits.mutate(d=day_number(hits.day) - day_number(hits.start_day))
        hits = hits.filter(hits.d.isin(list(q.days)))
        on = hits.group_by(seg=hits.segment).aggregate(
            **{f"on_{n}": (hits.d == n).cast("int64").sum() for n in q.days}
        )
        joined = per_segment.left_join(on, per_segment.segment == on.seg)
        return joined.select(
            "segment",
            *[f"{k}_{n}" for n in q.days for k in ("eligible", "within", "after")],
            *[joined[f"on_{n}"].fill_null(0).name(f"on_{n}") for n in q.days],
        )

    def _cohort_rows(
        self, sizes: pd.DataFrame, counts: pd.DataFrame, value: pd.DataFrame, end_index: int
    ) -> list[CohortRow]:
        q = self.query
        retained: dict[tuple[date, str], dict[int, int]] = defaultdict(dict)
        for rec in counts.to_dict("records"):
            retained[(_as_date(rec["cohort"]), str(rec["segment"]))][int(rec["offset"])] = int(
                rec["users"]
            )
        revenue: dict[tuple[date, str], dict[int, float]] = defaultdict(dict)
        for rec in value.to_dict("records"):
            money = rec["revenue"]
            amount = 0.0 if money is None or pd.isna(money) else float(money)
            revenue[(_as_date(rec["cohort"]), str(rec["segment"]))][int(rec["offset"])] = amount
        rows = []
        for rec in sizes.to_dict("records"):
            key = (_as_date(rec["cohort"]), str(rec["segment"]))
            size = int(rec["size"])
            observed = min(q.periods, end_index - _index(key[0], q.period))
            users = [retained[key].get(p, 0) for p in range(observed + 1)]
            money = [round(revenue[key].get(p, 0.0), 4) for p in range(observed + 1)]
            per_user = [round(m / size, 4) for m in money]
            ltv = [round(sum(per_user[: p + 1]), 4) for p in range(len(per_user))]
            rows.append(
                CohortRow(
                    cohort=key[0],
                    segment=None if q.breakdown is None else key[1],
                    size=size,
                    retained=users,
                    rate=[round(u / size, 3) for u in users],
                    revenue=money,
                    revenue_per_user=per_user,
                    ltv=ltv,
                )
            )
        return sorted(rows, key=lambda r: (r.segment or "", r.cohort))

    def _day_n_rows(self, frame: pd.DataFrame) -> list[DayNRow]:
        rows = []
        for row in frame.to_dict("records"):
            for n in self.query.days:
                eligible = int(row[f"eligible_{n}"] or 0)
                counts = [int(row[f"{k}_{n}"] or 0) for k in ("on", "after", "within")]
                rates = [round(c / eligible, 4) if eligible else 0.0 for c in counts]
                rows.append(
                    DayNRow(
                        day=n,
                        segment=None if self.query.breakdown is None else row["segment"],
                        eligible=eligible,
                        on_day=counts[0],
                        on_or_after=counts[1],
                        within=counts[2],
                        on_day_rate=rates[0],
                        on_or_after_rate=rates[1],
                        within_rate=rates[2],
                    )
                )
        return sorted(rows, key=lambda r: (r.segment or "", r.day))


def _as_date(value: Any) -> date:
    return (
        value
        if isinstance(value, date) and not isinstance(value, pd.Timestamp)
        else pd.Timestamp(value).date()
    )


def _index(day: date, period: str) -> int:
    """period_index in Python, matching localtime.period_index."""
    if period == "month":
        return day.year * 12 + day.month
    days = (day - date(1970, 1, 1)).days
    if period == "day":
        return days
    return (days - day.weekday() + 3) // 7
