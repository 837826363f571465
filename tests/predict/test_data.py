"""summary_from_transactions: literal examples with explicit time zones, and CDNOW's shape."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tenure.predict.clv import InvalidInput, summary_from_transactions

# c1 buys twice on Jan 1 (merged), once late on Jan 7 New York time (Jan 8 in UTC) and once in
# the holdout; c2 buys once; c3 first buys after the calibration end, so it is left out.
ORDERS = pd.DataFrame(
    {
        "customer": ["c1", "c1", "c1", "c1", "c2", "c3"],
        "ts": pd.to_datetime(
            [
                "2024-01-01T15:00Z",
                "2024-01-01T23:00Z",
                "2024-01-08T03:00Z",
                "2024-01-22T12:00Z",
                "2024-01-10T12:00Z",
                "2024-01-20T12:00Z",
            ]
        ),
        "amount": [10.0, 5.0, 20.0, 30.0, 7.0, 9.0],
    }
)


def summarise(**options: Any) -> pd.DataFrame:
    return summary_from_transactions(
        ORDERS["customer"],
        ORDERS["ts"],
        ORDERS["amount"],
        **{
            "observation_end": "2024-01-31",
            "calibration_end": "2024-01-15",
            "time_unit": "D",
            "timezone": ZoneInfo("America/New_York"),
            **options,
        },
    )


class TestSummaryFromTransactions:
    def test_days_are_local_and_same_day_purchases_merge(self) -> None:
        expected = pd.DataFrame(
            {
                "frequency": [1, 0],
                "recency": [6.0, 0.0],
                "T": [14.0, 5.0],
                "monetary_value": [20.0, 0.0],
                "frequency_holdout": [1, 0],
                "monetary_value_holdout": [30.0, 0.0],
                "duration_holdout": [16.0, 16.0],
            },
            index=pd.Index(["c1", "c2"], name="customer_id"),
        )
        pd.testing.assert_frame_equal(summarise(), expected, check_dtype=False)

    def test_without_merging_every_row_is_a_transaction(self) -> None:
        summary = summarise(merge_same_day=False, time_unit="W")
        assert summary.loc["c1", "frequency"] == 2
        assert summary.loc["c1", "monetary_value"] == pytest.approx(12.5)
        # First purchase Jan 1 10:00 New York, calibration end Jan 15 00:00 New York.
        assert summary.loc["c1", "T"] == pytest.approx((14 - 10 / 24) / 7)

    def test_without_a_split_there_are_no_holdout_columns(self) -> None:
        summary = summary_from_transactions(
            ORDERS["customer"], ORDERS["ts"], observation_end="2024-01-31", time_unit="D"
        )
        assert list(summary.columns) == ["frequency", "recency", "T"]
        assert summary.loc["c3", "T"] == 11.0

    def test_calibration_end_after_observation_end_is_rejected(self) -> None:
        with pytest.raises(InvalidInput, match="calibration_end"):
            summarise(calibration_end="2024-02-15")

    def test_missing_timestamps_are_rejected(self) -> None:
        with pytest.raises(InvalidInput, match="timestamps"):
            summary_from_transactions(["a"], [None], observation_end="2024-01-31")


class TestCdnowSummary:
    def test_papers_first_customer_has_x_2_recency_30_43_age_38_86(
        self, cdnow: pd.DataFrame
    ) -> None:
        # Fader, Hardie & Lee (2005) quote customer 1 of their sample: CDNOW master id 00004.
        row = cdnow.loc["00004"]
        assert row["frequency"] == 2
        assert row["recency"] == pytest.approx(30.43, abs=0.005)
        assert row["T"] == pytest.approx(38.86, abs=0.005)

    def test_whole_cohort_and_its_holdout(self, cdnow: pd.DataFrame) -> None:
        assert len(cdnow) == 23_570
        assert cdnow["frequency_holdout"].sum() == 19_684
        assert (cdnow["duration_holdout"] == 39.0).all()
        assert cdnow["T"].between(27.0, 38.86).all()
