"""`tenure experiments …` as separate processes, as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tenure.config import Settings
from tenure.storage.warehouse import Warehouse
from tests.experiments.builders import experiment_doc, random_shop
from tests.serving import run_cli


def _ok(home: Path, *args: str) -> str:
    result = run_cli(home, "experiments", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _fails(home: Path, *args: str) -> str:
    result = run_cli(home, "experiments", *args)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


def test_an_operator_creates_runs_and_reads_an_experiment(home: Path, tmp_path: Path) -> None:
    warehouse = Warehouse(Settings(home=home))
    warehouse.init()
    random_shop(warehouse, "gift", 800, seed=4, lift=0.8)
    document = tmp_path / "gift.yaml"
    document.write_text(json.dumps(experiment_doc()), encoding="utf-8")
    assert "version 1" in _ok(home, "create", str(document))
    # The shop's exposures came from a client-side SDK before the experiment was saved here;
    # a draft's results read every exposure, a started one's only those since its start.
    results = json.loads(_ok(home, "results", "gift", "--json"))
    assert results["verdict_code"] == "winner"
    assert set(results["units"]) == {"control", "gift"}
    table = _ok(home, "results", "gift", "--locale", "zh-CN")
    assert "胜出" in table
    fitted = json.loads(_ok(home, "uplift", "fit", "--experiment", "gift", "--format", "json"))
    assert fitted["units"] == sum(results["units"].values())
    assert fitted["treated"] > 50 and fitted["control"] > 50
    assert "has no treatment variant `control`" in _fails(
        home, "uplift", "fit", "--experiment", "gift", "--variant", "control"
    )
    assert "running" in _ok(home, "start", "gift")
    listed = json.loads(_ok(home, "list", "--json"))
    assert [(e["key"], e["status"]) for e in listed] == [("gift", "running")]
    assigned = json.loads(_ok(home, "assign", "gift", "--user", "u00001"))
    assert assigned["variant"] in ("control", "gift")


def test_mistakes_get_one_line_each(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(experiment_doc(variants=[{"key": "a", "weight": 0.7},
                                                       {"key": "b", "weight": 0.7}])))  # fmt: skip
    assert "sum to 1.4" in _fails(home, "create", str(bad))
    assert "experiment_not_found" in _fails(home, "results", "nope")
    assert "between 0 and 1" in _fails(home, "power", "--baseline", "3", "--lift", "0.1")
    assert "experiment_power_invalid" in _fails(home, "power", "--baseline", "0.1", "--lift", "0")


def test_the_power_calculator_prints_units_and_days(home: Path) -> None:
    answer = json.loads(
        _ok(home, "power", "--baseline", "0.05", "--lift", "0.1", "--daily", "2000", "--json")
    )
    assert answer["days"] == -(-answer["total_units"] // 2000)
    assert answer["units_per_variant"] * 2 == answer["total_units"]
