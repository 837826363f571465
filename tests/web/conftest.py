"""One simulated shop per test worker, shared by the console tests (building it takes seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tenure.config import Settings
from tests.web.shop import build_shop


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home: Path = tmp_path_factory.mktemp("console-shop")
    return build_shop(home)


@pytest.fixture
def client(shop: Settings) -> Iterator[TestClient]:
    from tenure.api.app import create_app

    with TestClient(create_app(shop)) as test_client:
        yield test_client
