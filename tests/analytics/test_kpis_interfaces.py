"""The same KPI answers over HTTP (admin scope) and from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tenure.analytics.kpis.router import router
from tenure.api import errors
from tenure.apikeys.service import create_key
from tenure.cli import kpis as kpis_cli
from tenure.config import get_settings
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.analytics.test_kpis import ZONE
from tests.analytics.test_kpis_acquisition import load_acquisition


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return load_acquisition(tmp_path_factory.mktemp("interfaces"))


@pytest.fixture
def client(shop: Warehouse) -> Iterator[tuple[TestClient, dict[str, str]]]:
    database = Database(shop.settings.sqlalchemy_url)
    database.upgrade()
    app = FastAPI()
    app.state.settings, app.state.database, app.state.warehouse = shop.settings, database, shop
    errors.install(app)
    app.include_router(router)
    with database.session() as session:
        keys = {scope: create_key(session, scope, [scope]).secret for scope in ("admin", "server")}
    with TestClient(app) as test_client:
        yield test_client, keys


def bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


class TestHttp:
    def test_kpis_over_http_in_the_shop_zone(
        self, client: tuple[TestClient, dict[str, str]]
    ) -> None:
        http, keys = client
        response = http.post(
            "/v1/analytics/kpis",
            json={"period": "month", "metrics": ["orders", "buyers"]},
            headers=bearer(keys["admin"]),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["zone"], body["since"], body["until"]) == (ZONE, "2024-01-01", "2024-04-02")
        orders = body["series"][0]
        assert orders["metric"] == "orders"
        # The shop's 8 paid orders plus e's tracked order on 20 February.
        assert [p["value"] for p in orders["points"]] == [3, 3, 2, 1]
        assert orders["points"][1]["change"] == 0

    def test_acquisition_over_http(self, client: tuple[TestClient, dict[str, str]]) -> None:
        http, keys = client
        response = http.post(
            "/v1/analytics/acquisition",
            json={"since": "2024-01-01", "until": "2024-03-31", "horizons": [30]},
            headers=bearer(keys["admin"]),
        )
        assert response.status_code == 200, response.text
        assert response.json()["total"]["cac"] == 70.0

    def test_a_server_key_may_not_read_analytics(
        self, client: tuple[TestClient, dict[str, str]]
    ) -> None:
        http, keys = client
        response = http.post("/v1/analytics/kpis", json={}, headers=bearer(keys["server"]))
        assert response.status_code == 403
        assert http.post("/v1/analytics/kpis", json={}).status_code == 401

    def test_a_query_that_cannot_be_answered_is_a_400(
        self, client: tuple[TestClient, dict[str, str]]
    ) -> None:
        http, keys = client
        response = http.post(
            "/v1/analytics/kpis",
            json={"since": "2024-03-01", "until": "2024-02-01"},
            headers=bearer(keys["admin"]),
        )
        assert response.status_code == 400
        assert response.json()["code"] == "analytics_invalid_query"
        malformed = http.post(
            "/v1/analytics/kpis", json={"period": "year"}, headers=bearer(keys["admin"])
        )
        assert malformed.status_code == 422


@pytest.fixture
def cli(shop: Warehouse, monkeypatch: pytest.MonkeyPatch) -> Iterator[typer.Typer]:
    monkeypatch.setenv("TENURE_HOME", str(shop.settings.home))
    monkeypatch.setenv("TENURE_TIMEZONE", ZONE)
    monkeypatch.delenv("TENURE_WAREHOUSE", raising=False)
    get_settings.cache_clear()
    app = typer.Typer()
    app.command("kpis")(kpis_cli.kpis)
    app.command("cac")(kpis_cli.acquisition)
    yield app
    get_settings.cache_clear()


class TestCli:
    def test_kpis_as_json(self, cli: typer.Typer) -> None:
        result = CliRunner().invoke(
            cli, ["kpis", "--period", "month", "-m", "revenue", "--format", "json"]
        )
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert [p["value"] for p in body["series"][0]["points"]] == [180.0, 150.0, 95.0, 10.0]

    def test_kpis_as_csv_file_and_table(self, cli: typer.Typer, tmp_path: Path) -> None:
        out = tmp_path / "kpis.csv"
        args = [
            "kpis",
            "--period",
            "month",
            "-m",
            "orders,buyers",
            "--format",
            "csv",
            "--out",
            str(out),
        ]
        assert CliRunner().invoke(cli, args).exit_code == 0
        frame = pd.read_csv(out)
        assert list(frame.columns[:4]) == ["metric", "segment", "period", "value"]
        assert frame[frame.metric == "buyers"].value.tolist() == [1, 3, 1, 1]
        table = CliRunner().invoke(cli, ["kpis", "--period", "month", "--ltv"])
        assert table.exit_code == 0 and "repurchase_rate" in table.stdout

    def test_cac_table_and_csv(self, cli: typer.Typer, tmp_path: Path) -> None:
        out = tmp_path / "cac.csv"
        args = [
            "cac",
            "--since",
            "2024-01-01",
            "--until",
            "2024-03-31",
            "--margin",
            "0.6",
            "--horizons",
            "30,60",
            "--format",
            "csv",
            "--out",
            str(out),
        ]
        assert CliRunner().invoke(cli, args).exit_code == 0
        frame = pd.read_csv(out).set_index("channel")
        assert frame.loc["ads", "cac"] == 100.0 and frame.loc["ads", "payback_period"] == 3
        assert frame.loc["ads", "ltv_60d"] == 190.0
        table = CliRunner().invoke(cli, ["cac"])
        assert table.exit_code == 0 and "affiliate" in table.stdout

    def test_a_bad_option_is_an_error_message_not_a_traceback(self, cli: typer.Typer) -> None:
        result = CliRunner().invoke(cli, ["kpis", "--period", "year"])
        assert result.exit_code == 1
        assert "analytics_invalid_query" in result.output
