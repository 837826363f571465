"""What campaigns read from the warehouse: audiences, orders since entry, template profiles."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from tenure.analytics.features import data_end
from tenure.campaigns.spec import Audience
from tenure.kit.time import as_utc
from tenure.segments.service import all_members, member_ids, parse_rule
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

# Profile attributes a template may read as `user.<name>`; the rest stay in `profile`.
_PROFILE_COLUMNS = ("country", "channel", "birthday", "signup_at")


def _ids(values: Sequence[str]) -> ibis.Table:
    return ibis.memtable(pd.DataFrame({"user_id": list(values)}), schema={"user_id": "string"})


def audience(database: Database, warehouse: Warehouse, spec: Audience, zone: ZoneInfo) -> list[str]:
    """The users an audience names now: a saved segment, an inline rule, or every known user."""
    if spec.segment is not None:
        key = spec.segment
        return database.read(lambda s: all_members(s, key))
    with warehouse.reader() as con:
        if spec.rule is None:
            ids = con.table("users").user_id.execute().dropna()
            return [str(u) for u in ids.tolist()]
        node, _ = parse_rule(spec.rule)
        end = data_end(con, zone) or date.today()
        return database.read(lambda s: member_ids(s, con, node, zone, end))


def ordered_since(con: BaseBackend, entries: Sequence[tuple[int, str, datetime]]) -> set[int]:
    """The enrolments (id, user, entered_at) whose user paid for an order after entering."""
    if not entries:
        return set()
    users = sorted({u for _, u, _ in entries})
    earliest = min(at for _, _, at in entries)
    orders = con.table("orders")
    found = (
        orders.filter(orders.status == "paid", orders.ts >= earliest)
        .semi_join(_ids(users), "user_id")
        .group_by("user_id")
        .aggregate(last=orders.ts.max())
        .execute()
    )
    last = {
        str(u): pd.Timestamp(t).to_pydatetime()
        for u, t in zip(found.user_id, found["last"], strict=True)
    }
    out = set()
    for enrollment, user, at in entries:
        seen = last.get(user)
        if seen is not None and as_utc(seen) >= at:
            out.add(enrollment)
    return out


def profiles(con: BaseBackend, user_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each user's attributes (their identify traits) and profile columns, for templates."""
    if not user_ids:
        return {}
    users = con.table("users")
    frame = (
        users.semi_join(_ids(user_ids), "user_id")
        .select("user_id", "attributes", *_PROFILE_COLUMNS)
        .execute()
    )
    out: dict[str, dict[str, Any]] = {}
    for record in frame.to_dict("records"):
        values: dict[str, Any] = {}
        try:
            attributes = json.loads(record["attributes"]) if record["attributes"] else {}
        except (TypeError, ValueError):
            attributes = {}
        if isinstance(attributes, dict):
            values.update(attributes)
        for column in _PROFILE_COLUMNS:
            value = record[column]
            values[column] = None if pd.isna(value) else value
        out[str(record["user_id"])] = values
    return out
