"""Assembling the campaign engine from settings: channels, signed links, the secret key."""

from __future__ import annotations

from tenure.campaigns.channels.config import senders_from
from tenure.campaigns.dispatch import Dispatcher
from tenure.campaigns.service.links import Links
from tenure.config import Settings
from tenure.kit.signing import load_or_create_key
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse


def secret_key(settings: Settings) -> bytes:
    """TENURE_SECRET_KEY, or a random key kept in the home (created on first use)."""
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    return load_or_create_key(settings.home / "secret.key")


def links(settings: Settings) -> Links:
    """The tracking links of this installation."""
    return Links(secret_key(settings), settings.public_url)


def dispatcher(
    settings: Settings, database: Database, warehouse: Warehouse, worker: str
) -> Dispatcher:
    """The engine with every configured channel (close its senders when done)."""
    return Dispatcher(
        settings, database, warehouse, senders_from(settings), links(settings), worker
    )
