"""`tenure experiments uplift fit|score` on a small simulated shop, as an operator runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from tenure.cli.main import app as main_app
from tenure.cli.simulate import import_simulation
from tenure.cli.uplift import app
from tenure.config import Settings, get_settings
from tenure.simulate import SimulationConfig, simulate_shop
from tenure.simulate.config import CampaignSpec
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.campaigns.builders import enter_treated

DAY = datetime(2024, 7, 1, tzinfo=UTC)
SPEC = CampaignSpec(day=DAY.date(), treated_share=0.5, duration_days=28, base_lift=1.0)
CONFIG = replace(SimulationConfig(users=4000, days=240, seed=11, chunk_users=4000), campaign=SPEC)
pytestmark = pytest.mark.xdist_group("uplift_cli")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("uplift-cli")
    simulate_shop(CONFIG, root / "sim")
    home = root / "home"
    import_simulation(root / "sim", Settings(home=home), Warehouse(Settings(home=home)))
    truth = pd.read_parquet(root / "sim" / "truth" / "campaign_truth.parquet")
    return home, truth[truth["eligible"]].reset_index(drop=True)


@pytest.fixture
def cli(shop: tuple[Path, pd.DataFrame], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("TENURE_HOME", str(shop[0]))
    for name in ("TENURE_WAREHOUSE", "TENURE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()

    def run(*argv: str, ok: bool = True) -> Any:
        result = CliRunner().invoke(app, list(argv), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, (result.stdout, result.stderr)
        return result

    yield run
    get_settings.cache_clear()


def _units_csv(
    path: Path, truth: pd.DataFrame, columns: tuple[str, ...] = ("user_id", "treated", "at")
) -> Path:
    frame = pd.DataFrame(
        {
            "user_id": truth["user_id"],
            "treated": truth["treated"].map({True: "true", False: "false"}),
            "at": "2024-07-01T00:00:00Z",
        }
    )
    frame[list(columns)].to_csv(path, index=False)
    return path


def _one_error_line(result: Any, code: str) -> str:
    assert result.exit_code == 1, result.stdout
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error ({code})"), result.stderr
    return str(lines[0])


def test_fit_from_a_units_file_then_score_gives_the_top_share_audience(
    cli: Any, shop: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    _, truth = shop
    units = _units_csv(tmp_path / "units.csv", truth)
    meta = json.loads(cli("fit", "--units", str(units), "--format", "json").stdout)
    assert meta["units"] == len(truth)
    assert meta["treated"] > 100 and meta["control"] > 100
    assert meta["training"] + meta["held_out"] == meta["customers"]
    assert {"qini_coefficient", "auuc", "random_auuc", "targeted"} <= set(meta["evaluation"])
    table = cli("fit", "--units", str(units), "--learner", "two").stdout
    assert "Qini coefficient" in table and "top 30%" in table

    scored = json.loads(cli("score", "--format", "json").stdout)
    assert scored["written"] == scored["customers"] > meta["customers"]
    assert "2024-08-01" <= scored["as_of"] < str(CONFIG.end)  # the last day with orders
    assert scored["rule"] == {"field": "score.uplift.percentile", "op": "lte", "value": 0.3}
    assert [row["rank"] for row in scored["top"][:3]] == [1, 2, 3]
    assert "score.uplift.percentile" in cli("score", "--top", "0.2").stdout

    rule = json.dumps(scored["rule"])
    preview = CliRunner().invoke(main_app, ["segments", "preview", rule, "--format", "json"])
    assert preview.exit_code == 0, preview.stderr
    assert json.loads(preview.stdout)["count"] == int(0.3 * scored["customers"])


def test_fit_from_a_campaigns_treatment_and_holdout_entries(
    cli: Any, shop: tuple[Path, pd.DataFrame]
) -> None:
    home, truth = shop
    database = Database(Settings(home=home).sqlalchemy_url)
    database.upgrade()
    enter_treated(database, "summer", truth, DAY, 21)
    meta = json.loads(cli("fit", "--campaign", "summer", "--format", "json").stdout)
    assert meta["units"] == len(truth) and meta["outcome_days"] == 21
    _one_error_line(cli("fit", "--campaign", "winter", ok=False), "campaign_not_found")


def test_bad_input_is_one_error_line(
    cli: Any, shop: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    _, truth = shop
    no_time = _units_csv(tmp_path / "no_time.csv", truth, ("user_id", "treated"))
    line = _one_error_line(cli("fit", "--units", str(no_time), ok=False), "uplift_units_invalid")
    assert str(no_time) in line
    _one_error_line(cli("fit", ok=False), "uplift_units_source")
    few = _units_csv(tmp_path / "few.csv", truth.head(40))
    _one_error_line(cli("fit", "--units", str(few), ok=False), "uplift_too_few_units")
    missing = tmp_path / "missing.csv"
    assert str(missing) in _one_error_line(
        cli("fit", "--units", str(missing), ok=False), "cli_file_unreadable"
    )
    _one_error_line(cli("score", "--version", "nope", ok=False), "uplift_model_missing")
