"""Per-customer (frequency, recency, T, spend) summaries from transactions, with a holdout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from tenure.predict.clv.inputs import InvalidInput
from tenure.predict.clv.timeunits import TimeUnit, days_per_unit


def _timestamps(values: Any, timezone: ZoneInfo | None) -> pd.Series:
    """Timestamps as a datetime Series, in `timezone` when given (naive ones are read in it)."""
    try:
        ts = pd.Series(pd.to_datetime(values if hasattr(values, "dt") else np.asarray(values)))
    except (TypeError, ValueError) as exc:
        raise InvalidInput("timestamps", f"not datetimes ({exc})") from None
    ts = ts.reset_index(drop=True)
    if ts.isna().any():
        at = int(np.flatnonzero(ts.isna().to_numpy())[0])
        raise InvalidInput("timestamps", f"{int(ts.isna().sum())} missing values, first at {at}")
    if timezone is not None:
        ts = ts.dt.tz_convert(timezone) if ts.dt.tz is not None else ts.dt.tz_localize(timezone)
    return ts


@dataclass(frozen=True)
class Transactions:
    """Transactions ready for summaries: one row per transaction, times as `at` describes."""

    frame: pd.DataFrame
    tz: Any
    merge_same_day: bool

    def at(self, value: Any, name: str) -> pd.Timestamp:
        """A period end or start on the same clock as `frame.ts` (a naive value is local)."""
        end = pd.Timestamp(value)
        if self.tz is not None:
            end = end.tz_localize(self.tz) if end.tzinfo is None else end.tz_convert(self.tz)
        elif end.tzinfo is not None:
            raise InvalidInput(name, "is time-zone aware but the timestamps are naive")
        if self.merge_same_day:
            end = end.tz_localize(None).normalize() if end.tzinfo is not None else end.normalize()
        return end


def prepare_transactions(
    customer_ids: Any,
    timestamps: Any,
    monetary: Any = None,
    *,
    merge_same_day: bool = True,
    timezone: ZoneInfo | None = None,
) -> Transactions:
    """Checked columns customer_id, ts (and value); merged per local day when asked.

    Merged days are naive local midnights, so day differences are whole days across DST.
    """
    ts = _timestamps(timestamps, timezone)
    customers = pd.Series(np.asarray(customer_ids))
    if len(customers) != len(ts):
        raise InvalidInput("customer_ids", f"has {len(customers)} values but timestamps {len(ts)}")
    if customers.isna().any():
        raise InvalidInput("customer_ids", f"{int(customers.isna().sum())} missing values")
    frame = pd.DataFrame({"customer_id": customers, "ts": ts})
    if monetary is not None:
        try:
            value = pd.Series(np.asarray(monetary, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise InvalidInput("monetary", f"not numeric ({exc})") from None
        if len(value) != len(ts):
            raise InvalidInput("monetary", f"has {len(value)} values but timestamps {len(ts)}")
        if value.isna().any():
            raise InvalidInput("monetary", f"{int(value.isna().sum())} missing values")
        frame["value"] = value
    tz = ts.dt.tz
    if merge_same_day:
        local = frame["ts"].dt.tz_localize(None) if tz is not None else frame["ts"]
        frame["ts"] = local.dt.normalize()
        frame = frame.groupby(["customer_id", "ts"], as_index=False, sort=False).sum()
    frame = frame.sort_values(["customer_id", "ts"], kind="stable", ignore_index=True)
    return Transactions(frame=frame, tz=tz, merge_same_day=merge_same_day)


def summary_from_transactions(
    customer_ids: Any,
    timestamps: Any,
    monetary: Any = None,
    *,
    observation_end: Any,
    calibration_end: Any = None,
    time_unit: TimeUnit = "W",
    merge_same_day: bool = True,
    timezone: ZoneInfo | None = None,
) -> pd.DataFrame:
    """Frequency, recency, T (and mean repeat spend) per customer; holdout counts if split.

    frequency counts repeat transactions (all but the first), recency is the time from the
    first to the last transaction, T the time from the first transaction to the end of the
    calibration period, monetary_value the mean value of the repeat transactions (0 without
    any), all up to `calibration_end` (or `observation_end` when not split). With
    `merge_same_day` (the BTYD papers' convention) transactions of one customer on one local
    day are one transaction whose value is their sum, times are whole days and the ends are
    inclusive days. With `calibration_end`, customers first seen after it are left out and
    frequency_holdout, monetary_value_holdout and duration_holdout describe the holdout period
    (calibration_end, observation_end]. Times are in `time_unit` ('D', 'W', 'M', 'Y' or days).
    """
    unit_s = days_per_unit(time_unit) * 86_400.0
    prepared = prepare_transactions(
        customer_ids, timestamps, monetary, merge_same_day=merge_same_day, timezone=timezone
    )
    obs_end = prepared.at(observation_end, "observation_end")
    cal_end = obs_end
    if calibration_end is not None:
        cal_end = prepared.at(calibration_end, "calibration_end")
    if cal_end > obs_end:
        raise InvalidInput("calibration_end", "is after observation_end")
    frame = prepared.frame[prepared.frame["ts"] <= obs_end]
    calibration = frame[frame["ts"] <= cal_end]
    groups = calibration.groupby("customer_id", sort=True)
    first = groups["ts"].min()
    count = groups.size()
    out = pd.DataFrame(
        {
            "frequency": (count - 1).astype(np.int64),
            "recency": (groups["ts"].max() - first).dt.total_seconds() / unit_s,
            "T": (cal_end - first).dt.total_seconds() / unit_s,
        }
    )
    if monetary is not None:
        repeat_total = groups["value"].sum() - groups["value"].first()
        out["monetary_value"] = (repeat_total / (count - 1).where(count > 1)).fillna(0.0)
    if calibration_end is not None:
        holdout = frame[(frame["ts"] > cal_end) & frame["customer_id"].isin(out.index)]
        held = holdout.groupby("customer_id")
        out["frequency_holdout"] = held.size().reindex(out.index, fill_value=0).astype(np.int64)
        if monetary is not None:
            out["monetary_value_holdout"] = held["value"].mean().reindex(out.index).fillna(0.0)
        out["duration_holdout"] = (obs_end - cal_end).total_seconds() / unit_s
    out.index.name = "customer_id"
    return out
