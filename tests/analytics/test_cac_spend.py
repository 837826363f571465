"""`tenure cac`: missing spend is missing (not a CAC of 0), and payback is never 0 when CAC > 0.

Three January customers, each acquired by one channel, with margin 1 and spend by hand:
x (ads) pays the CAC of 100 back with the first order; y (social) needs three months of orders
to reach 90; z (email) never reaches 500 in the three months observed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from tenure.analytics.kpis import AcquisitionQuery, AcquisitionResult, AcquisitionRunner
from tenure.analytics.kpis.acquisition import payback_periods
from tenure.cli import kpis as kpis_cli
from tenure.config import Settings, get_settings
from tenure.ingest.files.importer import import_files
from tenure.storage.warehouse import Warehouse
from tests.ingest.builders import write

ORDERS = """order_id,user_id,ts,amount,status,channel
            1,x,2024-01-10T10:00:00Z,120,paid,ads
            2,y,2024-01-15T10:00:00Z,20,paid,social
            3,y,2024-02-15T10:00:00Z,30,paid,social
            4,y,2024-03-15T10:00:00Z,60,paid,social
            5,z,2024-01-20T10:00:00Z,10,paid,email"""
SPEND = """day,channel,amount
           2024-01-01,ads,100
           2024-01-01,social,90
           2024-01-01,email,500"""
QUERY = {"since": "2024-01-01", "until": "2024-03-31", "horizons": (30,)}


def load(tmp_path: Path, spend: bool) -> Warehouse:
    warehouse = Warehouse(Settings(home=tmp_path / "home", timezone="UTC"))
    warehouse.init()
    files = [("orders", ORDERS), *([("spend", SPEND)] if spend else [])]
    for kind, text in files:
        path = write(tmp_path / f"{kind}.csv", text)
        import_files(kind, [str(path)], settings=warehouse.settings, warehouse=warehouse)
    return warehouse


def run(warehouse: Warehouse) -> AcquisitionResult:
    with warehouse.reader() as con:
        query = AcquisitionQuery.model_validate(QUERY)
        return AcquisitionRunner(query, warehouse.settings.zone)(con)


def rows(result: AcquisitionResult) -> dict[str, Any]:
    return {r.channel: r for r in [*result.channels, *([result.total] if result.total else [])]}


class TestNoSpend:
    def test_cac_and_payback_are_missing_not_zero(self, tmp_path: Path) -> None:
        result = run(load(tmp_path, spend=False))
        table = {
            c: (r.spend, r.new_customers, r.cac, r.payback_period) for c, r in rows(result).items()
        }
        assert table == {
            "ads": (None, 1, None, None),
            "email": (None, 1, None, None),
            "social": (None, 1, None, None),
            "(all)": (None, 3, None, None),
        }
        assert result.spend_missing == ["(all)"]
        assert all(h.ltv_to_cac is None for r in rows(result).values() for h in r.ltv)
        cac = [s for s in result.series if s.metric == "cac"]
        assert cac and all(p.value is None for s in cac for p in s.points)

    def test_a_channel_without_spend_is_named(self, tmp_path: Path) -> None:
        warehouse = load(tmp_path, spend=False)
        path = write(tmp_path / "some.csv", "day,channel,amount\n2024-01-01,ads,100")
        import_files("spend", [str(path)], settings=warehouse.settings, warehouse=warehouse)
        result = run(warehouse)
        assert result.spend_missing == ["email", "social"]
        assert (rows(result)["ads"].cac, rows(result)["social"].cac) == (100.0, None)


class TestPayback:
    def test_payback_counts_periods_from_one_as_computed_by_hand(self, tmp_path: Path) -> None:
        result = run(load(tmp_path, spend=True))
        table = {c: (r.cac, r.margin_curve, r.payback_period) for c, r in rows(result).items()}
        assert table == {
            "ads": (100.0, [120.0, 120.0, 120.0], 1),  # paid back by the first order's month
            "social": (90.0, [20.0, 50.0, 110.0], 3),  # 20, 50, then 110 >= 90 in March
            "email": (500.0, [10.0, 10.0, 10.0], None),  # not within the 3 months observed
            "(all)": (230.0, [50.0, 60.0, 80.0], None),  # 690 / 3; (120 + 110 + 10) / 3 = 80
        }
        assert result.spend_missing == []

    @given(
        curve=st.lists(st.floats(0, 1e6, allow_nan=False), max_size=30).map(
            lambda xs: [sum(xs[: i + 1]) for i in range(len(xs))]  # cumulative: never falls
        ),
        cac=st.floats(1e-6, 1e7, allow_nan=False),
    )
    def test_payback_is_never_zero_when_cac_is_above_zero(
        self, curve: list[float], cac: float
    ) -> None:
        payback = payback_periods(curve, cac)
        reached = [k + 1 for k, margin in enumerate(curve) if margin >= cac]
        assert payback == (reached[0] if reached else None)
        assert payback != 0

    def test_no_cac_means_no_payback_and_zero_cac_needs_none(self) -> None:
        assert payback_periods([10.0, 20.0], None) is None
        assert payback_periods([10.0, 20.0], 0.0) == 0


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[typer.Typer, Path]]:
    monkeypatch.setenv("TENURE_TIMEZONE", "UTC")
    monkeypatch.delenv("TENURE_WAREHOUSE", raising=False)
    monkeypatch.delenv("TENURE_DATABASE_URL", raising=False)
    app = typer.Typer()
    app.command("cac")(kpis_cli.acquisition)
    app.command("kpis")(kpis_cli.kpis)
    yield app, tmp_path
    get_settings.cache_clear()


def use(monkeypatch: pytest.MonkeyPatch, warehouse: Warehouse) -> None:
    monkeypatch.setenv("TENURE_HOME", str(warehouse.settings.home))
    get_settings.cache_clear()


ARGS = ["cac", "--since", "2024-01-01", "--until", "2024-03-31", "--horizons", "30"]


class TestCli:
    def test_without_spend_json_has_null_cac_and_a_note_says_how_to_import_it(
        self, cli: tuple[typer.Typer, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        app, tmp_path = cli
        use(monkeypatch, load(tmp_path, spend=False))
        result = CliRunner().invoke(app, [*ARGS, "--format", "json"])
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert body["total"]["cac"] is None and body["total"]["payback_period"] is None
        assert [c["cac"] for c in body["channels"]] == [None, None, None]
        assert body["spend_missing"] == ["(all)"]
        notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
        assert len(notes) == 1 and "tenure import spend FILE" in notes[0]
        table = CliRunner().invoke(app, ARGS)
        assert table.exit_code == 0
        cells = [
            [c.strip() for c in line.split("│")]
            for line in table.stdout.splitlines()
            if line.startswith("│ ") and "channel" not in line
        ]
        # spend, CAC and payback are "–" on every row, never 0.00 or 0.
        assert [(c[1], c[2], c[4], c[-2]) for c in cells] == [
            (name, "–", "–", "–") for name in ("ads", "email", "social", "(all)")
        ]

    def test_the_table_shows_payback_not_reached_as_more_than_the_periods_seen(
        self, cli: tuple[typer.Typer, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        app, tmp_path = cli
        use(monkeypatch, load(tmp_path, spend=True))
        result = CliRunner().invoke(app, [*ARGS, "--format", "table"])
        assert result.exit_code == 0, result.output
        lines = {line.split()[1]: line for line in result.stdout.splitlines() if "│" in line}
        assert lines["email"].rstrip(" │").endswith("> 3")
        assert lines["ads"].rstrip(" │").endswith("1")
        assert "note:" not in result.stderr
