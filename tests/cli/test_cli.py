"""The command line: init twice, import with flags and a saved mapping, errors without tracebacks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from tenure.config import Settings
from tenure.ingest.tracking.lines import from_rows
from tenure.ingest.warnings.service import Tally, record
from tenure.kit.time import utc_now
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.ingest.builders import write
from tests.serving import run_cli


def test_init_is_safe_to_run_twice(home: Path) -> None:
    assert run_cli(home, "init").returncode == 0
    assert run_cli(home, "init").returncode == 0
    status = json.loads(run_cli(home, "status", "--json").stdout)
    assert set(status) >= {"users", "events", "orders", "order_lines", "items", "tracking_inbox"}


def test_import_with_map_flags_saves_and_reuses_the_mapping(home: Path, tmp_path: Path) -> None:
    path = write(
        tmp_path / "o.csv",
        "Bestellung,Kunde,Datum,Summe,Gutschein\nB1,K1,03.01.2024,12.5,X\nB2,K2,04.01.2024,3,",
    )
    saved = tmp_path / "mapping.json"
    result = run_cli(
        home,
        "import",
        "orders",
        str(path),
        "--map",
        "Bestellung=order_id",
        "--map",
        "Kunde=user_id",
        "--map",
        "Datum=ts",
        "--map",
        "Summe=amount",
        "--date-format",
        "%d.%m.%Y",
        "--timezone",
        "Europe/Berlin",
        "--currency",
        "EUR",
        "--save-mapping",
        str(saved),
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["orders"], summary["customers"], summary["revenue"]) == (2, 2, {"EUR": "15.50"})
    assert json.loads(saved.read_text())["columns"]["Kunde"] == "user_id"
    again = run_cli(
        home, "import", "orders", str(path), "--mapping", str(saved), "--format", "json"
    )
    assert again.returncode == 0 and json.loads(again.stdout)["orders"] == 2


def test_a_rejected_import_prints_reasons_and_exits_1(home: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "o.csv", "order_id,ts,amount\na,2024-01-01,abc")
    result = run_cli(home, "import", "orders", str(path))
    assert result.returncode == 1
    assert "import_rejected" in result.stderr and "o.csv:2" in result.stderr
    assert "Traceback" not in result.stderr


def test_keys_create_list_revoke(home: Path) -> None:
    created = json.loads(
        run_cli(home, "keys", "create", "--scope", "admin", "--name", "ops", "--json").stdout
    )
    listing = run_cli(home, "keys", "list").stdout
    assert created["id"] in listing and created["secret"] not in listing
    assert run_cli(home, "keys", "revoke", created["id"]).returncode == 0
    assert run_cli(home, "keys", "revoke", "key_missing").returncode == 1


def test_status_shows_rows_hidden_for_an_implausible_time_and_recent_warnings(
    home: Path,
) -> None:
    assert run_cli(home, "init").returncode == 0
    settings = Settings(home=home)
    order = {"user_id": "a", "status": "paid", "amount": Decimal(1), "currency": "USD"}
    with Warehouse(settings).writer() as writer:  # around ingestion, as an old version could
        writer.upsert(
            "orders",
            from_rows(
                "orders",
                [
                    {"order_id": "ok", "ts": datetime(2024, 5, 1, tzinfo=UTC), **order},
                    {"order_id": "x", "ts": datetime(9999, 12, 31, tzinfo=UTC), **order},
                ],
            ),
        )
    found = Tally("tracking", "future_clamped", 3, [{"messageId": "m1"}])
    Database(settings.sqlalchemy_url).write(lambda s: record(s, [found], utc_now()))
    status = json.loads(run_cli(home, "status", "--json").stdout)
    assert (status["orders"], status["tracking_inbox"]) == (2, 0)
    assert status["excluded_rows"] == {"events": 0, "orders": 1, "spend": 0, "users": 0}
    [warning] = status["ingestion_warnings"]
    assert (warning["source"], warning["reason"], warning["count"]) == (
        "tracking",
        "future_clamped",
        3,
    )
    text = run_cli(home, "status").stdout
    assert "hidden from analytics" in text and "future_clamped" in text
