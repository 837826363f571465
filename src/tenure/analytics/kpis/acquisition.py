"""CAC, LTV at fixed horizons and payback period per acquisition channel, from the spend table."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from tenure.analytics.base import InvalidQuery, Runner
from tenure.analytics.currency import CurrencyScope, currency_scope, money_days
from tenure.analytics.kpis.ltv import money_days as ltv_money_days
from tenure.analytics.kpis.periods import (
    Bounds,
    Window,
    as_date,
    build_series,
    index_of,
    make_window,
    number,
    ratio,
)
from tenure.analytics.kpis.query import (
    AcquisitionQuery,
    AcquisitionResult,
    ChannelRow,
    HorizonLtv,
    KpiSeries,
)
from tenure.analytics.kpis.sources import data_bounds, in_days, order_days
from tenure.kit.localtime import day_number, period_index
from tenure.storage.plausible import window_of

NONE, ALL = "(none)", "(all)"


def new_customers(
    con: BaseBackend, zone: ZoneInfo, since: date, until: date, scope: CurrencyScope
) -> ir.Table:
    """Users whose first paid order ever (in the scope's currency) is in [since, until]:
    user_id, channel, first_day."""
    orders = scope.only(order_days(con, zone))
    paid = orders.filter((orders.status == "paid") & orders.user_id.notnull())
    first = paid.group_by("user_id").aggregate(
        first_day=paid.day.min(), order_channel=paid.channel.argmin(paid.ts)
    )
    first = first.filter(in_days(first.first_day, since, until))
    users = con.table("users")
    users = users.select(uid=users.user_id, user_channel=users.channel)
    joined = first.left_join(users, first.user_id == users.uid)
    # The profile's channel is the acquisition channel; the first order's is the fallback.
    channel = joined.user_channel.fill_null(joined.order_channel).fill_null(NONE)
    return joined.select(joined.user_id, joined.first_day, channel=channel)


class AcquisitionRunner(Runner[AcquisitionQuery, AcquisitionResult]):
    """CAC = spend / new customers per channel, LTV at horizons, payback, CAC by period."""

    query_type: ClassVar[type[AcquisitionQuery]] = AcquisitionQuery

    def validate(self) -> None:
        """An ordered window and positive horizons."""
        q = self.query
        if q.since and q.until and q.since > q.until:
            raise InvalidQuery(field="since", reason="since is after until")
        if not q.horizons or any(d < 1 for d in q.horizons):
            raise InvalidQuery(field="horizons", reason="horizons are whole days from 1")

    def run(self, con: BaseBackend) -> AcquisitionResult:
        """Answer the query."""
        q = self.query
        scope = currency_scope(con, q.currency)
        spend = con.table("spend")
        seen, spent = data_bounds(con, self.zone, spend=True)
        # Spend days widen the default window but never the observed revenue.
        bounds = Bounds.of([seen.first, seen.last, spent.first, spent.last])
        window = make_window(q.period, q.since, q.until, bounds, window_of(con).days())
        if window is None or seen.last is None:
            return AcquisitionResult(
                **scope.fields(),
                period=q.period,
                zone=self.zone.key,
                since=q.since,
                until=q.until,
                observed_until=None,
                margin=q.margin,
                channels=[],
                total=None,
                series=[],
            )
        since = window.since or window.start
        until, observed = window.until, seen.last
        spend = spend.filter(in_days(spend.day, since, until))
        # Spend with no currency is taken to be in the orders' currency.
        ours = spend.currency.isnull() | (spend.currency == scope.currency)
        other = spend.filter(~ours)
        other = other.group_by("currency").aggregate(spend=other.amount.sum()).execute()
        spend = spend.filter(ours)
        spend = spend.mutate(pidx=period_index(spend.day, q.period))
        spend_frame = spend.group_by(["channel", "pidx"]).aggregate(spend=spend.amount.sum())
        customers = new_customers(con, self.zone, since, until, scope)
        customers = customers.mutate(
            cidx=period_index(customers.first_day, q.period),
            first_num=day_number(customers.first_day),
        )
        cells = self._cells(self._money(con, customers, scope)).execute()
        frames = {"spend": spend_frame.execute(), "cells": cells}
        channels = sorted(
            {str(c) for c in frames["spend"].channel} | {str(c) for c in frames["cells"].channel}
        )
        rows = [self._row(c, frames, observed, [c]) for c in channels]
        total = self._row(ALL, frames, observed, channels) if channels else None
        return AcquisitionResult(
            **scope.fields(),
            period=q.period,
            zone=self.zone.key,
            since=since,
            until=until,
            observed_until=observed,
            margin=q.margin,
            channels=rows,
            total=total,
            series=self._series(frames, window, [*channels, ALL] if channels else [], scope),
            spend_missing=_spend_missing(rows, total),
            left_out_spend={
                str(r["currency"]): round(number(r["spend"]), 4) for r in other.to_dict("records")
            },
        )

    def _money(self, con: BaseBackend, customers: ir.Table, scope: CurrencyScope) -> ir.Table:
        days = ltv_money_days(money_days(con, self.zone, scope))
        joined = customers.join(days, "user_id")
        return joined.mutate(
            days=day_number(joined.day) - joined.first_num,
            offset=period_index(joined.day, self.query.period) - joined.cidx,
        ).filter(lambda t: t.days >= 0)

    def _cells(self, money: ir.Table) -> ir.Table:
        """Per channel, first day and period offset: new customers, revenue, revenue by horizon.

        money_days has one row per customer and day, and every new customer has a paid order
        on day 0: counting day-0 rows counts the customers.
        """
        sums: dict[str, Any] = {
            f"h{d}": money.revenue.sum(where=money.days < d) for d in self.query.horizons
        }
        return money.group_by(["channel", "first_day", "cidx", "offset"]).aggregate(
            n=ibis.ifelse(money.days == 0, 1, 0).sum(), revenue=money.revenue.sum(), **sums
        )

    def _row(
        self, name: str, frames: dict[str, pd.DataFrame], observed: date, channels: list[str]
    ) -> ChannelRow:
        q = self.query
        pick = {k: f[f.channel.astype(str).isin(channels)] for k, f in frames.items()}
        # No spend row is missing spend, not spend of zero: then there is no CAC to pay back.
        spend = (
            round(sum(number(v) for v in pick["spend"].spend), 4) if len(pick["spend"]) else None
        )
        n = int(sum(int(v) for v in pick["cells"].n))
        cac = None if spend is None else ratio(spend, n)
        ltv = [self._ltv(d, pick, observed, cac) for d in q.horizons]
        curve = self._curve(pick, index_of(observed, q.period))
        return ChannelRow(
            channel=name,
            spend=spend,
            new_customers=n,
            cac=cac,
            ltv=ltv,
            margin_curve=curve,
            payback_period=payback_periods(curve, cac),
        )

    def _ltv(
        self, days: int, pick: dict[str, pd.DataFrame], observed: date, cac: float | None
    ) -> HorizonLtv:
        # Only customers whose first `days` days are all observed count at this horizon.
        last_first = observed - timedelta(days=days - 1)
        eligible = _first_by(pick["cells"], last_first)
        n = int(sum(int(v) for v in eligible.n))
        ltv = ratio(sum(number(v) for v in eligible[f"h{days}"]), n)
        return HorizonLtv(
            days=days,
            customers=n,
            ltv=ltv,
            ltv_to_cac=None if ltv is None else ratio(ltv, cac or 0),
        )

    def _curve(self, pick: dict[str, pd.DataFrame], end: int) -> list[float]:
        sizes: dict[int, int] = defaultdict(int)
        revenue: dict[tuple[int, int], float] = defaultdict(float)
        for rec in pick["cells"].to_dict("records"):
            sizes[int(rec["cidx"])] += int(rec["n"])
            revenue[(int(rec["cidx"]), int(rec["offset"]))] += number(rec["revenue"])
        if not sizes:
            return []
        curve = []
        for k in range(end - min(sizes) + 1):
            # Each offset is averaged over the cohorts observed at least that long.
            cohorts = [c for c in sizes if end - c >= k]
            money = sum(revenue[(c, j)] for c in cohorts for j in range(k + 1))
            curve.append(round(self.query.margin * money / sum(sizes[c] for c in cohorts), 4))
        return curve

    def _series(
        self,
        frames: dict[str, pd.DataFrame],
        window: Window,
        channels: list[str],
        scope: CurrencyScope,
    ) -> list[KpiSeries]:
        out = []
        for name in channels:
            chosen = channels[:-1] if name == ALL else [name]
            spend_rows = frames["spend"][frames["spend"].channel.astype(str).isin(chosen)]
            has_spend = len(spend_rows) > 0
            size_rows = frames["cells"][frames["cells"].channel.astype(str).isin(chosen)]
            spend: dict[int, float] = defaultdict(float)
            for rec in spend_rows.to_dict("records"):
                spend[int(rec["pidx"])] += number(rec["spend"])
            count: dict[int, int] = defaultdict(int)
            for rec in size_rows.to_dict("records"):
                count[int(rec["cidx"])] += int(rec["n"])
            indices = window.indices
            spent = {i: round(spend[i], 4) if has_spend else None for i in indices}
            cac = {i: ratio(spend[i], count[i]) if has_spend else None for i in indices}
            money = [
                build_series("spend", spent, window, name),
                build_series("cac", cac, window, name),
            ]
            for one in money:
                one.currency = scope.currency
            out += [
                money[0],
                build_series("new_customers", {i: count[i] for i in indices}, window, name),
                money[1],
            ]
        return out


def payback_periods(curve: list[float], cac: float | None) -> int | None:
    """How many periods until the cumulative margin per customer reaches CAC.

    `curve[k]` is the margin up to and including period k after the first order's own (k = 0),
    so reaching CAC at k takes k + 1 periods: a first order that pays CAC back does it in one
    period, never zero. Zero is kept for a CAC of zero (nothing to pay back); None when there is
    no CAC or the curve has not reached it yet.
    """
    if cac is None:
        return None
    if cac <= 0:
        return 0
    return next((k + 1 for k, margin in enumerate(curve) if margin >= cac), None)


def _spend_missing(rows: list[ChannelRow], total: ChannelRow | None) -> list[str]:
    """Channels that acquired customers without a spend row; `(all)` when there is no spend."""
    if total is None or total.spend is None:
        return [ALL]
    return [r.channel for r in rows if r.spend is None and r.new_customers]


def _first_by(frame: pd.DataFrame, last: date) -> pd.DataFrame:
    """The rows whose `first_day` is on or before `last`."""
    keep = [as_date(d) <= last for d in frame.first_day]
    return frame.loc[pd.Series(keep, index=frame.index, dtype=bool)]
