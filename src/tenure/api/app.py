"""The FastAPI application factory and the background inbox flusher."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tenure import __version__
from tenure.analytics.funnels.router import router as funnels_router
from tenure.analytics.kpis.router import router as kpis_router
from tenure.analytics.paths.router import router as paths_router
from tenure.analytics.retention.router import router as retention_router
from tenure.api import errors
from tenure.config import Settings, get_settings
from tenure.ingest.tracking.flush import flush_inbox
from tenure.ingest.tracking.router import router as tracking_router
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

log = logging.getLogger(__name__)


class Flusher:
    """Moves the tracking inbox into the warehouse every few seconds, off the request path."""

    def __init__(self, settings: Settings, database: Database, warehouse: Warehouse) -> None:
        self.settings, self.database, self.warehouse = settings, database, warehouse
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tenure-flusher", daemon=True)

    def start(self) -> None:
        """Start the loop."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop and flush what is left."""
        self._stop.set()
        self._thread.join(timeout=60)
        self.flush()

    def flush(self) -> None:
        """One flush; errors are logged and retried next time (the inbox keeps the data)."""
        try:
            flush_inbox(self.settings, self.database, self.warehouse)
        except Exception:
            log.exception("inbox flush failed; will retry")

    def _run(self) -> None:
        while not self._stop.wait(self.settings.inbox_flush_seconds):
            self.flush()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for the given settings."""
    settings = settings or get_settings()
    database = Database(settings.sqlalchemy_url)
    warehouse = Warehouse(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        flusher = Flusher(settings, database, warehouse)
        if settings.inbox_flush_seconds > 0:
            flusher.start()
        app.state.flusher = flusher
        yield
        if settings.inbox_flush_seconds > 0:
            flusher.stop()

    app = FastAPI(title="Tenure", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.database = database
    app.state.warehouse = warehouse
    errors.install(app)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers and the database is reachable."""
        with database.session() as session:
            session.connection().exec_driver_sql("SELECT 1")
        return {"status": "ok", "version": __version__}

    app.include_router(tracking_router)
    app.include_router(retention_router)
    app.include_router(kpis_router)
    app.include_router(funnels_router)
    app.include_router(paths_router)
    return app
