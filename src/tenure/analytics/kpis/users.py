"""Active, new, returning, resurrected and dormant users per period, from the activity rollup."""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis.expr.types as ir

from tenure.analytics.activity import Activity
from tenure.analytics.kpis.periods import Window, by_index, number, ratio
from tenure.analytics.kpis.sources import in_days
from tenure.analytics.localtime import period_index

# An active user did anything but receive a refund (refunds happen to people, not by them).
ACTIVE = Activity(kind="any")


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
        out: dict[str, dict[int, int | float | None]] = {
            name: {}
            for name in (
                "active_users",
                "dau",
                "stickiness",
                "new_users",
                "returning_users",
                "resurrected_users",
                "dormant_users",
            )
        }
        for index in range(window.first - 1, window.last + 1):
            active = int(self.active.get(index, 0))
            new = int(self.new.get(index, 0))
            returning = int(self.returning.get(index, 0))
            dau = round(self.user_days.get(index, 0) / window.days(index), 4)
            out["active_users"][index] = active
            out["dau"][index] = dau
            out["stickiness"][index] = ratio(dau, active)
            out["new_users"][index] = new
            out["returning_users"][index] = returning
            # Every active user is exactly one of new, returning or resurrected.
            out["resurrected_users"][index] = active - new - returning
            out["dormant_users"][index] = int(self.dormant.get(index, 0))
        return out


def user_counts(act: ir.Table, window: Window) -> UserCounts:
    """Run the user-count expressions over the window and the period before it."""
    period = window.period
    active = act.filter(ACTIVE.predicate(act.source))
    scoped = active.filter(in_days(active.day, window.lookback, window.until))
    user_days = scoped.select("user_id", "day").distinct()
    daily = user_days.group_by("day").aggregate(users=user_days.count())
    daily = daily.mutate(pidx=period_index(daily.day, period))
    per_day = daily.group_by("pidx").aggregate(user_days=daily.users.sum()).execute()

    periods = user_days.select("user_id", pidx=period_index(user_days.day, period)).distinct()
    counts = periods.group_by("pidx").aggregate(users=periods.count()).execute()
    before = periods.select(prev_user=periods.user_id, next_pidx=periods.pidx + 1)
    pairs = periods.join(
        before, [periods.user_id == before.prev_user, periods.pidx == before.next_pidx]
    )
    returning = pairs.group_by("pidx").aggregate(users=pairs.count()).execute()
    gone = before.anti_join(
        periods, [before.prev_user == periods.user_id, before.next_pidx == periods.pidx]
    )
    dormant = gone.group_by("next_pidx").aggregate(users=gone.count()).execute()

    # First activity ever, over all history, decides who is new.
    first = active.group_by("user_id").aggregate(first_day=active.day.min())
    first = first.filter(in_days(first.first_day, window.lookback, window.until))
    first = first.mutate(pidx=period_index(first.first_day, period))
    new = first.group_by("pidx").aggregate(users=first.count()).execute()
    total_new = first.filter(first.first_day >= window.start).count().execute()

    in_window = user_days.filter(user_days.day >= window.start)
    totals = in_window.aggregate(
        users=in_window.user_id.nunique(), user_days=in_window.count()
    ).execute()
    return UserCounts(
        active=by_index(counts, "users"),
        user_days=by_index(per_day, "user_days"),
        new=by_index(new, "users"),
        returning=by_index(returning, "users"),
        dormant=by_index(dormant, "users", key="next_pidx"),
        total_active=int(number(totals["users"].iloc[0])),
        total_user_days=number(totals["user_days"].iloc[0]),
        total_new=int(total_new),
    )
