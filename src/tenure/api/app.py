"""The FastAPI application factory: routers, error rendering, the body limit, the flusher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tenure import __version__
from tenure.analytics.funnels.router import router as funnels_router
from tenure.analytics.kpis.router import router as kpis_router
from tenure.analytics.paths.router import router as paths_router
from tenure.analytics.retention.router import router as retention_router
from tenure.api import errors
from tenure.api.flusher import Flusher
from tenure.api.limits import BodyLimit
from tenure.campaigns.router import router as campaigns_router
from tenure.config import Settings, get_settings
from tenure.experiments.router import router as experiments_router
from tenure.experiments.service.assign import carry_identified
from tenure.ingest.tracking.router import router as tracking_router
from tenure.ingest.warnings.router import router as ingestion_warnings_router
from tenure.loyalty.router import router as loyalty_router
from tenure.predict.router import router as predict_router
from tenure.profiles.router import router as profiles_router
from tenure.promotions.coupons.service import issue_one
from tenure.promotions.router import router as promotions_router
from tenure.recommend.router import router as recommend_router
from tenure.referrals.router import router as referrals_router
from tenure.segments.router import router as segments_router
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tenure.web.router import install as install_console

# What gzip framing may add on the wire to a body that inflates to the tracking batch limit.
_GZIP_ALLOWANCE = 1024


def _body_limits(settings: Settings) -> dict[str, int]:
    """The tracking endpoints keep Segment's limits, which their router checks on the inflated
    body (the batch limit, and the message limit for single calls); on the wire they are held to
    the larger of the general limit and the batch limit plus gzip framing."""
    wire = max(settings.max_request_bytes, settings.max_batch_bytes + _GZIP_ALLOWANCE)
    return {route.path: wire for route in tracking_router.routes if hasattr(route, "path")}


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
    app.state.identity_hook = carry_identified  # a visitor keeps their variants on sign-in
    errors.install(app)
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes, per_path=_body_limits(settings))

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers and the database is reachable."""
        database.read(lambda s: s.connection().exec_driver_sql("SELECT 1"))
        return {"status": "ok", "version": __version__}

    app.include_router(tracking_router)
    app.include_router(ingestion_warnings_router)
    app.include_router(retention_router)
    app.include_router(kpis_router)
    app.include_router(funnels_router)
    app.include_router(paths_router)
    app.include_router(predict_router)
    app.include_router(recommend_router)
    app.include_router(loyalty_router)
    app.include_router(promotions_router)
    app.include_router(referrals_router)
    app.include_router(profiles_router)
    app.include_router(segments_router)
    app.include_router(campaigns_router)
    app.include_router(experiments_router, prefix="/v1/experiments")
    install_console(app)  # the operator's console at /: pages, static files, sign-in
    return app
