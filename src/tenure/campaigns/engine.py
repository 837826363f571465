"""Assembling the campaign engine from settings: channels, signed links, the secret key."""

from __future__ import annotations

from tenure.campaigns.channels.config import senders_from
from tenure.campaigns.dispatch import Dispatcher
from tenure.campaigns.service.links import links
from tenure.config import Settings
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse


def dispatcher(
    settings: Settings, database: Database, warehouse: Warehouse, worker: str
) -> Dispatcher:
    """The engine with every configured channel (close its senders when done)."""
    return Dispatcher(
        settings, database, warehouse, senders_from(settings), links(settings), worker
    )
