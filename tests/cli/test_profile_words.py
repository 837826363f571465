"""`tenure profile` reads as words: no None, nan or raw score dicts, and figures that seem to
disagree (RFM At Risk beside lifecycle loyal, P(alive) 1.00 beside churn 99.9 %) say why."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tenure.cli.context import console
from tenure.cli.profiles import _print
from tenure.profiles.schemas import Amount, Features, Lifecycle, Profile, Score

AT = datetime(2024, 12, 30, tzinfo=UTC)


def _profile(orders: int, p_alive: float, next_order: str | None) -> Profile:
    scores = {
        "churn": Score(
            model="churn",
            version="v1",
            computed_at=AT,
            values={
                "as_of": "2024-12-30",
                "churn_probability": 0.999,
                "drivers": [{"effect": 0.8, "feature": "recency_days", "value": 82.0}],
                "horizon_days": 90,
                "next_order_date": next_order,
                "p_alive": p_alive,
            },
        ),
        "rfm": Score(
            model="rfm",
            version="2024-12-30",
            computed_at=AT,
            values={"score": "243", "segment": "At Risk", "r": 2, "f": 4, "m": 3},
        ),
        "lifecycle": Score(
            model="lifecycle",
            version="v",
            computed_at=AT,
            values={"stage": "loyal", "at_risk_days": 90, "churn_days": 180},
        ),
    }
    return Profile(
        user_id="u1",
        attributes={"birthday": None, "score": float("nan"), "opted_in": True, "seen": AT},
        features=Features(
            as_of=date(2024, 12, 30),
            first_order_at=AT,
            orders=orders,
            revenue=Amount(minor=13045, currency="GBP"),
            recency_days=82,
        ),
        scores=scores,
        rfm=scores["rfm"].values,
        lifecycle=Lifecycle(stage="loyal", since=date(2024, 10, 9)),
    )


def _shown(profile: Profile) -> str:
    width = console.width
    console.width = 400  # one line per row: phrases stay whole
    try:
        with console.capture() as captured:
            _print(profile, ZoneInfo("Asia/Shanghai"))
    finally:
        console.width = width
    return captured.get()


def test_no_none_nan_or_raw_values() -> None:
    text = _shown(_profile(3, 0.88, "2025-04-21"))
    for raw in ("None", "nan", "+00:00", "{'", "p_alive"):
        assert raw not in text, raw
    assert "2024-12-30 08:00" in text  # the shop's zone, to the minute
    assert "130.45 GBP" in text and "yes" in text


def test_rfm_and_lifecycle_say_what_they_are_measured_against() -> None:
    text = " ".join(_shown(_profile(3, 0.88, "2025-04-21")).split())
    assert "At Risk" in text and "quintiles among all customers" in text
    assert "loyal since 2024-10-09" in text and "at risk after 90 days" in text


def test_p_alive_of_a_one_time_buyer_is_explained() -> None:
    text = " ".join(_shown(_profile(1, 1.0, None)).split())
    assert "99.9 %" in text and "none likely within a year" in text
    assert "no repeat order as alive" in text
    assert "no repeat order" not in " ".join(_shown(_profile(3, 0.88, "2025-04-21")).split())
