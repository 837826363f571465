"""Active, new, returning, resurrected and dormant users per period, from the activity rollup."""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from tenure.analytics.kpis.periods import Window, ratio
from tenure.analytics.kpis.query import USER_METRICS
from tenure.analytics.kpis.sources import fetch, in_days, longer
from tenure.analytics.localtime import period_index


@dataclass
class UserCounts:
    """Per-period user counts (period number -> count) and window totals."""

    active: dict[int, float] = field(default_factory=dict)
    user_days: dict[int, float] = field(default_factory=dict)
    new: dict[int, float] = field(default_factory=dict)
    returning: dict[int, float] = field(default_factory=dict)
    dormant: dict[int, float] = field(default_factory=dict)
    total_active: int = 0
    total_user_days: float = 0.0
    total_new: int = 0

    def series(self, window: Window) -> dict[str, dict[int, int | float | None]]:
        """The user metrics by period number, for the window and the period before it."""
        out: dict[str, dict[int, int | float | None]] = {name: {} for name in USER_METRICS}
        for index in range(window.first - 1, window.last + 1):
            active = int(self.active.get(index, 0))
            new = int(self.new.get(index, 0))
            returning = int(self.returning.get(index, 0))
            dau = self.user_days.get(index, 0) / window.days(index)
            out["active_users"][index] = active
            out["dau"][index] = round(dau, 4)
            out["stickiness"][index] = ratio(dau, active)
            out["new_users"][index] = new
            out["returning_users"][index] = returning
            # Every active user is exactly one of new, returning or resurrected.
            out["resurrected_users"][index] = active - new - returning
            out["dormant_users"][index] = int(self.dormant.get(index, 0))
        return out


def user_counts(days: ir.Table, window: Window) -> UserCounts:
    """Run the user-count expressions over the window and the period before it, in one query.

    `days` is the user_days rollup: one row per user and shop-local day.
    """
    period = window.period
    # An active day has a paid order or an event; a refund alone is not activity.
    active = days.filter((days.orders + days.events) > 0).select("user_id", "day")
    user_days = active.filter(in_days(active.day, window.lookback, window.until))
    daily = user_days.group_by("day").aggregate(users=user_days.count())
    daily = daily.mutate(pidx=period_index(daily.day, period))
    per_day = daily.group_by("pidx").aggregate(user_days=daily.users.sum())

    periods = user_days.select("user_id", pidx=period_index(user_days.day, period)).distinct()
    counts = periods.group_by("pidx").aggregate(users=periods.count())
    before = periods.select(prev_user=periods.user_id, next_pidx=periods.pidx + 1)
    pairs = periods.join(
        before, [periods.user_id == before.prev_user, periods.pidx == before.next_pidx]
    )
    returning = pairs.group_by("pidx").aggregate(users=pairs.count())
    gone = before.anti_join(
        periods, [before.prev_user == periods.user_id, before.next_pidx == periods.pidx]
    )
    dormant = gone.group_by("next_pidx").aggregate(users=gone.count())

    # First activity ever, over all history, decides who is new.
    first = active.group_by("user_id").aggregate(first_day=active.day.min())
    first = first.filter(in_days(first.first_day, window.lookback, window.until))
    first = first.mutate(pidx=period_index(first.first_day, period))
    new = first.group_by("pidx").aggregate(users=first.count())
    total_new = first.filter(first.first_day >= window.start)
    total_new = total_new.aggregate(users=total_new.count())

    in_window = user_days.filter(user_days.day >= window.start)
    totals = in_window.aggregate(users=in_window.user_id.nunique(), user_days=in_window.count())
    zero = ibis.literal(0)
    stats = fetch(
        [
            longer(per_day, per_day.pidx, {"user_days": per_day.user_days}),
            longer(counts, counts.pidx, {"active": counts.users}),
            longer(returning, returning.pidx, {"returning": returning.users}),
            longer(dormant, dormant.next_pidx, {"dormant": dormant.users}),
            longer(new, new.pidx, {"new": new.users}),
            longer(total_new, zero, {"total_new": total_new.users}),
            longer(
                totals, zero, {"total_active": totals.users, "total_user_days": totals.user_days}
            ),
        ]
    )
    return UserCounts(
        active=stats["active"],
        user_days=stats["user_days"],
        new=stats["new"],
        returning=stats["returning"],
        dormant=stats["dormant"],
        total_active=int(stats["total_active"].get(0, 0)),
        total_user_days=stats["total_user_days"].get(0, 0.0),
        total_new=int(stats["total_new"].get(0, 0)),
    )
