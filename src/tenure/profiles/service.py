"""Building one user's profile from the warehouse and the operational database."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.selectors as s
import pandas as pd
from ibis.backends import BaseBackend
from sqlalchemy.orm import Session

from tenure.analytics.currency import currency_scope
from tenure.analytics.features import data_end, favourite_categories, order_features, people
from tenure.kit.money import Money
from tenure.kit.time import as_utc
from tenure.profiles.errors import UserNotFound
from tenure.profiles.schemas import (
    Amount,
    CustomerHit,
    Features,
    Lifecycle,
    Profile,
    Score,
    TimelineItem,
)
from tenure.segments import service as segments
from tenure.segments import tags
from tenure.storage.jsonfields import json_get

_USER_COLUMNS = ("first_seen", "signup_at", "channel", "country", "birthday")
# Attribute keys a search looks in, besides the user id (when the shop sends them).
SEARCH_ATTRIBUTES = ("email", "name", "first_name", "last_name", "phone")


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return _instant(value)
    return value


def _instant(value: Any) -> datetime:
    """A warehouse timestamp as aware UTC; some engines (Spark) hand back UTC without a zone."""
    return as_utc(pd.Timestamp(value).to_pydatetime())


def _json(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _money(value: Any, currency: str) -> Amount | None:
    value = _clean(value)
    if value is None:
        return None
    money = Money.of(Decimal(str(value)), currency)
    return Amount(minor=money.minor, currency=money.currency)


def _attributes(con: BaseBackend, user_id: str) -> dict[str, Any] | None:
    users = con.table("users").filter(lambda u: u.user_id == user_id).limit(1).execute()
    if users.empty:
        return None
    row = users.iloc[0]
    out = {c: _clean(row[c]) for c in _USER_COLUMNS}
    if isinstance(out["birthday"], datetime):
        out["birthday"] = out["birthday"].date()  # a calendar day, not an instant
    out.update(_json(row["attributes"]))
    return out


def _features(con: BaseBackend, zone: ZoneInfo, user_id: str, currency: str) -> Features:
    end = data_end(con, zone)
    if end is None:
        return Features(as_of=None)
    # Amounts are labelled `currency` (the user's latest order's): they must be in it.
    scope = currency_scope(con)
    if scope.mixed and currency in scope.held:
        scope = replace(scope, currency=currency)
    feats = order_features(con, zone, end, scope).filter(lambda t: t.user_id == user_id)
    feats = feats.execute()
    if feats.empty:
        return Features(as_of=end)
    row = feats.iloc[0]
    favourite = favourite_categories(con, zone, end).filter(lambda t: t.user_id == user_id)
    fav = favourite.execute()
    return Features(
        as_of=end,
        first_order_at=_clean(row["first_order_at"]),
        last_order_at=_clean(row["last_order_at"]),
        orders=int(row["orders"]),
        revenue=_money(row["revenue"], currency),
        aov=_money(row["aov"], currency),
        recency_days=int(row["recency_days"]),
        tenure_days=int(row["tenure_days"]),
        favourite_category=None if fav.empty else str(fav.favourite_category.iloc[0]),
        channel=_clean(row["first_channel"]),
    )


def _scores(con: BaseBackend, user_id: str) -> dict[str, Score]:
    scores = con.table("scores").filter(lambda s: s.user_id == user_id).execute()
    out: dict[str, Score] = {}
    for rec in scores.sort_values(["model", "version"]).to_dict("records"):
        out[str(rec["model"])] = Score(
            model=str(rec["model"]),
            version=str(rec["version"]),
            computed_at=_instant(rec["computed_at"]),
            values=_json(rec["values"]),
        )
    return out


def _currency(con: BaseBackend, user_id: str, default: str) -> str:
    orders = con.table("orders").filter(lambda o: o.user_id == user_id)
    latest = orders.order_by(orders.ts.desc()).select("currency").limit(1).execute()
    return str(latest.currency.iloc[0]) if len(latest) and latest.currency.iloc[0] else default


def timeline(con: BaseBackend, user_id: str, limit: int = 50) -> list[TimelineItem]:
    """The user's latest orders and events, newest first."""
    orders = con.table("orders").filter(lambda o: o.user_id == user_id)
    orders = orders.order_by(orders.ts.desc()).limit(limit).execute()
    events = con.table("events").filter(lambda e: e.user_id == user_id)
    events = events.order_by(events.ts.desc()).limit(limit).execute()
    items = [
        TimelineItem(
            ts=_instant(o["ts"]),
            kind="order",
            order_id=str(o["order_id"]),
            status=str(o["status"]),
            amount=_money(o["amount"], str(o["currency"] or "USD")),
            properties=_json(o["properties"]) or None,
        )
        for o in orders.to_dict("records")
    ]
    items += [
        TimelineItem(
            ts=_instant(e["ts"]),
            kind="event",
            name=_clean(e["name"]) or str(e["type"]),
            properties=_json(e["properties"]) or None,
        )
        for e in events.to_dict("records")
    ]
    return sorted(items, key=lambda i: i.ts, reverse=True)[:limit]


def user_exists(con: BaseBackend, user_id: str) -> bool:
    """Whether the warehouse knows a user id: a users row, or an order or an event under it
    (what `build_profile` needs to answer rather than raise UserNotFound)."""
    for name in ("users", "orders", "events"):
        table = con.table(name)
        if int(table.filter(table.user_id == user_id).limit(1).count().execute()):
            return True
    return False


def build_profile(
    con: BaseBackend,
    session: Session,
    user_id: str,
    zone: ZoneInfo,
    currency: str = "USD",
    timeline_limit: int = 50,
) -> Profile:
    """Attributes, features, scores, RFM, lifecycle, segments, tags and timeline of a user."""
    attributes = _attributes(con, user_id)
    items = timeline(con, user_id, timeline_limit)
    if attributes is None and not items:
        raise UserNotFound(user_id=user_id)
    scores = _scores(con, user_id)
    state = segments.stage_of(session, user_id)
    lifecycle = None
    if state is not None:
        lifecycle = Lifecycle(stage=state[0], since=state[1])
    elif "lifecycle" in scores:
        values = scores["lifecycle"].values
        lifecycle = Lifecycle(stage=values["stage"], since=date.fromisoformat(values["since"]))
    return Profile(
        user_id=user_id,
        attributes=attributes or {},
        features=_features(con, zone, user_id, _currency(con, user_id, currency)),
        scores=scores,
        rfm=scores["rfm"].values if "rfm" in scores else None,
        lifecycle=lifecycle,
        segments=segments.segments_of(session, user_id),
        tags=tags.tags_of(session, user_id),
        timeline=items,
    )


def search_users(
    con: BaseBackend, zone: ZoneInfo, query: str, limit: int = 50, offset: int = 0
) -> tuple[list[CustomerHit], bool]:
    """Known users whose id, or e-mail, name or phone attribute, contains `query` (ignoring
    case); exact id first, then ids that start with it, then by id. One page, and whether more
    follow. An empty query lists everyone by id."""
    users = con.table("users")
    table = people(con, zone).left_join(
        users.select("user_id", "country", "channel", "signup_at", "attributes"), "user_id"
    )
    table = table.select(~s.endswith("_right"))
    text = query.strip()
    needle = text.lower()
    if needle:
        hit = table.user_id.lower().contains(needle)
        for key in SEARCH_ATTRIBUTES:
            found = json_get(table.attributes, key, con.name).lower().contains(needle)
            hit = hit | found.fill_null(False)
        table = table.filter(hit)
        rank = ibis.cases(
            (table.user_id == text, 0),
            (table.user_id.lower().startswith(needle), 1),
            else_=2,
        )
    else:
        rank = ibis.literal(0)
    page = table.mutate(_rank=rank).order_by(["_rank", "user_id"]).limit(limit + 1, offset=offset)
    # The attributes are read out only for the page's rows.
    page = page.mutate(
        **{f"_a_{key}": json_get(page.attributes, key, con.name) for key in SEARCH_ATTRIBUTES}
    )
    frame = page.order_by(["_rank", "user_id"]).execute()
    hits = [_hit(rec) for rec in frame.head(limit).to_dict("records")]
    return hits, len(frame) > limit


def _hit(rec: dict[str, Any]) -> CustomerHit:
    first, last = _clean(rec["_a_first_name"]), _clean(rec["_a_last_name"])
    joined = " ".join(str(part) for part in (first, last) if part) or None
    return CustomerHit(
        user_id=str(rec["user_id"]),
        email=_clean(rec["_a_email"]),
        name=_clean(rec["_a_name"]) or joined,
        country=_clean(rec["country"]),
        channel=_clean(rec["channel"]),
        signup_at=_clean(rec["signup_at"]),
    )
