"""One simulated shop for the weekly review tests (the console's shop, lifecycle scored so that
the week has stage moves)."""

from __future__ import annotations

import pytest

from tenure.config import Settings
from tenure.segments.jobs import score_lifecycle
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.web.shop import build_shop


@pytest.fixture(scope="session")
def review_shop(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """400 simulated customers, 2024-01-01 to 2024-08-27, with stage transitions recorded."""
    settings = build_shop(tmp_path_factory.mktemp("review-shop"))
    score_lifecycle(Database(settings.sqlalchemy_url), Warehouse(settings), settings.zone)
    return settings
