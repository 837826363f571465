"""Moving the tracking inbox into the warehouse: events, users, identities and commerce rows."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

import pyarrow as pa

from tenure.config import Settings
from tenure.ingest.tracking import repository
from tenure.ingest.tracking.ecommerce import Commerce
from tenure.kit.time import parse_iso
from tenure.storage.database import Database
from tenure.storage.schemas import TABLES
from tenure.storage.warehouse import Warehouse
from tenure.storage.writers import WarehouseWriter

log = logging.getLogger(__name__)
FLUSH_BATCH = 50_000


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = TABLES[name].to_pyarrow()
    columns = {f.name: [row.get(f.name) for row in rows] for f in schema}
    return pa.table(columns, schema=schema)


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


def _user_row(msg: Any, payload: dict[str, Any]) -> dict[str, Any]:
    traits = payload.get("traits") or {}
    campaign = (payload.get("context") or {}).get("campaign") or {}
    address: dict[str, Any] = traits["address"] if isinstance(traits.get("address"), dict) else {}
    row: dict[str, Any] = {"user_id": msg.user_id, "first_seen": msg.ts}
    if msg.type == "identify":
        row.update(
            signup_at=_signup(traits.get("createdAt") or traits.get("created_at")),
            channel=traits.get("channel") or campaign.get("source"),
            country=traits.get("country") or address.get("country"),
            birthday=_birthday(traits.get("birthday")),
            attributes=json.dumps(traits, separators=(",", ":"), default=str) if traits else None,
            updated_at=msg.received_at,
        )
    return row


def rows_from_messages(messages: list[Any], currency: str) -> dict[str, Any]:
    """Warehouse rows for a list of inbox messages."""
    events: list[dict[str, Any]] = []
    users: list[dict[str, Any]] = []
    identities: list[dict[str, Any]] = []
    commerce = Commerce()
    for msg in messages:
        payload = json.loads(msg.payload)
        props = payload.get("traits") if msg.type == "identify" else payload.get("properties")
        if msg.type == "group":
            props = {"group_id": payload.get("group_id"), **(payload.get("traits") or {})}
        events.append(
            {
                "event_id": msg.message_id,
                "type": msg.type,
                "user_id": msg.user_id,
                "anonymous_id": msg.anonymous_id,
                "name": msg.name,
                "ts": msg.ts,
                "properties": json.dumps(props or {}, separators=(",", ":"), default=str),
                "received_at": msg.received_at,
            }
        )
        if msg.user_id:
            users.append(_user_row(msg, payload))
        if msg.type == "alias" and msg.previous_id and msg.user_id:
            identities.append({"alias_id": msg.previous_id, "user_id": msg.user_id, "ts": msg.ts})
        elif msg.user_id and msg.anonymous_id and msg.anonymous_id != msg.user_id:
            identities.append({"alias_id": msg.anonymous_id, "user_id": msg.user_id, "ts": msg.ts})
        if msg.type == "track" and msg.name:
            campaign = (payload.get("context") or {}).get("campaign") or {}
            commerce.add(
                msg.message_id,
                msg.name,
                msg.user_id,
                msg.ts,
                payload.get("properties") or {},
                campaign.get("source"),
                currency,
            )
    return {"events": events, "users": users, "identities": identities, "commerce": commerce}


def write_rows(writer: WarehouseWriter, rows: dict[str, Any]) -> int:
    """Apply one flush's rows in the writer's transaction; returns new events."""
    added = writer.insert_missing("events", _table("events", rows["events"]))
    writer.merge("users", _table("users", rows["users"]))
    commerce: Commerce = rows["commerce"]
    writer.merge("items", _table("items", commerce.items))
    writer.upsert("orders", _table("orders", commerce.orders))
    if commerce.refunds:
        originals = writer.order_amounts([refund_of for _, refund_of in commerce.refunds])
        refunds = []
        for order, refund_of in commerce.refunds:
            if order["amount"] is None and refund_of in originals:
                order["amount"] = -originals[refund_of]
            order["properties"] = json.dumps({"refund_of": refund_of})
            refunds.append(order)
        writer.upsert("orders", _table("orders", refunds))
    writer.upsert("order_lines", _table("order_lines", commerce.lines), key=("order_id",))
    writer.set_order_status(commerce.cancelled, "cancelled")
    if rows["identities"]:
        writer.upsert("identities", _table("identities", rows["identities"]))
        writer.resolve_identities()
    return added


def flush_inbox(settings: Settings, database: Database, warehouse: Warehouse) -> int:
    """Move every waiting message into the warehouse; safe to run from several processes."""
    total = 0
    while True:
        with database.session() as session:
            messages = repository.oldest(session, FLUSH_BATCH)
        if not messages:
            return total
        rows = rows_from_messages(messages, settings.currency)
        # The warehouse commits first: if we die before deleting, the replay changes nothing.
        with warehouse.writer() as writer:
            total += write_rows(writer, rows)
        with database.write_lock, database.session() as session:
            repository.remove(session, [m.id for m in messages])
        log.info("flushed %d tracking messages", len(messages))


def waiting_messages(database: Database) -> int:
    """How many tracking messages are waiting for a flush."""
    with database.session() as session:
        return repository.waiting(session)
