"""Active, new, returning, resurrected and dormant users per period, from the user-day rollup."""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import pandas as pd

from tenure.analytics.kpis.periods import Window, number, ratio
from tenure.analytics.kpis.query import USER_METRICS
from tenure.kit.localtime import period_index

COUNTS = ("active", "new", "returning", "leaving", "user_days", "entering")


@dataclass
class UserCounts:
    """Per-period user counts (period number -> count) and window totals."""

    active: dict[int, int] = field(default_factory=dict)
    user_days: dict[int, int] = field(default_factory=dict)
    new: dict[int, int] = field(default_factory=dict)
    returning: dict[int, int] = field(default_factory=dict)
    dormant: dict[int, int] = field(default_factory=dict)
    total_active: int = 0
    total_user_days: int = 0
    total_new: int = 0

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, window: Window) -> UserCounts:
        """From the per-period aggregate of `per_period`."""
        rows = {
            int(r["pidx"]): {c: int(number(r[c])) for c in COUNTS} for r in frame.to_dict("records")
        }
        inside = [r for p, r in rows.items() if window.first <= p <= window.last]
        return cls(
            active={p: r["active"] for p, r in rows.items()},
            user_days={p: r["user_days"] for p, r in rows.items()},
            new={p: r["new"] for p, r in rows.items()},
            returning={p: r["returning"] for p, r in rows.items()},
            # Users who leave after period p are dormant in period p + 1.
            dormant={p + 1: r["leaving"] for p, r in rows.items()},
            total_active=sum(r["entering"] for r in inside),
            total_user_days=sum(r["user_days"] for r in inside),
            total_new=sum(r["new"] for r in inside),
        )

    def series(self, window: Window) -> dict[str, dict[int, int | float | None]]:
        """The user metrics by period number, for the window and the period before it."""
        out: dict[str, dict[int, int | float | None]] = {name: {} for name in USER_METRICS}
        for index in range(window.first - 1, window.last + 1):
            active = self.active.get(index, 0)
            new = self.new.get(index, 0)
            returning = self.returning.get(index, 0)
            dau = self.user_days.get(index, 0) / window.days(index)
            out["active_users"][index] = active
            out["dau"][index] = round(dau, 4)
            out["stickiness"][index] = ratio(dau, active)
            out["new_users"][index] = new
            out["returning_users"][index] = returning
            # Every active user is exactly one of new, returning or resurrected.
            out["resurrected_users"][index] = active - new - returning
            out["dormant_users"][index] = self.dormant.get(index, 0)
        return out


def per_period(days: ir.Table, window: Window) -> ir.Table:
    """Per period: active users, new, returning, leaving (not active next period), user-days.

    `days` is the user_days rollup (one row per user and shop-local day). Each user's active
    periods over all history up to `until` are ordered, so the previous and next active period
    tell new (none before), returning (the period just before) and leaving (not the next one)
    in one pass. `entering` counts users in their first active period of the window.
    """
    # An active day has a paid order or an event; a refund alone is not activity.
    active = days.filter(((days.orders + days.events) > 0) & (days.day <= window.until))
    active = active.mutate(pidx=period_index(active.day, window.period).cast("int64"))
    periods = active.group_by(["user_id", "pidx"]).aggregate(days=active.count())
    order = ibis.window(group_by="user_id", order_by="pidx")
    periods = periods.mutate(
        prev=periods.pidx.lag().over(order), next=periods.pidx.lead().over(order)
    )
    # Two periods before the window: who leaves then is dormant in the lookback period.
    periods = periods.filter(periods.pidx >= window.first - 2)
    return periods.group_by("pidx").aggregate(
        active=periods.count(),
        new=_count(periods.prev.isnull()),
        returning=_count(periods.prev == periods.pidx - 1),
        leaving=_count(periods.next.isnull() | (periods.next != periods.pidx + 1)),
        user_days=periods.days.sum(),
        entering=_count(periods.prev.isnull() | (periods.prev < window.first)),
    )


def _count(condition: ir.BooleanValue) -> ir.IntegerValue:
    """How many rows meet a condition (NULL counts as not)."""
    return ibis.ifelse(condition.fill_null(False), 1, 0).sum()


def user_counts(days: ir.Table, window: Window) -> UserCounts:
    """Run the user-count expression over the window and the period before it."""
    return UserCounts.from_frame(per_period(days, window).execute(), window)
