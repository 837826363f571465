"""Inbox lines → warehouse rows: Arrow's JSON reader and vector kernels; Python only where rare."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from datetime import date
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from tenure.ingest.tracking.ecommerce import (
    ORDER_CANCELLED,
    ORDER_COMPLETED,
    ORDER_REFUNDED,
    PRODUCT_EVENTS,
    Commerce,
)
from tenure.kit.time import parse_iso
from tenure.storage.schemas import TABLES
from tenure.storage.writers import conform

_TS = pa.timestamp("us", tz="UTC")
LINE_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("type", pa.string()),
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("previous_id", pa.string()),
        ("group_id", pa.string()),
        ("name", pa.string()),
        ("ts", _TS),
        ("received_at", _TS),
        ("properties", pa.string()),
        ("traits", pa.string()),
        ("context", pa.string()),
    ]
)
ORDER_EVENTS = pa.array(sorted({ORDER_COMPLETED, ORDER_REFUNDED, ORDER_CANCELLED}), pa.string())


def read_lines(blobs: Iterable[str]) -> pa.Table:
    """Parse inbox rows (newline-delimited JSON) into one Arrow table, first copy of an id kept."""
    data = "\n".join(blobs).encode()
    table = pj.read_json(
        io.BytesIO(data),
        read_options=pj.ReadOptions(block_size=max(1 << 20, len(data) // 2 + 1)),
        parse_options=pj.ParseOptions(
            explicit_schema=LINE_SCHEMA, unexpected_field_behavior="ignore"
        ),
    )
    return _first_per_id(table)


def _first_per_id(table: pa.Table) -> pa.Table:
    """Segment's messageId dedupe inside one flush (the warehouse dedupes across flushes)."""
    ids = table.column("message_id")
    if pc.count_distinct(ids).as_py() == len(ids):
        return table
    indexed = table.append_column("_row", pa.array(range(len(table)), pa.int64()))
    first = indexed.group_by("message_id", use_threads=False).aggregate([("_row", "min")])
    rows = first.column("_row_min")
    return table.take(pc.take(rows, pc.sort_indices(rows)))


def from_rows(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    """A warehouse table from Python rows (the rare paths: identify, commerce, identities)."""
    schema = TABLES[name].to_pyarrow()
    return pa.table({f.name: [row.get(f.name) for row in rows] for f in schema}, schema=schema)


def events(table: pa.Table) -> pa.Table:
    """Events: identify keeps its traits, group its id and traits, the others their properties."""
    kind = table.column("type")
    props = pc.if_else(
        pc.equal(kind, "identify"), table.column("traits"), table.column("properties")
    )
    group_rows = pc.equal(kind, "group")
    if pc.any(group_rows).as_py():
        merged = [
            orjson.dumps({"group_id": g, **(orjson.loads(t) if t else {})}).decode()
            if is_group
            else p
            for is_group, g, t, p in zip(
                group_rows.to_pylist(),
                table.column("group_id").to_pylist(),
                table.column("traits").to_pylist(),
                props.to_pylist(),
                strict=True,
            )
        ]
        props = pa.array(merged, pa.string())
    columns = {
        "event_id": table.column("message_id"),
        "type": kind,
        "user_id": table.column("user_id"),
        "anonymous_id": table.column("anonymous_id"),
        "name": table.column("name"),
        "ts": table.column("ts"),
        "properties": pc.fill_null(props, "{}"),
        "received_at": table.column("received_at"),
    }
    return conform("events", pa.table(columns))


def _birthday(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _signup(value: Any) -> Any:
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def _campaign_source(context: str | None) -> str | None:
    if not context:
        return None
    campaign = orjson.loads(context).get("campaign")
    return campaign.get("source") if isinstance(campaign, dict) else None


def users(table: pa.Table) -> pa.Table:
    """One row per known user: earliest time seen in the flush, traits from its identify calls."""
    known = table.filter(pc.is_valid(table.column("user_id")))
    if not len(known):
        return from_rows("users", [])
    seen = known.group_by("user_id", use_threads=False).aggregate([("ts", "min")])
    profiles: dict[str, dict[str, Any]] = {}
    identifies = known.filter(pc.equal(known.column("type"), "identify"))
    for msg in identifies.sort_by("ts").to_pylist():  # later calls win, traits merge
        traits = orjson.loads(msg["traits"]) if msg["traits"] else {}
        context = orjson.loads(msg["context"]) if msg["context"] else {}
        campaign: dict[str, Any] = (
            context["campaign"] if isinstance(context.get("campaign"), dict) else {}
        )
        address = traits["address"] if isinstance(traits.get("address"), dict) else {}
        row = profiles.setdefault(msg["user_id"], {"attributes": {}})
        fields = {
            "signup_at": _signup(traits.get("createdAt") or traits.get("created_at")),
            "channel": traits.get("channel") or campaign.get("source"),
            "country": traits.get("country") or address.get("country"),
            "birthday": _birthday(traits.get("birthday")),
            "updated_at": msg["received_at"],
        }
        row.update({k: v for k, v in fields.items() if v is not None})
        row["attributes"].update(traits)
    rows = []
    for user_id, first_seen in zip(
        seen.column("user_id").to_pylist(), seen.column("ts_min").to_pylist(), strict=True
    ):
        row = {"user_id": user_id, "first_seen": first_seen}
        if user_id in profiles:
            profile = profiles[user_id]
            attributes = profile.pop("attributes")
            row.update(profile)
            if attributes:
                row["attributes"] = json.dumps(attributes, separators=(",", ":"), default=str)
        rows.append(row)
    return from_rows("users", rows)


def identities(table: pa.Table) -> pa.Table:
    """alias previousId → userId, and any message carrying both an anonymous id and a user id."""
    kind, user, anon = table.column("type"), table.column("user_id"), table.column("anonymous_id")
    is_alias = pc.and_(pc.equal(kind, "alias"), pc.is_valid(table.column("previous_id")))
    alias_id = pc.if_else(is_alias, table.column("previous_id"), anon)
    keep = pc.and_(
        pc.and_(pc.is_valid(user), pc.is_valid(alias_id)),
        pc.or_(is_alias, pc.not_equal(alias_id, user)),
    )
    keep = pc.fill_null(keep, False)
    columns = {
        "alias_id": pc.filter(alias_id, keep),
        "user_id": pc.filter(user, keep),
        "ts": pc.filter(table.column("ts"), keep),
    }
    return conform("identities", pa.table(columns))


_PRODUCT_ITEMS = """
    SELECT sku, arg_max(name, ts) AS name, arg_max(category, ts) AS category,
           arg_max(price, ts) AS price
    FROM (
        SELECT ts,
               coalesce(nullif(json_extract_string(properties, '$.sku'), ''),
                        nullif(json_extract_string(properties, '$.product_id'), ''),
                        nullif(json_extract_string(properties, '$.id'), '')) AS sku,
               json_extract_string(properties, '$.name') AS name,
               json_extract_string(properties, '$.category') AS category,
               TRY_CAST(json_extract_string(properties, '$.price') AS DECIMAL(18, 4)) AS price
        FROM product_events
    )
    WHERE sku IS NOT NULL
    GROUP BY sku
"""


def product_items(table: pa.Table) -> pa.Table:
    """Items seen in product events (latest values per SKU), extracted by DuckDB's JSON functions.

    Product views are most of a shop's traffic: parsing each one in Python would cost more than
    the rest of the flush together.
    """
    wanted = pc.and_(
        pc.equal(table.column("type"), "track"),
        pc.is_in(table.column("name"), pa.array(sorted(PRODUCT_EVENTS), pa.string())),
    )
    product_events = table.filter(pc.fill_null(wanted, False)).select(["ts", "properties"])
    if not len(product_events):
        return from_rows("items", [])
    with duckdb.connect() as con:
        con.register("product_events", product_events)
        found = con.execute(_PRODUCT_ITEMS).to_arrow_table()
    return conform("items", found)


def commerce(table: pa.Table, currency: str) -> Commerce:
    """Orders, lines, the items they name, and cancellations from the order events of the flush."""
    found = Commerce()
    wanted = pc.and_(
        pc.equal(table.column("type"), "track"), pc.is_in(table.column("name"), ORDER_EVENTS)
    )
    picked = table.filter(pc.fill_null(wanted, False)).select(
        ["message_id", "name", "user_id", "ts", "properties", "context"]
    )
    for msg in picked.to_pylist():
        props = orjson.loads(msg["properties"]) if msg["properties"] else {}
        found.add(
            msg["message_id"],
            msg["name"],
            msg["user_id"],
            msg["ts"],
            props,
            _campaign_source(msg["context"]),
            currency,
        )
    return found
