"""The review's data: weeks, KPIs against the runners' own figures, the same week a year before,
anomalies, cohorts, lifecycle, and the campaigns, offers and segments of the week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tenure.analytics.kpis import KpiQuery, KpiRunner
from tenure.campaigns.service import campaigns
from tenure.config import Settings
from tenure.promotions.schemas import OfferIn
from tenure.promotions.service import offers, reservations
from tenure.reports.weekly.data import HISTORY_WEEKS, KPI_METRICS, build_review, kpi_lines
from tenure.reports.weekly.weeks import Week, last_complete
from tenure.segments import service as segments
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.campaigns.builders import add_orders, enter_treated
from tests.promotions.builders import reserve_body

WEEK = Week(date(2024, 8, 19))  # the last complete week of the simulated shop
SHANGHAI = ZoneInfo("Asia/Shanghai")


class TestWeeks:
    def test_a_week_runs_monday_to_sunday_like_the_kpi_weeks(self) -> None:
        week = Week.of(date(2024, 8, 22))
        assert (week.start, week.end) == (date(2024, 8, 19), date(2024, 8, 25))
        assert week.last_year.start == date(2023, 8, 21) and week.last_year.start.weekday() == 0
        assert week.previous.next == week

    def test_a_week_closes_at_midnight_in_the_shop_zone(self) -> None:
        assert WEEK.closes(SHANGHAI) == datetime(2024, 8, 25, 16, 0, tzinfo=UTC)
        assert not WEEK.complete(datetime(2024, 8, 25, 15, 59, tzinfo=UTC), SHANGHAI)
        assert WEEK.complete(datetime(2024, 8, 25, 16, 0, tzinfo=UTC), SHANGHAI)

    def test_the_last_complete_week_stops_where_the_data_stops(self) -> None:
        monday = datetime(2026, 12, 7, 9, tzinfo=UTC)
        assert last_complete(monday, UTC).start == date(2026, 11, 30)
        assert last_complete(monday, UTC, date(2024, 8, 27)).start == date(2024, 8, 19)
        assert last_complete(monday, UTC, date(2024, 8, 25)).start == date(2024, 8, 19)
        assert last_complete(monday, UTC, date(2024, 8, 24)).start == date(2024, 8, 12)
        assert last_complete(monday, UTC, date(2026, 12, 7)).start == date(2026, 11, 30)


def _stores(settings: Settings) -> tuple[Database, Warehouse]:
    return Database(settings.sqlalchemy_url), Warehouse(settings)


def test_the_kpis_are_the_kpi_runners_figures(review_shop: Settings) -> None:
    database, warehouse = _stores(review_shop)
    review = build_review(review_shop, database, warehouse, WEEK, datetime(2024, 9, 1, tzinfo=UTC))
    with warehouse.reader() as con:
        full = KpiRunner(KpiQuery(period="week", metrics=KPI_METRICS), review_shop.zone)(con)
    assert [line.metric for line in review.kpis] == list(KPI_METRICS)
    for line in review.kpis:
        points = {p.period: p.value for p in full.get(line.metric).points}
        assert line.value == points[WEEK.start], line.metric
        assert line.previous == points[WEEK.previous.start], line.metric
        assert line.last_year is None  # the shop opened in 2024
        assert len(line.trend) == HISTORY_WEEKS + 1 and line.trend[-1] == line.value
    revenue = review.kpis[0]
    assert revenue.currency == "USD" and revenue.vs_previous == pytest.approx(
        (revenue.value - revenue.previous) / revenue.previous  # type: ignore[operator]
    )
    assert review.has_data and not review.partial and review.data_until == date(2024, 8, 27)


def test_the_same_week_last_year_and_a_planted_spike(
    warehouse: Warehouse, duck_settings: Settings
) -> None:
    week = Week(date(2025, 6, 2))
    rows = [("ly1", "a", datetime(2024, 6, 4, 12, tzinfo=UTC)),
            ("ly2", "b", datetime(2024, 6, 5, 12, tzinfo=UTC)),
            ("ly3", "c", datetime(2024, 6, 10, 12, tzinfo=UTC))]  # fmt: skip
    for n in range(1, 13):  # two orders in each of the twelve weeks before
        day = datetime.combine(week.shifted(-n).start, datetime.min.time(), UTC)
        rows += [
            (f"h{n}a", "a", day + timedelta(hours=10)),
            (f"h{n}b", "b", day + timedelta(days=2)),
        ]
    rows += [
        (f"s{i}", f"u{i}", datetime(2025, 6, 3, 9, tzinfo=UTC) + timedelta(minutes=i))
        for i in range(20)
    ]
    add_orders(warehouse, rows)
    with warehouse.reader() as con:
        lines = {
            line.metric: line for line in kpi_lines(con, duck_settings, week, date(2024, 6, 4))
        }
    orders = lines["orders"]
    assert (orders.value, orders.previous, orders.last_year) == (20, 2, 2)
    assert orders.vs_last_year == pytest.approx(9.0)
    assert orders.anomaly == 1 and orders.band is not None and orders.band.high < 20
    assert lines["revenue"].anomaly == 1 and lines["revenue"].last_year == pytest.approx(20.0)


def test_the_newest_cohorts_stages_and_moves_of_the_week(review_shop: Settings) -> None:
    database, warehouse = _stores(review_shop)
    review = build_review(review_shop, database, warehouse, WEEK, datetime(2024, 9, 1, tzinfo=UTC))
    assert 1 <= len(review.cohorts) <= 4
    assert all(WEEK.shifted(-4).start <= c.cohort < WEEK.start for c in review.cohorts)
    newest = review.cohorts[-1]
    assert newest.cohort == WEEK.previous.start and newest.rates[1:] == (None, None, None)
    assert all(len(c.rates) == 4 for c in review.cohorts)
    assert [s.stage for s in review.stages][:3] == ["new", "active", "loyal"]
    assert sum(s.users for s in review.stages) == review.customers > 0
    assert all(s.previous is not None for s in review.stages)
    moved = database.read(lambda s: segments.flows_between(s, WEEK.start, WEEK.end))
    assert review.flows and [(f.from_stage, f.to_stage, f.users) for f in review.flows] == moved


def test_a_week_before_any_data_is_empty_everywhere(review_shop: Settings) -> None:
    database, warehouse = _stores(review_shop)
    review = build_review(
        review_shop, database, warehouse, Week(date(2023, 6, 5)), datetime(2024, 9, 1, tzinfo=UTC)
    )
    assert review.kpis == review.cohorts == review.stages == review.flows == []
    assert review.campaigns == review.offers == review.movers == [] and not review.has_data


def test_the_campaigns_offers_and_segments_of_the_week(review_shop: Settings) -> None:
    database, warehouse = _stores(review_shop)
    inside = datetime(2024, 8, 21, 10, tzinfo=UTC)
    before = datetime(2024, 8, 17, 10, tzinfo=UTC)
    with warehouse.reader() as con:
        ids = [
            str(u)
            for u in con.table("users")
            .select("user_id")
            .order_by("user_id")
            .limit(120)
            .execute()["user_id"]
        ]

    # Segments: one grows, one shrinks, one stays, one is new this week.
    def make_segments(session):  # type: ignore[no-untyped-def]
        for key in ("review-grow", "review-shrink", "review-steady", "review-new"):
            segments.create_segment(
                session, key, {"field": "feature.orders", "op": "gte", "value": 2}, name=key.title()
            )
        segments.apply_refresh(session, "review-grow", ids[:10], before)
        segments.apply_refresh(session, "review-grow", ids[:40], inside)
        segments.apply_refresh(session, "review-shrink", ids[:50], before)
        segments.apply_refresh(session, "review-shrink", ids[:45], inside)
        segments.apply_refresh(session, "review-steady", ids[:20], before)
        segments.apply_refresh(session, "review-steady", ids[:20], inside)
        segments.apply_refresh(session, "review-new", ids[:7], inside)

    database.write(make_segments)

    # An automatic offer used twice in the week, and once the week after.
    def make_offer(session):  # type: ignore[no-untyped-def]
        row = offers.create_offer(
            session,
            OfferIn.model_validate(
                {
                    "kind": "automatic",
                    "name": "<b>Ten off</b>",
                    "benefit": {"type": "amount_off", "amount_minor": 1000},
                }
            ),
            "USD",
            before,
        )
        for n, at in enumerate((inside, inside + timedelta(hours=1), inside + timedelta(days=7))):
            held = reservations.reserve(
                session, reserve_body(user_id=ids[n]), f"review-k{n}", "USD", at
            )
            reservations.confirm(session, held.id, f"review-order-{n}", at)
        return row.id

    offer_id = database.write(make_offer)
    # A campaign that started in the week with half its entries held out, and a draft.
    truth = pd.DataFrame({"user_id": ids[:100], "treated": [i % 2 == 0 for i in range(100)]})
    enter_treated(database, "review-winback", truth, inside, 14)
    database.write(lambda s: campaigns.transition(s, "review-winback", "start", inside))
    database.write(
        lambda s: campaigns.create(
            s,
            {"key": "review-draft", "name": "Draft", "steps": [{"id": "done", "type": "exit"}]},
            inside,
        )
    )

    review = build_review(review_shop, database, warehouse, WEEK, datetime(2024, 9, 1, tzinfo=UTC))

    assert [(m.key, m.before, m.after, m.change) for m in review.movers] == [
        ("review-grow", 10, 40, 30),
        ("review-new", None, 7, 7),
        ("review-shrink", 50, 45, -5),
    ]
    [used] = [o for o in review.offers if o.offer_id == offer_id]
    assert (used.name, used.redemptions, used.discount_minor, used.currency) == (
        "<b>Ten off</b>",
        2,
        2000,
        "USD",
    )
    [campaign] = [c for c in review.campaigns if c.key.startswith("review-")]
    assert (campaign.key, campaign.treated, campaign.held_out) == ("review-winback", 50, 50)
    assert campaign.incremental_conversions is not None and campaign.cost == 0.0
    # The week before saw none of it.
    earlier = build_review(
        review_shop, database, warehouse, WEEK.previous, datetime(2024, 9, 1, tzinfo=UTC)
    )
    assert [(m.key, m.before, m.after) for m in earlier.movers if m.key.startswith("review-")] == [
        ("review-shrink", None, 50),
        ("review-steady", None, 20),
        ("review-grow", None, 10),
    ]
    assert not [c for c in earlier.campaigns if c.key.startswith("review-")]
    assert not [o for o in earlier.offers if o.offer_id == offer_id]
