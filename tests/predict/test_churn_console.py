"""What the console's predictions page reads: at-risk rows, the CLV distribution, and the stored
evaluation of the newest churn model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tenure.i18n import use_locale
from tenure.predict.churn import registry
from tenure.predict.churn.baselines import compare
from tenure.predict.churn.metrics import RankingMetrics
from tenure.predict.churn.report import at_risk, clv_distribution, clv_figure, lift_figure, verdict
from tenure.predict.churn.service import stored_evaluation

DRIVER = [{"feature": "recency_days", "value": 40, "effect": 0.9}]


def _churn(**probabilities: float) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "churn_probability": list(probabilities.values()),
            "drivers": [DRIVER] * len(probabilities),
            "next_order_date": [None] * len(probabilities),
        },
        index=pd.Index(list(probabilities), name="user_id"),
    )
    return frame


def _clv(**values: int | None) -> pd.DataFrame:
    return pd.DataFrame(
        {"clv_minor": list(values.values()), "currency": "EUR", "as_of": "2024-03-31"},
        index=pd.Index(list(values), name="user_id"),
    )


class TestAtRisk:
    def test_ranked_by_expected_loss_with_typed_rows(self) -> None:
        rows = at_risk(_churn(u1=0.9, u2=0.5, u3=0.2), _clv(u1=1_000, u2=10_000, u3=100_000))
        assert [r.user_id for r in rows] == ["u3", "u2", "u1"]
        first = rows[0]
        assert (first.clv_minor, first.currency, first.expected_loss_minor) == (
            100_000,
            "EUR",
            20_000,
        )
        assert (first.driver, first.next_order_date) == ("recency_days", None)

    def test_a_customer_without_clv_counts_as_no_value(self) -> None:
        rows = at_risk(_churn(u1=0.9, u2=0.1), _clv(u2=100))
        assert [r.user_id for r in rows] == ["u2", "u1"]
        assert (rows[1].clv_minor, rows[1].currency, rows[1].expected_loss_minor) == (
            None,
            None,
            None,
        )

    def test_without_clv_scores_by_probability_and_limited(self) -> None:
        rows = at_risk(_churn(u1=0.2, u2=0.9, u3=0.5), None, limit=2)
        assert [r.user_id for r in rows] == ["u2", "u3"]
        assert rows[0].clv_minor is None

    def test_no_churn_scores_no_rows(self) -> None:
        assert at_risk(pd.DataFrame(), _clv(u1=1)) == []


class TestClvDistribution:
    def test_totals_and_a_histogram_with_the_tail_in_the_last_bin(self) -> None:
        values = {f"u{i}": 1_000 * (i % 10 + 1) for i in range(200)}
        values["whale"] = 10_000_000
        dist = clv_distribution(_clv(**values), bins=10)
        assert dist is not None
        assert dist.customers == 201 and sum(dist.counts) == 201
        assert dist.total_minor == sum(values.values())
        assert dist.currency == "EUR" and dist.as_of == "2024-03-31"
        assert dist.edges[-1] < 10_000_000 / 100  # the whale does not stretch the axis
        assert dist.counts[-1] >= 1
        assert clv_figure(dist).data[0].y == dist.counts

    def test_missing_values_are_left_out_and_nothing_is_none(self) -> None:
        dist = clv_distribution(_clv(a=100, b=None, c=300))
        assert dist is not None and dist.customers == 2 and dist.median_minor == 200
        assert clv_distribution(pd.DataFrame()) is None
        assert clv_distribution(_clv(a=None)) is None


class _Stub:
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True)


def _evaluation() -> dict[str, Any]:
    rankings = {
        "model": RankingMetrics(10, 0.4, 0.7, 0.7, 1.5),
        "recency": RankingMetrics(10, 0.4, 0.8, 0.6, None),
    }
    return {
        "rankings": {k: v.as_dict() for k, v in rankings.items()},
        "comparison": compare(rankings).as_dict(),
    }


class TestStoredEvaluation:
    def test_no_model_is_none(self, tmp_path: Path) -> None:
        assert stored_evaluation(tmp_path) is None

    def test_the_newest_version_with_its_evaluation(self, tmp_path: Path) -> None:
        registry.save(tmp_path, _Stub(), {"selection": {"evaluated": False, "reason": "short"}})
        evaluation = _evaluation()
        meta = {"ranker": "recency", "selection": {"evaluated": True, "evaluation": evaluation}}
        version = registry.save(tmp_path, _Stub(), meta)
        found = stored_evaluation(tmp_path)
        assert found is not None and found.version == version
        assert found.evaluation == evaluation and found.meta["ranker"] == "recency"

    def test_a_version_without_evaluation(self, tmp_path: Path) -> None:
        registry.save(tmp_path, _Stub(), {"selection": {"evaluated": False, "reason": "short"}})
        found = stored_evaluation(tmp_path)
        assert found is not None and found.evaluation is None


def test_the_verdict_follows_the_locale_and_the_lift_chart_skips_missing_lifts() -> None:
    evaluation = _evaluation()
    english = verdict(evaluation)
    assert english == evaluation["comparison"]["message"]
    with use_locale("zh-CN"):
        assert verdict(evaluation) != english
    figure = lift_figure(evaluation)
    assert list(figure.data[0].y) == [1.5]


@pytest.mark.parametrize("bins", [1, 30])
def test_one_customer(bins: int) -> None:
    dist = clv_distribution(_clv(a=0), bins=bins)
    assert dist is not None and sum(dist.counts) == 1 and dist.top_decile_share is None


def test_negative_values_do_not_break_the_histogram() -> None:
    dist = clv_distribution(_clv(a=-500, b=-20))
    assert dist is not None and sum(dist.counts) == 2


def test_band_counts_in_the_warehouse_equal_the_bands_counted_in_pandas(warehouse: Any) -> None:
    """risk_band_counts (one grouped query) against risk_bands (every score decoded), with an
    older churn version that must not count, a customer without CLV, and band edges exactly."""
    from datetime import timedelta

    from tenure.kit.time import utc_now
    from tenure.predict.churn.report import risk_band_counts, risk_bands
    from tenure.predict.scores import model_scores, write_scores

    now = utc_now()
    churn = {"a": 0.0, "b": 0.25, "c": 0.3, "d": 0.5, "e": 0.74, "f": 0.75, "g": 1.0}
    clv = {u: 1000 * (i + 1) for i, u in enumerate(churn) if u != "c"}
    with warehouse.writer() as writer:
        write_scores(writer, "churn", "old", [(u, {"churn_probability": 0.99}) for u in churn],
                     now - timedelta(days=3))  # fmt: skip
        write_scores(writer, "churn", "new", [(u, {"churn_probability": p}) for u, p in churn.items()], now)  # fmt: skip
        write_scores(writer, "clv", "v1", [(u, {"clv_minor": v}) for u, v in clv.items()], now)
    with warehouse.reader() as con:
        counted = risk_band_counts(con)
        scores, values = model_scores(con, "churn"), model_scores(con, "clv")["clv_minor"]
    assert counted == risk_bands(scores, values)
    assert [b.customers for b in counted] == [1, 2, 2, 2]
