"""The import summary reads as figures: separators, and revenue per currency, not a dict."""

from __future__ import annotations

from decimal import Decimal

from tenure.cli.imports import _cell


def test_summary_cells() -> None:
    assert _cell(541909) == "541,909"
    assert _cell({"GBP": "9747747.93"}) == "9,747,747.93 GBP"
    assert _cell({"GBP": "1.5", "USD": "2"}) == "1.50 GBP, 2.00 USD"
    assert _cell(Decimal("0.573")) == "0.57" and _cell(0.573) == "0.573"
    assert _cell({}) == "–" and _cell(True) == "True" and _cell("x.csv") == "x.csv"
