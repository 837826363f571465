"""The scheduled jobs `tenure worker` runs for segments, RFM and lifecycle."""

from __future__ import annotations

from pathlib import Path

from tenure.config import Settings
from tenure.jobs.catalog import default_registry
from tenure.jobs.registry import JobContext
from tenure.segments import service, tags
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.segments.builders import build_shop


def test_the_worker_knows_the_segment_jobs() -> None:
    registry = default_registry()
    assert registry.get("segments.refresh").interval_seconds == 300
    assert registry.get("segments.rfm").interval_seconds == 86_400
    assert registry.get("segments.lifecycle").interval_seconds == 86_400


def test_jobs_score_record_and_refresh(tmp_path: Path, database_url: str) -> None:
    build_shop(tmp_path)
    settings = Settings(home=tmp_path, database_url=database_url, inbox_flush_seconds=0)
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    ctx = JobContext(settings, database, Warehouse(settings))
    with database.session() as session:
        service.create_segment(
            session, "lost", {"field": "rfm.segment", "op": "eq", "value": "Lost"}
        )
        tags.create_tag(session, "big", {"field": "feature.revenue", "op": "gt", "value": 200})
    registry = default_registry()
    assert registry.get("segments.rfm").run(ctx) == {"as_of": "2024-03-31", "scored": 8}
    lifecycle = registry.get("segments.lifecycle").run(ctx)
    assert (lifecycle["scored"], lifecycle["transitions"]) == (8, 9)
    assert registry.get("segments.refresh").run(ctx) == {
        "segments": {"lost": 2},
        "tags": {"big": 2},
    }
    assert registry.get("segments.refresh").run(ctx)["segments"] == {}  # not due again yet
