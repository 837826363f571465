"""The report's RFM and lifecycle sections."""

from __future__ import annotations

import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from tenure.config import Settings
from tenure.reports.html import build_report, rfm_lifecycle_sections
from tenure.storage.warehouse import Warehouse
from tests.segments.builders import build_shop


def test_sections_show_the_segments_the_grid_and_the_stages(tmp_path: Path) -> None:
    shop = build_shop(tmp_path)
    with shop.reader() as con:
        rfm, lifecycle = rfm_lifecycle_sections(con, ZoneInfo("UTC"))
        document = build_report(con, ZoneInfo("UTC"))
    assert rfm.title == "RFM segments" and lifecycle.title == "Lifecycle stages"
    assert "<td>Can&#x27;t Lose</td><td>1</td><td>12.5%</td>" in rfm.body
    grid = rfm.figures[0].to_plotly_json()["data"][0]["z"]
    assert [list(row) for row in grid] == [  # rows R1..R5, columns F1..F5
        [1, 1, 0, 0, 0],
        [0, 1, 0, 0, 1],
        [0, 1, 0, 0, 0],
        [1, 0, 0, 1, 0],
        [1, 0, 0, 0, 0],
    ]
    bars = lifecycle.figures[0].to_plotly_json()["data"][0]
    assert list(bars["y"]) == [2, 1, 2, 1, 1, 1]
    assert "8 customers as of 2024-03-31" in lifecycle.note
    assert "RFM segments" in document and "Lifecycle stages" in document
    assert json.loads(re.search(r'"x":(\["New","Active".*?\])', document).group(1))[3] == "At risk"  # type: ignore[union-attr]


def test_an_empty_shop_gets_a_note_instead_of_charts(tmp_path: Path) -> None:
    warehouse = Warehouse(Settings(home=tmp_path))
    warehouse.init()
    with warehouse.reader() as con:
        sections = rfm_lifecycle_sections(con, ZoneInfo("UTC"))
    assert all(not s.figures for s in sections)
