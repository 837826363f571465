"""Segment curves pooled from cohort rows: young cohorts only count where they were observed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from tenure.analytics.retention import RetentionResult
from tenure.analytics.retention.query import CohortRow
from tenure.analytics.retention.summary import segment_curves
from tests.analytics.test_retention import load, run


def _row(
    cohort: str, segment: str | None, size: int, retained: list[int], revenue: list[float]
) -> CohortRow:
    per_user = [m / size for m in revenue]
    return CohortRow(
        cohort=date.fromisoformat(cohort),
        segment=segment,
        size=size,
        retained=retained,
        rate=[u / size for u in retained],
        revenue=revenue,
        revenue_per_user=per_user,
        ltv=[sum(per_user[: p + 1]) for p in range(len(per_user))],
    )


def _result(*rows: CohortRow) -> RetentionResult:
    return RetentionResult(
        period="week",
        start="order",
        returning="order",
        observed_until=None,
        cohorts=list(rows),
        day_n=[],
    )


def test_a_young_cohort_counts_only_where_it_was_observed() -> None:
    result = _result(
        _row("2024-01-01", "email", 4, [4, 2, 1], [40.0, 20.0, 8.0]),
        _row("2024-01-08", "email", 1, [1, 1], [10.0, 30.0]),
        _row("2024-01-01", "social", 2, [2, 0, 0], [6.0, 0.0, 0.0]),
    )
    email, social = segment_curves(result)
    assert (email.segment, email.customers, email.cohorts) == ("email", 5, 2)
    assert email.rate == [1.0, 0.6, 0.25]
    assert email.revenue_per_user == [10.0, 10.0, 2.0]
    # LTV at 1: (4 x 15 + 1 x 40) / 5; at 2 only the first cohort is observed.
    assert email.ltv == [10.0, 20.0, 17.0]
    assert (social.segment, social.customers, social.rate) == ("social", 2, [1.0, 0.0, 0.0])


def test_no_cohorts_no_curves() -> None:
    assert segment_curves(_result()) == []


def test_matches_a_pandas_pooling_of_a_real_run(tmp_path: Path) -> None:
    result = run(load(tmp_path, "UTC"), period="week", periods=3, breakdown="first_order_channel")
    rows = pd.DataFrame(
        [
            {"segment": c.segment, "p": p, "size": c.size, "kept": kept}
            for c in result.cohorts
            for p, kept in enumerate(c.retained)
        ]
    )
    pooled = rows.groupby(["segment", "p"])[["size", "kept"]].sum()
    expected = (pooled.kept / pooled["size"]).round(4)
    for curve in segment_curves(result):
        assert curve.rate == expected.loc[curve.segment].tolist()
        assert curve.customers == sum(c.size for c in result.cohorts if c.segment == curve.segment)
