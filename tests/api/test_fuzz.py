"""Schemathesis over the whole OpenAPI spec with an admin key: no request answers 500.

A bounded run (a few examples per operation) on a simulated shop, on SQLite and on PostgreSQL;
docs/reliability.md gives the command and figures of the longer run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tenure.api.app import create_app
from tenure.apikeys.service import create_key
from tenure.cli.simulate import import_simulation
from tenure.config import Settings
from tenure.simulate import SimulationConfig, simulate_shop
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.conftest import fresh_pg_schema

EXAMPLES = int(os.environ.get("TENURE_FUZZ_EXAMPLES", "4"))
LOG = os.environ.get("TENURE_FUZZ_LOG")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated shop's files, imported once per engine below."""
    root = tmp_path_factory.mktemp("fuzz-shop")
    simulate_shop(SimulationConfig(users=400, days=200, start=date(2024, 1, 1), seed=11), root)
    return root


@pytest.fixture(scope="module")
def _pg_schema() -> Iterator[str]:
    with fresh_pg_schema("fuzz") as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    shop: Path,
) -> tuple[Any, str]:
    """The app on a shop with data, and an admin key."""
    home = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    url = (
        f"sqlite:///{home / 'tenure.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("_pg_schema"))
    )
    config = Settings(home=home, database_url=url, inbox_flush_seconds=0)
    warehouse = Warehouse(config)
    warehouse.init()
    import_simulation(shop, config, warehouse)
    database = Database(config.sqlalchemy_url)
    database.upgrade()
    secret = database.write(lambda s: create_key(s, "fuzz", ["admin"]).secret)
    return create_app(config), secret


def _spec() -> dict[str, Any]:
    """The OpenAPI document (the app's routes do not depend on its stores)."""
    with tempfile.TemporaryDirectory() as home:
        spec: dict[str, Any] = create_app(
            Settings(home=Path(home), database_url="sqlite://", inbox_flush_seconds=0)
        ).openapi()
        return spec


schema = schemathesis.openapi.from_dict(_spec())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_answers_500(case: Any, served: tuple[Any, str]) -> None:
    app, secret = served
    response = case.call_and_validate(
        app=app, headers={"Authorization": f"Bearer {secret}"}, checks=[not_a_server_error]
    )
    if LOG:  # the longer documented run (docs/reliability.md) counts what it sent
        with open(LOG, "a") as log:
            engine = (
                "postgres" if "postgresql" in str(app.state.settings.database_url) else "sqlite"
            )
            log.write(f"{engine}\t{case.method}\t{case.path}\t{response.status_code}\n")
