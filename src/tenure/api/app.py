"""The FastAPI application factory and the background inbox flusher."""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

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
from tenure.loyalty.router import router as loyalty_router
from tenure.predict.router import router as predict_router
from tenure.profiles.router import router as profiles_router
from tenure.promotions.coupons.service import issue_one
from tenure.promotions.router import router as promotions_router
from tenure.referrals.router import router as referrals_router
from tenure.segments.router import router as segments_router
from tenure.storage.database import Database
from tenure.storage.locking import WarehouseBusy, file_lock
from tenure.storage.warehouse import Warehouse

log = logging.getLogger(__name__)


def _flush_loop(settings: Settings, stop: Any) -> None:
    """The flusher process: flush every few seconds until told to stop, then once more."""
    database, warehouse = Database(settings.sqlalchemy_url), Warehouse(settings)
    while not stop.wait(settings.inbox_flush_seconds):
        _flush_once(settings, database, warehouse, wait=0)
    _flush_once(settings, database, warehouse, wait=60)


def _flush_once(settings: Settings, database: Database, warehouse: Warehouse, wait: float) -> None:
    """One flush; errors are logged and retried next time (the inbox keeps the data)."""
    try:
        # With `serve --workers N` every worker has a flusher: one flushes, the others skip.
        with file_lock(settings.home / "flusher.lock", exclusive=True, timeout=wait):
            flush_inbox(settings, database, warehouse)
    except WarehouseBusy:
        log.debug("another flusher is flushing; skipping this cycle")
    except Exception:
        log.exception("inbox flush failed; will retry")


class Flusher:
    """Moves the tracking inbox into the warehouse every few seconds, in its own process.

    A process, not a thread: parsing and writing a flush would otherwise hold the GIL that the
    request path needs, and the server would accept fewer events per second than it stores.
    """

    def __init__(self, settings: Settings) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._process = context.Process(
            target=_flush_loop, args=(settings, self._stop), name="tenure-flusher", daemon=True
        )

    def start(self) -> None:
        """Start the process."""
        self._process.start()

    def stop(self) -> None:
        """Ask the process to flush what is left and exit; wait for it."""
        self._stop.set()
        self._process.join(timeout=300)
        if self._process.is_alive():  # pragma: no cover - a flush stuck for five minutes
            log.error("flusher did not stop in time; the inbox keeps what it did not flush")
            self._process.terminate()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for the given settings."""
    settings = settings or get_settings()
    database = Database(settings.sqlalchemy_url)
    warehouse = Warehouse(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        flusher = Flusher(settings) if settings.inbox_flush_seconds > 0 else None
        if flusher:
            flusher.start()
        yield
        if flusher:
            flusher.stop()

    app = FastAPI(title="Tenure", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.database = database
    app.state.warehouse = warehouse
    app.state.coupon_issuer = issue_one  # loyalty's coupon rewards (loyalty sits below promotions)
    errors.install(app)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers and the database is reachable."""
        database.read(lambda s: s.connection().exec_driver_sql("SELECT 1"))
        return {"status": "ok", "version": __version__}

    app.include_router(tracking_router)
    app.include_router(retention_router)
    app.include_router(kpis_router)
    app.include_router(funnels_router)
    app.include_router(paths_router)
    app.include_router(predict_router)
    app.include_router(loyalty_router)
    app.include_router(promotions_router)
    app.include_router(referrals_router)
    app.include_router(profiles_router)
    app.include_router(segments_router)
    return app
