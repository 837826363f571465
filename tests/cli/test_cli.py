"""The command line: init twice, import with flags and a saved mapping, errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

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
