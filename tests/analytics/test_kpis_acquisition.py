"""CAC, LTV at horizons and payback per channel, from a crafted spend file, in an explicit zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tenure.analytics.base import InvalidQuery
from tenure.analytics.kpis import AcquisitionQuery, AcquisitionResult, AcquisitionRunner
from tenure.ingest.files.importer import import_files
from tenure.storage.warehouse import Warehouse
from tests.analytics.test_kpis import JAN, MAR, load_shop
from tests.ingest.builders import write

# b's profile says social although b's first order came by email: the profile wins.
USERS = """user_id,channel
           b,social"""

# The 999 in May is outside the window; email spends but acquires nobody.
SPEND = """day,channel,amount
           2024-01-01,ads,100
           2024-01-15,ads,60
           2024-02-01,social,30
           2024-02-01,email,50
           2024-03-01,ads,40
           2024-05-01,ads,999"""


def load_acquisition(tmp_path: Path, **settings: Any) -> Warehouse:
    """The KPI shop plus profiles, spend, and e: a tracked order whose user has no profile."""
    warehouse = load_shop(tmp_path, **settings)
    for kind, text in (("users", USERS), ("spend", SPEND)):
        path = write(tmp_path / f"{kind}.csv", text)
        import_files(kind, [str(path)], settings=warehouse.settings, warehouse=warehouse)
    with warehouse.writer() as writer:
        writer.upsert(
            "orders",
            pa.table(
                {
                    "order_id": ["e1"],
                    "user_id": ["e"],
                    "ts": [datetime(2024, 2, 20, 10, tzinfo=UTC)],
                    "status": ["paid"],
                    "amount": [Decimal("70")],
                    "currency": ["USD"],
                    "channel": ["affiliate"],
                }
            ),
        )
    return warehouse


def run(warehouse: Warehouse, **query: Any) -> AcquisitionResult:
    with warehouse.reader() as con:
        runner = AcquisitionRunner(AcquisitionQuery.model_validate(query), warehouse.settings.zone)
        return runner(con)


QUERY = {"since": "2024-01-01", "until": "2024-03-31", "margin": 0.6, "horizons": (30, 60)}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> AcquisitionResult:
    return run(load_acquisition(tmp_path_factory.mktemp("acq")), **QUERY)


def by_channel(result: AcquisitionResult) -> dict[str, Any]:
    rows = [*result.channels, *([result.total] if result.total else [])]
    return {r.channel: r for r in rows}


class TestCac:
    def test_spend_new_customers_and_cac_per_channel(self, result: AcquisitionResult) -> None:
        table = {c: (r.spend, r.new_customers, r.cac) for c, r in by_channel(result).items()}
        assert table == {
            "ads": (200.0, 2, 100.0),  # a (January) and c (March)
            # e: no profile, so the first order's channel; no spend row: CAC missing, not 0.
            "affiliate": (None, 1, None),
            "email": (50.0, 0, None),
            "social": (30.0, 1, 30.0),
            "(all)": (280.0, 4, 70.0),
        }
        assert (result.since, result.until, result.observed_until) == (
            JAN,
            date(2024, 3, 31),
            date(2024, 4, 2),  # the last order; spend in May does not extend what is observed
        )

    def test_cac_per_month_with_its_change(self, result: AcquisitionResult) -> None:
        cac = next(s for s in result.series if s.metric == "cac" and s.segment == "ads")
        assert [(p.period, p.value) for p in cac.points] == [
            (JAN, 160.0),
            (date(2024, 2, 1), None),
            (MAR, 40.0),
        ]
        spend = next(s for s in result.series if s.metric == "spend" and s.segment == "(all)")
        assert [p.value for p in spend.points] == [160.0, 80.0, 40.0]
        assert (spend.points[1].change, spend.points[1].change_rate) == (-80.0, -0.5)


class TestLtvAndPayback:
    def test_ltv_at_horizons_counts_only_customers_observed_that_long(
        self, result: AcquisitionResult
    ) -> None:
        rows = by_channel(result)
        ltv = {
            c: [(h.days, h.customers, h.ltv, h.ltv_to_cac) for h in r.ltv] for c, r in rows.items()
        }
        # Observed to 2 April: 60 days needs a first order by 3 February (a and b only).
        assert ltv == {
            "ads": [(30, 2, 115.0, 1.15), (60, 1, 190.0, 1.9)],
            "affiliate": [(30, 1, 70.0, None), (60, 0, None, None)],
            "email": [(30, 0, None, None), (60, 0, None, None)],
            "social": [(30, 1, 40.0, 1.3333), (60, 1, 40.0, 1.3333)],
            "(all)": [(30, 4, 85.0, 1.2143), (60, 2, 115.0, 1.6429)],
        }

    def test_payback_counts_the_periods_until_cumulative_margin_reaches_cac(
        self, result: AcquisitionResult
    ) -> None:
        rows = by_channel(result)
        curves = {c: (r.margin_curve, r.payback_period) for c, r in rows.items()}
        assert curves == {
            "ads": ([69.0, 81.0, 114.0, 114.0], 3),  # CAC 100 reached in the third month
            "affiliate": ([42.0, 42.0, 42.0], None),  # no spend: no CAC to pay back
            "email": ([], None),
            "social": ([24.0, 24.0, 30.0], 3),
            "(all)": ([51.0, 57.0, 62.0, 114.0], 4),
        }

    def test_without_margin_the_whole_revenue_counts(self, tmp_path: Path) -> None:
        full = run(load_acquisition(tmp_path), **{**QUERY, "margin": 1.0})
        assert by_channel(full)["ads"].margin_curve == [115.0, 135.0, 190.0, 190.0]
        # The first orders pay the CAC of 100 back in their own month: one month, not zero.
        assert by_channel(full)["ads"].payback_period == 1


class TestValidation:
    def test_horizons_must_be_positive(self, tmp_path: Path, warehouse: Warehouse) -> None:
        with pytest.raises(InvalidQuery):
            run(warehouse, horizons=(0, 30))

    def test_an_empty_warehouse_gives_no_channels(self, warehouse: Warehouse) -> None:
        empty = run(warehouse)
        assert (empty.channels, empty.total, empty.observed_until) == ([], None, None)
