"""Per-user model scores in the warehouse's `scores` table: write, read the latest, use in queries.

One row per (user_id, model, version) with a JSON object of values; writing the same key again
replaces the row, so re-scoring with one model version is idempotent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from tenure.kit.time import utc_now
from tenure.storage.writers import WarehouseWriter

SCORE_COLUMNS = ("user_id", "model", "version", "computed_at", "values")


def _plain(value: Any) -> Any:
    """A JSON-ready value: numpy scalars unwrapped, NaN and infinities as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    return value


def score_rows(
    model: str,
    version: str,
    values: Iterable[tuple[str, Mapping[str, Any]]],
    computed_at: datetime | None = None,
) -> pa.Table:
    """An Arrow table of `scores` rows from (user_id, values) pairs."""
    at = computed_at or utc_now()
    users: list[str] = []
    payloads: list[str] = []
    for user_id, user_values in values:
        users.append(str(user_id))
        payloads.append(json.dumps(_plain(user_values), sort_keys=True, allow_nan=False))
    n = len(users)
    return pa.table(
        {
            "user_id": pa.array(users, pa.string()),
            "model": pa.array([model] * n, pa.string()),
            "version": pa.array([version] * n, pa.string()),
            "computed_at": pa.array([at] * n, pa.timestamp("us", tz="UTC")),
            "values": pa.array(payloads, pa.string()),
        }
    )


def write_scores(
    writer: WarehouseWriter,
    model: str,
    version: str,
    values: Iterable[tuple[str, Mapping[str, Any]]],
    computed_at: datetime | None = None,
) -> int:
    """Upsert one row per user for (model, version); returns how many rows were written."""
    return writer.upsert("scores", score_rows(model, version, values, computed_at))


def frame_values(frame: pd.DataFrame) -> Iterable[tuple[str, dict[str, Any]]]:
    """(user_id, {column: value}) pairs from a frame indexed by user id."""
    records = frame.to_dict(orient="index")
    return ((str(user), {str(k): v for k, v in row.items()}) for user, row in records.items())


def latest_expr(con: BaseBackend, model: str | None = None) -> ir.Table:
    """The newest scores row per (user, model) as an Ibis table (usable in segment queries)."""
    scores = con.table("scores")
    if model is not None:
        scores = scores.filter(scores.model == model)
    rank = ibis.row_number().over(
        group_by=[scores.user_id, scores.model],
        order_by=[ibis.desc(scores.computed_at), ibis.desc(scores.version)],
    )
    ranked = scores.mutate(_rank=rank)
    return ranked.filter(ranked._rank == 0).drop("_rank")


def _decoded(rows: pd.DataFrame) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in rows.to_dict(orient="records"):
        computed = pd.Timestamp(row["computed_at"])
        if computed.tzinfo is None:
            computed = computed.tz_localize("UTC")
        out[str(row["model"])] = {
            "version": str(row["version"]),
            "computed_at": computed.to_pydatetime(),
            "values": json.loads(str(row["values"])) if row["values"] else {},
        }
    return out


def latest_scores(con: BaseBackend, user_id: str) -> dict[str, dict[str, Any]]:
    """A user's newest scores per model: {model: {version, computed_at, values}}; {} if none.

    Example: `latest_scores(con, "u1")["churn"]["values"]["probability"]`.
    """
    scores = con.table("scores")
    rows = (
        scores.filter(scores.user_id == user_id)
        .select(*SCORE_COLUMNS)
        .order_by([ibis.desc("computed_at"), ibis.desc("version")])
        .execute()
    )
    # The first row per model is its newest: keep that one.
    return _decoded(rows.drop_duplicates("model", keep="first"))


def model_scores(con: BaseBackend, model: str, version: str | None = None) -> pd.DataFrame:
    """Every user's values of one model (its newest version unless given), one column per value."""
    if version is None:
        rows = latest_expr(con, model).select("user_id", "values").execute()
    else:
        scores = con.table("scores")
        rows = (
            scores.filter((scores.model == model) & (scores.version == version))
            .select("user_id", "values")
            .execute()
        )
    values = pd.DataFrame([json.loads(v) for v in rows["values"]], index=rows["user_id"])
    values.index.name = "user_id"
    return values.sort_index()
