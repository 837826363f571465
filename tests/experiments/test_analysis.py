"""An experiment's results equal an independent computation from the per-user outcomes.

`random_shop` writes exposures and orders and returns each user's true orders and revenue in
the 14 days after exposure; the analysis reads the same from the warehouse through Ibis and
must agree with numpy / scipy on those per-user values: means, Welch's test (scipy), the
delta method, CUPED and the ratio metric.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tenure.config import Settings
from tenure.experiments.analysis import analyse
from tenure.experiments.errors import NoExposures
from tenure.experiments.schemas import ExperimentResults, MetricResult
from tenure.experiments.spec import parse
from tenure.storage.warehouse import Warehouse
from tests.experiments.builders import (
    START,
    experiment_doc,
    exposure_rows,
    order_rows,
    random_shop,
    write,
)


def _warehouse(root: Path, kind: str | None = None) -> Warehouse:
    warehouse = Warehouse(Settings(home=root, warehouse=kind, inbox_flush_seconds=0))
    warehouse.init()
    return warehouse


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, pd.DataFrame]:
    warehouse = _warehouse(tmp_path_factory.mktemp("shop"))
    truth = random_shop(warehouse, "gift", 3000, seed=11, lift=0.25)
    return warehouse, truth


def _run(warehouse: Warehouse, **analysis: Any) -> ExperimentResults:
    doc = experiment_doc(analysis=analysis) if analysis else experiment_doc()
    return analyse(warehouse, parse(doc), "running", None, None)


def _metric(result: ExperimentResults, key: str) -> MetricResult:
    return next(m for m in result.metrics if m.key == key)


class TestAgainstIndependentFigures:
    def test_means_per_variant_equal_the_per_user_truth(
        self, shop: tuple[Warehouse, pd.DataFrame]
    ) -> None:
        warehouse, truth = shop
        result = _run(warehouse)
        grouped = truth.groupby("variant")
        assert result.units == grouped.size().to_dict()
        for key, column in (("orders", "orders"), ("revenue", "revenue")):
            means = {v.variant: v.mean for v in _metric(result, key).variants}
            assert means == pytest.approx(grouped[column].mean().to_dict(), rel=1e-9)
        converted = grouped["orders"].apply(lambda s: float((s > 0).mean())).to_dict()
        assert {v.variant: v.mean for v in _metric(result, "conversion").variants} == (
            pytest.approx(converted, rel=1e-12)
        )

    def test_an_absolute_difference_equals_scipys_welch_test(
        self, shop: tuple[Warehouse, pd.DataFrame]
    ) -> None:
        warehouse, truth = shop
        result = _run(warehouse, difference="absolute", cuped_days=0, correction="none")
        control = truth.loc[truth.variant == "control", "revenue"].to_numpy()
        gift = truth.loc[truth.variant == "gift", "revenue"].to_numpy()
        welch = stats.ttest_ind(gift, control, equal_var=False)
        interval = welch.confidence_interval(0.95)
        row = _metric(result, "revenue").variants[1]
        assert row.lift == pytest.approx(gift.mean() - control.mean(), rel=1e-9)
        assert row.p_value == pytest.approx(welch.pvalue, rel=1e-6)
        assert (row.ci_low, row.ci_high) == pytest.approx((interval.low, interval.high), rel=1e-6)

    def test_a_relative_lift_has_the_delta_methods_interval(
        self, shop: tuple[Warehouse, pd.DataFrame]
    ) -> None:
        warehouse, truth = shop
        row = _metric(_run(warehouse, cuped_days=0), "orders").variants[1]
        a = truth.loc[truth.variant == "control", "orders"].to_numpy()
        b = truth.loc[truth.variant == "gift", "orders"].to_numpy()
        lift = b.mean() / a.mean() - 1
        variance = b.var(ddof=1) / (a.mean() ** 2 * b.size) + (
            a.var(ddof=1) * b.mean() ** 2 / (a.mean() ** 4 * a.size)
        )
        dof = (b.var(ddof=1) / b.size + a.var(ddof=1) / a.size) ** 2 / (
            (b.var(ddof=1) / b.size) ** 2 / (b.size - 1)
            + (a.var(ddof=1) / a.size) ** 2 / (a.size - 1)
        )
        half = stats.t.ppf(0.975, dof) * np.sqrt(variance)
        assert row.lift == pytest.approx(lift, rel=1e-9)
        assert (row.ci_low, row.ci_high) == pytest.approx((lift - half, lift + half), rel=1e-6)

    def test_cuped_narrows_the_interval_around_the_regression_adjusted_lift(
        self, shop: tuple[Warehouse, pd.DataFrame]
    ) -> None:
        warehouse, truth = shop
        plain = _metric(_run(warehouse, cuped_days=0), "orders").variants[1]
        adjusted_result = _run(warehouse, cuped_days=14)
        adjusted = _metric(adjusted_result, "orders").variants[1]
        assert _metric(adjusted_result, "orders").cuped
        assert (adjusted.ci_high - adjusted.ci_low) < 0.95 * (plain.ci_high - plain.ci_low)
        # Independent CUPED: θ from the pooled per-user pre and post orders.
        with warehouse.reader() as con:
            orders = con.table("orders").to_pandas()
        merged = orders.merge(truth[["unit", "exposed_at"]], left_on="user_id", right_on="unit")
        before = merged[(merged.ts < merged.exposed_at)
                        & (merged.ts >= merged.exposed_at - pd.Timedelta(days=14))]  # fmt: skip
        pre = truth.unit.map(before.groupby("unit").size()).fillna(0).to_numpy()
        post = truth.orders.to_numpy()
        theta = np.cov(post, pre, ddof=1)[0, 1] / pre.var(ddof=1)
        is_gift = (truth.variant == "gift").to_numpy()
        a_adj = post[~is_gift].mean() - theta * pre[~is_gift].mean()
        b_adj = post[is_gift].mean() - theta * pre[is_gift].mean()
        assert adjusted.lift == pytest.approx((b_adj - a_adj) / post[~is_gift].mean(), rel=1e-6)

    def test_average_order_value_is_a_ratio_of_sums(
        self, shop: tuple[Warehouse, pd.DataFrame]
    ) -> None:
        warehouse, truth = shop
        aov = _metric(_run(warehouse), "aov")
        sums = truth.groupby("variant")[["revenue", "orders"]].sum()
        expected = (sums.revenue / sums.orders).to_dict()
        assert {v.variant: v.mean for v in aov.variants} == pytest.approx(expected, rel=1e-9)
        assert not aov.cuped and aov.variants[1].ci_low is not None


class TestExposureProblems:
    def test_units_seen_in_two_variants_are_left_out_and_counted(self, tmp_path: Path) -> None:
        warehouse = _warehouse(tmp_path)
        truth = random_shop(warehouse, "gift", 200, seed=2)
        twice = truth.unit[:7].tolist()
        other = ["gift" if v == "control" else "control" for v in truth.variant[:7]]
        write(warehouse, exposure_rows("gift", twice, other, [START] * 7))
        result = _run(warehouse)
        assert result.multiple_exposures == 7
        assert sum(result.units.values()) == 193

    def test_a_traffic_split_far_from_the_weights_is_flagged(self, tmp_path: Path) -> None:
        warehouse = _warehouse(tmp_path)
        units = [f"u{i}" for i in range(2000)]
        variants = ["control" if i % 5 < 3 else "gift" for i in range(2000)]  # 60 / 40
        write(warehouse, exposure_rows("gift", units, variants, [START] * 2000))
        result = _run(warehouse)
        assert result.srm_flag and result.srm_p_value < 1e-10
        assert result.verdict_code == "srm"

    def test_no_exposure_at_all_is_an_error_not_an_empty_table(self, tmp_path: Path) -> None:
        with pytest.raises(NoExposures):
            _run(_warehouse(tmp_path))


@pytest.mark.spark
def test_spark_gives_the_same_results_as_duckdb(tmp_path: Path, spark_session: object) -> None:
    duck, spark = _warehouse(tmp_path / "duck"), _warehouse(tmp_path / "spark", "spark")
    random_shop(duck, "gift", 400, seed=5, lift=0.3)
    random_shop(spark, "gift", 400, seed=5, lift=0.3)
    expected, got = _run(duck).model_dump(), _run(spark).model_dump()
    assert got["units"] == expected["units"]
    for mine, theirs in zip(got["metrics"], expected["metrics"], strict=True):
        for a, b in zip(mine["variants"], theirs["variants"], strict=True):
            numbers = {k for k, v in b.items() if isinstance(v, float)}
            assert {k: a[k] for k in numbers} == pytest.approx(
                {k: b[k] for k in numbers}, rel=1e-9, abs=1e-12
            )
            assert {k: a[k] for k in b if k not in numbers} == {
                k: b[k] for k in b if k not in numbers
            }


class TestExposureConventions:
    def test_growthbook_sdk_indexes_name_the_variants_at_those_positions(
        self, tmp_path: Path
    ) -> None:
        warehouse = _warehouse(tmp_path)
        units = [f"u{i}" for i in range(100)]
        indexes = ["0" if i % 2 else "1" for i in range(100)]
        write(warehouse, exposure_rows("gift", units, indexes, [START] * 100))
        result = _run(warehouse)
        assert result.units == {"control": 50, "gift": 50}
        assert result.multiple_exposures == 0

    def test_orders_in_another_currency_count_as_orders_but_not_as_revenue(
        self, tmp_path: Path
    ) -> None:
        warehouse = _warehouse(tmp_path)
        units = [f"u{i}" for i in range(40)]
        variants = ["control" if i % 2 else "gift" for i in range(40)]
        at = START + timedelta(days=1)
        usd = order_rows(units, [at] * 40, [10.0] * 40, currency="USD")
        gbp = order_rows(units[:4], [at] * 4, [99.0] * 4, currency="GBP")
        gbp["order_id"] = [f"gbp-{u}" for u in units[:4]]
        write(
            warehouse, exposure_rows("gift", units, variants, [START] * 40), pd.concat([usd, gbp])
        )
        result = _run(warehouse, cuped_days=0)
        orders = {v.variant: v.mean for v in _metric(result, "orders").variants}
        revenue = {v.variant: v.mean for v in _metric(result, "revenue").variants}
        assert orders == {"control": 1.1, "gift": 1.1}  # u0..u3: two each, one of them GBP
        assert revenue == {"control": 10.0, "gift": 10.0}
        assert result.currency == "USD"

    def test_server_only_counts_the_exposures_the_assign_api_recorded(self, tmp_path: Path) -> None:
        warehouse = _warehouse(tmp_path)
        sdk = exposure_rows("gift", ["s1", "s2"], ["control", "gift"], [START] * 2)
        server = exposure_rows("gift", ["t1", "t2", "t3"], ["control", "gift", "gift"], [START] * 3)
        server["properties"] = [
            json.dumps({"experiment_id": "gift", "variation_id": v, "source": "tenure"})
            for v in ("control", "gift", "gift")
        ]
        server["event_id"] = ["t-1", "t-2", "t-3"]
        write(warehouse, pd.concat([sdk, server]))
        assert sum(_run(warehouse).units.values()) == 5
        assert _run(warehouse, exposures="server").units == {"control": 1, "gift": 2}

    def test_growthbooks_documented_segment_callback_names_count_too(self, tmp_path: Path) -> None:
        warehouse = _warehouse(tmp_path)
        rows = exposure_rows("gift", ["g1", "g2", "c1"], ["gift", "gift", "control"], [START] * 3)
        rows["properties"] = [
            json.dumps({"experimentId": "gift", "variationId": "gift"}),
            json.dumps({"experiment_id": "gift", "variant_id": "gift"}),
            json.dumps({"experimentId": "gift", "variationId": "0"}),
        ]
        write(warehouse, rows)
        assert _run(warehouse).units == {"control": 1, "gift": 2}
