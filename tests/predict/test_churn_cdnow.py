"""On CDNOW's 39/39-week split the churn model out-ranks BG/NBD (lifetimes' AUC is 0.76)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import preset
from tenure.predict.churn.service import ChurnConfig, evaluate
from tenure.storage.warehouse import Warehouse

LIFETIMES_BGNBD_AUC = 0.76


def test_the_repeat_ranking_beats_bgnbd_on_the_holdout(tmp_path: Path, real_data: Path) -> None:
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
    with warehouse.reader() as con:
        # Churn in the 273 days after 1997-09-30 = no repeat purchase in the 39-week holdout.
        result = evaluate(con, ZoneInfo("UTC"), ChurnConfig(horizon_days=273), date(1997, 9, 30))
    assert result["customers"] == 23_570
    assert result["window_end"] == "1998-06-30"
    model = result["rankings"]["model"]["roc_auc"]
    bgnbd = result["rankings"]["bgnbd_expected_orders"]["roc_auc"]
    assert round(bgnbd, 3) == 0.763  # Tenure's BG/NBD, ranked by expected purchases
    assert model > bgnbd > LIFETIMES_BGNBD_AUC
    assert model > result["rankings"]["recency"]["roc_auc"]
