"""Runs that span both stores: RFM and lifecycle scoring, segment and tag refreshes.

The per-user work runs in the warehouse; rows go back to `scores` through the writer (one
transaction), and lifecycle changes go to the operational database where campaigns read them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from functools import partial
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from tenure.analytics.features import data_end, profile_table
from tenure.errors import TenureError
from tenure.segments import service, tags
from tenure.segments.lifecycle import LifecycleQuery, LifecycleResult, LifecycleRunner
from tenure.segments.rfm import RfmQuery, RfmResult, RfmRunner, rfm_table
from tenure.segments.scores import now, save_scores, score_rows
from tenure.segments.thresholds import model_thresholds
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

log = logging.getLogger(__name__)
RFM_FIELDS = ("recency_days", "frequency", "monetary", "r", "f", "m", "score", "segment")
LIFECYCLE_FIELDS = (
    "stage", "since", "days_since_last", "orders", "at_risk_days", "churn_days",
)  # fmt: skip


@dataclass(frozen=True)
class LifecycleRun:
    """A lifecycle run: the counts, rows written to scores, transitions recorded."""

    result: LifecycleResult
    scored: int
    transitions: int


def run_rfm(
    warehouse: Warehouse, zone: ZoneInfo, query: RfmQuery, save: bool
) -> tuple[RfmResult, int]:
    """RFM distribution (and transitions); with `save`, every customer's scores are stored."""
    with warehouse.reader() as con:
        result = RfmRunner(query, zone)(con)
        rows = None
        if save and result.as_of is not None:
            table = rfm_table(con, zone, result.as_of, query.bins, query.segments)
            fields = {name: table[name] for name in RFM_FIELDS}
            rows = score_rows(table, "rfm", result.as_of.isoformat(), fields, now()).to_pyarrow()
    written = save_scores(warehouse, rows) if rows is not None else 0
    return result, written


def lifecycle_thresholds(
    con: BaseBackend, zone: ZoneInfo, end: date, q: LifecycleQuery
) -> ir.Table:
    """Per-user thresholds from the model, as a table the stage expression joins."""
    frame = model_thresholds(
        con,
        zone,
        end,
        at_risk_p=q.at_risk_p_alive,
        churn_p=q.churn_p_alive,
        at_risk_gaps=q.at_risk_gaps,
        churn_gaps=q.churn_gaps,
        fallback=(q.at_risk_days, q.churn_days),
    )
    schema = {
        "user_id": "string",
        "at_risk_days": "int64",
        "churn_days": "int64",
        "p_alive": "float64",
    }
    return ibis.memtable(frame, schema=schema)


def run_lifecycle(
    warehouse: Warehouse,
    database: Database | None,
    zone: ZoneInfo,
    query: LifecycleQuery,
    save: bool,
) -> LifecycleRun:
    """Stage counts; with `save`, stages go to scores and changes to the transition log."""
    with warehouse.reader() as con:
        runner = LifecycleRunner(query, zone)
        runner.validate()
        end = runner.end(con)
        if end is not None and query.mode == "model":
            runner.thresholds = lifecycle_thresholds(con, zone, end, query)
        result = runner.run(con)
        rows = stages = None
        if save and end is not None:
            table = runner.table(con)
            assert table is not None
            names = LIFECYCLE_FIELDS + (("p_alive",) if query.mode == "model" else ())
            fields = {name: table[name] for name in names}
            rows = score_rows(table, "lifecycle", end.isoformat(), fields, now()).to_pyarrow()
            stages = table.select("user_id", "stage", "since", "at_risk_since").execute()
    scored = save_scores(warehouse, rows) if rows is not None else 0
    moved = 0
    if stages is not None and database is not None:
        moved = database.write(lambda s: service.record_stages(s, stages))
    return LifecycleRun(result, scored, moved)


def refresh_segments(
    database: Database,
    warehouse: Warehouse,
    zone: ZoneInfo,
    keys: list[str] | None,
    end: date | None,
) -> list[service.Refresh]:
    """Refresh the named segments, or every due one (each claimed so two workers never collide)."""
    due = keys is None
    if keys is None:
        keys = database.read(service.due_segments)
    done: list[service.Refresh] = []
    for key in keys:
        if due and not database.write(partial(service.claim_segment, key=key)):
            continue
        try:
            done.append(_refresh_segment(database, warehouse, zone, key, end))
        except TenureError:
            if not due:
                raise
            log.exception("refreshing segment %s failed; it is due again after its interval", key)
    return done


def _refresh_segment(
    database: Database, warehouse: Warehouse, zone: ZoneInfo, key: str, end: date | None
) -> service.Refresh:
    with warehouse.reader() as con:
        day = end or data_end(con, zone) or date.today()
        ids = database.read(lambda s: service.segment_members_now(s, con, key, zone, day))
    # Only the short write holds SQLite's single-writer lock, not the warehouse query.
    return database.write(lambda s: service.apply_refresh(s, key, ids))


def refresh_tags(
    database: Database, warehouse: Warehouse, zone: ZoneInfo, end: date | None
) -> list[service.Refresh]:
    """Re-evaluate every rule-based tag."""
    keys = database.read(lambda s: [t.key for t, _ in tags.list_tags(s) if t.rule is not None])
    return [_refresh_tag(database, warehouse, zone, key, end) for key in keys]


def _refresh_tag(
    database: Database, warehouse: Warehouse, zone: ZoneInfo, key: str, end: date | None
) -> service.Refresh:
    with warehouse.reader() as con:
        day = end or data_end(con, zone) or date.today()
        ids = database.read(lambda s: tags.tag_members_now(s, con, key, zone, day))
    return database.write(lambda s: tags.apply_tag_refresh(s, key, ids))


def export_members(
    database: Database, warehouse: Warehouse, zone: ZoneInfo, key: str, end: date | None = None
) -> pd.DataFrame:
    """A segment's current members with their attributes and computed features (for CSV)."""
    ids = database.read(lambda s: service.all_members(s, key))
    columns = ["user_id", *EXPORT_COLUMNS]
    if not ids:
        return pd.DataFrame(columns=columns)
    with warehouse.reader() as con:
        day = end or data_end(con, zone) or date.today()
        members = ibis.memtable(pd.DataFrame({"user_id": ids}), schema={"user_id": "string"})
        table = profile_table(con, zone, day)
        frame = table.semi_join(members, "user_id").select(*columns).execute()
    return frame.sort_values("user_id").reset_index(drop=True)


EXPORT_COLUMNS = (
    "country", "channel", "first_order_at", "last_order_at", "orders", "revenue", "aov",
    "recency_days", "tenure_days", "favourite_category",
)  # fmt: skip
