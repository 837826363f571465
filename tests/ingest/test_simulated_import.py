"""A simulated shop imports completely and its figures survive the trip into the warehouse."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from tenure.cli.simulate import import_simulation
from tenure.config import Settings
from tenure.simulate import SimulationConfig, simulate_shop
from tenure.storage.warehouse import Warehouse
from tests.serving import run_cli


def test_simulated_shop_round_trips_through_import(
    duck_settings: Settings, warehouse: Warehouse
) -> None:
    out = duck_settings.home / "sim"
    summary = simulate_shop(
        SimulationConfig(users=1500, days=120, start=date(2024, 3, 1), seed=3), out
    )
    results = import_simulation(out, duck_settings, warehouse)
    assert (
        results["orders"]["orders"] + results["orders"]["refunds"]
        == summary.orders + summary.refunds
    )
    assert Decimal(results["orders"]["revenue"]["USD"]) == summary.revenue
    assert results["events"]["events"] == summary.events
    assert results["users"]["users"] == summary.users
    truth = pq.read_table(out / "truth" / "users.parquet").to_pandas()
    assert results["orders"]["customers"] == int((truth.orders > 0).sum())


def test_demo_without_serving_prepares_everything(home: Path) -> None:
    result = run_cli(home, "demo", "--users", "800", "--no-serve")
    assert result.returncode == 0, result.stderr
    assert "tnr_write_" in result.stdout and "tnr_admin_" in result.stdout
    assert (home / "report.html").stat().st_size > 1_000_000
    status = json.loads(run_cli(home, "status", "--json").stdout)
    assert status["orders"] > 0
