"""On UCI Online Retail the churn model out-ranks recency and BG/NBD on the last 90 days."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import preset
from tenure.predict.churn.service import ChurnConfig, evaluate
from tenure.storage.warehouse import Warehouse


def test_the_model_beats_both_baselines_on_the_christmas_window(
    tmp_path: Path, real_data: Path
) -> None:
    settings = Settings(home=tmp_path / "h", timezone="Europe/London")
    warehouse = Warehouse(settings)
    warehouse.init()
    files = sorted(str(p) for p in (real_data / "online_retail").glob("*.csv"))
    import_files(
        "orders",
        files,
        settings=settings,
        warehouse=warehouse,
        mapping=preset("online-retail", "orders"),
    )
    with warehouse.reader() as con:
        result = evaluate(con, ZoneInfo("Europe/London"), ChurnConfig(horizon_days=90))
    # The data ends 2011-12-09: customers as of 2011-09-10, churn = no order by 2011-12-09.
    assert (result["cutoff"], result["window_end"]) == ("2011-09-10", "2011-12-09")
    rankings = result["rankings"]
    model = rankings["model"]["roc_auc"]
    assert model > rankings["recency"]["roc_auc"] + 0.03
    assert model > rankings["bgnbd_expected_orders"]["roc_auc"]
    assert model > rankings["bgnbd_p_alive"]["roc_auc"]
    assert model > rankings["bgnbd_p_order"]["roc_auc"]
    assert result["comparison"]["ranker"] == "model"
