"""Moving the tracking inbox into the warehouse: events, users, identities and commerce rows."""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any

import pyarrow as pa

from tenure.config import Settings
from tenure.ingest.currencies import new_order_currency, record_new_currency
from tenure.ingest.tracking import lines, repository
from tenure.ingest.tracking.ecommerce import Commerce
from tenure.ingest.warnings import service as warnings
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tenure.storage.writers import WarehouseWriter

log = logging.getLogger(__name__)
FLUSH_MESSAGES = 100_000


def rows_from_lines(table: pa.Table, currency: str) -> dict[str, Any]:
    """Warehouse rows for one flush's inbox lines."""
    return {
        "events": lines.events(table),
        "users": lines.users(table),
        "identities": lines.identities(table),
        "commerce": lines.commerce(table, currency),
        "product_items": lines.product_items(table),
    }


def write_rows(writer: WarehouseWriter, rows: dict[str, Any]) -> int:
    """Apply one flush's rows in the writer's transaction; returns new events."""
    if len(rows["identities"]):
        # Before the events: they are written with the merged user id of every known alias.
        writer.upsert("identities", rows["identities"])
    added = writer.insert_missing("events", rows["events"])
    writer.merge("users", rows["users"])
    commerce: Commerce = rows["commerce"]
    # Order lines name items too; they are newer facts than a product view in the same flush.
    writer.merge("items", rows["product_items"])
    if commerce.items:
        writer.merge("items", lines.from_rows("items", commerce.items))
    if commerce.orders:
        writer.upsert("orders", lines.from_rows("orders", commerce.orders))
    if commerce.refunds:
        originals = writer.order_amounts([refund_of for _, refund_of in commerce.refunds])
        refunds = []
        for order, refund_of in commerce.refunds:
            if order["amount"] is None and refund_of in originals:
                order["amount"] = -originals[refund_of]
            order["properties"] = json.dumps({"refund_of": refund_of})
            refunds.append(order)
        writer.upsert("orders", lines.from_rows("orders", refunds))
    if commerce.lines:
        writer.upsert(
            "order_lines", lines.from_rows("order_lines", commerce.lines), key=("order_id",)
        )
    writer.set_order_status(commerce.cancelled, "cancelled")
    if len(rows["identities"]):
        writer.resolve_identities()
    return added


def flush_inbox(settings: Settings, database: Database, warehouse: Warehouse) -> int:
    """Move every waiting message into the warehouse; safe to run from several processes."""
    total = 0
    while True:
        batch = database.read(lambda s: repository.oldest(s, FLUSH_MESSAGES))
        if not batch:
            return total
        table = lines.read_lines(blob for _, blob in batch)
        rows = rows_from_lines(table, settings.currency)
        arriving = rows["commerce"].currencies()
        # The warehouse commits first: if we die before deleting, the replay changes nothing.
        with warehouse.writer() as writer:
            held = writer.currencies("orders") if arriving else {}
            total += write_rows(writer, rows)
        if arriving:
            _warn_new_currency(database, held, arriving)
        database.write(partial(repository.remove, ids=[row_id for row_id, _ in batch]))
        log.info("flushed %d tracking messages", len(table))


def _warn_new_currency(database: Database, held: dict[str, int], arriving: dict[str, int]) -> None:
    """Log and count (ingestion warnings, `tenure status`) orders in a second currency."""
    after = {code: held.get(code, 0) + arriving.get(code, 0) for code in {*held, *arriving}}
    found = new_order_currency(held, after)
    if found is None:
        return
    log.warning("tracking: %s", found.message)
    record_new_currency(database, warnings.TRACKING, found)


def waiting_messages(database: Database) -> int:
    """How many tracking messages are waiting for a flush."""
    return database.read(repository.waiting)
