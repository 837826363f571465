"""Who arrives at a campaign on each scan: its audience, or the users its trigger fired for.

A scan reads from a cursor (kept on the campaign row) to now and returns arrivals, each with a
source that names its cause (`event:<id>`, `lifecycle:<transition id>`, `date:<day>` …). The
enrolment refuses a (user, source) pair it has seen, so scans may overlap: events are read
from `LATE` before the cursor, which lets an event that reached the warehouse a little after
its own time still count. Events later than that are not triggers (an import of last year's
history does not send last year's welcome e-mails).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from ibis.backends import BaseBackend

from tenure.campaigns import facts
from tenure.campaigns.service.calendar import holiday_days
from tenure.campaigns.service.enroll import Arrival
from tenure.campaigns.spec import (
    Audience,
    Campaign,
    DateEntry,
    EventEntry,
    HolidayEntry,
    LifecycleEntry,
    LoyaltyEntry,
    Once,
    SegmentEntry,
    parse_duration,
)
from tenure.kit.time import parse_iso
from tenure.loyalty import service as loyalty
from tenure.segments import service as segments
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

LATE = timedelta(minutes=15)
ORDER_NAMES = ("order", "Order Completed")
DAYS_BACK = 7  # a worker down for longer does not send a week-old birthday greeting


@dataclass(frozen=True)
class Scan:
    """Arrivals found, and where the next scan starts."""

    arrivals: list[Arrival]
    cursor: str | None


@dataclass(frozen=True)
class Scanner:
    """The stores and the shop's zone a scan reads with."""

    database: Database
    warehouse: Warehouse
    zone: ZoneInfo

    def scan(
        self, campaign: Campaign, cursor: str | None, started: datetime, now: datetime
    ) -> Scan:
        """The arrivals since `cursor` (none yet: since the campaign started)."""
        trigger = campaign.trigger
        if trigger.type in ("once", "recurring"):
            at = trigger.at if isinstance(trigger, Once) and trigger.at else None
            start = max(at, now) if at else now
            users = facts.audience(self.database, self.warehouse, campaign.audience, self.zone)
            source = "run:once" if trigger.type == "once" else f"run:{now.isoformat()}"
            return Scan([Arrival(u, source, start) for u in users], now.isoformat())
        if isinstance(trigger, EventEntry):
            found = self._events(trigger, _instant(cursor, started), now)
        elif isinstance(trigger, LifecycleEntry):
            found = self._lifecycle(trigger, cursor, now)
        elif isinstance(trigger, SegmentEntry):
            found = self._segment(trigger, cursor, now)
        elif isinstance(trigger, LoyaltyEntry):
            found = self._loyalty(trigger, cursor, now)
        elif isinstance(trigger, DateEntry | HolidayEntry):
            found = self._days(trigger, cursor, started, now)
        else:
            raise AssertionError(trigger)
        return Scan(self._in_audience(campaign, found.arrivals), found.cursor)

    # ---- events ----------------------------------------------------------------------------

    def _events(self, trigger: EventEntry, since: datetime, now: datetime) -> Scan:
        within = parse_duration(trigger.within) if trigger.within else timedelta(0)
        until = now - within  # a candidate is decided once its whole window has passed
        if until <= since:
            return Scan([], since.isoformat())
        with self.warehouse.reader() as con:
            found = _occurrences(con, trigger.event, since - LATE, until, trigger.first_order)
            if trigger.unless and not found.empty:
                later = _occurrences(con, trigger.unless, since - LATE, now, False)
                found = _without_follow_up(found, later, within)
        arrivals = [Arrival(str(r.user_id), f"event:{r.ref}", now) for r in found.itertuples()]
        return Scan(arrivals, until.isoformat())

    # ---- lifecycle and segments ------------------------------------------------------------

    def _lifecycle(self, trigger: LifecycleEntry, cursor: str | None, now: datetime) -> Scan:
        if cursor is None:  # moves recorded before the campaign started do not count
            return Scan([], str(self.database.read(segments.last_transition)))
        after = int(cursor)
        moves = self.database.read(
            lambda s: segments.transitions(s, to_stage=trigger.to, after_id=after, limit=100_000)
        )
        arrivals = [
            Arrival(str(m.user_id), f"lifecycle:{m.id}", now)
            for m in moves
            if trigger.source is None or m.from_stage == trigger.source
        ]
        last = max((int(m.id) for m in moves), default=after)
        return Scan(arrivals, str(last))

    def _loyalty(self, trigger: LoyaltyEntry, cursor: str | None, now: datetime) -> Scan:
        if trigger.moment == "tier_up":
            if cursor is None:
                return Scan([], str(self.database.read(loyalty.last_tier_event)))
            ups = self.database.read(lambda s: loyalty.upgrades_after(s, int(cursor)))
            arrivals = [Arrival(e.user_id, f"tier_up:{e.id}", now) for e in ups]
            return Scan(arrivals, str(max((e.id for e in ups), default=int(cursor))))
        since = parse_iso(cursor) if cursor else now
        notices = self.database.read(lambda s: loyalty.expiry_notices(s, since, 100_000))
        arrivals = [Arrival(n.user_id, f"points_expiring:{n.lot_id}", now) for n in notices]
        last = max((n.created_at for n in notices), default=since)
        return Scan(arrivals, last.isoformat())

    def _segment(self, trigger: SegmentEntry, cursor: str | None, now: datetime) -> Scan:
        key = trigger.segment
        if cursor is None:  # starts from the refresh current when the campaign started
            return Scan([], str(self.database.read(lambda s: segments.last_snapshot(s, key))))
        joined = self.database.read(lambda s: segments.joined_after(s, key, int(cursor)))
        arrivals = [Arrival(u, f"segment:{snap}", now) for snap, u in joined]
        return Scan(arrivals, str(max((s for s, _ in joined), default=int(cursor))))

    # ---- dates and the shop calendar -------------------------------------------------------

    def _days(
        self,
        trigger: DateEntry | HolidayEntry,
        cursor: str | None,
        started: datetime,
        now: datetime,
    ) -> Scan:
        today = now.astimezone(self.zone).date()
        first = (
            date.fromisoformat(cursor) + timedelta(days=1)
            if cursor
            else started.astimezone(self.zone).date()
        )
        first = max(first, today - timedelta(days=DAYS_BACK))
        arrivals: list[Arrival] = []
        day = first
        while day <= today:
            start = max(datetime.combine(day, trigger.at, self.zone), now)
            for user, source in self._due_on(trigger, day):
                arrivals.append(Arrival(user, source, start))
            day += timedelta(days=1)
        return Scan(arrivals, today.isoformat())

    def _due_on(self, trigger: DateEntry | HolidayEntry, day: date) -> list[tuple[str, str]]:
        target = day - timedelta(days=trigger.offset_days)
        if isinstance(trigger, HolidayEntry):
            days = self.database.read(lambda s: holiday_days(s, trigger.holiday))
            if target not in days:
                return []
            users = self._everyone()
            return [(u, f"holiday:{trigger.holiday}:{target}") for u in users]
        if trigger.attribute == "member_day":
            if day.day != trigger.day_of_month:
                return []
            return [(u, f"member_day:{day}") for u in self._everyone()]
        with self.warehouse.reader() as con:
            users = _dated_users(con, trigger.attribute, target, self.zone)
        return [(u, f"{trigger.attribute}:{target}") for u in users]

    def _everyone(self) -> list[str]:
        return facts.audience(self.database, self.warehouse, Audience(), self.zone)

    def _in_audience(self, campaign: Campaign, arrivals: list[Arrival]) -> list[Arrival]:
        audience = campaign.audience
        if not arrivals or (audience.segment is None and audience.rule is None):
            return arrivals
        members = set(facts.audience(self.database, self.warehouse, audience, self.zone))
        return [a for a in arrivals if a.user_id in members]


def _instant(cursor: str | None, started: datetime) -> datetime:
    return parse_iso(cursor) if cursor else started


def _occurrences(
    con: BaseBackend, name: str, since: datetime, until: datetime, first: bool
) -> pd.DataFrame:
    """(user_id, ts, ref) of an event, or of paid orders for `order` / `Order Completed`."""
    if name in ORDER_NAMES:
        orders = con.table("orders")
        paid = orders.filter(orders.status == "paid", orders.user_id.notnull())
        if first:
            firsts = paid.group_by("user_id").aggregate(ts=paid.ts.min())
            chosen = firsts.join(paid, ["user_id", "ts"]).select("user_id", "ts", ref=paid.order_id)
        else:
            chosen = paid.select("user_id", "ts", ref=paid.order_id)
    else:
        events = con.table("events")
        chosen = events.filter(events.name == name, events.user_id.notnull()).select(
            "user_id", "ts", ref=events.event_id
        )
    window = chosen.filter(chosen.ts > since, chosen.ts <= until)
    frame = window.execute()
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame.drop_duplicates("ref")


def _without_follow_up(found: pd.DataFrame, later: pd.DataFrame, within: timedelta) -> pd.DataFrame:
    """The occurrences not followed by a `later` one of the same user within `within`."""
    if later.empty:
        return found
    pairs = found.reset_index().merge(
        later[["user_id", "ts"]], on="user_id", how="left", suffixes=("", "_next")
    )
    hit = (pairs["ts_next"] > pairs["ts"]) & (pairs["ts_next"] <= pairs["ts"] + within)
    followed = set(pairs.loc[hit, "index"])
    return found[~found.index.isin(followed)]


def _dated_users(con: BaseBackend, attribute: str, target: date, zone: ZoneInfo) -> list[str]:
    """Users whose birthday (or sign-up day) falls on `target`'s month and day (29 Feb → 28 Feb)."""
    users = con.table("users")
    column: Any = users.birthday if attribute == "birthday" else users.signup_at
    frame = users.filter(column.notnull()).select("user_id", when=column).execute()
    if frame.empty:
        return []
    when = pd.to_datetime(frame["when"], utc=attribute != "birthday")
    if attribute != "birthday":
        when = when.dt.tz_convert(zone.key)
    month, day = when.dt.month, when.dt.day
    leap_moved = (month == 2) & (day == 29) & (not calendar.isleap(target.year))
    day = day.where(~leap_moved, 28)
    hit = (month == target.month) & (day == target.day)
    if attribute == "signup_anniversary":
        hit &= when.dt.year < target.year
    return sorted(str(u) for u in frame.loc[hit.to_numpy(), "user_id"])
