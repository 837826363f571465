"""A second currency of orders warns: file imports, the tracking flush and `tenure status`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tenure.api.app import create_app
from tenure.apikeys.service import create_key
from tenure.cli import imports as imports_cli
from tenure.cli import setup as setup_cli
from tenure.config import Settings, get_settings
from tenure.ingest.currencies import NEW_CURRENCY
from tenure.ingest.files.importer import ImportSummary, import_files
from tenure.ingest.files.mapping import Mapping
from tenure.ingest.tracking.flush import flush_inbox
from tenure.ingest.warnings.service import recent
from tenure.kit.time import utc_now
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.ingest.builders import write

# Two shops whose customer ids collide (a and b), in pounds and in dollars.
RETAIL = """order_id,user_id,ts,amount,status
            g1,a,2024-01-05T10:00:00Z,100,paid
            g2,b,2024-01-20T10:00:00Z,50,paid"""
CDNOW = """order_id,user_id,ts,amount,status
           u1,a,2024-01-06T10:00:00Z,30,paid
           u2,c,2024-02-01T10:00:00Z,20,paid
           u3,c,2024-02-03T10:00:00Z,25,paid"""


def load(
    warehouse: Warehouse, path: Path, text: str, currency: str, kind: str = "orders"
) -> ImportSummary:
    return import_files(
        kind,
        [str(write(path, text))],
        settings=warehouse.settings,
        warehouse=warehouse,
        mapping=Mapping(currency=currency),
    )


class TestFileImport:
    def test_a_second_currency_warns_once_naming_both(
        self, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        first = load(warehouse, tmp_path / "retail.csv", RETAIL, "GBP")
        assert first.warnings == [] and "warnings" not in first.as_dict()
        second = load(warehouse, tmp_path / "cdnow.csv", CDNOW, "USD")
        [warning] = second.warnings
        assert warning.code == "currencies_mixed"
        assert warning.currencies == ["USD", "GBP"]  # most orders first
        assert "orders in GBP and USD" in warning.message
        assert "TENURE_HOME" in warning.message
        assert second.as_dict()["warnings"][0]["code"] == "currencies_mixed"
        # The same currency again is no news.
        again = load(warehouse, tmp_path / "more.csv", CDNOW.replace(" u", " v"), "USD")
        assert again.warnings == []

    def test_one_currency_never_warns(self, warehouse: Warehouse, tmp_path: Path) -> None:
        assert load(warehouse, tmp_path / "a.csv", RETAIL, "GBP").warnings == []
        assert load(warehouse, tmp_path / "b.csv", CDNOW, "GBP").warnings == []

    def test_spend_in_a_currency_no_order_is_in_warns(
        self, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        load(warehouse, tmp_path / "retail.csv", RETAIL, "GBP")
        spend = "day,channel,amount\n2024-01-01,ads,10"
        [warning] = load(warehouse, tmp_path / "spend.csv", spend, "USD", "spend").warnings
        assert warning.code == "spend_currency" and warning.currencies == ["USD"]
        assert load(warehouse, tmp_path / "gbp.csv", spend, "GBP", "spend").warnings == []

    def test_the_warning_is_counted_for_status(
        self, settings: Settings, database: Database, tmp_path: Path
    ) -> None:
        warehouse = Warehouse(settings)
        warehouse.init()
        for name, text, currency in (("r.csv", RETAIL, "GBP"), ("c.csv", CDNOW, "USD")):
            import_files(
                "orders",
                [str(write(tmp_path / name, text))],
                settings=settings,
                warehouse=warehouse,
                mapping=Mapping(currency=currency),
                database=database,
            )
        rows = database.read(lambda s: recent(s, utc_now().date(), 1))
        assert [(r.source, r.reason, r.count) for r in rows] == [("import:orders", NEW_CURRENCY, 1)]


class TestTrackingFlush:
    @pytest.fixture
    def shop(self, settings: Settings, database: Database) -> tuple[TestClient, str, Warehouse]:
        warehouse = Warehouse(settings)
        warehouse.init()
        with database.session() as session:
            key = create_key(session, "test", ["write"]).secret
        return TestClient(create_app(settings)), key, warehouse

    def order(self, client: TestClient, key: str, order_id: str, currency: str) -> None:
        body = {
            "userId": "bob",
            "event": "Order Completed",
            "messageId": f"m-{order_id}",
            "properties": {"order_id": order_id, "total": 10, "currency": currency},
        }
        response = client.post("/v1/track", content=json.dumps(body), auth=(key, ""))
        assert response.status_code == 200

    def test_orders_completed_in_a_second_currency_are_an_ingestion_warning(
        self,
        shop: tuple[TestClient, str, Warehouse],
        settings: Settings,
        database: Database,
    ) -> None:
        client, key, warehouse = shop
        self.order(client, key, "o1", "usd")
        flush_inbox(settings, database, warehouse)
        assert database.read(lambda s: recent(s, utc_now().date(), 1)) == []
        self.order(client, key, "o2", "eur")
        flush_inbox(settings, database, warehouse)
        self.order(client, key, "o3", "eur")  # EUR is held now: nothing new
        flush_inbox(settings, database, warehouse)
        rows = database.read(lambda s: recent(s, utc_now().date(), 1))
        assert [(r.source, r.reason, r.count) for r in rows] == [("tracking", NEW_CURRENCY, 1)]
        assert json.loads(rows[0].examples) == [{"currencies": "EUR, USD"}]


@pytest.fixture
def cli(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[typer.Typer]:
    monkeypatch.setenv("TENURE_HOME", str(home))
    monkeypatch.delenv("TENURE_WAREHOUSE", raising=False)
    monkeypatch.delenv("TENURE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    app = typer.Typer()
    app.add_typer(imports_cli.app, name="import")
    app.command("status")(setup_cli.status)
    yield app
    get_settings.cache_clear()


class TestCli:
    def test_import_prints_one_warning_line_and_status_lists_the_currencies(
        self, cli: typer.Typer, tmp_path: Path
    ) -> None:
        runner = CliRunner()
        retail = write(tmp_path / "retail.csv", RETAIL)
        cdnow = write(tmp_path / "cdnow.csv", CDNOW)
        first = runner.invoke(cli, ["import", "orders", str(retail), "--currency", "GBP"])
        assert first.exit_code == 0, first.output
        assert "warning" not in first.stderr
        second = runner.invoke(cli, ["import", "orders", str(cdnow), "--currency", "USD"])
        assert second.exit_code == 0, second.output
        lines = [line for line in second.stderr.splitlines() if line.startswith("warning:")]
        assert len(lines) == 1 and "TENURE_HOME" in lines[0]
        status = runner.invoke(cli, ["status", "--json"])
        assert status.exit_code == 0, status.output
        assert json.loads(status.stdout)["currencies"] == {"USD": 3, "GBP": 2}
        table = runner.invoke(cli, ["status"])
        assert "USD (3 orders), GBP (2 orders)" in table.stdout
