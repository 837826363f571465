"""CLV fitted from the warehouse's orders reproduces the CDNOW holdout figures."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import preset
from tenure.predict.service import fit_clv
from tenure.storage.warehouse import Warehouse
from tests.serving import run_cli


def test_bgnbd_from_the_warehouse_matches_the_published_holdout(
    tmp_path: Path, real_data: Path
) -> None:
    settings = Settings(home=tmp_path / "h")
    warehouse = Warehouse(settings)
    warehouse.init()
    import_files(
        "orders",
        [str(real_data / "cdnow_master.csv")],
        settings=settings,
        warehouse=warehouse,
        mapping=preset("cdnow", "orders"),
    )
    from datetime import date

    with warehouse.reader() as con:
        result = fit_clv(con, "bgnbd", ZoneInfo("UTC"), calibration_end=date(1997, 9, 30))
    holdout = result["holdout"]
    assert result["customers"] == 23_570
    assert holdout["actual_total"] == 19_684
    assert round(holdout["predicted_total"]) == 16_874
    assert round(holdout["mae"], 2) == 0.82
    assert holdout["auc"] > 0.76


def test_cli_prints_the_documented_json(tmp_path: Path, real_data: Path) -> None:
    home = tmp_path / "h"
    assert (
        run_cli(
            home, "import", "orders", str(real_data / "cdnow_master.csv"), "--preset", "cdnow"
        ).returncode
        == 0
    )
    out = run_cli(
        home,
        "predict",
        "clv",
        "--model",
        "paretonbd",
        "--calibration-end",
        "1997-09-30",
        "--format",
        "json",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["model"] == "paretonbd" and data["time_unit"] == "week"
    assert set(data["params"]) == {"r", "alpha", "s", "beta"}
    assert data["holdout"]["actual_total"] == 19_684
