"""Uplift training rows: the churn feature set before treatment, and the outcome after it.

A unit is one customer of a past campaign or experiment: `user_id`, `treated` (True: got the
treatment; False: the control group or holdout) and `at`, the aware UTC time they were assigned.
Features are the churn model's (`tenure.predict.churn.features.customer_features`) read with a
cut-off no later than `at`, so nothing the treatment caused leaks into them. Units assigned on
the same shop-local day share one cut-off: the earliest `at` of that day (a campaign that
entered everyone at once reads the warehouse once). The outcome is what the customer did in
[at, at + outcome_days): paid orders, and revenue in the shop's main currency
(`tenure.analytics.currency`).

Only customers (a paid order before the cut-off) have churn features; other units are left
out and counted (`dropped` in the service's result).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from tenure.analytics.currency import currency_scope
from tenure.experiments.uplift.errors import UpliftUnitsInvalid
from tenure.kit.time import parse_iso
from tenure.predict.churn.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES, customer_features

UNIT_COLUMNS = ("user_id", "treated", "at")
# The outcome columns of a training frame, by outcome name ("orders" is also a feature).
OUTCOMES = {"orders": "orders_after", "revenue": "revenue_after"}
FEATURES = (*NUMERIC_FEATURES, *CATEGORICAL_FEATURES)
TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y", "treated", "treatment"})
FALSE_WORDS = frozenset({"false", "f", "0", "no", "n", "control", "holdout"})


def validate_units(units: pd.DataFrame, source: str = "units") -> pd.DataFrame:
    """Units as user_id (str), treated (bool), at (UTC); one row per user (their earliest).

    A missing column, an empty user id, a treatment that is not a boolean or a naive time is
    an `UpliftUnitsInvalid` naming the column.
    """
    for column in UNIT_COLUMNS:
        if column not in units.columns:
            raise UpliftUnitsInvalid(source=source, column=column, reason="missing")
    frame = units[list(UNIT_COLUMNS)].copy()
    users = frame["user_id"]
    if users.isna().any() or (users.astype(str).str.strip() == "").any():
        raise UpliftUnitsInvalid(source=source, column="user_id", reason="empty user id")
    treated = frame["treated"]
    if not pd.api.types.is_bool_dtype(treated) and not treated.isin([0, 1]).all():
        raise UpliftUnitsInvalid(source=source, column="treated", reason="not true/false")
    at = frame["at"]
    if not isinstance(at.dtype, pd.DatetimeTZDtype):
        raise UpliftUnitsInvalid(source=source, column="at", reason="not timezone-aware times")
    if at.isna().any():
        raise UpliftUnitsInvalid(source=source, column="at", reason="missing time")
    frame = pd.DataFrame(
        {
            "user_id": users.astype(str),
            "treated": treated.astype(bool),
            "at": at.dt.tz_convert("UTC"),
        }
    )
    frame = frame.sort_values(["user_id", "at"], kind="stable")
    return frame.drop_duplicates("user_id", keep="first").reset_index(drop=True)


def units_from_records(records: Iterable[Mapping[str, Any]], source: str = "units") -> pd.DataFrame:
    """Units from text rows (a CSV file): treated as true/false, 1/0, treatment/holdout …;
    at as ISO-8601 (a time without an offset is UTC, as everywhere in Tenure)."""
    rows: list[tuple[str, bool, datetime]] = []
    for number, record in enumerate(records, start=2):  # line 1 is the header
        missing = [c for c in UNIT_COLUMNS if c not in record]
        if missing:
            raise UpliftUnitsInvalid(source=source, column=missing[0], reason="missing")
        user = str(record["user_id"] or "").strip()
        word = str(record["treated"] or "").strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            reason = f"line {number}: {word or 'empty'} is not true/false"
            raise UpliftUnitsInvalid(source=source, column="treated", reason=reason)
        try:
            at = parse_iso(str(record["at"] or ""))
        except ValueError:
            reason = f"line {number}: {record['at'] or 'empty'} is not an ISO-8601 time"
            raise UpliftUnitsInvalid(source=source, column="at", reason=reason) from None
        rows.append((user, word in TRUE_WORDS, at))
    return units_from_rows(rows, source)


def units_from_rows(
    rows: Iterable[tuple[str, bool, datetime]], source: str = "units"
) -> pd.DataFrame:
    """Units from (user_id, treated, at) tuples (a campaign's enrolments)."""
    frame = pd.DataFrame(list(rows), columns=list(UNIT_COLUMNS))
    frame["user_id"] = frame["user_id"].astype(str)
    frame["treated"] = frame["treated"].astype(bool)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return validate_units(frame, source)


def cutoffs(units: pd.DataFrame, zone: ZoneInfo) -> pd.Series:
    """Each unit's feature cut-off: the earliest `at` of the units of its shop-local day."""
    day = units["at"].dt.tz_convert(zone.key).dt.date
    return units.groupby(day)["at"].transform("min")


def _memtable(frame: pd.DataFrame) -> ibis.Table:
    schema: dict[str, Any] = {"user_id": "string"}
    schema.update({c: "timestamp('UTC')" for c in frame.columns if c != "user_id"})
    return ibis.memtable(frame, schema=schema)


def features(con: BaseBackend, units: pd.DataFrame, zone: ZoneInfo) -> pd.DataFrame:
    """Churn features of the units that were customers at their cut-off (user_id + FEATURES)."""
    parts = []
    cut = cutoffs(units, zone)
    for cutoff, group in units.groupby(cut):
        instant = pd.Timestamp(cutoff).to_pydatetime()
        table = customer_features(con, instant, zone)
        wanted = _memtable(group[["user_id"]].drop_duplicates())
        rows = table.semi_join(wanted, "user_id").select("user_id", *FEATURES).execute()
        parts.append(rows)
    columns = ["user_id", *FEATURES]
    if not parts:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(parts, ignore_index=True)[columns]
    frame["user_id"] = frame["user_id"].astype(str)
    return frame


def outcomes(con: BaseBackend, units: pd.DataFrame, days: int) -> pd.DataFrame:
    """Paid orders and revenue of each unit in [at, at + days): user_id, orders_after,
    revenue_after.

    Revenue is in the currency of most orders; orders count in any currency.
    """
    window = units[["user_id", "at"]].assign(until=units["at"] + timedelta(days=days))
    if window.empty:
        return pd.DataFrame({"user_id": [], "orders_after": [], "revenue_after": []})
    scope = currency_scope(con)
    orders = con.table("orders")
    lo = window["at"].min().to_pydatetime()
    hi = window["until"].max().to_pydatetime()
    paid = orders.filter(
        orders.user_id.notnull(), orders.status == "paid", orders.ts >= lo, orders.ts < hi
    ).select("user_id", "ts", "amount", "currency")
    unit = _memtable(window)
    joined = unit.join(paid, "user_id")
    inside = joined.filter(joined.ts >= joined.at, joined.ts < joined.until)
    money = inside.amount
    if scope.mixed:
        money = (inside.currency == scope.currency).ifelse(inside.amount, 0)
    found = (
        inside.group_by("user_id")
        .aggregate(orders_after=inside.count(), revenue_after=money.sum().cast("float64"))
        .execute()
    )
    found["user_id"] = found["user_id"].astype(str)
    out = window[["user_id"]].merge(found, on="user_id", how="left")
    out["orders_after"] = out["orders_after"].fillna(0).astype("float64")
    out["revenue_after"] = out["revenue_after"].fillna(0.0).astype("float64")
    return out


def training_frame(
    con: BaseBackend, units: pd.DataFrame, zone: ZoneInfo, outcome_days: int
) -> pd.DataFrame:
    """One row per unit that was a customer: user_id, treated, at, FEATURES and the outcomes
    (orders_after, revenue_after)."""
    units = validate_units(units)
    rows = features(con, units, zone)
    result = outcomes(con, units, outcome_days)
    frame = units.merge(rows, on="user_id", how="inner").merge(result, on="user_id", how="left")
    return frame.sort_values("user_id", ignore_index=True)
