"""The HTML report is one self-contained file with the expected charts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.reports.html import build_report
from tenure.storage.warehouse import Warehouse
from tests.analytics.test_retention import ORDERS
from tests.ingest.builders import write


def test_report_is_offline_and_contains_the_retention_charts(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "h", timezone="Asia/Shanghai")
    warehouse = Warehouse(settings)
    warehouse.init()
    import_files(
        "orders", [str(write(tmp_path / "o.csv", ORDERS))], settings=settings, warehouse=warehouse
    )
    with warehouse.reader() as con:
        document = build_report(con, settings.zone)
    # Offline: no external scripts or stylesheets, plotly.js is inline.
    assert not re.search(r"<script[^>]+src=", document)
    assert "<link" not in document
    assert "Plotly.newPlot" in document and len(document) > 1_000_000
    body = document.split("</head>", 1)[1]
    # The heatmap carries the literal triangle rates of the retention tests.
    z = json.loads(re.search(r'"z":(\[\[.*?\]\])', body).group(1))  # type: ignore[union-attr]
    assert z == [[1.0, 0.5, 0.0, 0.5], [1.0, 1.0, 0.0, None]]
    assert "Customer value by acquisition channel" in document


def test_report_on_an_empty_shop_says_what_to_do(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "h")
    warehouse = Warehouse(settings)
    warehouse.init()
    with warehouse.reader() as con:
        document = build_report(con, ZoneInfo("UTC"))
    assert "No orders yet" in document


def test_report_on_a_simulated_shop_has_every_section(tmp_path: Path) -> None:
    from datetime import date

    from tenure.cli.simulate import import_simulation
    from tenure.simulate import SimulationConfig, simulate_shop

    settings = Settings(home=tmp_path / "h")
    warehouse = Warehouse(settings)
    simulate_shop(
        SimulationConfig(users=400, days=120, start=date(2024, 1, 1), seed=5), tmp_path / "sim"
    )
    import_simulation(tmp_path / "sim", settings, warehouse)
    with warehouse.reader() as con:
        document = build_report(con, ZoneInfo("UTC"))
    for title in (
        "Headline KPIs",
        "Cohort retention",
        "Customer value by acquisition channel",
        "Purchase funnel",
        "Top paths in a session",
    ):
        assert title in document, title
    body = document.split("</head>", 1)[1]
    assert '"type":"funnel"' in body and '"type":"sankey"' in body
