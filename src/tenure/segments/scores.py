"""Writing per-user results to the warehouse's `scores` table and reading the current ones back."""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend

from tenure.kit.time import utc_now
from tenure.storage.warehouse import Warehouse


def _escape(text: ir.StringValue) -> ir.StringValue:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def json_object(fields: dict[str, ir.Value]) -> ir.StringValue:
    """A JSON object built from columns in the warehouse (strings, integers, decimals, dates)."""
    parts: list[ir.StringValue] = []
    for name, value in fields.items():
        dtype = value.type()
        if dtype.is_string():
            text = '"' + _escape(value) + '"'
        elif dtype.is_date():
            text = '"' + value.cast("string") + '"'
        elif dtype.is_integer() or dtype.is_decimal():
            text = value.cast("string")
        else:
            raise TypeError(f"json_object: unsupported type {dtype} for {name}")
        parts.append(ibis.literal(f'"{name}":') + value.isnull().ifelse("null", text))
    body = parts[0]
    for part in parts[1:]:
        body = body + "," + part
    return "{" + body + "}"


def score_rows(
    table: ir.Table, model: str, version: str, fields: dict[str, ir.Value], at: datetime
) -> ir.Table:
    """Rows for `scores`: one per user of `table` with `fields` as the JSON values."""
    return table.select(
        user_id=table.user_id,
        model=ibis.literal(model),
        version=ibis.literal(version),
        computed_at=ibis.literal(at, type=dt.Timestamp(timezone="UTC")),
        values=json_object(fields),
    )


def save_scores(warehouse: Warehouse, rows: pa.Table) -> int:
    """Upsert score rows (key: user, model, version); a rerun for the same version replaces them."""
    with warehouse.writer() as writer:
        return writer.upsert("scores", rows)


def current_scores(con: BaseBackend, model: str) -> ir.Table:
    """(user_id, version, computed_at, values) of the latest version of `model`."""
    scores = con.table("scores").filter(lambda t: t.model == model)
    latest = scores.version.max().as_scalar()
    current = scores.filter(scores.version == latest)
    return current.select("user_id", "version", "computed_at", "values")


def now() -> datetime:
    """The computed_at stamp of a run."""
    return utc_now()
