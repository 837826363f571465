"""Churn features and labels: worked by hand, blind to anything after the cut-off, same on Spark."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tenure.predict.churn.features import cutoff_instant, labelled_features
from tests.predict.churn_builders import EVENTS, ORDERS, ZONE, shop

CUTOFF = date(2024, 3, 31)
H = 14 / 24  # the cut-off is 16:00 UTC, the orders are at 02:00 UTC


def features(warehouse: object, day: date = CUTOFF, horizon: int = 90) -> pd.DataFrame:
    with warehouse.reader() as con:  # type: ignore[attr-defined]
        frame = labelled_features(con, day, ZoneInfo(ZONE), horizon).execute()
    return frame.set_index("user_id").sort_index()


class TestCutoff:
    def test_the_cutoff_is_the_next_local_midnight_in_utc(self) -> None:
        assert cutoff_instant(CUTOFF, ZoneInfo(ZONE)).isoformat() == "2024-03-31T16:00:00+00:00"
        # London is on summer time (UTC+1) by the end of 2024-03-31.
        assert cutoff_instant(date(2024, 3, 31), ZoneInfo("Europe/London")).isoformat() == (
            "2024-03-31T23:00:00+00:00"
        )


class TestWorkedExample:
    def test_only_customers_with_a_paid_order_before_the_cutoff_are_rows(
        self, tmp_path: Path
    ) -> None:
        assert list(features(shop(tmp_path)).index) == ["a", "b", "c"]

    def test_recency_frequency_and_spend(self, tmp_path: Path) -> None:
        a = features(shop(tmp_path)).loc["a"]
        assert a.recency_days == pytest.approx(36 + H)  # Feb 24 -> Mar 31
        assert a.tenure_days == pytest.approx(86 + H)  # Jan 5 -> Mar 31 (leap year)
        assert (a.orders, a.order_days, a.orders_30d, a.orders_90d) == (3, 3, 0, 3)
        assert (a.revenue, a.revenue_90d, a.avg_order_value) == (210, 210, 70)
        assert a.order_rate == pytest.approx(3 / (86 + H) * 30)
        assert a.order_trend == pytest.approx(1.0)

    def test_inter_purchase_gaps_and_how_overdue_the_customer_is(self, tmp_path: Path) -> None:
        a = features(shop(tmp_path)).loc["a"]
        assert (a.gap_mean_days, a.gap_max_days, a.last_gap_days) == (25, 30, 30)
        assert a.gap_std_days == pytest.approx(7.0710678)
        assert a.overdue_ratio == pytest.approx((36 + H) / 25)

    def test_refunds_and_coupons(self, tmp_path: Path) -> None:
        a = features(shop(tmp_path)).loc["a"]
        assert (a.refunds, a.refund_share) == (1, 0.25)
        assert a.coupon_share == pytest.approx(1 / 3)  # a null coupon does not count

    def test_activity_windows_and_funnel_stage(self, tmp_path: Path) -> None:
        frame = features(shop(tmp_path))
        a, c = frame.loc["a"], frame.loc["c"]
        assert (a.events_30d, a.events_prev_30d, a.funnel_stage_30d) == (2, 1, 2)
        assert a.activity_trend == pytest.approx(3 / 2)
        assert a.event_recency_days == pytest.approx(10 + H)
        assert (c.events_30d, c.funnel_stage_30d, c.checkouts_30d) == (0, 0, 0)
        assert pd.isna(c.event_recency_days)

    def test_a_one_order_customer_has_no_gaps(self, tmp_path: Path) -> None:
        b = features(shop(tmp_path)).loc["b"]
        assert b.recency_days == pytest.approx(50 + H)
        assert pd.isna(b.gap_mean_days) and pd.isna(b.overdue_ratio)
        assert b.channel == "unknown"

    def test_labels_count_paid_orders_in_the_local_horizon(self, tmp_path: Path) -> None:
        frame = features(shop(tmp_path))
        assert frame.orders_after.to_dict() == {"a": 1, "b": 1, "c": 0}
        assert frame.churned.to_dict() == {"a": 0, "b": 0, "c": 1}
        short = features(shop(tmp_path / "2"), horizon=1)
        assert short.churned.to_dict() == {"a": 1, "b": 0, "c": 1}


class TestNoLeakage:
    def test_rows_after_the_cutoff_change_no_feature(self, tmp_path: Path) -> None:
        later_orders = [
            ("z1", "a", "2024-03-31T16:00:00", "paid", 500, None),  # exactly at the cut-off
            ("z2", "c", "2024-04-01T02:00:00", "refunded", -25, None),
            ("z3", "e", "2024-04-05T02:00:00", "paid", 10, None),
        ]
        later_events = [("z4", "a", "Checkout Started", "2024-03-31T16:00:00")]
        base = features(shop(tmp_path / "base"))
        more = features(shop(tmp_path / "more", ORDERS + later_orders, EVENTS + later_events))
        columns = [c for c in base.columns if c not in ("orders_after", "churned")]
        pd.testing.assert_frame_equal(base[columns], more[columns])


@pytest.mark.spark
def test_duckdb_and_spark_compute_the_same_features(tmp_path: Path, spark_session: object) -> None:
    duck = features(shop(tmp_path / "duck"))
    spark = features(shop(tmp_path / "spark", warehouse="spark"))
    spark = spark[duck.columns].astype(duck.dtypes.to_dict())
    pd.testing.assert_frame_equal(duck, spark, check_exact=False, rtol=1e-9)
